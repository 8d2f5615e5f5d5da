/*
 * collie/cmdline.h - the command language collie runs service commands
 * with, instead of /bin/sh: words with POSIX quoting, $VAR expansion,
 * leading VAR=value assignments, pipelines and redirections -- and
 * nothing else.
 *
 * Recipe:
 *   struct col_cmdline *cl;
 *   struct col_cmdline_error perr;
 *   struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
 *   struct col_cmdline_run_error rerr;
 *   struct col_pipeline pl = COL_PIPELINE_INIT;
 *   struct col_status st;
 *
 *   r = col_cmdline_parse("printf 'b\\na\\n' | sort | head -n 1", env, 0, &cl, &perr);
 *   if (r < 0)
 *           fprintf(stderr, "%s\n", perr.message);   "column 12: ..."
 *   ro.flags = COL_CMDLINE_PIPEFAIL;
 *   r = col_cmdline_start(cl, &ro, &pl, &rerr);      one new process group
 *   if (r < 0)
 *           fprintf(stderr, "%s\n", rerr.message);   "command 2 of 3 (sort): exec: ..."
 *   r = col_pipeline_wait(&pl, &st);                 or watch pl.members[i].pidfd
 *   col_pipeline_release(&pl);
 *   col_cmdline_free(cl);                            cl may go right after start
 *
 * The language, in full:
 *  - Words are separated by blanks: space, tab, carriage return and
 *    newline. A newline is a blank, not a command separator, so an INI
 *    value continued over several lines is one command.
 *  - Quoting is POSIX sh's: '...' keeps every character; "..." keeps
 *    every character except $ (expansion), ` (rejected) and \, which
 *    escapes only $ ` " \ and newline and is kept before anything else;
 *    an unquoted \ makes the next character literal. A backslash before a
 *    newline (outside '...') removes both, as a line continuation.
 *  - Expansion: $NAME and ${NAME} take the variable's value from the env
 *    given to col_cmdline_parse(). An unset variable expands to nothing,
 *    as in sh, or is an error with COL_CMDLINE_STRICT_VARS. Also:
 *    ${NAME-word} ${NAME:-word}  word if NAME is unset (: or empty)
 *    ${NAME=word} ${NAME:=word}  the same, and later expansions in this
 *                                text see NAME=word
 *    ${NAME+word} ${NAME:+word}  word if NAME is set (: and not empty)
 *    ${NAME?word} ${NAME:?word}  an error "NAME: word" if unset (: or empty)
 *    word may hold quotes and expansions (${...} nested at most 32 deep,
 *    so that no text can exhaust the stack). A $ followed by anything
 *    else (a blank, /, :, the end) is a literal $.
 *  - Field splitting, as in sh with the default IFS (plus carriage
 *    return): the result of an unquoted expansion in an argument is split
 *    at blanks, and an unquoted expansion that yields nothing yields no
 *    argument; "$X" is always one argument. The result of an expansion is
 *    never parsed again: quotes, operators, patterns and $ in a
 *    variable's value are plain characters.
 *    (Assignment values and file names are expanded but never split.)
 *  - Assignments: words of the form NAME=value before the program name
 *    are added to that command's environment (replacing NAME there). They
 *    do not change what $NAME expands to in the same text, as in sh.
 *  - Pipelines: cmd | cmd | ... The commands run concurrently, each one's
 *    stdout connected to the next one's stdin, all in one process group.
 *  - Redirections, applied left to right after the pipe is connected, as
 *    in sh (so `a 2>&1 >f` sends stderr to the old stdout, and
 *    `a >f 2>&1` sends both to f). N is a decimal fd number written
 *    directly before the operator; the word after it may be quoted and
 *    may contain expansions:
 *      N<file   (N=0)  read              N>file  (N=1)  create, truncate
 *      N>>file  (N=1)  create, append    N>|file (N=1)  the same as >
 *      N<>file  (N=0)  read-write, create, no truncation
 *      N>&M     (N=1)  N becomes a copy of M; also N<&M (N=0)
 *    N may be 0, 1, 2, or 3 and more when the fds of 3 and up that a
 *    command redirects are exactly 3, 4, ..., k (how col_spawn_start()
 *    passes extra fds). M must be 0, 1, 2 or an fd redirected earlier in
 *    the same command. Files are opened by the calling process (see
 *    col_cmdline_start()).
 *
 * Rejected, with a message naming the column and saying how to use a
 * real shell ("collie runs commands without a shell; to use shell
 * syntax, set shell=true (or write: sh -c '...')"): ; & && || ( ) `...`
 * $(...) $((...)) << <<< <(...) >(...), a control-flow keyword (if,
 * while, for, case, { ...) or ! as a command name, the special
 * parameters $$ $? $! $# $* $@ $- $0..$9, and unquoted glob characters
 * * ? [ in arguments (collie expands no patterns). Rejected with a
 * pointer to the equivalent: &> and |& (write >f 2>&1 and 2>&1 |), >&-
 * (closing an fd), ~ at the start of a word or after = or : in an
 * assignment (write $HOME), # at the start of a word (a comment in sh),
 * $'...' and $"...", and ${...} forms other than those above.
 *
 * supervisord compatibility. supervisord splits command= with Python's
 * shlex.split() (POSIX mode) and runs it without a shell. A plain word
 * list -- words, '...' and "..." quoting, backslashes -- gives the same
 * argv here, with these deliberate differences, each of which makes a
 * command either do what its author evidently meant (as in sh) or fail
 * with a message instead of passing shell syntax to the program as
 * arguments:
 *  - $ expands (shlex keeps it): write '$' or \$ for a literal dollar.
 *  - | < > are operators (shlex keeps them in words): quote them.
 *  - ; & ( ) ` and the unquoted patterns * ? [, a leading ~ or # are
 *    rejected (shlex passes them on). The decision on patterns was made
 *    against the real configurations in the compatibility corpus: none
 *    has an unquoted pattern, and quoted ones (celery -Q '*') are fine.
 *  - Leading NAME=value words are assignments (shlex makes the first one
 *    the program name, which then fails to start).
 *  - A backslash-newline is a line continuation (shlex keeps the newline
 *    as an argument), and inside "..." \$ and \` lose the backslash.
 * supervisord's %(name)s expansions belong to the configuration layer
 * and are done before the text reaches this parser.
 */
