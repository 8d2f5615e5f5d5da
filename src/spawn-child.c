/*
 * spawn-child.c - the code that runs between clone() and execve().
 *
 * RULE FOR THIS FILE: everything here runs in a child that shares its
 * parent's memory (clone with CLONE_VM | CLONE_VFORK) or that was forked
 * from a possibly multi-threaded parent. It must be async-signal-safe: no
 * malloc, no stdio, no locks, no library call that is not a thin syscall
 * wrapper, no writes to memory the parent will read (the parent's stack
 * and heap are shared) except ctx->report, no return from
 * col__spawn_child(). A failure is recorded as {step, errno} and the child
 * calls _exit(127): with CLONE_VM | CLONE_VFORK in ctx->report, which the
 * parent reads once it resumes (the child has exec'd or exited by then);
 * after fork() into the close-on-exec error pipe, whose EOF tells the
 * parent that execve succeeded.
 *
 * Credentials are changed with raw syscalls: glibc's setuid()/setgroups()
 * wrappers broadcast the change to every thread of the process (setxid
 * signalling), which in a CLONE_VM child would signal the parent's threads.
 * (x86_64 and the other 64-bit ABIs have 32-bit ids in SYS_setresuid.)
 *
 * Sanitizers: this code is not instrumented (CHILD_CODE). AddressSanitizer
 * would print warnings into the child's already redirected stderr when it
 * calls a noreturn function on a stack it did not make.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "spawn-internal.h"
#include "banned.h"

#define CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

CHILD_CODE static void __attribute__((noreturn))
child_fail(const struct col__spawn_ctx *c, enum col_spawn_step step, int error)
{
	struct col__spawn_report r = { .step = (int32_t)step, .error = error };

	if (c->err_fd < 0) {
		((struct col__spawn_ctx *)c)->report.error = error;
		((struct col__spawn_ctx *)c)->report.step = (int32_t)step;
	} else {
		while (write(c->err_fd, &r, sizeof(r)) < 0 && errno == EINTR)
			;
	}
	_exit(127);
}

/* Every disposition back to SIG_DFL, also SIG_IGN: a supervisor's ignored
 * SIGPIPE must not leak into its services. The mask is still "all blocked"
 * here, so no handler of the parent can run on this stack. */
CHILD_CODE static void reset_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* EINVAL for the signals libc reserves for itself: skip them. */
		sigaction(sig, &sa, NULL);
	}
}

/* The fallback for CLONE_INTO_CGROUP: "0" written to cgroup.procs moves
 * the writer. First of all, while we still hold the caller's credentials
 * (an unprivileged uid may not write there) and the fd. */
CHILD_CODE static void enter_cgroup(const struct col__spawn_ctx *c)
{
	int fd;
	ssize_t n;

	if (c->cgroup_fd < 0)
		return;
	fd = openat(c->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		child_fail(c, COL_SPAWN_STEP_CGROUP, errno);
	while ((n = write(fd, "0", 1)) < 0 && errno == EINTR)
		;
	if (n < 0)
		child_fail(c, COL_SPAWN_STEP_CGROUP, errno);
	close(fd);
}

CHILD_CODE static void set_session(const struct col__spawn_ctx *c)
{
	const struct col_spawn_opts *o = c->opts;

	if ((o->flags & COL_SPAWN_SETSID) && setsid() < 0)
		child_fail(c, COL_SPAWN_STEP_SESSION, errno);
	if ((o->flags & COL_SPAWN_SETPGID) && setpgid(0, o->pgid) < 0)
		child_fail(c, COL_SPAWN_STEP_PGID, errno);
	/* SIGTTOU is blocked, so a background group may take the terminal. */
	if ((o->flags & COL_SPAWN_FOREGROUND) && tcsetpgrp(o->tty_fd, getpgrp()) < 0)
		child_fail(c, COL_SPAWN_STEP_TTY, errno);
}

CHILD_CODE static void set_limits(const struct col__spawn_ctx *c)
{
	const struct col_spawn_opts *o = c->opts;

	for (size_t i = 0; i < o->n_rlimits; i++)
		if (setrlimit(o->rlimits[i].resource, &o->rlimits[i].limit) < 0)
			child_fail(c, COL_SPAWN_STEP_RLIMIT, errno);
	if (o->flags & COL_SPAWN_SET_UMASK)
		umask(o->umask);
}

/* Move fd to a number >= min, close-on-exec. */
CHILD_CODE static int relocate(const struct col__spawn_ctx *c, int fd, int min)
{
	int r = fcntl(fd, F_DUPFD_CLOEXEC, min);

	if (r < 0)
		child_fail(c, COL_SPAWN_STEP_FDS, errno);
	return r;
}

CHILD_CODE static int open_devnull(const struct col__spawn_ctx *c)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		child_fail(c, COL_SPAWN_STEP_FDS, errno);
	return fd;
}

