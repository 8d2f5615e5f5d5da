/*
 * test-cmdline-run.c - running parsed pipelines with real processes:
 * pipes, one process group, every redirection form (checked in the files
 * they write), sh's left-to-right order, assignments, pipefail, and
 * start failures that leave nothing behind.
 *
 * Commands name the helper as "$H" (the parse environment holds its path).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collie/cmdline.h"
#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "check.h"
#include "banned.h"

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/collie-cmdline-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

/* Empty tmpdir (the tests make only plain files in it). */
static void remove_files(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void teardown(void)
{
	remove_files();
	rmdir(tmpdir);
}

TestSuite(cmdline_run, .init = setup, .fini = teardown, .timeout = 30);

/* Parse text with $H (the helper) and PATH available. */
static struct col_cmdline *parse(const char *text)
{
	static char path[4096], helper[4096];
	char *env[] = { path, helper, NULL };
	struct col_cmdline *cl = NULL;
	struct col_cmdline_error err;
	const char *p = getenv("PATH");

	snprintf(path, sizeof(path), "PATH=%s", p ? p : "/usr/bin:/bin");
	snprintf(helper, sizeof(helper), "H=%s", helper_path());
	cr_assert_eq(col_cmdline_parse(text, env, 0, &cl, &err), 0, "'%s': %s", text, err.message);
	return cl;
}

/* The outcome of running a pipeline with its stdout and stderr captured. */
struct result {
	struct col_status st;
	char out[4096];
	char err[4096];
};

/* Run text in tmpdir (base: extra settings or NULL), capture, wait. */
static void run(const char *text, const struct col_spawn_opts *base, unsigned flags,
		struct result *res)
{
	struct col_spawn_opts b = COL_SPAWN_OPTS_INIT;
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_cmdline_run_error err;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse(text);
	int fds = col_fd_count();

	if (base)
		b = *base;
	b.cwd = tmpdir;
	ro.base = &b;
	ro.flags = flags;
	ro.stdio[0].kind = COL_STDIO_NULL;
	ro.stdio[1].kind = COL_STDIO_PIPE;
	ro.stdio[2].kind = COL_STDIO_PIPE;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), 0, "'%s': %s", text, err.message);
	col_cmdline_free(cl);
	read_all(pl.stdio[1], res->out, sizeof(res->out));
	read_all(pl.stdio[2], res->err, sizeof(res->err));
	cr_assert_eq(col_pipeline_wait(&pl, &res->st), 0);
	col_pipeline_release(&pl);
	/* Checked here too: Criterion does not fail a test whose .fini check fails. */
	cr_assert_eq(col_fd_count(), fds, "'%s' left an fd open", text);
	cr_assert_eq(count_children(), 0, "'%s' left a child", text);
}

/* Run text and require exit 0 with nothing on stderr; return its stdout. */
static const char *run_ok(const char *text, struct result *res)
{
	run(text, NULL, 0, res);
	cr_assert_eq(res->st.kind, COL_STATUS_EXITED, "'%s'", text);
	cr_assert_eq(res->st.code, 0, "'%s' exited %d: %s", text, res->st.code, res->err);
	cr_assert_str_eq(res->err, "", "'%s'", text);
	return res->out;
}

static const char *file(const char *name, char *buf, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	read_all(fd, buf, len);
	close(fd);
	return buf;
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(col_fd_write_all(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

TEST_NOLEAK(cmdline_run, printf_sort_head_prints_a)
{
	struct result res;

	cr_assert_str_eq(run_ok("printf 'b\\na\\n' | sort | head -n 1", &res), "a\n");
}

TEST_NOLEAK(cmdline_run, stdin_pipe_feeds_the_first_command)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("sort -r | \"$H\" cat");
	struct col_status st;
	char out[64];

	ro.stdio[0].kind = COL_STDIO_PIPE;
	ro.stdio[1].kind = COL_STDIO_PIPE;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, NULL), 0);
	col_cmdline_free(cl);
	cr_assert_eq(col_fd_write_all(pl.stdio[0], "a\nc\nb\n", 6), 6);
	pl.stdio[0] = col_close(pl.stdio[0]);
	read_all(pl.stdio[1], out, sizeof(out));
	cr_assert_str_eq(out, "c\nb\na\n");
	cr_assert_eq(col_pipeline_wait(&pl, &st), 0);
	cr_assert_eq(st.code, 0);
	col_pipeline_release(&pl);
}

