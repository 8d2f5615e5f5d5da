/*
 * config-program.c - one [program:NAME] section into a struct
 * cfg_program and its processes.
 *
 * Keys are looked up in one table that says, for each, its type, where
 * it goes and where it comes from: supervisord's keys that collie
 * implements, supervisord's keys that collie accepts but ignores (a
 * warning each), and collie's own extensions. A key in no row is
 * unknown: an error with the nearest known key as a suggestion -- or,
 * in a supervisord configuration (one with a [supervisord] section), a
 * warning, because supervisord ignores unknown keys silently and real
 * supervisord.conf files rely on it (depend=, catch_workers_output= in
 * the compatibility corpus); collie must start those unchanged.
 *
 * Expansion follows supervisord: the keys it expands once per process
 * (command, process_name, directory, environment, stdout_logfile,
 * stderr_logfile) may use %(process_num)d and %(numprocs)d and, except
 * environment itself, the program's own environment= as ENV_X; the
 * others are expanded once for the program.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "collie/cmdline.h"
#include "config-internal.h"
#include "banned.h"

enum kind {
	K_BOOL = 1,
	K_INT,
	K_SECS,
	K_SIZE,
	K_SIGNAL,
	K_UMASK,
	K_EXITCODES,
	K_AUTORESTART,
	K_USER,
	K_READY,
	K_TIMESTAMPS,
	K_DEPENDS,
	K_RLIMIT,
	K_ENVFILE,
	K_NUMPROCS,
	K_NUMPROCS_START,
	K_LOG_MAXBYTES, /* arg: 0 stdout, 1 stderr */
	K_LOG_BACKUPS,
	K_LOG_SYSLOG,
	K_PROCESS, /* expanded per process; arg: index in struct build.proc_keys */
	K_IGNORED, /* supervisord's, not implemented: a warning */
};

/* The per-process keys, in the order of struct build.proc_keys. */
enum { P_COMMAND, P_PROCESS_NAME, P_DIRECTORY, P_ENVIRONMENT, P_STDOUT_LOG, P_STDERR_LOG, P_N };

struct key_def {
	const char *name;
	enum kind kind;
	size_t off;	    /* offset in struct cfg_program, for the plain kinds */
	long long min, max; /* K_INT */
	int arg;	    /* K_PROCESS: P_*; K_RLIMIT: RLIMIT_* */
	const char *why;    /* K_IGNORED: what supervisord uses it for */
};

#define OFF(f) offsetof(struct cfg_program, f)

