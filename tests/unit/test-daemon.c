/*
 * test-daemon.c - col_daemon_*: a real daemon, its pidfile and lock, its
 * session and stdio, and failures reported to the caller.
 *
 * The test process makes itself a subreaper, so the daemon (a grandchild
 * whose parent exits at once) becomes its child and is reaped here: the
 * leak check sees no child left.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collie/daemon.h"
#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "check.h"

TestSuite(daemon, .timeout = 30);

/* In the daemon: become ready, wait for SIGTERM (blocked by the test
 * before the fork, so it cannot be missed), clean up, exit 0. */
static void __attribute__((noreturn)) run_daemon(struct col_daemon *d)
{
	sigset_t term;
	int sig;

	col_daemon_notify_ready(d);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigwait(&term, &sig);
	col_daemon_release(d);
	_exit(0);
}

static void read_link(const char *path, char *buf, size_t len)
{
	ssize_t n = readlink(path, buf, len - 1);

	cr_assert_gt(n, 0, "readlink %s: %s", path, strerror(errno));
	buf[n] = 0;
}

/* Stop the daemon (our child, as we are a subreaper) and reap it. */
static void stop_daemon(pid_t pid)
{
	struct col_status st;
	int pidfd;

	cr_assert_eq(col_pidfd_open(pid, &pidfd), 0, "the daemon is not our child");
	cr_assert_eq(col_pidfd_signal(pidfd, SIGTERM), 0);
	cr_assert_eq(col_reap_pidfd(pidfd, 0, &st), 1);
	cr_assert_eq(st.kind, COL_STATUS_EXITED);
	cr_assert_eq(st.code, 0);
	col_close(pidfd);
}

/* End the daemons whose pid we were not told: our orphans, as we are a
 * subreaper, and so ours to kill and reap by pid. */
static void kill_children(void)
{
	pid_t kids[4];
	int n = col_reap_children(kids, 4);

	for (int i = 0; i < n && i < 4; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
}

/* A pidfile in a new directory; this process a subreaper (the daemon is
 * its orphan) with SIGTERM blocked (run_daemon() waits for it). */
static void daemon_test_begin(char *dir, char *pidfile, size_t len, struct col_daemon_opts *o)
{
	sigset_t term;

	cr_assert(mkdtemp(dir));
	snprintf(pidfile, len, "%s/d.pid", dir);
	o->pidfile = pidfile;
	cr_assert_eq(col_reap_set_subreaper(true), 0);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
}

static void daemon_test_end(const char *dir)
{
	sigset_t term;

	cr_assert_eq(col_reap_set_subreaper(false), 0);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &term, NULL);
	rmdir(dir);
}

TEST_NOLEAK(daemon, starts_detached_with_a_locked_pidfile)
{
	char dir[] = "/tmp/collie-daemon-XXXXXX", pidfile[64], buf[PATH_MAX];
	struct col_daemon_opts o = COL_DAEMON_OPTS_INIT;
	struct col_daemon d, d2;
	pid_t pid;
	int r, st;
	FILE *f;

	daemon_test_begin(dir, pidfile, sizeof(pidfile), &o);

	r = col_daemon_start(&o, &d);
	if (r == 0)
		run_daemon(&d);
	cr_assert_eq(r, 1);
	cr_assert_eq(col_daemon_wait_ready(&d, 10 * COL_USEC_PER_SEC), 0);
	pid = d.pid;
	cr_assert_gt(pid, 0);

	/* The pidfile names it; it is in a new session it does not lead; its
	 * directory is / and its stdio /dev/null. */
	f = fopen(pidfile, "re");
	cr_assert(f);
	cr_assert_eq(fscanf(f, "%d", &r), 1);
	fclose(f);
	cr_assert_eq(r, pid);
	cr_assert_neq(getsid(pid), getsid(0), "not a new session");
	cr_assert_neq(getsid(pid), pid, "a session leader could get a terminal");
	snprintf(buf, sizeof(buf), "/proc/%d/cwd", (int)pid);
	read_link(buf, buf, sizeof(buf));
	cr_assert_str_eq(buf, "/");
	for (int i = 0; i < 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, i);
		read_link(path, buf, sizeof(buf));
		cr_assert_str_eq(buf, "/dev/null");
	}

	/* A second daemon on the same pidfile is refused, and says so. */
	r = col_daemon_start(&o, &d2);
	if (r == 0)
		run_daemon(&d2); /* must not happen: the lock is held */
	cr_assert_eq(r, 1);
	cr_assert_eq(col_daemon_wait_ready(&d2, 10 * COL_USEC_PER_SEC), -EBUSY);
	/* The refused daemon exits; as our orphan it is ours to reap. */
	cr_assert_gt(waitpid(-1, &st, 0), 0);

	stop_daemon(pid);
	cr_assert_eq(access(pidfile, F_OK), -1, "the pidfile outlived the daemon");
	daemon_test_end(dir);
}

