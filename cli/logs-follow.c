/*
 * logs-follow.c - what `collie logs` reads from the capture: where each
 * stream is kept, the in-memory tail of the processes whose output is in
 * no file, and the tap that `collie logs -f` follows (logs.h).
 *
 * Decisions that are not obvious:
 *  - The supervisor never reads a log file for a client: it says which
 *    file (and which inode, and how many bytes of it are written) and the
 *    client, running as the same user, reads it. A slow or hung disk then
 *    stalls the client, never supervision; and a 1 GB log is not copied
 *    through the supervisor's memory.
 *  - Output that goes to no file (the terminal, /dev/stdout, a FIFO, a
 *    socket, syslog alone, /dev/null under `up -d`) is not on any disk
 *    collie can read back: a small tail of it is kept in memory, one per
 *    process (its stdout and stderr lines in the order read), so `collie
 *    logs web` shows what web said last before it died. LOGS_TAIL_MAX
 *    (4 KiB, about 50 lines of 80 columns) bounds it: a hundred chatty
 *    programs cost about 0.5 MiB, well within the supervisor's 2 MiB
 *    target for a hundred programs in all (docs/benchmarks.md: 16 KiB took
 *    100 chatty programs to 2.5 MiB, 8 KiB to 1.99 MiB); quiet ones cost
 *    nothing, the tail is allocated at the first line. What reads collie's output
 *    (a terminal, a container's log driver) has the whole of it.
 *  - The tail is a ring of records, each "W<record>\n" (W the stream,
 *    '1' or '2'; a record holds no newline): the oldest records make room
 *    for a new one, so a line costs one or two memcpy, never a memmove
 *    of the tail.
 *  - The tap gets each line as its log file would have it, formatted once
 *    here; the formatting is done only when a tap is set or the line goes
 *    to the tail, so without followers a line with a log file costs one
 *    test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "logs-internal.h"
#include "banned.h"

#define REC_MAX (LOGS_LINE_MAX + 128) /* a line, its timestamp and marks */

struct logs_ring {
	size_t head, len; /* the records: buf[head .. head + len), wrapping */
	char buf[LOGS_TAIL_MAX];
};

/* A line as its log file would have it (prefix() in logs-sink.c for a
 * file): "TIMESTAMP [...] text [...]". Its length in rec. */
static size_t format_record(const struct logs_stream *s, const struct logs_line *l, char *rec)
{
	enum cfg_timestamps ts = s->proc->prog->log_timestamps;
	size_t n = 0, k;

	if (ts != CFG_TS_NONE) {
		n = logs__format_time(ts, l->when, rec, 64);
		rec[n++] = ' ';
	}
	if (l->cont) {
		memcpy(rec + n, LOGS_MARK_CONT, strlen(LOGS_MARK_CONT));
		n += strlen(LOGS_MARK_CONT);
	}
	k = l->len < LOGS_LINE_MAX ? l->len : LOGS_LINE_MAX;
	memcpy(rec + n, l->text, k);
	n += k;
	if (l->cut) {
		memcpy(rec + n, LOGS_MARK_CUT, strlen(LOGS_MARK_CUT));
		n += strlen(LOGS_MARK_CUT);
	}
	return n;
}

/* Forget the oldest record. */
static void ring_drop(struct logs_ring *r)
{
	size_t first = r->head + r->len <= sizeof(r->buf) ? r->len : sizeof(r->buf) - r->head;
	const char *nl = memchr(r->buf + r->head, '\n', first);
	size_t k;

	if (nl)
		k = (size_t)(nl - (r->buf + r->head)) + 1;
	else /* it wraps: its end is in the part at the start of buf */
		k = first + (size_t)((const char *)memchr(r->buf, '\n', r->len - first) - r->buf) +
		    1;
	r->head = (r->head + k) % sizeof(r->buf);
	r->len -= k;
}

static void ring_write(struct logs_ring *r, const char *p, size_t n)
{
	size_t at = (r->head + r->len) % sizeof(r->buf);
	size_t first = n < sizeof(r->buf) - at ? n : sizeof(r->buf) - at;

	memcpy(r->buf + at, p, first);
	memcpy(r->buf, p + first, n - first);
	r->len += n;
}

/* Keep one record of stream which; a record longer than the whole tail
 * keeps its start, marked as cut. */
