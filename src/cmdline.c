/*
 * cmdline.c - parsing the command language: pipelines, commands,
 * assignments and redirections; error positions; writing a pipeline back
 * as text. Words themselves are lexed in cmdline-word.c; running is in
 * cmdline-run.c. The language is specified in include/collie/cmdline.h.
 *
 * Decisions that are not obvious:
 *  - Shell syntax is rejected where it is found, not skipped: a
 *    supervisord user whose command= relied on a shell learns it at load
 *    time with the column, instead of the program getting "&&" as an
 *    argument (which is what supervisord does).
 *  - Everything is checked at parse time that can be, so that a pipeline
 *    that parses can only fail to start for reasons of the system (a
 *    missing program or file): in particular which fds a redirection may
 *    copy, and that extra fds are contiguous from 3, because
 *    col_spawn_opts can only place extra fds at 3, 4, ... in order.
 *  - The first error wins and parsing stops there.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collie/cmdline.h"
#include "cmdline-internal.h"
#include "banned.h"

/* One command being parsed. */
struct builder {
	struct col__strv argv;
	struct col__strv assigns;
	struct col_cmdline_redir *redirs;
	size_t n_redirs, cap_redirs;
	bool extra[COL_CMDLINE_FD_MAX + 1]; /* fds >= 3 redirected so far */
	size_t offset;
};

/* What the first word of a command cannot be: sh's reserved words, and bash's. */
static const char *const keywords[] = {
	"!",	"{",  "}",   "[[",	 "]]", "case",	 "do",	 "done",  "elif",  "else",
	"esac", "fi", "for", "function", "if", "select", "then", "until", "while",
};

static bool is_keyword(const char *s, size_t n)
{
	for (size_t i = 0; i < COL_ARRAY_SIZE(keywords); i++)
		if (strlen(keywords[i]) == n && memcmp(keywords[i], s, n) == 0)
			return true;
	return false;
}

__attribute__((format(printf, 3, 0))) static int vfail(struct col__parser *p, size_t at,
						       const char *fmt, va_list ap)
{
	if (p->error)
		return p->error;
	p->error = -EINVAL;
	p->err_at = at;
	vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
	return p->error;
}

int col__parser_fail(struct col__parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(p, at, fmt, ap);
	va_end(ap);
	return r;
}

int col__parser_reject(struct col__parser *p, size_t at, const char *what)
{
	return col__parser_fail(p, at, "%s: %s", what, COL__CMDLINE_HINT);
}

int col__parser_nomem(struct col__parser *p)
{
	if (!p->error) {
		p->error = -ENOMEM;
		p->err_at = p->pos;
		snprintf(p->err_msg, sizeof(p->err_msg), "out of memory");
	}
	return p->error;
}

