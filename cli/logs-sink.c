/*
 * logs-sink.c - where captured lines are written: log files with
 * size-based rotation, streams (collie's own stdout and stderr, a FIFO, a
 * socket, a device) and the syslog socket. See logs.h for what goes where.
 *
 * Decisions that are not obvious:
 *  - A destination holds what it has not written yet as whole records,
 *    each ending in '\n' (a line never contains one). Healthy, it writes
 *    once per pipe read, and whenever LOGS_WRITE_MAX bytes are held, so it
 *    holds little and frees its buffer once empty (a hundred quiet
 *    programs cost no memory). Failing, it holds up to LOGS_HOLD_MAX
 *    bytes and drops what does not fit, counting; the count is written as
 *    a line "[collie] N lines dropped: REASON" exactly where the gap is.
 *  - A file is rotated only between records, never in the middle of one,
 *    so no line is split across files; it passes maxbytes only when one
 *    record alone is longer.
 *  - Streams are written without blocking: collie's own stdout and stderr
 *    through a private non-blocking description (col_fd_reopen()), so the
 *    terminal or pipe others share keeps its flags; sockets with
 *    send(MSG_DONTWAIT). EAGAIN waits for EPOLLOUT; nothing polls.
 *  - Regular files cannot be written without blocking: O_NONBLOCK has no
 *    effect on them, and RWF_NOWAIT for buffered writes is refused by
 *    ext4 and tmpfs (EOPNOTSUPP, checked on Linux 6.18). A write to a slow
 *    or hung disk (or NFS server) therefore stalls the loop for as long as
 *    the kernel takes. What bounds it: one write(2) is at most
 *    LOGS_WRITE_MAX bytes and one pipe event reads at most LOGS_READ_MAX,
 *    so the writing one event does is bounded before timers and exits are
 *    looked at again. Never blocking at all would need a writer thread or
 *    io_uring: left open.
 *  - A failing destination is retried by a 1 s timer that runs only while
 *    something fails, so a healthy collie makes no wakeups.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "collie/fd.h"
#include "logs-internal.h"
#include "banned.h"

#define PREFIX_MAX 512
#define SGR_RESET "\033[0m"
#define FILE_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static void drain_out(struct logs_sink *s);

static void __attribute__((format(printf, 2, 3)))
say(const struct logs_sink *s, const char *fmt, ...)
{
	va_list ap;

	if (s->own)
		fprintf(stderr, "collie: collie's %s: ", s->own == 1 ? "stdout" : "stderr");
	else if (s->kind == SINK_SYSLOG)
		fprintf(stderr, "collie: syslog (%s): ", s->path);
	else
		fprintf(stderr, "collie: %s: ", s->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Why a destination takes no more, for people. */
static const char *reason(int err)
{
	return err == EAGAIN ? "it does not drain (its reader is slow or stopped)" : strerror(err);
}

static int connect_unix(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		col_close(fd);
		return r;
	}
	return fd;
}

