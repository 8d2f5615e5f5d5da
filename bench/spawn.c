/*
 * spawn.c - spawns per second: col_spawn_start() vs posix_spawn() vs
 * fork()+execve(), while the parent holds 0, 1 and 4 GiB of touched memory.
 *
 * What is measured: one thread starts a child, waits for it to exit and
 * reaps it, then starts the next; the rate is such cycles per second of
 * CLOCK_MONOTONIC wall-clock time. The children do nothing (/bin/true, and
 * bench/tiny, a statically linked program without a dynamic loader), so
 * the rate is the cost of the spawn path itself. Every method gives the
 * child the same fds 0, 1, 2: /dev/null, opened once by the parent and
 * dup2'ed into place in the child.
 *
 * Why the parent's memory matters: fork() copies the page tables of every
 * private mapping (8 bytes per 4 KiB page: 8 MiB for 4 GiB) and takes a
 * reference on every page, and the child's execve() tears all of that down
 * again. clone(CLONE_VM | CLONE_VFORK), which col_spawn_start() and
 * glibc's posix_spawn() use, shares the address space and copies nothing.
 * So the memory is written page by page -- an untouched page has no
 * page-table entry and costs fork nothing -- and its resident size is
 * printed as proof. It is kept in 4 KiB pages (MADV_NOHUGEPAGE) unless
 * --thp is given: one 2 MiB huge page costs fork one entry instead of 512,
 * which would hide the effect on machines with THP "always".
 *
 * Noise: the machine this runs on is shared. Within each repetition every
 * method runs once, back to back, so drift hits them alike, and the order
 * rotates (col posix fork, posix fork col, fork col posix, ...) so that no
 * method always follows another. A rate is the median over repetitions; a
 * ratio is the median of the per-repetition ratios, each made of
 * measurements taken moments apart. Each measurement is bounded both in
 * spawns (--iterations) and in time (--time-ms), so fork+execve at 4 GiB
 * cannot run for long.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collie/common.h"
#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "bench.h"
#include "banned.h"

/* Set by bench/meson.build to the built bench/tiny. */
#ifndef COL_BENCH_TINY
#define COL_BENCH_TINY "bench/tiny"
#endif

#define MAX_SIZES 8
#define MAX_PROGRAMS 4
#define MAX_REPS 1000
#define MAX_SPAWNS 1000000UL
/* Spawns per measurement even past the time budget, so a slow method
 * still yields a rate rather than one sample. */
#define MIN_SPAWNS 3UL
#define GIB (UINT64_C(1) << 30)
#define MIB (UINT64_C(1) << 20)
/* The col_spawn/fork+execve ratio the issue asks for at the largest size,
 * and the share of posix_spawn's rate col_spawn must reach everywhere. */
#define TARGET_FORK_RATIO 20.0
#define TARGET_POSIX_RATIO 0.90

extern char **environ;

enum method { METHOD_COL, METHOD_POSIX, METHOD_FORK, N_METHODS };

static const char *const method_names[N_METHODS] = { "col_spawn", "posix_spawn", "fork+execve" };

/* One program to spawn, with each method's options prepared once. */
struct program {
	const char *path;		    /* what is exec'd */
	const char *label;		    /* short name for the tables */
	char *argv[2];			    /* { path, NULL } */
	int linkage;			    /* 1 static, 0 dynamic, < 0 not known */
	struct col_spawn_opts col;	    /* col_spawn_start: stdio = devnull */
	posix_spawn_file_actions_t actions; /* posix_spawn: dup2 devnull to 0, 1, 2 */
	int devnull;			    /* fork+execve: dup2'ed to 0, 1, 2 (borrowed) */
};

struct config {
	uint64_t sizes[MAX_SIZES];	 /* parent memory per round, bytes */
	size_t n_sizes;			 /* entries in sizes */
	const char *paths[MAX_PROGRAMS]; /* programs to spawn */
	size_t n_programs;		 /* entries in paths */
	unsigned long max_spawns;	 /* per measurement, a hard bound */
	uint64_t budget_us;		 /* per measurement, a time bound */
	size_t reps;			 /* repetitions per size and program */
	bool thp;			 /* back the memory with huge pages */
};

