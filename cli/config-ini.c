/*
 * config-ini.c - read supervisord-style INI files with inih into raw
 * sections (config-internal.h), following [include] files= globs.
 *
 * inih does the parsing -- comments, key = value and key: value,
 * continuation lines, inline comments -- configured to match what
 * supervisord's configparser accepts (Debian's libinih, r55, makes these
 * settings run-time variables):
 *  - inline comments start at ; or # after a blank, as supervisord's
 *    UnhosedConfigParser sets inline_comment_prefixes=(';', '#');
 *  - lines are read into a 64 KiB heap buffer: inih's default of 200
 *    bytes would split a long command= line into two;
 *  - parsing stops at the first line inih cannot parse, which is
 *    reported as a malformed section header or a line that is not
 *    key = value.
 *
 * inih gives no line numbers to the handler in Debian's build
 * (INI_HANDLER_LINENO is 0), so lines come through ini_parse_stream()
 * with a reader that counts them; the reader also sees each raw line,
 * which settles three things inih does not tell the handler:
 *  - where a section starts, and its full name (inih's section buffer
 *    holds 50 bytes, and a longer [program:...] name would be cut);
 *  - whether a line continues the value of the key before it. inih takes
 *    any indented line after a key for a continuation; configparser only
 *    one indented deeper than the key's own line, so that indented keys
 *    under a header are keys. A line that is indented but no deeper is
 *    given to inih without its indentation, and read as a key;
 *  - whether a key is a continuation or the key written twice: the first
 *    is joined to the value with a newline, as configparser does, the
 *    second is a warning, the last value winning;
 *  - a NUL byte in a line, which would cut the line short in inih (the
 *    rest of the value silently lost): an error;
 *  - inline comments on continuation lines, which inih leaves in and
 *    configparser strips.
 *
 * [include] differs from supervisord in one way: collie also follows
 * [include] sections of included files (supervisord reads only the main
 * file's, and ignores the rest silently), relative to their own
 * directory, up to 10 levels; a file already read is not read again.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config-internal.h"
#include "banned.h"

#define MAX_LINE (64 * 1024)
#define MAX_INCLUDE_DEPTH 10

struct ini_state {
	struct cfg_loader *l;
	FILE *f;
	const char *file; /* in cfg->files */
	char *here;	  /* owned until a section takes a copy */
	unsigned line;	  /* lines read so far: the current line's number */
	char *buf;	  /* the current raw line */
	size_t cap;
	bool too_long;
	bool nul;	   /* the current line holds a NUL byte */
	int read_errno;	   /* why getline() failed, when it did */
	size_t indent;	   /* blanks before the current line's text */
	size_t key_indent; /* the same, of the line of the last key */
	bool continuation; /* the current line continues the last key's value */
	bool prev_key;	   /* a key was seen since the last header (inih's prev_name) */
	size_t first;	   /* index of this file's first section */
	size_t cur;	   /* index of the current section, or SIZE_MAX */
	size_t cur_key;	   /* index of the last key in it, or SIZE_MAX */
	int error;	   /* -ENOMEM */
};

