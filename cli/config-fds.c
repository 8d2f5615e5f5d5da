/*
 * config-fds.c - the file descriptors `collie up` needs to run a
 * configuration, checked against the hard RLIMIT_NOFILE when it is
 * loaded, so that a configuration that cannot run is refused by `collie
 * check` and `collie up` before anything starts, rather than half started
 * with EMFILE.
 *
 * The hard limit is the one that counts: `collie up` raises its soft
 * limit to it (up.c). What is counted, from what the code opens:
 *  - per process: a pipe (both ends, held for as long as collie runs:
 *    logs.c) for stdout and one for stderr (none with redirect_stderr);
 *    a pidfd per command of its pipeline while it runs (supervisor.c);
 *    ready=notify one socket, ready=fd one pipe end, ready=tcp two
 *    probe sockets, held until it exits (ready.c); its cgroup's
 *    directory (cgroup.c; counted even when collie runs without cgroups,
 *    which it learns only when it starts). Timers share the loop's one
 *    timerfd and cost nothing.
 *  - per log file: one fd, shared by every stream that names the path;
 *    one syslog socket if any stream goes to syslog (logs-sink.c).
 *  - collie's own: stdin, stdout, stderr; the loop's epoll, signalfd and
 *    timerfd; the copy of stdout that foreground output is written to;
 *    the control socket and one client connection (control.c); the
 *    pidfile of -d; the cgroup tree's directory, its lock and its
 *    inotify fd.
 *  - one start at a time (starts run one after another in the loop):
 *    what it opens for a moment, in collie and in the child before its
 *    limits are set (start_fds()).
 * Not counted: more clients of the control socket at once (collie stops
 * accepting while it has no fd left and tries again later), and the
 * brief fds of a log rotation or a reload.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "collie/cmdline.h"
#include "config-internal.h"
#include "banned.h"

/* stdio 3, loop 3, own stdout copy 1, control socket 1 + 1 client, pidfile 1,
 * cgroup tree 3 */
#define OWN_FDS 13

struct fd_count {
	uint64_t inherited; /* open above 2 when collie started */
	uint64_t pipes;	    /* the processes' output pipes */
	uint64_t pidfds;    /* their pidfds */
	uint64_t ready;	    /* their readiness sockets and pipes */
	uint64_t cgroups;   /* their cgroups' directories */
	uint64_t files;	    /* log files and the syslog socket */
	uint64_t start;	    /* the most one start opens for a moment */
};

/*
 * What one start of proc needs for a moment beyond what collie keeps;
 * its pipeline's command count in *ret_cmds. In collie: the directory=
 * fd, /dev/null for the gap below ready=fd:N past 3, ready=fd's write
 * end, the pipes between two commands (the previous one's read end and
 * the next pipe), the files one command's redirections open. In the
 * child, which has a copy of all of that under collie's limit until its
 * fds are in place (src/spawn-child.c): a copy of each of its fds 0 ..
 * slots-1 above them (/dev/null for stdin is opened, copied and closed
 * first, so it adds nothing to the peak).
 */
static uint64_t start_fds(const struct cfg_program *p, const struct cfg_process *proc,
			  uint64_t *ret_cmds)
{
	struct col_cmdline *cl = NULL;
	uint64_t files = 0, slots = p->ready == CFG_READY_FD ? (uint64_t)p->ready_arg + 1 : 3;
	uint64_t n = (proc->directory != NULL) + (p->ready == CFG_READY_FD) +
		     (p->ready == CFG_READY_FD && p->ready_arg > 3);

	*ret_cmds = 1;
	if (!p->shell && col_cmdline_parse(proc->command, proc->env, 0, &cl, NULL) == 0) {
		for (size_t i = 0; i < cl->n_cmds; i++) {
			const struct col_cmdline_cmd *c = &cl->cmds[i];
			uint64_t k = 0;

			for (size_t j = 0; j < c->n_redirs; j++) {
				k += c->redirs[j].kind != COL_CMDLINE_REDIR_DUP_READ &&
				     c->redirs[j].kind != COL_CMDLINE_REDIR_DUP_WRITE;
				if ((uint64_t)c->redirs[j].fd + 1 > slots)
					slots = (uint64_t)c->redirs[j].fd + 1;
			}
			files = k > files ? k : files;
		}
		*ret_cmds = cl->n_cmds;
		n += cl->n_cmds > 1 ? 3 : 0;
		col_cmdline_free(cl);
	}
	return n + files + slots;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct log file paths, plus the syslog socket. -ENOMEM. */
static int count_files(const struct cfg *cfg, size_t n_streams, uint64_t *ret)
{
	const char **paths = calloc(n_streams ? n_streams : 1, sizeof(*paths));
	bool syslog = false;
	size_t n = 0;

	if (!paths)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_programs; i++) {
		const struct cfg_program *p = &cfg->programs[i];

		for (size_t j = 0; j < p->n_procs; j++) {
			const struct cfg_log *logs[] = { &p->procs[j].out, &p->procs[j].err };

			for (size_t k = 0; k < (p->redirect_stderr ? 1u : 2u); k++) {
				if (logs[k]->path)
					paths[n++] = logs[k]->path;
				syslog |= logs[k]->syslog;
			}
		}
	}
	qsort(paths, n, sizeof(*paths), compare_strings);
	*ret = syslog;
	for (size_t i = 0; i < n; i++)
		*ret += i == 0 || strcmp(paths[i - 1], paths[i]) != 0;
	free(paths);
	return 0;
}

