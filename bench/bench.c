/*
 * bench.c - the helpers every benchmark shares (see bench.h): the clock,
 * number parsing, the machine description and the medians.
 *
 * A benchmark's numbers mean something only with the machine they came
 * from, so each prints the CPU as /proc/cpuinfo names it (with family and
 * model: a hypervisor may report a bare "AMD EPYC"), the kernel, the
 * glibc, the date and the load average. Those lines start with "# " so
 * that the tab-separated results can be grepped out of the output.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "collie/common.h"
#include "collie/fd.h"
#include "bench.h"
#include "banned.h"

uint64_t bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * COL_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

int bench_parse_uint(const char *s, uint64_t max, uint64_t *ret, char **ret_end)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || v > max)
		return -EINVAL;
	if (!ret_end && *end)
		return -EINVAL;
	if (ret_end)
		*ret_end = end;
	*ret = v;
	return 0;
}

int bench_read_line(const char *path, const char *prefix, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(buf, (int)len, f)) {
		if (strncmp(buf, prefix, strlen(prefix)) == 0) {
			buf[strcspn(buf, "\n")] = '\0';
			r = 0;
			break;
		}
	}
	fclose(f);
	if (r < 0 && len)
		buf[0] = '\0';
	return r;
}

/* "key\t: value" -> "value" */
static const char *after_colon(const char *line)
{
	const char *p = strchr(line, ':');

	return p ? p + 1 + strspn(p + 1, " ") : line;
}

void bench_print_machine(void)
{
	char cpu[256], family[64], model[64], thp[256], date[64];
	struct utsname u;
	time_t t = time(NULL);
	struct tm tm;

	if (bench_read_line("/proc/cpuinfo", "model name", cpu, sizeof(cpu)) < 0)
		snprintf(cpu, sizeof(cpu), "model name: unknown");
	if (bench_read_line("/proc/cpuinfo", "cpu family", family, sizeof(family)) < 0)
		snprintf(family, sizeof(family), "cpu family: ?");
	if (bench_read_line("/proc/cpuinfo", "model\t", model, sizeof(model)) < 0)
		snprintf(model, sizeof(model), "model: ?");
	if (bench_read_line("/sys/kernel/mm/transparent_hugepage/enabled", "", thp, sizeof(thp)) <
	    0)
		snprintf(thp, sizeof(thp), "unknown");
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	printf("# cpu: %s (family %s, model %s)\n", after_colon(cpu), after_colon(family),
	       after_colon(model));
	printf("# cores online: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("# kernel: %s %s\n", u.release, u.machine);
	printf("# glibc: %s\n", gnu_get_libc_version());
	printf("# transparent_hugepage/enabled: %s\n", thp);
	printf("# date: %s\n", date);
}

void bench_print_load(const char *when)
{
	char load[128];

	if (bench_read_line("/proc/loadavg", "", load, sizeof(load)) < 0)
		snprintf(load, sizeof(load), "unknown");
	printf("# load average %s: %s\n", when, load);
}

int bench_elf_is_static(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int r = 1, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph))
		r = -ENOEXEC;
	for (unsigned i = 0; r == 1 && i < eh.e_phnum; i++) {
		off_t off = (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph));

		if (pread(fd, &ph, sizeof(ph), off) != (ssize_t)sizeof(ph))
			r = -ENOEXEC;
		else if (ph.p_type == PT_INTERP)
			r = 0;
	}
	col_close(fd);
	return r;
}

const char *bench_linkage_name(int linkage)
{
	return linkage > 0 ? "static" : linkage == 0 ? "dynamic" : "not ELF64";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct bench_summary bench_summarize(double *values, size_t n)
{
	qsort(values, n, sizeof(double), cmp_double);
	return (struct bench_summary){
		.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2,
		.min = values[0],
		.max = values[n - 1],
	};
}

/* Whether pid sleeps in a system call: its state in /proc/PID/stat is 'S'
 * and /proc/PID/syscall names a call (it says "running" otherwise). Sets
 * *ret_nr to the call's number. Returns 1, 0 or -errno. */
static int asleep_in_syscall(pid_t pid, long *ret_nr)
{
	char path[64], line[256], *end;
	const char *state;
	long nr;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = bench_read_line(path, "", line, sizeof(line));
	if (r < 0)
		return r;
	state = strrchr(line, ')'); /* the name in () may hold anything */
	if (!state || strncmp(state, ") S ", 4) != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	r = bench_read_line(path, "", line, sizeof(line));
	if (r < 0)
		return r;
	errno = 0;
	nr = strtol(line, &end, 10);
	if (errno || end == line || nr < 0)
		return 0;
	*ret_nr = nr;
	return 1;
}

int bench_proc_wait_asleep(pid_t pid, unsigned max_polls, long *ret_nr)
{
	/* Polling, as there is no event for "went to sleep"; bounded. */
	const struct timespec pause = { .tv_nsec = 200 * 1000 };

	for (unsigned i = 0; i < max_polls; i++) {
		int r = asleep_in_syscall(pid, ret_nr);

		if (r != 0)
			return r < 0 ? r : 0;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

const char *bench_syscall_name(long nr)
{
	static const struct {
		long nr;
		const char *name;
	} names[] = {
#ifdef SYS_epoll_wait
		{ SYS_epoll_wait, "epoll_wait" },
#endif
		{ SYS_epoll_pwait, "epoll_pwait" },
#ifdef SYS_epoll_pwait2
		{ SYS_epoll_pwait2, "epoll_pwait2" },
#endif
		{ SYS_rt_sigtimedwait, "rt_sigtimedwait" },
		{ SYS_wait4, "wait4" },
		{ SYS_waitid, "waitid" },
		{ SYS_read, "read" },
		{ SYS_ppoll, "ppoll" },
#ifdef SYS_poll
		{ SYS_poll, "poll" },
#endif
#ifdef SYS_pause
		{ SYS_pause, "pause" },
#endif
	};

	for (size_t i = 0; i < COL_ARRAY_SIZE(names); i++)
		if (names[i].nr == nr)
			return names[i].name;
	return "?";
}

int bench_proc_memory(pid_t pid, double kb[BENCH_MEM_FIELDS])
{
	/* Not Private_Dirty: the page cache of a binary the linker has just
	 * written stays dirty until written back, so its text would count as
	 * private dirty memory for half a minute after each build. */
	static const char *const keys[BENCH_MEM_FIELDS] = { "Rss:", "Pss:", "Anonymous:" };
	char path[64], line[256];
	unsigned long long v;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	for (int f = 0; f < BENCH_MEM_FIELDS; f++) {
		int r = bench_read_line(path, keys[f], line, sizeof(line));

		if (r < 0)
			return r;
		if (sscanf(line + strlen(keys[f]), "%llu", &v) != 1)
			return -EPROTO;
		kb[f] = (double)v;
	}
	return 0;
}

const char *bench_mem_field_name(enum bench_mem_field f)
{
	static const char *const names[BENCH_MEM_FIELDS] = { "rss", "pss", "anon" };

	return f < BENCH_MEM_FIELDS ? names[f] : "?";
}