/* Open (or connect) s, which is not collie's own output. */
static int open_sink(struct logs_sink *s, int extra_flags)
{
	struct stat st;
	int fd;

	s->socket = false;
	if (s->kind == SINK_SYSLOG) {
		fd = connect_unix(s->path, SOCK_DGRAM);
		s->socket = true;
	} else if (s->kind == SINK_STREAM && stat(s->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		fd = connect_unix(s->path, SOCK_STREAM);
		if (fd == -EPROTOTYPE)
			fd = connect_unix(s->path, SOCK_DGRAM);
		s->socket = true;
	} else {
		/* O_NONBLOCK: a FIFO without a reader is ENXIO, not a hang;
		 * on a regular file it changes nothing. */
		fd = open(s->path, FILE_FLAGS | extra_flags, 0666);
		if (fd < 0)
			return -errno;
		if (s->kind == SINK_FILE && fstat(fd, &st) == 0)
			s->size = (uint64_t)st.st_size;
	}
	if (fd < 0)
		return fd;
	s->fd = fd;
	return 0;
}

static void on_retry(struct col_source *src, uint64_t now, void *data);

static void arm_retry(struct logs *logs)
{
	uint64_t at = col_now() + LOGS_RETRY_USEC;

	if (logs->retrying)
		return;
	if (logs->retry)
		col_timer_set(logs->retry, at, LOGS_RETRY_USEC);
	else if (col_loop_add_timer(logs->loop, at, LOGS_RETRY_USEC, on_retry, logs, &logs->retry) <
		 0)
		return; /* out of memory: the next line or SIGUSR2 retries */
	logs->retrying = true;
}

static void on_writable(struct col_source *src, int fd, uint32_t events, void *data)
{
	struct logs_sink *s = data;

	col_source_free(s->writable);
	s->writable = NULL;
	s->blocked = false;
	drain_out(s);
}

/* A write or an open failed with err. */
static void failed(struct logs_sink *s, int err, const char *what)
{
	if (err == EAGAIN && s->fd >= 0 &&
	    (s->writable ||
	     col_loop_add_fd(s->logs->loop, s->fd, EPOLLOUT, on_writable, s, &s->writable) >= 0)) {
		s->blocked = true;
		return;
	}
	/* A stream or the syslog socket may come back (a new reader, a
	 * restarted syslogd): reconnect on retry. A file keeps its fd. */
	if (s->kind != SINK_FILE && !s->own)
		s->fd = col_close(s->fd);
	if (s->own && s->fd < 0) { /* collie's own closed stdout never comes back */
		if (!s->error)
			say(s, "cannot %s: %s; its lines are dropped, counted", what,
			    strerror(err));
		s->error = err;
		return;
	}
	if (!s->error)
		say(s, "cannot %s: %s; holding its lines (up to %d KiB) and retrying every second",
		    what, strerror(err), LOGS_HOLD_MAX / 1024);
	s->error = err;
	arm_retry(s->logs);
}

static struct logs_sink *new_sink(struct logs *logs, enum sink_kind kind, const char *path)
{
	struct logs_sink *s = calloc(1, sizeof(*s));

	if (!s || !(s->path = strdup(path))) {
		free(s);
		return NULL;
	}
	s->logs = logs;
	s->kind = kind;
	s->fd = -1;
	s->next = logs->sinks;
	logs->sinks = s;
	return s;
}

/* A private fd for collie's own fd 1 or 2 that never blocks (see top). */
static int own_fd(int fd, bool *ret_socket)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	*ret_socket = S_ISSOCK(st.st_mode);
	if (!S_ISREG(st.st_mode) && !*ret_socket) {
		r = col_fd_reopen(fd, O_WRONLY | O_NONBLOCK);
		if (r >= 0)
			return r;
	}
	/* A regular file never says EAGAIN, a socket is sent to with
	 * MSG_DONTWAIT; and without /proc a blocking copy is all there is. */
	r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return r < 0 ? -errno : r;
}

struct logs_sink *logs__sink_own(struct logs *logs, int fd)
{
	struct logs_sink *s;
	const char *nc = getenv("NO_COLOR");
	int r;

	if (logs->own[fd])
		return logs->own[fd];
	s = new_sink(logs, SINK_STREAM, fd == 1 ? "/dev/stdout" : "/dev/stderr");
	if (!s)
		return NULL;
	s->own = fd;
	s->color = isatty(fd) && (!nc || !*nc);
	r = own_fd(fd, &s->socket);
	if (r < 0)
		failed(s, -r, "use it");
	else
		s->fd = r;
	logs->own[fd] = s;
	return s;
}

/* 1 or 2 when path names collie's own stdout or stderr, else 0. */
static int own_path(const char *path)
{
	static const char *const names[][3] = {
		{ "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1" },
		{ "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2" },
	};

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			if (strcmp(path, names[i][j]) == 0)
				return i + 1;
	return 0;
}

