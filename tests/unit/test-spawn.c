/*
 * test-spawn.c - col_spawn_start() with real processes: exec errors,
 * exact fd inheritance, process attributes, credentials, and volume.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "check.h"

TestSuite(spawn, .timeout = 60);

/*
 * Run the helper with the given steps (NULL-terminated) under opts (its
 * argv and stdout are filled in here), capture stdout into out, reap it,
 * and return its exit code.
 */
static int run_helper(struct col_spawn_opts *o, char *out, size_t len, ...)
{
	char *argv[32];
	struct col_child c = COL_CHILD_INIT;
	struct col_status st;
	struct col_spawn_error err;
	va_list ap;
	int n = 0, r;

	argv[n++] = (char *)helper_path();
	va_start(ap, len);
	while ((argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	o->argv = argv;
	o->stdio[1].kind = COL_STDIO_PIPE;
	r = col_spawn_start(o, &c, &err);
	cr_assert_eq(r, 0, "spawn failed at %s: %s", col_spawn_step_name(err.step), strerror(-r));
	read_all(c.stdio[1], out, len);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	col_child_release(&c);
	cr_assert_eq(st.kind, COL_STATUS_EXITED, "helper did not exit normally");
	return st.code;
}

TEST_NOLEAK(spawn, missing_program_reports_enoent_synchronously)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "/nonexistent/program", NULL };
	struct col_child c = COL_CHILD_INIT;
	struct col_spawn_error err;

	o.argv = argv;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -ENOENT);
	cr_assert_eq(err.step, COL_SPAWN_STEP_EXEC);
	cr_assert_eq(err.error, ENOENT);
	cr_assert_eq(c.pidfd, -1, "output written on failure");
	cr_assert_str_eq(col_spawn_step_name(err.step), "exec");

	/* The fork fallback reports through its pipe instead of memory. */
	o.flags = COL_SPAWN_USE_FORK;
	o.cwd = "/nonexistent-dir";
	cr_assert_eq(col_spawn_start(&o, &c, &err), -ENOENT);
	cr_assert_eq(err.step, COL_SPAWN_STEP_CWD);
	o.cwd = NULL;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -ENOENT);
	cr_assert_eq(err.step, COL_SPAWN_STEP_EXEC);
	cr_assert_eq(count_zombies_of(getpid()), 0);
}

TEST_NOLEAK(spawn, missing_program_in_path_reports_enoent)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "collie-no-such-program-anywhere", NULL };
	struct col_child c;
	struct col_spawn_error err;

	o.argv = argv;
	o.flags = COL_SPAWN_SEARCH_PATH;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -ENOENT);
	cr_assert_eq(err.step, COL_SPAWN_STEP_EXEC);
}

static void make_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	cr_assert_geq(fd, 0);
	cr_assert_eq(col_fd_write_all(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

TEST_NOLEAK(spawn, non_executable_file_reports_eacces)
{
	char dir[] = "/tmp/collie-spawn-XXXXXX", path[64];
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { path, NULL };
	struct col_child c;
	struct col_spawn_error err;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/prog", dir);
	make_file(path, "#!/bin/sh\nexit 0\n", 0644);
	o.argv = argv;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EACCES);
	cr_assert_eq(err.step, COL_SPAWN_STEP_EXEC);
	unlink(path);
	rmdir(dir);
}

TEST_NOLEAK(spawn, path_search_prefers_eacces_and_never_runs_a_shell)
{
	char dir[] = "/tmp/collie-spawn-XXXXXX", path[64], env_path[128];
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "prog", NULL };
	char *envp[] = { env_path, NULL };
	struct col_child c;
	struct col_spawn_error err;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/prog", dir);
	snprintf(env_path, sizeof(env_path), "PATH=/nonexistent:%s:/also-not-there", dir);
	o.argv = argv;
	o.envp = envp;
	o.flags = COL_SPAWN_SEARCH_PATH;
	make_file(path, "echo this would need a shell\n", 0644);
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EACCES);
	/* Executable but no #! and not ELF: execvp would run /bin/sh; we do not. */
	make_file(path, "echo this would need a shell\n", 0755);
	cr_assert_eq(col_spawn_start(&o, &c, &err), -ENOEXEC);
	cr_assert_eq(err.step, COL_SPAWN_STEP_EXEC);
	unlink(path);
	rmdir(dir);
}

