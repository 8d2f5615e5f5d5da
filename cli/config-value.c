/*
 * config-value.c - the typed values of the configuration: booleans,
 * numbers, seconds, sizes, signals, users, exit codes and the small
 * enumerations, each checked against what supervisord accepts.
 *
 * Every parser returns 0 and its result, or -EINVAL and a message that
 * says what is wrong with the value and what would be right; the caller
 * adds the file:line and the key. Values are trimmed of blanks first:
 * supervisord's values are trimmed by configparser, but a value that
 * comes from %(ENV_X)s may carry them.
 *
 * supervisord's types, and where collie is more lenient (each a
 * superset, so a valid supervisord value means the same here):
 *  - booleans: true/false, yes/no, on/off, 1/0, in any case;
 *  - seconds (startsecs, stopwaitsecs): whole seconds, or with up to six
 *    decimals (a collie extension: "0.5");
 *  - sizes: a number with KB, MB or GB (powers of 1024), any case, and
 *    also K, M, G and B (collie);
 *  - umask: octal, with or without a leading 0 or 0o.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "cli.h"
#include "collie/sig.h"
#include "config-internal.h"
#include "banned.h"

/* Seconds past this are surely a mistake (about 31 years). */
#define MAX_SECS 1000000000ULL

char *cfg__msg(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

void cfg__strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t cfg__strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* s without leading and trailing blanks, in buf (or NULL if too long). */
static const char *trim(const char *s, char *buf, size_t len)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= len)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = 0;
	return buf;
}

int cfg__parse_bool(const char *s, bool *ret, char **ret_msg)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	char buf[16];
	const char *t = trim(s, buf, sizeof(buf));

	for (size_t i = 0; t && i < COL_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(t, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(t, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	*ret_msg = cfg__msg("'%s' is not a boolean; use true or false (or yes/no, on/off, 1/0)", s);
	return -EINVAL;
}

int cfg__parse_int(const char *s, long long min, long long max, long long *ret, char **ret_msg)
{
	char buf[64], *end;
	const char *t = trim(s, buf, sizeof(buf));
	long long v;

	errno = 0;
	v = t && *t ? strtoll(t, &end, 10) : 0;
	if (!t || !*t || *end || errno == ERANGE || v < min || v > max) {
		if (t && *t && !*end)
			*ret_msg =
				cfg__msg("%s is out of range; use a whole number from %lld to %lld",
					 t, min, max);
		else
			*ret_msg = cfg__msg("'%s' is not a whole number; use one from %lld to %lld",
					    s, min, max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int cfg__parse_secs(const char *s, uint64_t *ret, char **ret_msg)
{
	char buf[64];
	const char *t = trim(s, buf, sizeof(buf));
	uint64_t whole = 0, frac = 0, scale = 1000000;
	const char *p = t;

	if (!p || !isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > MAX_SECS)
			goto bad;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p) && scale > 1; p++) {
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
		}
	}
	if (*p)
		goto bad;
	*ret = whole * 1000000 + frac;
	return 0;
bad:
	*ret_msg = cfg__msg("'%s' is not a number of seconds; use a whole number such as 10, or "
			    "a decimal such as 0.5 (at most %llu)",
			    s, MAX_SECS);
	return -EINVAL;
}

/* The multiplier of a size suffix, or 0 when it is not one. */
static uint64_t size_unit(const char *suffix)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
		{ "", 1 },
		{ "b", 1 },
		{ "k", 1024 },
		{ "kb", 1024 },
		{ "m", 1024 * 1024 },
		{ "mb", 1024 * 1024 },
		{ "g", 1024ULL << 20 },
		{ "gb", 1024ULL << 20 },
	};

	for (size_t i = 0; i < COL_ARRAY_SIZE(units); i++)
		if (strcasecmp(suffix, units[i].name) == 0)
			return units[i].mult;
	return 0;
}

int cfg__parse_size(const char *s, bool unlimited_ok, uint64_t *ret, char **ret_msg)
{
	char buf[64], *end;
	const char *t = trim(s, buf, sizeof(buf));
	unsigned long long v;
	uint64_t mult;

	if (t && unlimited_ok &&
	    (strcasecmp(t, "unlimited") == 0 || strcasecmp(t, "infinity") == 0)) {
		*ret = (uint64_t)RLIM_INFINITY;
		return 0;
	}
	if (!t || !isdigit((unsigned char)*t))
		goto bad;
	errno = 0;
	v = strtoull(t, &end, 10);
	/* supervisord's int() takes "50 MB" too: blanks before the unit */
	while (*end == ' ' || *end == '\t')
		end++;
	mult = size_unit(end);
	if (errno == ERANGE || mult == 0 || v > UINT64_MAX / mult)
		goto bad;
	*ret = v * mult;
	return 0;
bad:
	*ret_msg = cfg__msg("'%s' is not a size; use a number of bytes, optionally with KB, MB or "
			    "GB (such as 50MB)%s",
			    s, unlimited_ok ? ", or unlimited" : "");
	return -EINVAL;
}

