/*
 * procfile.c - a Procfile, the .env beside it and a formation, read as
 * foreman reads them (its Procfile, Env and Engine classes; `foreman
 * start -m`).
 *
 *  - Each line matching ^([A-Za-z0-9_-]+):\s*(.+)$ is a process type and
 *    its command; other lines are skipped: blank lines and # comments
 *    silently, anything else (a stray line, a merge-conflict marker)
 *    with a warning naming it.
 *  - A name given twice: foreman would run both under one name; collie's
 *    names are unique, so the last line wins (as on Heroku-like
 *    platforms, which read a Procfile as a map), keeping the place of
 *    the first, with a warning naming both lines.
 *  - Commands are shell lines in the wild (&&, ${VAR:=default}, bash -c):
 *    they run as foreman runs them, with /bin/sh -c (shell=true), in the
 *    Procfile's directory.
 *  - .env beside the Procfile (config-env.c has its syntax) adds to the
 *    environment; it is optional.
 *  - A formation "web=2,worker=1" sets instance counts; "all=N" sets the
 *    count of every type not named. Without -m every type gets one; with
 *    -m a type it does not name gets none (foreman's default is all=1,
 *    replaced by -m). A type with none is kept, not started
 *    (autostart=false, one instance), so `collie start` can still run it.
 *    A name that is no process type is an error.
 *  - Instances are NAME.1, NAME.2, ...; each gets PORT = base + 100 *
 *    (the type's place in the Procfile, from 0) + (instance - 1), and PS
 *    = its name, as foreman does. The base is port_base when given, else
 *    PORT from .env, else PORT from collie's environment, else 5000 --
 *    foreman's order.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "banned.h"

#define DEFAULT_PORT 5000
#define MAX_INSTANCES 10000

struct entry {
	char *name;
	char *command;
	unsigned line;
	long long count; /* instances; -1: not named in the formation */
};

struct procfile {
	struct cfg_loader *l;
	const char *file;
	struct entry *v;
	size_t n;
	struct cfg_env env; /* collie's environment + .env */
	long long port;
	long long all; /* all=N, or -1 */
};

