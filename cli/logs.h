/*
 * logs.h - log capture for `collie up`: the stdout and stderr of every
 * process, split into lines and written where the configuration says,
 * without losing a line silently and without blocking supervision.
 *
 * Recipe (cli/up.c and cli/supervisor.c):
 *   logs_new(loop, cfg, &opts, &logs);    a pipe per stream, files opened
 *   lp = logs_find(logs, "web.1");        the supervisor keeps lp per process
 *   logs_proc_stdio(lp, ro.stdio);        each spawn writes into its pipes
 *   logs_proc_exited(lp);                 each exit: read what it left,
 *                                         write out an unterminated last line
 *   logs_reopen_all(logs);                on SIGUSR2 (external rotation)
 *   logs_proc_kept(lp, 1, &k) ...         `collie logs`: where lines are kept,
 *   logs_set_tap(logs, &tap);             and `collie logs -f`: every new line
 *   logs_free(logs);                      at exit: drain, flush, report losses
 *
 * Where a line goes (documented for users in collie.conf(5)):
 *  - Each process has one pipe for stdout and one for stderr
 *    (redirect_stderr=true: stderr shares the stdout pipe). collie makes
 *    them once and holds both ends for as long as it runs, so a restarted
 *    process writes into the same pipe and nothing in flight is lost; it
 *    also means a pipe never reaches EOF, so a last line without a newline
 *    is written out when the process exits (logs_proc_exited()).
 *  - A stream with a log file (a regular file, or a path that does not
 *    exist yet) goes to that file, rotated by size, with log_timestamps.
 *  - A stream whose log file is /dev/stdout, /dev/stderr, /dev/fd/1,
 *    /dev/fd/2 or /proc/self/fd/1 or 2 goes to collie's own stdout or
 *    stderr, and a path that is a FIFO, a socket or a character device is
 *    written as a stream (never seeked, never rotated); in both cases each
 *    line is prefixed with the process name, as on the terminal.
 *  - A stream without a log file goes, in the foreground, to collie's own
 *    stdout, prefixed "NAME | " with the names padded to one width and
 *    coloured per program when that stdout is a terminal and NO_COLOR is
 *    unset or empty -- stdout and stderr alike, as foreman does (give
 *    stderr_logfile=/dev/stderr to keep them apart). A stream with a log
 *    file is not copied to the terminal too: the file is where it goes,
 *    as with supervisord; /dev/stdout is the way to ask for the terminal.
 *  - stdout_syslog / stderr_syslog: also to syslog, whatever else.
 *  - A line longer than LOGS_LINE_MAX bytes is cut into pieces of that
 *    size; every piece but the last ends with LOGS_MARK_CUT, every piece
 *    but the first starts with LOGS_MARK_CONT.
 *  - A destination that cannot be written (a full disk, EIO, a
 *    permission, a terminal or pipe that does not drain) holds its lines,
 *    up to LOGS_HOLD_MAX bytes, and retries (every second, or when a
 *    stream becomes writable again); lines that find the hold full are
 *    dropped and counted, and when writing works again the held lines are
 *    written, then a line "[collie] N lines dropped: REASON" where the
 *    gap is. collie says so on its stderr when it starts and stops
 *    holding, and at exit for anything still lost.
 */
#ifndef COLLIE_CLI_LOGS_H
#define COLLIE_CLI_LOGS_H

#include <stdbool.h>
#include <stdint.h>

#include "collie/loop.h"
#include "collie/spawn.h"
#include "config.h"

#define LOGS_LINE_MAX (16 * 1024)   /* longer lines are split */
#define LOGS_HOLD_MAX (1024 * 1024) /* bytes one destination holds while failing */
#define LOGS_MARK_CUT " [...]"	    /* ends a piece of a split line */
#define LOGS_MARK_CONT "[...] "	    /* starts the pieces after the first */

struct logs;
struct logs_proc;

/* How `collie up` runs the capture. */
struct logs_opts {
	bool foreground; /* streams without a log file go to collie's stdout */
	bool verbose;	 /* at exit, print every stream's counters on stderr */
};

/*
 * Counters of one stream. A line sent to two destinations (a file and
 * syslog) counts once in lines and once per destination in the others;
 * lines held while a destination fails are in held until written or
 * dropped.
 */
struct logs_stats {
	uint64_t lines;	  /* lines read from the process (each piece of a split line) */
	uint64_t written; /* lines written to a destination */
	uint64_t dropped; /* lines a destination had no room for, or lost at exit */
	uint64_t held;	  /* lines waiting for a destination that fails */
};

/*
 * Make the pipes of every process of cfg (each capture takes a reference) and
 * open their destinations, watched by loop. A log file that cannot be
 * opened is not an error: it is reported on stderr and retried, and its
 * lines are held meanwhile. Ignores SIGPIPE in collie (children get the
 * default back: col_spawn_start()), so a closed terminal or pipe is an
 * EPIPE, not a death. Returns 0 and *ret, or -errno (-EMFILE, -ENOMEM).
 */
int logs_new(struct col_loop *loop, struct cfg *cfg, const struct logs_opts *opts,
	     struct logs **ret);

/* One more process (a reload added it; each capture takes a reference to
 * cfg): its pipes made, its destinations opened or shared. 0 and *ret, or
 * -errno (nothing added). */
