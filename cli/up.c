/*
 * up.c - `collie up`: load the configuration, start its programs and keep
 * them alive in the foreground until told to stop.
 *
 * One process, one event loop: the supervisor's processes are watched
 * through their pidfds, timers drive startsecs, backoff and stop
 * escalation, and signals arrive through the loop's signalfd. collie is a
 * subreaper (or PID 1), so a program that daemonizes behind its back is
 * still reaped: orphans are reaped as they die.
 *
 *   SIGTERM, SIGINT   stop everything gracefully (reverse priority order,
 *                     stopsignal then SIGKILL after stopwaitsecs), exit 0
 *   second SIGINT     SIGKILL everything at once
 *   critical program  when it goes FATAL or exits: stop everything, exit
 *                     with its status
 *   collie down       (control socket, control.c) as SIGTERM
 *   SIGUSR2           reopen every log file (after logrotate renamed them;
 *                     `collie logs --reopen` asks the same, control-logs.c)
 *   SIGHUP            load the configuration again and apply the
 *                     difference (as `collie update`; sv_reload())
 *
 * The programs' output is captured (logs.h): to their log files, else to
 * collie's stdout prefixed with their names.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collie/daemon.h"
#include "collie/loop.h"
#include "collie/reap.h"
#include "cgroup.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "leftovers.h"
#include "logs.h"
#include "supervisor.h"
#include "banned.h"

/* After the programs, what they left behind gets this long to go. */
#define LEFTOVER_GRACE_USEC (5 * COL_USEC_PER_SEC)

struct up_state {
	const struct cfg_load_opts *load; /* how the configuration was loaded: again so */
	struct col_loop *loop;
	struct sv *sv;
	struct control *ctl;
	struct logs *logs;
	struct cgroups *cgs; /* one cgroup per process, or NULL (cgroup.h) */
	bool stopping;
	bool draining; /* every program stopped: ending leftovers */
	struct leftovers left;
	int exit_code;
};

static void drain(struct up_state *u)
{
	if (leftovers_terminate(&u->left) <= 0)
		col_loop_exit(u->loop, u->exit_code);
}

static void on_leftover_grace(struct col_source *src, uint64_t now, void *data)
{
	struct up_state *u = data;

	u->left.killing = true;
	drain(u);
}

/* Every program has stopped; a process that escaped its group (setsid,
 * a daemon) may still run: end it too before exiting, so `collie up`
 * never leaves anything behind. */
static void on_all_stopped(struct sv *sv, void *data)
{
	struct up_state *u = data;

	if (!u->stopping)
		return;
	u->draining = true;
	if (col_loop_add_timer(u->loop, col_now() + LEFTOVER_GRACE_USEC, 0, on_leftover_grace, u,
			       NULL) < 0)
		u->left.killing = true;
	drain(u);
}

static void on_critical(struct sv *sv, const struct sv_proc *p, int code, void *data)
{
	struct up_state *u = data;
	struct sv_info info;

	sv_info(p, &info);
	fprintf(stderr, "collie: %s is critical and is %s: stopping everything\n", info.name,
		sv_state_name(info.state));
	if (u->stopping)
		return;
	u->stopping = true;
	u->exit_code = code ? code : 1;
	sv_stop_all(u->sv);
}

static void say_names(const char *what, char **names)
{
	for (char **n = names; n && *n; n++)
		fprintf(stderr, "collie: update: %s %s\n", *n, what);
}

/*
 * Load the configuration again, the way it was loaded at start, and
 * apply the difference. A configuration with errors changes nothing:
 * -1 and *error (the errors, one per line). What changed is said on
 * stderr, as supervisord logs it.
 */
static int reload(struct up_state *u, struct sv_reload_report *rep, char **error)
{
	struct cfg *cfg = NULL;
	char *load_error = NULL;
	size_t len;
	int r;

	if (u->stopping) {
		*error = strdup("not now: everything is being stopped");
		return -1;
	}
	if (cfg_load(u->load, &cfg, &load_error) < 0) {
		/* "the configuration has errors; nothing changed:\n" + the errors */
		len = strlen(load_error ? load_error : "") + 64;
		if ((*error = malloc(len)))
			snprintf(*error, len, "the configuration has errors; nothing changed:\n%s",
				 load_error ? load_error : "out of memory");
		free(load_error);
		return -1;
	}
	for (size_t i = 0; i < cfg->n_warnings; i++)
		fprintf(stderr, "collie: warning: %s\n", cfg->warnings[i].text);
	r = sv_reload(u->sv, cfg, rep);
	cfg_unref(cfg); /* the processes hold it now */
	if (r < 0) {
		if ((*error = malloc(128)))
			snprintf(*error, 128, "cannot apply the configuration: %s; nothing changed",
				 strerror(-r));
		return -1;
	}
	say_names("added", rep->added);
	say_names("changed: restarting it", rep->changed);
	say_names("removed: stopping it", rep->removed);
	if (!rep->n_added && !rep->n_changed && !rep->n_removed)
		fprintf(stderr, "collie: update: no change\n");
	return 0;
}