/*
 * The fds above 2 that collie's parent left open (bats' fd 3, a shell's
 * stray ones): they take places under the limit too. Counted once, at the
 * first load, before collie opens anything of its own (`collie up` and
 * `collie check` load first); a later load (a reload) must not count the
 * supervisor's own fds as inherited.
 */
static uint64_t inherited_fds(void)
{
	static long n = -1;
	DIR *d;

	if (n >= 0)
		return (uint64_t)n;
	n = 0;
	d = opendir("/proc/self/fd");
	if (!d)
		return 0; /* no /proc: none counted */
	for (struct dirent *e; (e = readdir(d));) {
		long fd = strtol(e->d_name, NULL, 10); /* 0 for "." and ".." */

		n += fd > 2 && fd != dirfd(d);
	}
	closedir(d);
	return (uint64_t)n;
}

static uint64_t count(const struct cfg *cfg, struct fd_count *c, size_t *ret_procs)
{
	size_t n_procs = 0;

	*c = (struct fd_count){ .inherited = inherited_fds() };
	for (size_t i = 0; i < cfg->n_programs; i++) {
		const struct cfg_program *p = &cfg->programs[i];
		uint64_t ready = p->ready == CFG_READY_TCP ? 2 : p->ready != CFG_READY_STARTSECS;

		n_procs += p->n_procs;
		for (size_t j = 0; j < p->n_procs; j++) {
			uint64_t cmds, start = start_fds(p, &p->procs[j], &cmds);

			c->pipes += p->redirect_stderr ? 2 : 4;
			c->pidfds += cmds;
			c->ready += ready;
			c->cgroups++;
			c->start = start > c->start ? start : c->start;
		}
	}
	*ret_procs = n_procs;
	if (count_files(cfg, n_procs * 2, &c->files) < 0)
		return UINT64_MAX;
	return OWN_FDS + c->inherited + c->pipes + c->pidfds + c->ready + c->cgroups + c->files +
	       c->start;
}

uint64_t cfg_fds_needed(const struct cfg *cfg)
{
	struct fd_count c;
	size_t n;

	return count(cfg, &c, &n);
}

/* The program with the most processes: the first to make smaller. */
static const struct cfg_program *largest(const struct cfg *cfg)
{
	const struct cfg_program *best = NULL;

	for (size_t i = 0; i < cfg->n_programs; i++)
		if (!best || cfg->programs[i].n_procs > best->n_procs)
			best = &cfg->programs[i];
	return best;
}

/* "1200 for output pipes, 300 pidfds, ..." without the parts that are 0. */
static void describe(const struct fd_count *c, char *buf, size_t len)
{
	const struct {
		uint64_t n;
		const char *what;
	} parts[] = {
		{ c->pipes, " for output pipes" }, { c->pidfds, " pidfds" },
		{ c->ready, " for readiness" },	   { c->cgroups, " cgroups" },
		{ c->files, " log files" },	   { c->start, " while starting one" },
		{ OWN_FDS, " of collie's own" },   { c->inherited, " inherited from its parent" },
	};
	size_t k = 0;

	buf[0] = 0;
	for (size_t i = 0; i < COL_ARRAY_SIZE(parts) && k < len; i++) {
		int n;

		if (!parts[i].n)
			continue;
		n = snprintf(buf + k, len - k, "%s%llu%s", k ? ", " : "",
			     (unsigned long long)parts[i].n, parts[i].what);
		k += n > 0 ? (size_t)n : 0;
	}
}

int cfg__check_fds(struct cfg_loader *l)
{
	const struct cfg *cfg = l->cfg;
	const struct cfg_program *big = largest(cfg);
	struct fd_count c;
	struct rlimit rl;
	char parts[256];
	uint64_t need;
	size_t n;

	if (!big || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
		return 0;
	need = count(cfg, &c, &n);
	if (need == UINT64_MAX)
		return -ENOMEM;
	if (need <= rl.rlim_max)
		return 0;
	describe(&c, parts, sizeof(parts));
	cfg__error(l, cfg->path, 0,
		   "%zu processes need %llu file descriptors in collie (%s), more than its hard "
		   "limit RLIMIT_NOFILE of %llu; raise the hard limit to %llu or more (as root: "
		   "ulimit -Hn %llu; systemd: LimitNOFILE=%llu; docker run --ulimit "
		   "nofile=%llu), or run fewer processes (the most: %s%s%s at %s:%u, %zu of "
		   "them)%s",
		   n, (unsigned long long)need, parts, (unsigned long long)rl.rlim_max,
		   (unsigned long long)need, (unsigned long long)need, (unsigned long long)need,
		   (unsigned long long)need, cfg->procfile ? "" : "[program:", big->name,
		   cfg->procfile ? "" : "]", big->file, big->line, big->n_procs,
		   !cfg->procfile && c.pipes > 2 * n
			   ? ", or set redirect_stderr=true (2 fewer per process)"
			   : "");
	return 0;
}
