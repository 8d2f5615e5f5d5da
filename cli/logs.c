/*
 * logs.c - capture of every process's stdout and stderr: the pipes, the
 * cutting into lines and the routing to destinations (logs-sink.c). What
 * goes where is in logs.h.
 *
 * Decisions that are not obvious:
 *  - The pipes are made once per process, not per start, and collie keeps
 *    the write ends (close-on-exec; a child gets them only as its fd 1
 *    and 2). A restarted process writes into the same pipe, and what a
 *    process wrote just before it died is still read: nothing in flight
 *    is lost between runs. The price: a pipe never reaches EOF, so "the
 *    process exited" is what ends an unterminated last line, and
 *    logs_proc_exited() reads what is left at that moment, so a process's
 *    lines are written before its exit is traced.
 *  - Read ends are non-blocking and level-triggered; one event reads at
 *    most LOGS_READ_MAX bytes into one buffer shared by every pipe
 *    (callbacks never nest), so a chatty process cannot starve the others
 *    or the supervisor, and the lines of one read are written together
 *    (one write(2) per destination, not one per line).
 *  - A line is kept whole up to LOGS_LINE_MAX bytes; longer, it is cut
 *    into marked pieces (logs.h), so memory per stream is bounded and a
 *    process that never writes a newline is still logged.
 *  - The time of a line is when collie read it (CLOCK_REALTIME), the same
 *    for every line of one read.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collie/fd.h"
#include "logs-internal.h"
#include "banned.h"

#define DRAIN_READS_MAX 16 /* reads at an exit: bounded, a descendant may go on writing */
#define FINISH_WAIT_USEC (2 * COL_USEC_PER_SEC) /* at exit, for a stream that is blocked */

/* SGR colours, one per program in config order, as foreman cycles them. */
static const char *const palette[] = {
	"\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m",
	"\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m",
};

size_t logs__format_time(enum cfg_timestamps ts, const struct timespec *when, char *buf, size_t len)
{
	long usec = when->tv_nsec / 1000;
	struct tm tm;
	int n = 0;

	if (ts == CFG_TS_UNIX) {
		n = snprintf(buf, len, "%lld.%06ld", (long long)when->tv_sec, usec);
	} else if (ts == CFG_TS_ISO8601 && gmtime_r(&when->tv_sec, &tm)) {
		n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	}
	return n < 0 || len == 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* One line (or piece) is complete: to every destination of s. */
static void emit(struct logs_stream *s, const char *text, size_t len, bool cut,
		 const struct timespec *when)
{
	struct logs_line l = {
		.text = text, .len = len, .cut = cut, .cont = s->cont, .when = when
	};

	s->st.lines++;
	s->cont = cut;
	if (s->dest)
		logs__sink_put(s->dest, s, &l);
	if (s->syslog)
		logs__sink_put(s->syslog, s, &l);
	if (s->proc->logs->tap.line || !s->dest || s->dest->kind != SINK_FILE)
		logs__follow_line(s, &l);
}

/* Keep n more bytes of an unterminated line. false: no memory. */
static bool keep(struct logs_stream *s, const char *p, size_t n)
{
	if (!s->part && !(s->part = malloc(LOGS_LINE_MAX)))
		return false;
	memcpy(s->part + s->plen, p, n);
	s->plen += n;
	return true;
}

/* The kept line is out: free its buffer (most of the time there is none). */
static void kept_out(struct logs_stream *s)
{
	free(s->part);
	s->part = NULL;
	s->plen = 0;
}

/* The kept bytes and p[0 .. k) are one line, or a piece of one (cut). */
static void line_out(struct logs_stream *s, const char *p, size_t k, bool cut,
		     const struct timespec *when)
{
	if (!s->plen) {
		emit(s, p, k, cut, when);
		return;
	}
	if (keep(s, p, k)) {
		emit(s, s->part, s->plen, cut, when);
	} else {
		emit(s, s->part, s->plen, true, when);
		emit(s, p, k, cut, when);
	}
	kept_out(s);
}

/* Cut what was read into lines; keep an unterminated end for later. */
static void split(struct logs_stream *s, const char *p, size_t n, const struct timespec *when)
{
	const char *end = p + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t room = LOGS_LINE_MAX - s->plen;
		bool cut = k > room;

		if (cut) {
			k = room; /* a piece of exactly LOGS_LINE_MAX bytes */
		} else if (!nl) {
			if (keep(s, p, k))
				return;
			cut = true; /* no memory to keep it: out as a piece now */
		}
		line_out(s, p, k, cut, when);
		p += cut ? k : k + 1;
	}
}