TEST_NOLEAK(cmdline_run, every_command_is_in_one_new_process_group)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl =
		parse("\"$H\" print-pgid >&2 | \"$H\" print-pgid >&2 | \"$H\" print-pgid >&2");
	char err[256], *line = err;
	int pid, pgid, sid, lines = 0;

	ro.stdio[2].kind = COL_STDIO_PIPE;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, NULL), 0);
	col_cmdline_free(cl);
	cr_assert_eq(pl.n_members, 3);
	cr_assert(pl.own_group);
	cr_assert_eq(pl.pgid, pl.members[0].pid);
	cr_assert_neq(pl.pgid, getpgrp());
	read_all(pl.stdio[2], err, sizeof(err));
	for (int n; sscanf(line, "%d %d %d\n%n", &pid, &pgid, &sid, &n) == 3; line += n) {
		bool member = false;

		for (size_t i = 0; i < pl.n_members; i++)
			member |= pl.members[i].pid == pid;
		cr_assert(member, "pid %d is not a member", pid);
		cr_assert_eq(pgid, pl.pgid);
		cr_assert_eq(sid, getsid(0));
		lines++;
	}
	cr_assert_eq(lines, 3, "stderr: %s", err);
	cr_assert_eq(col_pipeline_wait(&pl, NULL), 0);
	col_pipeline_release(&pl);
}

TEST_NOLEAK(cmdline_run, expansion_and_assignments_reach_the_program)
{
	struct col_spawn_opts base = COL_SPAWN_OPTS_INIT;
	char *envp[] = { "PATH=/usr/bin:/bin", "KEEP=kept", "FOO=base", NULL };
	struct result res;

	base.envp = envp;
	run("FOO=1 FOO=\"two words\" NEW=$H \"$H\" print-env FOO print-env KEEP print-env NEW "
	    "print-env H | \"$H\" cat",
	    &base, 0, &res);
	cr_assert_eq(res.st.code, 0);
	cr_assert_str_eq(res.err, "");
	cr_assert_eq(strncmp(res.out, "two words\nkept\n/", 16), 0, "%s", res.out);
	cr_assert(strstr(res.out, "\n(unset)\n"), "H leaked into the environment: %s", res.out);
	/* Assignments are per command. */
	run("FOO=1 \"$H\" print-env FOO >&2 | \"$H\" print-env FOO", &base, 0, &res);
	cr_assert_str_eq(res.err, "1\n");
	cr_assert_str_eq(res.out, "base\n");
}

TEST_NOLEAK(cmdline_run, an_assigned_path_is_where_the_program_is_looked_up)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_cmdline_run_error err;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("PATH=/nonexistent printf x");

	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -ENOENT);
	cr_assert_eq(err.command, 0);
	cr_assert_eq(err.step, COL_SPAWN_STEP_EXEC);
	cr_assert_str_eq(err.message, "command 1 of 1 (printf): exec: No such file or directory");
	col_cmdline_free(cl);
}

/*
 * One redirection case, run in a fresh directory: an optional file written
 * first, the command, what must come out on stdout and stderr, and up to
 * two files with their contents afterwards.
 */
struct redir_case {
	const char *pre_name, *pre_text;
	const char *text;
	const char *out, *err;
	const char *file[2], *content[2];
};