#ifndef COLLIE_CMDLINE_H
#define COLLIE_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "collie/common.h"
#include "collie/reap.h"
#include "collie/spawn.h"

/* The highest fd number a redirection may name. */
#define COL_CMDLINE_FD_MAX 255

enum col_cmdline_flags {
	COL_CMDLINE_STRICT_VARS = 1 << 0, /* an unset $NAME is an error (sh -u), not "" */
};

/* Why col_cmdline_parse() failed. */
struct col_cmdline_error {
	unsigned line;	   /* 1-based line of the error (the text may span lines) */
	unsigned column;   /* 1-based column in that line, counted in characters (UTF-8) */
	size_t offset;	   /* byte offset of the error in the text */
	char message[256]; /* "column 7: ..." ("line 2, column 7: ..." past line 1), for people */
};

/* What a redirection does; N is col_cmdline_redir.fd, M its dup_fd. */
enum col_cmdline_redir_kind {
	COL_CMDLINE_REDIR_READ = 1,   /* N<file: open for reading */
	COL_CMDLINE_REDIR_WRITE,      /* N>file, N>|file: create or truncate, write */
	COL_CMDLINE_REDIR_APPEND,     /* N>>file: create, append */
	COL_CMDLINE_REDIR_READ_WRITE, /* N<>file: create, read and write, no truncation */
	COL_CMDLINE_REDIR_DUP_READ,   /* N<&M: N becomes a copy of M */
	COL_CMDLINE_REDIR_DUP_WRITE,  /* N>&M: N becomes a copy of M */
};

