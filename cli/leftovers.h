/*
 * leftovers.h - ending what is left of a process tree: the processes that
 * outlive the program that started them (its forks, daemons, orphans that
 * re-parented to us as a subreaper or PID 1).
 *
 * Used by `collie init` when its program has exited and by `collie up`
 * once every program has stopped: each remaining process gets SIGTERM
 * once, then, when the caller's grace period is over (killing = true),
 * SIGKILL on every call, until none is left.
 */
#ifndef COLLIE_CLI_LEFTOVERS_H
#define COLLIE_CLI_LEFTOVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct leftovers {
	bool pid1;    /* PID 1: kill(-1) reaches the whole namespace, no /proc needed */
	bool verbose; /* say on stderr whom we signal, prefixed with `who` */
	const char *who;
	bool killing;	 /* grace period over: SIGKILL */
	bool termed_all; /* PID 1: kill(-1, SIGTERM) done */
	pid_t *termed;	 /* children already sent SIGTERM */
	size_t n_termed, cap_termed;
};

/*
 * Signal what is left: SIGTERM once to each child (SIGKILL on every call
 * once l->killing). Returns 1 while children are left, 0 when none is, or
 * -errno (treat as "none can be found").
 */
int leftovers_terminate(struct leftovers *l);

/* A child was reaped: forget it (its pid may be reused). */
void leftovers_forget(struct leftovers *l, pid_t pid);

/* Free what l holds. */
void leftovers_release(struct leftovers *l);

#endif
