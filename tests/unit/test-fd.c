/*
 * test-fd.c - the fd helpers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "collie/fd.h"
#include "check.h"

TestSuite(fd, .timeout = 10);

TEST_NOLEAK(fd, close_returns_minus_one_and_keeps_errno)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	errno = EXDEV;
	fd = col_close(fd);
	cr_assert_eq(fd, -1);
	cr_assert_eq(errno, EXDEV);
	cr_assert_eq(col_close(-1), -1);
	cr_assert_eq(errno, EXDEV);
}

TEST_NOLEAK(fd, flags_toggle)
{
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(col_fd_set_nonblock(p[0], true), 0);
	cr_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	cr_assert_eq(col_fd_read(p[0], (char[4]){ 0 }, 4), -EAGAIN);
	cr_assert_eq(col_fd_set_nonblock(p[0], false), 0);
	cr_assert_not(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	cr_assert_eq(col_fd_set_cloexec(p[1], false), 0);
	cr_assert_not(fcntl(p[1], F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(col_fd_set_cloexec(p[1], true), 0);
	cr_assert(fcntl(p[1], F_GETFD) & FD_CLOEXEC);
	close(p[0]);
	close(p[1]);
	cr_assert_eq(col_fd_set_nonblock(p[0], true), -EBADF);
	cr_assert_eq(col_fd_set_cloexec(p[0], true), -EBADF);
}

TEST_NOLEAK(fd, write_all_and_read)
{
	int p[2];
	char buf[16];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(col_fd_write_all(p[1], "collie", 6), 6);
	close(p[1]);
	cr_assert_eq(col_fd_read(p[0], buf, sizeof(buf)), 6);
	cr_assert_eq(col_fd_read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	cr_assert_eq(col_fd_write_all(p[1], "x", 1), -EBADF);
}

TEST_NOLEAK(fd, count_sees_a_new_fd)
{
	int before = col_fd_count();
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cr_assert_eq(col_fd_count(), before + 1);
	close(fd);
	cr_assert_eq(col_fd_count(), before);
}
