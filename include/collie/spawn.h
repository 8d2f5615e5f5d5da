/*
 * collie/spawn.h - start a program, exactly as described, fast.
 *
 * Recipe:
 *   struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
 *   char *argv[] = { "sort", "-r", NULL };
 *   struct col_child c;
 *   struct col_spawn_error err;
 *
 *   o.argv = argv;
 *   o.flags = COL_SPAWN_SEARCH_PATH | COL_SPAWN_SETPGID;
 *   o.stdio[1].kind = COL_STDIO_PIPE;          child's stdout -> c.stdio[1]
 *   r = col_spawn_start(&o, &c, &err);
 *   if (r < 0)                                  r == -err.error
 *           fprintf(stderr, "%s: %s\n", col_spawn_step_name(err.step),
 *                   strerror(-r));
 *   ... read c.stdio[1], wait on c.pidfd (col_reap_pidfd / col_loop) ...
 *   col_child_release(&c);                      closes pidfd and pipe ends
 *
 * How it works: the child is made with clone(CLONE_VM | CLONE_VFORK), as
 * glibc's and musl's posix_spawn do, so a parent holding gigabytes pays no
 * page-table copy; the parent is suspended until the child has exec'd or
 * failed. Everything between clone and exec is async-signal-safe (see
 * src/spawn-child.c). A failure in the child -- chdir, setuid, the exec
 * itself -- is reported back through a close-on-exec pipe, so
 * col_spawn_start() returns the child's errno synchronously and the failed
 * child has already been reaped: callers never see a bare exit 127.
 *
 * Guarantees about the child:
 *  - It holds exactly fds 0, 1, 2 (as the stdio options say) and the
 *    extra fds in opts.fds as 3, 4, ... in order; every other fd is closed
 *    (close_range; before Linux 5.9 those /proc/self/fd lists), including
 *    fds another thread opened without O_CLOEXEC at the same moment.
 *  - Every signal disposition is SIG_DFL (also those the parent ignores;
 *    except the signals libc reserves for its threads, 32 and 33 with
 *    glibc, which libc does not let anyone change) and its signal mask is
 *    empty unless opts.sigmask or COL_SPAWN_KEEP_SIGMASK says otherwise.
 *  - opts.rlimits are set once its fds are arranged and the others closed
 *    (so an RLIMIT_NOFILE below the number of fds the parent holds works)
 *    and before the privilege drop (so root may still raise a hard limit).
 *  - When the caller asks for uid/gid, supplementary groups are set first,
 *    then the gid, then the uid, and the drop is verified (getresuid /
 *    getresgid, and regaining uid 0 must fail); any failure aborts the spawn.
 *  - With COL_SPAWN_SET_CGROUP it is a member of the cgroup opts.cgroup_fd
 *    (a directory of a cgroup2 mount, opened O_PATH or O_RDONLY) before it
 *    runs a single instruction of the program, so nothing it forks can
 *    escape the cgroup. Since Linux 5.7 the kernel puts it there as it
 *    creates it (clone3 with CLONE_INTO_CGROUP); where clone3 or that flag
 *    is missing (older kernels, seccomp profiles that refuse clone3) the
 *    child writes itself into cgroup.procs before anything else. The
 *    usual cgroup v2 rules apply: writing cgroup.procs of the target and
 *    of the common ancestor must be allowed, and the target may not have
 *    controllers enabled in cgroup.subtree_control (-EBUSY).
 */
#ifndef COLLIE_SPAWN_H
#define COLLIE_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "collie/common.h"

/* What the child gets as one of fds 0, 1, 2. */
enum col_stdio_kind {
	COL_STDIO_INHERIT = 0, /* the parent's fd of the same number (or /dev/null if closed) */
	COL_STDIO_NULL,	       /* /dev/null, opened read-write */
	COL_STDIO_PIPE,	       /* a new pipe; the parent's end is in col_child.stdio[i] */
	COL_STDIO_FD,	       /* the given fd (borrowed; duplicated into place) */
};

struct col_stdio {
	enum col_stdio_kind kind; /* see enum col_stdio_kind */
	int fd;			  /* for COL_STDIO_FD: the fd to use (borrowed) */
};

/* One resource limit to set in the child (setrlimit). */
struct col_rlimit {
	int resource;	     /* RLIMIT_NOFILE, RLIMIT_NPROC, ... */
	struct rlimit limit; /* soft and hard limit */
};

