/*
 * unix.c - unix-domain stream sockets: a listener that never steals a
 * live server's path, accept, connect, peer credentials.
 *
 * Decisions that are not obvious:
 *  - The file mode is set with fchmod() on the socket before bind(): on
 *    Linux bind() creates the file with the socket inode's mode less the
 *    umask, so the file is never, even for an instant, more open than
 *    asked. It is then corrected with chmod() only when the umask took
 *    bits the caller wanted (0666 under umask 022).
 *  - A socket file left by a dead server makes bind() fail with
 *    EADDRINUSE. It is removed only once a connect() to it is refused;
 *    any other answer (accepted, backlog full, permission denied) leaves
 *    it alone. Test, unlink, bind and listen happen under an exclusive
 *    flock(2) on the directory: without it, two servers starting at once
 *    could both see "refused" (the other has bound but not yet listened)
 *    and the second would unlink the first's fresh socket. The lock is
 *    held for a few system calls; a directory that cannot be opened for
 *    reading (mode 0311) is used without it.
 *  - Unlisten removes the file before closing the socket and only when
 *    its device and inode are still those bound: while we listen nobody
 *    following these rules can have replaced it, and a file that is not
 *    ours (an administrator removed ours and started another server) is
 *    left to its owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/unix.h"
#include "banned.h"

static int make_addr(const char *path, struct sockaddr_un *sa, socklen_t *ret_len)
{
	size_t n;

	if (!path || !*path)
		return -EINVAL;
	n = strlen(path);
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* Lock path's directory (see the top of the file). Returns the locked
 * fd, or -1 when the directory cannot be opened: go on without the lock. */
static int lock_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;

	if (!slash) {
		dir[0] = '.';
		dir[1] = 0;
	} else {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		memcpy(dir, path, n);
		dir[n] = 0;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return col_close(fd);
	return fd;
}

/* The file at path made bind() fail: remove it if it is a socket nobody
 * listens on. 0 when the way is clear, or -errno. */
static int clear_stale(const char *path)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	r = col_unix_connect(path, COL_UNIX_NONBLOCK, &fd);
	if (r >= 0) {
		col_close(fd);
		return -EADDRINUSE;
	}
	if (r == -EAGAIN) /* its backlog is full: very much alive */
		return -EADDRINUSE;
	if (r == -ENOENT)
		return 0;
	if (r != -ECONNREFUSED)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int bind_listen(int fd, const char *path, mode_t mode, struct stat *ret_st)
{
	struct sockaddr_un sa;
	socklen_t len;
	int r = make_addr(path, &sa, &len);

	if (r < 0)
		return r;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		if (errno != EADDRINUSE)
			return -errno;
		r = clear_stale(path);
		if (r < 0)
			return r;
		if (bind(fd, (struct sockaddr *)&sa, len) < 0)
			return errno == EADDRINUSE ? -EADDRINUSE : -errno;
	}
	if (lstat(path, ret_st) < 0)
		r = -errno;
	else if ((ret_st->st_mode & 07777) != mode && chmod(path, mode) < 0)
		r = -errno;
	if (r >= 0 && listen(fd, SOMAXCONN) < 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

int col_unix_listen(struct col_unix_listener *l, const char *path, mode_t mode)
{
	struct sockaddr_un sa;
	struct stat st;
	socklen_t len;
	char *copy;
	int fd, dirfd, r;

	if (!l || !path)
		return -EINVAL;
	r = make_addr(path, &sa, &len);
	if (r < 0)
		return r;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto fail;
	}
	dirfd = lock_dir(path);
	r = bind_listen(fd, path, mode, &st);
	col_close(dirfd); /* releases the lock */
	if (r < 0)
		goto fail;
	l->fd = fd;
	l->path = copy;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
fail:
	col_close(fd);
	free(copy);
	return r;
}

int col_unix_unlisten(struct col_unix_listener *l)
{
	struct stat st;
	int r = 0;

	if (!l)
		return 0;
	if (l->fd >= 0 && l->path && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino && unlink(l->path) < 0)
		r = -errno;
	l->fd = col_close(l->fd);
	free(l->path);
	l->path = NULL;
	return r;
}

int col_unix_accept(int listen_fd, int *ret_fd)
{
	int fd;

	if (!ret_fd)
		return -EINVAL;
	for (;;) {
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			break;
		if (errno != EINTR && errno != ECONNABORTED)
			return -errno;
	}
	*ret_fd = fd;
	return 0;
}

/* A blocking connect() interrupted by a signal goes on in the
 * background (connect(2)): wait for it and read its result. */
static int finish_connect(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

int col_unix_connect(const char *path, unsigned flags, int *ret_fd)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd, r;

	if (!ret_fd || (flags & ~(unsigned)COL_UNIX_NONBLOCK))
		return -EINVAL;
	r = make_addr(path, &sa, &len);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX,
		    SOCK_STREAM | SOCK_CLOEXEC | (flags & COL_UNIX_NONBLOCK ? SOCK_NONBLOCK : 0),
		    0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		r = errno == EINTR && !(flags & COL_UNIX_NONBLOCK) ? finish_connect(fd) : -errno;
		if (r < 0) {
			col_close(fd);
			return r;
		}
	}
	*ret_fd = fd;
	return 0;
}

int col_unix_peer(int fd, struct col_unix_peer *ret)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!ret)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	ret->pid = cred.pid;
	ret->uid = cred.uid;
	ret->gid = cred.gid;
	return 0;
}