static const struct redir_case redir_cases[] = {
	/* > truncates, >> appends, >| is >, quoted names. */
	{ "out", "0123456789", "printf hello >out", "", "", { "out" }, { "hello" } },
	{ "log", "1", "printf 2 1>>log", "", "", { "log" }, { "12" } },
	{ "log", "1", "printf 2 >>log", "", "", { "log" }, { "12" } },
	{ "log", "old", "printf x >|log", "", "", { "log" }, { "x" } },
	{ NULL, NULL, "printf q > \"with space\"", "", "", { "with space" }, { "q" } },
	/* < and <> read; <> creates and does not truncate. */
	{ "in", "data\n", "cat <in", "data\n", "", { NULL }, { NULL } },
	{ "in", "data\n", "cat 0<in", "data\n", "", { NULL }, { NULL } },
	{ "in", "data\n", "cat <>in", "data\n", "", { NULL }, { NULL } },
	{ "rw", "abcdef", "printf XY 1<>rw", "", "", { "rw" }, { "XYcdef" } },
	{ NULL, NULL, "printf new 1<>created", "", "", { "created" }, { "new" } },
	/* stderr: 2>file, 2>&1, >&2, and 2>&1 into the pipe to the next command. */
	{ NULL, NULL, "\"$H\" echo-err oops 2>err", "", "", { "err" }, { "oops\n" } },
	{ NULL, NULL, "\"$H\" echo-err e 2>&1", "e\n", "", { NULL }, { NULL } },
	{ NULL, NULL, "\"$H\" echo o >&2", "", "o\n", { NULL }, { NULL } },
	{ NULL, NULL, "\"$H\" echo-err e 2>&1 | \"$H\" cat", "e\n", "", { NULL }, { NULL } },
	/* Left to right: stderr copies the old stdout (the pipe), then stdout moves. */
	{ NULL, NULL, "\"$H\" echo out echo-err err 2>&1 >f", "err\n", "", { "f" }, { "out\n" } },
	/* stdout moves first, then stderr copies it. */
	{ NULL, NULL, "\"$H\" echo out echo-err err >g 2>&1", "", "", { "g" }, { "out\nerr\n" } },
	/* Swapping stdout and stderr through fd 3. */
	{ NULL, NULL, "\"$H\" echo o echo-err e 3>&1 1>&2 2>&3", "e\n", "o\n", { NULL }, { NULL } },
	/* The last redirection of an fd wins; the first one's file is still created. */
	{ NULL, NULL, "\"$H\" echo x >h1 >h2", "", "", { "h1", "h2" }, { "", "x\n" } },
	/* Extra fds from 3 up: files, copies, /dev/null copied past 2. */
	{ NULL, NULL, "\"$H\" write-ready 3 3>f3", "", "", { "f3" }, { "ready\n" } },
	{ NULL, NULL, "\"$H\" write-ready 4 3>a 4>b", "", "", { "a", "b" }, { "", "ready\n" } },
	{ NULL, NULL, "\"$H\" write-ready 3 3>&1", "ready\n", "", { NULL }, { NULL } },
	{ "in", "x", "\"$H\" print-fds 3>a 4<in 5>&4", "0 1 2 3 4 5\n", "", { NULL }, { NULL } },
	{ NULL, NULL, "\"$H\" print-fds 3<&0", "0 1 2 3\n", "", { NULL }, { NULL } },
};

TEST_NOLEAK(cmdline_run, every_redirection_form_writes_what_it_should)
{
	for (size_t i = 0; i < COL_ARRAY_SIZE(redir_cases); i++) {
		const struct redir_case *c = &redir_cases[i];
		struct result res;
		char buf[64];

		remove_files();
		if (c->pre_name)
			write_file(c->pre_name, c->pre_text);
		run(c->text, NULL, 0, &res);
		cr_assert_eq(res.st.kind, COL_STATUS_EXITED, "'%s'", c->text);
		cr_assert_eq(res.st.code, 0, "'%s' exited %d: %s", c->text, res.st.code, res.err);
		cr_assert_str_eq(res.out, c->out, "'%s' stdout", c->text);
		cr_assert_str_eq(res.err, c->err, "'%s' stderr", c->text);
		for (int k = 0; k < 2 && c->file[k]; k++)
			cr_assert_str_eq(file(c->file[k], buf, sizeof(buf)), c->content[k],
					 "'%s' %s", c->text, c->file[k]);
	}
}

