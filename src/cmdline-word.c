/*
 * cmdline-word.c - lexing one word of the command language: quoting, $
 * expansion and field splitting, in one pass.
 *
 * sh tokenises a word, then expands it, splits the result into fields
 * and removes quotes, as separate steps. Here they collapse into one,
 * because the result of an expansion is never parsed again: all that the
 * later steps need to know about a piece of text is whether it came from
 * an unquoted expansion (then its blanks split fields), and that is known
 * at the moment the piece is appended (put_split() versus put()).
 *
 * ${NAME:-word} and its kin lex their word in the same pass: straight
 * into the word being built when it is the result, into a scratch word
 * that is thrown away when it is not (it must still be lexed, to find the
 * closing brace and to report errors inside it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline-internal.h"
#include "banned.h"

static int lex_unquoted(struct col__parser *p, struct col__word *w, bool brace);
static int lex_dquoted(struct col__parser *p, struct col__word *w, bool brace);

int col__strbuf_put(struct col__strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		char *t;

		while (cap < b->len + n + 1)
			cap *= 2;
		t = realloc(b->s, cap);
		if (!t)
			return -ENOMEM;
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/* Append s (taking it, also on failure) and keep the array NULL-terminated. */
int col__strv_push(struct col__strv *v, char *s)
{
	if (v->n + 2 > v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		char **t = realloc(v->v, cap * sizeof(*t));

		if (!t) {
			free(s);
			return -ENOMEM;
		}
		v->v = t;
		v->cap = cap;
	}
	v->v[v->n++] = s;
	v->v[v->n] = NULL;
	return 0;
}

void col__strv_free(struct col__strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	*v = (struct col__strv){0};
}

bool col__is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool col__ends_word(char c)
{
	return c == '\0' || col__is_blank(c) || strchr("|<>;&()", c);
}

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static size_t name_len(const char *s)
{
	size_t n = 0;

	if (!is_name_start(s[0]))
		return 0;
	while (is_name_start(s[n]) || (s[n] >= '0' && s[n] <= '9'))
		n++;
	return n;
}

/* The parameters sh sets itself: $0..$9 $@ $* $# $? $$ $! $-. */
static bool is_special(char c)
{
	return (c >= '0' && c <= '9') || (c && strchr("@*#?$!-", c));
}

void col__word_init(struct col__word *w, enum col__word_kind kind)
{
	*w = (struct col__word){.kind = kind, .plain = true, .glob_at = SIZE_MAX};
}

void col__word_release(struct col__word *w)
{
	free(w->cur.s);
	col__strv_free(&w->fields);
	col__word_init(w, w->kind);
}

/* Append text that is not split: the current field exists from now on. */
static int put(struct col__parser *p, struct col__word *w, const char *s, size_t n)
{
	w->have = true;
	if (col__strbuf_put(&w->cur, s, n) < 0)
		return col__parser_nomem(p);
	return 0;
}

/* End the current field, when there is one. */
static int break_field(struct col__parser *p, struct col__word *w)
{
	char *s;

	if (!w->have)
		return 0;
	s = w->cur.s ? w->cur.s : strdup("");
	w->cur = (struct col__strbuf){0};
	w->have = false;
	if (!s || col__strv_push(&w->fields, s) < 0)
		return col__parser_nomem(p);
	return 0;
}

int col__word_finish(struct col__parser *p, struct col__word *w)
{
	return break_field(p, w);
}

/*
 * Append text that came from an unquoted expansion. In an argument its
 * blanks end fields and are dropped, so "a$X" with X=" b c " gives a, b,
 * c, and an expansion to nothing leaves no field behind.
 */