TEST_NOLEAK(spawn, path_search_uses_the_child_environment)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "true", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct col_child c;
	struct col_status st;

	o.argv = argv;
	o.envp = envp;
	o.flags = COL_SPAWN_SEARCH_PATH;
	cr_assert_eq(col_spawn_start(&o, &c, NULL), 0);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	cr_assert_eq(st.kind, COL_STATUS_EXITED);
	cr_assert_eq(st.code, 0);
	col_child_release(&c);
}

/* Open n fds on /dev/null WITHOUT close-on-exec, as careless code would. */
static void open_leaky_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		cr_assert_geq(fds[i], 0);
		cr_assert_eq(col_fd_set_cloexec(fds[i], false), 0);
	}
}

TEST_NOLEAK(spawn, child_holds_only_stdio_and_passed_fds)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	int leaky[100], passed[2];
	char out[256];

	open_leaky_fds(leaky, 100);
	passed[0] = leaky[10];
	passed[1] = leaky[77];
	o.fds = passed;
	o.n_fds = 2;
	cr_assert_eq(run_helper(&o, out, sizeof(out), "print-fds", NULL), 0);
	cr_assert_str_eq(out, "0 1 2 3 4\n");
	for (int i = 0; i < 100; i++)
		close(leaky[i]);
}

TEST_NOLEAK(spawn, child_holds_only_stdio_with_plain_fork_too)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	int leaky[100];
	char out[256];

	open_leaky_fds(leaky, 100);
	o.flags = COL_SPAWN_USE_FORK;
	cr_assert_eq(run_helper(&o, out, sizeof(out), "print-fds", NULL), 0);
	cr_assert_str_eq(out, "0 1 2\n");
	for (int i = 0; i < 100; i++)
		close(leaky[i]);
}

/*
 * Before Linux 5.9 there is no close_range(): a seccomp filter makes it
 * fail with ENOSYS as such a kernel does, and kills the process that
 * calls close() on an fd above 6000. So the child must find its fds in
 * /proc/self/fd (the one at 5000 among them), not close every number up
 * to the fd limit, the hard one here, 8192 or more (a loop would reach 6001).
 */
TEST_NOLEAK(spawn, without_close_range_only_open_fds_are_closed)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct rlimit rl;
	scmp_filter_ctx sc;
	int leaky[20], high, passed[1];
	char out[256];

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 8192) {
		rl.rlim_max = 8192;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			cr_skip_test("the hard fd limit is below 8192 and cannot be raised");
	}
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	open_leaky_fds(leaky, 20);
	high = dup2(leaky[0], 5000);
	cr_assert_eq(high, 5000);
	passed[0] = leaky[5];
	o.fds = passed;
	o.n_fds = 1;

	cr_assert_not_null(sc = seccomp_init(SCMP_ACT_ALLOW));
	cr_assert_eq(seccomp_rule_add(sc, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(close_range), 0), 0);
	cr_assert_eq(seccomp_rule_add(sc, SCMP_ACT_KILL_PROCESS, SCMP_SYS(close), 1,
				      SCMP_A0(SCMP_CMP_GT, 6000)), 0);
	cr_assert_eq(seccomp_load(sc), 0);
	seccomp_release(sc);
	cr_assert_eq(syscall(SYS_close_range, 5000, 5000, 0), -1);
	cr_assert_eq(errno, ENOSYS, "the filter did not take close_range() away");

	cr_assert_eq(run_helper(&o, out, sizeof(out), "print-fds", NULL), 0);
	cr_assert_str_eq(out, "0 1 2 3\n");
	o.flags = COL_SPAWN_USE_FORK;
	cr_assert_eq(run_helper(&o, out, sizeof(out), "print-fds", NULL), 0);
	cr_assert_str_eq(out, "0 1 2 3\n");
	close(high);
	for (int i = 0; i < 20; i++)
		close(leaky[i]);
}

