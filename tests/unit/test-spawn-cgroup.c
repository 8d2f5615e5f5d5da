/*
 * test-spawn-cgroup.c - COL_SPAWN_SET_CGROUP: the child starts inside the
 * given cgroup v2 directory (clone3 CLONE_INTO_CGROUP, and the child's own
 * write to cgroup.procs with the fork fallback), every member of a
 * pipeline too; a bad fd or a cgroup that is gone is a clear error.
 *
 * Each test makes its own cgroup under this process's cgroup2 directory
 * and removes it; where that cannot be done (no cgroup2 mount, not
 * delegated to us, read-only) the test is skipped and says why.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collie/cmdline.h"
#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "check.h"

TestSuite(spawn_cgroup, .timeout = 60);

/* A cgroup made for one test: its path relative to the cgroup2 root (as
 * /proc/PID/cgroup shows it), its absolute path and an O_PATH fd. */
struct test_cgroup {
	char rel[1100];
	char abs[2200];
	int fd;
};

/* The cgroup2 mount point, from /proc/self/mountinfo (field 5 of the line
 * whose file system type, after " - ", is cgroup2). */
static bool cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mnt[1024], type[64];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (sep && sscanf(sep, " - %63s", type) == 1 && strcmp(type, "cgroup2") == 0 &&
		    sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1) {
			snprintf(buf, len, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* The "0::PATH" line of /proc/PID/cgroup ("self" or a pid) into buf. */
static bool cgroup_of(const char *pid, char *buf, size_t len)
{
	char path[64], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	if (!(f = fopen(path, "re")))
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "%.1000s", line + 3);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void make_cgroup(struct test_cgroup *cg)
{
	char mnt[1024], own[1024];

	if (!cgroup2_mount(mnt, sizeof(mnt)))
		cr_skip_test("no cgroup2 file system is mounted");
	cr_assert(cgroup_of("self", own, sizeof(own)), "no 0:: line in /proc/self/cgroup");
	snprintf(cg->rel, sizeof(cg->rel), "%.1000s%scollie-unit-%d", own,
		 strcmp(own, "/") == 0 ? "" : "/", (int)getpid());
	snprintf(cg->abs, sizeof(cg->abs), "%s%s", mnt, cg->rel);
	if (mkdir(cg->abs, 0755) < 0) {
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			cr_skip_test("cannot make a cgroup in %s%s (%s): not delegated to us", mnt,
				     own, strerror(errno));
		cr_assert_fail("mkdir %s: %s", cg->abs, strerror(errno));
	}
	cg->fd = open(cg->abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(cg->fd, 0, "open %s: %s", cg->abs, strerror(errno));
}

static void remove_cgroup(struct test_cgroup *cg)
{
	cg->fd = col_close(cg->fd);
	cr_assert_eq(rmdir(cg->abs), 0, "rmdir %s: %s", cg->abs, strerror(errno));
}

/* Spawn `cat /proc/self/cgroup` with opts; return its 0:: path in buf. */
static void child_cgroup(struct col_spawn_opts *o, char *buf, size_t len)
{
	char *argv[] = { "cat", "/proc/self/cgroup", NULL };
	struct col_child c = COL_CHILD_INIT;
	struct col_spawn_error err;
	char out[4096], *line;
	int r;

	o->argv = argv;
	o->flags |= COL_SPAWN_SEARCH_PATH;
	o->stdio[1].kind = COL_STDIO_PIPE;
	r = col_spawn_start(o, &c, &err);
	cr_assert_eq(r, 0, "spawn failed at %s: %s", col_spawn_step_name(err.step), strerror(-r));
	read_all(c.stdio[1], out, sizeof(out));
	cr_assert_eq(col_reap_pidfd(c.pidfd, 0, NULL), 1);
	col_child_release(&c);
	line = strstr(out, "0::");
	cr_assert(line == out || (line && line[-1] == '\n'), "no 0:: line in %s", out);
	line[strcspn(line, "\n")] = 0;
	snprintf(buf, len, "%s", line + 3);
}

TEST_NOLEAK(spawn_cgroup, child_starts_in_the_cgroup)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct test_cgroup cg;
	char got[1024], own[1024];

	make_cgroup(&cg);
	o.flags = COL_SPAWN_SET_CGROUP;
	o.cgroup_fd = cg.fd;
	child_cgroup(&o, got, sizeof(got));
	cr_expect_str_eq(got, cg.rel);
	/* Only the child moved. */
	cr_assert(cgroup_of("self", own, sizeof(own)));
	cr_expect_str_neq(own, cg.rel);
	remove_cgroup(&cg);
}

TEST_NOLEAK(spawn_cgroup, fork_fallback_child_enters_the_cgroup_itself)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct test_cgroup cg;
	char got[1024];

	make_cgroup(&cg);
	o.flags = COL_SPAWN_SET_CGROUP | COL_SPAWN_USE_FORK;
	o.cgroup_fd = cg.fd;
	child_cgroup(&o, got, sizeof(got));
	cr_expect_str_eq(got, cg.rel);
	remove_cgroup(&cg);
}

/* Make clone3 fail with ENOSYS in this test's process, as the seccomp
 * profiles of container runtimes do (so that libc falls back to clone). */
static void refuse_clone3(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = COL_ARRAY_SIZE(f), .filter = f };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "seccomp: %s",
		     strerror(errno));
}