struct logs_sink *logs__sink_path(struct logs *logs, const struct cfg_log *cl,
				  enum cfg_timestamps ts)
{
	struct logs_sink *s;
	struct stat st;
	int own = own_path(cl->path), r;

	if (own)
		return logs__sink_own(logs, own);
	for (s = logs->sinks; s; s = s->next)
		if (s->kind != SINK_SYSLOG && !s->own && strcmp(s->path, cl->path) == 0)
			return s;
	/* What is not (yet) there is a file to make; what is there and not
	 * a regular file is a stream: written, never seeked or rotated. */
	s = new_sink(logs,
		     stat(cl->path, &st) == 0 && !S_ISREG(st.st_mode) ? SINK_STREAM : SINK_FILE,
		     cl->path);
	if (!s)
		return NULL;
	s->maxbytes = cl->maxbytes;
	s->backups = cl->backups;
	s->ts = ts;
	r = open_sink(s, 0);
	if (r < 0)
		failed(s, -r, "open it");
	return s;
}

struct logs_sink *logs__sink_syslog(struct logs *logs)
{
	const char *path = getenv("COLLIE_SYSLOG_SOCKET");
	struct logs_sink *s;
	int r;

	for (s = logs->sinks; s; s = s->next)
		if (s->kind == SINK_SYSLOG)
			return s;
	s = new_sink(logs, SINK_SYSLOG, path && *path ? path : "/dev/log");
	if (!s)
		return NULL;
	r = open_sink(s, 0);
	if (r < 0)
		failed(s, -r, "connect");
	return s;
}

/* The run of held lines owner's next line joins. false: too many runs. */
static bool push_run(struct logs_sink *s, struct logs_stream *owner)
{
	if (s->n_runs > s->run_head && s->runs[s->n_runs - 1].owner == owner) {
		s->runs[s->n_runs - 1].lines++;
	} else {
		if (s->n_runs - s->run_head >= LOGS_RUNS_MAX)
			return false;
		if (s->n_runs == s->runs_cap && s->run_head > 0) {
			memmove(s->runs, s->runs + s->run_head,
				(s->n_runs - s->run_head) * sizeof(*s->runs));
			s->n_runs -= s->run_head;
			s->run_head = 0;
		}
		if (s->n_runs == s->runs_cap) {
			size_t cap = s->runs_cap ? s->runs_cap * 2 : 16;
			struct logs_run *r = realloc(s->runs, cap * sizeof(*r));

			if (!r)
				return false;
			s->runs = r;
			s->runs_cap = cap;
		}
		s->runs[s->n_runs++] = (struct logs_run){ .owner = owner, .lines = 1 };
	}
	if (owner)
		owner->st.held++;
	return true;
}

/* The oldest held line is written (or, !written, lost). */
static void pop_run(struct logs_sink *s, bool written)
{
	struct logs_run *r = &s->runs[s->run_head];

	if (r->owner) {
		r->owner->st.held--;
		if (written) {
			r->owner->st.written++;
		} else {
			r->owner->st.dropped++;
			s->dropped++;
		}
	}
	if (--r->lines == 0 && ++s->run_head == s->n_runs)
		s->run_head = s->n_runs = 0;
}

/* Room for one record of need bytes at the end of the held ones, or NULL. */
static char *reserve(struct logs_sink *s, struct logs_stream *owner, size_t need)
{
	char *d;

	if (s->len - s->head + need > LOGS_HOLD_MAX || (s->own && s->fd < 0))
		return NULL;
	if (s->cap - s->len < need && s->head > 0) {
		memmove(s->buf, s->buf + s->head, s->len - s->head);
		s->len -= s->head;
		s->head = 0;
	}
	if (s->cap - s->len < need) {
		size_t cap = s->cap ? s->cap : 16384;

		while (cap - s->len < need)
			cap *= 2;
		d = realloc(s->buf, cap);
		if (!d)
			return NULL;
		s->buf = d;
		s->cap = cap;
	}
	if (!push_run(s, owner))
		return NULL;
	d = s->buf + s->len;
	s->len += need;
	return d;
}