/* Spawns per second, indexed [size][program][rep][method]. */
struct results {
	double *rate;
	size_t n_programs, reps;
};

static double *rate_at(const struct results *res, size_t size, size_t prog, size_t rep)
{
	return res->rate + ((size * res->n_programs + prog) * res->reps + rep) * N_METHODS;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spawn [-s SIZES] [-p PROGRAM]... [-n SPAWNS] [-t MS] [-r REPS] [--thp]\n"
		"  -s, --sizes=LIST       parent memory sizes (default 0,1G,4G; K, M, G suffixes)\n"
		"  -p, --program=PATH     program to spawn, repeatable (default /bin/true and\n"
		"                         " COL_BENCH_TINY ")\n"
		"  -n, --iterations=N     at most N spawns per measurement (default 5000)\n"
		"  -t, --time-ms=MS       stop a measurement after MS ms, once it has %lu spawns\n"
		"                         (default 200)\n"
		"  -r, --repetitions=R    measurements per method, size and program (default 15)\n"
		"      --thp              back the memory with transparent huge pages\n",
		MIN_SPAWNS);
}

/* "0", "512M", "4G", "1048576" (bytes): powers of 1024. */
static int parse_size(const char *s, uint64_t *ret)
{
	uint64_t v, unit = 1;
	char *end;

	if (bench_parse_uint(s, UINT64_C(1) << 40, &v, &end) < 0)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		unit = 1024;
	else if (*end == 'M' || *end == 'm')
		unit = MIB;
	else if (*end == 'G' || *end == 'g')
		unit = GIB;
	else if (*end)
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	if (v * unit > (UINT64_C(1) << 40))
		return -EINVAL;
	*ret = v * unit;
	return 0;
}

static int parse_sizes(const char *arg, struct config *cfg)
{
	char list[256], *save = NULL;

	/* A copy: strtok_r writes into it, and argv is echoed in the output. */
	if ((size_t)snprintf(list, sizeof(list), "%s", arg) >= sizeof(list))
		return -EINVAL;
	cfg->n_sizes = 0;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (cfg->n_sizes == MAX_SIZES || parse_size(tok, &cfg->sizes[cfg->n_sizes]) < 0)
			return -EINVAL;
		cfg->n_sizes++;
	}
	return cfg->n_sizes ? 0 : -EINVAL;
}

static int parse_option(int opt, char *arg, struct config *cfg)
{
	uint64_t v;

	switch (opt) {
	case 's':
		return parse_sizes(arg, cfg);
	case 'p':
		if (cfg->n_programs == MAX_PROGRAMS || !*arg)
			return -EINVAL;
		cfg->paths[cfg->n_programs++] = arg;
		return 0;
	case 'n':
		if (bench_parse_uint(arg, MAX_SPAWNS, &v, NULL) < 0 || v == 0)
			return -EINVAL;
		cfg->max_spawns = (unsigned long)v;
		return 0;
	case 't':
		if (bench_parse_uint(arg, 3600 * 1000, &v, NULL) < 0)
			return -EINVAL;
		cfg->budget_us = v * COL_USEC_PER_MSEC;
		return 0;
	case 'r':
		if (bench_parse_uint(arg, MAX_REPS, &v, NULL) < 0 || v == 0)
			return -EINVAL;
		cfg->reps = (size_t)v;
		return 0;
	case 'H':
		cfg->thp = true;
		return 0;
	}
	return -EINVAL;
}