static int add_entry(struct procfile *pf, const char *name, size_t name_len, const char *command,
		     unsigned line)
{
	struct entry *v;
	char *cmd = strdup(command);

	for (size_t i = 0; cmd && i < pf->n; i++) {
		if (strlen(pf->v[i].name) != name_len || memcmp(pf->v[i].name, name, name_len))
			continue;
		cfg__warn(
			pf->l, pf->file, line,
			"process type '%s' is defined again (first at line %u); the last one wins",
			pf->v[i].name, pf->v[i].line);
		free(pf->v[i].command);
		pf->v[i].command = cmd;
		pf->v[i].line = line;
		return 0;
	}
	v = cmd ? realloc(pf->v, (pf->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(cmd);
		return -ENOMEM;
	}
	pf->v = v;
	v[pf->n] = (struct entry){
		.name = strndup(name, name_len), .command = cmd, .line = line, .count = -1
	};
	if (!v[pf->n].name) {
		free(cmd);
		return -ENOMEM;
	}
	pf->n++;
	return 0;
}

/* One line; foreman's regular expression, written out. */
static int procfile_line(struct procfile *pf, char *line, unsigned lineno)
{
	size_t n = strcspn(line, "\n"), name_len;
	const char *cmd;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = 0;
	name_len = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
	cmd = line + name_len + 1;
	cmd += strspn(cmd, " \t\f\v");
	if (name_len > 0 && line[name_len] == ':' && *cmd)
		return add_entry(pf, line, name_len, cmd, lineno);
	if (line[strspn(line, " \t")] && line[strspn(line, " \t")] != '#')
		cfg__warn(pf->l, pf->file, lineno,
			  "'%.40s' is not 'name: command'; line skipped, as foreman does", line);
	return 0;
}

static int read_procfile(struct procfile *pf, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n = 0;
	int r = 0;

	if (!f) {
		cfg__error(pf->l, path, 0, "cannot read the file: %s", strerror(errno));
		return 0;
	}
	pf->file = cfg__add_file(pf->l, path);
	while (pf->file && r == 0 && (n = getline(&line, &cap, f)) >= 0) {
		if (memchr(line, 0, (size_t)n)) {
			/* foreman cannot start it either: Ruby's spawn refuses
			 * a string with a NUL */
			cfg__error(pf->l, path, ++lineno, CFG_NUL_MSG);
			n = 0;
			break;
		}
		r = procfile_line(pf, line, ++lineno);
	}
	if (r == 0 && n < 0 && ferror(f))
		cfg__error(pf->l, path, 0, "cannot read the file: %s", strerror(errno));
	else if (r == 0 && n < 0 && pf->file && pf->n == 0)
		cfg__error(pf->l, path, 0,
			   "no 'name: command' line; a Procfile has one a process "
			   "type, such as web: ./server --port $PORT");
	free(line);
	fclose(f);
	return pf->file ? r : -ENOMEM;
}

/* -m web=2,worker=1,all=0 */
static void apply_formation(struct procfile *pf, const char *formation)
{
	const char *p = formation;
	const char **names = calloc(pf->n + 1, sizeof(*names));

	for (size_t i = 0; names && i < pf->n; i++)
		names[i] = pf->v[i].name;
	while (names && *p) {
		size_t len = strcspn(p, ","), nlen = strcspn(p, "=,");
		char name[128], num[32], *msg = NULL;
		long long count = 0;
		size_t i = 0;

		snprintf(name, sizeof(name), "%.*s", (int)(nlen < 127 ? nlen : 127), p);
		snprintf(num, sizeof(num), "%.*s", nlen < len ? (int)(len - nlen - 1) : 0,
			 p + nlen + 1);
		if (nlen >= len || cfg__parse_int(num, 0, MAX_INSTANCES, &count, &msg) < 0) {
			cfg__error(pf->l, NULL, 0,
				   "-m %s: '%.*s' is not NAME=COUNT with a count "
				   "from 0 to %d (such as web=2,worker=1)",
				   formation, (int)len, p, MAX_INSTANCES);
		} else if (strcmp(name, "all") == 0) {
			pf->all = count;
		} else {
			while (i < pf->n && strcmp(pf->v[i].name, name) != 0)
				i++;
			if (i < pf->n) {
				pf->v[i].count = count;
			} else {
				const char *near = cfg__did_you_mean(name, names, pf->n);

				cfg__error(pf->l, NULL, 0,
					   "-m %s: the Procfile has no process type "
					   "'%s'%s%s%s",
					   formation, name, near ? "; did you mean '" : "",
					   near ? near : "", near ? "'?" : "");
			}
		}
		free(msg);
		p += len + (p[len] == ',');
	}
	free(names);
}

static int port_base(struct procfile *pf, const struct cfg_load_opts *opts)
{
	const char *s = cfg__env_get(&pf->env, "PORT", 4);
	char *msg = NULL;

	pf->port = DEFAULT_PORT;
	if (opts->port_base > 0)
		pf->port = opts->port_base;
	else if (s && cfg__parse_int(s, 1, 65535, &pf->port, &msg) < 0)
		cfg__error(pf->l, pf->file, 0, "PORT=%s (from .env or the environment): %s", s,
			   msg ? msg : "out of memory");
	free(msg);
	return 0;
}

static int build_instance(struct procfile *pf, struct cfg_program *p, size_t idx, int n,
			  const char *dir)
{
	struct cfg_process *proc = &p->procs[n - 1];
	struct cfg_env env = { 0 };
	long long port = pf->port + 100 * (long long)idx + (n - 1);
	char num[24];
	int r;

	proc->num = n;
	proc->name = cfg__msg("%s.%d", p->name, n);
	proc->command = strdup(pf->v[idx].command);
	proc->directory = strdup(dir);
	proc->out = proc->err = (struct cfg_log){ .maxbytes = 50ULL * 1024 * 1024, .backups = 10 };
	if (port > 65535 && n == 1)
		cfg__error(pf->l, pf->file, pf->v[idx].line,
			   "process type '%s' would get PORT=%lld, past 65535; give a lower base "
			   "port (PORT in .env)",
			   p->name, port);
	snprintf(num, sizeof(num), "%lld", port);
	r = cfg__env_copy(&env, &pf->env);
	if (r == 0)
		r = cfg__env_set(&env, "PORT", 4, num);
	if (r == 0 && proc->name)
		r = cfg__env_set(&env, "PS", 2, proc->name);
	if (r < 0)
		cfg__env_release(&env);
	proc->env = cfg__env_take(&env);
	if (!proc->name || !proc->command || !proc->directory || !proc->env)
		r = -ENOMEM;
	return r;
}

static int build_programs(struct procfile *pf, const struct cfg_load_opts *opts, const char *dir)
{
	struct cfg *c = pf->l->cfg;
	int r = 0;

	c->programs = calloc(pf->n + 1, sizeof(*c->programs));
	if (!c->programs)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < pf->n; i++) {
		struct cfg_program *p = &c->programs[c->n_programs++];
		const struct entry *e = &pf->v[i];
		long long count = e->count >= 0	     ? e->count
				  : !opts->formation ? 1
				  : pf->all >= 0     ? pf->all
						     : 0;

		cfg__program_defaults(p);
		p->name = strdup(e->name);
		p->group = strdup(e->name);
		p->file = pf->file;
		p->line = e->line;
		p->shell = true;
		p->autostart = count > 0;
		p->n_procs = count > 0 ? (size_t)count : 1;
		p->procs = calloc(p->n_procs, sizeof(*p->procs));
		if (!p->name || !p->group || !p->procs)
			return -ENOMEM;
		for (size_t n = 1; r == 0 && n <= p->n_procs; n++)
			r = build_instance(pf, p, i, (int)n, dir);
	}
	return r;
}

/* .env beside the Procfile, when there is one. */
static int read_dotenv(struct procfile *pf, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *env = slash ? cfg__msg("%.*s/.env", (int)(slash - path), path) : strdup(".env");
	int r = env ? cfg__env_read_file(pf->l, env, &pf->env) : -ENOMEM;

	if (r < 0 && r != -ENOENT && r != -ENOMEM)
		cfg__error(pf->l, env, 0, "cannot read the file: %s", strerror(-r));
	free(env);
	return r == -ENOMEM ? r : 0;
}

int cfg__procfile_load(struct cfg_loader *l, const char *path, const struct cfg_load_opts *opts)
{
	struct procfile pf = { .l = l, .all = -1 };
	char *dir = cfg__absolute_dir(l, path);
	int r = dir ? cfg__env_copy(&pf.env, &l->base_env) : -ENOMEM;

	if (r == 0)
		r = read_procfile(&pf, path);
	if (r == 0)
		r = read_dotenv(&pf, path);
	if (r == 0)
		r = port_base(&pf, opts);
	if (r == 0 && opts->formation)
		apply_formation(&pf, opts->formation);
	if (r == 0 && l->n_errors == 0)
		r = build_programs(&pf, opts, dir);
	for (size_t i = 0; i < pf.n; i++) {
		free(pf.v[i].name);
		free(pf.v[i].command);
	}
	free(pf.v);
	cfg__env_release(&pf.env);
	free(dir);
	return r;
}
