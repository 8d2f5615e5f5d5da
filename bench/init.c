/*
 * init.c - what wrapping a command in an init costs: `collie init --
 * /bin/true` against tini, dumb-init and /bin/true alone, in wall time per
 * run, and the resident memory of each init while its child runs.
 *
 * Time. One run is a whole command as a container runtime starts it:
 * spawn the init with the program under it, wait until the init has
 * exited, reap it. That includes everything an init does before and after
 * its child (its own exec and dynamic linking, setting up its signals,
 * spawning, reaping, exiting), which is what a user of `docker run --init`
 * or a test suite that wraps each command pays. Each measurement repeats
 * runs of one method sequentially until --iterations runs or --time-ms
 * have passed (at least MIN_RUNS), and reports microseconds per run.
 * Within each repetition every method runs once, back to back, in an order
 * that changes, so drift on the machine hits all of them alike; a time is
 * the median over repetitions, and a ratio is the median of the
 * per-repetition ratios. The overhead of an init is its time minus that
 * of the program alone in the same repetition.
 *
 * Memory. Each init is started over bench/idle, which says "ready" on
 * stdout and then blocks reading stdin. Once it is ready (so the init has
 * spawned it) and the init is asleep in a system call (so it is waiting,
 * not still starting up), the init's own /proc/PID/smaps_rollup is read:
 * RSS, PSS (shared pages divided among the processes that map them, so a
 * dynamic init's libc counts for little) and anonymous memory (heap,
 * stack, written data: what no other process can share); and, from
 * /proc/PID/smaps, how the PSS divides among the init's own binary, libc,
 * ld.so, other libraries, heap, stack and the rest. Then bench/idle
 * gets EOF on stdin and exits, and the init exits after it. Nothing is
 * killed by pid; an init that does not exit in time is killed through its
 * pidfd.
 *
 * Memory as PID 1. A container's first process is PID 1 of its own PID
 * namespace, where tini prints no warning and collie registers as no
 * subreaper. So each init is measured a second time as PID 1: a forked
 * intermediate calls unshare(CLONE_NEWPID) and spawns the init, which is
 * thus the first process of the new namespace, over bench/idle as above
 * (stdio on pipes of the benchmark's). The intermediate tells the
 * benchmark the init's pid as the benchmark sees it, and keeps the init
 * unreaped until the benchmark is done with /proc/PID, so that the pid
 * cannot be recycled meanwhile; meanwhile the benchmark opens a pidfd of
 * the init, and checks in /proc/PID/status that it is PID 1 in its
 * namespace. An intermediate that does not exit in time is killed through
 * its pidfd, the init first through its own. It needs CAP_SYS_ADMIN
 * (root); without, the benchmark says so on stderr and in its header and
 * measures the rest. The tab-separated lines name these inits
 * "<init>@pid1". Time is measured only as a child.
 *
 * Which inits: collie as built (dynamically linked to glibc, like Debian's
 * tini and dumb-init); a static collie built by bench/meson.build from the
 * same object files (glibc, like Debian's tini-static); the static collie
 * of `make static` (musl: build-static/cli/collie, where it has been
 * built); tini and tini-static with and without
 * -s (collie always registers as a subreaper when it is not PID 1; tini
 * does only with -s, and otherwise prints a warning). Every program runs
 * with stdio on /dev/null and the same fixed environment (PATH only), so
 * that TINI_SUBREAPER or DUMB_INIT_SETSID in the caller's environment
 * cannot change what is measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collie/common.h"
#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "bench.h"
#include "banned.h"

/* Set by bench/meson.build. An empty COL_BENCH_COLLIE_STATIC: none built. */
#ifndef COL_BENCH_COLLIE
#define COL_BENCH_COLLIE "cli/collie"
#endif
#ifndef COL_BENCH_COLLIE_STATIC
#define COL_BENCH_COLLIE_STATIC ""
#endif
#ifndef COL_BENCH_COLLIE_MUSL
#define COL_BENCH_COLLIE_MUSL ""
#endif
#ifndef COL_BENCH_IDLE
#define COL_BENCH_IDLE "bench/idle"
#endif

#define MAX_REPS 1000
#define MAX_RUNS 1000000UL
/* Runs per measurement even past the time budget. */
#define MIN_RUNS 3UL
/* A run, or an init's start or end in the memory part, that takes longer
 * than this is a hang: the init is killed and the benchmark stops. */
#define HANG_MS 10000
/* How many times to look whether an init has gone to sleep after its
 * child said "ready" (see bench_proc_wait_asleep()): about two seconds. */
#define IDLE_POLLS 10000
/* getopt_long's value for --collie and the other PATH options: this plus
 * the method whose init they name. */
#define OPT_PATH 0x100

enum method_id {
	M_BARE,
	M_COLLIE,
	M_COLLIE_STATIC,
	M_COLLIE_MUSL,
	M_TINI,
	M_TINI_S,
	M_TINI_STATIC,
	M_TINI_STATIC_S,
	M_DUMB_INIT,
	N_METHODS
};

/* One way of running the program: an init and its arguments, or none. */
struct method {
	const char *label;   /* short name, also in the tab-separated output */
	const char *path;    /* the init; NULL for the program alone; "" skips */
	const char *args[3]; /* between the init and the program, NULL-ended */
	int linkage;	     /* bench_elf_is_static() of the init (or program) */
	bool skip;	     /* not available here, or not wanted */
};

/* Two methods compared in every repetition: num's time / den's time. */
struct ratio {
	enum method_id num, den;
};

static const struct ratio ratios[] = {
	{ M_COLLIE, M_TINI },
	{ M_COLLIE, M_TINI_S },
	{ M_COLLIE_STATIC, M_TINI_STATIC_S },
	{ M_COLLIE_MUSL, M_TINI_STATIC_S },
	{ M_COLLIE, M_DUMB_INIT },
	{ M_COLLIE_STATIC, M_COLLIE },
};

