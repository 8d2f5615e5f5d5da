/*
 * supervisor.h - keeps the processes of a configuration alive: the state
 * machine of every process, start order, restart with backoff, stop with
 * escalation. Runs inside the caller's col_loop; never blocks.
 *
 * Process states and their meaning are supervisord's, so its
 * documentation is true of collie:
 *   STOPPED  -> STARTING  start requested
 *   STARTING -> RUNNING   it lasted startsecs (or signalled readiness)
 *   STARTING -> BACKOFF   it exited (or could not be spawned) too soon
 *   BACKOFF  -> STARTING  after the backoff delay
 *   BACKOFF  -> FATAL     more than startretries failed starts in a row
 *   RUNNING  -> EXITED    it exited; autorestart may start it again
 *   *        -> STOPPING  stop requested: stopsignal, SIGKILL after stopwaitsecs
 *   EXITED   -> STOPPING  stop requested while its cgroup still holds processes
 *   STOPPING -> STOPPED   it exited (and its cgroup, if it has one, is empty)
 */
#ifndef COLLIE_CLI_SUPERVISOR_H
#define COLLIE_CLI_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "collie/loop.h"
#include "collie/reap.h"
#include "config.h"
#include "logs.h"

enum sv_state {
	SV_STOPPED = 0,
	SV_STARTING,
	SV_RUNNING,
	SV_BACKOFF,
	SV_STOPPING,
	SV_EXITED,
	SV_FATAL,
};

struct sv;
struct sv_proc;

/* What the supervisor tells its owner. */
struct sv_hooks {
	/* Every process has stopped after sv_stop_all(). */
	void (*all_stopped)(struct sv *sv, void *data);
	/* A critical=true program went FATAL or exited: code is its status. */
	void (*critical)(struct sv *sv, const struct sv_proc *p, int code, void *data);
	/* p went from `from` to its current state. Called from inside the
	 * supervisor: note what happened, act on it later (no sv_ calls). */
	void (*state_changed)(struct sv *sv, struct sv_proc *p, enum sv_state from, void *data);
	/* A reload took p out of the configuration: forget p now (it goes on
	 * stopping out of sight, and is freed once stopped). */
	void (*removed)(struct sv *sv, struct sv_proc *p, void *data);
	void *data;
};

/* A snapshot of one process, for status and tests. */
struct sv_info {
	const char *name;    /* process name */
	const char *program; /* program name */
	const char *group;   /* group name */
	enum sv_state state;
	pid_t pid;	   /* 0 unless STARTING, RUNNING or STOPPING */
	uint64_t since;	   /* col_now() of the last state change */
	uint64_t started;  /* col_now() of the last start, 0 if never started */
	unsigned restarts; /* starts after the first */
	bool has_exit;	   /* last_exit is valid */
	struct col_status last_exit;
};

/* The supervisor's lines ("web:0: STARTING -> RUNNING") go to stderr when set. */
extern bool sv_trace;

/* RLIMIT_NOFILE for the programs that set no rlimit_nofile=: what collie
 * had before `collie up` raised its own soft limit (up.c). rlim_max 0:
 * collie's own, left as it is. */
extern struct rlimit sv_nofile;

const char *sv_state_name(enum sv_state state);

/* Make a supervisor for cfg (each process takes a reference) in loop.
 * 0 or -errno. */
int sv_new(struct col_loop *loop, struct cfg *cfg, const struct sv_hooks *hooks, struct sv **ret);

/* Free it; processes still running are SIGKILLed and reaped first. Takes NULL. */
void sv_free(struct sv *sv);

/* Capture the output of every process through logs (borrowed; NULL:
 * stdout and stderr are inherited). Call before starting anything; a
 * reload adds and removes captures in it. */
void sv_set_logs(struct sv *sv, struct logs *logs);

/* Run every process in a cgroup of its own under cgs (borrowed; NULL:
 * none; see cgroup.h). Call before starting anything. */
struct cgroups;
void sv_set_cgroups(struct sv *sv, struct cgroups *cgs);

/* Start every autostart program: priority order, each once its depends_on
 * are RUNNING. */
void sv_start_autostart(struct sv *sv);

/* Stop everything: reverse priority order (dependents before what they
 * depend on), processes of one priority in parallel; all_stopped when done.
 * For good: nothing starts again (start and reload: -ESHUTDOWN). */
void sv_stop_all(struct sv *sv);

/* SIGKILL every process group, and every cgroup, now (a second ^C). */
void sv_kill_all(struct sv *sv);

/* Send sig to every started process's group (PID 1 passing a signal on). */
void sv_signal_all(struct sv *sv, int sig);

/* Whether a pid is one of the supervisor's live processes (for orphan reaping). */
bool sv_owns_pid(const struct sv *sv, pid_t pid);

size_t sv_count(const struct sv *sv);
struct sv_proc *sv_at(struct sv *sv, size_t i);
struct sv_proc *sv_find(struct sv *sv, const char *name);
void sv_info(const struct sv_proc *p, struct sv_info *ret);

/* What sv_reload() did: process names, NULL-terminated lists. */
struct sv_reload_report {
	char **added;	/* new: started if autostart */
	char **changed; /* stopped; their successors start (if autostart) once they are gone */
	char **removed; /* stopped and forgotten */
	size_t n_added, n_changed, n_removed, n_unchanged;
};

/*
 * Apply a new configuration (each process takes a reference): what
 * supervisorctl's `update` does, per process. A process whose settings,
 * as `collie check` shows them, did not change keeps running untouched;
 * a changed one is stopped and started again with its new settings; a
 * removed one is stopped and forgotten; an added one starts if
 * autostart. Returns 0 and *ret (release it), or -ESHUTDOWN while
 * everything is being stopped, -ENOMEM or -EMFILE: then nothing changed.
 */
int sv_reload(struct sv *sv, struct cfg *cfg, struct sv_reload_report *ret);
void sv_reload_report_release(struct sv_reload_report *r);

/* How many processes a reload took out are still running (stopping). */
size_t sv_retiring(const struct sv *sv);

/* Start or stop one process. 0, -EALREADY when it is already so,
 * -ESHUTDOWN (start) while everything is being stopped, -errno. */
int sv_proc_start(struct sv_proc *p);
int sv_proc_stop(struct sv_proc *p);

/* Send sig to the process's members (group = false: what supervisord's
 * `signal` does) or to its whole process group, through pidfds. 0, or
 * -ESRCH when it is not running. */
int sv_proc_signal(struct sv_proc *p, int sig, bool group);

/* Whether a start was asked for and waits (for its dependencies). */
bool sv_proc_pending(const struct sv_proc *p);

/* The process whose pipeline has pid as a member (unreaped), or NULL. */
struct sv_proc *sv_find_pid(struct sv *sv, pid_t pid);

#endif
