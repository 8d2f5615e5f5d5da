/*
 * supervisor.c - the process state machine, start order, restart with
 * backoff and stop with escalation (see supervisor.h for the states).
 *
 * Decisions that are not obvious:
 *  - A process is a pipeline: its command is parsed by the command
 *    language (or wrapped as /bin/sh -c for shell=true) and started with
 *    col_cmdline_start() in a new process group. It has exited when every
 *    member has; its status is the pipeline's.
 *  - Every transition goes through set_state(), which checks it against
 *    the table below and traces "old -> new" (STYLE.md rule 17).
 *  - Restart timing: a process that exits after it was RUNNING and is to
 *    be restarted starts again at once (no timer, the same loop turn); the
 *    first failure in a row costs nothing, the next ones wait backoff_min
 *    (1 s when unset, supervisord's step) doubling up to backoff_max. A run
 *    that reached RUNNING and lasted at least a second resets the count.
 *    FATAL is another count, supervisord's: more than startretries failed
 *    starts since the process was last RUNNING (short runs back off, but
 *    are not failed starts).
 *  - Signals go through pidfds; a process group is signalled only while
 *    one of its members is unreaped, so its id cannot have been recycled
 *    (col_pipeline_signal()).
 *  - Stop order is the reverse of start order: the highest priority
 *    first, the processes of one priority in parallel, and a program
 *    only once every program that depends on it has stopped.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collie/cmdline.h"
#include "collie/fd.h"
#include "collie/spawn.h"
#include "cgroup.h"
#include "ready.h"
#include "supervisor-internal.h"
#include "banned.h"

#define HEALTHY_RUN_USEC COL_USEC_PER_SEC
#define DEFAULT_BACKOFF_STEP COL_USEC_PER_SEC

bool sv_trace;
struct rlimit sv_nofile;

static const char *const state_names[] = {
	[SV_STOPPED] = "STOPPED", [SV_STARTING] = "STARTING", [SV_RUNNING] = "RUNNING",
	[SV_BACKOFF] = "BACKOFF", [SV_STOPPING] = "STOPPING", [SV_EXITED] = "EXITED",
	[SV_FATAL] = "FATAL",
};

/* allowed[old] has bit new set when old -> new is a legal transition. */
static const unsigned allowed[] = {
	[SV_STOPPED] = 1u << SV_STARTING,
	[SV_STARTING] = 1u << SV_RUNNING | 1u << SV_BACKOFF | 1u << SV_STOPPING,
	[SV_RUNNING] = 1u << SV_STOPPING | 1u << SV_EXITED,
	/* BACKOFF, EXITED and FATAL -> STOPPING: what the run left in its cgroup */
	[SV_BACKOFF] = 1u << SV_STARTING | 1u << SV_FATAL | 1u << SV_STOPPED | 1u << SV_STOPPING,
	[SV_STOPPING] = 1u << SV_STOPPED,
	[SV_EXITED] = 1u << SV_STARTING | 1u << SV_STOPPING,
	[SV_FATAL] = 1u << SV_STARTING | 1u << SV_STOPPING,
};

const char *sv_state_name(enum sv_state state)
{
	return (unsigned)state < COL_ARRAY_SIZE(state_names) ? state_names[state] : "?";
}

static void pump(struct sv *sv);
static void spawn_proc(struct sv_proc *p);
static void schedule_sweep(struct sv *sv);
static bool active(const struct sv_proc *p);

static void set_state(struct sv_proc *p, enum sv_state to)
{
	enum sv_state from;

	if (!(allowed[p->state] & (1u << to))) {
		fprintf(stderr, "collie: internal error: %s: illegal transition %s -> %s\n",
			p->cp->name, sv_state_name(p->state), sv_state_name(to));
		abort();
	}
	if (sv_trace)
		fprintf(stderr, "collie: %s: %s -> %s\n", p->cp->name, sv_state_name(p->state),
			sv_state_name(to));
	from = p->state;
	p->state = to;
	p->since = col_now();
	if (to == SV_RUNNING)
		p->failed_starts = 0; /* as supervisord: startretries counts from here */
	if (p->sv->hooks.state_changed)
		p->sv->hooks.state_changed(p->sv, p, from, p->sv->hooks.data);
	if (p->retired && !active(p))
		schedule_sweep(p->sv);
}

static bool active(const struct sv_proc *p)
{
	return p->state == SV_STARTING || p->state == SV_RUNNING || p->state == SV_STOPPING ||
	       p->state == SV_BACKOFF;
}

static void arm(struct sv_proc *p, enum timer_purpose why, uint64_t delay);

/* Make *timer fire cb(p) at `at`, the timer made at its first use.
 * -errno: no memory for it. */
