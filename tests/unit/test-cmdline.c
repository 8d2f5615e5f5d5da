/*
 * test-cmdline.c - the command language's parser: words, quoting,
 * expansion, assignments, redirections, pipelines, every error with its
 * message and column, writing a pipeline back, and every command= line
 * of the supervisord compatibility corpus. Running pipelines is tested in
 * test-cmdline-run.c.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collie/cmdline.h"
#include "check.h"
#include "banned.h"

TestSuite(cmdline, .timeout = 30);

#define HINT                                                                                       \
	"collie runs commands without a shell; to use shell syntax, set shell=true (or write: sh " \
	"-c '...')"

static char *env[] = {
	"HOME=/home/u", "SPACED= a  b ", "EMPTY=",	"WORD=word",
	"QUOTE=it's",	"GLOB=*",	 "OPS=a|b>c;d", NULL,
};

static struct col_cmdline *parse_ok(const char *text)
{
	struct col_cmdline *cl = NULL;
	struct col_cmdline_error err;
	int r = col_cmdline_parse(text, env, 0, &cl, &err);

	cr_assert_eq(r, 0, "'%s' did not parse: %s", text, err.message);
	cr_assert_not_null(cl);
	cr_assert_geq(cl->n_cmds, 1);
	return cl;
}

static void assert_strv(char **got, size_t n, const char *const *want, const char *text)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		cr_assert_lt(i, n, "'%s': %zu words, wanted more ('%s')", text, n, want[i]);
		cr_assert_str_eq(got[i], want[i], "'%s': word %zu", text, i);
	}
	cr_assert_eq(i, n, "'%s': %zu words, wanted %zu (extra '%s')", text, n, i, got[i]);
	cr_assert_null(got[n]);
}

/* text is one command with no redirection and exactly this argv. */
static void expect_argv(const char *text, const char *const *want)
{
	struct col_cmdline *cl = parse_ok(text);

	cr_assert_eq(cl->n_cmds, 1, "'%s'", text);
	cr_assert_eq(cl->cmds[0].n_redirs, 0, "'%s'", text);
	assert_strv(cl->cmds[0].argv, cl->cmds[0].argc, want, text);
	col_cmdline_free(cl);
}

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

TEST_NOLEAK(cmdline, plain_words_split_as_shlex_does)
{
	expect_argv("/usr/bin/php -d memory_limit=-1 artisan queue:work --sleep=3",
		    ARGV("/usr/bin/php", "-d", "memory_limit=-1", "artisan", "queue:work",
			 "--sleep=3"));
	expect_argv("bash -c \"exec foo >> /var/log/x 2>&1\"",
		    ARGV("bash", "-c", "exec foo >> /var/log/x 2>&1"));
	expect_argv("  a\tb  ", ARGV("a", "b"));
	expect_argv("a\nb\r\nc", ARGV("a", "b", "c")); /* INI continuation lines */
	expect_argv("gunicorn -b127.0.0.1:8000 x{{ Y }}",
		    ARGV("gunicorn", "-b127.0.0.1:8000", "x{{", "Y", "}}"));
	expect_argv("a=b c", ARGV("c")); /* ...but this is an assignment, see below */
}

TEST_NOLEAK(cmdline, quoting)
{
	expect_argv("echo 'a  b' \"c  d\" e\\ f", ARGV("echo", "a  b", "c  d", "e f"));
	expect_argv("echo 'it'\\''s' \"it's\" 'say \"hi\"'",
		    ARGV("echo", "it's", "it's", "say \"hi\""));
	expect_argv("echo '' \"\" a''b", ARGV("echo", "", "", "ab"));
	expect_argv("Xvfb \"1024\"x\"768\"x24", ARGV("Xvfb", "1024x768x24"));
	expect_argv("echo 'a\\nb' \"\\$ \\` \\\" \\\\ \\q \\n\"",
		    ARGV("echo", "a\\nb", "$ ` \" \\ \\q \\n"));
	expect_argv("echo \\$HOME \\' \\\" \\\\ \\| \\; \\* \\~ \\#",
		    ARGV("echo", "$HOME", "'", "\"", "\\", "|", ";", "*", "~", "#"));
	/* Quoted, everything is a plain character. */
	expect_argv("echo '*?[' \"~#;&|<>()\" '$HOME'", ARGV("echo", "*?[", "~#;&|<>()", "$HOME"));
	expect_argv("nginx -g \"daemon off; error_log /dev/stderr info;\"",
		    ARGV("nginx", "-g", "daemon off; error_log /dev/stderr info;"));
}

TEST_NOLEAK(cmdline, backslash_newline_continues_the_line)
{
	expect_argv("echo a\\\nb \\\n c", ARGV("echo", "ab", "c"));
	expect_argv("echo a\\\r\nb", ARGV("echo", "ab"));
	expect_argv("echo \"a\\\nb\"", ARGV("echo", "ab"));
	expect_argv("echo 'a\\\nb'", ARGV("echo", "a\\\nb"));
}