static int put_split(struct col__parser *p, struct col__word *w, const char *s, size_t n)
{
	size_t i = 0;

	if (w->kind != COL__WORD_ARG)
		return n ? put(p, w, s, n) : 0;
	while (i < n) {
		size_t j = i;
		int r;

		if (col__is_blank(s[i])) {
			r = break_field(p, w);
			i++;
		} else {
			while (j < n && !col__is_blank(s[j]))
				j++;
			r = put(p, w, s + i, j - i);
			i = j;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *lookup(const struct col__parser *p, const char *name, size_t n)
{
	for (size_t i = 0; i < p->assigned.n; i++)
		if (strncmp(p->assigned.v[i], name, n) == 0 && p->assigned.v[i][n] == '=')
			return p->assigned.v[i] + n + 1;
	for (char *const *e = p->env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* Append a variable's value (NULL: unset), quoted or to be split. */
static int put_value(struct col__parser *p, struct col__word *w, size_t at, const char *name,
		     size_t n, const char *value, bool quoted)
{
	if (!value && (p->flags & COL_CMDLINE_STRICT_VARS))
		return col__parser_fail(p, at, "$%.*s is not set", (int)n, name);
	if (!value || !*value)
		return 0;
	return quoted ? put(p, w, value, strlen(value)) : put_split(p, w, value, strlen(value));
}

static int reject_special(struct col__parser *p, size_t at, bool brace, char c)
{
	char what[96];

	snprintf(what, sizeof(what), "'%s%c%s' (a parameter only a shell has)", brace ? "${" : "$",
		 c, brace ? "}" : "");
	return col__parser_reject(p, at, what);
}

/*
 * The word of ${NAME<op>word}, up to the closing brace, into w -- or,
 * with w NULL, into a scratch word that is dropped. Inside "..." the
 * word follows the rules of "...", else those of an unquoted word.
 */
static int lex_brace_word(struct col__parser *p, struct col__word *w, bool quoted, size_t at)
{
	struct col__word scratch;
	struct col__word *into = w;
	int r;

	if (!w) {
		col__word_init(&scratch, COL__WORD_TARGET);
		into = &scratch;
	}
	r = quoted ? lex_dquoted(p, into, true) : lex_unquoted(p, into, true);
	if (r == 0 && p->text[p->pos] != '}')
		r = col__parser_fail(p, at, "unterminated '${'");
	if (r == 0)
		p->pos++;
	if (!w)
		col__word_release(&scratch);
	return r;
}

/* ${NAME=word} and ${NAME?word} need word's value as one string. */
static int brace_word_value(struct col__parser *p, bool quoted, size_t at, char **ret)
{
	struct col__word s;
	int r;

	col__word_init(&s, COL__WORD_TARGET);
	r = lex_brace_word(p, &s, quoted, at);
	if (r == 0)
		r = col__word_finish(p, &s);
	if (r == 0) {
		/* A word that is not an argument is never split: one field at most. */
		*ret = s.fields.n ? s.fields.v[0] : strdup("");
		if (s.fields.n) {
			s.fields.v[0] = NULL;
			s.fields.n = 0;
		}
		if (!*ret)
			r = col__parser_nomem(p);
	}
	col__word_release(&s);
	return r;
}

static int assign(struct col__parser *p, const char *name, size_t n, const char *value,
		  const char **ret)
{
	size_t len = n + 1 + strlen(value) + 1;
	char *s = malloc(len);

	if (!s)
		return col__parser_nomem(p);
	snprintf(s, len, "%.*s=%s", (int)n, name, value);
	if (col__strv_push(&p->assigned, s) < 0)
		return col__parser_nomem(p);
	*ret = s + n + 1;
	return 0;
}

/* After ${NAME[:]op: the word, and the result of the operator. */
static int brace_op(struct col__parser *p, struct col__word *w, bool quoted, size_t at,
		    const char *name, size_t n, bool colon, char op)
{
	const char *value = lookup(p, name, n);
	bool unset = !value || (colon && !*value);
	char *word = NULL;
	int r;

	switch (op) {
	case '-':
	case '+':
		if (unset == (op == '-'))
			return lex_brace_word(p, w, quoted, at);
		r = lex_brace_word(p, NULL, quoted, at);
		if (r < 0 || op == '+')
			return r;
		return put_value(p, w, at, name, n, value, quoted);
	case '=':
	case '?':
		if (!unset) {
			r = lex_brace_word(p, NULL, quoted, at);
			return r < 0 ? r : put_value(p, w, at, name, n, value, quoted);
		}
		r = brace_word_value(p, quoted, at, &word);
		if (r == 0 && op == '?')
			r = col__parser_fail(p, at, "%.*s: %s", (int)n, name,
					     *word ? word : (value ? "is empty" : "is not set"));
		if (r == 0)
			r = assign(p, name, n, word, &value);
		free(word);
		return r < 0 ? r : put_value(p, w, at, name, n, value, quoted);
	}
	return col__parser_fail(p, at, "unterminated '${'");
}

/* At "${": one of the forms in cmdline.h, or an error naming what is not supported. */
static int lex_brace(struct col__parser *p, struct col__word *w, bool quoted)
{
	const char *t = p->text;
	size_t at = p->pos, i = at + 2;
	size_t n = name_len(t + i);
	bool colon = false;

	if (n == 0) {
		if (t[i] == '#' && t[i + 1] != '}')
			return col__parser_fail(p, at, "'${#...}' (a length) is not supported");
		if (is_special(t[i]))
			return reject_special(p, at, true, t[i]);
		if (t[i] == '\0')
			return col__parser_fail(p, at, "unterminated '${'");
		return col__parser_fail(p, at, "'${' must be followed by a variable name");
	}
	i += n;
	if (t[i] == '}') {
		p->pos = i + 1;
		return put_value(p, w, at, t + at + 2, n, lookup(p, t + at + 2, n), quoted);
	}
	if (t[i] == ':') {
		colon = true;
		i++;
	}
	if (t[i] == '\0')
		return col__parser_fail(p, at, "unterminated '${'");
	if (!strchr("-=+?", t[i]))
		return col__parser_fail(p, at,
					"'${%.*s' is not supported: ${} takes NAME, NAME-word, "
					"NAME:-word, NAME=word, NAME:=word, NAME+word, NAME:+word, "
					"NAME?word or NAME:?word",
					(int)(i + 1 - at - 2), t + at + 2);
	p->pos = i + 1;
	return brace_op(p, w, quoted, at, t + at + 2, n, colon, t[i]);
}

/* At "$": an expansion, shell syntax to reject, or a literal $. */
static int lex_dollar(struct col__parser *p, struct col__word *w, bool quoted)
{
	const char *t = p->text;
	size_t at = p->pos;
	char c = t[at + 1];
	size_t n;
	int r;

	if (c == '{' && p->depth >= COL__CMDLINE_MAX_NESTING)
		return col__parser_fail(p, at, "'${' nested more than %d deep",
					COL__CMDLINE_MAX_NESTING);
	if (c == '{') {
		p->depth++;
		r = lex_brace(p, w, quoted);
		p->depth--;
		return r;
	}
	if (c == '(')
		return col__parser_reject(p, at,
					  t[at + 2] == '(' ? "'$((' (arithmetic expansion)"
							   : "'$(' (command substitution)");
	n = name_len(t + at + 1);
	if (n) {
		p->pos = at + 1 + n;
		return put_value(p, w, at, t + at + 1, n, lookup(p, t + at + 1, n), quoted);
	}
	if (is_special(c))
		return reject_special(p, at, false, c);
	if (!quoted && (c == '\'' || c == '"'))
		return col__parser_fail(p, at,
					"$%c...%c quoting is not supported; write the characters "
					"inside '...' instead",
					c, c);
	p->pos++;
	return put(p, w, "$", 1);
}

/* At a backslash outside quotes: the next character is literal. */
static int lex_backslash(struct col__parser *p, struct col__word *w)
{
	const char *t = p->text + p->pos;

	if (t[1] == '\n' || (t[1] == '\r' && t[2] == '\n')) {
		p->pos += t[1] == '\n' ? 2 : 3; /* a line continuation: both go */
		return 0;
	}
	if (t[1] == '\0')
		return col__parser_fail(p, p->pos, "a backslash at the end escapes nothing");
	p->pos += 2;
	w->plain = false;
	return put(p, w, t + 1, 1);
}

/* At a backslash inside "...": it escapes only $ ` " \ newline (and } in ${}). */
static int lex_dq_backslash(struct col__parser *p, struct col__word *w, bool brace)
{
	const char *t = p->text + p->pos;

	if (t[1] == '\n') {
		p->pos += 2;
		return 0;
	}
	if (t[1] && (strchr("$`\"\\", t[1]) || (brace && t[1] == '}'))) {
		p->pos += 2;
		return put(p, w, t + 1, 1);
	}
	p->pos++;
	return put(p, w, "\\", 1);
}

static int lex_squoted(struct col__parser *p, struct col__word *w)
{
	const char *open = p->text + p->pos;
	const char *close = strchr(open + 1, '\'');

	if (!close)
		return col__parser_fail(p, p->pos, "unterminated single quote");
	p->pos += (size_t)(close - open) + 1;
	return put(p, w, open + 1, (size_t)(close - open) - 1);
}

/*
 * After an opening ", up to and past the closing one; or, with brace, the
 * word of a ${...} inside "...", up to its closing brace, where a " opens
 * a nested quoted string (as bash reads "${X:-"a b"}").
 */
static int lex_dquoted(struct col__parser *p, struct col__word *w, bool brace)
{
	size_t open = p->pos - 1;
	int r;

	if (!brace)
		w->have = true; /* "" is an argument */
	for (;;) {
		char c = p->text[p->pos];

		if (c == '\0')
			return brace ? 0 : col__parser_fail(p, open, "unterminated double quote");
		if (brace && c == '}')
			return 0;
		if (c == '"') {
			p->pos++;
			if (!brace)
				return 0;
			r = lex_dquoted(p, w, false);
		} else if (c == '\\') {
			r = lex_dq_backslash(p, w, brace);
		} else if (c == '$') {
			r = lex_dollar(p, w, true);
		} else if (c == '`') {
			return col__parser_reject(p, p->pos, "'`' (command substitution)");
		} else {
			r = put(p, w, &c, 1);
			p->pos++;
		}
		if (r < 0)
			return r;
	}
}

/* An unquoted ordinary character: patterns are noted, blanks in ${} split. */
static int lex_char(struct col__parser *p, struct col__word *w, bool brace)
{
	char c = p->text[p->pos];

	if (strchr("*?[", c) && w->kind == COL__WORD_ARG && w->glob_at == SIZE_MAX)
		w->glob_at = p->pos;
	p->pos++;
	return brace ? put_split(p, w, &c, 1) : put(p, w, &c, 1);
}

/*
 * Unquoted text up to the end of the word, or with brace up to the
 * closing brace of a ${...} word (where blanks and operators are part of
 * the word, and its result is split like an expansion's).
 */
static int lex_unquoted(struct col__parser *p, struct col__word *w, bool brace)
{
	size_t first = p->pos;
	bool tilde = true; /* where sh would expand a ~ */

	for (;;) {
		size_t at = p->pos;
		char c = p->text[at];
		int r;

		if (brace ? (c == '}' || c == '\0') : col__ends_word(c))
			return 0;
		if (c == '~' && tilde)
			return col__parser_fail(
				p, at,
				"'~' is not expanded: collie runs commands without a "
				"shell; write $HOME, or quote it ('~') to pass it "
				"literally");
		if (c == '#' && at == first && !brace && w->kind != COL__WORD_ASSIGN)
			return col__parser_fail(
				p, at,
				"'#' would start a comment in sh; quote it ('#') to "
				"pass it literally");
		tilde = w->kind == COL__WORD_ASSIGN && c == ':';
		if (c == '\'') {
			r = lex_squoted(p, w);
		} else if (c == '"') {
			p->pos++;
			r = lex_dquoted(p, w, false);
		} else if (c == '\\') {
			r = lex_backslash(p, w);
		} else if (c == '$') {
			r = lex_dollar(p, w, false);
		} else if (c == '`') {
			return col__parser_reject(p, at, "'`' (command substitution)");
		} else {
			r = lex_char(p, w, brace);
			if (r < 0)
				return r;
			continue;
		}
		w->plain = false;
		if (r < 0)
			return r;
	}
}

int col__word_lex(struct col__parser *p, struct col__word *w)
{
	return lex_unquoted(p, w, false);
}