TEST_NOLEAK(cmdline_run, created_files_follow_the_umask)
{
	struct col_spawn_opts base = COL_SPAWN_OPTS_INIT;
	struct result res;
	struct stat sb;
	char path[256];
	mode_t old = umask(022);

	base.flags = COL_SPAWN_SET_UMASK;
	base.umask = 077;
	run("printf x >private", &base, 0, &res);
	umask(old);
	cr_assert_eq(res.st.code, 0);
	snprintf(path, sizeof(path), "%s/private", tmpdir);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
}

static void expect_status(const char *text, unsigned flags, enum col_status_kind kind, int code)
{
	struct result res;

	run(text, NULL, flags, &res);
	cr_assert_eq(res.st.kind, kind, "'%s' flags %u", text, flags);
	cr_assert_eq(res.st.code, code, "'%s' flags %u: %d", text, flags, res.st.code);
}

TEST_NOLEAK(cmdline_run, status_is_the_last_commands_or_with_pipefail_the_rightmost_failure)
{
	expect_status("\"$H\" exit 0 | \"$H\" exit 5", 0, COL_STATUS_EXITED, 5);
	expect_status("\"$H\" exit 3 | \"$H\" exit 0", 0, COL_STATUS_EXITED, 0);
	expect_status("\"$H\" exit 3 | \"$H\" exit 0", COL_CMDLINE_PIPEFAIL, COL_STATUS_EXITED, 3);
	expect_status("\"$H\" exit 3 | \"$H\" exit 4 | \"$H\" exit 0", COL_CMDLINE_PIPEFAIL,
		      COL_STATUS_EXITED, 4);
	expect_status("\"$H\" exit 0 | \"$H\" exit 0", COL_CMDLINE_PIPEFAIL, COL_STATUS_EXITED, 0);
	expect_status("\"$H\" kill-self TERM | \"$H\" exit 0", COL_CMDLINE_PIPEFAIL,
		      COL_STATUS_KILLED, SIGTERM);
	expect_status("\"$H\" kill-self TERM | \"$H\" exit 0", 0, COL_STATUS_EXITED, 0);
}

/* Start text expecting failure r; check nothing is left, return the error. */
static void expect_start_failure_flags(const char *text, unsigned flags, int r,
				       struct col_cmdline_run_error *err)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_spawn_opts base = COL_SPAWN_OPTS_INIT;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_pipeline before;
	struct col_cmdline *cl = parse(text);
	int fds = col_fd_count();

	base.cwd = tmpdir;
	ro.base = &base;
	ro.flags = flags;
	ro.stdio[1].kind = COL_STDIO_PIPE;
	pl.pgid = 12345; /* must stay untouched */
	before = pl;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, err), r, "'%s'", text);
	col_cmdline_free(cl);
	cr_assert_eq(memcmp(&pl, &before, sizeof(pl)), 0, "'%s': ret written on failure", text);
	cr_assert_eq(count_children(), 0, "'%s' left a child", text);
	cr_assert_eq(col_fd_count(), fds, "'%s' left an fd", text);
	cr_assert_eq(err->error, -r);
}

static void expect_start_failure(const char *text, int r, struct col_cmdline_run_error *err)
{
	expect_start_failure_flags(text, 0, r, err);
}