/* How an init runs in the memory part: a plain child of the benchmark, or
 * PID 1 of a new PID namespace (what a container's first process is). */
enum as_mode { AS_CHILD, AS_PID1, N_AS };

/* Appended to a method's label in the output. */
static const char *const as_suffix[N_AS] = { "", "@pid1" };

struct config {
	struct method methods[N_METHODS];
	const char *program;		    /* what runs under each init */
	const char *idle;		    /* bench/idle, for the memory part */
	unsigned long max_runs;		    /* per measurement, a hard bound */
	uint64_t budget_us;		    /* per measurement, a time bound */
	size_t reps;			    /* time repetitions */
	size_t mem_reps;		    /* memory repetitions (0: no memory part) */
	bool as[N_AS];			    /* which ways the memory part runs the inits */
	int pid1_error;			    /* why not as PID 1 (errno), or 0 */
	int devnull;			    /* stdio of every run (borrowed) */
	long idle_syscall[N_AS][N_METHODS]; /* where each init was found asleep */
};

/*
 * Where an init's PSS goes: each mapping of /proc/PID/smaps is counted
 * under one of these, by its path. "binary" is the init's own executable
 * (the target of /proc/PID/exe); "other" is every anonymous mapping but
 * the heap and the stack (libc's and ld.so's bss, TLS, mmap'd malloc
 * arenas) and the kernel's [vdso] and [vvar].
 */
enum map_kind {
	MAP_BINARY,
	MAP_LIBC,
	MAP_LDSO,
	MAP_LIBS,
	MAP_HEAP,
	MAP_STACK,
	MAP_OTHER,
	MAP_KINDS
};

static const char *const map_kind_names[MAP_KINDS] = { "binary", "libc",  "ld.so", "libs",
						       "heap",	 "stack", "other" };

/* Microseconds per run [rep][method]; kB [as][rep][method][field]; PSS in
 * kB [as][rep][method][map_kind] (see mem_slot()). */
struct results {
	double *us;
	double *kb;
	double *map;
};

static char *const environment[] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: init [-p PROGRAM] [-n RUNS] [-t MS] [-r REPS] [-m REPS] [--tini PATH]...\n"
		"  -p, --program=PATH     what runs under each init (default /bin/true)\n"
		"  -n, --iterations=N     at most N runs per measurement (default 2000)\n"
		"  -t, --time-ms=MS       stop a measurement after MS ms, once it has %lu runs\n"
		"                         (default 200)\n"
		"  -r, --repetitions=R    time measurements per method (default 15)\n"
		"  -m, --memory-reps=M    memory measurements per init (default 15; 0: none)\n"
		"      --memory-as=HOW    the memory part runs each init as a child of this\n"
		"                         program (child), as PID 1 of a new PID namespace\n"
		"                         (pid1: needs root), or both (default)\n"
		"      --collie=PATH      default " COL_BENCH_COLLIE "\n"
		"      --collie-static=PATH  default " COL_BENCH_COLLIE_STATIC "\n"
		"      --collie-musl=PATH    default " COL_BENCH_COLLIE_MUSL "\n"
		"      --tini=PATH        default /usr/bin/tini (also run with -s)\n"
		"      --tini-static=PATH default /usr/bin/tini-static (also run with -s)\n"
		"      --dumb-init=PATH   default /usr/bin/dumb-init\n"
		"An empty PATH, or one that does not exist, leaves that init out.\n",
		MIN_RUNS);
}

static void default_methods(struct method *m)
{
	m[M_BARE] = (struct method){ .label = "bare" };
	m[M_COLLIE] = (struct method){ .label = "collie",
				       .path = COL_BENCH_COLLIE,
				       .args = { "init", "--" } };
	m[M_COLLIE_STATIC] = (struct method){ .label = "collie-static",
					      .path = COL_BENCH_COLLIE_STATIC,
					      .args = { "init", "--" } };
	m[M_COLLIE_MUSL] = (struct method){ .label = "collie-musl",
					    .path = COL_BENCH_COLLIE_MUSL,
					    .args = { "init", "--" } };
	m[M_TINI] = (struct method){ .label = "tini", .path = "/usr/bin/tini", .args = { "--" } };
	m[M_TINI_S] = (struct method){ .label = "tini-s",
				       .path = "/usr/bin/tini",
				       .args = { "-s", "--" } };
	m[M_TINI_STATIC] = (struct method){ .label = "tini-static",
					    .path = "/usr/bin/tini-static",
					    .args = { "--" } };
	m[M_TINI_STATIC_S] = (struct method){ .label = "tini-static-s",
					      .path = "/usr/bin/tini-static",
					      .args = { "-s", "--" } };
	m[M_DUMB_INIT] = (struct method){ .label = "dumb-init", .path = "/usr/bin/dumb-init" };
}

static int parse_count(const char *arg, uint64_t max, uint64_t min, uint64_t *ret)
{
	if (bench_parse_uint(arg, max, ret, NULL) < 0 || *ret < min)
		return -EINVAL;
	return 0;
}

