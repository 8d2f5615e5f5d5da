/*
 * test-reap.c - reaping through pidfds, subreaper mode, status formatting.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "check.h"

TestSuite(reap, .timeout = 30);

static void start(struct col_child *c, char **argv, bool pipe_in, bool pipe_out)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;

	o.argv = argv;
	if (pipe_in)
		o.stdio[0].kind = COL_STDIO_PIPE;
	if (pipe_out)
		o.stdio[1].kind = COL_STDIO_PIPE;
	cr_assert_eq(col_spawn_start(&o, c, NULL), 0);
}

TEST_NOLEAK(reap, exit_code_and_signal)
{
	char *exit3[] = { (char *)helper_path(), "exit", "3", NULL };
	char *killed[] = { (char *)helper_path(), "kill-self", "KILL", NULL };
	struct col_child c;
	struct col_status st;

	start(&c, exit3, false, false);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	cr_assert_eq(st.kind, COL_STATUS_EXITED);
	cr_assert_eq(st.code, 3);
	cr_assert_eq(st.pid, c.pid);
	cr_assert_eq(col_status_exit_code(&st), 3);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), -ECHILD, "reaped twice");
	col_child_release(&c);

	start(&c, killed, false, false);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	cr_assert_eq(st.kind, COL_STATUS_KILLED);
	cr_assert_eq(st.code, SIGKILL);
	cr_assert_eq(col_status_exit_code(&st), 137);
	col_child_release(&c);
}

TEST_NOLEAK(reap, nohang_while_running)
{
	char *argv[] = { (char *)helper_path(), "wait-eof", NULL };
	struct col_child c;
	struct col_status st;

	start(&c, argv, true, false);
	cr_assert_eq(col_reap_pidfd(c.pidfd, COL_REAP_NOHANG, &st), 0);
	c.stdio[0] = col_close(c.stdio[0]);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	cr_assert_eq(st.code, 0);
	col_child_release(&c);
}

TEST_NOLEAK(reap, bad_arguments)
{
	struct col_status st;

	cr_assert_eq(col_reap_pidfd(-1, 0, &st), -EBADF);
	cr_assert_eq(col_reap_pidfd(0, 1u << 5, &st), -EINVAL);
	cr_assert_eq(col_reap_pid(0, 0, &st), -EINVAL);
	cr_assert_eq(col_reap_pid(1, 0, &st), -ECHILD);
	cr_assert_eq(col_status_format(NULL, NULL, 0), -EINVAL);
	cr_assert_eq(col_status_exit_code(NULL), -EINVAL);
}

TEST_NOLEAK(reap, format_for_people)
{
	struct col_status st = { COL_STATUS_EXITED, 3, 1 };
	char buf[64];

	col_status_format(&st, buf, sizeof(buf));
	cr_assert_str_eq(buf, "exited 3");
	st = (struct col_status){ COL_STATUS_KILLED, SIGKILL, 1 };
	col_status_format(&st, buf, sizeof(buf));
	cr_assert_str_eq(buf, "killed by SIGKILL");
	st = (struct col_status){ COL_STATUS_DUMPED, SIGSEGV, 1 };
	col_status_format(&st, buf, sizeof(buf));
	cr_assert_str_eq(buf, "killed by SIGSEGV (core dumped)");
	cr_assert_eq(col_status_exit_code(&st), 128 + SIGSEGV);
	st = (struct col_status){ COL_STATUS_KILLED, SIGRTMIN + 2, 1 };
	col_status_format(&st, buf, sizeof(buf));
	cr_assert_str_eq(buf, "killed by SIGRTMIN+2");
	/* Truncation is safe and reports the wanted length. */
	cr_assert_eq(col_status_format(&st, buf, 5), (int)strlen("killed by SIGRTMIN+2"));
	cr_assert_str_eq(buf, "kill");
}

TEST_NOLEAK(reap, status_from_wait_decodes_waitpid)
{
	struct col_status st;

	cr_assert_eq(col_status_from_wait(3 << 8, 42, &st), 0);
	cr_assert_eq(st.kind, COL_STATUS_EXITED);
	cr_assert_eq(st.code, 3);
	cr_assert_eq(st.pid, 42);
	cr_assert_eq(col_status_from_wait(SIGTERM, 42, &st), 0);
	cr_assert_eq(st.kind, COL_STATUS_KILLED);
	cr_assert_eq(col_status_from_wait(SIGSEGV | 0x80, 42, &st), 0);
	cr_assert_eq(st.kind, COL_STATUS_DUMPED);
	cr_assert_eq(col_status_from_wait(0x137f, 42, &st), -EINVAL); /* stopped */
}