static int timer_at(struct sv_proc *p, struct col_source **timer, col_timer_fn *cb, uint64_t at)
{
	if (*timer)
		return col_timer_set(*timer, at, 0);
	return col_loop_add_timer(p->sv->loop, at, 0, cb, p, timer);
}

static void disarm(struct sv_proc *p)
{
	if (p->timer)
		col_timer_set(p->timer, COL_USEC_INFINITY, 0);
	p->timer_for = TIMER_NONE;
}

/* The delay before the next start after `fails` failures in a row. */
static uint64_t backoff_delay(const struct cfg_program *prog, unsigned fails)
{
	uint64_t step = prog->backoff_min ? prog->backoff_min : DEFAULT_BACKOFF_STEP;
	uint64_t max = prog->backoff_max ? prog->backoff_max : 60 * COL_USEC_PER_SEC;
	uint64_t d = step;

	if (fails <= 1)
		return 0;
	for (unsigned i = 2; i < fails && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

static void release_pipeline(struct sv_proc *p)
{
	for (size_t i = 0; i < p->pl.n_members; i++)
		col_source_free(p->members[i].src);
	free(p->members);
	p->members = NULL;
	p->running = 0;
	ready_free(p->ready);
	p->ready = NULL;
	col_pipeline_release(&p->pl);
}

/* Send sig to the process: its whole group, or (group = false) each
 * member still running. */
static void signal_proc(struct sv_proc *p, int sig, bool group)
{
	if (group) {
		col_pipeline_signal(&p->pl, sig);
		return;
	}
	for (size_t i = 0; i < p->pl.n_members; i++)
		if (!p->pl.members[i].reaped)
			col_pidfd_signal(p->pl.members[i].pidfd, sig);
}

static bool exit_expected(const struct cfg_program *prog, const struct col_status *st)
{
	if (st->kind != COL_STATUS_EXITED)
		return false;
	for (size_t i = 0; i < prog->n_exitcodes; i++)
		if (prog->exitcodes[i] == st->code)
			return true;
	return false;
}

static void report_critical(struct sv_proc *p)
{
	struct sv *sv = p->sv;

	if (!p->prog->critical || sv->stopping_all || !sv->hooks.critical)
		return;
	sv->hooks.critical(sv, p, p->has_exit ? col_status_exit_code(&p->last_exit) : 1,
			   sv->hooks.data);
}

/* A start failed (it exited while STARTING, or could not be spawned). */
static void start_failed(struct sv_proc *p)
{
	p->fails++;
	p->failed_starts++;
	set_state(p, SV_BACKOFF);
	if (p->failed_starts > (unsigned)p->prog->startretries || p->sv->stopping_all) {
		if (p->sv->stopping_all) {
			set_state(p, SV_STOPPED);
			return;
		}
		fprintf(stderr, "collie: %s: gave up after %u failed starts (FATAL)\n", p->cp->name,
			p->failed_starts);
		set_state(p, SV_FATAL);
		report_critical(p);
		return;
	}
	arm(p, TIMER_BACKOFF, backoff_delay(p->prog, p->fails));
}

/* Whether a run that ended by itself (p->last_exit) is started again. */
static bool restarts(const struct sv_proc *p)
{
	const struct cfg_program *prog = p->prog;

	return !p->sv->stopping_all && !prog->critical &&
	       (prog->autorestart == CFG_RESTART_ALWAYS ||
		(prog->autorestart == CFG_RESTART_UNEXPECTED &&
		 !exit_expected(prog, &p->last_exit)));
}

/* It exited while RUNNING: EXITED, and maybe started again. */
static void run_ended(struct sv_proc *p)
{
	const struct cfg_program *prog = p->prog;
	bool again = restarts(p);

	if (col_now() - p->started_at >= HEALTHY_RUN_USEC)
		p->fails = 0;
	p->fails++;
	set_state(p, SV_EXITED);
	if (prog->critical && !p->sv->stopping_all) {
		report_critical(p);
		return;
	}
	if (!again)
		return;
	if (backoff_delay(prog, p->fails) == 0)
		spawn_proc(p);
	else
		arm(p, TIMER_BACKOFF, backoff_delay(prog, p->fails));
}

/*
 * cgroups (cgroup.h): with the supervisor's tree, each process runs in a
 * cgroup of its own, so stopping it ends all it started. The stop signal
 * goes where supervisord sends it (the process, or its group with
 * stopasgroup); once the process itself has exited, what is left in its
 * cgroup (a setsid'd child, a daemon) gets the stop signal too, since
 * nobody else will pass it on; at stopwaitsecs the whole cgroup gets
 * SIGKILL; and it is STOPPED only when the cgroup is empty.
 */
/* The stop signal to everything in its cgroup (each named with -v). */
static void signal_cgroup(struct sv_proc *p)
{
	cgroup_signal(p->cg, p->prog->stopsignal, sv_trace ? p->cp->name : NULL);
}

/*
 * The wait for what a run left in its cgroup is over (it is gone, or it
 * cannot be killed): the start that waited for it, unless everything is
 * stopping or it is STOPPING itself (then its stop ends, and a start that
 * is wanted comes through pump()).
 */
static void leftovers_ended(struct sv_proc *p)
{
	bool start = p->start_after_leftovers;

	p->ending_leftovers = false;
	p->start_after_leftovers = false;
	if (p->leftovers_timer)
		col_timer_set(p->leftovers_timer, COL_USEC_INFINITY, 0);
	if (start && !p->sv->stopping_all && p->state != SV_STOPPING)
		spawn_proc(p);
}

/* SIGKILL for everything in its cgroup. If that fails, a start that
 * waits for its leftovers to go would wait for ever: it waits no more. */
static void cgroup_kill_tree(struct sv_proc *p)
{
	int r = p->cg ? cgroup_kill(p->cg) : 0;

	if (r >= 0)
		return;
	fprintf(stderr, "collie: %s: cannot kill its cgroup: %s\n", p->cp->name, strerror(-r));
	if (p->ending_leftovers && p->state != SV_STOPPING)
		leftovers_ended(p);
}

static void on_cgroup_empty(struct cgroup *cg, void *data)
{
	struct sv_proc *p = data;

	/* Its own processes' exits come through their pidfds: wait for them. */
	if (p->pl.n_members)
		return;
	/*
	 * Empty: the next start makes a new one. A cgroup that cgroup.kill
	 * was written to can kill what is cloned into it later: on Linux 6.18
	 * every clone3(CLONE_INTO_CGROUP) into it was killed at birth
	 * (cgroup.bats, "goes FATAL" failed so).
	 */
	cgroup_free(p->cg);
	p->cg = NULL;
	if (p->ending_leftovers)
		leftovers_ended(p);
	if (p->state == SV_STOPPING) {
		disarm(p);
		set_state(p, SV_STOPPED);
	}
	pump(p->sv);
}

static void on_leftovers_timer(struct col_source *src, uint64_t now, void *data)
{
	struct sv_proc *p = data;

	if (!p->ending_leftovers)
		return;
	fprintf(stderr,
		"collie: %s: what its last run left behind still runs %.1f s after the stop "
		"signal: SIGKILL\n",
		p->cp->name, (double)p->prog->stopwait / COL_USEC_PER_SEC);
	cgroup_kill_tree(p);
}

/*
 * A run that ended by itself (a start that failed, a run that is started
 * again, a program that went FATAL) may leave processes in its cgroup: a
 * daemon it forked, a setsid'd child. They go before anything starts
 * there again, so that a new run never finds its predecessor's processes
 * beside it (a port still bound, a pidfile held), and a FATAL program
 * leaves nothing running: the stop signal now, SIGKILL for the cgroup at
 * stopwaitsecs, and a start waits until the cgroup is empty. (What a run
 * that is not started again left stays: a program that daemonizes on
 * purpose. `collie stop` ends it.)
 */
static void end_leftovers(struct sv_proc *p)
{
	uint64_t at = col_now() + p->prog->stopwait;

	if (!p->cg || !cgroup_populated(p->cg))
		return;
	p->ending_leftovers = true;
	signal_cgroup(p);
	if (timer_at(p, &p->leftovers_timer, on_leftovers_timer, at) < 0)
		cgroup_kill_tree(p); /* no timer for later: now */
}

/* Start it inside its cgroup, made at its first start. */
static void cgroup_prepare(struct sv_proc *p, struct col_spawn_opts *base)
{
	int r;

	if (!p->sv->cgs)
		return;
	if (!p->cg && (r = cgroup_new(p->sv->cgs, p->cp->name, on_cgroup_empty, p, &p->cg)) < 0) {
		fprintf(stderr, "collie: %s: cannot make its cgroup (%s): starting it without\n",
			p->cp->name, strerror(-r));
		return;
	}
	base->flags |= COL_SPAWN_SET_CGROUP;
	base->cgroup_fd = cgroup_fd(p->cg);
}

/* STOPPING and its own processes have exited: whether its cgroup still
 * holds some, which then get the stop signal; if not, it goes. */
static bool cgroup_stop_leftovers(struct sv_proc *p)
{
	if (!p->cg)
		return false;
	if (!cgroup_populated(p->cg)) {
		cgroup_free(p->cg);
		p->cg = NULL;
		return false;
	}
	signal_cgroup(p);
	return true;
}

/* A stop of a process whose run has ended (EXITED, BACKOFF, FATAL) but
 * whose cgroup is not empty (it daemonized, or its leftovers are still
 * going): STOPPING, and its cgroup gets what a running process's group
 * would. false: nothing there. */
static bool cgroup_stop_ended(struct sv_proc *p)
{
	if (!p->cg || !cgroup_populated(p->cg))
		return false;
	set_state(p, SV_STOPPING);
	if (p->ending_leftovers)
		return true; /* signalled already; their timer kills them */
	signal_cgroup(p);
	arm(p, TIMER_STOPWAIT, p->prog->stopwait);
	return true;
}

void sv_set_cgroups(struct sv *sv, struct cgroups *cgs)
{
	sv->cgs = cgs;
}

static void proc_exited(struct sv_proc *p)
{
	char what[64];

	if (p->log)
		logs_proc_exited(p->log); /* its last lines before its exit's trace */
	col_pipeline_status(&p->pl, &p->last_exit);
	p->has_exit = true;
	release_pipeline(p);
	col_status_format(&p->last_exit, what, sizeof(what));
	if (sv_trace)
		fprintf(stderr, "collie: %s: %s\n", p->cp->name, what);
	if (p->state == SV_STOPPING && cgroup_stop_leftovers(p))
		return; /* STOPPED once its cgroup is empty: on_cgroup_empty() */
	disarm(p);
	if (!p->sv->stopping_all && (p->state == SV_STARTING || restarts(p)))
		end_leftovers(p);
	switch (p->state) {
	case SV_STARTING:
		start_failed(p);
		break;
	case SV_RUNNING:
		run_ended(p);
		break;
	case SV_STOPPING:
		set_state(p, SV_STOPPED);
		break;
	default:
		break;
	}
	pump(p->sv);
}

static void on_member_exit(struct col_source *src, const struct col_status *st, void *data)
{
	struct sv_member *m = data;
	struct sv_proc *p = m->proc;

	if (st) {
		col_pipeline_record(&p->pl, st);
	} else {
		/* Reaped by someone else: nothing in collie does that, but a
		 * status must exist, and it must not look like a success. */
		struct col_status lost = { COL_STATUS_EXITED, 255, p->pl.members[m->index].pid };

		fprintf(stderr, "collie: %s: exit status of process %d was lost\n", p->cp->name,
			(int)lost.pid);
		col_pipeline_record(&p->pl, &lost);
	}
	if (--p->running == 0)
		proc_exited(p);
}

static void on_timer(struct col_source *src, uint64_t now, void *data)
{
	struct sv_proc *p = data;
	enum timer_purpose why = p->timer_for;

	p->timer_for = TIMER_NONE;
	switch (why) {
	case TIMER_STARTSECS:
		if (p->state == SV_STARTING) {
			set_state(p, SV_RUNNING);
			pump(p->sv);
		}
		break;
	case TIMER_BACKOFF:
		if ((p->state == SV_BACKOFF || p->state == SV_EXITED) && !p->sv->stopping_all)
			spawn_proc(p);
		break;
	case TIMER_STOPWAIT:
		if (p->state == SV_STOPPING) {
			fprintf(stderr,
				"collie: %s: still running %.1f s after the stop signal: "
				"SIGKILL\n",
				p->cp->name, (double)p->prog->stopwait / COL_USEC_PER_SEC);
			signal_proc(p, SIGKILL, true);
			cgroup_kill_tree(p);
		}
		break;
	case TIMER_NONE:
		break;
	}
}

static void arm(struct sv_proc *p, enum timer_purpose why, uint64_t delay)
{
	uint64_t at = col_now() + delay;

	p->timer_for = why;
	if (timer_at(p, &p->timer, on_timer, at) < 0) {
		/* Out of memory for its first timer (it is made once and
		 * reused, so only the first arm can fail): say so; what it
		 * was for waits for the process's next event (an exit, a
		 * request). */
		p->timer_for = TIMER_NONE;
		fprintf(stderr, "collie: %s: cannot arm a timer\n", p->cp->name);
	}
}

static void on_ready(void *data)
{
	struct sv_proc *p = data;

	if (p->state != SV_STARTING)
		return;
	set_state(p, SV_RUNNING);
	pump(p->sv);
}

/* For ready= other than startsecs: what the process needs (an fd, an env). */
static int prepare_ready(struct sv_proc *p, struct col_spawn_opts *base,
			 struct col_cmdline_run_opts *ro, struct col_cmdline_fd *fd)
{
	char **env = NULL;
	int r;

	if (p->prog->ready == CFG_READY_STARTSECS)
		return 0;
	r = ready_prepare(p->prog, p->cp->name, base->envp, &p->ready, fd, &env);
	if (r < 0) {
		fprintf(stderr, "collie: %s: ready=: %s\n", p->cp->name, strerror(-r));
		return r;
	}
	if (env)
		base->envp = env;
	if (fd->target >= 0) {
		ro->fds = fd;
		ro->n_fds = 1;
	}
	return 0;
}

/* After a successful start: RUNNING at once, after startsecs, or when ready. */
static void await_running(struct sv_proc *p)
{
	if (p->ready) {
		if (ready_start(p->ready, p->sv->loop, p->pl.pgid, on_ready, p) < 0)
			fprintf(stderr, "collie: %s: cannot watch for readiness\n", p->cp->name);
		return;
	}
	if (p->prog->startsecs == 0) {
		set_state(p, SV_RUNNING);
		pump(p->sv);
	} else {
		arm(p, TIMER_STARTSECS, p->prog->startsecs);
	}
}

/* Parse the command for this start: the process's text with its env. */
static struct col_cmdline *parse_command(const struct sv_proc *p)
{
	const char *text = p->cp->command;
	struct col_cmdline_error err;
	struct col_cmdline *cl = NULL;
	char *quoted = NULL;

	if (p->prog->shell) {
		/* /bin/sh -c 'TEXT', each ' written as '\'' */
		size_t n = strlen(text), k = 0;

		quoted = malloc(n * 4 + 16);
		if (!quoted)
			return NULL;
		k += (size_t)snprintf(quoted, 16, "/bin/sh -c '");
		for (size_t i = 0; i < n; i++) {
			if (text[i] == '\'') {
				memcpy(quoted + k, "'\\''", 4);
				k += 4;
			} else {
				quoted[k++] = text[i];
			}
		}
		quoted[k++] = '\'';
		quoted[k] = 0;
		text = quoted;
	}
	if (col_cmdline_parse(text, p->cp->env, 0, &cl, &err) < 0)
		fprintf(stderr, "collie: %s: command: %s\n", p->cp->name, err.message);
	free(quoted);
	return cl;
}

/* The spawn template every command of the process shares. */
static void base_opts(const struct sv_proc *p, struct col_spawn_opts *o, struct col_rlimit *rl)
{
	const struct cfg_program *prog = p->prog;
	bool nofile = false;

	o->envp = p->cp->env;
	o->cwd = p->cp->directory;
	/* A collie that is not root runs a user= of its own uid as it is,
	 * as supervisord does: setgroups would need root, and nothing would
	 * change but the supplementary groups. */
	if (prog->user && !(geteuid() != 0 && prog->uid == geteuid() && prog->gid == getegid())) {
		o->flags |= COL_SPAWN_SET_UID | COL_SPAWN_SET_GID | COL_SPAWN_SET_GROUPS;
		o->uid = prog->uid;
		o->gid = prog->gid;
		o->groups = prog->groups;
		o->n_groups = prog->n_groups;
	}
	if (prog->umask >= 0) {
		o->flags |= COL_SPAWN_SET_UMASK;
		o->umask = (mode_t)prog->umask;
	}
	for (size_t i = 0; i < prog->n_rlimits; i++) {
		rl[i].resource = prog->rlimits[i].resource;
		rl[i].limit.rlim_cur = prog->rlimits[i].value;
		rl[i].limit.rlim_max = prog->rlimits[i].value;
		nofile |= rl[i].resource == RLIMIT_NOFILE;
	}
	o->rlimits = rl;
	o->n_rlimits = prog->n_rlimits;
	/* Not collie's raised soft limit: select() breaks past fd 1023. rl
	 * has room: without NOFILE, prog has at most 3 of the 4 resources. */
	if (!nofile && sv_nofile.rlim_max)
		rl[o->n_rlimits++] = (struct col_rlimit){ RLIMIT_NOFILE, sv_nofile };
}

/* Watch every member of the started pipeline. 0 or -errno. */
static int watch_members(struct sv_proc *p)
{
	size_t n = p->pl.n_members;

	p->members = calloc(n, sizeof(*p->members));
	if (!p->members)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct sv_member *m = &p->members[i];
		int r;

		m->proc = p;
		m->index = i;
		r = col_loop_add_child(p->sv->loop, p->pl.members[i].pidfd, p->pl.members[i].pid,
				       on_member_exit, m, &m->src);
		if (r < 0)
			return r;
	}
	p->running = n;
	return 0;
}

static void spawn_proc(struct sv_proc *p)
{
	struct col_spawn_opts base = COL_SPAWN_OPTS_INIT;
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_cmdline_run_error err;
	struct col_rlimit rl[COL_ARRAY_SIZE(p->prog->rlimits)];
	struct col_cmdline_fd ready_fd = { -1, -1 };
	struct col_cmdline *cl;
	int r;

	if (p->ending_leftovers) {
		p->start_after_leftovers = true; /* once its cgroup is empty */
		return;
	}
	if (p->started_at)
		p->restarts++;
	p->want_start = false;
	p->stop_requested = false;
	set_state(p, SV_STARTING);
	p->started_at = col_now();
	base_opts(p, &base, rl);
	cgroup_prepare(p, &base);
	ro.base = &base;
	ro.flags = COL_CMDLINE_NO_WAIT; /* a FIFO in a redirection must not stop the loop */
	ro.stdio[0].kind = COL_STDIO_NULL;
	if (p->log)
		logs_proc_stdio(p->log, ro.stdio);
	if (prepare_ready(p, &base, &ro, &ready_fd) < 0) {
		start_failed(p);
		return;
	}
	cl = parse_command(p);
	r = cl ? col_cmdline_start(cl, &ro, &p->pl, &err) : -EINVAL;
	col_cmdline_free(cl);
	if (r < 0 && cl)
		fprintf(stderr, "collie: %s: %s\n", p->cp->name, err.message);
	if (r >= 0 && (r = watch_members(p)) < 0) {
		fprintf(stderr, "collie: %s: cannot watch: %s\n", p->cp->name, strerror(-r));
		col_pipeline_signal(&p->pl, SIGKILL);
		col_pipeline_wait(&p->pl, NULL);
		release_pipeline(p);
	}
	if (r < 0) {
		ready_free(p->ready);
		p->ready = NULL;
		start_failed(p);
		return;
	}
	await_running(p);
}

/* Whether every process of the named program is RUNNING. */
static bool program_ready(const struct sv *sv, const char *name)
{
	bool found = false;

	for (size_t i = 0; i < sv->n_procs; i++) {
		if (strcmp(sv->procs[i]->prog->name, name) != 0)
			continue;
		found = true;
		if (sv->procs[i]->state != SV_RUNNING)
			return false;
	}
	return found;
}

static bool deps_ready(const struct sv_proc *p)
{
	for (char **d = p->prog->depends_on; d && *d; d++)
		if (!program_ready(p->sv, *d))
			return false;
	return true;
}

/* Whether some active process's program depends on p's program. */
static bool has_active_dependent(const struct sv_proc *p)
{
	const struct sv *sv = p->sv;

	for (size_t i = 0; i < sv->n_procs; i++) {
		const struct sv_proc *q = sv->procs[i];

		if (!active(q))
			continue;
		for (char **d = q->prog->depends_on; d && *d; d++)
			if (strcmp(*d, p->prog->name) == 0)
				return true;
	}
	return false;
}

static void begin_stop(struct sv_proc *p)
{
	p->stop_requested = true;
	p->want_start = false;
	p->start_after_leftovers = false;
	if (p->state == SV_BACKOFF || p->state == SV_EXITED || p->state == SV_FATAL) {
		disarm(p); /* a pending restart */
		if (!cgroup_stop_ended(p) && p->state == SV_BACKOFF)
			set_state(p, SV_STOPPED);
		return;
	}
	if (p->state != SV_STARTING && p->state != SV_RUNNING)
		return;
	disarm(p);
	set_state(p, SV_STOPPING);
	signal_proc(p, p->prog->stopsignal, p->prog->stopasgroup);
	arm(p, TIMER_STOPWAIT, p->prog->stopwait);
}

/* Every process, the configuration's and the retired: i < n_procs + n_retired. */
static struct sv_proc *any_proc(const struct sv *sv, size_t i)
{
	return i < sv->n_procs ? sv->procs[i] : sv->retired[i - sv->n_procs];
}

/*
 * During stop_all: stop the processes whose turn it is. A process may stop
 * once no active program depends on it; among those, the highest priority
 * goes first (depends_on has no cycles, so someone is always eligible).
 * Retired processes are stopping already; everything has stopped when
 * they have too.
 */
static void pump_stops(struct sv *sv)
{
	int top = -1;

	for (size_t i = 0; i < sv->n_procs; i++) {
		const struct sv_proc *p = sv->procs[i];

		if (active(p) && !has_active_dependent(p) && p->prog->priority > top)
			top = p->prog->priority;
	}
	for (size_t i = 0; i < sv->n_procs; i++) {
		struct sv_proc *p = sv->procs[i];

		if (active(p) && p->state != SV_STOPPING && p->prog->priority == top &&
		    !has_active_dependent(p))
			begin_stop(p);
	}
	for (size_t i = 0; i < sv->n_procs + sv->n_retired; i++)
		if (active(any_proc(sv, i)))
			return;
	/* stopping_all stays: `collie up` goes on ending leftovers for a
	 * while, and a start then (a request, a backoff timer) would run a
	 * program that nobody stops again, and keep collie from exiting. */
	if (sv->told_all_stopped)
		return;
	sv->told_all_stopped = true;
	if (sv->hooks.all_stopped)
		sv->hooks.all_stopped(sv, sv->hooks.data);
}

/* Start what waits for its dependencies (and for the process it replaces
 * to be gone), or stop what is due. */
static void pump(struct sv *sv)
{
	if (sv->stopping_all) {
		pump_stops(sv);
		return;
	}
	for (size_t i = 0; i < sv->n_procs; i++) {
		struct sv_proc *p = sv->procs[i];

		if (p->want_start && !active(p) && !p->replaces && deps_ready(p))
			spawn_proc(p);
	}
}

void sv__pump(struct sv *sv)
{
	pump(sv);
}

struct sv_proc *sv__proc_new(struct sv *sv, struct cfg *cfg, const struct cfg_program *prog,
			     const struct cfg_process *cp)
{
	struct sv_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->sv = sv;
	p->cfg = cfg_ref(cfg);
	p->prog = prog;
	p->cp = cp;
	p->state = SV_STOPPED;
	p->since = col_now();
	p->pl = (struct col_pipeline)COL_PIPELINE_INIT;
	return p;
}

void sv__proc_free(struct sv_proc *p)
{
	if (!p)
		return;
	if (p->pl.n_members) {
		col_pipeline_signal(&p->pl, SIGKILL);
		col_pipeline_wait(&p->pl, NULL);
	}
	release_pipeline(p);
	col_source_free(p->timer);
	col_source_free(p->leftovers_timer);
	cgroup_free(p->cg);
	if (p->replaced_by)
		p->replaced_by->replaces = NULL;
	if (p->replaces)
		p->replaces->replaced_by = NULL;
	cfg_unref(p->cfg);
	free(p);
}

/* Free the retired processes that have stopped; start what waited for them. */
static void on_sweep(struct col_source *src, uint64_t now, void *data)
{
	struct sv *sv = data;
	size_t k = 0;
	bool freed = false;

	for (size_t i = 0; i < sv->n_retired; i++) {
		struct sv_proc *p = sv->retired[i];

		if (active(p) || p->pl.n_members) {
			sv->retired[k++] = p;
			continue;
		}
		if (sv_trace)
			fprintf(stderr, "collie: %s: removed\n", p->cp->name);
		logs_remove(p->log);
		sv__proc_free(p);
		freed = true;
	}
	sv->n_retired = k;
	if (freed)
		pump(sv);
}

/* Make the sweep look at the retired processes at the loop's next turn. */
static void schedule_sweep(struct sv *sv)
{
	if (sv->sweep)
		col_timer_set(sv->sweep, col_now(), 0);
	else if (col_loop_add_timer(sv->loop, col_now(), 0, on_sweep, sv, &sv->sweep) < 0)
		fprintf(stderr, "collie: cannot arm a timer: retired processes stay listed\n");
}

void sv__proc_retire(struct sv_proc *p)
{
	struct sv *sv = p->sv;

	p->retired = true;
	sv->retired[sv->n_retired++] = p;
	if (sv->hooks.removed)
		sv->hooks.removed(sv, p, sv->hooks.data);
	begin_stop(p);
	schedule_sweep(sv);
}

int sv_new(struct col_loop *loop, struct cfg *cfg, const struct sv_hooks *hooks, struct sv **ret)
{
	struct sv *sv;
	size_t n = 0;

	if (!loop || !cfg || !ret)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_programs; i++)
		n += cfg->programs[i].n_procs;
	sv = calloc(1, sizeof(*sv));
	if (!sv || !(sv->procs = calloc(n ? n : 1, sizeof(*sv->procs)))) {
		free(sv);
		return -ENOMEM;
	}
	sv->loop = loop;
	if (hooks)
		sv->hooks = *hooks;
	for (size_t i = 0; i < cfg->n_programs; i++) {
		for (size_t j = 0; j < cfg->programs[i].n_procs; j++) {
			struct sv_proc *p = sv__proc_new(sv, cfg, &cfg->programs[i],
							 &cfg->programs[i].procs[j]);

			if (!p) {
				sv_free(sv);
				return -ENOMEM;
			}
			sv->procs[sv->n_procs++] = p;
		}
	}
	*ret = sv;
	return 0;
}