TEST_NOLEAK(cmdline, expansion_of_variables)
{
	expect_argv("echo $HOME ${HOME} ${HOME}_x $HOME/x",
		    ARGV("echo", "/home/u", "/home/u", "/home/u_x", "/home/u/x"));
	expect_argv("echo $HOME_x", ARGV("echo")); /* the name is HOME_x, which is unset */
	expect_argv("echo $UNSET ${UNSET} x", ARGV("echo", "x"));
	expect_argv("echo \"$UNSET\" \"${HOME}\"", ARGV("echo", "", "/home/u"));
	/* A $ that starts no expansion is a plain $. */
	expect_argv("echo a$ $/x $% \"$\" $:", ARGV("echo", "a$", "$/x", "$%", "$", "$:"));
	/* A value is never parsed again. */
	expect_argv("echo $OPS $GLOB $QUOTE", ARGV("echo", "a|b>c;d", "*", "it's"));
}

TEST_NOLEAK(cmdline, unquoted_expansions_are_split_into_fields)
{
	expect_argv("echo $SPACED", ARGV("echo", "a", "b"));
	expect_argv("echo \"$SPACED\"", ARGV("echo", " a  b "));
	expect_argv("echo x$SPACED\"y\"", ARGV("echo", "x", "a", "b", "y"));
	expect_argv("echo $EMPTY", ARGV("echo"));
	expect_argv("echo \"$EMPTY\" $EMPTY\"\" $EMPTY''", ARGV("echo", "", "", ""));
	expect_argv("echo ${UNSET:-a  b}", ARGV("echo", "a", "b"));
	expect_argv("echo \"${UNSET:-a  b}\" ${UNSET:-\"a  b\"}", ARGV("echo", "a  b", "a  b"));
	expect_argv("echo ${UNSET:-a|b;c&d>e}", ARGV("echo", "a|b;c&d>e"));
}

TEST_NOLEAK(cmdline, parameter_operators)
{
	expect_argv("echo ${EMPTY:-d} ${EMPTY-d} \"${EMPTY-d}\" ${UNSET-d} ${WORD:-d}",
		    ARGV("echo", "d", "", "d", "word"));
	expect_argv("echo ${WORD:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${UNSET+alt} ${UNSET:+alt}",
		    ARGV("echo", "alt", "alt"));
	expect_argv("echo ${UNSET:=v} $UNSET ${UNSET}", ARGV("echo", "v", "v", "v"));
	expect_argv("echo ${EMPTY=v}x $EMPTY", ARGV("echo", "x"));
	expect_argv("echo ${EMPTY:=v} $EMPTY", ARGV("echo", "v", "v"));
	expect_argv("echo ${UNSET:=\"a b\"} $UNSET \"$UNSET\"",
		    ARGV("echo", "a", "b", "a", "b", "a b"));
	expect_argv("echo ${WORD?x} ${WORD:?x} ${EMPTY?x}", ARGV("echo", "word", "word"));
	expect_argv("echo ${UNSET:-$HOME} ${UNSET:-${WORD:+$SPACED}}",
		    ARGV("echo", "/home/u", "a", "b"));
	expect_argv("echo ${UNSET:-\\}} \"${UNSET:-\\}}\" ${UNSET:-'}'}",
		    ARGV("echo", "}", "}", "}"));
	/* The branch not taken is not expanded, so nothing in it is an error. */
	expect_argv("echo ${WORD:-*} ${WORD:-$UNSET}", ARGV("echo", "word", "word"));
}

TEST_NOLEAK(cmdline, strict_vars_reject_unset_names_only)
{
	struct col_cmdline *cl = NULL;
	struct col_cmdline_error err;

	cr_assert_eq(col_cmdline_parse("echo $EMPTY ${UNSET-x} ${UNSET:+y}", env,
				       COL_CMDLINE_STRICT_VARS, &cl, &err),
		     0, "%s", err.message);
	assert_strv(cl->cmds[0].argv, cl->cmds[0].argc, ARGV("echo", "x"), "strict");
	col_cmdline_free(cl);
}

TEST_NOLEAK(cmdline, leading_assignments)
{
	struct col_cmdline *cl = parse_ok("A=1 B=\"x y\" C=$SPACED D= E=* F=a=b cmd G=2 $A");
	struct col_cmdline_cmd *c = &cl->cmds[0];

	assert_strv(c->assigns, c->n_assigns,
		    ARGV("A=1", "B=x y", "C= a  b ", "D=", "E=*", "F=a=b"), "assigns");
	assert_strv(c->argv, c->argc, ARGV("cmd", "G=2"), "argv"); /* $A: not in env */
	col_cmdline_free(cl);

	cl = parse_ok("HOME=/x cmd $HOME");
	assert_strv(cl->cmds[0].argv, cl->cmds[0].argc, ARGV("cmd", "/home/u"), "old value");
	cr_assert_eq(cl->cmds[0].n_assigns, 1);
	col_cmdline_free(cl);

	cl = parse_ok("cmd");
	cr_assert_eq(cl->cmds[0].n_assigns, 0);
	cr_assert_not_null(cl->cmds[0].assigns);
	cr_assert_null(cl->cmds[0].assigns[0]);
	col_cmdline_free(cl);

	/* Not assignments: a quoted or bad name, or after the program. */
	expect_argv("\"A\"=1 1A=2 A-B=3 cmd", ARGV("A=1", "1A=2", "A-B=3", "cmd"));
}

