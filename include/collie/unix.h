/*
 * collie/unix.h - unix-domain stream sockets for control channels: listen
 * on a path without ever stealing it from a live server, accept, connect,
 * and learn who is at the other end.
 *
 * Recipe (server):
 *   struct col_unix_listener l = COL_UNIX_LISTENER_INIT;
 *   r = col_unix_listen(&l, "/run/app.sock", 0600);  -EADDRINUSE: a live server has it
 *   when l.fd is readable:
 *     while (col_unix_accept(l.fd, &fd) >= 0) {
 *       col_unix_peer(fd, &peer);                    check peer.uid before trusting it
 *       ...
 *     }
 *   col_unix_unlisten(&l);                          unlinks the path if it is still ours
 *
 * Recipe (client):
 *   r = col_unix_connect("/run/app.sock", 0, &fd);  -ENOENT / -ECONNREFUSED: nobody there
 *
 * Every socket is born SOCK_CLOEXEC; the listener and accepted sockets
 * are non-blocking (they are meant for an event loop).
 *
 * Permissions: on Linux, connecting to a socket file needs write
 * permission on it, and the directory must be searchable. The file mode
 * is the first gate; the peer's credentials (col_unix_peer(), the kernel's
 * SO_PEERCRED, which the peer cannot forge) are the second.
 */
#ifndef COLLIE_UNIX_H
#define COLLIE_UNIX_H

#include <stdbool.h>
#include <sys/types.h>

#include "collie/common.h"

/* A listening socket and the file it is bound to. */
struct col_unix_listener {
	int fd;	    /* the listening socket (non-blocking, close-on-exec), or -1 */
	char *path; /* the socket file's path (owned), or NULL */
	dev_t dev;  /* the socket file as bound: unlink it only if it is still this */
	ino_t ino;
};

#define COL_UNIX_LISTENER_INIT \
	{                      \
		.fd = -1       \
	}

/* Who is at the other end of a connected socket, as the kernel saw it
 * when the connection was made (SO_PEERCRED). */
struct col_unix_peer {
	pid_t pid; /* the peer's pid, in this process's pid namespace (0 if unknown) */
	uid_t uid; /* its effective uid */
	gid_t gid; /* its effective gid */
};

enum col_unix_flags {
	COL_UNIX_NONBLOCK = 1 << 0, /* col_unix_connect(): a non-blocking socket */
};

/*
 * Bind a stream socket to path, with the file's permission bits exactly
 * `mode` (umask does not apply), and listen. l must be initialised with
 * COL_UNIX_LISTENER_INIT; it is filled only on success.
 *
 * A socket file already at path is replaced only when nobody listens on
 * it: it is tested with connect() and removed only when that is refused
 * (a supervisor that died without cleaning up). The test and the new bind
 * happen under an flock(2) on the directory, so two servers starting at
 * once on the same stale path cannot both win. The directory itself is
 * neither created nor checked: that is the caller's policy.
 *
 * Returns 0, -EADDRINUSE when a server is listening on path, -EEXIST when
 * path exists and is not a socket (it is left alone), -ENAMETOOLONG when
 * path does not fit in a sockaddr_un, -EINVAL for a NULL argument, or
 * another -errno (-EACCES, -ENOENT for a missing directory, ...).
 */
COL_API int col_unix_listen(struct col_unix_listener *l, const char *path, mode_t mode);

/*
 * Stop listening: remove the socket file if it is still the one bound by
 * col_unix_listen() (another server may have replaced it since), then
 * close the socket. Connections already accepted are not affected. Takes
 * a listener that never listened. Returns 0, or -errno from unlink.
 */
COL_API int col_unix_unlisten(struct col_unix_listener *l);

/*
 * Accept one connection: accept4(SOCK_CLOEXEC | SOCK_NONBLOCK), retried
 * on EINTR and ECONNABORTED. Returns 0 and *ret_fd (owned by the
 * caller), -EAGAIN when none is waiting, or -errno (-EMFILE, ...).
 */
COL_API int col_unix_accept(int listen_fd, int *ret_fd);

/*
 * Connect a new stream socket to path. flags: COL_UNIX_NONBLOCK. Returns
 * 0 and *ret_fd (owned by the caller), -ENOENT when nothing is at path,
 * -ECONNREFUSED when nobody listens there (a stale socket file), -EACCES,
 * -ENAMETOOLONG, -EAGAIN (non-blocking, the server's backlog is full), or
 * -errno.
 */
COL_API int col_unix_connect(const char *path, unsigned flags, int *ret_fd);

/* The credentials of the peer of a connected unix socket (SO_PEERCRED).
 * Returns 0 and *ret, or -errno (-ENOTSOCK, -EBADF). */
COL_API int col_unix_peer(int fd, struct col_unix_peer *ret);

#endif
