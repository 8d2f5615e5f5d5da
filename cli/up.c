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
 *   SIGUSR2           reopen every log file (after logrotate renamed them)
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
#include <unistd.h>

#include "collie/loop.h"
#include "collie/reap.h"
#include "cli.h"
#include "config.h"
#include "leftovers.h"
#include "logs.h"
#include "supervisor.h"
#include "banned.h"

/* After the programs, what they left behind gets this long to go. */
#define LEFTOVER_GRACE_USEC (5 * COL_USEC_PER_SEC)

struct up_state {
	struct col_loop *loop;
	struct sv *sv;
	struct logs *logs;
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
		fprintf(stderr, "collie: SIGHUP: reloading the configuration is not implemented "
				"yet; nothing changed\n");
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

/* Refuse what the configuration may say but this supervisor cannot do yet. */
static int check_supported(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->n_programs; i++)
		if (cfg->programs[i].ready != CFG_READY_STARTSECS) {
			cli_error("%s:%u: [program:%s] ready=: only 'startsecs' is supported by "
				  "collie up so far",
				  cfg->programs[i].file, cfg->programs[i].line,
				  cfg->programs[i].name);
			return -1;
		}
	return 0;
}

static int run_supervisor(struct cfg *cfg)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2 };
	struct up_state u = { 0 };
	struct logs_opts lopts = { .foreground = true, .verbose = sv_trace };
	struct sv_hooks hooks = { .all_stopped = on_all_stopped,
				  .critical = on_critical,
				  .data = &u };
	int r;

	u.left.pid1 = getpid() == 1;
	u.left.verbose = sv_trace;
	u.left.who = "collie";
	if (!u.left.pid1 && col_reap_set_subreaper(true) < 0)
		cli_error("up: cannot become a subreaper: %s", strerror(errno));
	r = col_loop_new(&u.loop);
	for (size_t i = 0; r >= 0 && i < COL_ARRAY_SIZE(sigs); i++)
		r = col_loop_add_signal(u.loop, sigs[i], on_signal, &u, NULL);
	if (r >= 0)
		r = col_loop_reap_orphans(u.loop, on_orphan, &u);
	if (r >= 0)
		r = sv_new(u.loop, cfg, &hooks, &u.sv);
	if (r >= 0)
		r = logs_new(u.loop, cfg, &lopts, &u.logs);
	if (r < 0) {
		cli_error("up: %s", strerror(-r));
		sv_free(u.sv);
		col_loop_free(u.loop);
		return CLI_EXIT_FAILURE;
	}
	sv_set_logs(u.sv, u.logs);
	sv_start_autostart(u.sv);
	r = col_loop_run(u.loop);
	if (r < 0) {
		cli_error("up: event loop: %s", strerror(-r));
		r = CLI_EXIT_FAILURE;
	}
	sv_free(u.sv);
	logs_free(u.logs);
	col_loop_free(u.loop);
	leftovers_release(&u.left);
	return r;
}

static void up_usage(FILE *f)
{
	fputs("usage: collie up [-c FILE] [-m NAME=N,...] [-v]\n"
	      "  -c, --config FILE      the configuration (default ./collie.ini, else ./Procfile)\n"
	      "  -m, --formation SPEC   Procfile instance counts: web=3,worker=1 or all=2\n"
	      "  -v, --verbose          trace every state change on stderr\n",
	      f);
}

int cli_up(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "formation", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg_load_opts lo = { .port_base = 5000 };
	struct cfg *cfg = NULL;
	char *error = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+c:m:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			lo.path = optarg;
			break;
		case 'm':
			lo.formation = optarg;
			break;
		case 'v':
			sv_trace = true;
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
	if (cfg_load(&lo, &cfg, &error) < 0) {
		fprintf(stderr, "%s\n", error ? error : "collie: cannot load the configuration");
		free(error);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < cfg->n_warnings; i++)
		fprintf(stderr, "collie: warning: %s\n", cfg->warnings[i].text);
	r = check_supported(cfg) < 0 ? CLI_EXIT_USAGE : run_supervisor(cfg);
	cfg_free(cfg);
	return r;
}
