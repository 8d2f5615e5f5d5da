/*
 * proc.c - reading /proc about a process: stat, children, PSS.
 *
 * Decisions that are not obvious:
 *  - /proc/PID/stat's second field is the command name in parentheses,
 *    and a name may itself contain spaces and ')': the fields are counted
 *    from the LAST ')' of the line (proc(5)).
 *  - A child is listed in the children file of the thread that forked
 *    it, so every thread's file is read (proc(5), CONFIG_PROC_CHILDREN,
 *    Linux 3.5).
 *  - ENOENT on /proc/PID/... means either "no such process" or "no
 *    /proc"; /proc/self tells them apart.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/proc.h"
#include "proc-internal.h"
#include "banned.h"

static void proc_path(char *buf, size_t len, pid_t pid, const char *rest)
{
	if (pid == 0)
		snprintf(buf, len, "/proc/self/%s", rest);
	else
		snprintf(buf, len, "/proc/%d/%s", (int)pid, rest);
}

/* errno after a failed open of a /proc/PID file, as this module returns it. */
static int open_error(void)
{
	int e = errno;

	if (e == ENOENT && access("/proc/self", F_OK) == 0)
		return -ESRCH;
	return -e;
}

/* Read a small /proc file whole into buf (NUL-terminated). Returns the
 * length or -errno. */
static ssize_t read_small(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n = 0, got = 0;
	int fd;

	proc_path(path, sizeof(path), pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open_error();
	while ((size_t)got < len - 1 && (n = col_fd_read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	col_close(fd);
	if (n < 0)
		return n;
	buf[got] = 0;
	return got;
}

int col_proc_stat(pid_t pid, struct col_proc_stat *ret)
{
	char buf[1024], *p, *end;
	unsigned long long v[22];
	long self;
	ssize_t n;

	if (!ret || pid < 0)
		return -EINVAL;
	n = read_small(pid, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	/* Fields 3 (state) to 24 (rss); v[i] is field i + 3, v[0] unused. */
	v[0] = (unsigned char)p[2];
	p += 3;
	for (size_t i = 1; i < COL_ARRAY_SIZE(v); i++) {
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			return -EIO;
		p = end;
	}
	self = strtol(buf, &end, 10);
	if (end == buf || self <= 0)
		return -EIO;
	ret->pid = (pid_t)self;
	ret->state = (char)v[0];
	ret->ppid = (pid_t)v[1];
	ret->pgid = (pid_t)v[2];
	ret->sid = (pid_t)v[3];
	ret->rss = (uint64_t)v[21] * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

/* Count, and store while there is room, the pids in s (NUL-ended). */
static void add_pids(const char *s, pid_t *buf, size_t len, size_t *n)
{
	char *end;

	for (; *s; s = end) {
		long v = strtol(s, &end, 10);

		if (end == s)
			break;
		if (v > 0 && *n < len)
			buf[*n] = (pid_t)v;
		if (v > 0)
			(*n)++;
	}
}

int col__read_pids(int fd, pid_t *buf, size_t len, size_t *n)
{
	char data[4096];
	size_t keep = 0;
	ssize_t got;

	/*
	 * A list longer than one read comes in pieces, and the kernel's
	 * seq_file may cut a pid between two reads (with pages larger than
	 * the buffer): digits at the end of a piece wait for what follows.
	 */
	while ((got = col_fd_read(fd, data + keep, sizeof(data) - 1 - keep)) > 0) {
		size_t all = keep + (size_t)got, whole = all;
		char after;

		while (whole > 0 && data[whole - 1] >= '0' && data[whole - 1] <= '9')
			whole--;
		if (whole == 0 && all == sizeof(data) - 1)
			whole = all; /* no blank in a whole buffer: not a pid list */
		after = data[whole];
		data[whole] = 0;
		add_pids(data, buf, len, n);
		data[whole] = after;
		keep = all - whole;
		memmove(data, data + whole, keep);
	}
	data[keep] = 0;
	add_pids(data, buf, len, n);
	return got < 0 ? (int)got : 0;
}

/* Append the pids listed in one children file (dirfd: the task dir). */
static int list_task_children(int dirfd, const char *tid, pid_t *buf, size_t len, size_t *n)
{
	char path[NAME_MAX + 16];
	int fd, r;

	snprintf(path, sizeof(path), "%s/children", tid);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* the thread just ended */
	r = col__read_pids(fd, buf, len, n);
	col_close(fd);
	return r;
}

int col_proc_children(pid_t pid, pid_t *buf, size_t len)
{
	char path[64];
	struct dirent *de;
	size_t n = 0;
	int r = 0;
	DIR *d;

	if ((!buf && len > 0) || pid < 0)
		return -EINVAL;
	proc_path(path, sizeof(path), pid, "task");
	d = opendir(path);
	if (!d)
		return open_error();
	while (r >= 0 && (de = readdir(d)))
		if (de->d_name[0] != '.')
			r = list_task_children(dirfd(d), de->d_name, buf, len, &n);
	closedir(d);
	if (r < 0)
		return r;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

int col_proc_pss(pid_t pid, uint64_t *ret_bytes)
{
	char buf[4096], *p;
	unsigned long long kb;
	ssize_t n;

	if (!ret_bytes || pid < 0)
		return -EINVAL;
	n = read_small(pid, "smaps_rollup", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strstr(buf, "\nPss:");
	if (!p || sscanf(p + 5, "%llu kB", &kb) != 1)
		return -EIO;
	*ret_bytes = (uint64_t)kb * 1024;
	return 0;
}
