/*
 * supervisor-internal.h - what supervisor.c (the state machine) and
 * supervisor-reload.c (applying a new configuration) share.
 */
#ifndef COLLIE_CLI_SUPERVISOR_INTERNAL_H
#define COLLIE_CLI_SUPERVISOR_INTERNAL_H

#include "collie/cmdline.h"
#include "supervisor.h"

enum timer_purpose { TIMER_NONE, TIMER_STARTSECS, TIMER_BACKOFF, TIMER_STOPWAIT };

struct sv_member {
	struct sv_proc *proc;
	size_t index; /* in proc->pl.members */
	struct col_source *src;
};

struct sv_proc {
	struct sv *sv;
	const struct cfg_program *prog;
	const struct cfg_process *cp;
	enum sv_state state;
	uint64_t since;
	uint64_t started_at;
	struct col_pipeline pl;	   /* the running pipeline, when started */
	struct sv_member *members; /* one per pipeline member */
	size_t running;		   /* members not yet exited */
	struct col_source *timer;
	enum timer_purpose timer_for;
	struct ready_watch *ready; /* ready= other than startsecs, for this start */
	unsigned fails;		   /* failed runs in a row (for the backoff delay) */
	unsigned failed_starts;	   /* failed starts since it was last RUNNING (startretries) */
	unsigned restarts;
	bool want_start; /* start once its dependencies are RUNNING */
	bool stop_requested;
	bool has_exit;
	struct col_status last_exit;
	struct logs_proc *log; /* its output's capture, or NULL */
	struct cfg *cfg;       /* the configuration prog and cp belong to (a reference) */
	bool retired;	       /* removed or changed by a reload: stops, then is freed */
	struct sv_proc *replaces;    /* a retired process of the same name this one waits for */
	struct sv_proc *replaced_by; /* retired: the process that waits for this one */
	struct cgroup *cg;	     /* its cgroup v2, made at its first start; NULL: none */
	/* A run that ended by itself left processes in cg, which are being
	 * ended before anything starts there again (supervisor.c). */
	bool ending_leftovers;
	bool start_after_leftovers;	    /* a start waits for that */
	struct col_source *leftovers_timer; /* SIGKILL for them at stopwaitsecs */
};

struct sv {
	struct col_loop *loop;
	struct sv_hooks hooks;
	struct logs *logs;	/* or NULL */
	struct sv_proc **procs; /* the configuration's, in its order: priority, then name */
	size_t n_procs;
	struct sv_proc **retired; /* left by reloads, still stopping */
	size_t n_retired;
	struct col_source *sweep; /* frees retired processes once stopped */
	bool stopping_all;	  /* sv_stop_all() was called: for good, nothing starts again */
	bool told_all_stopped;	  /* the all_stopped hook was called */
	struct cgroups *cgs; /* the supervisor's cgroup tree; NULL: none (cgroup.h) */
};

/* A process of cfg (a reference is taken), STOPPED. NULL: ENOMEM. */
struct sv_proc *sv__proc_new(struct sv *sv, struct cfg *cfg, const struct cfg_program *prog,
			     const struct cfg_process *cp);

/* Kill and reap what still runs, release its cfg, free. Its capture
 * (p->log) stays: logs_remove() it first when it goes too. */
void sv__proc_free(struct sv_proc *p);

/* p (already out of sv->procs; sv->retired has room) is no longer in the
 * configuration: the removed hook, a stop, then the sweep frees it. */
void sv__proc_retire(struct sv_proc *p);

/* Start what waits and may start now. */
void sv__pump(struct sv *sv);

#endif
