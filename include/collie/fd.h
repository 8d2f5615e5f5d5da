/*
 * collie/fd.h - small file-descriptor helpers used across libcollie.
 *
 * Recipe:
 *   fd = col_close(fd);          close and reset in one statement
 *   col_fd_set_nonblock(fd, true);
 *   col_fd_set_cloexec(fd, false); only for an fd a child must inherit
 *   out = col_fd_reopen(1, O_WRONLY | O_NONBLOCK);  a private description
 *
 * Every fd libcollie creates is born close-on-exec; a child receives an fd
 * only because a spawn option puts it in place.
 */
#ifndef COLLIE_FD_H
#define COLLIE_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "collie/common.h"

/*
 * Close fd unless it is negative, keep errno, never retry on EINTR (Linux
 * frees the descriptor even when close() is interrupted). Returns -1 so the
 * caller writes `fd = col_close(fd);`. Async-signal-safe.
 */
COL_API int col_close(int fd);

/* Set or clear O_NONBLOCK. Returns 0 or -errno (-EBADF). */
COL_API int col_fd_set_nonblock(int fd, bool on);

/* Set or clear FD_CLOEXEC. Returns 0 or -errno (-EBADF). */
COL_API int col_fd_set_cloexec(int fd, bool on);

/*
 * Open a new file description of whatever fd refers to (through
 * /proc/self/fd/N), with flags (O_RDONLY / O_WRONLY / O_RDWR, O_NONBLOCK,
 * O_APPEND; O_CLOEXEC and O_NOCTTY are always added). Unlike a dup, the
 * new description has status flags of its own: O_NONBLOCK on it leaves
 * the shared one alone, so a program can write to the terminal or pipe
 * it inherited without blocking and without changing that fd for the
 * shell or the other processes holding it. For a regular file the new
 * description also has its own offset (open with O_APPEND to write at the
 * end). An anonymous pipe's end opens at once even when nobody holds
 * the other end; a named FIFO's may wait, as open(2) says, unless
 * O_NONBLOCK is given.
 * Returns the new fd (close-on-exec), or -errno: -EBADF when fd is
 * not open, -ENXIO for a socket (sockets cannot be opened; use
 * send(MSG_DONTWAIT) on them instead), -ENOENT without /proc, or the
 * error of open(2) (-EACCES, ...).
 */
COL_API int col_fd_reopen(int fd, int flags);

/*
 * read(2) retried on EINTR. Returns the byte count (0 at EOF) or -errno
 * (-EAGAIN on an empty non-blocking fd).
 */
COL_API ssize_t col_fd_read(int fd, void *buf, size_t len);

/*
 * write(2) of the whole buffer, retried on EINTR and on short writes.
 * Returns len or -errno; on a non-blocking fd it may return -EAGAIN after
 * part was written, so use it there only for writes of at most PIPE_BUF.
 */
COL_API ssize_t col_fd_write_all(int fd, const void *buf, size_t len);

/*
 * Count the open fds of this process (entries of /proc/self/fd, minus the
 * one used to list them). Returns the count or -errno. Used by tests and
 * diagnostics to prove nothing leaked.
 */
COL_API int col_fd_count(void);

#endif