TEST_NOLEAK(spawn, passed_fds_are_numbered_in_order_even_when_numbers_cross)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	int a[2], b[2], passed[2];
	char out[64], buf[64];

	/* Put the write ends at 4 and 3 swapped: A at high, B at low. */
	cr_assert_eq(pipe2(a, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(b, O_CLOEXEC), 0);
	passed[0] = b[1]; /* child's fd 3 */
	passed[1] = a[1]; /* child's fd 4 */
	o.fds = passed;
	o.n_fds = 2;
	o.stdio[2].kind = COL_STDIO_FD;
	o.stdio[2].fd = a[1]; /* stderr is A too */
	cr_assert_eq(run_helper(&o, out, sizeof(out), "write-ready", "3", "echo-err", "via-stderr",
				NULL),
		     0);
	close(a[1]);
	close(b[1]);
	read_line(b[0], buf, sizeof(buf));
	cr_assert_str_eq(buf, "ready\n");
	read_line(a[0], buf, sizeof(buf));
	cr_assert_str_eq(buf, "via-stderr\n");
	close(a[0]);
	close(b[0]);
}

TEST_NOLEAK(spawn, stdio_targets_may_swap_numbers)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	int out_pipe[2], err_pipe[2], saved1, saved2;
	char *argv[4] = { (char *)helper_path(), "echo", "to-stdout", NULL };
	struct col_child c;
	struct col_status st;
	char buf[64];

	/* Make our own fds 1 and 2 two pipes, then ask the child for 1<->2. */
	cr_assert_eq(pipe2(out_pipe, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err_pipe, O_CLOEXEC), 0);
	saved1 = fcntl(1, F_DUPFD_CLOEXEC, 10);
	saved2 = fcntl(2, F_DUPFD_CLOEXEC, 10);
	dup2(out_pipe[1], 1);
	dup2(err_pipe[1], 2);
	o.argv = argv;
	o.stdio[1] = (struct col_stdio){ COL_STDIO_FD, 2 };
	o.stdio[2] = (struct col_stdio){ COL_STDIO_FD, 1 };
	cr_assert_eq(col_spawn_start(&o, &c, NULL), 0);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(out_pipe[1]);
	close(err_pipe[1]);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	col_child_release(&c);
	read_all(err_pipe[0], buf, sizeof(buf));
	cr_assert_str_eq(buf, "to-stdout\n", "the child's stdout did not go to our fd 2");
	read_all(out_pipe[0], buf, sizeof(buf));
	cr_assert_str_eq(buf, "");
	close(out_pipe[0]);
	close(err_pipe[0]);
}

static volatile int stop_opening;