TEST_NOLEAK(cmdline_run, missing_program_in_the_middle_kills_and_reaps_the_others)
{
	struct col_cmdline_run_error err;

	expect_start_failure("\"$H\" pause | collie-no-such-program x | \"$H\" cat", -ENOENT, &err);
	cr_assert_eq(err.command, 1);
	cr_assert_eq(err.step, COL_SPAWN_STEP_EXEC);
	cr_assert_str_eq(err.message, "command 2 of 3 (collie-no-such-program): exec: No such file "
				      "or directory");
	expect_start_failure("\"$H\" pause | \"$H\" pause | /nonexistent/prog", -ENOENT, &err);
	cr_assert_eq(err.command, 2);
	cr_assert_str_eq(err.message, "command 3 of 3 (/nonexistent/prog): exec: No such file or "
				      "directory");
	expect_start_failure("collie-no-such-program | \"$H\" pause", -ENOENT, &err);
	cr_assert_eq(err.command, 0);
}

TEST_NOLEAK(cmdline_run, a_redirection_that_cannot_be_opened_stops_the_start)
{
	struct col_cmdline_run_error err;
	char want[512];

	expect_start_failure("\"$H\" pause | cat </nonexistent/x", -ENOENT, &err);
	cr_assert_eq(err.command, 1);
	cr_assert_eq(err.step, COL_SPAWN_STEP_NONE);
	cr_assert_str_eq(err.message, "command 2 of 2 (cat): cannot open /nonexistent/x for "
				      "reading: No such file or directory");
	expect_start_failure("\"$H\" pause | \"$H\" pause 3>ok >>/nonexistent/y", -ENOENT, &err);
	snprintf(want, sizeof(want),
		 "command 2 of 2 (%s): cannot open /nonexistent/y for appending: No such file or "
		 "directory",
		 helper_path());
	cr_assert_str_eq(err.message, want);
}

/*
 * With COL_CMDLINE_NO_WAIT a named FIFO is never waited for in the
 * caller, an event loop: open(2) would block it until the other end came
 * (the test's timeout). A pipe reached through /proc/self/fd is no named
 * FIFO.
 */
TEST_NOLEAK(cmdline_run, no_wait_does_not_wait_for_a_fifo)
{
	struct col_cmdline_run_error err;
	struct result res;
	char text[256], fifo[128];
	int p[2], rw;

	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	expect_start_failure_flags("cat <fifo", COL_CMDLINE_NO_WAIT, -ENXIO, &err);
	cr_assert_str_eq(err.message, "command 1 of 1 (cat): cannot open fifo for reading: a FIFO "
				      "(collie opens redirections itself and cannot wait for a "
				      "writer; use sh -c '...' for that)");
	expect_start_failure_flags("\"$H\" pause | cat >fifo", COL_CMDLINE_NO_WAIT, -ENXIO, &err);
	cr_assert_str_eq(err.message, "command 2 of 2 (cat): cannot open fifo for writing: a FIFO "
				      "with no reader (collie opens redirections itself and does "
				      "not wait for the other end)");
	/* with a reader, writing works, and <> never waits */
	rw = open(fifo, O_RDWR | O_CLOEXEC);
	cr_assert_geq(rw, 0);
	run("\"$H\" echo into-fifo >fifo", NULL, COL_CMDLINE_NO_WAIT, &res);
	cr_assert_eq(res.st.code, 0);
	run("\"$H\" echo rw 1<>fifo", NULL, COL_CMDLINE_NO_WAIT, &res);
	cr_assert_eq(res.st.code, 0);
	cr_assert_eq(read(rw, text, sizeof(text)), (ssize_t)strlen("into-fifo\nrw\n"));
	col_close(rw);
	/* /dev/stderr-like: an anonymous pipe, opened as before */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	snprintf(text, sizeof(text), "\"$H\" echo through-proc >/proc/self/fd/%d", p[1]);
	run(text, NULL, COL_CMDLINE_NO_WAIT, &res);
	cr_assert_eq(res.st.code, 0);
	col_close(p[1]);
	read_all(p[0], text, sizeof(text));
	cr_assert_str_eq(text, "through-proc\n");
	col_close(p[0]);
}