/* One redirection of a command. */
struct col_cmdline_redir {
	enum col_cmdline_redir_kind kind; /* see enum col_cmdline_redir_kind */
	int fd;	       /* N: the fd of the child it sets, 0..COL_CMDLINE_FD_MAX */
	int dup_fd;    /* M for the DUP kinds, else -1 */
	char *path;    /* the expanded file name for the others, else NULL */
	size_t offset; /* byte offset of the redirection in the text */
};

/* One command of a pipeline. Every pointer is owned by the col_cmdline. */
struct col_cmdline_cmd {
	char **argv;			  /* NULL-terminated, expanded; argv[0] is the program */
	size_t argc;			  /* number of entries in argv, >= 1 */
	char **assigns;			  /* NULL-terminated "NAME=value", in the order written */
	size_t n_assigns;		  /* number of entries in assigns */
	struct col_cmdline_redir *redirs; /* in the order written, which is the order applied */
	size_t n_redirs;		  /* number of entries in redirs */
	size_t offset;			  /* byte offset where the command starts in the text */
};

/* A parsed pipeline: read-only for its users; free with col_cmdline_free(). */
struct col_cmdline {
	struct col_cmdline_cmd *cmds; /* the commands, left to right */
	size_t n_cmds;		      /* number of commands, >= 1 */
};

/*
 * Parse text into a pipeline. text is borrowed and may span lines. env is
 * a NULL-terminated "NAME=value" array (borrowed) that $NAME expansions
 * read; NULL means the process's environ. flags are enum
 * col_cmdline_flags. On success returns 0 and sets *ret to a new
 * col_cmdline that the caller owns (it copies everything it needs from
 * text and env). On failure returns:
 *   -EINVAL  a syntax error or rejected shell syntax; *ret_err (when not
 *            NULL) says where and why. Also for NULL text, NULL ret or
 *            unknown flags (then ret_err is zeroed with a message).
 *   -ENOMEM  out of memory (ret_err says so).
 * The result depends only on text, env and flags: nothing is looked up
 * or opened. Thread-safe. Not async-signal-safe.
 */
COL_API int col_cmdline_parse(const char *text, char *const *env, unsigned flags,
			      struct col_cmdline **ret, struct col_cmdline_error *ret_err);

/* Free a parsed pipeline and everything it owns. Takes NULL. */
COL_API void col_cmdline_free(struct col_cmdline *cl);

/*
 * Write cl back as text into buf, quoted so that col_cmdline_parse() of
 * the result, with any env, gives the same pipeline: assignments,
 * arguments and file names in single quotes where needed, every
 * redirection with its fd written out ("sort -r 2>&1 | head -n 1
 * 1>'out file'"). Meant for showing the effective command (`collie
 * check`). Always NUL-terminates when len > 0 and truncates to fit.
 * Returns the length it wanted, as snprintf(), -EINVAL for a NULL cl or
 * a NULL buf with len > 0, or -EOVERFLOW when that length passes INT_MAX.
 */
COL_API int col_cmdline_format(const struct col_cmdline *cl, char *buf, size_t len);

enum col_cmdline_run_flags {
	COL_CMDLINE_PIPEFAIL = 1 << 0, /* status: the rightmost failing command's, not the last's */
	COL_CMDLINE_NO_WAIT = 1 << 1,  /* never wait opening a file (for an event loop): see
					  col_cmdline_start() */
};

