/*
 * collie/daemon.h - becoming a daemon properly, and telling the caller
 * when the daemon is ready.
 *
 * Recipe:
 *   struct col_daemon_opts o = COL_DAEMON_OPTS_INIT;
 *   struct col_daemon d;
 *
 *   o.pidfile = "/run/app.pid";
 *   r = col_daemon_start(&o, &d);
 *   if (r < 0)                       nothing forked; -errno
 *           ...
 *   if (r > 0) {                     the caller: wait, then exit
 *           r = col_daemon_wait_ready(&d, 10 * COL_USEC_PER_SEC);
 *           exit(r == 0 ? 0 : 1);    r < 0: -errno of the daemon's failure
 *   }
 *   ... r == 0: the daemon. Set up (listen, ...), then:
 *   col_daemon_notify_ready(&d);     the caller's wait returns 0
 *   ... serve ...
 *   col_daemon_release(&d);          at exit: removes the pidfile
 *
 * What the daemon is: a grandchild of the caller (fork, setsid, fork: it
 * is in a new session but not its leader, so it can never acquire a
 * controlling terminal), with its working directory at opts.dir ("/"),
 * stdin, stdout and stderr on /dev/null, umask unchanged, and the pidfile
 * written and write-locked (an open-file-description lock, held for the
 * daemon's life), so two daemons can never share it: the second one's
 * start fails with -EBUSY. Signal mask and dispositions are left as they
 * were. A failure in the daemon before it is ready (the pidfile is
 * locked, a setup step fails) reaches the caller's col_daemon_wait_ready()
 * as -errno, and the daemon exits.
 */
#ifndef COLLIE_DAEMON_H
#define COLLIE_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "collie/common.h"

struct col_daemon_opts {
	const char *pidfile; /* path of the pidfile to create and lock, or NULL for none */
	const char *dir;     /* working directory of the daemon; NULL = "/" */
};

#define COL_DAEMON_OPTS_INIT                 \
	{                                    \
		.pidfile = NULL, .dir = NULL \
	}

/* Both sides' handle. Fields are owned by the side that holds them. */
struct col_daemon {
	pid_t pid;	/* caller: the daemon's pid once known; daemon: its own */
	int ready_fd;	/* caller: read end; daemon: write end (-1 once ready) */
	int pidfile_fd; /* daemon: the locked pidfile, or -1 */
	char *pidfile;	/* daemon: its path (owned), for removal at release */
};

/*
 * Fork the daemon. Returns 1 in the caller (with d->ready_fd to wait on),
 * 0 in the daemon, or -errno in the caller when nothing could be forked
 * (-EINVAL for bad opts). Not thread-safe in the caller: fork() in a
 * multithreaded process leaves the daemon with one thread.
 */
COL_API int col_daemon_start(const struct col_daemon_opts *opts, struct col_daemon *d);

/*
 * Caller: wait up to timeout microseconds for the daemon to call
 * col_daemon_notify_ready(). Returns 0 when it did (d->pid is its pid),
 * the daemon's -errno when it failed before that (-EBUSY: the pidfile is
 * locked by another daemon), -ECHILD when it exited without a word,
 * -ETIMEDOUT. Closes d->ready_fd in every case.
 */
COL_API int col_daemon_wait_ready(struct col_daemon *d, uint64_t timeout);

/* Daemon: tell the caller we are ready. 0 or -errno (-EPIPE: the caller
 * is gone, which is not an error for the daemon). Idempotent. */
COL_API int col_daemon_notify_ready(struct col_daemon *d);

/* Daemon: remove the pidfile (if ours) and close it. Takes NULL. */
COL_API void col_daemon_release(struct col_daemon *d);

#endif