/* "<14>Nov 27 21:39:39 web.1: " (RFC 3164, as syslog(3) sends it). */
static size_t syslog_head(const struct logs_stream *owner, const char *name,
			  const struct timespec *when, char *buf, size_t len)
{
	int pri = LOG_USER | (!owner ? LOG_NOTICE : owner->which == 2 ? LOG_ERR : LOG_INFO);
	char stamp[32] = "";
	struct tm tm;
	int n;

	if (localtime_r(&when->tv_sec, &tm))
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(buf, len, "<%d>%s %s: ", pri, stamp, name);
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* What s puts before a line of owner (NULL: collie's own note). */
static size_t prefix(const struct logs_sink *s, const struct logs_stream *owner,
		     const struct timespec *when, char *buf, size_t len)
{
	const char *name = owner ? owner->proc->cp->name : "collie";
	const char *color = s->color && owner ? owner->proc->color : NULL;
	enum cfg_timestamps ts = owner ? owner->proc->prog->log_timestamps : s->ts;
	size_t n = 0;
	int k;

	if (s->kind == SINK_SYSLOG)
		return syslog_head(owner, name, when, buf, len);
	if (s->kind == SINK_STREAM) {
		k = snprintf(buf, len, "%s%-*s |%s ", color ? color : "", s->logs->width, name,
			     color ? SGR_RESET : "");
		n = k < 0 ? 0 : (size_t)k < len ? (size_t)k : len - 1;
	}
	if (ts != CFG_TS_NONE && len - n > 40) {
		n += logs__format_time(ts, when, buf + n, len - n);
		buf[n++] = ' ';
	}
	return n;
}

/* Hold one formatted record. false: no room. */
static bool put_record(struct logs_sink *s, struct logs_stream *owner, const struct logs_line *l)
{
	char pre[PREFIX_MAX], *d;
	size_t np = prefix(s, owner, l->when, pre, sizeof(pre));
	size_t ncont = l->cont ? strlen(LOGS_MARK_CONT) : 0,
	       ncut = l->cut ? strlen(LOGS_MARK_CUT) : 0;

	d = reserve(s, owner, np + ncont + l->len + ncut + 1);
	if (!d)
		return false;
	memcpy(d, pre, np);
	d += np;
	memcpy(d, LOGS_MARK_CONT, ncont);
	d += ncont;
	memcpy(d, l->text, l->len);
	d += l->len;
	memcpy(d, LOGS_MARK_CUT, ncut);
	d[ncut] = '\n';
	return true;
}

/* Hold the "N lines dropped" note where the gap is. false: no room. */
static bool note_gap(struct logs_sink *s)
{
	char text[160];
	struct timespec now;
	struct logs_line l = { .text = text, .when = &now };
	int n = snprintf(text, sizeof(text), "[collie] %llu lines dropped: %s",
			 (unsigned long long)s->gap, reason(s->gap_error));

	clock_gettime(CLOCK_REALTIME, &now);
	l.len = n < 0 ? 0 : (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1;
	if (!put_record(s, NULL, &l))
		return false;
	s->gap = 0;
	return true;
}

static void drop(struct logs_sink *s, struct logs_stream *owner)
{
	int why = s->error ? s->error : s->blocked ? EAGAIN : ENOMEM;

	if (s->gap++ == 0 && s->head < s->len)
		say(s, "%d KiB held and it still cannot be written (%s): dropping lines, counted",
		    LOGS_HOLD_MAX / 1024, reason(why));
	s->gap_error = why;
	s->dropped++;
	if (owner)
		owner->st.dropped++;
}

void logs__sink_put(struct logs_sink *s, struct logs_stream *owner, const struct logs_line *l)
{
	if ((s->gap && !note_gap(s)) || !put_record(s, owner, l)) {
		drop(s, owner);
		return;
	}
	if (!s->error && !s->blocked && s->len - s->head >= LOGS_WRITE_MAX)
		drain_out(s);
}

/* Each '\n' in p[0 .. n) ends a record that is now written. */
static void credit(struct logs_sink *s, const char *p, size_t n)
{
	const char *end = p + n;

	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		p++;
		pop_run(s, true);
	}
}

/* Rename path.N-1 -> path.N, ..., path -> path.1. */
static int shift_backups(const struct logs_sink *s)
{
	size_t n = strlen(s->path) + 16;
	char *from = malloc(n), *to = malloc(n);
	int r = from && to ? 0 : -ENOMEM;

	for (int i = s->backups - 1; r == 0 && i >= 0; i--) {
		if (i == 0)
			snprintf(from, n, "%s", s->path);
		else
			snprintf(from, n, "%s.%d", s->path, i);
		snprintf(to, n, "%s.%d", s->path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			r = -errno;
	}
	free(from);
	free(to);
	return r;
}

/* The file is full: rotate it (backups = 0: empty it, as supervisord
 * does). A rename that fails leaves the file growing, said once, until
 * the next reopen; a new file that cannot be opened is a failure. */
static int rotate(struct logs_sink *s)
{
	int r = s->backups > 0 ? shift_backups(s) : 0;

	if (r < 0) {
		say(s, "cannot rotate: %s; writing on past maxbytes until reopened (SIGUSR2)",
		    strerror(-r));
		s->no_rotate = true;
		return 0;
	}
	s->fd = col_close(s->fd);
	return open_sink(s, s->backups > 0 ? 0 : O_TRUNC);
}

/* How much of p[0 .. *n) fits the file before maxbytes, in whole records.
 * 1: write *n bytes; 0: rotated, look again; -errno. */
static int fit(struct logs_sink *s, const char *p, size_t *n)
{
	uint64_t room = s->size < s->maxbytes ? s->maxbytes - s->size : 0;
	const char *e = room ? memrchr(p, '\n', room < *n ? (size_t)room : *n) : NULL;

	if (e) {
		*n = (size_t)(e - p) + 1;
		return 1;
	}
	if (s->size == 0) { /* one record alone longer than maxbytes: whole */
		e = memchr(p, '\n', *n);
		*n = e ? (size_t)(e - p) + 1 : *n;
		return 1;
	}
	return rotate(s);
}

/* Write some of what s holds. The bytes written (> 0), 0 after a
 * rotation, or -errno. */
static ssize_t write_some(struct logs_sink *s)
{
	const char *p = s->buf + s->head, *e;
	size_t n = s->len - s->head;
	ssize_t w;
	int r;

	if (s->fd < 0) {
		if (s->own)
			return -EBADF;
		r = open_sink(s, 0);
		if (r < 0)
			return r;
	}
	if (s->kind == SINK_SYSLOG) { /* one datagram per record, no '\n' */
		e = memchr(p, '\n', n);
		n = (size_t)(e - p);
	} else if (n > LOGS_WRITE_MAX) {
		n = LOGS_WRITE_MAX;
	}
	if (s->midline && s->kind != SINK_SYSLOG && (e = memchr(p, '\n', n)))
		n = (size_t)(e - p) + 1; /* finish the record before anything else */
	else if (s->kind == SINK_FILE && s->maxbytes && !s->no_rotate &&
		 s->size + n > s->maxbytes && (r = fit(s, p, &n)) <= 0)
		return r;
	do
		w = s->socket ? send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) : write(s->fd, p, n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if (w == 0 && s->kind != SINK_SYSLOG)
		return -EIO; /* write(2) of n > 0 bytes took none */
	if (s->kind == SINK_SYSLOG)
		w++; /* the '\n' that was not sent */
	credit(s, p, (size_t)w);
	s->head += (size_t)w;
	s->size += (uint64_t)w;
	s->midline = p[w - 1] != '\n';
	return w;
}

static void release_buffers(struct logs_sink *s)
{
	free(s->buf);
	s->buf = NULL;
	s->head = s->len = s->cap = 0;
	free(s->runs);
	s->runs = NULL;
	s->run_head = s->n_runs = s->runs_cap = 0;
}

/* Write everything s holds, and the note of a gap, until done, blocked
 * or failing. */
static void drain_out(struct logs_sink *s)
{
	while (s->head < s->len || (s->gap && note_gap(s))) {
		ssize_t n = write_some(s);

		if (n < 0) {
			failed(s, (int)-n, "write");
			return;
		}
	}
	if (s->error) {
		say(s, "writing again");
		s->error = 0;
	}
	release_buffers(s);
}

void logs__sink_flush(struct logs_sink *s)
{
	if (s && !s->error && !s->blocked && s->head < s->len)
		drain_out(s);
}

static void on_retry(struct col_source *src, uint64_t now, void *data)
{
	struct logs *logs = data;
	bool failing = false;

	for (struct logs_sink *s = logs->sinks; s; s = s->next) {
		if (!s->error || s->blocked || (s->own && s->fd < 0))
			continue;
		drain_out(s);
		failing |= s->error != 0;
	}
	if (!failing) {
		col_timer_set(src, COL_USEC_INFINITY, 0);
		logs->retrying = false;
	}
}

int logs__sink_reopen(struct logs_sink *s)
{
	int r;

	if (s->own)
		return 0;
	col_source_free(s->writable);
	s->writable = NULL;
	s->blocked = false;
	s->no_rotate = false;
	s->fd = col_close(s->fd);
	r = open_sink(s, 0);
	if (r < 0) {
		failed(s, -r, "reopen it");
		return 0;
	}
	drain_out(s);
	return s->kind == SINK_FILE;
}

/* Wait up to until for s's fd to take more. */
static bool wait_writable(const struct logs_sink *s, uint64_t until)
{
	uint64_t now = col_now();
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };

	if (now >= until)
		return false;
	return poll(&pfd, 1, (int)((until - now + 999) / 1000)) > 0;
}

/* Count what is still held as lost; the number of the streams' lines. */
static uint64_t lose_held(struct logs_sink *s)
{
	const char *p, *end;
	uint64_t lost = 0;

	if (!s->buf)
		return 0;
	for (p = s->buf + s->head, end = s->buf + s->len; (p = memchr(p, '\n', (size_t)(end - p)));
	     p++) {
		lost += s->runs[s->run_head].owner != NULL;
		pop_run(s, false);
	}
	return lost;
}

void logs__sink_disown(struct logs_sink *s, const struct logs_stream *stream)
{
	for (size_t i = s->run_head; i < s->n_runs; i++)
		if (s->runs[i].owner == stream)
			s->runs[i].owner = NULL;
}

void logs__sink_finish(struct logs_sink *s, uint64_t until, const char *when)
{
	uint64_t lost;

	for (;;) {
		col_source_free(s->writable);
		s->writable = NULL;
		s->blocked = false;
		if (s->head == s->len && !s->gap)
			break;
		drain_out(s);
		if (!s->blocked || !wait_writable(s, until))
			break;
	}
	col_source_free(s->writable);
	s->writable = NULL;
	lost = lose_held(s);
	if (lost)
		say(s, "%llu lines could not be written %s (%s)", (unsigned long long)lost, when,
		    reason(s->error ? s->error : EAGAIN));
	release_buffers(s);
}

void logs__sink_free(struct logs_sink *s)
{
	if (!s)
		return;
	col_source_free(s->writable);
	col_close(s->fd);
	release_buffers(s);
	free(s->path);
	free(s);
}
