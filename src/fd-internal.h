/*
 * fd-internal.h - fd helpers the library's modules share but does not
 * export.
 */
#ifndef COLLIE_FD_INTERNAL_H
#define COLLIE_FD_INTERNAL_H

/*
 * pipe2(O_CLOEXEC) whose two ends are never fds 0, 1 or 2. In a caller
 * that runs with stdin, stdout or stderr closed, a plain pipe takes those
 * numbers, and a child set to inherit that fd, or a daemon putting
 * /dev/null there, would take the library's pipe end for it. Returns 0 or
 * -errno (nothing open then).
 */
int col__pipe(int fds[2]);

#endif
