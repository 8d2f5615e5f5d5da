/*
 * test-fd.c - the fd helpers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
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

TEST_NOLEAK(fd, reopen_has_its_own_status_flags)
{
	int p[2], w;
	char buf[8];
	ssize_t n;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	w = col_fd_reopen(p[1], O_WRONLY | O_NONBLOCK);
	cr_assert_geq(w, 0);
	cr_assert(fcntl(w, F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(w, F_GETFL) & O_NONBLOCK);
	cr_assert_not(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	cr_assert_eq(col_fd_write_all(w, "dog", 3), 3);
	cr_assert_eq(col_fd_read(p[0], buf, sizeof(buf)), 3);
	/* Fill the pipe through the new description: it says EAGAIN where
	 * the original one would block. */
	while ((n = write(w, "xxxxxxxx", 8)) > 0)
		;
	cr_assert_eq(n, -1);
	cr_assert_eq(errno, EAGAIN);
	close(w);
	close(p[0]);
	close(p[1]);
}

TEST_NOLEAK(fd, reopen_refuses_closed_fds_and_sockets)
{
	int sv[2], p[2], w;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	/* Nobody reads: the open does not wait (a named FIFO would), and
	 * a write fails as on the original. */
	w = col_fd_reopen(p[1], O_WRONLY);
	cr_assert_geq(w, 0);
	signal(SIGPIPE, SIG_IGN); /* this test's own process (Criterion) */
	cr_assert_eq(col_fd_write_all(w, "x", 1), -EPIPE);
	close(w);
	close(p[1]);
	cr_assert_eq(col_fd_reopen(p[1], O_WRONLY), -EBADF);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(col_fd_reopen(sv[0], O_WRONLY), -ENXIO);
	close(sv[0]);
	close(sv[1]);
}
