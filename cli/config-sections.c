/*
 * config-sections.c - interpret the raw sections of an INI configuration
 * as a whole: [supervisord] environment=, the sections collie ignores,
 * [group:NAME], [program:NAME], then what only the whole can tell --
 * depends_on names and cycles, and process names unique across programs.
 * (config.c says what becomes of each kind of section.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "banned.h"

/* Sections of supervisord that collie accepts and ignores. */
static const struct {
	const char *name; /* exact, or a prefix when it ends with ':' */
	const char *what;
} ignored[] = {
	{ "unix_http_server", "supervisord's XML-RPC server; collie has its own control socket" },
	{ "inet_http_server", "supervisord's XML-RPC server; collie has its own control socket" },
	{ "supervisorctl", "supervisorctl's settings; collie's client needs none" },
	{ "rpcinterface:", "a supervisord RPC plugin" },
	{ "ctlplugin:", "a supervisorctl plugin" },
	{ "eventlistener:", "an event listener, which collie does not implement; it will not run" },
	{ "fcgi-program:", "a FastCGI program, which collie does not implement; it will not run" },
};

enum sec_kind { SEC_PROGRAM, SEC_GROUP, SEC_INCLUDE, SEC_SUPERVISORD, SEC_IGNORED, SEC_UNKNOWN };

static enum sec_kind kind_of(const char *name, size_t *ret_ignored)
{
	if (strncmp(name, "program:", 8) == 0)
		return SEC_PROGRAM;
	if (strncmp(name, "group:", 6) == 0)
		return SEC_GROUP;
	if (strcmp(name, "include") == 0)
		return SEC_INCLUDE;
	if (strcmp(name, "supervisord") == 0)
		return SEC_SUPERVISORD;
	for (size_t i = 0; i < COL_ARRAY_SIZE(ignored); i++) {
		size_t n = strlen(ignored[i].name);

		if (ignored[i].name[n - 1] == ':' ? strncmp(name, ignored[i].name, n) == 0
						  : strcmp(name, ignored[i].name) == 0) {
			*ret_ignored = i;
			return SEC_IGNORED;
		}
	}
	return SEC_UNKNOWN;
}

static void unknown_section(struct cfg_loader *l, const struct cfg_raw_section *s)
{
	static const char *const known[] = { "program", "group", "include", "supervisord" };
	const char *colon = strchr(s->name, ':');
	char word[64], hint[160] = "";
	const char *near;

	snprintf(word, sizeof(word), "%.*s", colon ? (int)(colon - s->name) : 63, s->name);
	near = cfg__did_you_mean(word, known, COL_ARRAY_SIZE(known));
	if (near)
		snprintf(hint, sizeof(hint), "did you mean [%s%s%.64s]?", near, colon ? ":" : "",
			 colon ? colon + 1 : "");
	if (l->cfg->supervisord)
		cfg__warn(l, s->file, s->line,
			  "unknown section [%s]; ignored, as supervisord "
			  "ignores it%s%s%s",
			  s->name, near ? " (" : "", hint, near ? ")" : "");
	else
		cfg__error(l, s->file, s->line, "unknown section [%s]; %s", s->name,
			   near ? hint
				: "the sections are [program:NAME], [group:NAME] and [include]");
}

/* [supervisord]: environment= applies; the rest is named in one warning. */
static int supervisord_section(struct cfg_loader *l, const struct cfg_raw_section *s)
{
	struct cfg_expand_ctx x = { .here = s->here,
				    .host_node_name = l->hostname,
				    .env = &l->base_env };
	char *names = strdup(""), *v = NULL, *msg = NULL;
	int r = 0;

	for (size_t i = 0; names && r == 0 && i < s->n_keys; i++) {
		const struct cfg_raw_key *k = &s->keys[i];
		char *n;

		if (strcmp(k->name, "environment") == 0) {
			r = cfg__expand(k->value, &x, &v, &msg);
			if (r == 0)
				r = cfg__env_parse_list(v, &l->base_env, &msg);
			if (r == -EINVAL)
				cfg__error(l, k->file, k->line,
					   "key 'environment' in [supervisord]: %s",
					   msg ? msg : "out of memory");
			free(v);
			free(msg);
			v = msg = NULL;
			r = r == -EINVAL ? 0 : r;
			continue;
		}
		n = cfg__msg("%s%s%s", names, *names ? ", " : "", k->name);
		free(names);
		names = n;
	}
	if (names && *names)
		cfg__warn(
			l, s->file, s->line,
			"[supervisord] settings are supervisord's own; collie ignores %s (it uses "
			"only environment= there)",
			names);
	r = names ? r : -ENOMEM;
	free(names);
	return r;
}