static void ring_put(struct logs_ring *r, int which, const char *rec, size_t n)
{
	size_t cut = strlen(LOGS_MARK_CUT);
	bool too_long = n + 2 > sizeof(r->buf);
	char w = which == 2 ? '2' : '1';

	if (too_long)
		n = sizeof(r->buf) - 2 - cut;
	while (sizeof(r->buf) - r->len < n + 2 + (too_long ? cut : 0))
		ring_drop(r);
	ring_write(r, &w, 1);
	ring_write(r, rec, n);
	if (too_long)
		ring_write(r, LOGS_MARK_CUT, cut);
	ring_write(r, "\n", 1);
}

void logs__follow_line(struct logs_stream *s, const struct logs_line *l)
{
	struct logs *logs = s->proc->logs;
	bool in_file = s->dest && s->dest->kind == SINK_FILE;
	size_t n;

	if (!logs->rec && !(logs->rec = malloc(REC_MAX)))
		return; /* out of memory: the tail and followers miss this line */
	n = format_record(s, l, logs->rec);
	if (!in_file && !s->proc->ring)
		s->proc->ring = calloc(1, sizeof(*s->proc->ring));
	if (!in_file && s->proc->ring)
		ring_put(s->proc->ring, s->which, logs->rec, n);
	if (logs->tap.line)
		logs->tap.line(logs->tap.data, s->proc->cp->name, s->which, logs->rec, n);
}

void logs__follow_flush(struct logs *logs)
{
	if (logs->tap.flush)
		logs->tap.flush(logs->tap.data);
}

void logs__follow_release(struct logs *logs)
{
	free(logs->rec);
	logs->rec = NULL;
}

void logs_set_tap(struct logs *logs, const struct logs_tap *tap)
{
	if (tap)
		logs->tap = *tap;
	else
		memset(&logs->tap, 0, sizeof(logs->tap));
}

void logs_each_failing(struct logs *logs, void (*fn)(void *data, const char *path, int error),
		       void *data)
{
	for (const struct logs_sink *s = logs->sinks; s; s = s->next)
		if (!s->own && s->error)
			fn(data, s->path, s->error);
}

void logs_proc_kept(const struct logs_proc *lp, int which, struct logs_kept *ret)
{
	const struct logs_stream *s = which == 2 ? &lp->err : &lp->out;
	const struct logs_sink *d = s->dest;
	struct stat st;

	memset(ret, 0, sizeof(*ret));
	if (s->rfd < 0) {
		ret->kind = LOGS_KEPT_NONE;
		return;
	}
	if (!d || d->kind != SINK_FILE) {
		ret->kind = LOGS_KEPT_MEMORY;
		return;
	}
	ret->kind = LOGS_KEPT_FILE;
	ret->path = d->path;
	/* Without maxbytes collie never rotates: a path.1 is not its own. */
	ret->backups = d->maxbytes ? d->backups : 0;
	ret->error = d->error;
	if (d->fd >= 0 && fstat(d->fd, &st) == 0) {
		ret->open = true;
		ret->dev = (uint64_t)st.st_dev;
		ret->ino = (uint64_t)st.st_ino;
		ret->size = (uint64_t)st.st_size;
	}
}

void logs_proc_held(const struct logs_proc *lp, int which,
		    void (*fn)(void *data, const char *rec, size_t len), void *data)
{
	const struct logs_stream *s = which == 2 ? &lp->err : &lp->out;
	const struct logs_sink *d = s->dest;
	const char *p, *end, *nl;

	if (s->rfd < 0 || !d || d->kind != SINK_FILE || !d->buf)
		return;
	p = d->buf + d->head;
	end = d->buf + d->len;
	if (d->midline && (nl = memchr(p, '\n', (size_t)(end - p))))
		p = nl + 1; /* its start is in the file already */
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1)
		fn(data, p, (size_t)(nl - p));
}

void logs_proc_tail(const struct logs_proc *lp, size_t max_lines,
		    void (*fn)(void *data, int which, const char *rec, size_t len), void *data)
{
	const struct logs_ring *r = lp->ring;
	size_t lines = 0, skip;
	char *flat, *p, *end, *nl;

	if (!r || !r->len || !(flat = malloc(r->len)))
		return;
	if (r->head + r->len <= sizeof(r->buf)) {
		memcpy(flat, r->buf + r->head, r->len);
	} else {
		size_t first = sizeof(r->buf) - r->head;

		memcpy(flat, r->buf + r->head, first);
		memcpy(flat + first, r->buf, r->len - first);
	}
	end = flat + r->len;
	for (p = flat; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		lines++;
	skip = lines > max_lines ? lines - max_lines : 0;
	for (p = flat; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		if (skip) {
			skip--;
			continue;
		}
		fn(data, p[0] == '2' ? 2 : 1, p + 1, (size_t)(nl - p - 1));
	}
	free(flat);
}