static int parse_option(int opt, char *arg, struct config *cfg)
{
	uint64_t v;

	switch (opt) {
	case 'p':
		if (!*arg)
			return -EINVAL;
		cfg->program = arg;
		return 0;
	case 'n':
		if (parse_count(arg, MAX_RUNS, 1, &v) < 0)
			return -EINVAL;
		cfg->max_runs = (unsigned long)v;
		return 0;
	case 't':
		if (parse_count(arg, 3600 * 1000, 0, &v) < 0)
			return -EINVAL;
		cfg->budget_us = v * COL_USEC_PER_MSEC;
		return 0;
	case 'r':
		if (parse_count(arg, MAX_REPS, 1, &v) < 0)
			return -EINVAL;
		cfg->reps = (size_t)v;
		return 0;
	case 'm':
		if (parse_count(arg, MAX_REPS, 0, &v) < 0)
			return -EINVAL;
		cfg->mem_reps = (size_t)v;
		return 0;
	case 'a':
		cfg->as[AS_CHILD] = strcmp(arg, "child") == 0 || strcmp(arg, "both") == 0;
		cfg->as[AS_PID1] = strcmp(arg, "pid1") == 0 || strcmp(arg, "both") == 0;
		return cfg->as[AS_CHILD] || cfg->as[AS_PID1] ? 0 : -EINVAL;
	}
	if (opt > OPT_PATH && opt < OPT_PATH + N_METHODS) {
		cfg->methods[opt - OPT_PATH].path = arg;
		/* --tini and --tini-static: with and without -s */
		if (opt == OPT_PATH + M_TINI_S)
			cfg->methods[M_TINI].path = arg;
		if (opt == OPT_PATH + M_TINI_STATIC_S)
			cfg->methods[M_TINI_STATIC].path = arg;
		return 0;
	}
	return -EINVAL;
}

