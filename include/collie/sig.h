/*
 * collie/sig.h - signal names and numbers.
 *
 * Recipe:
 *   int sig = col_signal_parse("TERM");         -> 15
 *   const char *n = col_signal_name(SIGKILL);  -> "SIGKILL"
 *
 * Names follow the kernel's numbering on this architecture; real-time
 * signals are written and read as "RTMIN+N" / "RTMAX-N".
 */
#ifndef COLLIE_SIG_H
#define COLLIE_SIG_H

#include <stddef.h>

#include "collie/common.h"

/*
 * The canonical name of a signal, "SIGTERM" for 15, or NULL when signo is
 * not a signal with a fixed name (real-time signals, out of range).
 * Thread-safe and async-signal-safe; returns static storage.
 */
COL_API const char *col_signal_name(int signo);

/*
 * Write a signal's name into buf: "SIGTERM", "SIGRTMIN+3", or "signal 99"
 * for numbers that are not signals. Returns what snprintf returns, or
 * -EINVAL for a NULL buf with len > 0.
 */
COL_API int col_signal_format(int signo, char *buf, size_t len);

/*
 * Parse a signal given as "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2",
 * "SIGRTMAX-1". Returns the number (> 0) or -EINVAL when s names no
 * signal (0 is not a signal here).
 */
COL_API int col_signal_parse(const char *s);

#endif
