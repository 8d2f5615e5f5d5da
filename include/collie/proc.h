/*
 * collie/proc.h - what /proc says about a process: its place in the
 * process tree (parent, group, session), its state and memory, and its
 * children.
 *
 * Recipe (the resident memory of a process tree):
 *   struct col_proc_stat st;
 *   pid_t kids[64];
 *   col_proc_stat(pid, &st);                   st.pgid, st.rss
 *   n = col_proc_children(pid, kids, 64);      n > 64: call again with more room
 *   col_proc_pss(pid, &pss);                   proportional share, costlier
 *
 * Everything here is a snapshot: the process may exit, or its pid be
 * reused, the moment after. Read /proc about a pid that cannot be
 * recycled (an unreaped child, a member of a group whose leader is an
 * unreaped child) when the answer must be about that very process.
 * Every function returns -ESRCH when the process does not exist (any
 * more) and -ENOENT when /proc is not mounted.
 */
#ifndef COLLIE_PROC_H
#define COLLIE_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "collie/common.h"

/* A process's line of /proc/PID/stat, decoded. */
struct col_proc_stat {
	pid_t pid;    /* the process */
	char state;   /* R running, S sleeping, D disk, Z zombie, T stopped, ... */
	pid_t ppid;   /* its parent */
	pid_t pgid;   /* its process group */
	pid_t sid;    /* its session */
	uint64_t rss; /* resident set size in bytes (shared pages counted in full) */
};

/*
 * Read /proc/PID/stat (pid 0: this process). Returns 0 and fills *ret,
 * -ESRCH, -ENOENT, -EIO when the file cannot be parsed, or -errno.
 */
COL_API int col_proc_stat(pid_t pid, struct col_proc_stat *ret);

/*
 * List the children of pid (0: this process) from every thread's
 * /proc/PID/task/TID/children, into buf, up to len of them. Returns how
 * many there are (which may exceed len: call again with a bigger buffer),
 * -ESRCH, -ENOENT (also when the kernel lacks CONFIG_PROC_CHILDREN), or
 * -errno. Reading another user's process needs the right to ptrace it.
 */
COL_API int col_proc_children(pid_t pid, pid_t *buf, size_t len);

/*
 * The proportional set size of pid (0: this process) in bytes, from
 * /proc/PID/smaps_rollup (Linux 4.14): each shared page counted as its
 * share. Walks the page tables, so it costs far more than col_proc_stat()
 * on a big process. Returns 0 and *ret_bytes, -ESRCH, -ENOENT (no
 * smaps_rollup), -EACCES (needs the right to ptrace it), or -errno.
 */
COL_API int col_proc_pss(pid_t pid, uint64_t *ret_bytes);

#endif