/* Returns 0 to run, 1 after --help, -EINVAL on a usage error. */
static int parse_args(int argc, char **argv, struct config *cfg)
{
	static const struct option longopts[] = {
		{ "program", required_argument, NULL, 'p' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "time-ms", required_argument, NULL, 't' },
		{ "repetitions", required_argument, NULL, 'r' },
		{ "memory-reps", required_argument, NULL, 'm' },
		{ "memory-as", required_argument, NULL, 'a' },
		{ "collie", required_argument, NULL, OPT_PATH + M_COLLIE },
		{ "collie-static", required_argument, NULL, OPT_PATH + M_COLLIE_STATIC },
		{ "collie-musl", required_argument, NULL, OPT_PATH + M_COLLIE_MUSL },
		{ "tini", required_argument, NULL, OPT_PATH + M_TINI_S },
		{ "tini-static", required_argument, NULL, OPT_PATH + M_TINI_STATIC_S },
		{ "dumb-init", required_argument, NULL, OPT_PATH + M_DUMB_INIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*cfg = (struct config){ .program = "/bin/true",
				.idle = COL_BENCH_IDLE,
				.max_runs = 2000,
				.budget_us = 200 * COL_USEC_PER_MSEC,
				.reps = 15,
				.mem_reps = 15,
				.as = { true, true },
				.devnull = -1 };
	default_methods(cfg->methods);
	while ((opt = getopt_long(argc, argv, "p:n:t:r:m:h", longopts, NULL)) != -1) {
		if (opt == 'h')
			return 1;
		if (opt == '?') /* getopt has said what is wrong */
			return -EINVAL;
		if (parse_option(opt, optarg, cfg) < 0) {
			fprintf(stderr, "init: bad option argument '%s'\n", optarg);
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

/* Find out which inits are here and how they are linked. */
static int check_methods(struct config *cfg)
{
	int linkage = bench_elf_is_static(cfg->program);

	if (linkage < 0 && linkage != -ENOEXEC) {
		fprintf(stderr, "init: %s: %s\n", cfg->program, strerror(-linkage));
		return -1;
	}
	cfg->methods[M_BARE].linkage = linkage;
	for (int m = M_BARE + 1; m < N_METHODS; m++) {
		struct method *me = &cfg->methods[m];

		me->skip = !me->path || !*me->path || access(me->path, X_OK) < 0;
		me->linkage = me->skip ? -ENOENT : bench_elf_is_static(me->path);
	}
	return 0;
}

/* argv for method m over program: { init, args..., program, NULL }. */
static void build_argv(const struct method *me, const char *program, char **argv)
{
	size_t n = 0;

	if (me->path)
		argv[n++] = (char *)me->path;
	for (size_t i = 0; i < COL_ARRAY_SIZE(me->args) && me->args[i]; i++)
		argv[n++] = (char *)me->args[i];
	argv[n++] = (char *)program;
	argv[n] = NULL;
}

/*
 * Wait up to HANG_MS for the child to exit, and reap it. Returns its exit
 * code (0..255, or 128 + signal), or -ETIMEDOUT after killing it (and
 * first, the process of inner_pidfd, unless it is -1: the init under the
 * intermediate of a PID-1 measurement), or -errno.
 */
static int wait_exit(const struct col_child *c, int inner_pidfd)
{
	struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
	struct col_status st;
	int r;

	do
		r = poll(&p, 1, HANG_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0) {
		if (inner_pidfd >= 0)
			col_pidfd_signal(inner_pidfd, SIGKILL);
		col_pidfd_signal(c->pidfd, SIGKILL);
		col_reap_pidfd(c->pidfd, 0, &st);
		return -ETIMEDOUT;
	}
	r = col_reap_pidfd(c->pidfd, 0, &st);
	return r < 0 ? r : col_status_exit_code(&st);
}

/* One run: start argv with stdio on /dev/null, wait for it, reap it.
 * Returns 0 when it exited 0, else its code or -errno. */
static int run_once(char **argv, int devnull)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct col_child c = COL_CHILD_INIT;
	int r;

	o.argv = argv;
	o.envp = environment;
	for (int i = 0; i < 3; i++)
		o.stdio[i] = (struct col_stdio){ .kind = COL_STDIO_FD, .fd = devnull };
	r = col_spawn_start(&o, &c, NULL);
	if (r < 0)
		return r;
	r = wait_exit(&c, -1);
	col_child_release(&c);
	return r;
}

/*
 * Run method m sequentially until max runs or budget_us (but at least
 * MIN_RUNS). Sets *ret_us to microseconds per run. Returns 0, or the
 * failing run's result.
 */
static int measure(const struct config *cfg, enum method_id m, uint64_t budget_us, double *ret_us)
{
	char *argv[8];
	uint64_t start = bench_now_us(), elapsed = 0;
	unsigned long n;
	int r;

	build_argv(&cfg->methods[m], cfg->program, argv);
	for (n = 0; n < cfg->max_runs; n++) {
		if (n >= MIN_RUNS && elapsed >= budget_us)
			break;
		r = run_once(argv, cfg->devnull);
		if (r != 0) {
			fprintf(stderr, "init: %s over %s: %s %d\n", cfg->methods[m].label,
				cfg->program, r < 0 ? strerror(-r) : "exited", r);
			return r;
		}
		elapsed = bench_now_us() - start;
	}
	*ret_us = (double)elapsed / (double)n;
	return 0;
}

/*
 * The methods that run, in the order of repetition rep: shuffled by a
 * fixed pseudo-random sequence (Fisher-Yates over an LCG seeded with rep),
 * so each method follows a different one from repetition to repetition
 * and two runs of the benchmark use the same orders.
 */
static size_t run_order(const struct config *cfg, size_t rep, enum method_id *order)
{
	uint64_t x = rep * 2654435761u + 1;
	size_t n = 0;

	for (int m = 0; m < N_METHODS; m++)
		if (!cfg->methods[m].skip)
			order[n++] = (enum method_id)m;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j;
		enum method_id t;

		x = x * 6364136223846793005u + 1442695040888963407u;
		j = (size_t)((x >> 33) % (i + 1));
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	return n;
}

/* A warm-up of every method (page cache, ld.so cache; not recorded), then
 * the repetitions. */
static int run_time(const struct config *cfg, struct results *res)
{
	enum method_id order[N_METHODS];
	double ignored;
	int r = 0;

	fprintf(stderr, "init: time, %zu repetitions ...\n", cfg->reps);
	for (size_t i = 0, n = run_order(cfg, 0, order); i < n && r == 0; i++)
		r = measure(cfg, order[i], cfg->budget_us / 10, &ignored);
	for (size_t rep = 0; rep < cfg->reps && r == 0; rep++) {
		size_t n = run_order(cfg, rep, order);

		for (size_t i = 0; i < n && r == 0; i++)
			r = measure(cfg, order[i], cfg->budget_us,
				    &res->us[rep * N_METHODS + order[i]]);
	}
	return r;
}

/* Read len bytes from fd, waiting up to HANG_MS for each piece. Returns
 * 0, -ETIMEDOUT, -EPIPE at EOF, or -errno. */
static int read_exactly(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		int r = poll(&p, 1, HANG_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		n = col_fd_read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return n < 0 ? (int)n : -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/* Wait up to HANG_MS for bench/idle's "ready\n" on fd. Returns 0 or -errno. */
static int wait_ready(int fd)
{
	char buf[6];
	int r = read_exactly(fd, buf, sizeof(buf));

	if (r < 0)
		return r;
	return memcmp(buf, "ready\n", sizeof(buf)) == 0 ? 0 : -EPROTO;
}

static enum map_kind map_kind_of(const char *path, const char *exe)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strcmp(path, exe) == 0)
		return MAP_BINARY;
	if (strcmp(path, "[heap]") == 0)
		return MAP_HEAP;
	if (strcmp(path, "[stack]") == 0)
		return MAP_STACK;
	if (strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld-musl", 7) == 0)
		return MAP_LDSO;
	if (strncmp(base, "libc.so", 7) == 0)
		return MAP_LIBC;
	if (strstr(base, ".so"))
		return MAP_LIBS;
	return MAP_OTHER;
}

/*
 * Add up the Pss of every mapping in /proc/PID/smaps by map_kind_of() its
 * path, into kb[MAP_KINDS]. A mapping's first line is "START-END PERMS
 * OFFSET DEV INODE [PATH]"; the field lines under it are "Name: N kB".
 * Returns 0 or -errno.
 */
static int pss_by_mapping(pid_t pid, double *kb)
{
	char path[64], exe[4096], line[4096 + 128];
	enum map_kind kind = MAP_OTHER;
	unsigned long long v;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	for (int k = 0; k < MAP_KINDS; k++)
		kb[k] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		int used = 0;

		if (sscanf(line, "Pss: %llu", &v) == 1) {
			kb[kind] += (double)v;
			continue;
		}
		/* A field line ("AnonHugePages:") may start with a hex digit,
		 * but never parses as a range. */
		if (sscanf(line, "%llx-%llx %*s %*x %*s %*u %n", &start, &end, &used) == 2 &&
		    used > 0) {
			line[strcspn(line, "\n")] = '\0';
			kind = map_kind_of(line + used, exe);
		}
	}
	fclose(f);
	return 0;
}

/*
 * What the memory part started: the process it waits for (the init, or
 * the intermediate of a PID-1 measurement), bench/idle's stdin and stdout
 * in its stdio[0] and stdio[1], and the init's pid for /proc.
 */
struct started {
	struct col_child waited;
	pid_t init;	/* the init's pid in this program's PID namespace */
	int init_pidfd; /* PID 1: the init, to kill it if it hangs; else -1 */
	int hold;	/* PID 1: the intermediate reaps the init once this closes */
};

#define STARTED_INIT                                                              \
	{                                                                         \
		.waited = COL_CHILD_INIT, .init = 0, .init_pidfd = -1, .hold = -1 \
	}

/* argv as this program's child over pipes; stderr on /dev/null. */
static int start_child(const struct config *cfg, char **argv, struct started *st)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	int r;

	o.argv = argv;
	o.envp = environment;
	o.stdio[0].kind = COL_STDIO_PIPE;
	o.stdio[1].kind = COL_STDIO_PIPE;
	o.stdio[2] = (struct col_stdio){ .kind = COL_STDIO_FD, .fd = cfg->devnull };
	r = col_spawn_start(&o, &st->waited, NULL);
	if (r == 0)
		st->init = st->waited.pid;
	return r;
}

/* What the intermediate tells the benchmark: the init's pid, or why not. */
struct pid1_report {
	pid_t pid;
	int error; /* errno of unshare() or col_spawn_start(), or 0 */
};

/*
 * The intermediate of a PID-1 measurement, forked by start_pid1() (which
 * has closed the benchmark's ends of the pipes and the socket): a new PID
 * namespace for its children, argv spawned as the first of them (so PID 1
 * there) over stdio, its pid reported on sock; then it holds the init
 * unreaped until sock reaches EOF, reaps it and exits with its code.
 * Never returns, and never flushes the benchmark's stdio buffers (_exit).
 * (No pdeathsig: col_spawn_start() checks getppid() after setting it, and
 * PID 1's parent is outside its namespace, so getppid() says 0.)
 */
static _Noreturn void pid1_intermediate(char **argv, const int stdio[3], int sock)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct col_child c = COL_CHILD_INIT;
	struct pid1_report rep = { 0 };
	struct col_status st;
	char byte;
	int r;

	if (unshare(CLONE_NEWPID) < 0) {
		rep.error = errno;
		col_fd_write_all(sock, &rep, sizeof(rep));
		_exit(1);
	}
	o.argv = argv;
	o.envp = environment;
	for (int i = 0; i < 3; i++)
		o.stdio[i] = (struct col_stdio){ .kind = COL_STDIO_FD, .fd = stdio[i] };
	r = col_spawn_start(&o, &c, NULL);
	rep.pid = c.pid;
	rep.error = r < 0 ? -r : 0;
	col_fd_write_all(sock, &rep, sizeof(rep));
	if (r < 0)
		_exit(1);
	/* The init has its copies; without ours, bench/idle's end of its
	 * stdout pipe is the last, and the benchmark sees EOF if it dies. */
	col_close(stdio[0]);
	col_close(stdio[1]);
	while (col_fd_read(sock, &byte, 1) > 0)
		;
	r = col_reap_pidfd(c.pidfd, 0, &st);
	_exit(r < 0 ? 1 : col_status_exit_code(&st));
}

/*
 * argv as PID 1 of a new PID namespace, through pid1_intermediate().
 * st->waited is the intermediate; st->init_pidfd the init, opened while
 * the intermediate holds it unreaped. Returns 0, or -errno (the
 * intermediate's, when it could not unshare or spawn); st->waited, when
 * its pidfd is set, is to be ended and reaped as on success.
 */
static int start_pid1(const struct config *cfg, char **argv, struct started *st)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, sock[2] = { -1, -1 };
	struct pid1_report rep;
	struct col_status ignored;
	pid_t pid;
	int r;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0) {
		r = -errno;
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail;
	}
	if (pid == 0) {
		col_close(in[1]);
		col_close(out[0]);
		col_close(sock[0]);
		pid1_intermediate(argv, (const int[3]){ in[0], out[1], cfg->devnull }, sock[1]);
	}
	col_close(in[0]);
	col_close(out[1]);
	col_close(sock[1]);
	st->waited.stdio[0] = in[1];
	st->waited.stdio[1] = out[0];
	st->hold = sock[0];
	/* Our own unreaped child: its pid cannot have been recycled. */
	r = col_pidfd_open(pid, &st->waited.pidfd);
	if (r < 0) {
		/* EOF on both lets bench/idle, the init and the intermediate
		 * exit; its pid is still ours to reap. */
		st->waited.stdio[0] = col_close(st->waited.stdio[0]);
		st->hold = col_close(st->hold);
		col_reap_pid(pid, 0, &ignored);
		return r;
	}
	st->waited.pid = pid;
	r = read_exactly(st->hold, &rep, sizeof(rep));
	if (r < 0)
		return r;
	if (rep.error)
		return -rep.error;
	st->init = rep.pid;
	/* Unreaped until st->hold closes: its pid is the init's. */
	return col_pidfd_open(st->init, &st->init_pidfd);
fail:
	for (int i = 0; i < 2; i++) {
		col_close(in[i]);
		col_close(out[i]);
		col_close(sock[i]);
	}
	return r;
}