static void *open_fds_forever(void *arg)
{
	(void)arg;
	while (!stop_opening) {
		/* Deliberately not O_CLOEXEC: the race spawn must win. */
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

TEST_NOLEAK(spawn, fds_opened_by_another_thread_during_spawn_do_not_leak)
{
	pthread_t t;
	char out[128];

	stop_opening = 0;
	cr_assert_eq(pthread_create(&t, NULL, open_fds_forever, NULL), 0);
	for (int i = 0; i < 200; i++) {
		struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;

		run_helper(&o, out, sizeof(out), "print-fds", NULL);
		cr_assert_str_eq(out, "0 1 2\n", "round %d: child saw %s", i, out);
	}
	stop_opening = 1;
	pthread_join(t, NULL);
}

TEST_NOLEAK(spawn, stdin_and_stdout_pipes)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { (char *)helper_path(), "cat", NULL };
	struct col_child c;
	struct col_status st;
	char buf[64];

	o.argv = argv;
	o.stdio[0].kind = COL_STDIO_PIPE;
	o.stdio[1].kind = COL_STDIO_PIPE;
	o.stdio[2].kind = COL_STDIO_NULL;
	cr_assert_eq(col_spawn_start(&o, &c, NULL), 0);
	cr_assert_geq(c.stdio[0], 0);
	cr_assert_geq(c.stdio[1], 0);
	cr_assert_eq(c.stdio[2], -1);
	cr_assert_eq(col_fd_write_all(c.stdio[0], "hello\n", 6), 6);
	c.stdio[0] = col_close(c.stdio[0]);
	read_all(c.stdio[1], buf, sizeof(buf));
	cr_assert_str_eq(buf, "hello\n");
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	cr_assert_eq(st.code, 0);
	col_child_release(&c);
}

TEST_NOLEAK(spawn, environment_given_or_inherited)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *envp[] = { "COLLIE_X=given", NULL };
	char out[128];

	setenv("COLLIE_X", "inherited", 1);
	run_helper(&o, out, sizeof(out), "print-env", "COLLIE_X", NULL);
	cr_assert_str_eq(out, "inherited\n");
	o = (struct col_spawn_opts)COL_SPAWN_OPTS_INIT;
	o.envp = envp;
	run_helper(&o, out, sizeof(out), "print-env", "COLLIE_X", "print-env", "HOME", NULL);
	cr_assert_str_eq(out, "given\n(unset)\n");
}

TEST_NOLEAK(spawn, cwd_and_bad_cwd)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "/bin/true", NULL };
	struct col_child c;
	struct col_spawn_error err;
	char out[256];

	o.cwd = "/usr";
	run_helper(&o, out, sizeof(out), "print-cwd", NULL);
	cr_assert_str_eq(out, "/usr\n");
	o = (struct col_spawn_opts)COL_SPAWN_OPTS_INIT;
	o.argv = argv;
	o.cwd = "/nonexistent-dir";
	cr_assert_eq(col_spawn_start(&o, &c, &err), -ENOENT);
	cr_assert_eq(err.step, COL_SPAWN_STEP_CWD);
}

TEST_NOLEAK(spawn, process_group_and_session)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char out[128];
	int pid, pgid, sid;

	o.flags = COL_SPAWN_SETPGID;
	run_helper(&o, out, sizeof(out), "print-pgid", NULL);
	cr_assert_eq(sscanf(out, "%d %d %d", &pid, &pgid, &sid), 3);
	cr_assert_eq(pgid, pid, "not a new group");
	cr_assert_eq(sid, getsid(0));

	o = (struct col_spawn_opts)COL_SPAWN_OPTS_INIT;
	o.flags = COL_SPAWN_SETSID;
	run_helper(&o, out, sizeof(out), "print-pgid", NULL);
	cr_assert_eq(sscanf(out, "%d %d %d", &pid, &pgid, &sid), 3);
	cr_assert_eq(sid, pid, "not a new session");
	cr_assert_eq(pgid, pid);
}

TEST_NOLEAK(spawn, joins_an_existing_group)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { (char *)helper_path(), "wait-eof", NULL };
	struct col_child leader;
	struct col_status st;
	char out[128];
	int pid, pgid, sid;

	o.argv = argv;
	o.stdio[0].kind = COL_STDIO_PIPE;
	o.flags = COL_SPAWN_SETPGID;
	cr_assert_eq(col_spawn_start(&o, &leader, NULL), 0);
	o = (struct col_spawn_opts)COL_SPAWN_OPTS_INIT;
	o.flags = COL_SPAWN_SETPGID;
	o.pgid = leader.pid;
	run_helper(&o, out, sizeof(out), "print-pgid", NULL);
	cr_assert_eq(sscanf(out, "%d %d %d", &pid, &pgid, &sid), 3);
	cr_assert_eq(pgid, leader.pid);
	leader.stdio[0] = col_close(leader.stdio[0]);
	cr_assert_eq(col_reap_pidfd(leader.pidfd, 0, &st), 1);
	col_child_release(&leader);
}

