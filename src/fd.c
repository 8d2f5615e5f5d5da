/*
 * fd.c - file-descriptor helpers.
 *
 * The EINTR policy of the whole library lives here: read and write are
 * retried, close never is (on Linux the descriptor is released even when
 * close() reports EINTR, and retrying could close an fd another thread
 * has just been handed).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "collie/fd.h"
#include "fd-internal.h"

int col_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

int col_fd_set_nonblock(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -errno;
	if (!!(flags & O_NONBLOCK) == on)
		return 0;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	if (fcntl(fd, F_SETFL, flags) < 0)
		return -errno;
	return 0;
}

int col_fd_set_cloexec(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -errno;
	if (!!(flags & FD_CLOEXEC) == on)
		return 0;
	flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	if (fcntl(fd, F_SETFD, flags) < 0)
		return -errno;
	return 0;
}

int col_fd_reopen(int fd, int flags)
{
	char path[32];
	int r;

	/* Checked first: the path of a closed fd fails with ENOENT, which
	 * would read as "no /proc". */
	if (fcntl(fd, F_GETFD) < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (;;) {
		/* Linux opens an end of an anonymous pipe at once, even
		 * when nobody holds the other end (fs/pipe.c, fifo_open():
		 * the wait is for named FIFOs only). */
		r = open(path, flags | O_CLOEXEC | O_NOCTTY);
		if (r >= 0 || errno != EINTR)
			break;
	}
	return r >= 0 ? r : -errno;
}

int col__pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		int fd;

		if (fds[i] > 2)
			continue;
		fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		col_close(fds[i]);
		fds[i] = fd;
		if (fd < 0) {
			int r = -errno;

			fds[0] = col_close(fds[0]);
			fds[1] = col_close(fds[1]);
			return r;
		}
	}
	return 0;
}

ssize_t col_fd_read(int fd, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t col_fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return (ssize_t)len;
}

int col_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}