static int on_update(void *data, struct sv_reload_report *rep, char **error)
{
	return reload(data, rep, error);
}

static void on_removed(struct sv *sv, struct sv_proc *p, void *data)
{
	struct up_state *u = data;

	control_proc_removed(u->ctl, p);
}

static void on_signal(struct col_source *src, const struct signalfd_siginfo *si, void *data)
{
	struct up_state *u = data;
	int sig = (int)si->ssi_signo;

	if (sig == SIGUSR2) {
		int n = logs_reopen_all(u->logs);

		if (sv_trace)
			fprintf(stderr, "collie: SIGUSR2: reopened %d log files\n", n);
		return;
	}
	if (sig == SIGHUP) {
		struct sv_reload_report rep;
		char *error = NULL;

		if (reload(u, &rep, &error) < 0) {
			fprintf(stderr, "collie: SIGHUP: %s\n", error ? error : "reload failed");
			free(error);
			return;
		}
		sv_reload_report_release(&rep);
		return;
	}
	if (u->stopping) {
		if (sig == SIGINT) {
			fprintf(stderr, "collie: second SIGINT: killing everything\n");
			sv_kill_all(u->sv);
		}
		return;
	}
	fprintf(stderr, "collie: %s: stopping everything\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	u->stopping = true;
	u->exit_code = 0;
	sv_stop_all(u->sv);
}

/* PID 1 (or --init): every other catchable signal goes on to every program. */
static void on_forward(struct col_source *src, const struct signalfd_siginfo *si, void *data)
{
	struct up_state *u = data;

	if (sv_trace)
		fprintf(stderr, "collie: passing signal %u on to every program\n", si->ssi_signo);
	sv_signal_all(u->sv, (int)si->ssi_signo);
}

/*
 * What a PID 1 owes its container besides reaping: a signal sent to the
 * container reaches the programs. Not forwarded: what collie handles itself
 * (TERM, INT, HUP, CHLD, and USR2, kept for reopening log files), the
 * faults of collie's own (SEGV, BUS, FPE, ILL, TRAP, SYS, ABRT), and what
 * cannot be caught.
 */
static int watch_forwarded_signals(struct up_state *u)
{
	static const int own[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR2, SIGKILL, SIGSTOP,
				   SIGSEGV, SIGBUS, SIGFPE, SIGILL,  SIGTRAP, SIGSYS,  SIGABRT };
	sigset_t set;

	/* sigfillset() leaves out what libc reserves for its threads. */
	sigfillset(&set);
	for (size_t i = 0; i < COL_ARRAY_SIZE(own); i++)
		sigdelset(&set, own[i]);
	return col_loop_add_signals(u->loop, &set, on_forward, u);
}

static void on_state_changed(struct sv *sv, struct sv_proc *p, enum sv_state from, void *data)
{
	struct up_state *u = data;

	control_state_changed(u->ctl, p, from);
}

static void on_down(void *data)
{
	struct up_state *u = data;

	if (u->stopping)
		return;
	fprintf(stderr, "collie: down: stopping everything\n");
	u->stopping = true;
	u->exit_code = 0;
	sv_stop_all(u->sv);
}

static void on_orphan(struct col_loop *loop, const struct col_status *st, void *data)
{
	struct up_state *u = data;

	leftovers_forget(&u->left, st->pid);
	if (u->draining)
		drain(u);
	if (sv_trace) {
		char what[64];

		col_status_format(st, what, sizeof(what));
		fprintf(stderr, "collie: reaped orphan %d (%s)\n", (int)st->pid, what);
	}
}

/*
 * One cgroup per process where collie may make them (cgroup.h); else the
 * subreaper finds what escaped, and -v says why there are none.
 * COLLIE_NO_CGROUP=1 (documented for tests only) takes the second path
 * on a machine that has cgroups.
 */
static int setup_cgroups(struct up_state *u)
{
	const char *off = getenv("COLLIE_NO_CGROUP");
	char why[512] = "COLLIE_NO_CGROUP is set";
	int r = 0;

	if (!off || strcmp(off, "1") != 0)
		r = cgroups_new(u->loop, &u->cgs, why, sizeof(why));
	if (r == 0 && !u->cgs && sv_trace)
		fprintf(stderr,
			"collie: no cgroups: %s; a stop ends what is found as a subreaper\n", why);
	return r;
}

/* With -d: the daemon's handle, told "ready" once the control socket listens. */
static struct col_daemon *daemon_handle;

static int run_supervisor(const struct cfg_load_opts *lo, struct cfg *cfg, const char *socket_path,
			  bool init_mode)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2 };
	struct up_state u = { 0 };
	struct logs_opts lopts = { .foreground = true, .verbose = sv_trace };
	struct sv_hooks hooks = { .all_stopped = on_all_stopped,
				  .critical = on_critical,
				  .state_changed = on_state_changed,
				  .removed = on_removed,
				  .data = &u };
	struct control_hooks ctl_hooks = { .down = on_down, .update = on_update, .data = &u };
	int r;

	u.load = lo;
	u.left.pid1 = getpid() == 1;
	u.left.verbose = sv_trace;
	u.left.who = "collie";
	if (!u.left.pid1 && col_reap_set_subreaper(true) < 0)
		cli_error("up: cannot become a subreaper: %s", strerror(errno));
	r = col_loop_new(&u.loop);
	for (size_t i = 0; r >= 0 && i < COL_ARRAY_SIZE(sigs); i++)
		r = col_loop_add_signal(u.loop, sigs[i], on_signal, &u, NULL);
	if (r >= 0 && (init_mode || u.left.pid1))
		r = watch_forwarded_signals(&u);
	if (r >= 0)
		r = col_loop_reap_orphans(u.loop, on_orphan, &u);
	if (r >= 0)
		r = setup_cgroups(&u);
	if (r >= 0)
		r = sv_new(u.loop, cfg, &hooks, &u.sv);
	if (r >= 0)
		r = logs_new(u.loop, cfg, &lopts, &u.logs);
	if (r < 0) {
		cli_error("up: %s", strerror(-r));
		sv_free(u.sv);
		cgroups_free(u.cgs);
		col_loop_free(u.loop);
		return CLI_EXIT_FAILURE;
	}
	if (control_new(u.loop, u.sv, socket_path, &ctl_hooks, &u.ctl) < 0) {
		sv_free(u.sv);
		cgroups_free(u.cgs);
		logs_free(u.logs);
		col_loop_free(u.loop);
		return CLI_EXIT_FAILURE;
	}
	if (sv_trace)
		fprintf(stderr, "collie: control socket %s\n", socket_path);
	if (daemon_handle)
		col_daemon_notify_ready(daemon_handle); /* the socket answers from now on */
	sv_set_logs(u.sv, u.logs);
	control_set_logs(u.ctl, u.logs);
	sv_set_cgroups(u.sv, u.cgs);
	sv_start_autostart(u.sv);
	r = col_loop_run(u.loop);
	if (r < 0) {
		cli_error("up: event loop: %s", strerror(-r));
		r = CLI_EXIT_FAILURE;
	}
	sv_free(u.sv);
	cgroups_free(u.cgs); /* after the programs: it kills what is left in them */
	control_free(u.ctl); /* after the programs: `collie down` waits for this EOF */
	logs_free(u.logs);
	col_loop_free(u.loop);
	leftovers_release(&u.left);
	return r;
}