/* An inherited target must be open and must survive exec. */
CHILD_CODE static void keep_inherited(const struct col__spawn_ctx *c, int target)
{
	int flags = fcntl(target, F_GETFD);

	if (flags < 0) {
		int fd = open_devnull(c);

		if (fd != target && (dup2(fd, target) < 0 || close(fd) < 0))
			child_fail(c, COL_SPAWN_STEP_FDS, errno);
		if (fd == target && fcntl(fd, F_SETFD, 0) < 0)
			child_fail(c, COL_SPAWN_STEP_FDS, errno);
	} else if ((flags & FD_CLOEXEC) && fcntl(target, F_SETFD, flags & ~FD_CLOEXEC) < 0) {
		child_fail(c, COL_SPAWN_STEP_FDS, errno);
	}
}

/* One record of getdents64(2), which glibc declares no struct for. */
struct child_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * close_range()'s stand-in before Linux 5.9: close the fds from lo to hi
 * that /proc/self/fd lists as open. Closing them one by one up to the fd
 * limit would cost a spawn a million close() calls where the hard limit is
 * 2^20 (Docker's default), as collie raises its soft limit to the hard
 * one. The listing is read again from the start after a pass that closed
 * something, until one closes nothing, so closing while reading cannot
 * skip an fd. -errno when /proc cannot be read (not mounted, say).
 */
CHILD_CODE static int close_listed_fds(unsigned lo, unsigned hi)
{
	char buf[2048] __attribute__((aligned(8)));
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool closed = true;
	long n = 0;

	if (dir < 0)
		return -errno;
	while (closed && n >= 0) {
		closed = false;
		if (lseek(dir, 0, SEEK_SET) < 0)
			n = -1;
		while (n >= 0 && (n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < n;) {
				const struct child_dirent64 *d = (const void *)(buf + off);
				const char *p = d->d_name;
				unsigned fd = 0;

				off += d->d_reclen;
				if (*p < '0' || *p > '9')
					continue; /* "." and ".." */
				for (; *p >= '0' && *p <= '9'; p++)
					fd = fd * 10 + (unsigned)(*p - '0');
				if (fd >= lo && fd <= hi && (int)fd != dir) {
					close((int)fd);
					closed = true;
				}
			}
		}
	}
	n = n < 0 ? -errno : 0;
	close(dir);
	return (int)n;
}

/* Close every fd from lo to hi inclusive: close_range() (Linux 5.9), or
 * what /proc/self/fd lists, or, without /proc, one by one up to the limit. */
CHILD_CODE static void close_fds(const struct col__spawn_ctx *c, unsigned lo, unsigned hi)
{
	struct rlimit rl;

	if (lo > hi)
		return;
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	if (errno != ENOSYS)
		child_fail(c, COL_SPAWN_STEP_CLOSE_FDS, errno);
	if (close_listed_fds(lo, hi) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		child_fail(c, COL_SPAWN_STEP_CLOSE_FDS, errno);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur - 1 < hi)
		hi = (unsigned)rl.rlim_cur - 1;
	for (unsigned fd = lo; fd <= hi && fd < INT_MAX; fd++)
		close((int)fd);
}

/*
 * Put every target fd in place. First every source is copied above the
 * target range (so moving one never clobbers another's source, whatever
 * numbers the caller used), then each copy is dup2'ed into its slot, and
 * finally everything above the targets is closed except the error pipe.
 */
CHILD_CODE static void arrange_fds(struct col__spawn_ctx *c)
{
	int n = c->n_targets;

	if (c->err_fd >= 0)
		c->err_fd = relocate(c, c->err_fd, n);
	for (int i = 0; i < n; i++) {
		int src = c->fd_src[i];

		c->fd_tmp[i] = -1;
		if (src == COL__SPAWN_FD_DEVNULL) {
			int fd = open_devnull(c);

			c->fd_tmp[i] = relocate(c, fd, n);
			close(fd);
		} else if (src >= 0) {
			c->fd_tmp[i] = relocate(c, src, n);
		}
	}
	for (int i = 0; i < n; i++) {
		if (c->fd_tmp[i] < 0)
			keep_inherited(c, i);
		else if (dup2(c->fd_tmp[i], i) < 0)
			child_fail(c, COL_SPAWN_STEP_FDS, errno);
	}
	if (c->err_fd < 0) {
		close_fds(c, (unsigned)n, ~0U);
		return;
	}
	close_fds(c, (unsigned)n, (unsigned)c->err_fd - 1);
	close_fds(c, (unsigned)c->err_fd + 1, ~0U);
}

CHILD_CODE static void set_credentials(const struct col__spawn_ctx *c)
{
	const struct col_spawn_opts *o = c->opts;
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (o->flags & COL_SPAWN_SET_GROUPS) {
		if (syscall(SYS_setgroups, o->n_groups, o->groups) < 0)
			child_fail(c, COL_SPAWN_STEP_GROUPS, errno);
	} else if ((o->flags & COL_SPAWN_SET_UID) && geteuid() == 0 && o->uid != 0) {
		/* A drop from root that kept root's groups would not be a drop. */
		if (syscall(SYS_setgroups, 0, NULL) < 0)
			child_fail(c, COL_SPAWN_STEP_GROUPS, errno);
	}
	if ((o->flags & COL_SPAWN_SET_GID) && syscall(SYS_setresgid, o->gid, o->gid, o->gid) < 0)
		child_fail(c, COL_SPAWN_STEP_GID, errno);
	if ((o->flags & COL_SPAWN_SET_UID) && syscall(SYS_setresuid, o->uid, o->uid, o->uid) < 0)
		child_fail(c, COL_SPAWN_STEP_UID, errno);

	if (o->flags & COL_SPAWN_SET_GID) {
		if (getresgid(&rg, &eg, &sg) < 0 || rg != o->gid || eg != o->gid || sg != o->gid)
			child_fail(c, COL_SPAWN_STEP_VERIFY, EPERM);
	}
	if (o->flags & COL_SPAWN_SET_UID) {
		if (getresuid(&r, &e, &s) < 0 || r != o->uid || e != o->uid || s != o->uid)
			child_fail(c, COL_SPAWN_STEP_VERIFY, EPERM);
		if (o->uid != 0 && syscall(SYS_setresuid, 0, 0, 0) == 0)
			child_fail(c, COL_SPAWN_STEP_VERIFY, EPERM);
	}
}

CHILD_CODE static void set_process_attrs(const struct col__spawn_ctx *c)
{
	const struct col_spawn_opts *o = c->opts;

	if (o->cwd && chdir(o->cwd) < 0)
		child_fail(c, COL_SPAWN_STEP_CWD, errno);
	if ((o->flags & COL_SPAWN_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		child_fail(c, COL_SPAWN_STEP_NO_NEW_PRIVS, errno);
	/* After the uid change, which clears the parent-death signal. */
	if (o->pdeathsig) {
		if (prctl(PR_SET_PDEATHSIG, (unsigned long)o->pdeathsig, 0L, 0L, 0L) < 0)
			child_fail(c, COL_SPAWN_STEP_PDEATHSIG, errno);
		/* The parent may have died before prctl() took effect: then we
		 * have another. 0: a parent outside our PID namespace (the
		 * caller unshared CLONE_NEWPID), which cannot be told apart
		 * from the one that took its place. */
		pid_t ppid = getppid();

		if (ppid != c->parent_pid && ppid != 0)
			child_fail(c, COL_SPAWN_STEP_PDEATHSIG, ESRCH);
	}
}

/*
 * execve, or the PATH search of execvp without its two surprises: no
 * fallback to /bin/sh on ENOEXEC (collie runs no shell unless asked), and
 * the error reported is the most telling one (EACCES over ENOENT).
 */
CHILD_CODE static void __attribute__((noreturn)) exec_program(const struct col__spawn_ctx *c)
{
	const char *file = c->file, *p = c->search_path;
	char buf[PATH_MAX];
	size_t flen = strlen(file);
	bool seen_eacces = false;

	if (!(c->opts->flags & COL_SPAWN_SEARCH_PATH) || strchr(file, '/')) {
		execve(file, c->opts->argv, c->envp);
		child_fail(c, COL_SPAWN_STEP_EXEC, errno);
	}
	while (p) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);

		if (dlen == 0) {
			buf[0] = '.'; /* an empty PATH element is the current directory */
			dlen = 1;
		} else if (dlen < sizeof(buf)) {
			memcpy(buf, p, dlen);
		}
		p = end ? end + 1 : NULL;
		if (dlen + 1 + flen + 1 > sizeof(buf))
			continue;
		buf[dlen] = '/';
		memcpy(buf + dlen + 1, file, flen + 1);
		execve(buf, c->opts->argv, c->envp);
		if (errno == EACCES)
			seen_eacces = true;
		else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
			 errno != ENODEV && errno != ETIMEDOUT)
			child_fail(c, COL_SPAWN_STEP_EXEC, errno);
	}
	child_fail(c, COL_SPAWN_STEP_EXEC, seen_eacces ? EACCES : ENOENT);
}

CHILD_CODE int col__spawn_child(void *arg)
{
	struct col__spawn_ctx *c = arg;

	reset_signals();
	enter_cgroup(c);
	set_session(c);
	/* Limits after the fds: a lower RLIMIT_NOFILE than the parent's
	 * would make F_DUPFD fail (EMFILE, EINVAL) in a child whose copy of
	 * the fd table is fuller than that limit (a supervisor that raised
	 * its own); before the credentials, which may take away the right
	 * to raise one. */
	arrange_fds(c);
	set_limits(c);
	set_credentials(c);
	set_process_attrs(c);
	if (sigprocmask(SIG_SETMASK, &c->child_mask, NULL) < 0)
		child_fail(c, COL_SPAWN_STEP_SIGMASK, errno);
	exec_program(c);
}
