/*
 * config-internal.h - what the files of the configuration loader share.
 *
 * Loading goes in two passes. First every INI file (the main one and its
 * includes) is read with inih into raw sections: names, keys, values and
 * the file:line of each, nothing interpreted (config-ini.c). Then the raw
 * sections are interpreted as a whole (config.c, config-program.c), so a
 * [group] may name programs of a later file and [supervisord]
 * environment= applies whatever its place. A Procfile skips the first
 * pass (procfile.c).
 *
 * Every error and warning is collected with its file:line; loading goes
 * on after an error so that one `collie check` shows them all.
 */
#ifndef COLLIE_CLI_CONFIG_INTERNAL_H
#define COLLIE_CLI_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "collie/common.h"
#include "config.h"

/* A NUL byte would cut a line short, the rest of it silently lost. */
#define CFG_NUL_MSG \
	"the line holds a NUL byte; is this a text file? (the rest of the line would be lost)"

/* Past this many errors the rest are counted, not kept. */
#define CFG_MAX_ERRORS 50

/* A list of NAME=value strings, kept NULL-terminated. */
struct cfg_env {
	char **v;   /* owned, NULL-terminated when cap > 0 */
	size_t n;   /* entries */
	size_t cap; /* allocated slots, including the NULL */
};

/* One key = value of an INI section. */
struct cfg_raw_key {
	char *name;	  /* lower-cased, as configparser does */
	char *value;	  /* continuation lines joined with '\n' */
	const char *file; /* points into cfg->files */
	unsigned line;	  /* line of the key */
	unsigned *lines;  /* line of each line of value (continuations) */
	size_t n_lines;
};

/* One [section] of an INI file. */
struct cfg_raw_section {
	char *name;	  /* between the brackets, as written */
	const char *file; /* points into cfg->files */
	unsigned line;	  /* line of the header */
	char *here;	  /* absolute directory of file, for %(here)s */
	struct cfg_raw_key *keys;
	size_t n_keys;
};

/* The state of one cfg_load(). */
struct cfg_loader {
	struct cfg *cfg;		  /* what is being built */
	char **errors;			  /* "FILE:LINE: ..." */
	size_t n_errors;		  /* including those past CFG_MAX_ERRORS */
	bool oom;			  /* an allocation failed: report that alone */
	struct cfg_raw_section *sections; /* every section read, in order */
	size_t n_sections;
	struct cfg_env base_env; /* environ + [supervisord] environment= */
	char hostname[256];	 /* %(host_node_name)s */
	char *cwd;		 /* for %(here)s of relative paths */
};

/* %(name)s expansion: what names a value may use. */
struct cfg_expand_ctx {
	const char *here;	  /* directory of the file; always set */
	const char *program_name; /* NULL outside a program */
	const char *group_name;
	const char *host_node_name;
	int process_num; /* when has_process */
	int numprocs;	 /* when has_process */
	bool has_process;
	const struct cfg_env *env; /* ENV_X: X looked up here */
};

/* config.c: messages. */
void cfg__error(struct cfg_loader *l, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void cfg__warn(struct cfg_loader *l, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *cfg__add_file(struct cfg_loader *l, const char *path);
bool cfg__file_seen(const struct cfg_loader *l, const char *path);
char *cfg__absolute_dir(const struct cfg_loader *l, const char *path);
char *cfg__join_path(const char *dir, const char *path);
const char *cfg__did_you_mean(const char *word, const char *const *candidates, size_t n);
void *cfg__oom(struct cfg_loader *l, void *p);

/* config-sections.c: interpret the raw sections into l->cfg. */
int cfg__interpret(struct cfg_loader *l);

/* config-fds.c: an error when the config needs more fds than the hard
 * RLIMIT_NOFILE allows. 0, or -ENOMEM. */
int cfg__check_fds(struct cfg_loader *l);

/* config-ini.c: read an INI file and, recursively, its includes. */
int cfg__ini_read(struct cfg_loader *l, const char *path, int depth);
const struct cfg_raw_key *cfg__raw_get(const struct cfg_raw_section *s, const char *name);
void cfg__raw_release(struct cfg_loader *l);

/* config-program.c: one [program:NAME] section into a program. */
int cfg__program_build(struct cfg_loader *l, const struct cfg_raw_section *s, const char *group,
		       struct cfg_program *p);
void cfg__program_release(struct cfg_program *p);
void cfg__program_defaults(struct cfg_program *p);

/* procfile.c: a Procfile and the .env beside it. */
int cfg__procfile_load(struct cfg_loader *l, const char *path, const struct cfg_load_opts *opts);

/* config-expand.c */
int cfg__expand(const char *text, const struct cfg_expand_ctx *x, char **ret, char **ret_msg);

/* config-env.c: environments, environment= and env files. */
int cfg__env_from_environ(struct cfg_env *e);
int cfg__env_copy(struct cfg_env *dst, const struct cfg_env *src);
int cfg__env_set(struct cfg_env *e, const char *name, size_t name_len, const char *value);
const char *cfg__env_get(const struct cfg_env *e, const char *name, size_t name_len);
char **cfg__env_take(struct cfg_env *e);
void cfg__env_release(struct cfg_env *e);
int cfg__env_parse_list(const char *text, struct cfg_env *e, char **ret_msg);
int cfg__env_read_file(struct cfg_loader *l, const char *path, struct cfg_env *e);

/* config-value.c: typed values. Each returns 0, or -EINVAL with *ret_msg
 * (malloc'd) saying what is wrong and what would be right. */
int cfg__parse_bool(const char *s, bool *ret, char **ret_msg);
int cfg__parse_int(const char *s, long long min, long long max, long long *ret, char **ret_msg);
int cfg__parse_secs(const char *s, uint64_t *ret, char **ret_msg);
int cfg__parse_size(const char *s, bool unlimited_ok, uint64_t *ret, char **ret_msg);
int cfg__parse_signal(const char *s, int *ret, char **ret_msg);
int cfg__parse_umask(const char *s, int *ret, char **ret_msg);
int cfg__parse_exitcodes(const char *s, struct cfg_program *p, char **ret_msg);
int cfg__parse_autorestart(const char *s, enum cfg_autorestart *ret, char **ret_msg);
int cfg__parse_ready(const char *s, enum cfg_ready *ret, int *ret_arg, char **ret_msg);
int cfg__parse_timestamps(const char *s, enum cfg_timestamps *ret, char **ret_msg);
int cfg__parse_user(const char *s, struct cfg_program *p, char **ret_msg);
int cfg__parse_names(const char *s, char ***ret, char **ret_msg);
int cfg__check_name(const char *what, const char *s, char **ret_msg);
char *cfg__msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cfg__strv_free(char **v);
size_t cfg__strv_len(char *const *v);

/* config-print.c helpers shared with check.c are in config.h (cfg_print). */

#endif