TEST_NOLEAK(cmdline_run, bad_options_are_rejected_before_anything_starts)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_spawn_opts base = COL_SPAWN_OPTS_INIT;
	struct col_cmdline_run_error err;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("\"$H\" exit 0 | \"$H\" exit 0");

	cr_assert_eq(col_cmdline_start(NULL, &ro, &pl, &err), -EINVAL);
	cr_assert_eq(err.command, SIZE_MAX);
	cr_assert_str_eq(err.message, "invalid arguments");
	cr_assert_eq(col_cmdline_start(cl, NULL, &pl, &err), -EINVAL);
	cr_assert_eq(col_cmdline_start(cl, &ro, NULL, &err), -EINVAL);
	ro.flags = 1u << 9;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EINVAL);
	ro.flags = 0;
	ro.stdio[1] = (struct col_stdio){ COL_STDIO_FD, 1000 };
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EBADF);
	cr_assert_str_eq(err.message, "the pipeline's stdout: fd 1000 is not open");
	ro.stdio[1] = (struct col_stdio){ COL_STDIO_PIPE, -1 };
	ro.stdio[2] = (struct col_stdio){ (enum col_stdio_kind)42, -1 };
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EINVAL);
	cr_assert_str_eq(err.message, "the pipeline's stderr: bad kind 42");
	ro.stdio[2] = (struct col_stdio){ COL_STDIO_INHERIT, -1 };
	base.flags = COL_SPAWN_SETSID;
	ro.base = &base;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EINVAL);
	cr_assert_str_eq(err.message, "COL_SPAWN_SETSID is for a single command: the commands of a "
				      "pipeline share one process group");
	base.flags = 0;
	base.cwd = "/nonexistent/dir";
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -ENOENT);
	cr_assert_eq(err.step, COL_SPAWN_STEP_CWD);
	cr_assert_str_eq(err.message,
			 "cannot open the directory /nonexistent/dir: No such file or directory");
	col_cmdline_free(cl);
	cr_assert_eq(count_children(), 0);
}

/* Make the next fd this process opens fail with EMFILE; returns the old limit. */
static struct rlimit no_more_fds(void)
{
	int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct rlimit old, rl;

	cr_assert_geq(lowest, 0);
	close(lowest);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)lowest;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	return old;
}

TEST_NOLEAK(cmdline_run, running_out_of_fds_is_reported)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_cmdline_run_error err;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("\"$H\" exit 0 | \"$H\" exit 0");
	char want[512];
	struct rlimit old = no_more_fds();

	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EMFILE);
	snprintf(want, sizeof(want), "command 1 of 2 (%s): pipe: Too many open files",
		 helper_path());
	cr_assert_str_eq(err.message, want);
	ro.stdio[1].kind = COL_STDIO_PIPE;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EMFILE);
	cr_assert_eq(err.command, SIZE_MAX);
	cr_assert_str_eq(err.message, "pipe for the pipeline's stdout: Too many open files");
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0); /* for the leak checks */
	col_cmdline_free(cl);
}

/* The runner does not trust a pipeline it did not parse. */
TEST_NOLEAK(cmdline_run, a_hand_built_pipeline_is_checked_too)
{
	char *argv[] = { "true", NULL }, *none[] = { NULL };
	struct col_cmdline_redir rd = { COL_CMDLINE_REDIR_DUP_WRITE, 1, 7, NULL, 0 };
	struct col_cmdline_cmd cmd = { argv, 1, none, 0, &rd, 1, 0 };
	struct col_cmdline cl = { &cmd, 1 };
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_cmdline_run_error err;
	struct col_pipeline pl = COL_PIPELINE_INIT;

	cr_assert_eq(col_cmdline_start(&cl, &ro, &pl, &err), -EBADF);
	cr_assert_str_eq(err.message, "command 1 of 1 (true): fd 7 is not open");
	rd = (struct col_cmdline_redir){ COL_CMDLINE_REDIR_DUP_WRITE, 4, 1, NULL, 0 };
	cr_assert_eq(col_cmdline_start(&cl, &ro, &pl, &err), -EINVAL);
	cr_assert_str_eq(
		err.message,
		"command 1 of 1 (true): fd 3 is not redirected: extra fds must be 3, 4, ...");
	rd = (struct col_cmdline_redir){ COL_CMDLINE_REDIR_DUP_WRITE, 300, 1, NULL, 0 };
	cr_assert_eq(col_cmdline_start(&cl, &ro, &pl, &err), -EINVAL);
	cr_assert_str_eq(err.message, "command 1 of 1 (true): bad fd 300");
	cl.n_cmds = 0;
	cr_assert_eq(col_cmdline_start(&cl, &ro, &pl, &err), -EINVAL);
	cr_assert_str_eq(err.message, "invalid arguments");
}