TEST_NOLEAK(spawn, umask_and_rlimits)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct col_rlimit rl = { RLIMIT_NOFILE, { 123, 456 } };
	char out[128];

	o.flags = COL_SPAWN_SET_UMASK;
	o.umask = 0077;
	o.rlimits = &rl;
	o.n_rlimits = 1;
	run_helper(&o, out, sizeof(out), "print-umask", "print-rlimit", "nofile", NULL);
	cr_assert_str_eq(out, "077\n123 456\n");
}

TEST_NOLEAK(spawn, signal_mask_and_dispositions_reset)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	sigset_t block, custom;
	unsigned long long blocked, ignored;
	char out[128];

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	run_helper(&o, out, sizeof(out), "print-sigmask", "print-sigign", NULL);
	cr_assert_eq(sscanf(out, "%llx %llx", &blocked, &ignored), 2);
	cr_assert_eq(blocked, 0, "blocked: %s", out);
	/* Signals 32 and 33 belong to libc, which refuses to change them; the
	 * sanitizer runtimes ignore one of them, and an ignored disposition
	 * survives exec. Every other one must be back to SIG_DFL. */
	cr_assert_eq(ignored & ~(3ULL << 31), 0, "ignored: %s", out);

	o.flags = COL_SPAWN_KEEP_SIGMASK;
	run_helper(&o, out, sizeof(out), "print-sigmask", NULL);
	cr_assert_str_eq(out, "0000000000000200\n"); /* SIGUSR1 = bit 10 */

	o = (struct col_spawn_opts)COL_SPAWN_OPTS_INIT;
	sigemptyset(&custom);
	sigaddset(&custom, SIGHUP);
	o.sigmask = &custom;
	run_helper(&o, out, sizeof(out), "print-sigmask", NULL);
	cr_assert_str_eq(out, "0000000000000001\n");
	signal(SIGUSR2, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
}

TEST_NOLEAK(spawn, no_new_privs)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char out[64];

	run_helper(&o, out, sizeof(out), "print-status", "NoNewPrivs", NULL);
	cr_assert_str_eq(out, "0\n");
	o.flags = COL_SPAWN_NO_NEW_PRIVS;
	run_helper(&o, out, sizeof(out), "print-status", "NoNewPrivs", NULL);
	cr_assert_str_eq(out, "1\n");
}

TEST_NOLEAK(spawn, privilege_drop_is_complete)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	gid_t groups[] = { 65534, 100 };
	char out[128];

	if (geteuid() != 0)
		cr_skip_test("needs root to change uid");
	o.flags = COL_SPAWN_SET_UID | COL_SPAWN_SET_GID;
	o.uid = 65534;
	o.gid = 65534;
	run_helper(&o, out, sizeof(out), "print-ids", NULL);
	/* No supplementary groups were given: root's must not survive. */
	cr_assert_str_eq(out, "65534 65534 65534 65534 65534 65534\n");

	o.flags |= COL_SPAWN_SET_GROUPS;
	o.groups = groups;
	o.n_groups = 2;
	run_helper(&o, out, sizeof(out), "print-ids", NULL);
	cr_assert_str_eq(out, "65534 65534 65534 65534 65534 65534 100 65534\n");
}

TEST_NOLEAK(spawn, privilege_change_failure_is_reported)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "/bin/true", NULL };
	struct col_child c;
	struct col_spawn_error err;

	if (geteuid() == 0)
		cr_skip_test("as root every uid change succeeds");
	o.argv = argv;
	o.flags = COL_SPAWN_SET_UID;
	o.uid = 0;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EPERM);
	cr_assert_eq(err.step, COL_SPAWN_STEP_UID);
}

struct pdeath_arg {
	struct col_child child;
	int r;
};

static void *spawn_with_pdeathsig(void *p)
{
	struct pdeath_arg *a = p;
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { (char *)helper_path(), "pause", NULL };

	o.argv = argv;
	o.pdeathsig = SIGTERM;
	a->r = col_spawn_start(&o, &a->child, NULL);
	return NULL; /* the spawning thread ends: the child gets SIGTERM */
}