struct redir_want {
	enum col_cmdline_redir_kind kind;
	int fd, dup_fd;
	const char *path;
};

static void expect_redirs(const char *text, const char *const *argv, const struct redir_want *want,
			  size_t n)
{
	struct col_cmdline *cl = parse_ok(text);
	struct col_cmdline_cmd *c = &cl->cmds[0];

	assert_strv(c->argv, c->argc, argv, text);
	cr_assert_eq(c->n_redirs, n, "'%s': %zu redirections", text, c->n_redirs);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(c->redirs[i].kind, want[i].kind, "'%s' #%zu kind", text, i);
		cr_assert_eq(c->redirs[i].fd, want[i].fd, "'%s' #%zu fd", text, i);
		cr_assert_eq(c->redirs[i].dup_fd, want[i].dup_fd, "'%s' #%zu dup", text, i);
		if (want[i].path)
			cr_assert_str_eq(c->redirs[i].path, want[i].path, "'%s' #%zu", text, i);
		else
			cr_assert_null(c->redirs[i].path, "'%s' #%zu", text, i);
	}
	col_cmdline_free(cl);
}

TEST_NOLEAK(cmdline, every_redirection_form)
{
	static const struct redir_want want[] = {
		{ COL_CMDLINE_REDIR_READ, 0, -1, "in" },
		{ COL_CMDLINE_REDIR_WRITE, 1, -1, "out" },
		{ COL_CMDLINE_REDIR_APPEND, 2, -1, "err" },
		{ COL_CMDLINE_REDIR_READ_WRITE, 3, -1, "rw" },
		{ COL_CMDLINE_REDIR_DUP_WRITE, 4, 1, NULL },
		{ COL_CMDLINE_REDIR_DUP_READ, 0, 3, NULL },
		{ COL_CMDLINE_REDIR_WRITE, 1, -1, "clobber" },
		{ COL_CMDLINE_REDIR_WRITE, 2, -1, "sp ace" },
		{ COL_CMDLINE_REDIR_APPEND, 1, -1, "a" },
		{ COL_CMDLINE_REDIR_READ_WRITE, 0, -1, "b" },
		{ COL_CMDLINE_REDIR_DUP_WRITE, 1, 2, NULL },
		{ COL_CMDLINE_REDIR_DUP_READ, 0, 1, NULL },
	};

	expect_redirs("cmd <in >out x 2>>err 3<>rw 4>&1 0<&3 >|clobber 2> \"sp ace\" >> a <>b "
		      ">& 2 <&1",
		      ARGV("cmd", "x"), want, COL_ARRAY_SIZE(want));
}

TEST_NOLEAK(cmdline, what_is_an_fd_number)
{
	static const struct redir_want to1[] = { { COL_CMDLINE_REDIR_WRITE, 1, -1, "f" } };
	static const struct redir_want to2[] = { { COL_CMDLINE_REDIR_WRITE, 2, -1, "f" } };
	static const struct redir_want expanded[] = {
		{ COL_CMDLINE_REDIR_WRITE, 1, -1, "/home/u/log" },
		{ COL_CMDLINE_REDIR_WRITE, 2, -1, " a  b " },
		{ COL_CMDLINE_REDIR_READ, 0, -1, "*" },
	};
	static const struct redir_want dup_zeros[] = {
		{ COL_CMDLINE_REDIR_DUP_WRITE, 2, 1, NULL },
		{ COL_CMDLINE_REDIR_WRITE, 1, -1, "f" },
	};

	expect_redirs("echo a2>f", ARGV("echo", "a2"), to1, 1);
	expect_redirs("echo \"2\">f", ARGV("echo", "2"), to1, 1);
	expect_redirs("echo 2 >f", ARGV("echo", "2"), to1, 1);
	expect_redirs("echo 2>f", ARGV("echo"), to2, 1);
	expect_redirs("2>f echo", ARGV("echo"), to2, 1);
	/* leading zeros do not make a number large: 00002 is fd 2, as in bash */
	expect_redirs("echo 000002>f", ARGV("echo"), to2, 1);
	expect_redirs("echo 2>&000001 >f", ARGV("echo"), dup_zeros, 2);
	expect_redirs("echo >$HOME/log 2>\"$SPACED\" <*", ARGV("echo"), expanded, 3);
}

TEST_NOLEAK(cmdline, pipelines)
{
	struct col_cmdline *cl = parse_ok("printf 'b\\na\\n' | sort|head -n 1");

	cr_assert_eq(cl->n_cmds, 3);
	assert_strv(cl->cmds[0].argv, cl->cmds[0].argc, ARGV("printf", "b\\na\\n"), "1st");
	assert_strv(cl->cmds[1].argv, cl->cmds[1].argc, ARGV("sort"), "2nd");
	assert_strv(cl->cmds[2].argv, cl->cmds[2].argc, ARGV("head", "-n", "1"), "3rd");
	cr_assert_eq(cl->cmds[0].offset, 0);
	cr_assert_eq(cl->cmds[1].offset, 18);
	cr_assert_eq(cl->cmds[2].offset, 23);
	col_cmdline_free(cl);

	cl = parse_ok("A=1 a 2>&1 | B=2 b >f");
	cr_assert_eq(cl->n_cmds, 2);
	cr_assert_eq(cl->cmds[0].n_redirs, 1);
	cr_assert_str_eq(cl->cmds[1].assigns[0], "B=2");
	cr_assert_str_eq(cl->cmds[1].redirs[0].path, "f");
	col_cmdline_free(cl);
}