enum col_spawn_flags {
	COL_SPAWN_SEARCH_PATH = 1 << 0,	 /* look argv[0]/path up in PATH when it has no '/' */
	COL_SPAWN_SETPGID = 1 << 1,	 /* setpgid(0, opts.pgid): 0 = new group led by the child */
	COL_SPAWN_SETSID = 1 << 2,	 /* new session (and process group) led by the child */
	COL_SPAWN_SET_UMASK = 1 << 3,	 /* umask(opts.umask) */
	COL_SPAWN_SET_UID = 1 << 4,	 /* drop to opts.uid (real, effective, saved) */
	COL_SPAWN_SET_GID = 1 << 5,	 /* switch to opts.gid (real, effective, saved) */
	COL_SPAWN_SET_GROUPS = 1 << 6,	 /* setgroups(opts.n_groups, opts.groups) */
	COL_SPAWN_NO_NEW_PRIVS = 1 << 7, /* prctl(PR_SET_NO_NEW_PRIVS) */
	COL_SPAWN_KEEP_SIGMASK = 1 << 8, /* child keeps the calling thread's signal mask */
	COL_SPAWN_FOREGROUND = 1 << 9,	 /* make the child's group the foreground of opts.tty_fd */
	COL_SPAWN_USE_FORK = 1 << 10, /* use plain fork() instead of clone(CLONE_VM|CLONE_VFORK) */
	COL_SPAWN_SET_CGROUP = 1 << 11, /* start in the cgroup v2 directory opts.cgroup_fd */
};

/* Where a child's start failed; reported in struct col_spawn_error. */
enum col_spawn_step {
	COL_SPAWN_STEP_NONE = 0,     /* no failure / failure in the parent */
	COL_SPAWN_STEP_SIGNALS,	     /* resetting signal dispositions */
	COL_SPAWN_STEP_SESSION,	     /* setsid */
	COL_SPAWN_STEP_PGID,	     /* setpgid */
	COL_SPAWN_STEP_TTY,	     /* tcsetpgrp on opts.tty_fd */
	COL_SPAWN_STEP_RLIMIT,	     /* setrlimit */
	COL_SPAWN_STEP_FDS,	     /* arranging fds 0..n (dup, open /dev/null) */
	COL_SPAWN_STEP_CLOSE_FDS,    /* closing every other fd */
	COL_SPAWN_STEP_GROUPS,	     /* setgroups */
	COL_SPAWN_STEP_GID,	     /* setresgid */
	COL_SPAWN_STEP_UID,	     /* setresuid */
	COL_SPAWN_STEP_VERIFY,	     /* the privilege drop did not hold */
	COL_SPAWN_STEP_CWD,	     /* chdir */
	COL_SPAWN_STEP_NO_NEW_PRIVS, /* prctl(PR_SET_NO_NEW_PRIVS) */
	COL_SPAWN_STEP_PDEATHSIG,    /* prctl(PR_SET_PDEATHSIG), or the parent already died */
	COL_SPAWN_STEP_SIGMASK,	     /* setting the signal mask */
	COL_SPAWN_STEP_EXEC,	     /* execve itself (ENOENT, EACCES, ENOEXEC, ...) */
	COL_SPAWN_STEP_CGROUP,	     /* entering opts.cgroup_fd (EBUSY, EACCES, ENODEV, ...) */
};

/* Why col_spawn_start() failed. */
struct col_spawn_error {
	enum col_spawn_step step; /* which step; COL_SPAWN_STEP_NONE when the parent failed */
	int error;		  /* the positive errno (also returned negated) */
};

