/*
 * config-expand.c - supervisord's %(name)s expansions.
 *
 * supervisord expands a value with Python's `value % names`, so a value
 * is a printf-like format whose conversions all name their argument:
 * %(name)s, %(process_num)02d, and %% for a literal %. Anything else
 * after a % ("%HOME%", "100%") is an error there, and here too, with the
 * column and what to write instead: passing it on unexpanded would give
 * the program text its author did not mean.
 *
 * The names: here (the directory of the file the key is in),
 * program_name, group_name, host_node_name, process_num and numprocs
 * (only in the keys supervisord expands per process), and ENV_X for the
 * environment variable X -- an unset one is an error, as in supervisord.
 *
 * The conversions done are s (any value), and d, i, u, x, X, o (numbers),
 * with the flags - 0 + space # , a width and a precision, as Python does
 * them. Python also has e, f, g, c, r and a; no real configuration needs
 * them, so they are refused with a message rather than half-supported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "banned.h"

/* One parsed %(name)flags width .precision conversion. */
struct spec {
	const char *name; /* points into the text */
	size_t name_len;
	bool minus, zero, plus, space, alt;
	int width, prec; /* -1 when not given */
	char conv;
};

/* A looked-up value: text, or a number. */
struct value {
	const char *str; /* NULL for a number */
	long long num;
};

static int lookup(const struct spec *sp, const struct cfg_expand_ctx *x, struct value *v,
		  char **ret_msg)
{
	static const char *const strs[] = { "here", "program_name", "group_name",
					    "host_node_name" };
	const char *vals[] = { x->here, x->program_name, x->group_name, x->host_node_name };
	const char *n = sp->name;
	size_t len = sp->name_len;

	for (size_t i = 0; i < COL_ARRAY_SIZE(strs); i++) {
		if (strlen(strs[i]) == len && memcmp(strs[i], n, len) == 0 && vals[i]) {
			*v = (struct value){ .str = vals[i] };
			return 0;
		}
	}
	if ((len == 11 && memcmp(n, "process_num", 11) == 0) ||
	    (len == 8 && memcmp(n, "numprocs", 8) == 0)) {
		if (!x->has_process) {
			*ret_msg =
				cfg__msg("%%(%.*s) is known only in the keys expanded per process "
					 "(command, process_name, directory, environment, "
					 "stdout_logfile, stderr_logfile)",
					 (int)len, n);
			return -EINVAL;
		}
		*v = (struct value){ .num = n[0] == 'p' ? x->process_num : x->numprocs };
		return 0;
	}
	if (len > 4 && memcmp(n, "ENV_", 4) == 0) {
		v->str = x->env ? cfg__env_get(x->env, n + 4, len - 4) : NULL;
		if (v->str)
			return 0;
		*ret_msg =
			cfg__msg("%%(%.*s)s names the environment variable %.*s, which is not set; "
				 "set it before starting collie (supervisord refuses this too)",
				 (int)len, n, (int)len - 4, n + 4);
		return -EINVAL;
	}
	*ret_msg = cfg__msg("%%(%.*s) is not a name collie can expand; the names are here, "
			    "program_name, group_name, host_node_name, process_num, numprocs and "
			    "ENV_X for an environment variable X (write %%%% for a literal %%)",
			    (int)len, n);
	return -EINVAL;
}

/* Parse the spec after a "%(" at text[*pos]; advances *pos past it. */
static int parse_spec(const char *text, size_t *pos, struct spec *sp, char **ret_msg)
{
	const char *p = text + *pos, *close = strchr(p, ')');

	if (!close) {
		*ret_msg =
			cfg__msg("'%%(' at column %zu has no ')'; write %%(name)s, or %%%% for a "
				 "literal %%",
				 *pos - 1);
		return -EINVAL;
	}
	*sp = (struct spec){ .name = p, .name_len = (size_t)(close - p), .width = -1, .prec = -1 };
	for (p = close + 1; *p && strchr("-0+ #", *p); p++) {
		sp->minus |= *p == '-';
		sp->zero |= *p == '0';
		sp->plus |= *p == '+';
		sp->space |= *p == ' ';
		sp->alt |= *p == '#';
	}
	for (; *p >= '0' && *p <= '9' && sp->width < 10000; p++)
		sp->width = (sp->width < 0 ? 0 : sp->width * 10) + (*p - '0');
	if (*p == '.')
		for (sp->prec = 0, p++; *p >= '0' && *p <= '9' && sp->prec < 10000; p++)
			sp->prec = sp->prec * 10 + (*p - '0');
	if (*p == 'h' || *p == 'l' || *p == 'L') /* Python ignores a length modifier */
		p++;
	sp->conv = *p;
	if (!*p || !strchr("sdiuxXo", *p)) {
		*ret_msg = cfg__msg(
			"%%(%.*s) at column %zu %s; write %%(%.*s)s (or d for a number)",
			(int)sp->name_len, sp->name, *pos - 1,
			*p ? "has a conversion collie does not do" : "has no conversion letter",
			(int)sp->name_len, sp->name);
		return -EINVAL;
	}
	*pos = (size_t)(p + 1 - text);
	return 0;
}