static bool pidfile_dir_ready(const char *pidfile)
{
	char dir[4096];
	const char *slash = strrchr(pidfile, '/');

	if (!slash || slash == pidfile)
		return true;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - pidfile), pidfile);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cli_error("up: -d: cannot make %s: %s", dir, strerror(errno));
		return false;
	}
	return true;
}

/*
 * -d: become a daemon (col_daemon_start: new session, not its leader, stdio
 * on /dev/null, a locked pidfile), and make the caller return once the
 * control socket answers (exit 0), or say why the daemon did not start
 * (exit 1). The daemon keeps the directory `collie up` ran in rather than
 * "/": relative paths in the configuration (directory=, log files) mean
 * what they meant when it was checked, as with supervisord's default.
 */
static int run_daemon(const struct cfg_load_opts *lo, struct cfg *cfg, const char *socket_path,
		      const char *pidfile, bool init_mode)
{
	struct col_daemon_opts o = COL_DAEMON_OPTS_INIT;
	struct col_daemon d;
	char cwd[4096], pidpath[4096];
	size_t n = strlen(socket_path);
	int r;

	if (!pidfile) {
		if (n > 5 && strcmp(socket_path + n - 5, ".sock") == 0)
			n -= 5;
		snprintf(pidpath, sizeof(pidpath), "%.*s.pid", (int)n, socket_path);
		pidfile = pidpath;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		cli_error("up: -d: the current directory: %s", strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	/* The pidfile may live in the socket's directory, which collie makes
	 * (0700) when it is missing; make it now, with the same mode. */
	if (!pidfile_dir_ready(pidfile))
		return CLI_EXIT_FAILURE;
	o.pidfile = pidfile;
	o.dir = cwd;
	r = col_daemon_start(&o, &d);
	if (r < 0) {
		cli_error("up: -d: %s", strerror(-r));
		return CLI_EXIT_FAILURE;
	}
	if (r > 0) {
		r = col_daemon_wait_ready(&d, 60 * COL_USEC_PER_SEC);
		if (r == -EBUSY)
			cli_error("up: -d: %s is locked: another collie runs with it", pidfile);
		else if (r == -ECHILD)
			cli_error(
				"up: -d: the supervisor exited before its control socket answered "
				"(run it without -d to see why)");
		else if (r < 0)
			cli_error("up: -d: the supervisor did not start: %s", strerror(-r));
		return r < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
	}
	daemon_handle = &d;
	r = run_supervisor(lo, cfg, socket_path, init_mode);
	col_daemon_release(&d);
	return r;
}

/*
 * collie holds a few fds per process (config-fds.c counts them), so the
 * usual soft RLIMIT_NOFILE of 1024 runs out at some 200 processes. The
 * soft limit is that low for programs that use select(), which cannot
 * watch fds past 1023; collie uses epoll. So, as systemd does for itself
 * and nginx with worker_rlimit_nofile, raise collie's own soft limit to
 * the hard one, and give the programs the soft limit they would have had
 * (sv_nofile, unless they set rlimit_nofile=). cfg_load() has already
 * refused a configuration that needs more than the hard limit.
 */
static void raise_nofile(const struct cfg *cfg)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
		return;
	sv_nofile = rl;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		cli_error("up: cannot raise the soft RLIMIT_NOFILE from %llu to %llu: %s",
			  (unsigned long long)sv_nofile.rlim_cur, (unsigned long long)rl.rlim_max,
			  strerror(errno));
		sv_nofile.rlim_max = 0;
		return;
	}
	if (sv_trace)
		fprintf(stderr,
			"collie: RLIMIT_NOFILE: soft limit raised from %llu to %llu (%llu "
			"needed); programs get %llu\n",
			(unsigned long long)sv_nofile.rlim_cur, (unsigned long long)rl.rlim_cur,
			(unsigned long long)cfg_fds_needed(cfg),
			(unsigned long long)sv_nofile.rlim_cur);
}

