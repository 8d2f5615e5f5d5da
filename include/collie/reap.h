/*
 * collie/reap.h - collecting children: exit status through pidfds,
 * subreaper mode, and a status formatter for people.
 *
 * Recipe:
 *   1. Start a child with col_spawn_start(); it gives you a pidfd.
 *   2. Wait for it: poll the pidfd for POLLIN (or let col_loop do it),
 *      then col_reap_pidfd(pidfd, COL_REAP_NOHANG, &st).
 *   3. Show it: col_status_format(&st, buf, sizeof(buf)) -> "exited 3",
 *      "killed by SIGKILL (core dumped)"; or col_status_exit_code(&st) for
 *      a shell-style code (3, 137).
 *
 * Orphans: a process that wants to reap the descendants that its children
 * abandon calls col_reap_set_subreaper(true) (or runs as PID 1). Such a
 * process, and only such a process, then reaps everything: on SIGCHLD it
 * calls col_reap_peek() to learn which child is a zombie, hands the pid to
 * whoever owns that child (who reaps it through its pidfd) or, for an
 * orphan nobody owns, col_reap_pid(). A zombie cannot be recycled until it
 * is reaped, so acting on a pid returned by col_reap_peek() is race-free.
 * The library itself never calls waitpid(-1): that would steal children
 * other code is waiting for. col_loop_reap_orphans() packages this dance.
 */
#ifndef COLLIE_REAP_H
#define COLLIE_REAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "collie/common.h"

/* How a child ended. */
enum col_status_kind {
	COL_STATUS_EXITED = 1, /* called exit(code) */
	COL_STATUS_KILLED = 2, /* killed by signal `code` */
	COL_STATUS_DUMPED = 3, /* killed by signal `code`, core dumped */
};

/* A decoded exit status. */
struct col_status {
	enum col_status_kind kind; /* exited, killed, or killed with core */
	int code;		   /* exit code (0..255) or signal number */
	pid_t pid;		   /* the pid that ended */
};

enum col_reap_flags {
	COL_REAP_NOHANG = 1 << 0, /* return 0 at once if the child still runs */
};

/*
 * Reap the child that pidfd refers to (waitid(P_PIDFD, ..., WEXITED)).
 * pidfd is borrowed. Without COL_REAP_NOHANG, blocks until it exits,
 * retrying on EINTR. Returns 1 and fills *ret_status when reaped, 0 when
 * COL_REAP_NOHANG and still running, -ECHILD when it is not our child or
 * was already reaped, -EBADF/-EINVAL for a bad pidfd or flags.
 */
COL_API int col_reap_pidfd(int pidfd, unsigned flags, struct col_status *ret_status);

/*
 * Reap one specific child by pid. Use only on a pid col_reap_peek() just
 * returned (a zombie cannot be recycled) or one you otherwise know has not
 * been reaped. Same returns as col_reap_pidfd().
 */
COL_API int col_reap_pid(pid_t pid, unsigned flags, struct col_status *ret_status);

/*
 * Find a child of this process that has exited but not been reaped,
 * without reaping it (waitid(P_ALL, WNOHANG | WNOWAIT)). Returns 1 and
 * sets *ret_pid, or 0 when there is none (also when there are no
 * children at all), or -errno.
 */
COL_API int col_reap_peek(pid_t *ret_pid);

/*
 * Make this process a child subreaper (PR_SET_CHILD_SUBREAPER): orphaned
 * descendants are re-parented to it instead of to PID 1, so it must reap
 * them. Returns 0 or -errno.
 */
COL_API int col_reap_set_subreaper(bool on);

/* Whether this process is a subreaper or PID 1 (which reaps orphans by
 * definition). Returns 1, 0, or -errno. */
COL_API int col_reap_is_subreaper(void);

/*
 * Whether this process has any child at all, running or zombie
 * (waitid(P_ALL, WNOHANG | WNOWAIT) and its ECHILD). Needs no /proc.
 * Returns 1, 0, or -errno.
 */
COL_API int col_reap_has_children(void);

/*
 * List this process's children (every thread's, from
 * /proc/self/task/<tid>/children) into buf, up to len of them. Returns how
 * many there are (which may exceed len: call again with a bigger buffer),
 * or -errno (-ENOENT when /proc is not mounted). A child in the list
 * cannot be recycled before this process reaps it, so its pid may be
 * turned into a pidfd with col_pidfd_open() without a race.
 */
COL_API int col_reap_children(pid_t *buf, size_t len);

/*
 * Whether the child that pidfd names has stopped (SIGTSTP, SIGSTOP, ...)
 * or continued since this was last asked; consumes that report, not the
 * exit (waitid(P_PIDFD, WSTOPPED | WCONTINUED | WNOHANG)). Returns 1 and
 * sets *ret_signo to the stop signal, 2 when it continued (*ret_signo =
 * SIGCONT), 0 when neither happened (also when it has exited: reap it
 * with col_reap_pidfd()), or -errno. Job control for shells and inits.
 */
COL_API int col_reap_stopped(int pidfd, int *ret_signo);

/* Decode a wait status from waitpid() (status) into *ret. Returns 0, or
 * -EINVAL when status is not that of an ended process (stopped/continued). */
COL_API int col_status_from_wait(int wstatus, pid_t pid, struct col_status *ret);

/*
 * Write a short description for people into buf: "exited 0", "exited 3",
 * "killed by SIGTERM", "killed by SIGSEGV (core dumped)",
 * "killed by signal 42". Always NUL-terminates when len > 0; truncates to
 * fit. Returns the length it wanted (as snprintf) or -EINVAL.
 * Async-signal-safe: no.
 */
COL_API int col_status_format(const struct col_status *st, char *buf, size_t len);

/* The shell convention: the exit code, or 128 + signal number. */
COL_API int col_status_exit_code(const struct col_status *st);

#endif