struct error_case {
	const char *text;
	unsigned flags;
	unsigned column;
	const char *message; /* after "column N: " */
};

#define GLOB_MSG(c)                                                                                \
	"'" c "' would be a pattern in sh, and collie expands no patterns: quote it ('" c "') to " \
	"pass it literally, or to have it expanded, set shell=true (or write: sh -c '...')"
#define TILDE_MSG                                                                              \
	"'~' is not expanded: collie runs commands without a shell; write $HOME, or quote it " \
	"('~') to pass it literally"
#define BRACE_FORMS                                                                         \
	" is not supported: ${} takes NAME, NAME-word, NAME:-word, NAME=word, NAME:=word, " \
	"NAME+word, NAME:+word, NAME?word or NAME:?word"
#define MISSING_PROGRAM "missing program: a command needs more than assignments and redirections"
#define NOT_OPEN(n, op)                                                                        \
	"fd " n " is not open: '" op "' can copy fd 0, 1, 2 or one redirected earlier in the " \
	"same command"

static const struct error_case error_cases[] = {
	/* Shell syntax: rejected with the hint. */
	{ "a && b", 0, 3, "'&&' (run the next command if this one succeeded): " HINT },
	{ "a || b", 0, 3, "'||' (run the next command if this one failed): " HINT },
	{ "sleep 1 &", 0, 9, "'&' (run in the background): " HINT },
	{ "a; b", 0, 2, "';' (a list of commands): " HINT },
	{ "(a)", 0, 1, "'(' (a subshell): " HINT },
	{ "a)", 0, 2, "')' (the end of a subshell): " HINT },
	{ "echo $(ls)", 0, 6, "'$(' (command substitution): " HINT },
	{ "echo \"$(ls)\"", 0, 7, "'$(' (command substitution): " HINT },
	{ "echo $((1+1))", 0, 6, "'$((' (arithmetic expansion): " HINT },
	{ "echo `ls`", 0, 6, "'`' (command substitution): " HINT },
	{ "echo \"`ls`\"", 0, 7, "'`' (command substitution): " HINT },
	{ "cat <<EOF", 0, 5, "'<<' (a here-document): " HINT },
	{ "cat <<<word", 0, 5, "'<<<' (a here-string): " HINT },
	{ "diff <(a) b", 0, 6, "'<(' (process substitution): " HINT },
	{ "tee >(a)", 0, 5, "'>(' (process substitution): " HINT },
	{ "while true; do x; done", 0, 1, "'while' (a shell keyword): " HINT },
	{ "if", 0, 1, "'if' (a shell keyword): " HINT },
	{ "x | for i", 0, 5, "'for' (a shell keyword): " HINT },
	{ "{ a; }", 0, 1, "'{' (a shell keyword): " HINT },
	{ "! a", 0, 1, "'!' (a shell keyword): " HINT },
	{ "[[ -f x ]]", 0, 1, "'[[' (a shell keyword): " HINT },
	{ "echo $$", 0, 6, "'$$' (a parameter only a shell has): " HINT },
	{ "echo $1", 0, 6, "'$1' (a parameter only a shell has): " HINT },
	{ "echo \"$@\"", 0, 7, "'$@' (a parameter only a shell has): " HINT },
	{ "echo ${#}", 0, 6, "'${#}' (a parameter only a shell has): " HINT },
	{ "echo ${?}", 0, 6, "'${?}' (a parameter only a shell has): " HINT },
	{ "echo *", 0, 6, GLOB_MSG("*") },
	{ "ls a?b", 0, 5, GLOB_MSG("?") },
	{ "ls [ab]", 0, 4, GLOB_MSG("[") },
	{ "ls ${EMPTY:-*}", 0, 13, GLOB_MSG("*") },
	/* Shell syntax with an equivalent here. */
	{ "x &>f", 0, 3, "'&>' is bash for '>file 2>&1'; write that" },
	{ "a |& b", 0, 3, "'|&' is bash for '2>&1 |'; write that" },
	{ "x 2>&-", 0, 3,
	  "'>&-' (closing an fd) is not supported; redirect it to /dev/null instead" },
	{ "cd ~", 0, 4, TILDE_MSG },
	{ "cd ~/x", 0, 4, TILDE_MSG },
	{ "x >~/log", 0, 4, TILDE_MSG },
	{ "A=~ x", 0, 3, TILDE_MSG },
	{ "PATH=/bin:~/bin x", 0, 11, TILDE_MSG },
	{ "echo ${UNSET:-~}", 0, 15, TILDE_MSG },
	{ "echo #", 0, 6, "'#' would start a comment in sh; quote it ('#') to pass it literally" },
	{ "echo $'a\\n'", 0, 6,
	  "$'...' quoting is not supported; write the characters inside '...' instead" },
	{ "echo $\"a\"", 0, 6,
	  "$\"...\" quoting is not supported; write the characters inside '...' instead" },
	{ "echo ${#HOME}", 0, 6, "'${#...}' (a length) is not supported" },
	{ "echo ${HOME%/*}", 0, 6, "'${HOME%'" BRACE_FORMS },
	{ "echo ${HOME:0:3}", 0, 6, "'${HOME:0'" BRACE_FORMS },
	{ "echo ${HOME/a/b}", 0, 6, "'${HOME/'" BRACE_FORMS },
	/* Malformed. */
	{ "", 0, 1, "empty command" },
	{ " \n ", 0, 2, "empty command" }, /* line 2: checked below */
	{ "| a", 0, 1, "missing command before '|'" },
	{ "a | | b", 0, 5, "missing command before '|'" },
	{ "a |", 0, 3, "missing command after '|'" },
	{ "a | ", 0, 3, "missing command after '|'" },
	{ "A=1", 0, 1, MISSING_PROGRAM },
	{ "a | >f", 0, 5, MISSING_PROGRAM },
	{ "echo 'a", 0, 6, "unterminated single quote" },
	{ "echo \"a", 0, 6, "unterminated double quote" },
	{ "echo \"a'", 0, 6, "unterminated double quote" },
	{ "echo a\\", 0, 7, "a backslash at the end escapes nothing" },
	{ "echo ${HOME", 0, 6, "unterminated '${'" },
	{ "echo ${HOME:", 0, 6, "unterminated '${'" },
	{ "echo ${UNSET:-x", 0, 6, "unterminated '${'" },
	{ "echo \"${UNSET:-x", 0, 7, "unterminated '${'" },
	{ "echo \"${UNSET:-x\"", 0, 17, "unterminated double quote" },
	{ "echo ${}", 0, 6, "'${' must be followed by a variable name" },
	{ "echo ${ HOME}", 0, 6, "'${' must be followed by a variable name" },
	{ "echo $UNSET", COL_CMDLINE_STRICT_VARS, 6, "$UNSET is not set" },
	{ "echo \"${UNSET}\"", COL_CMDLINE_STRICT_VARS, 7, "$UNSET is not set" },
	{ "echo ${UNSET?is required}", 0, 6, "UNSET: is required" },
	{ "echo ${UNSET?}", 0, 6, "UNSET: is not set" },
	{ "echo ${EMPTY:?}", 0, 6, "EMPTY: is empty" },
	{ "echo ${EMPTY:?no $WORD here}", 0, 6, "EMPTY: no word here" },
	/* Redirections. */
	{ "cat <", 0, 5, "'<' must be followed by a file name" },
	{ "x >| | y", 0, 3, "'>|' must be followed by a file name" },
	{ "x 2>&", 0, 3, "'>&' must be followed by an fd number" },
	{ "x >\"$EMPTY\"", 0, 3, "the file name after '>' is empty" },
	{ "x >$UNSET", 0, 3, "the file name after '>' is empty" },
	{ "x >&\"\"", 0, 3, "the fd number after '>&' is empty" },
	{ "x 2>&a", 0, 3, "'>&' must be followed by an fd number, not 'a'" },
	{ "x 2>&1x", 0, 3, "'>&' must be followed by an fd number, not '1x'" },
	{ "x 2>&99999", 0, 3, "fd 99999 is too large (the most is 255)" },
	{ "x 256>f", 0, 3, "fd 256 is too large (the most is 255)" },
	{ "x 0000256>f", 0, 3, "fd 0000256 is too large (the most is 255)" },
	{ "x 2>&3", 0, 3, NOT_OPEN("3", ">&") },
	{ "x <&4 3<f", 0, 3, NOT_OPEN("4", "<&") },
	{ "x 4>f", 0, 3,
	  "fd 4 is redirected but fd 3 is not: collie can pass extra fds only as 3, "
	  "4, ... in order" },
	{ "x 3>f 5>&3", 0, 7,
	  "fd 5 is redirected but fd 4 is not: collie can pass extra fds only "
	  "as 3, 4, ... in order" },
};