TEST_NOLEAK(spawn, parent_death_signal_follows_the_spawning_thread)
{
	struct pdeath_arg a;
	struct col_status st;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, spawn_with_pdeathsig, &a), 0);
	pthread_join(t, NULL);
	cr_assert_eq(a.r, 0);
	cr_assert_eq(col_reap_pidfd(a.child.pidfd, 0, &st), 1);
	cr_assert_eq(st.kind, COL_STATUS_KILLED);
	cr_assert_eq(st.code, SIGTERM);
	col_child_release(&a.child);
}

/* A child in a new PID namespace (PID 1 there) sees its parent as pid 0:
 * with pdeathsig that is not a parent that died. */
TEST_NOLEAK(spawn, pdeathsig_in_a_new_pid_namespace)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char out[256];

	if (unshare(CLONE_NEWPID) < 0)
		cr_skip_test("cannot make a PID namespace here: %s", strerror(errno));
	o.pdeathsig = SIGKILL;
	cr_assert_eq(run_helper(&o, out, sizeof(out), "print-pgid", NULL), 0);
	/* its pid; its group and session are outside, so 0 */
	cr_assert_str_eq(out, "1 0 0\n", "the child is not PID 1 of its namespace: %s", out);
}

TEST_NOLEAK(spawn, signal_through_pidfd)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { (char *)helper_path(), "pause", NULL };
	struct col_child c;
	struct col_status st;

	o.argv = argv;
	cr_assert_eq(col_spawn_start(&o, &c, NULL), 0);
	cr_assert_eq(col_child_signal(&c, SIGTERM), 0);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	cr_assert_eq(st.kind, COL_STATUS_KILLED);
	cr_assert_eq(st.code, SIGTERM);
	/* Reaped: the pidfd still names it, and it cannot be signalled. */
	cr_assert_eq(col_child_signal(&c, SIGTERM), -ESRCH);
	col_child_release(&c);
	col_child_release(&c); /* idempotent */
	col_child_release(NULL);
}

TEST_NOLEAK(spawn, ten_thousand_children_leave_no_zombie_and_no_fd)
{
	char *argv[] = { "/bin/true", NULL };
	int fds_before = col_fd_count();

	for (int i = 0; i < 10000; i++) {
		struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
		struct col_child c;
		struct col_status st;

		o.argv = argv;
		o.stdio[1].kind = COL_STDIO_NULL;
		cr_assert_eq(col_spawn_start(&o, &c, NULL), 0, "spawn %d failed", i);
		cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
		cr_assert_eq(st.code, 0);
		col_child_release(&c);
	}
	cr_assert_eq(count_zombies_of(getpid()), 0);
	cr_assert_eq(count_children(), 0);
	cr_assert_eq(col_fd_count(), fds_before);
}

TEST_NOLEAK(spawn, bad_arguments_are_rejected_with_nothing_leaked)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "/bin/true", NULL };
	char *empty[] = { NULL };
	int closed_fd = 900, fds_one[1] = { 901 };
	struct col_child c;
	struct col_spawn_error err;

	cr_assert_eq(col_spawn_start(NULL, &c, &err), -EINVAL);
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EINVAL); /* no argv */
	o.argv = empty;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EINVAL);
	o.argv = argv;
	cr_assert_eq(col_spawn_start(&o, NULL, &err), -EINVAL);
	o.flags = COL_SPAWN_SETSID | COL_SPAWN_SETPGID;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EINVAL);
	o.flags = 1u << 30;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EINVAL);
	o.flags = 0;
	o.stdio[1] = (struct col_stdio){ COL_STDIO_FD, closed_fd };
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EBADF);
	cr_assert_eq(err.step, COL_SPAWN_STEP_NONE);
	o.stdio[1] = (struct col_stdio){ (enum col_stdio_kind)42, -1 };
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EINVAL);
	o.stdio[1] = (struct col_stdio){ COL_STDIO_INHERIT, -1 };
	o.fds = fds_one;
	o.n_fds = 1;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EBADF);
	o.fds = NULL;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EINVAL);
	o.n_fds = 0;
	o.pdeathsig = -1;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EINVAL);
	o.pdeathsig = 0;
	o.flags = COL_SPAWN_FOREGROUND;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EBADF);
}