static void pad(FILE *out, int n, char c)
{
	while (n-- > 0)
		fputc(c, out);
}

/* A number as Python's %d %x %X %o with flags, width and precision. */
static void put_number(FILE *out, const struct spec *sp, long long num)
{
	char digits[32], sign[2] = "", prefix[3] = "";
	unsigned long long mag = num < 0 ? 0ULL - (unsigned long long)num : (unsigned long long)num;
	int len, zeros, total;

	if (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'o') {
		len = snprintf(digits, sizeof(digits),
			       sp->conv == 'x'	 ? "%llx"
			       : sp->conv == 'X' ? "%llX"
						 : "%llo",
			       mag);
		if (sp->alt) {
			prefix[0] = '0';
			prefix[1] = sp->conv == 'X' ? 'X' : sp->conv == 'x' ? 'x' : 'o';
		}
	} else {
		len = snprintf(digits, sizeof(digits), "%llu", mag);
	}
	sign[0] = num < 0 ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
	zeros = sp->prec > len ? sp->prec - len : 0;
	total = (int)strlen(sign) + (int)strlen(prefix) + zeros + len;
	if (sp->zero && !sp->minus && sp->width > total) {
		zeros += sp->width - total;
		total = sp->width;
	}
	if (!sp->minus)
		pad(out, sp->width - total, ' ');
	fputs(sign, out);
	fputs(prefix, out);
	pad(out, zeros, '0');
	fputs(digits, out);
	if (sp->minus)
		pad(out, sp->width - total, ' ');
}

static int put_value(FILE *out, const struct spec *sp, const struct value *v, char **ret_msg)
{
	char num[32];
	const char *s = v->str;
	int len;

	if (sp->conv != 's' && !s) {
		put_number(out, sp, v->num);
		return 0;
	}
	if (sp->conv != 's') {
		*ret_msg = cfg__msg("%%(%.*s)%c needs a number, but the value is text ('%s'); "
				    "write %%(%.*s)s",
				    (int)sp->name_len, sp->name, sp->conv, s, (int)sp->name_len,
				    sp->name);
		return -EINVAL;
	}
	if (!s) {
		snprintf(num, sizeof(num), "%lld", v->num);
		s = num;
	}
	len = (int)strlen(s);
	if (sp->prec >= 0 && sp->prec < len)
		len = sp->prec;
	if (!sp->minus)
		pad(out, sp->width - len, ' ');
	fwrite(s, 1, (size_t)len, out);
	if (sp->minus)
		pad(out, sp->width - len, ' ');
	return 0;
}

/* One % at text[*pos] (already past the %): write its result. */
static int expand_one(FILE *out, const char *text, size_t *pos, const struct cfg_expand_ctx *x,
		      char **ret_msg)
{
	struct spec sp;
	struct value v;
	char c = text[*pos];

	if (c == '%') {
		fputc('%', out);
		(*pos)++;
		return 0;
	}
	if (c != '(') {
		*ret_msg =
			cfg__msg("'%%%.*s' at column %zu is not an expansion; write %%(name)s, or "
				 "%%%% for a literal %%",
				 c ? 1 : 0, text + *pos, *pos);
		return -EINVAL;
	}
	(*pos)++;
	if (parse_spec(text, pos, &sp, ret_msg) < 0 || lookup(&sp, x, &v, ret_msg) < 0)
		return -EINVAL;
	return put_value(out, &sp, &v, ret_msg);
}

int cfg__expand(const char *text, const struct cfg_expand_ctx *x, char **ret, char **ret_msg)
{
	char *buf = NULL;
	size_t len = 0, pos = 0;
	FILE *out = open_memstream(&buf, &len);
	int r = 0;

	*ret_msg = NULL;
	if (!out)
		return -ENOMEM;
	while (r == 0 && text[pos]) {
		size_t plain = strcspn(text + pos, "%");

		fwrite(text + pos, 1, plain, out);
		pos += plain;
		if (text[pos] == '%') {
			pos++;
			r = expand_one(out, text, &pos, x, ret_msg);
		}
	}
	if (fclose(out) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0 || !buf) {
		free(buf);
		return r < 0 ? r : -ENOMEM;
	}
	*ret = buf;
	return 0;
}
