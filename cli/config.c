/*
 * config.c - cfg_load(): find the configuration, read it, interpret its
 * sections as a whole, and either return a configuration that is right
 * in every part or every error found, each with its file:line.
 *
 * Sections, and what becomes of them:
 *  - [program:NAME], [group:NAME], [include]: collie's model;
 *  - [supervisord]: only environment= is used (every process gets it,
 *    and %(ENV_X)s sees it, as in supervisord); its other keys are the
 *    daemon's own settings, one warning for the section names them;
 *  - [unix_http_server], [inet_http_server], [supervisorctl],
 *    [rpcinterface:x], [ctlplugin:x], [eventlistener:x], [fcgi-program:x]:
 *    supervisord features collie does not implement, one warning each;
 *  - anything else: an error (did you mean ...?), or a warning in a
 *    supervisord configuration, which supervisord would ignore silently.
 * Two [program:NAME] (or [group:NAME]) with one name are an error that
 * names both places: supervisord merges them silently, and a merge of
 * two definitions is seldom what their author meant.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config-internal.h"
#include "banned.h"

static void add_message(struct cfg_loader *l, bool error, const char *file, unsigned line,
			const char *fmt, va_list ap)
{
	char *body = NULL, *text = NULL;

	if (vasprintf(&body, fmt, ap) < 0)
		body = NULL;
	if (body && !file)
		text = strdup(body);
	else if (body && line)
		text = cfg__msg("%s:%u: %s", file, line, body);
	else if (body)
		text = cfg__msg("%s: %s", file, body);
	free(body);
	if (!text) {
		l->oom = true;
		return;
	}
	if (error) {
		char **v = l->n_errors < CFG_MAX_ERRORS
				   ? realloc(l->errors, (l->n_errors + 1) * sizeof(*v))
				   : NULL;

		if (v) {
			l->errors = v;
			v[l->n_errors] = text;
			text = NULL;
		}
		l->n_errors++;
	} else {
		struct cfg *c = l->cfg;
		struct cfg_warning *w = realloc(c->warnings, (c->n_warnings + 1) * sizeof(*w));

		if (w) {
			c->warnings = w;
			w[c->n_warnings++].text = text;
			text = NULL;
		} else {
			l->oom = true;
		}
	}
	free(text);
}

void cfg__error(struct cfg_loader *l, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(l, true, file, line, fmt, ap);
	va_end(ap);
}

void cfg__warn(struct cfg_loader *l, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(l, false, file, line, fmt, ap);
	va_end(ap);
}

const char *cfg__add_file(struct cfg_loader *l, const char *path)
{
	struct cfg *c = l->cfg;
	size_t n = cfg__strv_len(c->files);
	char **v = realloc(c->files, (n + 2) * sizeof(*v));

	if (!v)
		return NULL;
	c->files = v;
	v[n] = strdup(path);
	v[n + 1] = NULL;
	return v[n];
}

bool cfg__file_seen(const struct cfg_loader *l, const char *path)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (!realpath(path, a))
		return false;
	for (char **f = l->cfg->files; f && *f; f++)
		if (realpath(*f, b) && strcmp(a, b) == 0)
			return true;
	return false;
}

char *cfg__join_path(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (n == 0)
		return strdup(path);
	return cfg__msg("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", path);
}

char *cfg__absolute_dir(const struct cfg_loader *l, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
	char *abs;

	/* As supervisord's %(here)s: os.path.abspath(os.path.dirname(f)),
	 * symbolic links left as they are. */
	if (dir && dir[0] == '/')
		return dir;
	abs = dir ? cfg__join_path(l->cwd, dir) : strdup(l->cwd);
	free(dir);
	return abs;
}