/* Whether pid is PID 1 in its own PID namespace: the last pid of the
 * "NSpid:" line of /proc/PID/status (Linux 4.1) is 1. Returns 0, -EPROTO
 * when it is not, or -errno. */
static int check_pid1(pid_t pid)
{
	char path[64], line[256];
	const char *first, *last;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	r = bench_read_line(path, "NSpid:", line, sizeof(line));
	if (r < 0)
		return r;
	first = strchr(line, '\t');
	last = strrchr(line, '\t');
	return first && last != first && strcmp(last + 1, "1") == 0 ? 0 : -EPROTO;
}

/* Start method m over bench/idle as a child or as PID 1, read its memory
 * once it waits, end it by closing bench/idle's stdin. Returns 0 or
 * -errno (or an exit code). */
static int measure_memory(struct config *cfg, enum method_id m, enum as_mode as, double *kb,
			  double *map)
{
	struct started st = STARTED_INIT;
	char *argv[8];
	int r, code = 0;

	build_argv(&cfg->methods[m], cfg->idle, argv);
	r = as == AS_PID1 ? start_pid1(cfg, argv, &st) : start_child(cfg, argv, &st);
	if (r == 0)
		r = wait_ready(st.waited.stdio[1]);
	if (r == 0 && as == AS_PID1)
		r = check_pid1(st.init);
	if (r == 0)
		r = bench_proc_wait_asleep(st.init, IDLE_POLLS, &cfg->idle_syscall[as][m]);
	if (r == 0)
		r = bench_proc_memory(st.init, kb);
	if (r == 0)
		r = pss_by_mapping(st.init, map);
	/* EOF for bench/idle, which exits; the init follows it, and the
	 * intermediate of PID 1 reaps it and follows. */
	st.waited.stdio[0] = col_close(st.waited.stdio[0]);
	st.hold = col_close(st.hold);
	if (st.waited.pidfd >= 0)
		code = wait_exit(&st.waited, st.init_pidfd);
	col_child_release(&st.waited);
	col_close(st.init_pidfd);
	return r < 0 ? r : code;
}