static void skip_blanks(struct col__parser *p)
{
	while (col__is_blank(p->text[p->pos]))
		p->pos++;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789"

/* The value of the n digits at s, or LONG_MAX when past any fd; leading
 * zeros do not count (002 is fd 2, as in bash). */
static long fd_number(const char *s, size_t n)
{
	while (n > 1 && *s == '0') {
		s++;
		n--;
	}
	return n > 4 ? LONG_MAX : strtol(s, NULL, 10);
}

/* The length of NAME when s starts with NAME=, else 0. */
static size_t assignment_name(const char *s)
{
	size_t n = strspn(s, NAME_CHARS);

	return n > 0 && !is_digit(s[0]) && s[n] == '=' ? n : 0;
}

/* Lex one word of the given kind into w, finished. */
static int lex_word(struct col__parser *p, struct col__word *w, enum col__word_kind kind)
{
	int r;

	col__word_init(w, kind);
	r = col__word_lex(p, w);
	if (r == 0)
		r = col__word_finish(p, w);
	if (r < 0)
		col__word_release(w);
	return r;
}

/* At a word starting NAME=: the assignment, its value expanded but not split. */
static int parse_assignment(struct col__parser *p, struct builder *b, size_t name_len)
{
	const char *name = p->text + p->pos;
	struct col__word w;
	const char *value;
	size_t len;
	char *s;
	int r;

	p->pos += name_len + 1;
	r = lex_word(p, &w, COL__WORD_ASSIGN);
	if (r < 0)
		return r;
	value = w.fields.n ? w.fields.v[0] : "";
	len = name_len + 1 + strlen(value) + 1;
	s = malloc(len);
	if (s)
		snprintf(s, len, "%.*s=%s", (int)name_len, name, value);
	col__word_release(&w);
	if (!s || col__strv_push(&b->assigns, s) < 0)
		return col__parser_nomem(p);
	return 0;
}

static int reject_glob(struct col__parser *p, size_t at)
{
	char c = p->text[at];

	return col__parser_fail(p, at,
				"'%c' would be a pattern in sh, and collie expands no patterns: "
				"quote it ('%c') to pass it literally, or to have it expanded, "
				"set shell=true (or write: sh -c '...')",
				c, c);
}

/* An argument: its fields go to argv. */
static int parse_argument(struct col__parser *p, struct builder *b)
{
	size_t start = p->pos;
	struct col__word w;
	int r;

	r = lex_word(p, &w, COL__WORD_ARG);
	if (r < 0)
		return r;
	if (b->argv.n == 0 && w.plain && is_keyword(p->text + start, p->pos - start)) {
		char what[64];

		snprintf(what, sizeof(what), "'%.*s' (a shell keyword)", (int)(p->pos - start),
			 p->text + start);
		r = col__parser_reject(p, start, what);
	} else if (w.glob_at != SIZE_MAX) {
		r = reject_glob(p, w.glob_at);
	}
	for (size_t i = 0; r == 0 && i < w.fields.n; i++) {
		r = col__strv_push(&b->argv, w.fields.v[i]);
		w.fields.v[i] = NULL;
		if (r < 0)
			r = col__parser_nomem(p);
	}
	col__word_release(&w);
	return r;
}

/* At < or >: the operator; returns its length and sets the kind and default fd. */
static int lex_redir_op(struct col__parser *p, enum col_cmdline_redir_kind *kind, int *dfd)
{
	const char *s = p->text + p->pos;
	int len = 2;

	*dfd = s[0] == '<' ? 0 : 1;
	if (s[1] == '(')
		return col__parser_reject(p, p->pos,
					  s[0] == '<' ? "'<(' (process substitution)"
						      : "'>(' (process substitution)");
	if (s[0] == '<' && s[1] == '<')
		return col__parser_reject(p, p->pos,
					  s[2] == '<' ? "'<<<' (a here-string)"
						      : "'<<' (a here-document)");
	if (s[0] == '<')
		*kind = s[1] == '>'   ? COL_CMDLINE_REDIR_READ_WRITE
			: s[1] == '&' ? COL_CMDLINE_REDIR_DUP_READ
				      : COL_CMDLINE_REDIR_READ;
	else
		*kind = s[1] == '>'   ? COL_CMDLINE_REDIR_APPEND
			: s[1] == '&' ? COL_CMDLINE_REDIR_DUP_WRITE
				      : COL_CMDLINE_REDIR_WRITE;
	if (*kind == COL_CMDLINE_REDIR_READ || (*kind == COL_CMDLINE_REDIR_WRITE && s[1] != '|'))
		len = 1;
	p->pos += (size_t)len;
	return len;
}

static bool is_dup(enum col_cmdline_redir_kind kind)
{
	return kind == COL_CMDLINE_REDIR_DUP_READ || kind == COL_CMDLINE_REDIR_DUP_WRITE;
}

/* The M of N>&M: 0, 1, 2 or an fd this command redirected before. */
static int dup_source(struct col__parser *p, const struct builder *b, const char *word,
		      const char *op, int oplen, size_t at, int *ret)
{
	size_t n = strspn(word, "0123456789");
	long m;

	if (strcmp(word, "-") == 0)
		return col__parser_fail(p, at,
					"'%.*s-' (closing an fd) is not supported; redirect it to "
					"/dev/null instead",
					oplen, op);
	if (n == 0 || word[n] != '\0')
		return col__parser_fail(p, at, "'%.*s' must be followed by an fd number, not '%s'",
					oplen, op, word);
	m = fd_number(word, n);
	if (m > COL_CMDLINE_FD_MAX)
		return col__parser_fail(p, at, "fd %s is too large (the most is %d)", word,
					COL_CMDLINE_FD_MAX);
	if (m > 2 && !b->extra[m])
		return col__parser_fail(p, at,
					"fd %ld is not open: '%.*s' can copy fd 0, 1, 2 or one "
					"redirected earlier in the same command",
					m, oplen, op);
	*ret = (int)m;
	return 0;
}

static int push_redir(struct col__parser *p, struct builder *b, const struct col_cmdline_redir *r)
{
	if (b->n_redirs == b->cap_redirs) {
		size_t cap = b->cap_redirs ? 2 * b->cap_redirs : 4;
		struct col_cmdline_redir *t = realloc(b->redirs, cap * sizeof(*t));

		if (!t)
			return col__parser_nomem(p);
		b->redirs = t;
		b->cap_redirs = cap;
	}
	b->redirs[b->n_redirs++] = *r;
	if (r->fd > 2)
		b->extra[r->fd] = true;
	return 0;
}

/* At the operator of a redirection whose fd (or -1 for the default) starts at at. */
static int parse_redir(struct col__parser *p, struct builder *b, int fd, size_t at)
{
	struct col_cmdline_redir rd = {.fd = fd, .dup_fd = -1, .offset = at};
	const char *op = p->text + p->pos;
	struct col__word w;
	int oplen, dfd, r;

	oplen = lex_redir_op(p, &rd.kind, &dfd);
	if (oplen < 0)
		return oplen;
	if (rd.fd < 0)
		rd.fd = dfd;
	skip_blanks(p);
	if (col__ends_word(p->text[p->pos]))
		return col__parser_fail(p, at, "'%.*s' must be followed by %s", oplen, op,
					is_dup(rd.kind) ? "an fd number" : "a file name");
	r = lex_word(p, &w, COL__WORD_TARGET);
	if (r < 0)
		return r;
	if (w.fields.n == 0 || !*w.fields.v[0])
		r = col__parser_fail(p, at, "the %s after '%.*s' is empty",
				     is_dup(rd.kind) ? "fd number" : "file name", oplen, op);
	else if (is_dup(rd.kind))
		r = dup_source(p, b, w.fields.v[0], op, oplen, at, &rd.dup_fd);
	else
		rd.path = w.fields.v[0];
	if (r == 0 && rd.path)
		w.fields.v[0] = NULL;
	col__word_release(&w);
	if (r == 0)
		r = push_redir(p, b, &rd);
	if (r < 0)
		free(rd.path);
	return r;
}

/* At a digit: an fd number when digits end at < or >; else returns 0 to lex a word. */
static int maybe_io_number(struct col__parser *p, struct builder *b)
{
	const char *s = p->text + p->pos;
	size_t n = strspn(s, "0123456789");
	long fd;

	if (s[n] != '<' && s[n] != '>')
		return 0;
	fd = fd_number(s, n);
	if (fd > COL_CMDLINE_FD_MAX)
		return col__parser_fail(p, p->pos, "fd %.*s is too large (the most is %d)", (int)n,
					s, COL_CMDLINE_FD_MAX);
	p->pos += n;
	return parse_redir(p, b, (int)fd, p->pos - n) < 0 ? p->error : 1;
}

static int reject_operator(struct col__parser *p)
{
	const char *s = p->text + p->pos;
	const char *what;

	if (s[0] == '&' && s[1] == '>')
		return col__parser_fail(p, p->pos, "'&>' is bash for '>file 2>&1'; write that");
	if (s[0] == '&')
		what = s[1] == '&' ? "'&&' (run the next command if this one succeeded)"
				   : "'&' (run in the background)";
	else if (s[0] == ';')
		what = "';' (a list of commands)";
	else if (s[0] == '(')
		what = "'(' (a subshell)";
	else
		what = "')' (the end of a subshell)";
	return col__parser_reject(p, p->pos, what);
}

/* One item of a command: a redirection, an assignment or an argument. */
static int parse_item(struct col__parser *p, struct builder *b)
{
	const char *s = p->text + p->pos;
	size_t n;
	int r;

	if (strchr(";&()", *s))
		return reject_operator(p);
	if (*s == '<' || *s == '>')
		return parse_redir(p, b, -1, p->pos);
	if (is_digit(*s)) {
		r = maybe_io_number(p, b);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	n = b->argv.n == 0 ? assignment_name(s) : 0;
	if (n > 0)
		return parse_assignment(p, b, n);
	return parse_argument(p, b);
}

/* Extra fds must be 3, 4, ..., k: find the first redirection past a gap. */
static int check_extra_fds(struct col__parser *p, const struct builder *b)
{
	int gap = 3;

	while (gap <= COL_CMDLINE_FD_MAX && b->extra[gap])
		gap++;
	for (size_t i = 0; i < b->n_redirs; i++)
		if (b->redirs[i].fd > gap)
			return col__parser_fail(
				p, b->redirs[i].offset,
				"fd %d is redirected but fd %d is not: collie can pass extra fds "
				"only as 3, 4, ... in order",
				b->redirs[i].fd, gap);
	return 0;
}

static void builder_release(struct builder *b)
{
	col__strv_free(&b->argv);
	col__strv_free(&b->assigns);
	for (size_t i = 0; i < b->n_redirs; i++)
		free(b->redirs[i].path);
	free(b->redirs);
}

/* Move b's parts into c; b is left empty. */
static int builder_take(struct col__parser *p, struct builder *b, struct col_cmdline_cmd *c)
{
	if (!b->assigns.v) {
		b->assigns.v = calloc(1, sizeof(char *)); /* an empty NULL-terminated array */
		if (!b->assigns.v)
			return col__parser_nomem(p);
	}
	*c = (struct col_cmdline_cmd){
		.argv = b->argv.v,
		.argc = b->argv.n,
		.assigns = b->assigns.v,
		.n_assigns = b->assigns.n,
		.redirs = b->redirs,
		.n_redirs = b->n_redirs,
		.offset = b->offset,
	};
	*b = (struct builder){0};
	return 0;
}

/* One command, up to '|' or the end, into c. */
static int parse_command(struct col__parser *p, struct col_cmdline_cmd *c)
{
	struct builder *b = calloc(1, sizeof(*b));
	int r = 0;

	if (!b)
		return col__parser_nomem(p);
	b->offset = p->pos;
	for (;;) {
		skip_blanks(p);
		if (p->text[p->pos] == '\0' || p->text[p->pos] == '|')
			break;
		r = parse_item(p, b);
		if (r < 0)
			goto out;
	}
	if (b->argv.n == 0)
		r = col__parser_fail(p, b->offset,
				     "missing program: a command needs more than assignments "
				     "and redirections");
	if (r == 0)
		r = check_extra_fds(p, b);
	if (r == 0)
		r = builder_take(p, b, c);
out:
	builder_release(b);
	free(b);
	return r;
}

static int add_command(struct col__parser *p, struct col_cmdline *cl, size_t *cap)
{
	if (cl->n_cmds == *cap) {
		size_t n = *cap ? 2 * *cap : 4;
		struct col_cmdline_cmd *t = realloc(cl->cmds, n * sizeof(*t));

		if (!t)
			return col__parser_nomem(p);
		cl->cmds = t;
		*cap = n;
	}
	if (parse_command(p, &cl->cmds[cl->n_cmds]) < 0)
		return p->error;
	cl->n_cmds++;
	return 0;
}

static int parse_pipeline(struct col__parser *p, struct col_cmdline *cl)
{
	size_t cap = 0, bar;

	for (;;) {
		skip_blanks(p);
		if (p->text[p->pos] == '\0')
			return col__parser_fail(p, p->pos, "empty command");
		if (p->text[p->pos] == '|')
			return col__parser_fail(p, p->pos, "missing command before '|'");
		if (add_command(p, cl, &cap) < 0)
			return p->error;
		bar = p->pos;
		if (p->text[bar] == '\0')
			return 0;
		if (p->text[bar + 1] == '|')
			return col__parser_reject(p, bar,
						  "'||' (run the next command if this one failed)");
		if (p->text[bar + 1] == '&')
			return col__parser_fail(p, bar, "'|&' is bash for '2>&1 |'; write that");
		p->pos++;
		skip_blanks(p);
		if (p->text[p->pos] == '\0')
			return col__parser_fail(p, bar, "missing command after '|'");
	}
}

/* Turn the parser's error into the caller's: line, column in characters, message. */
static void fill_error(const struct col__parser *p, struct col_cmdline_error *e)
{
	unsigned line = 1, column = 1;

	for (size_t i = 0; i < p->err_at && p->text[i]; i++) {
		if (p->text[i] == '\n') {
			line++;
			column = 1;
		} else if (((unsigned char)p->text[i] & 0xc0) != 0x80) {
			column++; /* not a UTF-8 continuation byte */
		}
	}
	e->line = line;
	e->column = column;
	e->offset = p->err_at;
	if (line == 1)
		snprintf(e->message, sizeof(e->message), "column %u: %s", column, p->err_msg);
	else
		snprintf(e->message, sizeof(e->message), "line %u, column %u: %s", line, column,
			 p->err_msg);
}

static void free_strings(char **v)
{
	for (char **s = v; s && *s; s++)
		free(*s);
	free(v);
}

static void cmd_release(struct col_cmdline_cmd *c)
{
	free_strings(c->argv);
	free_strings(c->assigns);
	for (size_t i = 0; i < c->n_redirs; i++)
		free(c->redirs[i].path);
	free(c->redirs);
}

void col_cmdline_free(struct col_cmdline *cl)
{
	if (!cl)
		return;
	for (size_t i = 0; i < cl->n_cmds; i++)
		cmd_release(&cl->cmds[i]);
	free(cl->cmds);
	free(cl);
}

int col_cmdline_parse(const char *text, char *const *env, unsigned flags, struct col_cmdline **ret,
		      struct col_cmdline_error *ret_err)
{
	struct col__parser p = {.text = text, .env = env ? env : environ, .flags = flags};
	struct col_cmdline *cl;

	if (!text || !ret || (flags & ~(unsigned)COL_CMDLINE_STRICT_VARS)) {
		if (ret_err) {
			*ret_err = (struct col_cmdline_error){0};
			snprintf(ret_err->message, sizeof(ret_err->message), "invalid arguments");
		}
		return -EINVAL;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		col__parser_nomem(&p);
	else
		parse_pipeline(&p, cl);
	col__strv_free(&p.assigned);
	if (p.error) {
		if (ret_err)
			fill_error(&p, ret_err);
		col_cmdline_free(cl);
		return p.error;
	}
	*ret = cl;
	return 0;
}

/* Where col_cmdline_format() writes: buf gets what fits, want counts it all. */
struct out {
	char *buf;
	size_t len;
	size_t want;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->want + 1 < o->len) {
		size_t room = o->len - 1 - o->want;

		memcpy(o->buf + o->want, s, n < room ? n : room);
	}
	o->want += n;
}

/*
 * A word as the parser reads it back: bare when it is made only of
 * characters that mean nothing special anywhere, else in '...' with each '
 * written '\''. A program name that looks like an assignment or a
 * keyword is quoted too.
 */
static void out_word(struct out *o, const char *w, bool program)
{
	static const char safe[] = NAME_CHARS "@%+=:,./-";
	size_t n = strlen(w);
	bool quote = n == 0 || strspn(w, safe) != n;

	if (program && (is_keyword(w, n) || assignment_name(w) > 0))
		quote = true;
	if (!quote) {
		out_put(o, w, n);
		return;
	}
	out_put(o, "'", 1);
	while (*w) {
		size_t k = strcspn(w, "'");

		out_put(o, w, k);
		w += k;
		if (*w == '\'') {
			out_put(o, "'\\''", 4);
			w++;
		}
	}
	out_put(o, "'", 1);
}

static void out_cmd(struct out *o, const struct col_cmdline_cmd *c)
{
	static const char *const ops[] = {
		[COL_CMDLINE_REDIR_READ] = "<",	     [COL_CMDLINE_REDIR_WRITE] = ">",
		[COL_CMDLINE_REDIR_APPEND] = ">>",   [COL_CMDLINE_REDIR_READ_WRITE] = "<>",
		[COL_CMDLINE_REDIR_DUP_READ] = "<&", [COL_CMDLINE_REDIR_DUP_WRITE] = ">&",
	};
	char num[32];

	for (size_t i = 0; i < c->n_assigns; i++) {
		size_t eq = strcspn(c->assigns[i], "=");

		out_put(o, c->assigns[i], eq + 1);
		out_word(o, c->assigns[i] + eq + 1, false);
		out_put(o, " ", 1);
	}
	for (size_t i = 0; i < c->argc; i++) {
		out_put(o, " ", i > 0);
		out_word(o, c->argv[i], i == 0);
	}
	for (size_t i = 0; i < c->n_redirs; i++) {
		const struct col_cmdline_redir *r = &c->redirs[i];

		snprintf(num, sizeof(num), " %d%s", r->fd, ops[r->kind]);
		out_put(o, num, strlen(num));
		if (r->path) {
			out_word(o, r->path, false);
		} else {
			snprintf(num, sizeof(num), "%d", r->dup_fd);
			out_put(o, num, strlen(num));
		}
	}
}

int col_cmdline_format(const struct col_cmdline *cl, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};

	if (!cl || (!buf && len > 0))
		return -EINVAL;
	for (size_t i = 0; i < cl->n_cmds; i++) {
		out_put(&o, " | ", i > 0 ? 3 : 0);
		out_cmd(&o, &cl->cmds[i]);
	}
	if (len > 0)
		buf[o.want < len ? o.want : len - 1] = '\0';
	return o.want > INT_MAX ? -EOVERFLOW : (int)o.want;
}