/* Everything about the program to start. Initialise with COL_SPAWN_OPTS_INIT. */
struct col_spawn_opts {
	const char *path;	   /* program to execute; NULL = argv[0] */
	char *const *argv;	   /* NULL-terminated, argv[0] required (borrowed) */
	char *const *envp;	   /* NULL-terminated environment; NULL = inherit environ */
	const char *cwd;	   /* directory to chdir to (after the uid change); NULL = stay */
	struct col_stdio stdio[3]; /* fds 0, 1, 2 */
	const int *fds;		   /* extra fds passed as 3, 4, ... in order (borrowed) */
	size_t n_fds;		   /* number of entries in fds */
	pid_t pgid;		   /* with COL_SPAWN_SETPGID: group to join, 0 = new */
	int tty_fd;		   /* with COL_SPAWN_FOREGROUND: the terminal */
	mode_t umask;		   /* with COL_SPAWN_SET_UMASK */
	const sigset_t *sigmask;   /* mask for the child; NULL = empty (see KEEP_SIGMASK) */
	const struct col_rlimit *rlimits; /* limits to set (borrowed) */
	size_t n_rlimits;		  /* number of entries in rlimits */
	uid_t uid;			  /* with COL_SPAWN_SET_UID */
	gid_t gid;			  /* with COL_SPAWN_SET_GID */
	const gid_t *groups; /* with COL_SPAWN_SET_GROUPS (borrowed; may be NULL if n_groups 0) */
	size_t n_groups;     /* number of supplementary groups */
	/* The signal the child gets when the spawning thread dies; 0 = none.
	 * A parent that died before the child set it fails the spawn
	 * (COL_SPAWN_STEP_PDEATHSIG, ESRCH), unless the child is in a PID
	 * namespace the parent is not in (the caller unshared CLONE_NEWPID),
	 * where its parent cannot be seen to change. */
	int pdeathsig;
	int cgroup_fd;	     /* with COL_SPAWN_SET_CGROUP: a cgroup2 directory (borrowed) */
	unsigned flags;	     /* enum col_spawn_flags */
};

#define COL_SPAWN_OPTS_INIT                                  \
	{                                                    \
		.stdio = { { COL_STDIO_INHERIT, -1 },        \
			   { COL_STDIO_INHERIT, -1 },        \
			   { COL_STDIO_INHERIT, -1 } },      \
		.tty_fd = -1, .umask = 022, .cgroup_fd = -1, \
	}

/* A started child. Release with col_child_release(). */
struct col_child {
	pid_t pid;    /* its pid: for display and for process-group ids only */
	int pidfd;    /* owned: the process, safe to signal and wait on */
	int stdio[3]; /* owned: parent's end of each COL_STDIO_PIPE, else -1 */
};

#define COL_CHILD_INIT                                         \
	{                                                      \
		.pid = 0, .pidfd = -1, .stdio = { -1, -1, -1 } \
	}

/*
 * Start a program. opts and everything it points to are borrowed and may
 * be freed once this returns. On success returns 0 and fills *ret_child
 * (its pidfd and pipe ends are owned by the caller). On failure returns
 * -errno, fills *ret_err when not NULL, leaves no child, no zombie and no
 * fd behind:
 *   -EINVAL  argv NULL or empty, a bad stdio kind or fd, a bad flag combination
 *   -EBADF   an fd in stdio or fds that is not open
 *   -E2BIG   more extra fds than the child may hold
 *   -EBADF   with COL_SPAWN_SET_CGROUP: cgroup_fd is not open
 *   -ENOTDIR with COL_SPAWN_SET_CGROUP: cgroup_fd is not a directory of a
 *            cgroup2 file system
 *   -ENOMEM, -EMFILE, -EAGAIN  resources in the parent (pipe, clone)
 *   or the errno of the step in the child that failed (ret_err->step).
 * Thread-safe. Not async-signal-safe. Blocks all signals in the calling
 * thread for the few microseconds between clone and exec.
 */
COL_API int col_spawn_start(const struct col_spawn_opts *opts, struct col_child *ret_child,
			    struct col_spawn_error *ret_err);

/* Close the child's pidfd and pipe ends; the process itself is untouched.
 * Takes NULL and a half-filled (COL_CHILD_INIT) struct. */
COL_API void col_child_release(struct col_child *child);

/*
 * Send a signal through the pidfd (pidfd_send_signal), never by pid.
 * Returns 0, -ESRCH when the process has exited (even if not yet reaped),
 * or -errno.
 */
COL_API int col_child_signal(const struct col_child *child, int signo);

/* A short name for a step, "exec", "chdir", "setresuid", ... */
COL_API const char *col_spawn_step_name(enum col_spawn_step step);

/*
 * Open a pidfd for pid (pidfd_open(2), close-on-exec). Race-free only for
 * a pid that cannot have been recycled: this process's own unreaped child
 * (see col_reap_children()). Returns 0 and *ret_pidfd (owned by the
 * caller), -ESRCH when no such process exists, or -errno.
 */
COL_API int col_pidfd_open(pid_t pid, int *ret_pidfd);

/*
 * Signal a process by its pidfd (pidfd_send_signal(2)). pidfd is borrowed.
 * Returns 0, -ESRCH when it has exited, or -errno.
 */
COL_API int col_pidfd_signal(int pidfd, int signo);

#endif