/* Wait for SIGCHLD (blocked by the caller) with a bound. */
static void wait_sigchld(void)
{
	sigset_t set;
	struct timespec ts = { 10, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	cr_assert_eq(sigtimedwait(&set, NULL, &ts), SIGCHLD, "no SIGCHLD within 10 s");
}

TEST_NOLEAK(reap, subreaper_reaps_an_orphaned_grandchild)
{
	char *argv[] = { (char *)helper_path(), "double-fork", "wait-eof", NULL };
	struct col_child c;
	struct col_status st;
	sigset_t set;
	char out[32];
	pid_t grandchild, zombie = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	cr_assert_eq(col_reap_is_subreaper(), 0);
	cr_assert_eq(col_reap_set_subreaper(true), 0);
	cr_assert_eq(col_reap_is_subreaper(), 1);

	/* The grandchild inherits the stdin pipe and waits for its EOF. */
	start(&c, argv, true, true);
	read_line(c.stdio[1], out, sizeof(out));
	grandchild = (pid_t)strtol(out, NULL, 10);
	cr_assert_gt(grandchild, 0);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	cr_assert_eq(st.code, 0);

	/* Now the grandchild is ours. Let it die, and find it by peeking. */
	cr_assert_eq(col_reap_peek(&zombie), 0, "a zombie before the grandchild died");
	sigtimedwait(&set, NULL, &(struct timespec){ 0, 0 }); /* the child's own SIGCHLD */
	c.stdio[0] = col_close(c.stdio[0]);
	wait_sigchld();
	cr_assert_eq(col_reap_peek(&zombie), 1);
	cr_assert_eq(zombie, grandchild);
	cr_assert_eq(count_zombies_of(getpid()), 1, "peek must not reap");
	cr_assert_eq(col_reap_pid(zombie, 0, &st), 1);
	cr_assert_eq(st.pid, grandchild);
	cr_assert_eq(st.code, 0);
	cr_assert_eq(count_zombies_of(getpid()), 0);
	cr_assert_eq(col_reap_peek(&zombie), 0);
	col_child_release(&c);
	cr_assert_eq(col_reap_set_subreaper(false), 0);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

TEST_NOLEAK(reap, children_are_listed_and_can_be_opened)
{
	char *argv[] = { (char *)helper_path(), "wait-eof", NULL };
	struct col_child a, b;
	struct col_status st;
	pid_t list[8], small[1];
	int pidfd;

	cr_assert_eq(col_reap_children(list, 8), 0);
	cr_assert_eq(col_reap_has_children(), 0);
	start(&a, argv, true, false);
	cr_assert_eq(col_reap_has_children(), 1);
	start(&b, argv, true, false);
	cr_assert_eq(col_reap_children(list, 8), 2);
	cr_assert((list[0] == a.pid && list[1] == b.pid) || (list[0] == b.pid && list[1] == a.pid));
	cr_assert_eq(col_reap_children(small, 1), 2, "the count must say the buffer was short");
	cr_assert_eq(col_reap_children(NULL, 0), 2);
	cr_assert_eq(col_reap_children(NULL, 1), -EINVAL);

	cr_assert_eq(col_pidfd_open(a.pid, &pidfd), 0);
	cr_assert_eq(col_pidfd_signal(pidfd, SIGTERM), 0);
	cr_assert_eq(col_reap_pidfd(pidfd, 0, &st), 1);
	cr_assert_eq(st.kind, COL_STATUS_KILLED);
	col_close(pidfd);
	cr_assert_eq(col_pidfd_open(0, &pidfd), -EINVAL);
	cr_assert_eq(col_pidfd_open(a.pid, NULL), -EINVAL);

	b.stdio[0] = col_close(b.stdio[0]);
	cr_assert_eq(col_reap_pidfd(b.pidfd, 0, &st), 1);
	col_child_release(&a);
	col_child_release(&b);
	cr_assert_eq(col_reap_children(list, 8), 0);
	cr_assert_eq(col_reap_has_children(), 0);
}

TEST_NOLEAK(reap, stops_and_continues_are_reported)
{
	char *argv[] = { (char *)helper_path(), "wait-eof", NULL };
	struct col_child c;
	struct col_status st;
	siginfo_t si;
	int sig = 0;

	start(&c, argv, true, false);
	cr_assert_eq(col_reap_stopped(c.pidfd, &sig), 0);
	cr_assert_eq(col_pidfd_signal(c.pidfd, SIGSTOP), 0);
	/* Wait for the stop without consuming it, then ask. */
	cr_assert_eq(waitid(P_PID, (id_t)c.pid, &si, WSTOPPED | WNOWAIT), 0);
	cr_assert_eq(col_reap_stopped(c.pidfd, &sig), 1);
	cr_assert_eq(sig, SIGSTOP);
	cr_assert_eq(col_reap_stopped(c.pidfd, &sig), 0, "the stop was reported twice");
	cr_assert_eq(col_pidfd_signal(c.pidfd, SIGCONT), 0);
	cr_assert_eq(waitid(P_PID, (id_t)c.pid, &si, WCONTINUED | WNOWAIT), 0);
	cr_assert_eq(col_reap_stopped(c.pidfd, &sig), 2);
	cr_assert_eq(sig, SIGCONT);
	c.stdio[0] = col_close(c.stdio[0]);
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, &st), 1);
	cr_assert_eq(st.code, 0);
	cr_assert_eq(col_reap_stopped(-1, &sig), -EBADF);
	col_child_release(&c);
}
