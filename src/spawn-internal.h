/*
 * spawn-internal.h - what the parent side (spawn.c) hands the child side
 * (spawn-child.c) across clone().
 */
#ifndef COLLIE_SPAWN_INTERNAL_H
#define COLLIE_SPAWN_INTERNAL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "collie/spawn.h"

/* Source of one target fd in the child. */
#define COL__SPAWN_FD_INHERIT (-1) /* keep the inherited fd of that number */
#define COL__SPAWN_FD_DEVNULL (-2) /* open /dev/null there */

/* Number of fd slots kept inline; more are malloc'd by the parent. */
#define COL__SPAWN_INLINE_FDS 16

/* The {step, errno} record the child writes to the error pipe. Smaller
 * than PIPE_BUF, so the write is atomic. */
struct col__spawn_report {
	int32_t step;
	int32_t error;
};

/*
 * Everything the child needs, prepared by the parent before clone(). With
 * CLONE_VM the child reads it in the parent's own memory while the parent
 * is suspended; with fork() it reads its copy. The child writes only to
 * err_fd, fd_tmp (scratch, never read by the parent afterwards: the
 * parent closes the error pipe through its own copy of the fd number) and,
 * with CLONE_VM, report: the one field the parent reads back.
 */
struct col__spawn_ctx {
	const struct col_spawn_opts *opts; /* the caller's options */
	const char *file;		   /* program: opts->path or argv[0] */
	char *const *envp;		   /* environment for execve */
	const char *search_path;	   /* PATH to search, with COL_SPAWN_SEARCH_PATH */
	int *fd_src;	     /* per target fd 0..n_targets-1: source fd or COL__SPAWN_FD_* */
	int *fd_tmp;	     /* scratch: the relocated copies, one per target */
	int n_targets;	     /* 3 + opts->n_fds */
	int err_fd;	     /* fork: write end of the error pipe (CLOEXEC); CLONE_VM: -1 */
	int cgroup_fd;	     /* cgroup the child enters itself (cgroup.procs); -1: none, or
				the kernel already put it there (CLONE_INTO_CGROUP) */
	pid_t parent_pid;    /* for the parent-death race check */
	sigset_t child_mask; /* the mask to install just before exec */
	volatile struct col__spawn_report report; /* CLONE_VM: the failure, or zeros */
};

/*
 * The child: runs from clone() (or after fork()) to execve. Never returns:
 * it execs, or reports the failure (into ctx->report when it shares the
 * parent's memory, else to ctx->err_fd) and _exit(127)s.
 * Async-signal-safe.
 */
int col__spawn_child(void *ctx) __attribute__((noreturn));

#endif