void sv_free(struct sv *sv)
{
	if (!sv)
		return;
	for (size_t i = 0; i < sv->n_procs + sv->n_retired; i++)
		sv__proc_free(any_proc(sv, i));
	col_source_free(sv->sweep);
	free(sv->procs);
	free(sv->retired);
	free(sv);
}

void sv_set_logs(struct sv *sv, struct logs *logs)
{
	sv->logs = logs;
	for (size_t i = 0; i < sv->n_procs; i++)
		sv->procs[i]->log = logs ? logs_find(logs, sv->procs[i]->cp->name) : NULL;
}

void sv_start_autostart(struct sv *sv)
{
	for (size_t i = 0; i < sv->n_procs; i++)
		if (sv->procs[i]->prog->autostart)
			sv->procs[i]->want_start = true;
	pump(sv);
}

void sv_stop_all(struct sv *sv)
{
	sv->stopping_all = true;
	for (size_t i = 0; i < sv->n_procs + sv->n_retired; i++) {
		any_proc(sv, i)->want_start = false;
		any_proc(sv, i)->start_after_leftovers = false;
	}
	pump_stops(sv);
}

void sv_signal_all(struct sv *sv, int sig)
{
	for (size_t i = 0; i < sv->n_procs + sv->n_retired; i++) {
		struct sv_proc *p = any_proc(sv, i);

		if (p->pl.n_members)
			signal_proc(p, sig, true);
	}
}

