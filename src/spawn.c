/*
 * spawn.c - the parent side of col_spawn_start().
 *
 * The child is created with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD):
 * no page tables are copied, so the cost does not grow with the parent's
 * memory (fork+exec of a 4 GiB parent copies ~8 MiB of page tables), and
 * the kernel hands us a pidfd atomically with the pid, so there is no
 * window in which the pid could be recycled before we hold a reference.
 * The child runs on a small stack of its own (an array in the parent's
 * frame) while the parent thread is suspended until execve succeeds or
 * the child exits. Its code is not instrumented by sanitizers (see
 * spawn-child.c), so it leaves no shadow state behind on that stack.
 *
 * Before clone every signal is blocked in the calling thread: the child
 * shares our memory, and a handler of ours running on its stack would
 * corrupt both. The child resets every disposition before unblocking.
 *
 * Exec failure: the child writes {step, errno} into a close-on-exec pipe.
 * A successful execve closes it, so the parent reads EOF; a failure gives
 * the record, and the parent reaps the failed child before returning, so
 * the caller never sees it. With the plain-fork fallback the same pipe
 * makes the parent wait for the exec to happen.
 *
 * COL_SPAWN_SET_CGROUP: clone3(CLONE_INTO_CGROUP) (Linux 5.7) creates the
 * child inside the cgroup, so there is no moment at which it, or anything
 * it forks, is outside. glibc has no clone3() wrapper and a CLONE_VM child
 * cannot return into C from a raw syscall (it would run on our frame with
 * its own stack pointer), so a few lines of assembly call the child's
 * function from the new stack, as libc's clone() does; this is written
 * for x86_64 only. Elsewhere, and where the kernel (or a seccomp profile
 * that answers ENOSYS to clone3, as container runtimes do) refuses, the
 * child writes itself into cgroup.procs first thing (spawn-child.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "fd-internal.h"
#include "spawn-internal.h"
#include "banned.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* struct clone_args of <linux/sched.h> up to .cgroup (CLONE_ARGS_SIZE_VER2),
 * spelled out: that header's CLONE_* macros clash with <sched.h>'s. */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
		set_tid_size, cgroup;
};

/* Enough for the child's frames (its code is never instrumented by
 * sanitizers) and the PATH_MAX buffer of the PATH search. */
#define CHILD_STACK_SIZE (32 * 1024)

/* A cap on extra fds, far above any real use, to bound the scratch array. */
#define MAX_EXTRA_FDS 65536

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

extern char **environ;

static const char *const step_names[] = {
	[COL_SPAWN_STEP_NONE] = "spawn",	  [COL_SPAWN_STEP_SIGNALS] = "signal reset",
	[COL_SPAWN_STEP_SESSION] = "setsid",	  [COL_SPAWN_STEP_PGID] = "setpgid",
	[COL_SPAWN_STEP_TTY] = "tcsetpgrp",	  [COL_SPAWN_STEP_RLIMIT] = "setrlimit",
	[COL_SPAWN_STEP_FDS] = "fd setup",	  [COL_SPAWN_STEP_CLOSE_FDS] = "close_range",
	[COL_SPAWN_STEP_GROUPS] = "setgroups",	  [COL_SPAWN_STEP_GID] = "setresgid",
	[COL_SPAWN_STEP_UID] = "setresuid",	  [COL_SPAWN_STEP_VERIFY] = "privilege drop check",
	[COL_SPAWN_STEP_CWD] = "chdir",		  [COL_SPAWN_STEP_NO_NEW_PRIVS] = "no_new_privs",
	[COL_SPAWN_STEP_PDEATHSIG] = "pdeathsig", [COL_SPAWN_STEP_SIGMASK] = "sigprocmask",
	[COL_SPAWN_STEP_EXEC] = "exec",		  [COL_SPAWN_STEP_CGROUP] = "cgroup",
};

const char *col_spawn_step_name(enum col_spawn_step step)
{
	if ((unsigned)step >= COL_ARRAY_SIZE(step_names) || !step_names[step])
		return "spawn";
	return step_names[step];
}

static bool fd_is_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