/*
 * How to run a pipeline. Initialise with COL_CMDLINE_RUN_OPTS_INIT.
 *
 * base gives what every command shares and is used as a template for
 * each col_spawn_start(): envp (NULL = environ), cwd, credentials,
 * rlimits, umask, sigmask, pdeathsig, tty_fd and flags. The runner sets
 * path, argv, stdio, fds and the process group itself, so base's are
 * ignored, and always adds COL_SPAWN_SEARCH_PATH. The process group is a
 * new one led by the first command, unless base has COL_SPAWN_SETPGID
 * with a non-zero pgid (then every command joins that group) or
 * COL_SPAWN_SETSID (allowed only for a single command: a new session).
 * COL_SPAWN_FOREGROUND applies to the first command, which makes the
 * whole group the foreground of base->tty_fd.
 */
/* An extra fd every command of a pipeline gets (a readiness pipe, a
 * listening socket): the parent's fd is placed at target in each child. */
struct col_cmdline_fd {
	int target; /* the fd number in the child, 3..COL_CMDLINE_FD_MAX */
	int fd;	    /* the parent's fd (borrowed) */
};

struct col_cmdline_run_opts {
	const struct col_spawn_opts
		*base; /* settings for every command (borrowed); NULL = defaults */
	struct col_stdio
		stdio[3]; /* stdin of the first command, stdout of the last, stderr of all */
	unsigned flags;	  /* enum col_cmdline_run_flags */
	const struct col_cmdline_fd *fds; /* extra fds for every command, before its
					     redirections (borrowed); fds between 3 and
					     the highest target that nothing sets are
					     /dev/null */
	size_t n_fds;			  /* number of entries in fds */
};

#define COL_CMDLINE_RUN_OPTS_INIT                       \
	{                                               \
		.base = NULL,                           \
		.stdio = { { COL_STDIO_INHERIT, -1 },   \
			   { COL_STDIO_INHERIT, -1 },   \
			   { COL_STDIO_INHERIT, -1 } }, \
		.flags = 0,                             \
	}

/* Why col_cmdline_start() failed. */
struct col_cmdline_run_error {
	size_t command;		  /* 0-based index of the failed command; SIZE_MAX: none */
	enum col_spawn_step step; /* the spawn step that failed; NONE when the parent failed */
	int error;		  /* the positive errno (also returned negated) */
	char message[512];	  /* "command 2 of 3 (nosuch): exec: No such file or directory" */
};

/* One started command of a pipeline. */
struct col_pipeline_member {
	pid_t pid;		  /* for display; the group's id when it is the leader */
	int pidfd;		  /* owned: the process, to watch, signal and reap */
	bool reaped;		  /* true once its status is known (status is valid) */
	struct col_status status; /* how it ended, when reaped */
};

/* A started pipeline. Release with col_pipeline_release(). */
struct col_pipeline {
	struct col_pipeline_member *members; /* owned: one per command, left to right */
	size_t n_members;		     /* number of members */
	pid_t pgid;			     /* the process group of every member */
	bool own_group;			     /* the group was created for this pipeline */
	int stdio[3];	/* owned: parent's end of each COL_STDIO_PIPE, else -1 */
	unsigned flags; /* the run flags it was started with */
};

#define COL_PIPELINE_INIT                                                       \
	{                                                                       \
		.members = NULL, .n_members = 0, .pgid = 0, .own_group = false, \
		.stdio = { -1, -1, -1 }, .flags = 0,                            \
	}