TEST_NOLEAK(cmdline, every_error_has_its_message_and_column)
{
	for (size_t i = 0; i < COL_ARRAY_SIZE(error_cases); i++) {
		const struct error_case *e = &error_cases[i];
		struct col_cmdline *cl = (struct col_cmdline *)&cl; /* must stay untouched */
		struct col_cmdline *before = cl;
		struct col_cmdline_error err;
		char want[512];
		int r;

		memset(&err, 0xaa, sizeof(err));
		r = col_cmdline_parse(e->text, env, e->flags, &cl, &err);
		cr_expect_eq(r, -EINVAL, "'%s' parsed (%d)", e->text, r);
		if (r != -EINVAL)
			continue;
		cr_expect_eq(cl, before, "'%s': ret written on failure", e->text);
		if (strchr(e->text, '\n'))
			snprintf(want, sizeof(want), "line %u, column %u: %s", err.line, e->column,
				 e->message);
		else
			snprintf(want, sizeof(want), "column %u: %s", e->column, e->message);
		cr_expect_str_eq(err.message, want, "'%s'", e->text);
		cr_expect_eq(err.column, e->column, "'%s'", e->text);
	}
}

TEST_NOLEAK(cmdline, error_positions_count_lines_and_characters)
{
	struct col_cmdline *cl;
	struct col_cmdline_error err;

	cr_assert_eq(col_cmdline_parse("celery worker\n  --queue x\n  && y", env, 0, &cl, &err),
		     -EINVAL);
	cr_assert_eq(err.line, 3);
	cr_assert_eq(err.column, 3);
	cr_assert_eq(err.offset, 28);
	cr_assert_str_eq(
		err.message,
		"line 3, column 3: '&&' (run the next command if this one succeeded): " HINT);
	/* é is two bytes and one column. */
	cr_assert_eq(col_cmdline_parse("echo é *", env, 0, &cl, &err), -EINVAL);
	cr_assert_eq(err.line, 1);
	cr_assert_eq(err.column, 8);
	cr_assert_eq(err.offset, 8);
	cr_assert_eq(col_cmdline_parse(" \n ", env, 0, &cl, &err), -EINVAL);
	cr_assert_str_eq(err.message, "line 2, column 2: empty command");
}