/* Is there an earlier section of this name? Report it as an error. */
static bool duplicate(struct cfg_loader *l, size_t i)
{
	const struct cfg_raw_section *s = &l->sections[i];

	for (size_t j = 0; j < i; j++) {
		const struct cfg_raw_section *t = &l->sections[j];

		if (strcmp(t->name, s->name) != 0)
			continue;
		cfg__error(l, s->file, s->line,
			   "[%s] is defined twice, here and at %s:%u; give each a name of its own "
			   "(supervisord would merge them)",
			   s->name, t->file, t->line);
		return true;
	}
	return false;
}

/* The index of the [program:NAME] section, or SIZE_MAX. */
static size_t find_section(const struct cfg_loader *l, const char *prefix, const char *name)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < l->n_sections; i++) {
		const char *s = l->sections[i].name;

		if (strncmp(s, prefix, n) == 0 && strcmp(s + n, name) == 0)
			return i;
	}
	return SIZE_MAX;
}

/* The group a program belongs to, or NULL. */
static const char *group_of(const struct cfg *c, const char *program)
{
	for (size_t i = 0; i < c->n_groups; i++)
		for (char **p = c->groups[i].programs; p && *p; p++)
			if (strcmp(*p, program) == 0)
				return c->groups[i].name;
	return NULL;
}