/* Returns 0 to run, 1 after --help, -EINVAL on a usage error. */
static int parse_args(int argc, char **argv, struct config *cfg)
{
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "program", required_argument, NULL, 'p' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "time-ms", required_argument, NULL, 't' },
		{ "repetitions", required_argument, NULL, 'r' },
		{ "thp", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*cfg = (struct config){ .max_spawns = 5000,
				.budget_us = 200 * COL_USEC_PER_MSEC,
				.reps = 15 };
	parse_sizes("0,1G,4G", cfg);
	while ((opt = getopt_long(argc, argv, "s:p:n:t:r:h", longopts, NULL)) != -1) {
		if (opt == 'h')
			return 1;
		if (opt == '?') /* getopt has said what is wrong */
			return -EINVAL;
		if (parse_option(opt, optarg, cfg) < 0) {
			fprintf(stderr, "spawn: bad option -%c%s%s\n", opt, optarg ? " " : "",
				optarg ? optarg : "");
			return -EINVAL;
		}
	}
	if (optind != argc)
		return -EINVAL;
	if (cfg->n_programs == 0) {
		cfg->paths[cfg->n_programs++] = "/bin/true";
		cfg->paths[cfg->n_programs++] = COL_BENCH_TINY;
	}
	return 0;
}

static int program_init(struct program *p, const char *path, int devnull)
{
	const char *slash = strrchr(path, '/');
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	int r;

	p->path = path;
	p->label = slash ? slash + 1 : path;
	p->argv[0] = (char *)path;
	p->argv[1] = NULL;
	p->linkage = bench_elf_is_static(path);
	p->devnull = devnull;
	o.path = path;
	o.argv = p->argv;
	for (int i = 0; i < 3; i++)
		o.stdio[i] = (struct col_stdio){ .kind = COL_STDIO_FD, .fd = devnull };
	p->col = o;
	r = posix_spawn_file_actions_init(&p->actions);
	for (int i = 0; i < 3 && r == 0; i++)
		r = posix_spawn_file_actions_adddup2(&p->actions, devnull, i);
	return -r;
}

/* 0 when the child exited 0; else its exit code, 128 + signal, or -errno. */
static int wait_pid(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static int spawn_col(const struct program *p)
{
	struct col_child c = COL_CHILD_INIT;
	struct col_status st;
	int r = col_spawn_start(&p->col, &c, NULL);

	if (r < 0)
		return r;
	r = col_reap_pidfd(c.pidfd, 0, &st);
	col_child_release(&c);
	return r < 0 ? r : col_status_exit_code(&st);
}

static int spawn_posix(const struct program *p)
{
	pid_t pid;
	int r = posix_spawn(&pid, p->path, &p->actions, NULL, p->argv, environ);

	return r ? -r : wait_pid(pid);
}

static int spawn_fork(const struct program *p)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Only async-signal-safe calls between fork and exec. */
		for (int fd = 0; fd < 3; fd++)
			if (dup2(p->devnull, fd) < 0)
				_exit(127);
		execve(p->path, p->argv, environ);
		_exit(127);
	}
	return wait_pid(pid);
}

static int spawn_one(enum method m, const struct program *p)
{
	switch (m) {
	case METHOD_COL:
		return spawn_col(p);
	case METHOD_POSIX:
		return spawn_posix(p);
	default:
		return spawn_fork(p);
	}
}

/*
 * Spawn p with method m, sequentially, until max spawns or until budget_us
 * have passed (but at least MIN_SPAWNS). Sets *ret_rate to spawns/s.
 * Returns 0, or the failing spawn's result: -errno, or the child's code.
 */
static int measure(enum method m, const struct program *p, unsigned long max, uint64_t budget_us,
		   double *ret_rate)
{
	uint64_t start = bench_now_us(), elapsed = 0;
	unsigned long n;
	int r;

	for (n = 0; n < max; n++) {
		if (n >= MIN_SPAWNS && elapsed >= budget_us)
			break;
		r = spawn_one(m, p);
		if (r != 0) {
			fprintf(stderr, "spawn: %s of %s: %s %d\n", method_names[m], p->path,
				r < 0 ? strerror(-r) : "child exited", r);
			return r;
		}
		elapsed = bench_now_us() - start;
	}
	*ret_rate = (double)n * 1e6 / (double)(elapsed ? elapsed : 1);
	return 0;
}