static void up_usage(FILE *f)
{
	fputs("usage: collie up [-c FILE] [-m NAME=N,...] [-s SOCKET] [-v] [--init]\n"
	      "  -c, --config FILE      the configuration (default ./collie.ini, else ./Procfile)\n"
	      "  -m, --formation SPEC   Procfile instance counts: web=3,worker=1 or all=2\n"
	      "  -s, --socket PATH      the control socket (default $COLLIE_SOCKET, else\n"
	      "                         /run/collie.sock for root, $XDG_RUNTIME_DIR/collie.sock)\n"
	      "  -v, --verbose          trace every state change on stderr\n"
	      "  -d, --daemon           run in the background (new session, / as directory,\n"
	      "                         stdio on /dev/null, a locked pidfile); return once\n"
	      "                         the control socket answers\n"
	      "      --pidfile PATH     with -d: the pidfile (default: the socket's path\n"
	      "                         with .pid instead of .sock)\n"
	      "      --init             act as a container's PID 1 even when not PID 1: pass\n"
	      "                         every other signal on to every program (as PID 1,\n"
	      "                         always)\n",
	      f);
}

int cli_up(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "formation", required_argument, NULL, 'm' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "init", no_argument, NULL, 'i' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg_load_opts lo = { .port_base = 5000 };
	struct cfg *cfg = NULL;
	char *error = NULL, socket_path[4096];
	const char *socket_opt = NULL;
	bool init_mode = false, daemonize = false;
	const char *pidfile = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+c:m:s:vhid", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			lo.path = optarg;
			break;
		case 'm':
			lo.formation = optarg;
			break;
		case 's':
			socket_opt = optarg;
			break;
		case 'v':
			sv_trace = true;
			break;
		case 'i':
			init_mode = true;
			break;
		case 'd':
			daemonize = true;
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'h':
			up_usage(stdout);
			return CLI_EXIT_OK;
		default:
			up_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("up: unexpected argument '%s'", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (control_socket_path(socket_opt, socket_path, sizeof(socket_path)) < 0) {
		cli_error("up: the control socket's path is too long");
		return CLI_EXIT_USAGE;
	}
	if (cfg_load(&lo, &cfg, &error) < 0) {
		fprintf(stderr, "%s\n", error ? error : "collie: cannot load the configuration");
		free(error);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < cfg->n_warnings; i++)
		fprintf(stderr, "collie: warning: %s\n", cfg->warnings[i].text);
	raise_nofile(cfg);
	r = daemonize ? run_daemon(&lo, cfg, socket_path, pidfile, init_mode)
		      : run_supervisor(&lo, cfg, socket_path, init_mode);
	cfg_unref(cfg);
	return r;
}