TEST_NOLEAK(spawn, many_extra_fds)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	int leaky[40];
	char out[512], expect[512];
	size_t off = 0;

	open_leaky_fds(leaky, 40);
	o.fds = leaky;
	o.n_fds = 40; /* more than the inline slots */
	run_helper(&o, out, sizeof(out), "print-fds", NULL);
	for (int i = 0; i < 43; i++)
		off += (size_t)snprintf(expect + off, sizeof(expect) - off, "%s%d", i ? " " : "",
					i);
	snprintf(expect + off, sizeof(expect) - off, "\n");
	cr_assert_str_eq(out, expect);
	for (int i = 0; i < 40; i++)
		close(leaky[i]);
}

/* What fd 0 of process pid is ("/dev/null", "pipe:[123]"). */
static void read_fd0(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)pid);
	n = readlink(path, buf, len - 1);
	cr_assert_gt(n, 0, "readlink %s: %s", path, strerror(errno));
	buf[n] = 0;
}

/*
 * A caller whose stdin is closed: the pipes the spawn makes take the
 * lowest free numbers, fd 0 among them. The child's inherited stdin must
 * still be what the header says of a closed fd, /dev/null, not the read
 * end of its own stdout pipe (or, with plain fork, of the error pipe,
 * which would hold the parent until the child exits).
 */
TEST_NOLEAK(spawn, closed_stdin_of_the_caller_is_dev_null_in_the_child)
{
	char *argv[] = { (char *)helper_path(), "pause", NULL };
	const unsigned modes[] = { 0, COL_SPAWN_USE_FORK };
	int saved = fcntl(0, F_DUPFD_CLOEXEC, 3);
	char what[2][64];

	cr_assert_geq(saved, 0);
	close(0);
	for (int i = 0; i < 2; i++) {
		struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
		struct col_child c;

		o.argv = argv;
		o.flags = modes[i];
		o.stdio[1].kind = COL_STDIO_PIPE;
		cr_assert_eq(col_spawn_start(&o, &c, NULL), 0);
		read_fd0(c.pid, what[i], sizeof(what[i]));
		col_child_signal(&c, SIGKILL);
		cr_assert_eq(col_reap_pidfd(c.pidfd, 0, NULL), 1);
		col_child_release(&c);
	}
	cr_assert_eq(dup2(saved, 0), 0);
	close(saved);
	cr_assert_str_eq(what[0], "/dev/null");
	cr_assert_str_eq(what[1], "/dev/null", "with COL_SPAWN_USE_FORK");
}

/*
 * With COL_SPAWN_USE_FORK the pidfd is opened after fork(); when that
 * fails (no fd left), the child must not be left running or as a zombie:
 * the header promises no child behind on failure. The fd table is filled
 * up to a lowered limit but for the two fds of the error pipe.
 */
TEST_NOLEAK(spawn, plain_fork_without_an_fd_for_the_pidfd_leaves_no_child)
{
	char *argv[] = { "/bin/true", NULL };
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct rlimit old, low;
	struct col_child c;
	struct col_spawn_error err;
	int fds[64], n = 0, r;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 64 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	cr_assert_eq(errno, EMFILE);
	cr_assert_geq(n, 2);
	close(fds[--n]);
	close(fds[--n]);
	o.argv = argv;
	o.flags = COL_SPAWN_USE_FORK;
	r = col_spawn_start(&o, &c, &err);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_eq(r, -EMFILE, "got %d", r);
	cr_assert_eq(err.step, COL_SPAWN_STEP_NONE);
	cr_assert_eq(count_children(), 0, "the forked child was left behind");
}