/* Memory the parent holds while it spawns. */
struct ballast {
	volatile char *p;
	size_t len;
};

static int ballast_make(struct ballast *b, uint64_t size, bool thp)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	b->p = NULL;
	b->len = 0;
	if (size == 0)
		return 0;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	b->p = p;
	b->len = size;
	/* Before the first touch: the page size is chosen at fault time. */
	if (madvise(p, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0)
		return -errno;
	/* A write, not a read: a read would map the shared zero page, which
	 * fork copies no differently but which is not "holding memory". */
	for (size_t off = 0; off < size; off += page)
		b->p[off] = (char)((off / page) | 1);
	return 0;
}

static void ballast_free(struct ballast *b)
{
	if (b->p)
		munmap((void *)b->p, b->len);
	b->p = NULL;
}

/* Print the resident set (statm) and the huge-page part (smaps_rollup) to
 * show the memory is really there. Returns -EIO if it is not. */
static int ballast_report(const struct ballast *b)
{
	char line[256], huge[256];
	unsigned long long vm = 0, rss = 0, page = (unsigned long long)sysconf(_SC_PAGESIZE);

	if (bench_read_line("/proc/self/statm", "", line, sizeof(line)) < 0 ||
	    sscanf(line, "%llu %llu", &vm, &rss) != 2)
		return -EIO;
	if (bench_read_line("/proc/self/smaps_rollup", "AnonHugePages:", huge, sizeof(huge)) < 0)
		snprintf(huge, sizeof(huge), "AnonHugePages: unknown");
	printf("# parent memory %zu MiB: RSS %llu MiB (/proc/self/statm), %s\n", b->len / MIB,
	       rss * page / MIB, huge);
	return rss * page >= b->len ? 0 : -EIO;
}

/* One size: make the memory, then per program a warm-up (page cache,
 * ld.so's cache, the allocator; not recorded) and the repetitions, each
 * running every method once. */
static int run_size(const struct config *cfg, const struct program *progs, size_t s,
		    struct results *res)
{
	struct ballast b;
	double ignored;
	int r = ballast_make(&b, cfg->sizes[s], cfg->thp);

	if (r < 0) {
		fprintf(stderr, "spawn: %" PRIu64 " bytes of memory: %s\n", cfg->sizes[s],
			strerror(-r));
		goto out;
	}
	r = ballast_report(&b);
	if (r < 0) {
		fprintf(stderr, "spawn: the parent's memory is not resident\n");
		goto out;
	}
	fflush(stdout);
	for (size_t p = 0; p < cfg->n_programs && r == 0; p++) {
		fprintf(stderr, "spawn: %zu MiB, %s ...\n", b.len / MIB, progs[p].path);
		for (int m = 0; m < N_METHODS && r == 0; m++)
			r = measure(m, &progs[p], cfg->max_spawns, cfg->budget_us / 10, &ignored);
		for (size_t rep = 0; rep < cfg->reps && r == 0; rep++) {
			double *rate = rate_at(res, s, p, rep);

			/* Rotate the order too, so that no method always runs
			 * right after fork+execve's page-table teardown. */
			for (int i = 0; i < N_METHODS && r == 0; i++) {
				int m = (int)((rep + (size_t)i) % N_METHODS);

				r = measure(m, &progs[p], cfg->max_spawns, cfg->budget_us,
					    &rate[m]);
			}
		}
	}
out:
	ballast_free(&b);
	return r;
}

/*
 * Over the repetitions: method m's rate, or with den >= 0 the ratio of m's
 * rate to den's in the same repetition. scratch holds res->reps values.
 */
static struct bench_summary summarize(const struct results *res, size_t s, size_t p, int m, int den,
				      double *scratch)
{
	size_t n = res->reps;

	for (size_t rep = 0; rep < n; rep++) {
		const double *rate = rate_at(res, s, p, rep);

		scratch[rep] = den < 0 ? rate[m] : rate[m] / rate[den];
	}
	return bench_summarize(scratch, n);
}