/* Whether this process may make a PID namespace (CAP_SYS_ADMIN): a
 * forked child tries. Returns 0 or -errno (-EPERM: not root). */
static int probe_pid1(void)
{
	struct col_status st;
	pid_t pid = fork();
	int r;

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(unshare(CLONE_NEWPID) < 0 ? errno : 0);
	r = col_reap_pid(pid, 0, &st);
	return r < 0 ? r : -col_status_exit_code(&st);
}

/* The index of [as][rep][m] in res->kb (times BENCH_MEM_FIELDS) and
 * res->map (times MAP_KINDS). */
static size_t mem_slot(const struct config *cfg, enum as_mode as, size_t rep, int m)
{
	return ((size_t)as * cfg->mem_reps + rep) * N_METHODS + (size_t)m;
}

static int run_memory(struct config *cfg, struct results *res)
{
	enum method_id order[N_METHODS];
	int r = 0;

	if (cfg->mem_reps && (cfg->as[AS_CHILD] || cfg->as[AS_PID1]))
		fprintf(stderr, "init: memory, %zu repetitions ...\n", cfg->mem_reps);
	for (size_t rep = 0; rep < cfg->mem_reps && r == 0; rep++) {
		for (int as = 0; as < N_AS && r == 0; as++) {
			size_t n = run_order(cfg, rep * N_AS + as, order);

			for (size_t i = 0; i < n && r == 0 && cfg->as[as]; i++) {
				enum method_id m = order[i];
				size_t at = mem_slot(cfg, as, rep, m);

				if (m == M_BARE)
					continue;
				r = measure_memory(cfg, m, as, &res->kb[at * BENCH_MEM_FIELDS],
						   &res->map[at * MAP_KINDS]);
				if (r != 0)
					fprintf(stderr, "init: memory of %s%s: %s %d\n",
						cfg->methods[m].label, as_suffix[as],
						r < 0 ? strerror(-r) : "exited", r);
			}
		}
	}
	return r;
}

/* Reductions over the repetitions. scratch holds max(reps, mem_reps). */
enum quantity { Q_TIME, Q_OVERHEAD };

static struct bench_summary time_of(const struct config *cfg, const struct results *res,
				    enum quantity q, enum method_id m, double *scratch)
{
	for (size_t rep = 0; rep < cfg->reps; rep++) {
		const double *us = &res->us[rep * N_METHODS];

		scratch[rep] = us[m] - (q == Q_OVERHEAD ? us[M_BARE] : 0);
	}
	return bench_summarize(scratch, cfg->reps);
}

static struct bench_summary ratio_of(const struct config *cfg, const struct results *res,
				     enum quantity q, const struct ratio *x, double *scratch)
{
	for (size_t rep = 0; rep < cfg->reps; rep++) {
		const double *us = &res->us[rep * N_METHODS];
		double base = q == Q_OVERHEAD ? us[M_BARE] : 0;

		scratch[rep] = (us[x->num] - base) / (us[x->den] - base);
	}
	return bench_summarize(scratch, cfg->reps);
}

static struct bench_summary memory_of(const struct config *cfg, const struct results *res,
				      enum as_mode as, enum method_id m, enum bench_mem_field f,
				      double *scratch)
{
	for (size_t rep = 0; rep < cfg->mem_reps; rep++)
		scratch[rep] = res->kb[mem_slot(cfg, as, rep, m) * BENCH_MEM_FIELDS + f];
	return bench_summarize(scratch, cfg->mem_reps);
}

static struct bench_summary map_of(const struct config *cfg, const struct results *res,
				   enum as_mode as, enum method_id m, enum map_kind k,
				   double *scratch)
{
	for (size_t rep = 0; rep < cfg->mem_reps; rep++)
		scratch[rep] = res->map[mem_slot(cfg, as, rep, m) * MAP_KINDS + k];
	return bench_summarize(scratch, cfg->mem_reps);
}

static bool ratio_runs(const struct config *cfg, const struct ratio *x)
{
	return !cfg->methods[x->num].skip && !cfg->methods[x->den].skip;
}

static void print_header(int argc, char **argv, const struct config *cfg)
{
	char *cmd[8];

	printf("# bench/init: wall time per run and idle memory of collie init, tini, "
	       "dumb-init\n#");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	bench_print_machine();
	for (int m = 0; m < N_METHODS; m++) {
		const struct method *me = &cfg->methods[m];

		printf("# method %s:", me->label);
		if (me->skip) {
			if (me->path && *me->path)
				printf(" skipped (%s: not found)\n", me->path);
			else
				printf(" skipped (no path given)\n");
			continue;
		}
		build_argv(me, cfg->program, cmd);
		for (char **a = cmd; *a; a++)
			printf(" %s", *a);
		printf(" (%s)\n", bench_linkage_name(me->linkage));
	}
	printf("# time: per measurement up to %lu runs or %" PRIu64 " ms (at least %lu runs); "
	       "%zu repetitions, methods interleaved\n",
	       cfg->max_runs, cfg->budget_us / COL_USEC_PER_MSEC, MIN_RUNS, cfg->reps);
	printf("# memory: %zu repetitions; /proc/PID/smaps_rollup of the init alone, while its "
	       "child %s waits on stdin\n",
	       cfg->mem_reps, cfg->idle);
	printf("# memory as a child of this program: %s\n", cfg->as[AS_CHILD] ? "yes" : "no");
	if (cfg->pid1_error)
		printf("# memory as PID 1 of a new PID namespace (<init>@pid1): no, "
		       "unshare(CLONE_NEWPID): %s\n",
		       strerror(cfg->pid1_error));
	else
		printf("# memory as PID 1 of a new PID namespace (<init>@pid1): %s\n",
		       cfg->as[AS_PID1] ? "yes" : "no");
	printf("# stdio: /dev/null (memory: pipes to the child); environment: %s only\n",
	       environment[0]);
	bench_print_load("at start");
}

