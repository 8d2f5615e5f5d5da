/*
 * collie/common.h - definitions shared by every libcollie header.
 *
 * Conventions that hold for the whole library:
 *  - Functions return int: >= 0 on success, -errno on failure. The global
 *    errno is never the way a collie call reports why it failed.
 *  - Outputs go through ret_ parameters, written only on success.
 *  - Pointers and fds passed in are borrowed unless a function's name or
 *    comment says otherwise (_take moves on success, _consume always).
 *  - Time is uint64_t microseconds of CLOCK_MONOTONIC (COL_USEC_INFINITY
 *    for "never").
 *  - The library never prints, logs, exits or installs signal handlers.
 */
#ifndef COLLIE_COMMON_H
#define COLLIE_COMMON_H

#include <stdint.h>

/* Marks a symbol exported from libcollie; everything else is hidden. */
#define COL_API __attribute__((visibility("default")))

/* Microseconds, the one time unit of collie. */
#define COL_USEC_PER_SEC UINT64_C(1000000)
#define COL_USEC_PER_MSEC UINT64_C(1000)
#define COL_USEC_INFINITY UINT64_MAX

#define COL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
