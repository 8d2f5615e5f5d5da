/*
 * config-env.c - the environment of a process, built in layers: collie's
 * own environment, [supervisord] environment=, envfile= (or a Procfile's
 * .env), the program's environment=, and a Procfile's PORT -- each layer
 * replacing what the one before set.
 *
 * Two syntaxes come in:
 *  - supervisord's environment=KEY="val",KEY2=val. supervisord splits it
 *    with Python's shlex and then takes every third token, which turns
 *    some mistakes (an unquoted space, KEY=a b) into silently wrong
 *    values. Here a value is a run of unquoted characters and "..." or
 *    '...' parts (quotes removed, nothing escaped inside), pairs are
 *    separated by commas, blanks (and a continuation's newlines) around
 *    them are dropped, and an unquoted blank inside a value is an error
 *    that says to quote it. A key is what shlex takes into one word
 *    there. Every value supervisord parses as its author meant parses
 *    the same here.
 *  - env files (a Procfile's .env, envfile=), as foreman reads .env:
 *    lines KEY=value with KEY of letters, digits and _; a value wholly
 *    in '...' is taken literally, one wholly in "..." has \n made a
 *    newline and any other \X made X; otherwise the value is taken as it
 *    is, spaces and # included. Blank lines and lines starting with #
 *    are comments. An optional leading "export " is accepted (as the
 *    dotenv gem does). Any other line is skipped, as foreman skips it,
 *    with a warning naming it. A key set twice: the last wins.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "banned.h"

extern char **environ;

/* A character of an environment= key: what supervisord's shlex takes into
 * a word (letters, digits and _ /.+-():), so that every key it accepts
 * (spring.profiles.active, X-API-KEY) is accepted here too. */
static bool is_key_char(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("_/.+-():", c));
}

int cfg__env_set(struct cfg_env *e, const char *name, size_t name_len, const char *value)
{
	size_t vlen = strlen(value);
	char *s = malloc(name_len + vlen + 2);

	if (!s)
		return -ENOMEM;
	memcpy(s, name, name_len);
	s[name_len] = '=';
	memcpy(s + name_len + 1, value, vlen + 1);
	for (size_t i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], name, name_len) == 0 && e->v[i][name_len] == '=') {
			free(e->v[i]);
			e->v[i] = s;
			return 0;
		}
	}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		char **v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return 0;
}

const char *cfg__env_get(const struct cfg_env *e, const char *name, size_t name_len)
{
	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, name_len) == 0 && e->v[i][name_len] == '=')
			return e->v[i] + name_len + 1;
	return NULL;
}

int cfg__env_copy(struct cfg_env *dst, const struct cfg_env *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const char *eq = strchr(src->v[i], '=');
		int r = cfg__env_set(dst, src->v[i], (size_t)(eq - src->v[i]), eq + 1);

		if (r < 0)
			return r;
	}
	return 0;
}

