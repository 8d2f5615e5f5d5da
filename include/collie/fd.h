/*
 * collie/fd.h - small file-descriptor helpers used across libcollie.
 *
 * Recipe:
 *   fd = col_close(fd);          close and reset in one statement
 *   col_fd_set_nonblock(fd, true);
 *   col_fd_set_cloexec(fd, false); only for an fd a child must inherit
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
