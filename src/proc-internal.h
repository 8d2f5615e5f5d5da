/*
 * proc-internal.h - /proc parsing the library's modules share (and its
 * tests reach) but does not export.
 */
#ifndef COLLIE_PROC_INTERNAL_H
#define COLLIE_PROC_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Read a list of pids separated by blanks (a /proc/PID/task/TID/children
 * file) from fd to EOF, in reads of whatever size come: a pid cut between
 * two reads is joined again. Stores up to len of them at buf + *n and adds
 * how many there were to *n (more than fit are counted, not stored).
 * Returns 0 or -errno of a failed read.
 */
int col__read_pids(int fd, pid_t *buf, size_t len, size_t *n);

#endif