TEST_NOLEAK(cmdline_run, a_single_command_may_lead_a_new_session)
{
	struct col_spawn_opts base = COL_SPAWN_OPTS_INIT;
	struct result res;
	int pid, pgid, sid;

	base.flags = COL_SPAWN_SETSID;
	run("\"$H\" print-pgid", &base, 0, &res);
	cr_assert_eq(sscanf(res.out, "%d %d %d", &pid, &pgid, &sid), 3);
	cr_assert_eq(pgid, pid);
	cr_assert_eq(sid, pid);
}

TEST_NOLEAK(cmdline_run, joining_an_existing_group)
{
	struct col_spawn_opts so = COL_SPAWN_OPTS_INIT, base = COL_SPAWN_OPTS_INIT;
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	char *argv[] = { (char *)helper_path(), "pause", NULL };
	struct col_child leader = COL_CHILD_INIT;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("\"$H\" pause | \"$H\" print-pgid");
	struct col_status st;
	char out[128];
	int pid, pgid, sid;

	so.argv = argv;
	so.flags = COL_SPAWN_SETPGID;
	cr_assert_eq(col_spawn_start(&so, &leader, NULL), 0);
	base.flags = COL_SPAWN_SETPGID;
	base.pgid = leader.pid;
	ro.base = &base;
	ro.stdio[1].kind = COL_STDIO_PIPE;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, NULL), 0);
	col_cmdline_free(cl);
	cr_assert_eq(pl.pgid, leader.pid);
	cr_assert_not(pl.own_group);
	read_all(pl.stdio[1], out, sizeof(out));
	cr_assert_eq(sscanf(out, "%d %d %d", &pid, &pgid, &sid), 3);
	cr_assert_eq(pid, pl.members[1].pid);
	cr_assert_eq(pgid, leader.pid);
	/* Not our group: the signal goes to the members only, not to the leader. */
	cr_assert_eq(col_pipeline_signal(&pl, SIGTERM), 0);
	cr_assert_eq(col_pipeline_wait(&pl, &st), 0);
	cr_assert_eq(st.kind, COL_STATUS_EXITED);
	cr_assert_eq(pl.members[0].status.kind, COL_STATUS_KILLED);
	cr_assert_eq(pl.members[0].status.code, SIGTERM);
	cr_assert_eq(col_reap_pidfd(leader.pidfd, COL_REAP_NOHANG, NULL), 0, "the leader died");
	col_pipeline_release(&pl);
	col_child_signal(&leader, SIGKILL);
	col_reap_pidfd(leader.pidfd, 0, NULL);
	col_child_release(&leader);
}