static const char *size_name(uint64_t size, char *buf, size_t len)
{
	if (size % GIB == 0)
		snprintf(buf, len, "%" PRIu64 " GiB", size / GIB);
	else
		snprintf(buf, len, "%" PRIu64 " MiB", size / MIB);
	return buf;
}

static void print_tsv(const struct config *cfg, const struct program *progs,
		      const struct results *res, double *scratch)
{
	struct bench_summary x;

	printf("\n# machine-readable, tab-separated; rates in spawns/s over %zu repetitions:\n"
	       "# spawn\tprogram\tparent_mib\tmethod\tmedian\tmin\tmax\n"
	       "# ratio\tprogram\tparent_mib\tcol_spawn/method\tmedian\tmin\tmax\n",
	       cfg->reps);
	for (size_t s = 0; s < cfg->n_sizes; s++) {
		for (size_t p = 0; p < cfg->n_programs; p++) {
			for (int m = 0; m < N_METHODS; m++) {
				x = summarize(res, s, p, m, -1, scratch);
				printf("spawn\t%s\t%" PRIu64 "\t%s\t%.0f\t%.0f\t%.0f\n",
				       progs[p].label, cfg->sizes[s] / MIB, method_names[m],
				       x.median, x.min, x.max);
			}
			for (int m = METHOD_POSIX; m < N_METHODS; m++) {
				x = summarize(res, s, p, METHOD_COL, m, scratch);
				printf("ratio\t%s\t%" PRIu64 "\tcol_spawn/%s\t%.3f\t%.3f\t%.3f\n",
				       progs[p].label, cfg->sizes[s] / MIB, method_names[m],
				       x.median, x.min, x.max);
			}
		}
	}
}

static void print_human(const struct config *cfg, const struct program *progs,
			const struct results *res, double *scratch)
{
	char size[32];

	printf("\nSpawns per second, median of %zu repetitions (higher is better);\n"
	       "ratios are the median of the per-repetition ratios.\n\n",
	       cfg->reps);
	printf("%-10s %-8s %7s %12s %12s %12s %10s %10s\n", "program", "linkage", "memory",
	       method_names[METHOD_COL], method_names[METHOD_POSIX], method_names[METHOD_FORK],
	       "col/posix", "col/fork");
	for (size_t p = 0; p < cfg->n_programs; p++) {
		for (size_t s = 0; s < cfg->n_sizes; s++) {
			printf("%-10s %-8s %7s", progs[p].label,
			       bench_linkage_name(progs[p].linkage),
			       size_name(cfg->sizes[s], size, sizeof(size)));
			for (int m = 0; m < N_METHODS; m++)
				printf(" %12.0f", summarize(res, s, p, m, -1, scratch).median);
			for (int m = METHOD_POSIX; m < N_METHODS; m++)
				printf(" %9.2fx",
				       summarize(res, s, p, METHOD_COL, m, scratch).median);
			printf("\n");
		}
	}
}

/* The issue's two targets, judged on the median ratios. */
static void print_verdict(const struct config *cfg, const struct program *progs,
			  const struct results *res, double *scratch)
{
	size_t last = 0, worst_s = 0, worst_p = 0;
	double worst = 1e9, fork_min = 1e9;
	char size[32];

	for (size_t s = 0; s < cfg->n_sizes; s++) {
		if (cfg->sizes[s] > cfg->sizes[last])
			last = s;
		for (size_t p = 0; p < cfg->n_programs; p++) {
			double x = summarize(res, s, p, METHOD_COL, METHOD_POSIX, scratch).median;

			if (x < worst) {
				worst = x;
				worst_s = s;
				worst_p = p;
			}
		}
	}
	for (size_t p = 0; p < cfg->n_programs; p++) {
		double x = summarize(res, last, p, METHOD_COL, METHOD_FORK, scratch).median;

		fork_min = x < fork_min ? x : fork_min;
	}
	printf("\ntarget col_spawn >= %.2f x posix_spawn everywhere: %s (lowest %.3fx: %s, %s)\n",
	       TARGET_POSIX_RATIO, worst >= TARGET_POSIX_RATIO ? "met" : "NOT met", worst,
	       progs[worst_p].label, size_name(cfg->sizes[worst_s], size, sizeof(size)));
	printf("target col_spawn >= %.0f x fork+execve at %s: %s (lowest %.1fx)\n",
	       TARGET_FORK_RATIO, size_name(cfg->sizes[last], size, sizeof(size)),
	       fork_min >= TARGET_FORK_RATIO ? "met" : "NOT met", fork_min);
}