int cfg__env_from_environ(struct cfg_env *e)
{
	for (char **p = environ; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		int r;

		if (!eq || eq == *p)
			continue;
		r = cfg__env_set(e, *p, (size_t)(eq - *p), eq + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

char **cfg__env_take(struct cfg_env *e)
{
	char **v = e->v;

	if (!v)
		v = calloc(1, sizeof(*v));
	*e = (struct cfg_env){ 0 };
	return v;
}

void cfg__env_release(struct cfg_env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	*e = (struct cfg_env){ 0 };
}

/* One value of environment=, from *pp up to a top-level comma. */
static int list_value(const char **pp, FILE *out, const char *key, size_t key_len, char **ret_msg)
{
	const char *p = *pp;

	while (*p && *p != ',') {
		if (*p == '"' || *p == '\'') {
			const char *close = strchr(p + 1, *p);

			if (!close) {
				*ret_msg =
					cfg__msg("the value of %.*s has an unterminated %c quote",
						 (int)key_len, key, *p);
				return -EINVAL;
			}
			fwrite(p + 1, 1, (size_t)(close - p - 1), out);
			p = close + 1;
		} else if (isspace((unsigned char)*p)) {
			const char *q = p + strspn(p, " \t\r\n");

			if (*q && *q != ',') {
				*ret_msg =
					cfg__msg("the value of %.*s has an unquoted blank; quote "
						 "the value: %.*s=\"...\"",
						 (int)key_len, key, (int)key_len, key);
				return -EINVAL;
			}
			p = q;
		} else {
			fputc(*p++, out);
		}
	}
	*pp = p;
	return 0;
}

/* One KEY=value of environment= at *pp; advances past it and its comma. */
static int list_pair(const char **pp, struct cfg_env *e, char **ret_msg)
{
	const char *p = *pp + strspn(*pp, " \t\r\n"), *key = p;
	char *val = NULL;
	size_t len = 0, key_len;
	FILE *out;
	int r;

	while (is_key_char(*p))
		p++;
	key_len = (size_t)(p - key);
	p += strspn(p, " \t\r\n");
	if (key_len == 0 || *p != '=') {
		*ret_msg = cfg__msg("expected KEY=value pairs separated by commas (such as "
				    "A=\"1\",B=2), not '%.20s'",
				    key);
		return -EINVAL;
	}
	p += 1 + strspn(p + 1, " \t\r\n");
	out = open_memstream(&val, &len);
	if (!out)
		return -ENOMEM;
	r = list_value(&p, out, key, key_len, ret_msg);
	if (fclose(out) != 0 && r == 0)
		r = -ENOMEM;
	if (r == 0)
		r = cfg__env_set(e, key, key_len, val ? val : "");
	free(val);
	*pp = *p == ',' ? p + 1 : p;
	return r;
}

int cfg__env_parse_list(const char *text, struct cfg_env *e, char **ret_msg)
{
	const char *p = text;
	int r;

	*ret_msg = NULL;
	for (;;) {
		p += strspn(p, " \t\r\n");
		if (!*p)
			return 0;
		r = list_pair(&p, e, ret_msg);
		if (r < 0)
			return r;
	}
}

/* An env file's value, as foreman unquotes it (see the top). */
static void unquote_value(char *v)
{
	size_t n = strlen(v);
	char *w = v;

	if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
		memmove(v, v + 1, n - 2);
		v[n - 2] = 0;
		return;
	}
	if (n < 2 || v[0] != '"' || v[n - 1] != '"')
		return;
	v[n - 1] = 0;
	for (const char *r = v + 1; *r; r++) {
		if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 'n' ? '\n' : *r;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

/* One line of an env file; returns 1 when it is not KEY=value. */
static int env_line(char *line, struct cfg_env *e)
{
	char *p = line, *key;
	size_t n = strlen(line);

	if (n > 0 && line[n - 1] == '\n')
		line[--n] = 0;
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = 0;
	p += strspn(p, " \t");
	if (!*p || *p == '#')
		return 0;
	if (strncmp(p, "export ", 7) == 0)
		p += 7 + strspn(p + 7, " \t");
	key = p;
	while (*p && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	if (p == key || *p != '=')
		return 1;
	*p++ = 0;
	unquote_value(p);
	return cfg__env_set(e, key, strlen(key), p);
}

int cfg__env_read_file(struct cfg_loader *l, const char *path, struct cfg_env *e)
{
	FILE *f = fopen(path, "re");
	const char *file;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;
	int r = 0;

	if (!f)
		return -errno;
	file = cfg__add_file(l, path);
	while (r >= 0 && file && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (memchr(line, 0, (size_t)n)) {
			cfg__error(l, file, lineno, CFG_NUL_MSG);
			continue;
		}
		r = env_line(line, e);
		if (r == 1)
			cfg__warn(l, file, lineno, "not KEY=value; line skipped");
	}
	if (r >= 0 && ferror(f))
		r = errno ? -errno : -EIO;
	free(line);
	fclose(f);
	return !file ? -ENOMEM : r < 0 ? r : 0;
}
