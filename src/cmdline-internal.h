/*
 * cmdline-internal.h - what the parser's two files share: the parser
 * state, growing strings and string arrays, and the word lexer
 * (cmdline-word.c) that cmdline.c calls for every word.
 */
#ifndef COLLIE_CMDLINE_INTERNAL_H
#define COLLIE_CMDLINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "collie/cmdline.h"

/* Appended to every rejection of shell syntax: what to do instead. */
#define COL__CMDLINE_HINT                                                                          \
	"collie runs commands without a shell; to use shell syntax, set shell=true (or write: sh " \
	"-c '...')"

/* How deep ${...} may nest in the word of another: the lexer recurses per
 * level, and a text from a file must not be able to exhaust the stack. */
#define COL__CMDLINE_MAX_NESTING 32

/* A growing NUL-terminated string. */
struct col__strbuf {
	char *s;    /* the text, NUL-terminated once anything was added; NULL before */
	size_t len; /* its length */
	size_t cap; /* bytes allocated */
};

/* A growing NULL-terminated array of owned strings. */
struct col__strv {
	char **v; /* the strings, NULL-terminated once anything was added */
	size_t n; /* number of strings */
	size_t cap;
};

/* The state of one col_cmdline_parse() call. */
struct col__parser {
	const char *text;	   /* the text being parsed (borrowed) */
	size_t pos;		   /* byte offset of the next character to read */
	char *const *env;	   /* where $NAME is looked up (borrowed) */
	unsigned flags;		   /* enum col_cmdline_flags */
	unsigned depth;		   /* ${...} being lexed, one inside the other */
	struct col__strv assigned; /* "NAME=value" set by ${NAME:=word}, looked up first */
	int error;		   /* the first error: -EINVAL or -ENOMEM; 0 while none */
	size_t err_at;		   /* its byte offset */
	char err_msg[200];	   /* its description, without the position */
};

/* What a word is for: it decides splitting and which characters are rejected. */
enum col__word_kind {
	COL__WORD_ARG,	  /* an argument: unquoted expansions are split, patterns rejected */
	COL__WORD_ASSIGN, /* the value of NAME=value: not split; ~ after : is checked */
	COL__WORD_TARGET, /* a redirection's file or fd: not split */
};

/* A word being lexed: the fields it expands to. */
struct col__word {
	enum col__word_kind kind; /* see enum col__word_kind */
	struct col__strbuf cur;	  /* the field being built */
	bool have;		  /* cur is a field even when empty (a quote or a character seen) */
	struct col__strv fields;  /* the finished fields */
	bool plain;		  /* only unquoted literal characters: may be a keyword or an fd */
	size_t glob_at;		  /* offset of the first unquoted * ? [, or SIZE_MAX */
};

int col__strbuf_put(struct col__strbuf *b, const char *s, size_t n);
int col__strv_push(struct col__strv *v, char *s);
void col__strv_free(struct col__strv *v);

/* Record an error at byte offset at (the first one wins); returns p->error. */
int col__parser_fail(struct col__parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reject shell syntax described by what ("'&&' (...)"), adding the hint. */
int col__parser_reject(struct col__parser *p, size_t at, const char *what);
/* Record -ENOMEM; returns -ENOMEM. */
int col__parser_nomem(struct col__parser *p);

/* Whether c separates words (space, tab, CR, newline). */
bool col__is_blank(char c);
/* Whether c ends an unquoted word: a blank, NUL, or | < > ; & ( ). */
bool col__ends_word(char c);

/*
 * Lex the word at p->pos into w (initialised by col__word_init with its
 * kind), expanding it; stops at the first character that ends a word.
 * Returns 0 or p->error.
 */
void col__word_init(struct col__word *w, enum col__word_kind kind);
int col__word_lex(struct col__parser *p, struct col__word *w);
/* Finish w: the last field is moved to w->fields when there is one. */
int col__word_finish(struct col__parser *p, struct col__word *w);
void col__word_release(struct col__word *w);

#endif