static int add_section(struct ini_state *s, const char *name, size_t len)
{
	struct cfg_loader *l = s->l;
	struct cfg_raw_section *v, *sec;

	v = realloc(l->sections, (l->n_sections + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->sections = v;
	sec = &v[l->n_sections];
	*sec = (struct cfg_raw_section){ .file = s->file, .line = s->line };
	sec->name = strndup(name, len);
	sec->here = strdup(s->here);
	if (!sec->name || !sec->here) {
		free(sec->name);
		free(sec->here);
		return -ENOMEM;
	}
	s->cur = l->n_sections++;
	s->cur_key = SIZE_MAX;
	return 0;
}

/* inih's reader: one physical line, and the facts the handler needs. */
static char *read_line(char *str, int num, void *stream)
{
	struct ini_state *s = stream;
	ssize_t n = getline(&s->buf, &s->cap, s->f);
	const char *p;

	if (n < 0 || s->error) {
		s->read_errno = n < 0 && ferror(s->f) ? errno : 0;
		return NULL;
	}
	s->line++;
	if (n >= num) {
		s->too_long = true;
		return NULL;
	}
	if (memchr(s->buf, 0, (size_t)n)) {
		s->nul = true;
		return NULL;
	}
	p = s->buf;
	if (s->line == 1 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	s->indent = strspn(p, " \t");
	p += s->indent;
	/* configparser: blank lines and comments end nothing and continue
	 * nothing; a line continues the value only when indented deeper
	 * than the key. */
	s->continuation = s->prev_key && s->indent > s->key_indent && *p && !strchr(";#\r\n", *p);
	memcpy(str, s->continuation ? s->buf : p,
	       (size_t)(n - (s->continuation ? 0 : p - s->buf)) + 1);
	if (*p == '[' && !s->continuation) {
		const char *end = strchr(p, ']');

		s->prev_key = false;
		s->cur = SIZE_MAX;
		if (end && add_section(s, p + 1, (size_t)(end - p - 1)) < 0)
			s->error = -ENOMEM;
	}
	return str;
}

/* Strip an inline comment (; or # after a blank) from a continuation. */
static void strip_inline_comment(char *v)
{
	for (char *p = v; *p; p++) {
		if ((*p == ';' || *p == '#') && p > v && isspace((unsigned char)p[-1])) {
			*p = 0;
			break;
		}
	}
	for (size_t n = strlen(v); n > 0 && isspace((unsigned char)v[n - 1]); n--)
		v[n - 1] = 0;
}

static int continue_value(struct ini_state *s, struct cfg_raw_key *k, const char *value)
{
	char *part = strdup(value), *nv;
	unsigned *lines;

	if (!part)
		return -ENOMEM;
	strip_inline_comment(part);
	nv = cfg__msg("%s\n%s", k->value, part);
	free(part);
	lines = realloc(k->lines, (k->n_lines + 1) * sizeof(*lines));
	if (!nv || !lines) {
		free(nv);
		if (lines)
			k->lines = lines;
		return -ENOMEM;
	}
	free(k->value);
	k->value = nv;
	k->lines = lines;
	k->lines[k->n_lines++] = s->line;
	return 0;
}

static int set_key(struct ini_state *s, struct cfg_raw_section *sec, const char *name,
		   const char *value)
{
	struct cfg_raw_key *k = NULL, *v;
	char *lname = strdup(name);
	unsigned *lines = malloc(sizeof(*lines));
	char *val = strdup(value);

	for (char *p = lname; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (size_t i = 0; lname && i < sec->n_keys; i++)
		if (strcmp(sec->keys[i].name, lname) == 0)
			k = &sec->keys[i];
	if (!lname || !lines || !val)
		goto oom;
	if (k) {
		cfg__warn(s->l, s->file, s->line,
			  "key '%s' repeated in [%s] (first at line %u); the last one wins, as in "
			  "supervisord",
			  lname, sec->name, k->line);
		free(k->name);
		free(k->value);
		free(k->lines);
	} else {
		v = realloc(sec->keys, (sec->n_keys + 1) * sizeof(*v));
		if (!v)
			goto oom;
		sec->keys = v;
		k = &v[sec->n_keys++];
	}
	*k = (struct cfg_raw_key){ .name = lname,
				   .value = val,
				   .file = s->file,
				   .line = s->line,
				   .lines = lines,
				   .n_lines = 1 };
	lines[0] = s->line;
	s->cur_key = (size_t)(k - sec->keys);
	return 0;
oom:
	free(lname);
	free(lines);
	free(val);
	return -ENOMEM;
}

static int handle(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *s = user;
	struct cfg_raw_section *sec;
	int r;

	if (s->cur == SIZE_MAX) {
		cfg__error(s->l, s->file, s->line,
			   "key '%s' is outside any section; put it under a header such as "
			   "[program:NAME]",
			   name);
		return 1;
	}
	sec = &s->l->sections[s->cur];
	if (s->continuation && s->cur_key != SIZE_MAX) {
		r = continue_value(s, &sec->keys[s->cur_key], value);
	} else {
		r = set_key(s, sec, name, value);
		s->key_indent = s->indent;
	}
	s->prev_key = true;
	if (r < 0)
		s->error = r;
	return r < 0 ? 0 : 1;
}

/* inih stopped at s->line: say why, from the raw line. */
static void parse_error(struct ini_state *s)
{
	const char *p = s->buf ? s->buf + strspn(s->buf, " \t") : "";
	int len = (int)strcspn(p, "\r\n");

	if (s->too_long)
		cfg__error(s->l, s->file, s->line, "line longer than %d bytes", MAX_LINE - 3);
	else if (s->nul)
		cfg__error(s->l, s->file, s->line, CFG_NUL_MSG);
	else if (*p == '[')
		cfg__error(s->l, s->file, s->line,
			   "malformed section header '%.*s'; write [program:NAME], [group:NAME] "
			   "or [include], with a closing ]",
			   len, p);
	else
		cfg__error(s->l, s->file, s->line,
			   "'%.*s' is not 'key = value', a [section] header or a comment", len, p);
}

static void configure_inih(void)
{
	ini_inline_comment_prefixes = (char *)";#";
	ini_start_comment_prefixes = (char *)";#";
	ini_allow_inline_comments = true;
	ini_allow_multiline = true;
	ini_allow_bom = true;
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_max_line = MAX_LINE;
	ini_initial_alloc = MAX_LINE;
}

static int parse_file(struct ini_state *s)
{
	int r;

	configure_inih();
	r = ini_parse_stream(read_line, s, handle, s);
	if (s->error)
		return s->error;
	if (r == -2)
		return -ENOMEM;
	if (r > 0 || s->too_long || s->nul)
		parse_error(s);
	else if (ferror(s->f))
		cfg__error(s->l, s->file, s->line, "cannot read the file: %s",
			   strerror(s->read_errno ? s->read_errno : EIO));
	return 0;
}

/* Read the files one include pattern names; warn when none does. */
static int include_pattern(struct cfg_loader *l, const struct cfg_raw_key *k, const char *dir,
			   const char *pattern, int depth)
{
	char *full = pattern[0] == '/' ? strdup(pattern) : cfg__join_path(dir, pattern);
	glob_t g = { 0 };
	int r = 0, gr;

	if (!full)
		return -ENOMEM;
	gr = glob(full, 0, NULL, &g);
	if (gr == GLOB_NOSPACE)
		r = -ENOMEM;
	else if (gr != 0)
		cfg__warn(l, k->file, k->line,
			  "no file matches include '%s'; skipped, as supervisord does", full);
	for (size_t i = 0; gr == 0 && r >= 0 && i < g.gl_pathc; i++) {
		struct stat st;

		/* a glob that matches a directory (conf.d/ holding one):
		 * supervisord's configparser cannot open it and goes on */
		if (stat(g.gl_pathv[i], &st) == 0 && S_ISDIR(st.st_mode))
			cfg__warn(
				l, k->file, k->line,
				"include '%s' matches the directory '%s'; skipped, as supervisord "
				"does",
				full, g.gl_pathv[i]);
		else if (cfg__file_seen(l, g.gl_pathv[i]))
			cfg__warn(l, k->file, k->line, "'%s' is already read; not read again",
				  g.gl_pathv[i]);
		else
			r = cfg__ini_read(l, g.gl_pathv[i], depth + 1);
	}
	globfree(&g);
	free(full);
	return r;
}

/* Follow the [include] sections of one file (sections first..last). */
static int include_files(struct cfg_loader *l, const char *path, size_t first, size_t last,
			 int depth)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup("");
	int r = 0;

	for (size_t i = first; dir && r >= 0 && i < last; i++) {
		const struct cfg_raw_section *sec = &l->sections[i];
		const struct cfg_raw_key *k = cfg__raw_get(sec, "files");
		struct cfg_expand_ctx x = { .here = sec->here,
					    .host_node_name = l->hostname,
					    .env = &l->base_env };
		char *files = NULL, *msg = NULL, *save = NULL;

		if (strcmp(sec->name, "include") != 0)
			continue;
		if (!k) {
			cfg__error(l, sec->file, sec->line,
				   "[include] has no files= key; add one such as files = "
				   "conf.d/*.conf (supervisord refuses this too)");
			continue;
		}
		r = cfg__expand(k->value, &x, &files, &msg);
		if (r == -EINVAL)
			cfg__error(l, k->file, k->line, "key 'files' in [include]: %s",
				   msg ? msg : "out of memory");
		for (char *p = r < 0 ? NULL : strtok_r(files, " \t\r\n", &save); p && r >= 0;
		     p = strtok_r(NULL, " \t\r\n", &save))
			r = include_pattern(l, k, dir, p, depth);
		r = r == -EINVAL ? 0 : r;
		free(files);
		free(msg);
	}
	free(dir);
	return dir ? r : -ENOMEM;
}

int cfg__ini_read(struct cfg_loader *l, const char *path, int depth)
{
	struct ini_state s = { .l = l, .cur = SIZE_MAX, .cur_key = SIZE_MAX };
	int r;

	if (depth > MAX_INCLUDE_DEPTH) {
		cfg__error(l, path, 0,
			   "includes nested more than %d deep; is a file including "
			   "itself through a glob?",
			   MAX_INCLUDE_DEPTH);
		return 0;
	}
	s.f = fopen(path, "re");
	if (!s.f) {
		cfg__error(l, path, 0, "cannot read the file: %s", strerror(errno));
		return 0;
	}
	s.file = cfg__add_file(l, path);
	s.here = cfg__absolute_dir(l, path);
	s.first = l->n_sections;
	r = s.file && s.here ? parse_file(&s) : -ENOMEM;
	fclose(s.f);
	free(s.buf);
	free(s.here);
	if (r < 0)
		return r;
	return include_files(l, s.file, s.first, l->n_sections, depth);
}

const struct cfg_raw_key *cfg__raw_get(const struct cfg_raw_section *s, const char *name)
{
	for (size_t i = 0; i < s->n_keys; i++)
		if (strcmp(s->keys[i].name, name) == 0)
			return &s->keys[i];
	return NULL;
}

void cfg__raw_release(struct cfg_loader *l)
{
	for (size_t i = 0; i < l->n_sections; i++) {
		struct cfg_raw_section *s = &l->sections[i];

		for (size_t j = 0; j < s->n_keys; j++) {
			free(s->keys[j].name);
			free(s->keys[j].value);
			free(s->keys[j].lines);
		}
		free(s->keys);
		free(s->name);
		free(s->here);
	}
	free(l->sections);
	l->sections = NULL;
	l->n_sections = 0;
}