static void print_header(int argc, char **argv, const struct config *cfg,
			 const struct program *progs)
{
	printf("# bench/spawn: spawns/s of col_spawn_start, posix_spawn, fork+execve\n#");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	bench_print_machine();
	for (size_t p = 0; p < cfg->n_programs; p++)
		printf("# program %s: %s (%s)\n", progs[p].label, progs[p].path,
		       bench_linkage_name(progs[p].linkage));
#if !COL_BENCH_TINY_STATIC
	printf("# NOTE: static linking was unavailable at build time: %s is dynamic\n",
	       COL_BENCH_TINY);
#endif
	printf("# per measurement: up to %lu spawns or %" PRIu64 " ms (at least %lu spawns); "
	       "%zu repetitions, methods interleaved\n",
	       cfg->max_spawns, cfg->budget_us / COL_USEC_PER_MSEC, MIN_SPAWNS, cfg->reps);
	printf("# parent memory: anonymous, every page written, %s\n",
	       cfg->thp ? "transparent huge pages (MADV_HUGEPAGE)"
			: "4 KiB pages (MADV_NOHUGEPAGE)");
	printf("# child stdio: /dev/null for every method\n");
	bench_print_load("at start");
}

static int setup_programs(const struct config *cfg, struct program *progs, int devnull)
{
	for (size_t p = 0; p < cfg->n_programs; p++) {
		int r = program_init(&progs[p], cfg->paths[p], devnull);

		if (r < 0 || (progs[p].linkage < 0 && progs[p].linkage != -ENOEXEC)) {
			fprintf(stderr, "spawn: %s: %s\n", cfg->paths[p],
				strerror(r < 0 ? -r : -progs[p].linkage));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct program progs[MAX_PROGRAMS] = { 0 };
	struct results res;
	double *scratch = NULL;
	int devnull, r = parse_args(argc, argv, &cfg);

	if (r != 0) {
		usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	res = (struct results){ .n_programs = cfg.n_programs, .reps = cfg.reps };
	res.rate = calloc(cfg.n_sizes * cfg.n_programs * cfg.reps * N_METHODS, sizeof(double));
	scratch = calloc(cfg.reps, sizeof(double));
	if (devnull < 0 || !res.rate || !scratch) {
		fprintf(stderr, "spawn: setting up: %s\n", strerror(errno));
		r = -1;
		goto out;
	}
	r = setup_programs(&cfg, progs, devnull);
	if (r < 0)
		goto out;
	print_header(argc, argv, &cfg, progs);
	for (size_t s = 0; s < cfg.n_sizes && r == 0; s++)
		r = run_size(&cfg, progs, s, &res);
	if (r == 0) {
		print_tsv(&cfg, progs, &res, scratch);
		print_human(&cfg, progs, &res, scratch);
		print_verdict(&cfg, progs, &res, scratch);
		bench_print_load("at end");
	}
out:
	for (size_t p = 0; p < cfg.n_programs; p++)
		if (progs[p].path)
			posix_spawn_file_actions_destroy(&progs[p].actions);
	free(scratch);
	free(res.rate);
	col_close(devnull);
	return r == 0 ? 0 : 1;
}