TEST_NOLEAK(cmdline_run, signal_reaches_the_whole_group_until_all_are_reaped)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("\"$H\" pause | \"$H\" pause");
	struct col_status st;

	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, NULL), 0);
	col_cmdline_free(cl);
	cr_assert_eq(col_pipeline_reap(&pl, 0, COL_REAP_NOHANG), 0);
	cr_assert_eq(col_pipeline_status(&pl, &st), -EAGAIN);
	cr_assert_not(col_pipeline_done(&pl));
	cr_assert_eq(col_pipeline_signal(&pl, SIGTERM), 0);
	cr_assert_eq(col_pipeline_wait(&pl, &st), 0);
	cr_assert_eq(st.kind, COL_STATUS_KILLED);
	cr_assert_eq(st.code, SIGTERM);
	cr_assert_eq(st.pid, pl.members[1].pid);
	cr_assert_eq(pl.members[0].status.code, SIGTERM);
	cr_assert(col_pipeline_done(&pl));
	cr_assert_eq(col_pipeline_signal(&pl, SIGTERM), -ESRCH);
	cr_assert_eq(col_pipeline_reap(&pl, 5, 0), -EINVAL);
	col_pipeline_release(&pl);
	col_pipeline_release(&pl);
	col_pipeline_release(NULL);
}

TEST_NOLEAK(cmdline_run, an_event_loop_can_reap_and_record)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("\"$H\" exit 7");
	struct col_status st, got;

	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, NULL), 0);
	col_cmdline_free(cl);
	/* What col_loop does: wait for the pidfd to be readable, reap, call back. */
	struct pollfd pfd = { .fd = pl.members[0].pidfd, .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, -1), 1);
	cr_assert_eq(col_reap_pidfd(pl.members[0].pidfd, COL_REAP_NOHANG, &st), 1);
	cr_assert_eq(col_pipeline_record(&pl, &st), 0);
	cr_assert_eq(col_pipeline_record(&pl, &st), -ESRCH);
	cr_assert(col_pipeline_done(&pl));
	cr_assert_eq(col_pipeline_status(&pl, &got), 0);
	cr_assert_eq(got.kind, COL_STATUS_EXITED);
	cr_assert_eq(got.code, 7);
	cr_assert_eq(col_pipeline_reap(&pl, 0, 0), 1);
	col_pipeline_release(&pl);
}

TEST_NOLEAK(cmdline_run, extra_fds_reach_every_command_at_their_numbers)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("\"$H\" print-fds write-ready 5 | \"$H\" cat");
	struct col_cmdline_fd extra = { 5, -1 };
	struct col_status st;
	int ready[2];
	char out[64], buf[16];

	cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
	extra.fd = ready[1];
	ro.fds = &extra;
	ro.n_fds = 1;
	ro.stdio[1].kind = COL_STDIO_PIPE;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, NULL), 0);
	col_cmdline_free(cl);
	col_close(ready[1]);
	/* The first command saw 3 and 4 as /dev/null fillers and 5 as ours. */
	read_all(pl.stdio[1], out, sizeof(out));
	cr_assert_str_eq(out, "0 1 2 3 4 5\n");
	/* Both commands held the write end; EOF came once both exited. */
	read_all(ready[0], buf, sizeof(buf));
	cr_assert_str_eq(buf, "ready\n");
	cr_assert_eq(col_pipeline_wait(&pl, &st), 0);
	cr_assert_eq(st.code, 0);
	col_pipeline_release(&pl);
	col_close(ready[0]);
}

TEST_NOLEAK(cmdline_run, bad_extra_fds_are_refused)
{
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_cmdline_run_error err;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline *cl = parse("true");
	struct col_cmdline_fd two[2] = { { 3, 0 }, { 3, 1 } }, low = { 2, 0 }, closed = { 3, 900 };

	ro.fds = &low;
	ro.n_fds = 1;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EINVAL);
	cr_assert_str_eq(err.message, "extra fd target 2: must be 3 to 255");
	ro.fds = two;
	ro.n_fds = 2;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EINVAL);
	cr_assert_str_eq(err.message, "extra fd target 3 given twice");
	ro.fds = &closed;
	ro.n_fds = 1;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EBADF);
	cr_assert_str_eq(err.message, "extra fd for 3: fd 900 is not open");
	ro.fds = NULL;
	cr_assert_eq(col_cmdline_start(cl, &ro, &pl, &err), -EINVAL);
	col_cmdline_free(cl);
}