int logs_add(struct logs *logs, struct cfg *cfg, const struct cfg_program *prog,
	     const struct cfg_process *cp, struct logs_proc **ret);

/* A reload kept lp's process unchanged: its settings are now (equal ones)
 * in cfg. */
void logs_rebind(struct logs_proc *lp, struct cfg *cfg, const struct cfg_program *prog,
		 const struct cfg_process *cp);

/* lp's process is gone for good (a reload removed it): read what its
 * pipes hold, close them, close a log file nobody else writes, free.
 * Takes NULL. */
void logs_remove(struct logs_proc *lp);

/* Read what the pipes still hold, write out unterminated lines, flush
 * every destination once more, report (on stderr) what could not be
 * written, and free everything. Takes NULL. */
void logs_free(struct logs *logs);

/* The capture of the process named name, or NULL. */
struct logs_proc *logs_find(struct logs *logs, const char *name);

/* Set stdio[1] and stdio[2] of a spawn to the process's pipes
 * (COL_STDIO_FD, borrowed from lp: valid until logs_free()); a stream
 * with no destination at all gets COL_STDIO_NULL. stdio[0] is untouched. */
void logs_proc_stdio(const struct logs_proc *lp, struct col_stdio stdio[3]);

/* The process has exited: read what it left in its pipes now (so its
 * lines are written before its exit is traced) and write out a last line
 * that has no newline. What a surviving descendant writes later is read
 * as usual. */
void logs_proc_exited(struct logs_proc *lp);

/* Close and reopen every log file (and path stream, and the syslog
 * socket): what logrotate without copytruncate needs after renaming the
 * files. Returns the number of files reopened. */
int logs_reopen_all(struct logs *logs);

/* Counters of stream which (1 = stdout, 2 = stderr) of a process. With
 * redirect_stderr=true stderr's lines are counted in stdout's. */
void logs_stats(const struct logs_proc *lp, int which, struct logs_stats *ret);

/*
 * What `collie logs` reads (cli/logs-follow.c). The supervisor never reads
 * a log file itself (a slow disk must not stall supervision): it says
 * where each stream's lines are, and the client reads the files.
 *  - A stream with a log file (a regular file collie appends to and
 *    rotates) is kept there: path, then path.1 .. path.N (backups).
 *  - A stream without one (the terminal, /dev/stdout, a FIFO, a socket,
 *    syslog only, /dev/null under `up -d`) is kept in memory: the last
 *    LOGS_TAIL_MAX bytes of whole lines of each process, its stdout and
 *    stderr lines together in the order read, allocated at its first line.
 *  - A record is a line as its log file has it: the timestamp
 *    (log_timestamps) and the marks of a split line, without the newline.
 */
#define LOGS_TAIL_MAX (4 * 1024)

enum logs_kept_kind {
	LOGS_KEPT_NONE,	  /* no such stream (redirect_stderr, or no destination) */
	LOGS_KEPT_FILE,	  /* in a log file and its backups */
	LOGS_KEPT_MEMORY, /* in the process's in-memory tail */
};

/* Where one stream is kept. */
struct logs_kept {
	enum logs_kept_kind kind;
	const char *path; /* LOGS_KEPT_FILE: the file (borrowed from lp) */
	int backups;	  /* LOGS_KEPT_FILE: path.1 .. path.N, N the oldest */
	bool open;	  /* the file is open: dev, ino and size are those of it */
	uint64_t dev, ino;
	uint64_t size; /* bytes in it now: what was written before this call */
	int error;     /* positive errno while it cannot be written, else 0 */
};

/* Where stream which (1 stdout, 2 stderr) of lp is kept. One fstat(2)
 * of an open log file (no read): its identity and size now. */
void logs_proc_kept(const struct logs_proc *lp, int which, struct logs_kept *ret);

/* The records a log file of lp's stream which still holds (it cannot be
 * written now): they come after what it has, in order. A record whose
 * start was written already is left out. fn gets each, borrowed. */
void logs_proc_held(const struct logs_proc *lp, int which,
		    void (*fn)(void *data, const char *rec, size_t len), void *data);

/* The in-memory tail of lp, oldest first, at most max_lines of it (the
 * last ones); fn gets each record with its stream (1 or 2), borrowed. */
void logs_proc_tail(const struct logs_proc *lp, size_t max_lines,
		    void (*fn)(void *data, int which, const char *rec, size_t len), void *data);

/* Each destination that cannot be written now (a log file, a path
 * stream, syslog; not collie's own output): fn gets its path and the
 * positive errno. For `collie logs --reopen` to say what did not reopen. */
void logs_each_failing(struct logs *logs, void (*fn)(void *data, const char *path, int error),
		       void *data);

/* Who follows the lines as they come (`collie logs -f`). */
struct logs_tap {
	/* One line of a process's stream (1 or 2), as a record (borrowed),
	 * after it went to its destinations. Never re-enters logs. */
	void (*line)(void *data, const char *name, int which, const char *rec, size_t len);
	/* The lines of one read are all given: time to send them. */
	void (*flush)(void *data);
	void *data;
};

/* Set the tap (copied), or remove it (NULL). Without one, following
 * costs nothing per line. */
void logs_set_tap(struct logs *logs, const struct logs_tap *tap);

#endif