/* A directory of a cgroup2 mount (O_PATH is enough for both ways in). */
static int check_cgroup_fd(int fd)
{
	struct statfs sfs;
	struct stat st;

	if (fd < 0)
		return -EBADF;
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

static int check_opts(const struct col_spawn_opts *o)
{
	const unsigned all = (COL_SPAWN_SET_CGROUP << 1) - 1;

	if (!o || !o->argv || !o->argv[0] || (o->path && !*o->path) || (!o->path && !*o->argv[0]))
		return -EINVAL;
	if (o->flags & ~all)
		return -EINVAL;
	if ((o->flags & COL_SPAWN_SETSID) && (o->flags & COL_SPAWN_SETPGID))
		return -EINVAL;
	if ((o->flags & COL_SPAWN_SETPGID) && o->pgid < 0)
		return -EINVAL;
	if ((o->flags & COL_SPAWN_FOREGROUND) && !fd_is_open(o->tty_fd))
		return -EBADF;
	if ((o->n_fds && !o->fds) || (o->n_rlimits && !o->rlimits) || (o->n_groups && !o->groups))
		return -EINVAL;
	if (o->n_fds > MAX_EXTRA_FDS)
		return -E2BIG;
	if (o->pdeathsig < 0 || o->pdeathsig >= _NSIG)
		return -EINVAL;
	if (o->flags & COL_SPAWN_SET_CGROUP) {
		int r = check_cgroup_fd(o->cgroup_fd);

		if (r < 0)
			return r;
	}
	for (int i = 0; i < 3; i++) {
		if ((unsigned)o->stdio[i].kind > COL_STDIO_FD)
			return -EINVAL;
		if (o->stdio[i].kind == COL_STDIO_FD && !fd_is_open(o->stdio[i].fd))
			return -EBADF;
	}
	for (size_t i = 0; i < o->n_fds; i++)
		if (!fd_is_open(o->fds[i]))
			return -EBADF;
	return 0;
}

/* The PATH the child searches: the one in its environment, else ours. */
static const char *search_path(char *const *envp)
{
	const char *p;

	if (envp) {
		for (size_t i = 0; envp[i]; i++)
			if (strncmp(envp[i], "PATH=", 5) == 0)
				return envp[i] + 5;
		return DEFAULT_PATH;
	}
	p = getenv("PATH");
	return p ? p : DEFAULT_PATH;
}

/* The parent-side fds of one spawn, released in one place. */
struct spawn_fds {
	int stdio[3][2]; /* pipes for COL_STDIO_PIPE: [0] read end, [1] write end */
	int err[2];	 /* the exec-error pipe */
	int *slots;	 /* fd_src and fd_tmp when they do not fit inline */
};

static void spawn_fds_release(struct spawn_fds *f, bool keep_parent_ends)
{
	for (int i = 0; i < 3; i++) {
		int parent_end = i == 0 ? 1 : 0;

		f->stdio[i][!parent_end] = col_close(f->stdio[i][!parent_end]);
		if (!keep_parent_ends)
			f->stdio[i][parent_end] = col_close(f->stdio[i][parent_end]);
	}
	f->err[0] = col_close(f->err[0]);
	f->err[1] = col_close(f->err[1]);
	free(f->slots);
	f->slots = NULL;
}

/* Create the pipes and fill ctx's fd table: target i <- source fd. */
static int prepare_fds(const struct col_spawn_opts *o, struct col__spawn_ctx *ctx,
		       struct spawn_fds *f, int *inline_slots)
{
	int n = 3 + (int)o->n_fds, r;

	if (n > COL__SPAWN_INLINE_FDS) {
		f->slots = calloc((size_t)n * 2, sizeof(int));
		if (!f->slots)
			return -ENOMEM;
		inline_slots = f->slots;
	}
	ctx->fd_src = inline_slots;
	ctx->fd_tmp = inline_slots + n;
	ctx->n_targets = n;
	for (int i = 0; i < 3; i++) {
		switch (o->stdio[i].kind) {
		case COL_STDIO_INHERIT:
			ctx->fd_src[i] = COL__SPAWN_FD_INHERIT;
			break;
		case COL_STDIO_NULL:
			ctx->fd_src[i] = COL__SPAWN_FD_DEVNULL;
			break;
		case COL_STDIO_FD:
			ctx->fd_src[i] = o->stdio[i].fd;
			break;
		case COL_STDIO_PIPE:
			/* Above 2: a closed fd 0..2 of ours is /dev/null to an
			 * inheriting child, not one of these pipes. */
			r = col__pipe(f->stdio[i]);
			if (r < 0)
				return r;
			ctx->fd_src[i] = f->stdio[i][i == 0 ? 0 : 1];
			break;
		}
	}
	for (size_t i = 0; i < o->n_fds; i++)
		ctx->fd_src[3 + i] = o->fds[i];
	ctx->err_fd = -1;
	if (!(o->flags & COL_SPAWN_USE_FORK))
		return 0; /* the child reports into ctx->report */
	r = col__pipe(f->err);
	if (r < 0)
		return r;
	ctx->err_fd = f->err[1];
	return 0;
}

static void prepare_mask(const struct col_spawn_opts *o, const sigset_t *caller_mask, sigset_t *ret)
{
	if (o->sigmask)
		*ret = *o->sigmask;
	else if (o->flags & COL_SPAWN_KEEP_SIGMASK)
		*ret = *caller_mask;
	else
		sigemptyset(ret);
}

static pid_t pidfd_open_pid(pid_t pid, int *ret_pidfd)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return -errno;
	*ret_pidfd = fd;
	return pid;
}