void sv_kill_all(struct sv *sv)
{
	sv_signal_all(sv, SIGKILL);
	/* and what left the groups: a second ^C means everything */
	for (size_t i = 0; i < sv->n_procs + sv->n_retired; i++)
		cgroup_kill_tree(any_proc(sv, i));
}

struct sv_proc *sv_find_pid(struct sv *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->n_procs + sv->n_retired; i++) {
		struct sv_proc *p = any_proc(sv, i);

		for (size_t j = 0; j < p->pl.n_members; j++)
			if (p->pl.members[j].pid == pid)
				return p;
	}
	return NULL;
}

bool sv_owns_pid(const struct sv *sv, pid_t pid)
{
	return sv_find_pid((struct sv *)sv, pid) != NULL;
}

size_t sv_count(const struct sv *sv)
{
	return sv->n_procs;
}

struct sv_proc *sv_at(struct sv *sv, size_t i)
{
	return i < sv->n_procs ? sv->procs[i] : NULL;
}

struct sv_proc *sv_find(struct sv *sv, const char *name)
{
	for (size_t i = 0; i < sv->n_procs; i++)
		if (strcmp(sv->procs[i]->cp->name, name) == 0)
			return sv->procs[i];
	return NULL;
}

void sv_info(const struct sv_proc *p, struct sv_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->name = p->cp->name;
	ret->program = p->prog->name;
	ret->group = p->prog->group;
	ret->state = p->state;
	ret->pid = p->pl.n_members ? p->pl.pgid : 0;
	ret->since = p->since;
	ret->started = p->started_at;
	ret->restarts = p->restarts;
	ret->has_exit = p->has_exit;
	ret->last_exit = p->last_exit;
}