static void print_tsv_memory(const struct config *cfg, const struct results *res, enum as_mode as,
			     enum method_id m, double *scratch)
{
	const char *label = cfg->methods[m].label;
	struct bench_summary x;

	if (cfg->methods[m].skip)
		return;
	for (int f = 0; f < BENCH_MEM_FIELDS; f++) {
		x = memory_of(cfg, res, as, m, f, scratch);
		printf("memory\t%s%s\t%s\t%.0f\t%.0f\t%.0f\n", label, as_suffix[as],
		       bench_mem_field_name(f), x.median, x.min, x.max);
	}
	for (int k = 0; k < MAP_KINDS; k++) {
		x = map_of(cfg, res, as, m, k, scratch);
		printf("pss_in\t%s%s\t%s\t%.0f\t%.0f\t%.0f\n", label, as_suffix[as],
		       map_kind_names[k], x.median, x.min, x.max);
	}
}

static void print_tsv(const struct config *cfg, const struct results *res, double *scratch)
{
	struct bench_summary x;

	printf("\n# machine-readable, tab-separated; times in microseconds per run over %zu "
	       "repetitions, memory in kB over %zu:\n"
	       "# time|overhead\tmethod\tmedian\tmin\tmax\n"
	       "# ratio|overhead_ratio\tmethod/method\tmedian\tmin\tmax\n"
	       "# memory\tmethod[@pid1]\trss|pss|anon\tmedian\tmin\tmax\n"
	       "# pss_in\tmethod[@pid1]\tmapping kind\tmedian\tmin\tmax\n",
	       cfg->reps, cfg->mem_reps);
	for (int q = Q_TIME; q <= Q_OVERHEAD; q++) {
		for (int m = q == Q_TIME ? M_BARE : M_BARE + 1; m < N_METHODS; m++) {
			if (cfg->methods[m].skip)
				continue;
			x = time_of(cfg, res, q, m, scratch);
			printf("%s\t%s\t%.1f\t%.1f\t%.1f\n", q == Q_TIME ? "time" : "overhead",
			       cfg->methods[m].label, x.median, x.min, x.max);
		}
	}
	for (int q = Q_TIME; q <= Q_OVERHEAD; q++) {
		for (size_t i = 0; i < COL_ARRAY_SIZE(ratios); i++) {
			if (!ratio_runs(cfg, &ratios[i]))
				continue;
			x = ratio_of(cfg, res, q, &ratios[i], scratch);
			printf("%s\t%s/%s\t%.3f\t%.3f\t%.3f\n",
			       q == Q_TIME ? "ratio" : "overhead_ratio",
			       cfg->methods[ratios[i].num].label, cfg->methods[ratios[i].den].label,
			       x.median, x.min, x.max);
		}
	}
	for (int as = 0; as < N_AS && cfg->mem_reps; as++)
		for (int m = M_BARE + 1; m < N_METHODS && cfg->as[as]; m++)
			print_tsv_memory(cfg, res, as, m, scratch);
}

static void print_human_time(const struct config *cfg, const struct results *res, double *scratch)
{
	printf("\nWall time per run in microseconds, median of %zu repetitions (lower is\n"
	       "better); overhead: the run's time minus %s's alone in the same repetition.\n\n",
	       cfg->reps, cfg->program);
	printf("%-14s %-8s %9s %9s\n", "method", "linkage", "time", "overhead");
	for (int m = 0; m < N_METHODS; m++) {
		if (cfg->methods[m].skip)
			continue;
		printf("%-14s %-8s %9.0f", cfg->methods[m].label,
		       bench_linkage_name(cfg->methods[m].linkage),
		       time_of(cfg, res, Q_TIME, m, scratch).median);
		if (m == M_BARE)
			printf(" %9s\n", "-");
		else
			printf(" %9.0f\n", time_of(cfg, res, Q_OVERHEAD, m, scratch).median);
	}
	printf("\nRatios, median of the per-repetition ratios (below 1: the first is faster):\n\n");
	printf("%-28s %9s %9s\n", "", "time", "overhead");
	for (size_t i = 0; i < COL_ARRAY_SIZE(ratios); i++) {
		char name[64];

		if (!ratio_runs(cfg, &ratios[i]))
			continue;
		snprintf(name, sizeof(name), "%s / %s", cfg->methods[ratios[i].num].label,
			 cfg->methods[ratios[i].den].label);
		printf("%-28s %8.3fx %8.3fx\n", name,
		       ratio_of(cfg, res, Q_TIME, &ratios[i], scratch).median,
		       ratio_of(cfg, res, Q_OVERHEAD, &ratios[i], scratch).median);
	}
}