int cfg__parse_signal(const char *s, int *ret, char **ret_msg)
{
	char buf[32];
	const char *t = trim(s, buf, sizeof(buf));
	int sig = t ? col_signal_parse(t) : -EINVAL;

	if (sig < 0) {
		*ret_msg =
			cfg__msg("'%s' is not a signal; use a name such as TERM, INT, QUIT, HUP, "
				 "KILL, USR1 or USR2, or a number",
				 s);
		return -EINVAL;
	}
	*ret = sig;
	return 0;
}

int cfg__parse_umask(const char *s, int *ret, char **ret_msg)
{
	char buf[32];
	const char *t = trim(s, buf, sizeof(buf));
	int v = 0;

	if (t && (strncmp(t, "0o", 2) == 0 || strncmp(t, "0O", 2) == 0))
		t += 2;
	if (!t || !*t)
		goto bad;
	for (const char *p = t; *p; p++) {
		if (*p < '0' || *p > '7')
			goto bad;
		v = v * 8 + (*p - '0');
		if (v > 0777)
			goto bad;
	}
	*ret = v;
	return 0;
bad:
	*ret_msg = cfg__msg("'%s' is not a umask; use an octal number from 000 to 777, such as 022",
			    s);
	return -EINVAL;
}

int cfg__parse_exitcodes(const char *s, struct cfg_program *p, char **ret_msg)
{
	const char *item = s;
	size_t n = 0;
	long long v;
	char buf[32];

	/* supervisord's list_of_exitcodes: "" is an empty list; otherwise
	 * every comma-separated item is a code from 0 to 255. */
	if (trim(s, buf, sizeof(buf)) && !*buf) {
		p->n_exitcodes = 0;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(item, ",");

		if (len >= sizeof(buf) || n == COL_ARRAY_SIZE(p->exitcodes))
			goto bad;
		memcpy(buf, item, len);
		buf[len] = 0;
		if (cfg__parse_int(buf, 0, 255, &v, ret_msg) < 0) {
			free(*ret_msg);
			goto bad;
		}
		p->exitcodes[n++] = (int)v;
		if (!item[len])
			break;
		item += len + 1;
	}
	p->n_exitcodes = n;
	return 0;
bad:
	*ret_msg = cfg__msg("'%s' is not a list of exit codes; use numbers from 0 to 255 "
			    "separated by commas, such as 0,2",
			    s);
	return -EINVAL;
}

int cfg__parse_autorestart(const char *s, enum cfg_autorestart *ret, char **ret_msg)
{
	char buf[16];
	const char *t = trim(s, buf, sizeof(buf));
	bool b;

	if (t && strcasecmp(t, "unexpected") == 0) {
		*ret = CFG_RESTART_UNEXPECTED;
		return 0;
	}
	if (cfg__parse_bool(s, &b, ret_msg) == 0) {
		*ret = b ? CFG_RESTART_ALWAYS : CFG_RESTART_NEVER;
		return 0;
	}
	free(*ret_msg);
	*ret_msg = cfg__msg("'%s' is not an autorestart value; use true, false or unexpected", s);
	return -EINVAL;
}

int cfg__parse_ready(const char *s, enum cfg_ready *ret, int *ret_arg, char **ret_msg)
{
	/* a word, or a prefix and a number in a range */
	static const struct {
		const char *word;
		enum cfg_ready kind;
		long long min, max; /* max 0: the word alone */
	} rules[] = {
		{ "startsecs", CFG_READY_STARTSECS, 0, 0 },
		{ "notify", CFG_READY_NOTIFY, 0, 0 },
		{ "fd:", CFG_READY_FD, 3, 1023 },
		{ "tcp:", CFG_READY_TCP, 1, 65535 },
	};
	char buf[32], *msg = NULL;
	const char *t = trim(s, buf, sizeof(buf));
	long long v = 0;

	for (size_t i = 0; t && i < COL_ARRAY_SIZE(rules); i++) {
		size_t n = strlen(rules[i].word);

		if (rules[i].max ? strncmp(t, rules[i].word, n) != 0
				 : strcmp(t, rules[i].word) != 0)
			continue;
		if (rules[i].max && cfg__parse_int(t + n, rules[i].min, rules[i].max, &v, &msg) < 0)
			break;
		*ret = rules[i].kind;
		*ret_arg = (int)v;
		return 0;
	}
	free(msg);
	*ret_msg = cfg__msg("'%s' is not a readiness rule; use startsecs, notify, fd:N (N from 3 "
			    "to 1023) or tcp:PORT (PORT from 1 to 65535)",
			    s);
	return -EINVAL;
}

