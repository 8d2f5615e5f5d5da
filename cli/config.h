/*
 * config.h - the effective configuration of a collie application: what
 * `collie check` prints and `collie up` runs.
 *
 * Two sources give the same model:
 *  - a supervisord-compatible INI file (parsed with inih), with collie's
 *    own keys as documented extensions (docs/collie.conf.5);
 *  - a Procfile with an optional .env beside it, as foreman reads them.
 *
 * Everything is validated and expanded when loaded: %(program_name)s,
 * %(process_num)d (with printf widths), %(group_name)s, %(here)s,
 * %(ENV_X)s are resolved per process, users and signals are looked up,
 * numbers range-checked, depends_on cycles refused. A loaded config is
 * never wrong, so the supervisor never has to second-guess it.
 *
 * Memory: a struct cfg owns everything it points to; cfg_unref() of its last reference releases
 * it all. Times are microseconds (STYLE.md rule 6).
 */
#ifndef COLLIE_CLI_CONFIG_H
#define COLLIE_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* autorestart=: when an exited process is started again. */
enum cfg_autorestart {
	CFG_RESTART_NEVER = 0,	    /* false */
	CFG_RESTART_UNEXPECTED = 1, /* unexpected: exit code not in exitcodes (the default) */
	CFG_RESTART_ALWAYS = 2,	    /* true */
};

/* ready=: when a starting process counts as running (and as ready for
 * depends_on). */
enum cfg_ready {
	CFG_READY_STARTSECS = 0, /* it stayed up startsecs (supervisord's rule; default) */
	CFG_READY_NOTIFY,	 /* it sent READY=1 over $NOTIFY_SOCKET (sd_notify) */
	CFG_READY_FD,		 /* it wrote a newline to fd ready_arg (s6 notification-fd) */
	CFG_READY_TCP,		 /* something listens on 127.0.0.1/::1 port ready_arg */
};

/* log_timestamps=: what each captured line is prefixed with in its log file. */
enum cfg_timestamps {
	CFG_TS_NONE = 0, /* nothing (default) */
	CFG_TS_ISO8601,	 /* 2026-11-27T21:39:39.123456Z */
	CFG_TS_UNIX,	 /* 1795815579.123456 */
};

/* Where one output stream of a process goes. */
struct cfg_log {
	char *path;	   /* file; NULL = not kept in a file; "/dev/stdout" etc. = collie's own */
	uint64_t maxbytes; /* rotate past this size; 0 = never */
	int backups;	   /* rotated files kept (path.1 .. path.N) */
	bool syslog;	   /* also to syslog */
};

/* One resource limit from rlimit_*=. */
struct cfg_rlimit {
	int resource;	/* RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_AS, RLIMIT_CORE */
	uint64_t value; /* soft and hard limit; RLIM_INFINITY for "unlimited" */
};

/* One process of a program (numprocs of them), every field expanded. */
struct cfg_process {
	char *name;	 /* process_name expanded: unique across the config */
	int num;	 /* process_num: numprocs_start .. numprocs_start + numprocs - 1 */
	char *command;	 /* the command text, expanded */
	char *directory; /* working directory, or NULL */
	char **env;	 /* NULL-terminated NAME=value: environ + envfile + environment= (+ PORT) */
	struct cfg_log out; /* stdout_logfile & co. */
	struct cfg_log err; /* stderr_logfile & co. (unused with redirect_stderr) */
};

/* A [program:NAME] section or a Procfile line. */
struct cfg_program {
	char *name;	  /* NAME */
	char *group;	  /* the [group:X] it belongs to, else NAME */
	const char *file; /* where it was defined (points into cfg->files) */
	unsigned line;	  /* line of its section header (Procfile: its line) */