int sv_proc_start(struct sv_proc *p)
{
	if (p->sv->stopping_all)
		return -ESHUTDOWN;
	if (active(p))
		return -EALREADY;
	p->fails = p->failed_starts = 0;
	disarm(p);
	p->want_start = true;
	if (p->ending_leftovers) {
		/* What its last run left is still being ended: STOPPING until
		 * it is gone, then the start; so a `collie start` waiting for
		 * it does not take the FATAL of the last run for its answer. */
		p->start_after_leftovers = false;
		set_state(p, SV_STOPPING);
	}
	pump(p->sv);
	return 0;
}

int sv_proc_stop(struct sv_proc *p)
{
	if (p->want_start && !active(p)) {
		p->want_start = false; /* it was waiting for its dependencies */
		p->start_after_leftovers = false;
		return 0;
	}
	/* (ending_leftovers: its cgroup may have emptied a moment ago, with
	 * the event not yet read; the start that waits for it is cancelled) */
	if (!active(p) && !(p->state == SV_EXITED && p->timer_for == TIMER_BACKOFF) &&
	    !p->ending_leftovers &&
	    !((p->state == SV_EXITED || p->state == SV_FATAL) && p->cg && cgroup_populated(p->cg)))
		return -EALREADY;
	begin_stop(p);
	return 0;
}

int sv_proc_signal(struct sv_proc *p, int sig, bool group)
{
	if (p->running == 0)
		return -ESRCH;
	signal_proc(p, sig, group);
	return 0;
}

bool sv_proc_pending(const struct sv_proc *p)
{
	return p->want_start;
}

size_t sv_retiring(const struct sv *sv)
{
	size_t n = 0;

	for (size_t i = 0; i < sv->n_retired; i++)
		n += active(sv->retired[i]) || sv->retired[i]->pl.n_members;
	return n;
}