int cfg__parse_timestamps(const char *s, enum cfg_timestamps *ret, char **ret_msg)
{
	/* in the order of enum cfg_timestamps */
	static const char *const words[] = { "none", "iso8601", "unix" };
	char buf[16];
	const char *t = trim(s, buf, sizeof(buf));

	for (size_t i = 0; t && i < COL_ARRAY_SIZE(words); i++) {
		if (strcmp(t, words[i]) == 0) {
			*ret = (enum cfg_timestamps)i;
			return 0;
		}
	}
	*ret_msg = cfg__msg("'%s' is not a timestamp format; use none, iso8601 or unix", s);
	return -EINVAL;
}

/* The user's supplementary groups, as initgroups() will set them. */
static int user_groups(const struct passwd *pw, struct cfg_program *p)
{
	int n = 16;
	gid_t *g = NULL;

	for (;;) {
		gid_t *ng = realloc(g, (size_t)n * sizeof(*g));
		int want = n;

		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		if (getgrouplist(pw->pw_name, pw->pw_gid, g, &want) >= 0) {
			n = want;
			break;
		}
		n = want > n ? want : n * 2;
	}
	free(p->groups);
	p->groups = g;
	p->n_groups = (size_t)n;
	return 0;
}

int cfg__parse_user(const char *s, struct cfg_program *p, char **ret_msg)
{
	char buf[256], *end;
	const char *t = trim(s, buf, sizeof(buf));
	struct passwd *pw = NULL;
	unsigned long id;

	if (t && *t) {
		errno = 0;
		id = strtoul(t, &end, 10);
		/* supervisord: a number is a uid, which must exist too. */
		if (isdigit((unsigned char)*t) && !*end)
			pw = errno || id > UINT32_MAX - 1 ? NULL : getpwuid((uid_t)id);
		else
			pw = getpwnam(t);
	}
	if (!pw) {
		*ret_msg = cfg__msg("no user '%s' on this system; name an existing user or uid "
				    "(see getent passwd)",
				    s);
		return -EINVAL;
	}
	free(p->user);
	p->user = strdup(t);
	if (!p->user || user_groups(pw, p) < 0) {
		*ret_msg = NULL;
		return -ENOMEM;
	}
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	return 0;
}

int cfg__check_name(const char *what, const char *s, char **ret_msg)
{
	/* supervisord's process_or_group_name(): these break its
	 * eventlistener protocol and URLs, and collie's "group:name". */
	static const char bad[] = " :/";

	if (!*s) {
		*ret_msg = cfg__msg("the %s is empty; give it a name", what);
		return -EINVAL;
	}
	/* A name travels in the control protocol's JSON, which holds only
	 * UTF-8 (supervisord refuses a file that is not UTF-8 at all). */
	for (size_t i = 0, k, n = strlen(s); i < n; i += k) {
		k = cli_utf8_len((const unsigned char *)s + i, n - i);
		if (k == 0) {
			*ret_msg = cfg__msg("the %s holds a byte that is not UTF-8 (0x%02x at "
					    "byte %zu); write the name in UTF-8",
					    what, (unsigned char)s[i], i);
			return -EINVAL;
		}
	}
	for (const char *c = bad; *c; c++) {
		if (strchr(s, *c)) {
			*ret_msg = cfg__msg("the %s '%s' contains '%c'; names cannot hold a space, "
					    "':' or '/'",
					    what, s, *c);
			return -EINVAL;
		}
	}
	return 0;
}

int cfg__parse_names(const char *s, char ***ret, char **ret_msg)
{
	char **v = NULL;
	size_t n = 0;
	const char *p = s;

	/* supervisord's list_of_strings: comma-separated, each trimmed;
	 * empty items (a trailing comma) are skipped. */
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *a = p, *b = p + len;
		char **nv;

		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a) {
			nv = realloc(v, (n + 2) * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
			v[n] = strndup(a, (size_t)(b - a));
			v[n + 1] = NULL;
			if (!v[n++])
				goto oom;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	if (!v)
		v = calloc(1, sizeof(*v));
	if (!v)
		goto oom;
	*ret = v;
	return 0;
oom:
	cfg__strv_free(v);
	*ret_msg = NULL;
	return -ENOMEM;
}