TEST_NOLEAK(spawn_cgroup, without_clone3_the_vfork_child_enters_the_cgroup_itself)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct test_cgroup cg;
	char got[1024];

	make_cgroup(&cg);
	refuse_clone3();
	o.flags = COL_SPAWN_SET_CGROUP;
	o.cgroup_fd = cg.fd;
	child_cgroup(&o, got, sizeof(got));
	cr_expect_str_eq(got, cg.rel);
	remove_cgroup(&cg);
}

TEST_NOLEAK(spawn_cgroup, without_the_flag_the_child_stays_in_ours)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct test_cgroup cg;
	char got[1024], own[1024];

	make_cgroup(&cg);
	o.cgroup_fd = cg.fd; /* ignored without COL_SPAWN_SET_CGROUP */
	child_cgroup(&o, got, sizeof(got));
	cr_assert(cgroup_of("self", own, sizeof(own)));
	cr_expect_str_eq(got, own);
	remove_cgroup(&cg);
}

TEST_NOLEAK(spawn_cgroup, every_member_of_a_pipeline_starts_in_the_cgroup)
{
	struct col_spawn_opts base = COL_SPAWN_OPTS_INIT;
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_pipeline pl = COL_PIPELINE_INIT;
	struct col_cmdline_run_error rerr;
	struct col_cmdline_error perr;
	struct col_cmdline *cl;
	struct test_cgroup cg;
	char out[4096], want[2200];
	int r;

	make_cgroup(&cg);
	base.flags = COL_SPAWN_SET_CGROUP;
	base.cgroup_fd = cg.fd;
	ro.base = &base;
	ro.stdio[1].kind = COL_STDIO_PIPE;
	/* Each cat prints its own cgroup; the second also copies the first's. */
	cr_assert_eq(col_cmdline_parse("cat /proc/self/cgroup | cat /proc/self/cgroup -", NULL, 0,
				       &cl, &perr),
		     0);
	r = col_cmdline_start(cl, &ro, &pl, &rerr);
	cr_assert_eq(r, 0, "%s", rerr.message);
	col_cmdline_free(cl);
	read_all(pl.stdio[1], out, sizeof(out));
	cr_assert_geq(col_pipeline_wait(&pl, NULL), 0);
	col_pipeline_release(&pl);
	snprintf(want, sizeof(want), "0::%s\n", cg.rel);
	cr_expect(strstr(out, want) && strstr(strstr(out, want) + 1, want),
		  "both members should be in %s:\n%s", cg.rel, out);
	remove_cgroup(&cg);
}

TEST_NOLEAK(spawn_cgroup, a_bad_cgroup_fd_is_refused_before_any_child)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	char *argv[] = { "/bin/true", NULL };
	struct col_child c = COL_CHILD_INIT;
	struct col_spawn_error err;
	int dir = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);

	cr_assert_geq(dir, 0);
	o.argv = argv;
	o.flags = COL_SPAWN_SET_CGROUP;
	o.cgroup_fd = -1;
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EBADF);
	cr_assert_eq(err.step, COL_SPAWN_STEP_NONE);
	o.cgroup_fd = 1000; /* not open */
	cr_assert_eq(col_spawn_start(&o, &c, &err), -EBADF);
	o.cgroup_fd = dir; /* a directory, but not of a cgroup2 mount */
	cr_assert_eq(col_spawn_start(&o, &c, &err), -ENOTDIR);
	cr_assert_eq(err.error, ENOTDIR);
	cr_assert_eq(c.pidfd, -1, "output written on failure");
	cr_assert_eq(count_children(), 0);
	col_close(dir);
}

/* A cgroup removed after it was opened: the kernel refuses the clone
 * (ENODEV), the fallback child finds no cgroup.procs (ENOENT); either way
 * the step says "cgroup" and no child is left. */
TEST_NOLEAK(spawn_cgroup, a_removed_cgroup_fails_at_the_cgroup_step)
{
	static const unsigned variants[] = { 0, COL_SPAWN_USE_FORK };
	char *argv[] = { "/bin/true", NULL };
	struct test_cgroup cg;

	make_cgroup(&cg);
	cr_assert_eq(rmdir(cg.abs), 0);
	for (size_t i = 0; i < COL_ARRAY_SIZE(variants); i++) {
		struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
		struct col_child c = COL_CHILD_INIT;
		struct col_spawn_error err;
		int r;

		o.argv = argv;
		o.flags = COL_SPAWN_SET_CGROUP | variants[i];
		o.cgroup_fd = cg.fd;
		r = col_spawn_start(&o, &c, &err);
		cr_assert_lt(r, 0, "spawn into a removed cgroup succeeded");
		cr_expect_eq(err.step, COL_SPAWN_STEP_CGROUP, "step %s: %s",
			     col_spawn_step_name(err.step), strerror(-r));
		cr_expect_str_eq(col_spawn_step_name(err.step), "cgroup");
		cr_assert_eq(count_zombies_of(getpid()), 0);
	}
	col_close(cg.fd);
}