TEST_NOLEAK(daemon, a_failure_before_ready_reaches_the_caller)
{
	struct col_daemon_opts o = COL_DAEMON_OPTS_INIT;
	struct col_daemon d;
	int r, st;

	cr_assert_eq(col_reap_set_subreaper(true), 0);
	o.dir = "/nonexistent-collie-dir";
	r = col_daemon_start(&o, &d);
	if (r == 0)
		_exit(0); /* must not happen: chdir fails first */
	cr_assert_eq(r, 1);
	cr_assert_eq(col_daemon_wait_ready(&d, 10 * COL_USEC_PER_SEC), -ENOENT);
	cr_assert_gt(waitpid(-1, &st, 0), 0);

	o.dir = NULL;
	o.pidfile = "/nonexistent-collie-dir/x.pid";
	r = col_daemon_start(&o, &d);
	if (r == 0)
		_exit(0);
	cr_assert_eq(col_daemon_wait_ready(&d, 10 * COL_USEC_PER_SEC), -ENOENT);
	cr_assert_gt(waitpid(-1, &st, 0), 0);
	cr_assert_eq(col_reap_set_subreaper(false), 0);
}

TEST_NOLEAK(daemon, bad_arguments)
{
	struct col_daemon_opts o = COL_DAEMON_OPTS_INIT;
	struct col_daemon d = { .ready_fd = -1, .pidfile_fd = -1 };

	cr_assert_eq(col_daemon_start(NULL, &d), -EINVAL);
	cr_assert_eq(col_daemon_start(&o, NULL), -EINVAL);
	o.pidfile = "";
	cr_assert_eq(col_daemon_start(&o, &d), -EINVAL);
	cr_assert_eq(col_daemon_wait_ready(NULL, 0), -EINVAL);
	cr_assert_eq(col_daemon_wait_ready(&d, 0), -EINVAL);
	cr_assert_eq(col_daemon_notify_ready(NULL), -EINVAL);
	cr_assert_eq(col_daemon_notify_ready(&d), 0);
	col_daemon_release(NULL);
	col_daemon_release(&d);
}

/*
 * A caller that runs with stdin (and stdout) closed: the ready pipe must
 * not take those numbers (the daemon puts /dev/null there, which would
 * cut its report off), and the daemon's stdio must all be /dev/null
 * (not a closed fd 0 that the pidfile then takes, and a child of the
 * daemon inherits with its lock).
 */
TEST_NOLEAK(daemon, a_caller_with_stdio_closed_still_gets_a_daemon_on_dev_null)
{
	char dir[] = "/tmp/collie-daemon-XXXXXX", pidfile[64], buf[PATH_MAX];
	struct col_daemon_opts o = COL_DAEMON_OPTS_INIT;
	int saved[2], closed[2] = { 1, 2 };
	struct col_daemon d;

	daemon_test_begin(dir, pidfile, sizeof(pidfile), &o);
	for (int i = 0; i < 2; i++)
		cr_assert_geq(saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3), 0);
	for (int round = 0; round < 2; round++) {
		int r, ready;

		for (int i = 0; i < closed[round]; i++)
			close(i);
		r = col_daemon_start(&o, &d);
		if (r == 0)
			run_daemon(&d);
		ready = col_daemon_wait_ready(&d, 10 * COL_USEC_PER_SEC);
		for (int i = 0; i < 2; i++)
			cr_assert_eq(dup2(saved[i], i), i);
		cr_assert_eq(r, 1);
		if (ready < 0) {
			kill_children();
			cr_assert_fail("round %d: the daemon's report was lost: %s", round,
				       strerror(-ready));
		}
		for (int i = 0; i < 3; i++) {
			char path[64];
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)d.pid, i);
			n = readlink(path, buf, sizeof(buf) - 1);
			buf[n > 0 ? n : 0] = 0;
			if (strcmp(buf, "/dev/null") != 0) {
				stop_daemon(d.pid);
				cr_assert_fail("round %d: the daemon's fd %d is %s", round, i, buf);
			}
		}
		stop_daemon(d.pid);
	}
	for (int i = 0; i < 2; i++)
		close(saved[i]);
	daemon_test_end(dir);
}

static void on_alarm(int sig)
{
}

/*
 * A process with an interval timer (or any signal handler that fires
 * often) interrupts the wait again and again: the wait must still end
 * at its timeout, not start over at each signal.
 */
TEST_NOLEAK(daemon, the_wait_ends_at_its_timeout_under_a_stream_of_signals)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old_sa;
	struct itimerval every_10ms = { { 0, 10000 }, { 0, 10000 } }, off = { 0 };
	struct col_daemon_opts o = COL_DAEMON_OPTS_INIT;
	struct col_daemon d;
	sigset_t term;
	int r;

	cr_assert_eq(col_reap_set_subreaper(true), 0);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	r = col_daemon_start(&o, &d);
	if (r == 0) {
		int sig;

		sigwait(&term, &sig); /* never ready */
		_exit(0);
	}
	cr_assert_eq(r, 1);
	cr_assert_eq(sigaction(SIGALRM, &sa, &old_sa), 0);
	cr_assert_eq(setitimer(ITIMER_REAL, &every_10ms, NULL), 0);
	r = col_daemon_wait_ready(&d, 100 * COL_USEC_PER_MSEC);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	kill_children();
	cr_assert_eq(r, -ETIMEDOUT);
	cr_assert_eq(col_reap_set_subreaper(false), 0);
	sigprocmask(SIG_UNBLOCK, &term, NULL);
}
