/*
 * test-unix.c - unix-domain sockets: a listener that never steals a live
 * path, stale-file replacement, modes, accept/connect, peer credentials.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/unix.h"
#include "check.h"

/* Not "unix": gcc predefines that as a macro in GNU C mode. */
TestSuite(unix_socket, .timeout = 10);

static char dir[64];
static char path[128];

/* A fresh directory and a socket path in it; umask 022 as usual. */
static void fresh(void)
{
	snprintf(dir, sizeof(dir), "/tmp/collie-unix-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	umask(022);
}

static void cleanup(void)
{
	unlink(path);
	cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);
}

static mode_t file_mode(const char *p)
{
	struct stat st;

	cr_assert_eq(lstat(p, &st), 0);
	return st.st_mode;
}

TEST_NOLEAK(unix_socket, listen_sets_the_exact_mode_and_unlisten_removes)
{
	struct col_unix_listener l = COL_UNIX_LISTENER_INIT;

	fresh();
	cr_assert_eq(col_unix_listen(&l, path, 0600), 0);
	cr_assert(S_ISSOCK(file_mode(path)));
	cr_assert_eq(file_mode(path) & 07777, 0600);
	cr_assert(fcntl(l.fd, F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(l.fd, F_GETFL) & O_NONBLOCK);
	cr_assert_eq(col_unix_unlisten(&l), 0);
	cr_assert_eq(l.fd, -1);
	cr_assert_eq(access(path, F_OK), -1, "unlisten left the file");

	/* Bits the umask would take are set all the same. */
	cr_assert_eq(col_unix_listen(&l, path, 0666), 0);
	cr_assert_eq(file_mode(path) & 07777, 0666);
	col_unix_unlisten(&l);
	cleanup();
}

TEST_NOLEAK(unix_socket, a_live_socket_is_never_taken)
{
	struct col_unix_listener a = COL_UNIX_LISTENER_INIT, b = COL_UNIX_LISTENER_INIT;
	int c, s;

	fresh();
	cr_assert_eq(col_unix_listen(&a, path, 0600), 0);
	cr_assert_eq(col_unix_listen(&b, path, 0600), -EADDRINUSE);
	cr_assert_eq(b.fd, -1);
	/* The probe's connection is waiting on the first; drain it. */
	cr_assert_eq(col_unix_accept(a.fd, &s), 0);
	col_close(s);
	/* The first still answers. */
	cr_assert_eq(col_unix_connect(path, 0, &c), 0);
	cr_assert_eq(col_unix_accept(a.fd, &s), 0);
	col_close(c);
	col_close(s);
	cr_assert_eq(col_unix_accept(a.fd, &s), -EAGAIN);
	col_unix_unlisten(&a);
	cleanup();
}

TEST_NOLEAK(unix_socket, a_stale_socket_is_replaced)
{
	struct col_unix_listener l = COL_UNIX_LISTENER_INIT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c;

	fresh();
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	col_close(fd); /* a server that died: the file stays */
	cr_assert_eq(col_unix_connect(path, 0, &c), -ECONNREFUSED);
	cr_assert_eq(col_unix_listen(&l, path, 0600), 0);
	cr_assert_eq(col_unix_connect(path, 0, &c), 0);
	col_close(c);
	col_unix_unlisten(&l);
	cleanup();
}

TEST_NOLEAK(unix_socket, a_file_that_is_not_a_socket_is_left_alone)
{
	struct col_unix_listener l = COL_UNIX_LISTENER_INIT;
	int fd;

	fresh();
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	col_close(fd);
	cr_assert_eq(col_unix_listen(&l, path, 0600), -EEXIST);
	cr_assert(S_ISREG(file_mode(path)));
	cleanup();
}

TEST_NOLEAK(unix_socket, unlisten_leaves_a_file_that_replaced_ours)
{
	struct col_unix_listener l = COL_UNIX_LISTENER_INIT;
	int fd;

	fresh();
	cr_assert_eq(col_unix_listen(&l, path, 0600), 0);
	cr_assert_eq(unlink(path), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	col_close(fd);
	cr_assert_eq(col_unix_unlisten(&l), 0);
	cr_assert(S_ISREG(file_mode(path)), "unlisten removed someone else's file");
	cleanup();
}

TEST_NOLEAK(unix_socket, bad_paths)
{
	struct col_unix_listener l = COL_UNIX_LISTENER_INIT;
	char long_path[200];
	int fd;

	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = 0;
	cr_assert_eq(col_unix_listen(&l, long_path, 0600), -ENAMETOOLONG);
	cr_assert_eq(col_unix_connect(long_path, 0, &fd), -ENAMETOOLONG);
	cr_assert_eq(col_unix_listen(&l, "", 0600), -EINVAL);
	cr_assert_eq(col_unix_listen(NULL, "/tmp/x", 0600), -EINVAL);
	cr_assert_eq(col_unix_listen(&l, "/nonexistent-dir/s.sock", 0600), -ENOENT);
	cr_assert_eq(col_unix_connect("/nonexistent-dir/s.sock", 0, &fd), -ENOENT);
	cr_assert_eq(col_unix_connect("/tmp/x", 1u << 7, &fd), -EINVAL);
	cr_assert_eq(col_unix_unlisten(&l), 0, "a listener that never listened");
	cr_assert_eq(col_unix_unlisten(NULL), 0);
}

TEST_NOLEAK(unix_socket, accepted_sockets_are_cloexec_nonblocking_and_know_their_peer)
{
	struct col_unix_listener l = COL_UNIX_LISTENER_INIT;
	struct col_unix_peer peer;
	char buf[8];
	int c, s;

	fresh();
	cr_assert_eq(col_unix_listen(&l, path, 0600), 0);
	cr_assert_eq(col_unix_accept(l.fd, &s), -EAGAIN);
	cr_assert_eq(col_unix_connect(path, 0, &c), 0);
	cr_assert(fcntl(c, F_GETFD) & FD_CLOEXEC);
	cr_assert_not(fcntl(c, F_GETFL) & O_NONBLOCK);
	cr_assert_eq(col_unix_accept(l.fd, &s), 0);
	cr_assert(fcntl(s, F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(s, F_GETFL) & O_NONBLOCK);
	cr_assert_eq(col_unix_peer(s, &peer), 0);
	cr_assert_eq(peer.pid, getpid());
	cr_assert_eq(peer.uid, geteuid());
	cr_assert_eq(peer.gid, getegid());
	cr_assert_eq(col_fd_write_all(c, "hi", 2), 2);
	cr_assert_eq(col_fd_read(s, buf, sizeof(buf)), 2);
	cr_assert_eq(col_unix_peer(-1, &peer), -EBADF);
	col_close(c);
	col_close(s);
	col_unix_unlisten(&l);
	cleanup();
}

/*
 * Eight servers start at once on one stale path: exactly one may win.
 * (Without the directory lock, two could both see "refused" and the
 * second would unlink the first's fresh socket. The window is a few
 * system calls wide, so this rarely fails without the lock; with a 2 ms
 * sleep put between bind and listen it failed every time without the
 * lock and never with it.) Each child waits for a
 * "go" byte, listens, reports, and holds its socket until the parent has
 * heard from everyone.
 */
TEST_NOLEAK(unix_socket, racing_servers_on_a_stale_path_one_wins)
{
	enum { N = 8 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int go[2], res[2], hold[2], fd, wins = 0, busy = 0;
	pid_t kids[N];

	fresh();
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	col_close(fd); /* stale */
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(res, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(hold, O_CLOEXEC), 0);
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		cr_assert_geq(kids[i], 0);
		if (kids[i] == 0) {
			struct col_unix_listener l = COL_UNIX_LISTENER_INIT;
			char c;
			int r;

			col_close(go[1]);
			col_close(hold[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(3);
			r = col_unix_listen(&l, path, 0600);
			if (write(res[1], &r, sizeof(r)) != sizeof(r))
				_exit(3);
			if (read(hold[0], &c, 1) != 0) /* until the parent has counted */
				_exit(3);
			col_unix_unlisten(&l);
			_exit(0);
		}
	}
	col_close(go[0]);
	col_close(go[1]); /* go */
	col_close(res[1]);
	col_close(hold[0]);
	for (int i = 0; i < N; i++) {
		int r;

		cr_assert_eq(read(res[0], &r, sizeof(r)), (ssize_t)sizeof(r));
		if (r == 0)
			wins++;
		else if (r == -EADDRINUSE)
			busy++;
	}
	col_close(res[0]);
	col_close(hold[1]);
	for (int i = 0; i < N; i++)
		cr_assert_eq(col_reap_pid(kids[i], 0, NULL), 1);
	cr_assert_eq(wins, 1);
	cr_assert_eq(busy, N - 1);
	cleanup();
}
