/*
 * daemon.c - fork, setsid, fork; a locked pidfile; readiness reported to
 * the caller through a pipe.
 *
 * Why the second fork: after setsid() the intermediate process leads a new
 * session, and a session leader that opens a terminal acquires it as its
 * controlling terminal. The daemon, its child, is in that session but not
 * its leader, so it never can. The intermediate exits at once and the
 * caller reaps it by its pid (never waitpid(-1)).
 *
 * Why an open-file-description lock (F_OFD_SETLK, Linux 3.15) for the
 * pidfile: a classic fcntl() lock belongs to the process and is dropped
 * when it closes *any* fd of the file, and flock() locks are shared with
 * every fork that inherits the fd; an OFD lock belongs to the one open
 * file description the daemon holds, and goes away only when the daemon
 * does.
 *
 * Messages from the daemon to the caller are {kind, value} records,
 * smaller than PIPE_BUF, so each write is atomic.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collie/daemon.h"
#include "collie/fd.h"
#include "collie/loop.h"
#include "fd-internal.h"
#include "banned.h"

enum { MSG_READY = 1, MSG_ERROR = 2 };

struct msg {
	int32_t kind;
	int32_t value; /* MSG_READY: the daemon's pid; MSG_ERROR: errno */
};

static void report(int fd, int32_t kind, int32_t value)
{
	struct msg m = { kind, value };

	col_fd_write_all(fd, &m, sizeof(m));
}

/* In the daemon: report err to the caller and exit. */
static void __attribute__((noreturn)) daemon_fail(int fd, int err)
{
	report(fd, MSG_ERROR, err);
	_exit(1);
}

static int lock_pidfile(const char *path, int *ret_fd)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char buf[32];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	int n;

	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_OFD_SETLK, &lk) < 0) {
		int r = errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;

		col_close(fd);
		return r;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		int r = -errno;

		col_close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* The daemon's own setup, after the second fork. */
static void become_daemon(const struct col_daemon_opts *o, struct col_daemon *d, int fd)
{
	int null, r;

	if (chdir(o->dir ? o->dir : "/") < 0)
		daemon_fail(fd, errno);
	/* With fds of the caller's closed, /dev/null may open as one of 0..2:
	 * that one is kept (and made to survive exec), not closed. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		daemon_fail(fd, errno);
	for (int i = 0; i < 3; i++)
		if (i == null ? fcntl(i, F_SETFD, 0) < 0 : dup2(null, i) < 0)
			daemon_fail(fd, errno);
	if (null > 2)
		col_close(null);
	d->pid = getpid();
	d->ready_fd = fd;
	d->pidfile_fd = -1;
	d->pidfile = NULL;
	if (o->pidfile) {
		r = lock_pidfile(o->pidfile, &d->pidfile_fd);
		if (r < 0)
			daemon_fail(fd, -r);
		d->pidfile = strdup(o->pidfile);
		if (!d->pidfile)
			daemon_fail(fd, ENOMEM);
	}
}

int col_daemon_start(const struct col_daemon_opts *o, struct col_daemon *d)
{
	int p[2], st, r;
	pid_t mid;

	if (!o || !d || (o->pidfile && !*o->pidfile))
		return -EINVAL;
	/* Above 2: the daemon puts /dev/null on 0..2, which would cut off
	 * its end of the pipe in a caller that runs with those closed. */
	r = col__pipe(p);
	if (r < 0)
		return r;
	mid = fork();
	if (mid < 0) {
		r = -errno;
		col_close(p[0]);
		col_close(p[1]);
		return r;
	}
	if (mid == 0) {
		pid_t pid;

		col_close(p[0]);
		if (setsid() < 0)
			daemon_fail(p[1], errno);
		pid = fork();
		if (pid < 0)
			daemon_fail(p[1], errno);
		if (pid > 0)
			_exit(0);
		become_daemon(o, d, p[1]);
		return 0;
	}
	col_close(p[1]);
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	d->pid = 0;
	d->ready_fd = p[0];
	d->pidfile_fd = -1;
	d->pidfile = NULL;
	return 1;
}

/* poll() for fd until deadline (col_now() time, COL_USEC_INFINITY: none).
 * A signal does not restart the wait from the full timeout: a process
 * with an interval timer would never see it end. */
static int poll_until(int fd, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	for (;;) {
		uint64_t now = col_now(), left = deadline > now ? deadline - now : 0;
		uint64_t ms = (left + COL_USEC_PER_MSEC - 1) / COL_USEC_PER_MSEC;

		r = poll(&pfd, 1,
			 deadline == COL_USEC_INFINITY ? -1 : ms > INT_MAX ? INT_MAX : (int)ms);
		if (r >= 0 || errno != EINTR)
			return r < 0 ? -errno : r;
	}
}

int col_daemon_wait_ready(struct col_daemon *d, uint64_t timeout)
{
	uint64_t now = col_now();
	struct msg m;
	ssize_t n;
	int r;

	if (!d || d->ready_fd < 0)
		return -EINVAL;
	r = poll_until(d->ready_fd, timeout >= COL_USEC_INFINITY - now ? COL_USEC_INFINITY
								    : now + timeout);
	if (r <= 0) {
		r = r == 0 ? -ETIMEDOUT : r;
		goto done;
	}
	n = col_fd_read(d->ready_fd, &m, sizeof(m));
	if (n == (ssize_t)sizeof(m) && m.kind == MSG_READY) {
		d->pid = m.value;
		r = 0;
	} else if (n == (ssize_t)sizeof(m) && m.kind == MSG_ERROR) {
		r = -m.value;
	} else {
		r = n < 0 ? (int)n : -ECHILD;
	}
done:
	d->ready_fd = col_close(d->ready_fd);
	return r;
}

int col_daemon_notify_ready(struct col_daemon *d)
{
	struct msg m = { MSG_READY, 0 };
	ssize_t n;

	if (!d)
		return -EINVAL;
	if (d->ready_fd < 0)
		return 0;
	m.value = (int32_t)getpid();
	n = col_fd_write_all(d->ready_fd, &m, sizeof(m));
	d->ready_fd = col_close(d->ready_fd);
	return n < 0 ? (int)n : 0;
}

void col_daemon_release(struct col_daemon *d)
{
	if (!d)
		return;
	if (d->pidfile_fd >= 0 && d->pidfile)
		unlink(d->pidfile);
	d->pidfile_fd = col_close(d->pidfile_fd);
	d->ready_fd = col_close(d->ready_fd);
	free(d->pidfile);
	d->pidfile = NULL;
}