/*
 * The pidfd of a child just created without one (plain fork, or clone
 * before Linux 5.2). When none can be had (EMFILE, say) the spawn fails,
 * and then must not leave the child behind: it is killed and reaped by
 * its pid, which cannot have been recycled while it is our unreaped child.
 */
static pid_t pidfd_of_new_child(pid_t pid, int *ret_pidfd)
{
	pid_t r = pidfd_open_pid(pid, ret_pidfd);

	if (r < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return r;
}

#if defined(__x86_64__)
/*
 * clone3(args) whose child calls fn(arg) on the stack args gives and
 * exits with its value; returns the child's pid or -errno in the parent.
 * Everything the child needs is in registers the syscall keeps (it loses
 * only rax, rcx and r11); the call leaves the new stack 16-byte aligned
 * as the ABI wants (the kernel starts it at stack + stack_size).
 */
static long clone3_call(struct clone3_args *args, int (*fn)(void *), void *arg)
{
	long ret;

	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov %[arg], %%rdi\n\t"
			 "xor %%ebp, %%ebp\n\t" /* after: arg may be in rbp */
			 "call *%[fn]\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov %[nr_exit], %%eax\n\t"
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "0"((long)SYS_clone3), "D"(args),
			   "S"(sizeof(*args)), [fn] "r"(fn), [arg] "r"(arg), [nr_exit] "i"(SYS_exit)
			 : "rcx", "r11", "memory");
	return ret;
}

/* clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_INTO_CGROUP). */
static pid_t clone_into_cgroup(struct col__spawn_ctx *ctx, char *stack, size_t size, int cgroup_fd,
			       int *ret_pidfd)
{
	int pidfd = -1;
	struct clone3_args a = {
		.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_INTO_CGROUP,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)stack,
		.stack_size = size,
		.cgroup = (uint64_t)cgroup_fd,
	};
	long pid = clone3_call(&a, col__spawn_child, ctx);

	if (pid < 0)
		return (pid_t)pid;
	*ret_pidfd = pidfd;
	return (pid_t)pid;
}
#else
static pid_t clone_into_cgroup(struct col__spawn_ctx *ctx, char *stack, size_t size, int cgroup_fd,
			       int *ret_pidfd)
{
	return -ENOSYS;
}
#endif

/*
 * Create the child. Returns its pid (> 0) with *ret_pidfd set, or -errno
 * (with *ret_step set when the cgroup refused it). Runs with every signal
 * blocked. The child's stack is an array in this frame, as in musl: the
 * parent does not touch it while suspended, and it saves an mmap and
 * munmap per spawn.
 */
static pid_t create_child(struct col__spawn_ctx *ctx, const struct col_spawn_opts *o,
			  int *ret_pidfd, enum col_spawn_step *ret_step)
{
	char stack[CHILD_STACK_SIZE] __attribute__((aligned(16)));
	bool cgroup = o->flags & COL_SPAWN_SET_CGROUP;
	pid_t pid;
	int pidfd = -1;

	ctx->cgroup_fd = cgroup ? o->cgroup_fd : -1;
	if (o->flags & COL_SPAWN_USE_FORK) {
		pid = fork();
		if (pid == 0)
			col__spawn_child(ctx);
		return pid < 0 ? -errno : pidfd_of_new_child(pid, ret_pidfd);
	}
	if (cgroup) {
		ctx->cgroup_fd = -1; /* the kernel puts it there */
		pid = clone_into_cgroup(ctx, stack, sizeof(stack), o->cgroup_fd, ret_pidfd);
		if (pid > 0)
			return pid;
		/* No clone3 (ENOSYS), no .cgroup in clone_args (E2BIG, 5.3 to
		 * 5.6) or no CLONE_INTO_CGROUP (EINVAL): the child enters it. */
		if (pid != -ENOSYS && pid != -E2BIG && pid != -EINVAL) {
			*ret_step = COL_SPAWN_STEP_CGROUP;
			return pid;
		}
		ctx->cgroup_fd = o->cgroup_fd;
	}
	pid = clone(col__spawn_child, stack + sizeof(stack),
		    CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, ctx, &pidfd);
	if (pid < 0 && errno == EINVAL) {
		/* Before Linux 5.2 there is no CLONE_PIDFD: open it after. */
		pid = clone(col__spawn_child, stack + sizeof(stack),
			    CLONE_VM | CLONE_VFORK | SIGCHLD, ctx);
		if (pid > 0)
			return pidfd_of_new_child(pid, ret_pidfd);
	}
	if (pid < 0)
		return -errno; /* of clone() */
	*ret_pidfd = pidfd;
	return pid;
}

