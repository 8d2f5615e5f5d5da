/*
 * check.c - leak checks and helpers shared by the unit tests.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collie/fd.h"
#include "check.h"

static int fds_at_setup;

void check_setup(void)
{
	fds_at_setup = col_fd_count();
	cr_assert_geq(fds_at_setup, 0);
	cr_assert_eq(count_children(), 0, "a child existed before the test started");
}

void check_teardown(void)
{
	int fds = col_fd_count();

	cr_assert_eq(fds, fds_at_setup, "fd leak: %d open at start, %d at end", fds_at_setup, fds);
	cr_assert_eq(count_children(), 0, "the test left a child (running or zombie)");
}

const char *helper_path(void)
{
	const char *p = getenv("COLLIE_TEST_HELPER");

	cr_assert(p && access(p, X_OK) == 0, "COLLIE_TEST_HELPER is not set to the helper binary");
	return p;
}

int count_children(void)
{
	char path[64], buf[8192];
	FILE *f;
	size_t n;
	int count = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
	f = fopen(path, "re");
	cr_assert(f, "cannot open %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* One save pointer for the whole walk: a compound literal in each
	 * call would be a fresh NULL one, and the second call would crash. */
	for (char *save = NULL, *p = strtok_r(buf, " \n", &save); p;
	     p = strtok_r(NULL, " \n", &save))
		count++;
	return count;
}

int count_zombies_of(pid_t ppid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;

	cr_assert(d);
	while ((de = readdir(d))) {
		char path[300], buf[512], state;
		int pp;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');
			if (p && sscanf(p + 1, " %c %d", &state, &pp) == 2 && state == 'Z' &&
			    pp == ppid)
				count++;
		}
		fclose(f);
	}
	closedir(d);
	return count;
}

size_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;

	cr_assert_gt(len, 0);
	for (;;) {
		ssize_t n = col_fd_read(fd, buf + got, len - 1 - got);

		cr_assert_geq(n, 0, "read: %s", strerror((int)-n));
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == len - 1)
			break;
	}
	buf[got] = 0;
	return got;
}

size_t read_line(int fd, char *buf, size_t len)
{
	size_t got = 0;

	cr_assert_gt(len, 0);
	while (got < len - 1) {
		ssize_t n = col_fd_read(fd, buf + got, 1);

		cr_assert_geq(n, 0, "read: %s", strerror((int)-n));
		if (n == 0)
			break;
		if (buf[got++] == '\n')
			break;
	}
	buf[got] = 0;
	return got;
}