static const struct key_def keys[] = {
	{ .name = "command", .kind = K_PROCESS, .arg = P_COMMAND },
	{ .name = "process_name", .kind = K_PROCESS, .arg = P_PROCESS_NAME },
	{ .name = "numprocs", .kind = K_NUMPROCS },
	{ .name = "numprocs_start", .kind = K_NUMPROCS_START },
	{ .name = "priority",
	  .kind = K_INT,
	  .off = OFF(priority),
	  .min = -1000000,
	  .max = 1000000 },
	{ .name = "autostart", .kind = K_BOOL, .off = OFF(autostart) },
	{ .name = "autorestart", .kind = K_AUTORESTART },
	{ .name = "exitcodes", .kind = K_EXITCODES },
	{ .name = "startsecs", .kind = K_SECS, .off = OFF(startsecs) },
	{ .name = "startretries",
	  .kind = K_INT,
	  .off = OFF(startretries),
	  .min = 0,
	  .max = 1000000 },
	{ .name = "stopsignal", .kind = K_SIGNAL, .off = OFF(stopsignal) },
	{ .name = "stopwaitsecs", .kind = K_SECS, .off = OFF(stopwait) },
	{ .name = "stopasgroup", .kind = K_BOOL, .off = OFF(stopasgroup) },
	{ .name = "killasgroup", .kind = K_BOOL, .off = OFF(killasgroup) },
	{ .name = "user", .kind = K_USER },
	{ .name = "directory", .kind = K_PROCESS, .arg = P_DIRECTORY },
	{ .name = "umask", .kind = K_UMASK },
	{ .name = "environment", .kind = K_PROCESS, .arg = P_ENVIRONMENT },
	{ .name = "redirect_stderr", .kind = K_BOOL, .off = OFF(redirect_stderr) },
	{ .name = "stdout_logfile", .kind = K_PROCESS, .arg = P_STDOUT_LOG },
	{ .name = "stdout_logfile_maxbytes", .kind = K_LOG_MAXBYTES, .arg = 0 },
	{ .name = "stdout_logfile_backups", .kind = K_LOG_BACKUPS, .arg = 0 },
	{ .name = "stdout_syslog", .kind = K_LOG_SYSLOG, .arg = 0 },
	{ .name = "stderr_logfile", .kind = K_PROCESS, .arg = P_STDERR_LOG },
	{ .name = "stderr_logfile_maxbytes", .kind = K_LOG_MAXBYTES, .arg = 1 },
	{ .name = "stderr_logfile_backups", .kind = K_LOG_BACKUPS, .arg = 1 },
	{ .name = "stderr_syslog", .kind = K_LOG_SYSLOG, .arg = 1 },
	{ .name = "stdout_capture_maxbytes",
	  .kind = K_IGNORED,
	  .why = "event listeners' capture mode" },
	{ .name = "stderr_capture_maxbytes",
	  .kind = K_IGNORED,
	  .why = "event listeners' capture mode" },
	{ .name = "stdout_events_enabled", .kind = K_IGNORED, .why = "event listeners" },
	{ .name = "stderr_events_enabled", .kind = K_IGNORED, .why = "event listeners" },
	{ .name = "serverurl", .kind = K_IGNORED, .why = "its XML-RPC server" },
	/* collie extensions */
	{ .name = "backoff_min", .kind = K_SECS, .off = OFF(backoff_min) },
	{ .name = "backoff_max", .kind = K_SECS, .off = OFF(backoff_max) },
	{ .name = "depends_on", .kind = K_DEPENDS },
	{ .name = "ready", .kind = K_READY },
	{ .name = "critical", .kind = K_BOOL, .off = OFF(critical) },
	{ .name = "envfile", .kind = K_ENVFILE },
	{ .name = "rlimit_nofile", .kind = K_RLIMIT, .arg = RLIMIT_NOFILE },
	{ .name = "rlimit_nproc", .kind = K_RLIMIT, .arg = RLIMIT_NPROC },
	{ .name = "rlimit_as", .kind = K_RLIMIT, .arg = RLIMIT_AS },
	{ .name = "rlimit_core", .kind = K_RLIMIT, .arg = RLIMIT_CORE },
	{ .name = "log_timestamps", .kind = K_TIMESTAMPS },
	{ .name = "shell", .kind = K_BOOL, .off = OFF(shell) },
};

/* What one section gives while its program is being built. */
struct build {
	struct cfg_loader *l;
	const struct cfg_raw_section *s;
	struct cfg_program *p;
	struct cfg_expand_ctx x; /* program-level names */
	long long numprocs, numprocs_start;
	bool killasgroup_set;
	const struct cfg_raw_key *proc_keys[P_N];
	unsigned reported;     /* per-process keys already reported (bit P_*) */
	struct cfg_log log[2]; /* stdout_* and stderr_* settings, path aside */
	struct cfg_env env;    /* base env + envfile */
};

void cfg__program_defaults(struct cfg_program *p)
{
	/* supervisord's defaults (its docs, options.py), then collie's. */
	p->priority = 999;
	p->autostart = true;
	p->autorestart = CFG_RESTART_UNEXPECTED;
	p->exitcodes[0] = 0;
	p->n_exitcodes = 1;
	p->startsecs = 1000000;
	p->startretries = 3;
	p->stopsignal = 15;
	p->stopwait = 10000000;
	p->umask = -1;
	p->backoff_min = 0;
	p->backoff_max = 60000000;
	p->ready = CFG_READY_STARTSECS;
	p->log_timestamps = CFG_TS_NONE;
}

static void key_error(struct build *b, const struct cfg_raw_key *k, const char *msg)
{
	cfg__error(b->l, k->file, k->line, "key '%s' in [%s]: %s", k->name, b->s->name,
		   msg ? msg : "out of memory");
}