static void print_human_memory(const struct config *cfg, const struct results *res, enum as_mode as,
			       double *scratch)
{
	static const char *const how[N_AS] = { "a child of this program",
					       "PID 1 of a new PID namespace" };

	if (!cfg->mem_reps || !cfg->as[as])
		return;
	printf("\nMemory of the init process as %s, while its child runs,\n"
	       "kB, median of %zu:\n\n",
	       how[as], cfg->mem_reps);
	printf("%-14s %-8s %8s %8s %8s  %s\n", "method", "linkage", "RSS", "PSS", "anon",
	       "asleep in");
	for (int m = M_BARE + 1; m < N_METHODS; m++) {
		if (cfg->methods[m].skip)
			continue;
		printf("%-14s %-8s", cfg->methods[m].label,
		       bench_linkage_name(cfg->methods[m].linkage));
		for (int f = 0; f < BENCH_MEM_FIELDS; f++)
			printf(" %8.0f", memory_of(cfg, res, as, m, f, scratch).median);
		printf("  %s\n", bench_syscall_name(cfg->idle_syscall[as][m]));
	}
	printf("\nWhere the PSS goes as %s, kB, median of %zu per mapping\n"
	       "kind (/proc/PID/smaps; the medians need not add up to the PSS median above):\n\n",
	       how[as], cfg->mem_reps);
	printf("%-14s", "method");
	for (int k = 0; k < MAP_KINDS; k++)
		printf(" %7s", map_kind_names[k]);
	printf("\n");
	for (int m = M_BARE + 1; m < N_METHODS; m++) {
		if (cfg->methods[m].skip)
			continue;
		printf("%-14s", cfg->methods[m].label);
		for (int k = 0; k < MAP_KINDS; k++)
			printf(" %7.0f", map_of(cfg, res, as, m, k, scratch).median);
		printf("\n");
	}
}

/* "target memory A rss <= B: met (...)" and the same for PSS, for the
 * medians of x's two inits run as as. */
static void print_memory_target(const struct config *cfg, const struct results *res,
				enum as_mode as, const struct ratio *x, double *scratch)
{
	const char *a = cfg->methods[x->num].label, *b = cfg->methods[x->den].label;

	if (!cfg->mem_reps || !cfg->as[as] || !ratio_runs(cfg, x))
		return;
	for (int f = BENCH_MEM_RSS; f <= BENCH_MEM_PSS; f++) {
		double ka = memory_of(cfg, res, as, x->num, f, scratch).median;
		double kb = memory_of(cfg, res, as, x->den, f, scratch).median;

		printf("target memory %s%s %s <= %s%s: %s (%.0f kB vs %.0f kB, %+.0f kB)\n", a,
		       as_suffix[as], bench_mem_field_name(f), b, as_suffix[as],
		       ka <= kb ? "met" : "NOT met", ka, kb, ka - kb);
	}
}

/* The issue's targets: collie init no slower than tini, and its memory no
 * larger, for the dynamic pair and for the static pair. The static collie
 * is the one `make static` builds (musl); the glibc-static collie-static
 * is compared in the ratios only. As PID 1, where a container runs it,
 * tini needs no -s to reap orphans: memory against plain tini and
 * tini-static (time is measured only as a child). */
static void print_verdict(const struct config *cfg, const struct results *res, double *scratch)
{
	static const struct ratio pairs[] = {
		{ M_COLLIE, M_TINI },
		{ M_COLLIE, M_TINI_S },
		{ M_COLLIE_MUSL, M_TINI_STATIC_S },
	};
	static const struct ratio pid1_pairs[] = {
		{ M_COLLIE, M_TINI },
		{ M_COLLIE_MUSL, M_TINI_STATIC },
	};

	printf("\n");
	for (size_t i = 0; i < COL_ARRAY_SIZE(pairs); i++) {
		const struct ratio *x = &pairs[i];
		double t;

		if (!ratio_runs(cfg, x))
			continue;
		t = ratio_of(cfg, res, Q_TIME, x, scratch).median;
		printf("target time %s <= %s: %s (%.3fx)\n", cfg->methods[x->num].label,
		       cfg->methods[x->den].label, t <= 1.0 ? "met" : "NOT met", t);
		print_memory_target(cfg, res, AS_CHILD, x, scratch);
	}
	for (size_t i = 0; i < COL_ARRAY_SIZE(pid1_pairs); i++)
		print_memory_target(cfg, res, AS_PID1, &pid1_pairs[i], scratch);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct results res = { 0 };
	double *scratch = NULL;
	int r = parse_args(argc, argv, &cfg);

	if (r != 0) {
		usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	if (check_methods(&cfg) < 0)
		return 1;
	if (cfg.as[AS_PID1] && cfg.mem_reps) {
		r = probe_pid1();
		if (r < 0) {
			fprintf(stderr,
				"init: not measuring memory as PID 1: unshare(CLONE_NEWPID): "
				"%s%s\n",
				strerror(-r), r == -EPERM ? " (it needs root: CAP_SYS_ADMIN)" : "");
			cfg.pid1_error = -r;
			cfg.as[AS_PID1] = false;
		}
	}
	cfg.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	res.us = calloc(cfg.reps * N_METHODS, sizeof(double));
	res.kb = calloc(N_AS * cfg.mem_reps * N_METHODS * BENCH_MEM_FIELDS + 1, sizeof(double));
	res.map = calloc(N_AS * cfg.mem_reps * N_METHODS * MAP_KINDS + 1, sizeof(double));
	scratch = calloc(cfg.reps + cfg.mem_reps, sizeof(double));
	if (cfg.devnull < 0 || !res.us || !res.kb || !res.map || !scratch) {
		fprintf(stderr, "init: setting up: %s\n", strerror(errno));
		r = -1;
		goto out;
	}
	print_header(argc, argv, &cfg);
	fflush(stdout);
	r = run_time(&cfg, &res);
	if (r == 0)
		r = run_memory(&cfg, &res);
	if (r == 0) {
		print_tsv(&cfg, &res, scratch);
		print_human_time(&cfg, &res, scratch);
		for (int as = 0; as < N_AS; as++)
			print_human_memory(&cfg, &res, as, scratch);
		print_verdict(&cfg, &res, scratch);
		bench_print_load("at end");
	}
out:
	free(scratch);
	free(res.map);
	free(res.kb);
	free(res.us);
	col_close(cfg.devnull);
	return r == 0 ? 0 : 1;
}
