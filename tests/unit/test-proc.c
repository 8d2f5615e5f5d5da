/*
 * test-proc.c - reading /proc: stat fields, children, PSS.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collie/proc.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "check.h"
#include "proc-internal.h"

TestSuite(proc, .timeout = 10);

TEST_NOLEAK(proc, stat_of_self)
{
	struct col_proc_stat st;

	cr_assert_eq(col_proc_stat(0, &st), 0);
	cr_assert_eq(st.pid, getpid());
	cr_assert_eq(st.ppid, getppid());
	cr_assert_eq(st.pgid, getpgrp());
	cr_assert_eq(st.sid, getsid(0));
	cr_assert_eq(st.state, 'R');
	cr_assert_gt(st.rss, 0);
	cr_assert_eq(col_proc_stat(getpid(), &st), 0);
	cr_assert_eq(st.pid, getpid());
}

/* A command name may hold spaces and parentheses: fields count from the last ')'. */
TEST_NOLEAK(proc, stat_with_a_tricky_command_name)
{
	struct col_proc_stat st;

	cr_assert_eq(prctl(PR_SET_NAME, "a) b (c) 1 2"), 0);
	cr_assert_eq(col_proc_stat(0, &st), 0);
	cr_assert_eq(st.pid, getpid());
	cr_assert_eq(st.ppid, getppid());
	cr_assert_eq(st.pgid, getpgrp());
}

TEST_NOLEAK(proc, no_such_process)
{
	struct col_proc_stat st;
	uint64_t pss;
	pid_t buf[1];

	/* Above the kernel's PID_MAX_LIMIT (4194304): never a process. */
	cr_assert_eq(col_proc_stat(1 << 30, &st), -ESRCH);
	cr_assert_eq(col_proc_children(1 << 30, buf, 1), -ESRCH);
	cr_assert_eq(col_proc_pss(1 << 30, &pss), -ESRCH);
	cr_assert_eq(col_proc_stat(-1, &st), -EINVAL);
	cr_assert_eq(col_proc_children(0, NULL, 1), -EINVAL);
}

TEST_NOLEAK(proc, children_of_self_and_of_another)
{
	char *argv[] = { (char *)helper_path(), "pause", NULL };
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct col_child c[3];
	struct col_proc_stat st;
	pid_t buf[8], one[1];

	o.argv = argv;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(col_spawn_start(&o, &c[i], NULL), 0);
	cr_assert_eq(col_proc_children(0, buf, 8), 3);
	for (int i = 0; i < 3; i++)
		cr_assert(buf[0] == c[i].pid || buf[1] == c[i].pid || buf[2] == c[i].pid);
	cr_assert_eq(col_proc_children(0, one, 1), 3, "the count, even when it does not fit");
	cr_assert_eq(col_proc_children(getpid(), buf, 8), 3);
	cr_assert_eq(col_proc_children(c[0].pid, buf, 8), 0);
	cr_assert_eq(col_proc_stat(c[0].pid, &st), 0);
	cr_assert_eq(st.ppid, getpid());
	for (int i = 0; i < 3; i++) {
		col_child_signal(&c[i], SIGKILL);
		cr_assert_eq(col_reap_pidfd(c[i].pidfd, 0, NULL), 1);
		col_child_release(&c[i]);
	}
}

/*
 * A pid cut between two reads is one pid (seq_file may cut a record where
 * pages are larger than the buffer). SOCK_SEQPACKET gives each write to
 * one read, so the cut is where the test puts it.
 */
TEST_NOLEAK(proc, a_pid_cut_between_two_reads_is_joined)
{
	static const char *const pieces[] = { "12 34", "5 6", "7 ", "89" };
	pid_t buf[8];
	size_t n = 0;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		cr_assert_eq(write(sv[1], pieces[i], strlen(pieces[i])), (ssize_t)strlen(pieces[i]));
	close(sv[1]);
	cr_assert_eq(col__read_pids(sv[0], buf, 8, &n), 0);
	close(sv[0]);
	cr_assert_eq(n, 4, "12, 345, 67 and 89, not %zu pids", n);
	cr_assert_eq(buf[0], 12);
	cr_assert_eq(buf[1], 345);
	cr_assert_eq(buf[2], 67);
	cr_assert_eq(buf[3], 89);
}

TEST_NOLEAK(proc, pss_of_self)
{
	uint64_t pss = 0;
	int r = col_proc_pss(0, &pss);

	if (r == -ENOENT)
		cr_skip_test("no /proc/self/smaps_rollup (Linux < 4.14)");
	cr_assert_eq(r, 0);
	cr_assert_gt(pss, 0);
}