/* Read once from s's pipe and write out the lines. The byte count, 0 or
 * -errno (-EAGAIN: nothing there). */
static ssize_t read_batch(struct logs_stream *s)
{
	struct logs *logs = s->proc->logs;
	struct timespec when;
	ssize_t n;

	if (!s->src)
		return 0;
	n = col_fd_read(s->rfd, logs->rbuf, sizeof(logs->rbuf));
	if (n <= 0) {
		/* EOF cannot be (collie holds the write end); an error
		 * would repeat forever: stop watching, say so. */
		if (n != -EAGAIN) {
			fprintf(stderr, "collie: %s: cannot read its %s: %s\n", s->proc->cp->name,
				s->which == 1 ? "stdout" : "stderr", n ? strerror((int)-n) : "EOF");
			col_source_free(s->src);
			s->src = NULL;
		}
		return n;
	}
	clock_gettime(CLOCK_REALTIME, &when);
	split(s, logs->rbuf, (size_t)n, &when);
	logs__sink_flush(s->dest);
	logs__sink_flush(s->syslog);
	logs__follow_flush(logs);
	return n;
}

static void on_readable(struct col_source *src, int fd, uint32_t events, void *data)
{
	read_batch(data);
}

/* Read what is left and write out an unterminated last line. */
static void drain(struct logs_stream *s)
{
	struct timespec when;

	for (int i = 0; i < DRAIN_READS_MAX && read_batch(s) > 0; i++)
		;
	if (s->plen) {
		clock_gettime(CLOCK_REALTIME, &when);
		emit(s, s->part, s->plen, false, &when);
		kept_out(s);
		logs__sink_flush(s->dest);
		logs__sink_flush(s->syslog);
		logs__follow_flush(s->proc->logs);
	}
	s->cont = false;
}

void logs_proc_exited(struct logs_proc *lp)
{
	drain(&lp->out);
	drain(&lp->err);
}

/* Where stream s of lp goes, and its pipe when it goes somewhere. */
static int setup_stream(struct logs_proc *lp, struct logs_stream *s, const struct cfg_log *cl)
{
	struct logs *logs = lp->logs;
	int fds[2], r;

	if (cl->path)
		s->dest = logs__sink_path(logs, cl, lp->prog->log_timestamps);
	else if (logs->opts.foreground)
		s->dest = logs__sink_own(logs, 1);
	if (s->dest)
		s->dest->users++;
	if (cl->syslog && (s->syslog = logs__sink_syslog(logs)))
		s->syslog->users++;
	if (((cl->path || logs->opts.foreground) && !s->dest) || (cl->syslog && !s->syslog))
		return -ENOMEM;
	if (!s->dest && !s->syslog)
		return 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	s->rfd = fds[0];
	s->wfd = fds[1];
	r = col_fd_set_nonblock(s->rfd, true);
	if (r >= 0)
		r = col_loop_add_fd(logs->loop, s->rfd, EPOLLIN, on_readable, s, &s->src);
	return r;
}

static void init_stream(struct logs_proc *lp, struct logs_stream *s, int which)
{
	s->proc = lp;
	s->which = which;
	s->rfd = s->wfd = -1;
}

static void free_stream(struct logs_stream *s)
{
	col_source_free(s->src);
	col_close(s->rfd);
	col_close(s->wfd);
	free(s->part);
}

/* Where both streams of lp go, and their pipes. */
static int setup_proc(struct logs_proc *lp)
{
	int r = setup_stream(lp, &lp->out, &lp->cp->out);

	if (r >= 0 && !lp->prog->redirect_stderr)
		r = setup_stream(lp, &lp->err, &lp->cp->err);
	return r;
}