static int set_rlimit(struct cfg_program *p, int resource, uint64_t v)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		if (p->rlimits[i].resource == resource) {
			p->rlimits[i].value = v;
			return 0;
		}
	}
	if (p->n_rlimits == COL_ARRAY_SIZE(p->rlimits))
		return -EINVAL;
	p->rlimits[p->n_rlimits++] = (struct cfg_rlimit){ .resource = resource, .value = v };
	return 0;
}

static int apply_envfile(struct build *b, const char *v, char **msg)
{
	char *path = v[0] == '/' ? strdup(v) : cfg__join_path(b->x.here, v);
	int r;

	if (!path)
		return -ENOMEM;
	r = cfg__env_read_file(b->l, path, &b->env);
	if (r < 0 && r != -ENOMEM)
		*msg = cfg__msg("cannot read '%s': %s", path, strerror(-r));
	free(b->p->envfile);
	b->p->envfile = path;
	return r == -ENOMEM ? r : r < 0 ? -EINVAL : 0;
}

/* Apply one program-level key, its value already expanded. */
static int apply(struct build *b, const struct key_def *d, const char *v, char **msg)
{
	struct cfg_program *p = b->p;
	char *base = (char *)p;
	long long n;
	uint64_t u;
	int r;

	switch (d->kind) {
	case K_BOOL:
		if (d->off == OFF(killasgroup))
			b->killasgroup_set = true;
		return cfg__parse_bool(v, (bool *)(base + d->off), msg);
	case K_INT:
		r = cfg__parse_int(v, d->min, d->max, &n, msg);
		if (r == 0)
			*(int *)(base + d->off) = (int)n;
		return r;
	case K_SECS:
		return cfg__parse_secs(v, (uint64_t *)(base + d->off), msg);
	case K_SIZE:
		return cfg__parse_size(v, false, (uint64_t *)(base + d->off), msg);
	case K_SIGNAL:
		return cfg__parse_signal(v, &p->stopsignal, msg);
	case K_UMASK:
		return cfg__parse_umask(v, &p->umask, msg);
	case K_EXITCODES:
		return cfg__parse_exitcodes(v, p, msg);
	case K_AUTORESTART:
		return cfg__parse_autorestart(v, &p->autorestart, msg);
	case K_USER:
		return cfg__parse_user(v, p, msg);
	case K_READY:
		return cfg__parse_ready(v, &p->ready, &p->ready_arg, msg);
	case K_TIMESTAMPS:
		return cfg__parse_timestamps(v, &p->log_timestamps, msg);
	case K_DEPENDS:
		cfg__strv_free(p->depends_on);
		p->depends_on = NULL;
		return cfg__parse_names(v, &p->depends_on, msg);
	case K_RLIMIT:
		r = cfg__parse_size(v, true, &u, msg);
		return r < 0 ? r : set_rlimit(p, d->arg, u);
	case K_ENVFILE:
		return apply_envfile(b, v, msg);
	case K_LOG_MAXBYTES:
		return cfg__parse_size(v, false, &b->log[d->arg].maxbytes, msg);
	case K_LOG_BACKUPS:
		r = cfg__parse_int(v, 0, 1000, &n, msg);
		if (r == 0)
			b->log[d->arg].backups = (int)n;
		return r;
	case K_LOG_SYSLOG:
		return cfg__parse_bool(v, &b->log[d->arg].syslog, msg);
	case K_NUMPROCS:
		return cfg__parse_int(v, 1, 10000, &b->numprocs, msg);
	case K_NUMPROCS_START:
		return cfg__parse_int(v, 0, 1000000, &b->numprocs_start, msg);
	case K_PROCESS:
	case K_IGNORED:
		break;
	}
	return 0;
}