/*
 * Start every command of cl, left to right, with col_spawn_start(), in
 * one process group, connected by close-on-exec pipes. Programs without
 * a '/' are looked up in the PATH of the command's environment. cl and
 * opts are borrowed and may be freed once this returns.
 *
 * Redirection files are opened by the calling process, with its
 * credentials, relative to base->cwd when set, close-on-exec and
 * O_NOCTTY, created with mode 0666 minus the caller's umask and, when
 * base sets COL_SPAWN_SET_UMASK, minus base->umask too. Opening a named
 * FIFO waits for its other end, as sh's child would, but here in the
 * caller; with COL_CMDLINE_NO_WAIT in opts->flags (an event loop cannot
 * wait) nothing waits: a named FIFO with no reader fails for writing
 * with -ENXIO, and one opened for reading only (N<fifo) is refused with
 * -ENXIO, as its writer cannot be waited for (N<>fifo, and pipes reached
 * through /proc/self/fd such as /dev/stderr, open as usual). A COL_STDIO_PIPE
 * in opts->stdio makes one pipe whose parent end lands in
 * ret->stdio[i] (for stderr, shared by every command).
 *
 * On success returns 0 and fills *ret (owned by the caller). On failure
 * no command is left running or unreaped -- those already started are
 * killed with SIGKILL and reaped -- no fd is left open, and *ret_err
 * (when not NULL) says which command failed and why. Returns:
 *   -EINVAL   NULL cl/opts/ret, a bad stdio kind, unknown flags,
 *             COL_SPAWN_SETSID with more than one command
 *   -EBADF    an fd in opts->stdio that is not open
 *   the errno of opening a redirection's file (-ENOENT, -EACCES, -ENXIO
 *             for a FIFO with COL_CMDLINE_NO_WAIT, ...),
 *   of pipe2 (-EMFILE, ...), or of col_spawn_start() (ret_err->step).
 * Thread-safe (cl is only read). Not async-signal-safe.
 */
COL_API int col_cmdline_start(const struct col_cmdline *cl, const struct col_cmdline_run_opts *opts,
			      struct col_pipeline *ret, struct col_cmdline_run_error *ret_err);

/*
 * Reap member i (col_reap_pidfd() on its pidfd; flags 0 blocks,
 * COL_REAP_NOHANG does not) and record its status. Returns 1 when it is
 * reaped (also when it already was), 0 when NOHANG and it still runs,
 * -EINVAL for a bad index, or the error of col_reap_pidfd().
 */
COL_API int col_pipeline_reap(struct col_pipeline *p, size_t i, unsigned flags);

/*
 * Record the status of a member that someone else reaped (for example a
 * col_loop child source, which reaps before its callback), found by
 * st->pid. Returns the member's index, or -ESRCH when no unreaped member
 * has that pid, -EINVAL for NULL arguments.
 */
COL_API int col_pipeline_record(struct col_pipeline *p, const struct col_status *st);

/* Whether every member has been reaped. */
COL_API bool col_pipeline_done(const struct col_pipeline *p);

/*
 * The pipeline's status once every member is reaped: the last command's,
 * or with COL_CMDLINE_PIPEFAIL the rightmost one that did not exit 0
 * (the last one's when all exited 0). Its pid is that command's. Returns
 * 0 and fills *ret_status, -EAGAIN while a member is unreaped, -EINVAL
 * for NULL arguments.
 */
COL_API int col_pipeline_status(const struct col_pipeline *p, struct col_status *ret_status);

/*
 * Block until every member has exited, reaping each through its pidfd,
 * then return 0 with the pipeline's status in *ret_status (see
 * col_pipeline_status(); ret_status may be NULL). Drain any
 * COL_STDIO_PIPE first or elsewhere: a command blocked writing to a full
 * pipe never exits. Returns -errno from col_reap_pidfd() on failure.
 */
COL_API int col_pipeline_wait(struct col_pipeline *p, struct col_status *ret_status);

/*
 * Send signo to the pipeline. When it made its own process group, the
 * whole group gets it (killpg), reaching what the commands forked too;
 * this is done only while a member is unreaped, so the group id cannot
 * have been recycled (a member that left the group on its own is the one
 * exception). Otherwise each unreaped member gets it through its pidfd.
 * Returns 0, -ESRCH when every member is reaped, or -errno.
 */
COL_API int col_pipeline_signal(const struct col_pipeline *p, int signo);

/*
 * Close the pidfds and pipe ends and free the members array; the
 * processes are untouched (wait first, or they stay zombies until this
 * process reaps them another way). Takes NULL and COL_PIPELINE_INIT.
 * Resets *p to COL_PIPELINE_INIT.
 */
COL_API void col_pipeline_release(struct col_pipeline *p);

#endif