/* "echo ${U:-${U:-...a}}" with n levels, quoted or not. */
static char *nested(size_t n, bool quoted)
{
	const char *open = quoted ? "${U:-\"" : "${U:-", *close = quoted ? "\"}" : "}";
	size_t lo = strlen(open), lc = strlen(close);
	char *s = malloc(8 + n * (lo + lc)), *w = s;

	cr_assert_not_null(s);
	w += snprintf(w, 8, "echo ");
	for (size_t i = 0; i < n; i++, w += lo)
		memcpy(w, open, lo);
	*w++ = 'a';
	for (size_t i = 0; i < n; i++, w += lc)
		memcpy(w, close, lc);
	*w = 0;
	return s;
}

TEST_NOLEAK(cmdline, nesting_is_bounded_not_the_stack)
{
	struct col_cmdline *cl;
	struct col_cmdline_error err;
	char *text;

	for (int quoted = 0; quoted < 2; quoted++) {
		text = nested(32, quoted);
		cr_assert_eq(col_cmdline_parse(text, env, 0, &cl, &err), 0, "%s", err.message);
		cr_assert_str_eq(cl->cmds[0].argv[1], "a");
		col_cmdline_free(cl);
		free(text);
		/* a text from a file: each level was a few stack frames */
		text = nested(20000, quoted);
		cr_assert_eq(col_cmdline_parse(text, env, 0, &cl, &err), -EINVAL);
		cr_assert_str_eq(err.message, quoted ? "column 198: '${' nested more than 32 deep"
						     : "column 166: '${' nested more than 32 deep");
		free(text);
	}
}

TEST_NOLEAK(cmdline, bad_arguments)
{
	struct col_cmdline *cl;
	struct col_cmdline_error err;

	cr_assert_eq(col_cmdline_parse(NULL, env, 0, &cl, &err), -EINVAL);
	cr_assert_str_eq(err.message, "invalid arguments");
	cr_assert_eq(col_cmdline_parse("x", env, 0, NULL, &err), -EINVAL);
	cr_assert_eq(col_cmdline_parse("x", env, 1u << 7, &cl, NULL), -EINVAL);
	col_cmdline_free(NULL);
	cr_assert_eq(col_cmdline_format(NULL, NULL, 0), -EINVAL);
}

TEST_NOLEAK(cmdline, null_env_is_environ)
{
	struct col_cmdline *cl;
	struct col_cmdline_error err;

	cr_assert_eq(setenv("COLLIE_TEST_CMDLINE", "from environ", 1), 0);
	cr_assert_eq(col_cmdline_parse("echo \"$COLLIE_TEST_CMDLINE\"", NULL, 0, &cl, &err), 0);
	cr_assert_str_eq(cl->cmds[0].argv[1], "from environ");
	col_cmdline_free(cl);
}

static void expect_format(const char *text, const char *want)
{
	struct col_cmdline *cl = parse_ok(text);
	char buf[512];
	int n = col_cmdline_format(cl, buf, sizeof(buf));

	cr_assert_str_eq(buf, want, "'%s'", text);
	cr_assert_eq(n, (int)strlen(want));
	col_cmdline_free(cl);
}

TEST_NOLEAK(cmdline, format_writes_what_parses_back)
{
	expect_format("printf 'b\\na\\n' | sort | head -n 1",
		      "printf 'b\\na\\n' | sort | head -n 1");
	expect_format("A=\"x y\" B= cmd it\\'s 2>&1 >\"o f\" <in",
		      "A='x y' B='' cmd 'it'\\''s' 2>&1 1>'o f' 0<in");
	expect_format("'A=1' 'if' x '' '~' '#a' '$H' '*' 'a b' 3<>f 4<&3 >>g",
		      "'A=1' if x '' '~' '#a' '$H' '*' 'a b' 3<>f 4<&3 1>>g");
}

TEST_NOLEAK(cmdline, format_quotes_a_keyword_program)
{
	expect_format("'if' x", "'if' x");
	expect_format("x if", "x if");
}