int logs_add(struct logs *logs, struct cfg *cfg, const struct cfg_program *prog,
	     const struct cfg_process *cp, struct logs_proc **ret)
{
	struct logs_proc *lp, **grown;
	int r;

	if (logs->n_procs == logs->cap) {
		size_t cap = logs->cap ? logs->cap * 2 : 16;

		if (!(grown = realloc(logs->procs, cap * sizeof(*grown))))
			return -ENOMEM;
		logs->procs = grown;
		logs->cap = cap;
	}
	if (!(lp = calloc(1, sizeof(*lp))))
		return -ENOMEM;
	lp->logs = logs;
	lp->cfg = cfg_ref(cfg);
	lp->prog = prog;
	lp->cp = cp;
	/* programs are coloured in config order, as foreman does */
	lp->color = palette[(size_t)(prog - cfg->programs) % COL_ARRAY_SIZE(palette)];
	init_stream(lp, &lp->out, 1);
	init_stream(lp, &lp->err, 2);
	if ((int)strlen(cp->name) > logs->width)
		logs->width = (int)strlen(cp->name);
	logs->procs[logs->n_procs++] = lp;
	r = setup_proc(lp);
	if (r < 0) {
		logs_remove(lp);
		return r;
	}
	*ret = lp;
	return 0;
}

int logs_new(struct col_loop *loop, struct cfg *cfg, const struct logs_opts *opts,
	     struct logs **ret)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct logs *logs = calloc(1, sizeof(*logs));
	struct logs_proc *lp;
	int r = 0;

	if (!logs)
		return -ENOMEM;
	logs->loop = loop;
	logs->opts = *opts;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	for (size_t i = 0; r >= 0 && i < cfg->n_programs; i++)
		for (size_t j = 0; r >= 0 && j < cfg->programs[i].n_procs; j++)
			r = logs_add(logs, cfg, &cfg->programs[i], &cfg->programs[i].procs[j], &lp);
	if (r < 0) {
		logs_free(logs);
		return r;
	}
	*ret = logs;
	return 0;
}

void logs_rebind(struct logs_proc *lp, struct cfg *cfg, const struct cfg_program *prog,
		 const struct cfg_process *cp)
{
	struct cfg *was = lp->cfg;

	lp->cfg = cfg_ref(cfg);
	lp->prog = prog;
	lp->cp = cp;
	lp->color = palette[(size_t)(prog - cfg->programs) % COL_ARRAY_SIZE(palette)];
	cfg_unref(was);
}

/* On stderr: what lp's streams lost (everything with -v). */
static void report(const struct logs_proc *lp)
{
	const struct logs_stream *ss[] = { &lp->out, &lp->err };

	for (size_t j = 0; j < COL_ARRAY_SIZE(ss); j++) {
		const struct logs_stats *st = &ss[j]->st;
		const char *what = j ? "stderr" : "stdout";

		if (ss[j]->rfd < 0)
			continue;
		if (lp->logs->opts.verbose)
			fprintf(stderr, "collie: %s: %s: %llu lines, %llu written, %llu dropped\n",
				lp->cp->name, what, (unsigned long long)st->lines,
				(unsigned long long)st->written, (unsigned long long)st->dropped);
		else if (st->dropped)
			fprintf(stderr, "collie: %s: %s: %llu of %llu lines dropped\n",
				lp->cp->name, what, (unsigned long long)st->dropped,
				(unsigned long long)st->lines);
	}
}

static void free_proc(struct logs_proc *lp)
{
	free_stream(&lp->out);
	free_stream(&lp->err);
	free(lp->ring);
	cfg_unref(lp->cfg);
	free(lp);
}

/* The streams of a capture being removed, and where they write. */
static void streams_of(struct logs_proc *lp, struct logs_stream *st[4], struct logs_sink *sk[4])
{
	st[0] = st[1] = &lp->out;
	st[2] = st[3] = &lp->err;
	sk[0] = lp->out.dest;
	sk[1] = lp->out.syslog;
	sk[2] = lp->err.dest;
	sk[3] = lp->err.syslog;
}

