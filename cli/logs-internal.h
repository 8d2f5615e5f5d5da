/*
 * logs-internal.h - what logs.c (capture: pipes, lines, routing) and
 * logs-sink.c (destinations: holding, writing, rotating) share.
 */
#ifndef COLLIE_CLI_LOGS_INTERNAL_H
#define COLLIE_CLI_LOGS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "collie/loop.h"
#include "config.h"
#include "logs.h"

#define LOGS_READ_MAX (64 * 1024)  /* bytes read from one pipe per event */
#define LOGS_WRITE_MAX (64 * 1024) /* bytes per write(2); also the flush mark */
#define LOGS_RUNS_MAX 16384	   /* owner runs one destination holds */
#define LOGS_RETRY_USEC COL_USEC_PER_SEC

enum sink_kind {
	SINK_FILE,   /* a regular file: appended, rotated, reopened */
	SINK_STREAM, /* collie's own stdout/stderr, a FIFO, socket or device: prefixed */
	SINK_SYSLOG, /* the syslog socket: one datagram per line */
};

struct logs_stream;

/* Consecutive held lines of one stream (owner NULL: collie's own notes). */
struct logs_run {
	struct logs_stream *owner;
	size_t lines;
};

/*
 * A destination. Held bytes are whole records, each ending in '\n'
 * (lines never contain one); runs say whose they are, so written and
 * dropped lines are counted to the right stream.
 */
struct logs_sink {
	struct logs *logs;
	enum sink_kind kind;
	char *path;		/* the file, the stream's path or "stdout"/"stderr", the socket */
	int own;		/* 1 or 2 for collie's own stdout/stderr, else 0 */
	int fd;			/* -1 while closed (not opened yet, or a failed reopen) */
	bool socket;		/* write with send(MSG_DONTWAIT | MSG_NOSIGNAL) */
	bool color;		/* prefixes coloured (a terminal, NO_COLOR unset) */
	bool blocked;		/* a stream said EAGAIN: wait for writable */
	enum cfg_timestamps ts; /* for collie's own notes in it */
	uint64_t size;		/* SINK_FILE: bytes in the current file */
	uint64_t maxbytes;	/* SINK_FILE: rotate past this; 0 = never */
	int backups;		/* SINK_FILE: path.1 .. path.N */
	bool no_rotate;		/* SINK_FILE: a rotation failed; until the next reopen */
	bool midline;		/* a write stopped inside a record */
	char *buf;		/* held records: buf[head .. len) */
	size_t head, len, cap;
	struct logs_run *runs; /* runs[run_head .. n_runs) */
	size_t run_head, n_runs, runs_cap;
	uint64_t gap;		     /* lines dropped since the last one accepted */
	int gap_error;		     /* why (positive errno) */
	int error;		     /* positive errno while failing, else 0 */
	uint64_t dropped;	     /* lines dropped in all */
	struct col_source *writable; /* EPOLLOUT watch while blocked */
	unsigned users;		     /* streams writing to it */
	struct logs_sink *next;
};

/* One output stream of a process. */
struct logs_stream {
	struct logs_proc *proc;
	int which;		/* 1 stdout, 2 stderr */
	int rfd, wfd;		/* the pipe; -1 when it has no destination */
	struct col_source *src; /* rfd's watch */
	char *part;		/* the line read so far, part[0 .. plen) */
	size_t plen, pcap;
	bool cont;		  /* the next piece continues a split line */
	struct logs_sink *dest;	  /* file, stream or collie's own output; or NULL */
	struct logs_sink *syslog; /* or NULL */
	struct logs_stats st;
};

struct logs_proc {
	struct logs *logs;
	struct cfg *cfg; /* prog and cp are its (a reference) */
	const struct cfg_program *prog;
	const struct cfg_process *cp;
	const char *color; /* SGR sequence of its program */
	struct logs_stream out, err;
	struct logs_ring *ring; /* in-memory tail (logs-follow.c), or NULL */
};

struct logs {
	struct col_loop *loop;
	struct logs_opts opts;
	struct logs_proc **procs; /* in the order they were added */
	size_t n_procs, cap;
	struct logs_sink *sinks;  /* every destination */
	struct logs_sink *own[3]; /* collie's stdout [1] and stderr [2], when used */
	struct col_source *retry; /* while a destination fails */
	bool retrying;		  /* retry is armed */
	int width;		  /* the longest process name */
	struct logs_tap tap;	  /* `collie logs -f` (tap.line NULL: none) */
	char *rec;		  /* one record for the tap and tails (logs-follow.c) */
	char rbuf[LOGS_READ_MAX]; /* one pipe read (callbacks never nest) */
};

/* A line as read, with what every destination may prefix it with. */
struct logs_line {
	const char *text;
	size_t len;
	bool cut;		     /* LOGS_MARK_CUT after it */
	bool cont;		     /* LOGS_MARK_CONT before it */
	const struct timespec *when; /* CLOCK_REALTIME when it was read */
};

/* logs-sink.c: destinations */
/* A log file (or a path stream, or collie's own output for /dev/stdout &
 * co.), shared with every stream that names the same path. NULL: ENOMEM. */
struct logs_sink *logs__sink_path(struct logs *logs, const struct cfg_log *cl,
				  enum cfg_timestamps ts);
/* collie's own stdout (fd 1) or stderr (fd 2). NULL: ENOMEM. */
struct logs_sink *logs__sink_own(struct logs *logs, int fd);
/* The syslog socket ($COLLIE_SYSLOG_SOCKET, else /dev/log). NULL: ENOMEM. */
struct logs_sink *logs__sink_syslog(struct logs *logs);
/* Hold one line for s, formatted for it; written at the next flush, or
 * at once when LOGS_WRITE_MAX bytes are held. */
void logs__sink_put(struct logs_sink *s, struct logs_stream *owner, const struct logs_line *l);
/* Write what s holds, unless it fails or is blocked (then the retry
 * timer or its writability does). */
void logs__sink_flush(struct logs_sink *s);
/* stream is going away: what s holds of it is counted to nobody. */
void logs__sink_disown(struct logs_sink *s, const struct logs_stream *stream);
/* Close and open again (SIGUSR2). 1 when a file was reopened, else 0. */
int logs__sink_reopen(struct logs_sink *s);
/* At exit (or when s is closed for good): a last try (waiting up to
 * until for a blocked stream), then count what is still held as dropped
 * and say so on stderr ("N lines could not be written WHEN"). */
void logs__sink_finish(struct logs_sink *s, uint64_t until, const char *when);
void logs__sink_free(struct logs_sink *s);

/* logs-follow.c: what `collie logs` reads */
/* A line of s was emitted: into its process's tail (if not in a file),
 * to the tap. */
void logs__follow_line(struct logs_stream *s, const struct logs_line *l);
/* The lines of one read are out: the tap may send them. */
void logs__follow_flush(struct logs *logs);
/* Free the record buffer (at logs_free(); each tail goes with its logs_proc). */
void logs__follow_release(struct logs *logs);

/* logs.c */
/* "2026-11-27T21:39:39.123456Z" or "1795815579.123456" into buf; its length. */
size_t logs__format_time(enum cfg_timestamps ts, const struct timespec *when, char *buf,
			 size_t len);

#endif