static const struct key_def *find_key(const char *name)
{
	for (size_t i = 0; i < COL_ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void unknown_key(struct build *b, const struct cfg_raw_key *k)
{
	const char *names[COL_ARRAY_SIZE(keys)];
	const char *near;

	for (size_t i = 0; i < COL_ARRAY_SIZE(keys); i++)
		names[i] = keys[i].name;
	near = cfg__did_you_mean(k->name, names, COL_ARRAY_SIZE(keys));
	if (b->l->cfg->supervisord)
		cfg__warn(b->l, k->file, k->line,
			  "unknown key '%s' in [%s]; ignored, as supervisord ignores it%s%s%s",
			  k->name, b->s->name, near ? " (did you mean '" : "", near ? near : "",
			  near ? "'?)" : "");
	else
		cfg__error(b->l, k->file, k->line, "unknown key '%s' in [%s]%s%s%s", k->name,
			   b->s->name, near ? "; did you mean '" : "", near ? near : "",
			   near ? "'?" : "; see collie.conf(5) for the keys");
}

/* One key of the section, at program level. Returns -ENOMEM or 0. */
static int program_key(struct build *b, const struct cfg_raw_key *k)
{
	const struct key_def *d = find_key(k->name);
	char *v = NULL, *msg = NULL;
	int r;

	if (!d) {
		unknown_key(b, k);
		return 0;
	}
	if (d->kind == K_IGNORED) {
		cfg__warn(b->l, k->file, k->line,
			  "key '%s' in [%s] is for supervisord's %s, which collie does not "
			  "implement; ignored",
			  k->name, b->s->name, d->why);
		return 0;
	}
	if (d->kind == K_PROCESS) {
		b->proc_keys[d->arg] = k;
		return 0;
	}
	r = cfg__expand(k->value, &b->x, &v, &msg);
	if (r == 0)
		r = apply(b, d, v, &msg);
	if (r == -EINVAL)
		key_error(b, k, msg);
	free(v);
	free(msg);
	return r == -ENOMEM ? r : 0;
}

/* Checks across keys, once every key is applied. */
static void program_checks(struct build *b)
{
	struct cfg_program *p = b->p;
	const struct cfg_raw_key *pn = b->proc_keys[P_PROCESS_NAME];

	if (!b->killasgroup_set)
		p->killasgroup = p->stopasgroup; /* supervisord's default */
	if (p->stopasgroup && !p->killasgroup)
		cfg__error(b->l, b->s->file, b->s->line,
			   "[%s] has stopasgroup=true and killasgroup=false; a group that is "
			   "stopped is also killed: drop killasgroup=false (supervisord refuses "
			   "this too)",
			   b->s->name);
	if (p->backoff_max < p->backoff_min)
		cfg__error(b->l, b->s->file, b->s->line,
			   "[%s] has backoff_max below backoff_min; make backoff_max at least "
			   "backoff_min",
			   b->s->name);
	if (b->numprocs > 1 && (!pn || !strstr(pn->value, "%(process_num)")))
		cfg__error(b->l, pn ? pn->file : b->s->file, pn ? pn->line : b->s->line,
			   "[%s] has numprocs=%lld, so process_name must contain %%(process_num)d "
			   "to tell the processes apart; add process_name=%%(program_name)s_%%"
			   "(process_num)02d",
			   b->s->name, b->numprocs);
	if (!b->proc_keys[P_COMMAND])
		cfg__error(b->l, b->s->file, b->s->line,
			   "[%s] has no command= key; add the command the program runs",
			   b->s->name);
}

/* Expand per-process key `which` (or def when absent; NULL result when
 * both are). An error is reported for the first process only. */
static int proc_expand(struct build *b, int which, const struct cfg_expand_ctx *x, const char *def,
		       char **ret)
{
	const struct cfg_raw_key *k = b->proc_keys[which];
	char *msg = NULL;
	int r;

	*ret = NULL;
	if (!k && !def)
		return 0;
	r = cfg__expand(k ? k->value : def, x, ret, &msg);
	if (r == -EINVAL && k && !(b->reported & (1U << which)))
		key_error(b, k, msg);
	if (r == -EINVAL)
		b->reported |= 1U << which;
	free(msg);
	return r;
}

/* Report an error (or, warn = true, a warning) about per-process key
 * `which`, once. msg NULL means we ran out of memory making it. */
static void proc_report(struct build *b, int which, unsigned line, bool warn, const char *msg)
{
	const struct cfg_raw_key *k = b->proc_keys[which];

	if (b->reported & (1U << which))
		return;
	b->reported |= 1U << which;
	(warn ? cfg__warn : cfg__error)(b->l, k ? k->file : b->s->file,
					line ? line
					: k  ? k->line
					     : b->s->line,
					"key '%s' in [%s]: %s", k ? k->name : "process_name",
					b->s->name, msg ? msg : "out of memory");
}

static void proc_error(struct build *b, int which, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void proc_error(struct build *b, int which, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	proc_report(b, which, line, false, msg);
	free(msg);
}

/*
 * A command the command language refuses: an error in a collie config. In
 * a supervisord config (it has a [supervisord] section) a warning, so an
 * existing supervisord.conf still loads unchanged, as the compatibility
 * promise says; such a program then fails to start, with the same
 * message, until it is given shell=true.
 */
static void command_refused(struct build *b, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void command_refused(struct build *b, unsigned line, const char *fmt, ...)
{
	bool warn = b->l->cfg->supervisord;
	char *msg = NULL, *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (warn && msg &&
	    asprintf(&text,
		     "%s; this program will fail to start (supervisord would pass "
		     "the shell syntax to it as plain arguments)",
		     msg) < 0)
		text = NULL;
	proc_report(b, P_COMMAND, line, warn, text ? text : msg);
	free(text);
	free(msg);
}

/* stdout_logfile / stderr_logfile: supervisord's special values too. */
static int log_path(struct build *b, int which, const struct cfg_expand_ctx *x, struct cfg_log *log)
{
	char *v;
	int r = proc_expand(b, which, x, NULL, &v);

	if (r < 0 || !v)
		return r;
	/* none/off: no file; auto: supervisord's temporary file, which
	 * collie does not make; syslog: supervisord's deprecated spelling
	 * of *_syslog=true. */
	if (strcasecmp(v, "none") == 0 || strcasecmp(v, "off") == 0 || strcasecmp(v, "auto") == 0) {
		free(v);
	} else if (strcasecmp(v, "syslog") == 0) {
		log->syslog = true;
		free(v);
	} else if (!*v) {
		proc_error(b, which, 0, "the path is empty; give a file, or NONE for no file");
		free(v);
	} else {
		log->path = v;
	}
	return 0;
}

static int check_command(struct build *b, const struct cfg_process *proc)
{
	const struct cfg_raw_key *k = b->proc_keys[P_COMMAND];
	struct col_cmdline *cl = NULL;
	struct col_cmdline_error perr;
	int r;

	if (strspn(proc->command, " \t\r\n") == strlen(proc->command)) {
		proc_error(b, P_COMMAND, 0, "the command is empty; give the program to run");
		return 0;
	}
	if (b->p->shell)
		return 0;
	r = col_cmdline_parse(proc->command, proc->env, 0, &cl, &perr);
	col_cmdline_free(cl);
	if (r == -EINVAL && strcmp(proc->command, k->value) == 0)
		command_refused(
			b, perr.line >= 1 && perr.line <= k->n_lines ? k->lines[perr.line - 1] : 0,
			"%s", perr.message);
	else if (r == -EINVAL)
		command_refused(b, 0, "%s (in the command as expanded: %s)", perr.message,
				proc->command);
	return r == -ENOMEM ? r : 0;
}

/* The names a per-process key sees, and the process's environment. */
static int process_env(struct build *b, struct cfg_expand_ctx *x, struct cfg_env *env)
{
	char *text = NULL, *msg = NULL;
	int r = cfg__env_copy(env, &b->env);

	if (r == 0)
		r = proc_expand(b, P_ENVIRONMENT, x, NULL, &text);
	if (r == 0 && text)
		r = cfg__env_parse_list(text, env, &msg);
	if (r == -EINVAL && text)
		proc_error(b, P_ENVIRONMENT, 0, "%s", msg ? msg : "out of memory");
	free(text);
	free(msg);
	x->env = env; /* supervisord: ENV_X sees the program's environment= */
	return r == -ENOMEM ? r : 0;
}

static int build_process(struct build *b, struct cfg_process *proc, int num)
{
	struct cfg_expand_ctx x = b->x;
	struct cfg_env env = { 0 };
	char *msg = NULL;
	int r;

	x.has_process = true;
	x.process_num = proc->num = num;
	x.numprocs = (int)b->numprocs;
	x.env = &b->env;
	proc->out = b->log[0];
	proc->err = b->log[1];
	r = process_env(b, &x, &env);
	if (r == 0 && proc_expand(b, P_PROCESS_NAME, &x, "%(program_name)s", &proc->name) == 0 &&
	    cfg__check_name("process name", proc->name, &msg) < 0)
		proc_error(b, P_PROCESS_NAME, 0, "%s", msg ? msg : "out of memory");
	free(msg);
	if (r == 0 && proc_expand(b, P_DIRECTORY, &x, NULL, &proc->directory) == 0 &&
	    proc->directory && !*proc->directory)
		proc_error(b, P_DIRECTORY, 0,
			   "the directory is empty; give one, or leave the "
			   "key out to inherit collie's");
	if (r == 0)
		r = log_path(b, P_STDOUT_LOG, &x, &proc->out);
	if (r == 0)
		r = log_path(b, P_STDERR_LOG, &x, &proc->err);
	if (r == 0 && b->proc_keys[P_COMMAND] &&
	    proc_expand(b, P_COMMAND, &x, NULL, &proc->command) == -ENOMEM)
		r = -ENOMEM;
	proc->env = cfg__env_take(&env); /* x.env pointed to it: expand nothing after */
	if (!proc->env)
		r = -ENOMEM;
	if (r == 0 && proc->command)
		r = check_command(b, proc);
	return r == -ENOMEM ? r : 0;
}

static int build_processes(struct build *b)
{
	struct cfg_program *p = b->p;
	int r = 0;

	p->procs = calloc((size_t)b->numprocs, sizeof(*p->procs));
	if (!p->procs)
		return -ENOMEM;
	p->n_procs = (size_t)b->numprocs;
	for (size_t i = 0; r == 0 && i < p->n_procs; i++)
		r = build_process(b, &p->procs[i], (int)(b->numprocs_start + (long long)i));
	if (r == 0 && p->redirect_stderr && p->procs[0].err.path) {
		const struct cfg_raw_key *k = b->proc_keys[P_STDERR_LOG];

		/* supervisord warns the same way, and drops the file. */
		cfg__warn(b->l, k->file, k->line,
			  "[%s] has redirect_stderr=true, so stderr_logfile is not used",
			  b->s->name);
		for (size_t i = 0; i < p->n_procs; i++) {
			free(p->procs[i].err.path);
			p->procs[i].err.path = NULL;
		}
	}
	return r;
}

int cfg__program_build(struct cfg_loader *l, const struct cfg_raw_section *s, const char *group,
		       struct cfg_program *p)
{
	struct build b = { .l = l, .s = s, .p = p, .numprocs = 1 };
	/* supervisord's defaults: 50MB, 10 backups */
	const struct cfg_log log = { .maxbytes = 50ULL * 1024 * 1024, .backups = 10 };
	char *msg = NULL;
	int r;

	cfg__program_defaults(p);
	p->file = s->file;
	p->line = s->line;
	p->name = strdup(strchr(s->name, ':') + 1);
	p->group = strdup(group ? group : p->name);
	if (!p->name || !p->group)
		return -ENOMEM;
	if (cfg__check_name("program name", p->name, &msg) < 0) {
		cfg__error(l, s->file, s->line, "malformed section header [%s]: %s", s->name,
			   msg ? msg : "out of memory");
		free(msg);
		return 0;
	}
	b.log[0] = b.log[1] = log;
	b.x = (struct cfg_expand_ctx){ .here = s->here,
				       .program_name = p->name,
				       .group_name = p->group,
				       .host_node_name = l->hostname,
				       .env = &l->base_env };
	r = cfg__env_copy(&b.env, &l->base_env);
	for (size_t i = 0; r == 0 && i < s->n_keys; i++)
		r = program_key(&b, &s->keys[i]);
	if (r == 0) {
		program_checks(&b);
		r = build_processes(&b);
	}
	cfg__env_release(&b.env);
	return r;
}

void cfg__program_release(struct cfg_program *p)
{
	for (size_t i = 0; p->procs && i < p->n_procs; i++) {
		struct cfg_process *proc = &p->procs[i];

		free(proc->name);
		free(proc->command);
		free(proc->directory);
		cfg__strv_free(proc->env);
		free(proc->out.path);
		free(proc->err.path);
	}
	free(p->procs);
	free(p->name);
	free(p->group);
	free(p->user);
	free(p->groups);
	cfg__strv_free(p->depends_on);
	free(p->envfile);
	*p = (struct cfg_program){ 0 };
}