/* Read the child's report: 0 when it exec'd (EOF), else fill *r. */
static int read_report(int fd, struct col__spawn_report *r)
{
	ssize_t n = col_fd_read(fd, r, sizeof(*r));

	if (n < 0)
		return (int)n;
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*r))
		return -EIO;
	return 1;
}

static void fill_error(struct col_spawn_error *e, enum col_spawn_step step, int err)
{
	if (e) {
		e->step = step;
		e->error = err;
	}
}

int col_spawn_start(const struct col_spawn_opts *o, struct col_child *ret_child,
		    struct col_spawn_error *ret_err)
{
	struct spawn_fds f = { .stdio = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, .err = { -1, -1 } };
	struct col__spawn_ctx ctx;
	struct col__spawn_report report;
	int inline_slots[COL__SPAWN_INLINE_FDS * 2];
	sigset_t all, old;
	enum col_spawn_step parent_step = COL_SPAWN_STEP_NONE;
	int r, cancel_state, pidfd = -1;
	pid_t pid;

	r = check_opts(o);
	if (r < 0 || !ret_child)
		goto fail_parent;
	memset(&ctx, 0, sizeof(ctx));
	ctx.opts = o;
	ctx.file = o->path ? o->path : o->argv[0];
	ctx.envp = o->envp ? o->envp : environ;
	ctx.search_path = search_path(o->envp);
	ctx.parent_pid = getpid();
	r = prepare_fds(o, &ctx, &f, inline_slots);
	if (r < 0)
		goto fail_parent;

	sigfillset(&all);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	prepare_mask(o, &old, &ctx.child_mask);
	pid = create_child(&ctx, o, &pidfd, &parent_step);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_setcancelstate(cancel_state, NULL);
	if (pid < 0) {
		r = (int)pid;
		fill_error(ret_err, parent_step, -r);
		goto fail;
	}

	if (o->flags & COL_SPAWN_USE_FORK) {
		f.err[1] = col_close(f.err[1]);
		r = read_report(f.err[0], &report);
	} else {
		/* CLONE_VFORK: the child has exec'd or exited by now. */
		report.step = ctx.report.step;
		report.error = ctx.report.error;
		r = report.error ? 1 : 0;
	}
	if (r != 0) {
		/* The child failed before or at exec and has exited: reap it. */
		col_reap_pidfd(pidfd, 0, NULL);
		pidfd = col_close(pidfd);
		if (r < 0)
			goto fail_parent;
		r = -report.error;
		fill_error(ret_err, (enum col_spawn_step)report.step, report.error);
		goto fail;
	}

	ret_child->pid = pid;
	ret_child->pidfd = pidfd;
	for (int i = 0; i < 3; i++)
		ret_child->stdio[i] = f.stdio[i][i == 0 ? 1 : 0];
	spawn_fds_release(&f, true);
	return 0;

fail_parent:
	if (r == 0)
		r = -EINVAL;
	fill_error(ret_err, COL_SPAWN_STEP_NONE, -r);
fail:
	spawn_fds_release(&f, false);
	return r;
}

void col_child_release(struct col_child *child)
{
	if (!child)
		return;
	child->pidfd = col_close(child->pidfd);
	for (int i = 0; i < 3; i++)
		child->stdio[i] = col_close(child->stdio[i]);
}

int col_pidfd_open(pid_t pid, int *ret_pidfd)
{
	pid_t r;

	if (pid <= 0 || !ret_pidfd)
		return -EINVAL;
	r = pidfd_open_pid(pid, ret_pidfd);
	return r < 0 ? (int)r : 0;
}

int col_pidfd_signal(int pidfd, int signo)
{
	if (pidfd < 0)
		return -EBADF;
	if (syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0) < 0)
		return -errno;
	return 0;
}

int col_child_signal(const struct col_child *child, int signo)
{
	if (!child)
		return -EINVAL;
	return col_pidfd_signal(child->pidfd, signo);
}