/* A file or stream of the configuration's (collie's own output and the
 * syslog socket live as long as collie). */
static bool closable(const struct logs_sink *s)
{
	return !s->own && s->kind != SINK_SYSLOG;
}

/* Whether sk[i] is closable and written by nothing but these streams
 * (stdout and stderr may share one file), and its first mention. */
static bool only_ours(struct logs_sink *const sk[4], size_t i)
{
	unsigned refs = 0;

	if (!sk[i] || !closable(sk[i]))
		return false;
	for (size_t j = 0; j < 4; j++) {
		if (j < i && sk[j] == sk[i])
			return false;
		refs += sk[j] == sk[i];
	}
	return sk[i]->users == refs;
}

void logs_remove(struct logs_proc *lp)
{
	struct logs_stream *st[4];
	struct logs_sink *sk[4];
	struct logs *logs;
	size_t k = 0;

	if (!lp)
		return;
	logs = lp->logs;
	logs_proc_exited(lp);
	streams_of(lp, st, sk);
	/* a destination only lp wrote: last try now, its losses counted to lp */
	for (size_t i = 0; i < 4; i++)
		if (only_ours(sk, i))
			logs__sink_finish(sk[i], col_now(), "before it was closed");
	report(lp);
	for (size_t i = 0; i < 4; i++) {
		if (!sk[i])
			continue;
		logs__sink_disown(sk[i], st[i]);
		if (--sk[i]->users > 0 || !closable(sk[i]))
			continue;
		for (struct logs_sink **link = &logs->sinks; *link; link = &(*link)->next) {
			if (*link == sk[i]) {
				*link = sk[i]->next;
				break;
			}
		}
		logs__sink_free(sk[i]);
	}
	for (size_t i = 0; i < logs->n_procs; i++)
		if (logs->procs[i] != lp)
			logs->procs[k++] = logs->procs[i];
	logs->n_procs = k;
	free_proc(lp);
}

void logs_free(struct logs *logs)
{
	uint64_t until = col_now() + FINISH_WAIT_USEC;

	if (!logs)
		return;
	for (size_t i = 0; i < logs->n_procs; i++)
		logs_proc_exited(logs->procs[i]);
	for (struct logs_sink *s = logs->sinks; s; s = s->next)
		logs__sink_finish(s, until, "before exit");
	for (size_t i = 0; i < logs->n_procs; i++) {
		struct logs_proc *lp = logs->procs[i];

		report(lp);
		free_proc(lp);
	}
	while (logs->sinks) {
		struct logs_sink *next = logs->sinks->next;

		logs__sink_free(logs->sinks);
		logs->sinks = next;
	}
	col_source_free(logs->retry);
	logs__follow_release(logs);
	free(logs->procs);
	free(logs);
}

struct logs_proc *logs_find(struct logs *logs, const char *name)
{
	for (size_t i = 0; i < logs->n_procs; i++)
		if (strcmp(logs->procs[i]->cp->name, name) == 0)
			return logs->procs[i];
	return NULL;
}

static void stdio_of(const struct logs_stream *s, struct col_stdio *io)
{
	io->kind = s->wfd >= 0 ? COL_STDIO_FD : COL_STDIO_NULL;
	io->fd = s->wfd;
}

void logs_proc_stdio(const struct logs_proc *lp, struct col_stdio stdio[3])
{
	stdio_of(&lp->out, &stdio[1]);
	stdio_of(lp->prog->redirect_stderr ? &lp->out : &lp->err, &stdio[2]);
}

int logs_reopen_all(struct logs *logs)
{
	int n = 0;

	for (struct logs_sink *s = logs->sinks; s; s = s->next)
		n += logs__sink_reopen(s);
	return n;
}

void logs_stats(const struct logs_proc *lp, int which, struct logs_stats *ret)
{
	*ret = which == 2 ? lp->err.st : lp->out.st;
}
