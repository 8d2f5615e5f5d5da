/*
 * bench.h - what every benchmark in bench/ shares: the method of
 * docs/benchmarks.md put in code.
 *
 * Recipe for a benchmark:
 *   1. Parse counts with bench_parse_uint() (atoi is banned, and a
 *      benchmark must refuse a typo rather than run with 0).
 *   2. Print bench_print_machine() and bench_print_load("at start"), so
 *      the output says where it came from.
 *   3. Time with bench_now_us(); keep every measurement of a repetition,
 *      and reduce each method's (or each ratio's) values with
 *      bench_summarize() to a median, minimum and maximum.
 *   4. Print bench_print_load("at end").
 * To measure another process (one's own unreaped child, so that its pid
 * cannot be recycled meanwhile): bench_proc_wait_asleep() until it waits,
 * then bench_proc_memory().
 */
#ifndef COLLIE_BENCH_H
#define COLLIE_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A set of measurements reduced for the tables. */
struct bench_summary {
	double median; /* what the tables report */
	double min;    /* smallest value */
	double max;    /* largest value */
};

/* What bench_proc_memory() reads, in kB: indices into its array. */
enum bench_mem_field {
	BENCH_MEM_RSS,	  /* Rss: resident */
	BENCH_MEM_PSS,	  /* Pss: shared pages divided among the processes mapping them */
	BENCH_MEM_ANON,	  /* Anonymous: heap, stack, written data; shared with nobody */
	BENCH_MEM_FIELDS, /* the array's length */
};

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t bench_now_us(void);

/*
 * strtoull with the checks atoi lacks: digits only, no sign, at most max.
 * With ret_end, stops at the first non-digit and stores its address there;
 * without, the whole string must be the number. Returns 0 or -EINVAL.
 */
int bench_parse_uint(const char *s, uint64_t max, uint64_t *ret, char **ret_end);

/*
 * Copy the first line of path that starts with prefix ("" for the first
 * line), without its newline, into buf. Returns 0, -ENOENT when no line
 * matches (buf is then ""), or -errno from opening path.
 */
int bench_read_line(const char *path, const char *prefix, char *buf, size_t len);

/* "# cpu: ...", cores, kernel, glibc, transparent huge pages, date (UTC). */
void bench_print_machine(void);

/* "# load average <when>: ..." from /proc/loadavg. */
void bench_print_load(const char *when);

/*
 * Whether path is an ELF64 executable without a program interpreter, that
 * is, one that execve() starts without ld.so. Returns 1 (static),
 * 0 (dynamic) or -errno (-ENOEXEC: not an ELF64 file).
 */
int bench_elf_is_static(const char *path);

/* "static", "dynamic" or "not ELF64", for bench_elf_is_static()'s result. */
const char *bench_linkage_name(int linkage);

/*
 * Poll /proc/PID/stat and /proc/PID/syscall until pid sleeps (state 'S')
 * inside a system call, at most max_polls times, 200 us apart: a process
 * that has finished starting up and waits for events. Sets *ret_nr to the
 * call's number. Returns 0, -ETIMEDOUT, or -errno (-ENOENT: no such pid;
 * -EACCES: /proc/PID/syscall needs ptrace access to pid).
 */
int bench_proc_wait_asleep(pid_t pid, unsigned max_polls, long *ret_nr);

/* Name of a system call an idle process typically waits in, else "?". */
const char *bench_syscall_name(long nr);

/* Rss, Pss and Anonymous of pid from /proc/PID/smaps_rollup (Linux 4.14),
 * in kB, into kb[enum bench_mem_field]. Returns 0 or -errno. */
int bench_proc_memory(pid_t pid, double kb[BENCH_MEM_FIELDS]);

/* "rss", "pss", "anon": the names in the tab-separated output. */
const char *bench_mem_field_name(enum bench_mem_field f);

/* Median, minimum and maximum of n > 0 values; sorts values in place. */
struct bench_summary bench_summarize(double *values, size_t n);

#endif