static void suggest_program(struct cfg_loader *l, const char *file, unsigned line, const char *what,
			    const char *name)
{
	const char **names = calloc(l->n_sections + 1, sizeof(*names));
	size_t n = 0;
	const char *near;

	for (size_t i = 0; names && i < l->n_sections; i++)
		if (strncmp(l->sections[i].name, "program:", 8) == 0)
			names[n++] = l->sections[i].name + 8;
	near = names ? cfg__did_you_mean(name, names, n) : NULL;
	cfg__error(l, file, line, "%s names '%s', which is no [program:NAME]%s%s%s", what, name,
		   near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
	free(names);
}

/* Check a group's members: each a program, in no other group. */
static void group_members(struct cfg_loader *l, const struct cfg_raw_key *k, struct cfg_group *g)
{
	char what[300];
	size_t w = 0;

	snprintf(what, sizeof(what), "programs= in [group:%s]", g->name);
	for (char **p = g->programs; *p; p++) {
		const char *other = group_of(l->cfg, *p);

		if (find_section(l, "program:", *p) != SIZE_MAX && !other) {
			g->programs[w++] = *p;
			continue;
		}
		if (other)
			cfg__error(l, k->file, k->line,
				   "%s names '%s', which is already in "
				   "[group:%s]; a program is in one group",
				   what, *p, other);
		else if (find_section(l, "fcgi-program:", *p) != SIZE_MAX)
			cfg__warn(l, k->file, k->line,
				  "%s names [fcgi-program:%s], which collie "
				  "ignores",
				  what, *p);
		else
			suggest_program(l, k->file, k->line, what, *p);
		free(*p);
	}
	g->programs[w] = NULL;
}

/* One key of a [group:NAME]: programs= or priority=. */
static int group_key(struct cfg_loader *l, const struct cfg_raw_section *s,
		     const struct cfg_raw_key *k, struct cfg_group *g)
{
	struct cfg_expand_ctx x = { .here = s->here,
				    .host_node_name = l->hostname,
				    .env = &l->base_env };
	bool is_prio = strcmp(k->name, "priority") == 0;
	char *msg = NULL, *val = NULL;
	long long prio = 0;
	int r;

	if (!is_prio && strcmp(k->name, "programs") != 0) {
		(l->cfg->supervisord ? cfg__warn : cfg__error)(
			l, k->file, k->line,
			"unknown key '%s' in [%s]; a group has programs= and priority=", k->name,
			s->name);
		return 0;
	}
	r = cfg__expand(k->value, &x, &val, &msg);
	if (r == 0 && is_prio && (r = cfg__parse_int(val, -1000000, 1000000, &prio, &msg)) == 0)
		g->priority = (int)prio;
	else if (r == 0 && !is_prio && (r = cfg__parse_names(val, &g->programs, &msg)) == 0)
		group_members(l, k, g);
	if (r == -EINVAL)
		cfg__error(l, k->file, k->line, "key '%s' in [%s]: %s", k->name, s->name,
			   msg ? msg : "out of memory");
	free(val);
	free(msg);
	return r == -EINVAL ? 0 : r;
}

static int group_section(struct cfg_loader *l, const struct cfg_raw_section *s)
{
	struct cfg *c = l->cfg;
	struct cfg_group *v = realloc(c->groups, (c->n_groups + 1) * sizeof(*v)), *g;
	char *msg = NULL;
	int r = 0;

	if (!v)
		return -ENOMEM;
	c->groups = v;
	g = &v[c->n_groups];
	*g = (struct cfg_group){ .name = strdup(s->name + 6), .priority = 999 };
	if (!g->name)
		return -ENOMEM;
	if (cfg__check_name("group name", g->name, &msg) < 0) {
		cfg__error(l, s->file, s->line, "malformed section header [%s]: %s", s->name,
			   msg ? msg : "out of memory");
		free(msg);
		free(g->name);
		return 0;
	}
	for (size_t i = 0; r == 0 && i < s->n_keys; i++)
		r = group_key(l, s, &s->keys[i], g);
	if (r == 0 && !cfg__raw_get(s, "programs"))
		cfg__error(l, s->file, s->line,
			   "[%s] has no programs= key; list its programs, such as programs = "
			   "web,worker",
			   s->name);
	if (!g->programs)
		g->programs = calloc(1, sizeof(*g->programs));
	c->n_groups++;
	return g->programs ? r : -ENOMEM;
}

static int program_section(struct cfg_loader *l, const struct cfg_raw_section *s)
{
	struct cfg *c = l->cfg;
	struct cfg_program *v = realloc(c->programs, (c->n_programs + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->programs = v;
	v[c->n_programs] = (struct cfg_program){ 0 };
	c->n_programs++;
	return cfg__program_build(l, s, group_of(c, s->name + 8), &v[c->n_programs - 1]);
}

static size_t program_index(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_programs; i++)
		if (c->programs[i].name && strcmp(c->programs[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

/* Depth-first from program i (state: 0 new, 1 on the path, 2 done);
 * on a cycle, path[0..*ret_len) holds it. */
static bool find_cycle(const struct cfg *c, size_t i, unsigned char *state, size_t *path,
		       size_t depth, size_t *ret_len)
{
	state[i] = 1;
	path[depth] = i;
	for (char **d = c->programs[i].depends_on; d && *d; d++) {
		size_t j = program_index(c, *d), k = 0;

		if (j == SIZE_MAX)
			continue;
		if (state[j] == 1) {
			while (path[k] != j)
				k++;
			memmove(path, path + k, (depth - k + 1) * sizeof(*path));
			*ret_len = depth - k + 1;
			return true;
		}
		if (state[j] == 0 && find_cycle(c, j, state, path, depth + 1, ret_len))
			return true;
	}
	state[i] = 2;
	return false;
}

static const struct cfg_raw_key *depends_key(const struct cfg_loader *l, const char *program)
{
	size_t i = find_section(l, "program:", program);

	return i == SIZE_MAX ? NULL : cfg__raw_get(&l->sections[i], "depends_on");
}

static void report_cycle(struct cfg_loader *l, const size_t *path, size_t len)
{
	const struct cfg *c = l->cfg;
	const struct cfg_raw_key *k = depends_key(l, c->programs[path[0]].name);
	char *text = strdup(c->programs[path[0]].name), *t;

	for (size_t i = 1; text && i <= len; i++) {
		t = cfg__msg("%s -> %s", text, c->programs[path[i % len]].name);
		free(text);
		text = t;
	}
	cfg__error(l, k ? k->file : c->programs[path[0]].file, k ? k->line : 0,
		   "depends_on makes a cycle: %s; a program cannot wait for itself, so remove one "
		   "of these dependencies",
		   text ? text : "out of memory");
	free(text);
}

static int check_depends(struct cfg_loader *l)
{
	const struct cfg *c = l->cfg;
	unsigned char *state = calloc(c->n_programs + 1, 1);
	size_t *path = calloc(c->n_programs + 1, sizeof(*path)), len = 0;
	bool cycle = false;

	for (size_t i = 0; state && path && i < c->n_programs; i++) {
		const struct cfg_raw_key *k = depends_key(l, c->programs[i].name);

		for (char **d = c->programs[i].depends_on; k && d && *d; d++)
			if (program_index(c, *d) == SIZE_MAX)
				suggest_program(l, k->file, k->line, "depends_on", *d);
	}
	for (size_t i = 0; state && path && !cycle && i < c->n_programs; i++)
		if (state[i] == 0 && (cycle = find_cycle(c, i, state, path, 0, &len)))
			report_cycle(l, path, len);
	free(state);
	free(path);
	return state && path ? 0 : -ENOMEM;
}

struct named {
	const char *name;
	const struct cfg_program *p;
};

static int compare_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

/* Process names are unique across the configuration. */
static int check_process_names(struct cfg_loader *l)
{
	const struct cfg *c = l->cfg;
	struct named *v;
	size_t n = 0;

	for (size_t i = 0; i < c->n_programs; i++)
		n += c->programs[i].n_procs;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < c->n_programs; i++)
		for (size_t j = 0; j < c->programs[i].n_procs; j++)
			if (c->programs[i].procs[j].name)
				v[n++] = (struct named){ c->programs[i].procs[j].name,
							 &c->programs[i] };
	qsort(v, n, sizeof(*v), compare_named);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i - 1].name, v[i].name) != 0)
			continue;
		cfg__error(l, v[i].p->file, v[i].p->line,
			   "process name '%s' is used twice, by [program:%s] and [program:%s] "
			   "(%s:%u); give each process a process_name of its own",
			   v[i].name, v[i].p->name, v[i - 1].p->name, v[i - 1].p->file,
			   v[i - 1].p->line);
		break;
	}
	free(v);
	return 0;
}

/* Every section but programs and groups: warnings, errors, environment. */
static int other_sections(struct cfg_loader *l, bool *dup)
{
	int r = 0;

	for (size_t i = 0; i < l->n_sections; i++)
		if (strcmp(l->sections[i].name, "supervisord") == 0)
			l->cfg->supervisord = true;
	for (size_t i = 0; r == 0 && i < l->n_sections; i++) {
		const struct cfg_raw_section *s = &l->sections[i];
		size_t ig = 0;

		switch (kind_of(s->name, &ig)) {
		case SEC_SUPERVISORD:
			r = supervisord_section(l, s);
			break;
		case SEC_IGNORED:
			cfg__warn(l, s->file, s->line, "[%s] is %s; section ignored", s->name,
				  ignored[ig].what);
			break;
		case SEC_UNKNOWN:
			if (strcmp(s->name, "program") == 0 || strcmp(s->name, "group") == 0)
				cfg__error(l, s->file, s->line,
					   "malformed section header [%s]: "
					   "write [%s:NAME]",
					   s->name, s->name);
			else
				unknown_section(l, s);
			break;
		case SEC_PROGRAM:
		case SEC_GROUP:
			dup[i] = duplicate(l, i);
			break;
		case SEC_INCLUDE:
			break;
		}
	}
	return r;
}

int cfg__interpret(struct cfg_loader *l)
{
	bool *dup = calloc(l->n_sections + 1, sizeof(*dup));
	size_t ig;
	int r;

	if (!dup)
		return -ENOMEM;
	r = other_sections(l, dup);
	for (size_t i = 0; r == 0 && i < l->n_sections; i++)
		if (!dup[i] && kind_of(l->sections[i].name, &ig) == SEC_GROUP)
			r = group_section(l, &l->sections[i]);
	for (size_t i = 0; r == 0 && i < l->n_sections; i++)
		if (!dup[i] && kind_of(l->sections[i].name, &ig) == SEC_PROGRAM)
			r = program_section(l, &l->sections[i]);
	if (r == 0)
		r = check_depends(l);
	if (r == 0)
		r = check_process_names(l);
	free(dup);
	return r;
}

struct cfg *cfg_ref(struct cfg *cfg)
{
	if (cfg)
		cfg->refs++;
	return cfg;
}

void cfg_unref(struct cfg *cfg)
{
	if (!cfg || --cfg->refs > 0)
		return;
	for (size_t i = 0; i < cfg->n_programs; i++)
		cfg__program_release(&cfg->programs[i]);
	free(cfg->programs);
	for (size_t i = 0; i < cfg->n_groups; i++) {
		free(cfg->groups[i].name);
		cfg__strv_free(cfg->groups[i].programs);
	}
	free(cfg->groups);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i].text);
	free(cfg->warnings);
	cfg__strv_free(cfg->files);
	free(cfg->path);
	free(cfg);
}

const struct cfg_program *cfg_find_program(const struct cfg *cfg, const char *name)
{
	size_t i = program_index(cfg, name);

	return i == SIZE_MAX ? NULL : &cfg->programs[i];
}