/* Levenshtein distance, for suggestions; bounded by the short names. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= COL_ARRAY_SIZE(row) || lb >= COL_ARRAY_SIZE(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			best = up + 1 < best ? up + 1 : best;
			best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *cfg__did_you_mean(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, limit = strlen(word) / 3 + 1;

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, candidates[i]);

		/* a prefix counts too: "depend" for "depends_on" */
		if (strncmp(word, candidates[i], strlen(word)) == 0 && strlen(word) >= 4)
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best_d <= (limit < 3 ? limit : 3) ? best : NULL;
}

/* A Procfile by its name: Procfile, Procfile.dev, web.Procfile. */
static bool is_procfile(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	return strcmp(base, "Procfile") == 0 || strncmp(base, "Procfile.", 9) == 0 ||
	       (n > 9 && strcasecmp(base + n - 9, ".procfile") == 0);
}

static const char *choose_path(struct cfg_loader *l, const struct cfg_load_opts *opts)
{
	if (opts->path)
		return opts->path;
	if (access("collie.ini", F_OK) == 0)
		return "collie.ini";
	if (access("Procfile", F_OK) == 0)
		return "Procfile";
	cfg__error(l, NULL, 0,
		   "no collie.ini or Procfile in the current directory; give a file with -c FILE");
	return NULL;
}

static int compare_programs(const void *a, const void *b)
{
	const struct cfg_program *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* All the errors, one a line; NULL when out of memory. */
static char *error_text(const struct cfg_loader *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < l->n_errors && i < CFG_MAX_ERRORS; i++)
		fprintf(f, "%s%s", i ? "\n" : "", l->errors[i]);
	if (l->n_errors > CFG_MAX_ERRORS)
		fprintf(f, "\n... and %zu more errors", l->n_errors - CFG_MAX_ERRORS);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int load(struct cfg_loader *l, const struct cfg_load_opts *opts)
{
	const char *path = choose_path(l, opts);
	int r;

	if (!path)
		return 0;
	l->cfg->path = strdup(path);
	if (!l->cfg->path)
		return -ENOMEM;
	if (is_procfile(path)) {
		l->cfg->procfile = true;
		return cfg__procfile_load(l, path, opts);
	}
	if (opts->formation)
		cfg__error(l, NULL, 0,
			   "-m %s: a formation applies to a Procfile; in %s, set numprocs= in each "
			   "[program] section",
			   opts->formation, path);
	r = cfg__ini_read(l, path, 0);
	if (r == 0 && l->n_errors == 0)
		r = cfg__interpret(l);
	return r;
}

int cfg_load(const struct cfg_load_opts *opts, struct cfg **ret, char **ret_error)
{
	struct cfg_loader l = { 0 };
	int r = -ENOMEM;

	*ret = NULL;
	*ret_error = NULL;
	l.cfg = calloc(1, sizeof(*l.cfg));
	if (l.cfg)
		l.cfg->refs = 1;
	l.cwd = getcwd(NULL, 0);
	if (l.cfg && l.cwd && cfg__env_from_environ(&l.base_env) == 0) {
		if (gethostname(l.hostname, sizeof(l.hostname) - 1) < 0)
			l.hostname[0] = 0;
		r = load(&l, opts);
	}
	/* Last: only a configuration right in every other part is counted. */
	if (r == 0 && !l.oom && l.n_errors == 0)
		r = cfg__check_fds(&l);
	if (r == 0 && !l.oom && l.n_errors == 0) {
		if (l.cfg->n_programs > 0)
			qsort(l.cfg->programs, l.cfg->n_programs, sizeof(*l.cfg->programs),
			      compare_programs);
		*ret = l.cfg;
		l.cfg = NULL;
	} else {
		*ret_error = r == -ENOMEM || l.oom ? NULL : error_text(&l);
		if (!*ret_error)
			*ret_error = strdup("out of memory");
		r = -1;
	}
	cfg__raw_release(&l);
	cfg__env_release(&l.base_env);
	for (size_t i = 0; i < l.n_errors && i < CFG_MAX_ERRORS; i++)
		free(l.errors[i]);
	free(l.errors);
	free(l.cwd);
	cfg_unref(l.cfg);
	return r < 0 ? -1 : 0;
}