TEST_NOLEAK(cmdline, format_truncates_like_snprintf)
{
	struct col_cmdline *cl = parse_ok("printf hello");
	char buf[5];

	cr_assert_eq(col_cmdline_format(cl, buf, sizeof(buf)), 12);
	cr_assert_str_eq(buf, "prin");
	cr_assert_eq(col_cmdline_format(cl, NULL, 0), 12);
	col_cmdline_free(cl);
}

static void assert_same(const struct col_cmdline *a, const struct col_cmdline *b, const char *text)
{
	cr_assert_eq(a->n_cmds, b->n_cmds, "'%s'", text);
	for (size_t i = 0; i < a->n_cmds; i++) {
		const struct col_cmdline_cmd *x = &a->cmds[i], *y = &b->cmds[i];

		assert_strv(y->argv, y->argc, (const char *const *)x->argv, text);
		assert_strv(y->assigns, y->n_assigns, (const char *const *)x->assigns, text);
		cr_assert_eq(x->n_redirs, y->n_redirs, "'%s'", text);
		for (size_t j = 0; j < x->n_redirs; j++) {
			cr_assert_eq(x->redirs[j].kind, y->redirs[j].kind, "'%s'", text);
			cr_assert_eq(x->redirs[j].fd, y->redirs[j].fd, "'%s'", text);
			cr_assert_eq(x->redirs[j].dup_fd, y->redirs[j].dup_fd, "'%s'", text);
			cr_assert_str_eq(x->redirs[j].path ? x->redirs[j].path : "(none)",
					 y->redirs[j].path ? y->redirs[j].path : "(none)", "'%s'",
					 text);
		}
	}
}

/* format(parse(text)) parses, with no env at all, to the same pipeline. */
static void assert_round_trip(const char *text)
{
	char *const no_env[] = { NULL };
	struct col_cmdline *a = parse_ok(text), *b = NULL;
	struct col_cmdline_error err;
	int n = col_cmdline_format(a, NULL, 0);
	char *buf = malloc((size_t)n + 1);

	cr_assert_not_null(buf);
	cr_assert_eq(col_cmdline_format(a, buf, (size_t)n + 1), n);
	cr_assert_eq(col_cmdline_parse(buf, no_env, COL_CMDLINE_STRICT_VARS, &b, &err), 0,
		     "'%s' -> '%s': %s", text, buf, err.message);
	assert_same(a, b, text);
	col_cmdline_free(a);
	col_cmdline_free(b);
	free(buf);
}

TEST_NOLEAK(cmdline, format_round_trips)
{
	static const char *const texts[] = {
		"a",
		"A=$SPACED B=\"$QUOTE\" x $SPACED \"$OPS\" $GLOB '' \"\" \\\\ 'a\nb' \"\t\"",
		"x 'A=1' \"if\" '!' '{' '}' '#' '~' '=' '-' 2 1>&2 3>f 2>&3 | y <'a b' | z >|q",
		"\"\" x",
		"x é ' ' \"'\" \"''\"",
		"'~/x' '$(x)' '`x`' ';' '&&' '|' '<' '>'",
	};

	for (size_t i = 0; i < COL_ARRAY_SIZE(texts); i++)
		assert_round_trip(texts[i]);
}

/*
 * Random texts from the characters that matter: whatever parses must write
 * back to text that parses to the same pipeline, and whatever does not
 * must say where. A fixed seed keeps the test deterministic.
 */