	int priority;	/* start order, low first; stop in reverse (default 999) */
	bool autostart; /* start with `collie up` (default true) */
	enum cfg_autorestart autorestart;
	int exitcodes[256]; /* expected exit codes (default: 0) */
	size_t n_exitcodes;
	uint64_t startsecs; /* usec a start must last to count as running (default 1 s) */
	int startretries;   /* failed starts before FATAL (default 3) */
	int stopsignal;	    /* default SIGTERM */
	uint64_t stopwait;  /* stopwaitsecs in usec before SIGKILL (default 10 s) */
	bool stopasgroup;   /* stop signal to the whole process group */
	bool killasgroup;   /* SIGKILL to the whole process group */
	char *user;	    /* user= as written, or NULL */
	uid_t uid;	    /* resolved when user != NULL */
	gid_t gid;	    /* the user's primary group */
	gid_t *groups;	    /* the user's supplementary groups (getgrouplist) */
	size_t n_groups;
	int umask; /* -1 = inherit */
	bool redirect_stderr;

	/* collie extensions */
	uint64_t backoff_min; /* first restart delay (default 0: at once) */
	uint64_t backoff_max; /* delay cap, doubling from backoff_min (default 60 s) */
	char **depends_on;    /* NULL-terminated program names */
	enum cfg_ready ready;
	int ready_arg; /* fd number for CFG_READY_FD, port for CFG_READY_TCP */
	bool critical; /* FATAL or exit stops everything; collie exits with its status */
	struct cfg_rlimit rlimits[4];
	size_t n_rlimits;
	enum cfg_timestamps log_timestamps;
	bool shell;    /* command runs as /bin/sh -c COMMAND (always for Procfiles) */
	char *envfile; /* envfile= as resolved (its variables are in each env), or NULL */

	struct cfg_process *procs; /* numprocs processes */
	size_t n_procs;
};

/* A [group:NAME] section. */
struct cfg_group {
	char *name;
	int priority;
	char **programs; /* NULL-terminated member program names */
};

/* One warning collected while loading (the load still succeeded). */
struct cfg_warning {
	char *text; /* "FILE:LINE: ..." */
};

/* A loaded configuration. Reference-counted: after a reload the
 * processes that still run the old one keep it alive (supervisor.c). */
struct cfg {
	unsigned refs;		      /* cfg_ref() / cfg_unref() */
	char *path;		      /* the main file */
	bool procfile;		      /* loaded from a Procfile */
	char **files;		      /* every file read (main, includes, .env), NULL-terminated */
	bool supervisord;	      /* has a [supervisord] section: unknown keys only warn */
	struct cfg_program *programs; /* sorted by priority, then name */
	size_t n_programs;
	struct cfg_group *groups;
	size_t n_groups;
	struct cfg_warning *warnings;
	size_t n_warnings;
};

/* What to load, and how (`collie up/check` options). */
struct cfg_load_opts {
	const char *path;      /* -c FILE; NULL = ./collie.ini, else ./Procfile */
	const char *formation; /* -m web=3,worker=1 (Procfile instance counts), or NULL */
	int port_base;	       /* Procfile PORT base (default 5000) */
};

/*
 * Load and validate. On success returns 0 and *ret, holding one reference
 * (drop it with cfg_unref()).
 * On failure returns -1 and prints nothing: *ret_error is a malloc'd
 * message "FILE:LINE: key 'k': what is wrong; what would be right" (one
 * per line when several) that the caller prints and frees.
 */
int cfg_load(const struct cfg_load_opts *opts, struct cfg **ret, char **ret_error);

/* Take one more reference to cfg; returns it. Takes NULL. */
struct cfg *cfg_ref(struct cfg *cfg);

/* Drop one reference; the last one frees cfg. Takes NULL. */
void cfg_unref(struct cfg *cfg);

/* Find a program by name, or NULL. */
const struct cfg_program *cfg_find_program(const struct cfg *cfg, const char *name);

/* The file descriptors `collie up` needs to run cfg (config-fds.c says
 * what it counts); cfg_load() refuses a config that needs more than the
 * hard RLIMIT_NOFILE. UINT64_MAX when out of memory. */
uint64_t cfg_fds_needed(const struct cfg *cfg);

/* Print the effective configuration (what `collie check` shows). */
void cfg_print(const struct cfg *cfg, FILE *out);

/*
 * What cfg_print() shows of one process and its program's settings, but
 * neither numprocs nor where the program was defined: two processes with
 * the same text run the same way. A reload (sv_reload()) leaves a process
 * alone when its text did not change. malloc'd; NULL when out of memory.
 */
char *cfg_describe_process(const struct cfg_program *p, const struct cfg_process *proc);

#endif