TEST_NOLEAK(cmdline, random_texts_round_trip_or_fail_with_a_position)
{
	static const char alpha[] = "ab  A=1 $X${}:-+=?#~*'\"\\|<>&;()2>&1\n\t`!{}[]%/\xc3\xa9";
	uint32_t seed = 42;
	size_t parsed = 0;

	for (int it = 0; it < 20000; it++) {
		char text[32];
		struct col_cmdline *cl;
		struct col_cmdline_error err;
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(text);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			text[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		text[n] = '\0';
		if (col_cmdline_parse(text, env, 0, &cl, &err) == 0) {
			col_cmdline_free(cl);
			assert_round_trip(text);
			parsed++;
			continue;
		}
		cr_assert_leq(err.offset, n, "'%s'", text);
		cr_assert_geq(err.column, 1, "'%s'", text);
		cr_assert(strstr(err.message, "column "), "'%s': %s", text, err.message);
	}
	cr_assert_gt(parsed, 500);
}

/*
 * The supervisord corpus: every command= value (with its continuation
 * lines) of /work/shared/compat/supervisord, as the configuration layer
 * hands it over: %(name)s expanded, %% turned into %.
 */

/* The one command of the corpus that is rejected, and why. */
static const struct {
	const char *command;
	unsigned column;
	const char *message;
} corpus_rejects[] = {
	/* shlex passes "~/bg.jpg" and "&" to feh as arguments, which is not what was meant. */
	{ "feh --bg-scale ~/bg.jpg &", 16, TILDE_MSG },
};

/* Python's shlex.split() in POSIX mode, for comparison. */
static size_t shlex_split(const char *s, char out[][256], size_t max)
{
	size_t n = 0, len = 0;
	bool in = false;
	char q = 0;

	for (; *s; s++) {
		if (!q && strchr(" \t\r\n", *s)) {
			if (in)
				out[n++][len] = '\0';
			in = false;
			len = 0;
			continue;
		}
		cr_assert_lt(n, max);
		in = true;
		if (!q && (*s == '\'' || *s == '"')) {
			q = *s;
		} else if (q && *s == q) {
			q = 0;
		} else if (*s == '\\' && q != '\'' && (!q || s[1] == '"' || s[1] == '\\')) {
			out[n][len++] = *++s;
		} else {
			out[n][len++] = *s;
		}
	}
	if (in)
		out[n++][len] = '\0';
	return n;
}

/* Expand %(name)s to "X", %(name)d (with flags/width) to "1", %% to %. */
static void expand_percent(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in && o + 2 < len) {
		const char *close = in[0] == '%' && in[1] == '(' ? strchr(in, ')') : NULL;

		if (in[0] == '%' && in[1] == '%') {
			out[o++] = '%';
			in += 2;
		} else if (close) {
			in = close + 1 + strspn(close + 1, "-#0 +123456789");
			out[o++] = *in == 'd' ? '1' : 'X';
			in += *in != '\0';
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

/* The command= values of one file, each NUL-terminated, into buf. */
static size_t corpus_commands(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[4096], value[8192] = "";
	bool in_command = false;
	size_t used = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	for (bool more = true; more;) {
		more = fgets(line, sizeof(line), f) != NULL;
		line[more ? strcspn(line, "\r\n") : 0] = '\0';
		if (more && in_command && (line[0] == ' ' || line[0] == '\t') &&
		    line[strspn(line, " \t")] != '\0') {
			const char *t = line + strspn(line, " \t");

			if (*t != '#' && *t != ';')
				snprintf(value + strlen(value), sizeof(value) - strlen(value),
					 "\n%s", t);
			continue;
		}
		if (in_command) {
			expand_percent(value, buf + used, len - used);
			used += strlen(buf + used) + 1;
			in_command = false;
		}
		if (more && strncmp(line, "command", 7) == 0 &&
		    line[7 + strspn(line + 7, " ")] == '=') {
			const char *v = line + 7 + strspn(line + 7, " ") + 1;

			snprintf(value, sizeof(value), "%s", v + strspn(v, " \t"));
			in_command = true;
		}
	}
	fclose(f);
	return used;
}

static void check_corpus_command(const char *cmd, size_t *parsed, bool *rejected_seen)
{
	char *const no_env[] = { NULL };
	struct col_cmdline *cl;
	struct col_cmdline_error err;
	static char words[64][256];
	size_t n;
	int r = col_cmdline_parse(cmd, no_env, 0, &cl, &err);

	for (size_t i = 0; i < COL_ARRAY_SIZE(corpus_rejects); i++) {
		if (strcmp(cmd, corpus_rejects[i].command) != 0)
			continue;
		cr_expect_eq(r, -EINVAL, "'%s' should be rejected", cmd);
		cr_expect_eq(err.column, corpus_rejects[i].column, "'%s'", cmd);
		cr_expect(strstr(err.message, corpus_rejects[i].message), "'%s': %s", cmd,
			  err.message);
		rejected_seen[i] = true;
		return;
	}
	cr_assert_eq(r, 0, "corpus command '%s': %s", cmd, err.message);
	/* A plain word list: exactly the argv supervisord's shlex.split() makes. */
	cr_assert_eq(cl->n_cmds, 1, "'%s'", cmd);
	cr_assert_eq(cl->cmds[0].n_redirs, 0, "'%s'", cmd);
	cr_assert_eq(cl->cmds[0].n_assigns, 0, "'%s'", cmd);
	n = shlex_split(cmd, words, COL_ARRAY_SIZE(words));
	cr_assert_eq(cl->cmds[0].argc, n, "'%s'", cmd);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(cl->cmds[0].argv[i], words[i], "'%s'", cmd);
	col_cmdline_free(cl);
	(*parsed)++;
}

TEST_NOLEAK(cmdline, supervisord_corpus_commands_parse_as_shlex_splits_them)
{
	const char *dir = getenv("COLLIE_COMPAT_DIR");
	bool rejected_seen[COL_ARRAY_SIZE(corpus_rejects)] = { false };
	static char buf[1 << 16];
	char path[4096];
	size_t parsed = 0, files = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/supervisord", dir ? dir : "");
	d = dir ? opendir(path) : NULL;
	if (!d)
		cr_skip("the compatibility corpus is not here (COLLIE_COMPAT_DIR=%s): nothing to "
			"check",
			dir ? dir : "unset");
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), used;

		if (len < 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/supervisord/%s", dir, de->d_name);
		used = corpus_commands(path, buf, sizeof(buf));
		for (size_t o = 0; o < used; o += strlen(buf + o) + 1)
			check_corpus_command(buf + o, &parsed, rejected_seen);
		files++;
	}
	closedir(d);
	cr_assert_gt(files, 50, "only %zu .conf files in %s", files, dir);
	cr_assert_gt(parsed, 150, "only %zu commands parsed", parsed);
	for (size_t i = 0; i < COL_ARRAY_SIZE(corpus_rejects); i++)
		cr_assert(rejected_seen[i], "'%s' is no longer in the corpus",
			  corpus_rejects[i].command);
}
