/*
 * config-print.c - cfg_print(): the effective configuration, as `collie
 * check` shows it: every program with every setting, defaults included,
 * then each of its processes with what was expanded for it.
 *
 * The output reads like the INI it came from (key = value, ; comments)
 * so that it can be compared with the file, but it is for people: it is
 * not meant to be loaded again. Commands run without a shell are shown
 * as col_cmdline_format() writes them back -- quoted so that every word
 * boundary is visible -- and shell commands as the /bin/sh -c line that
 * runs them. Of the environment, only what differs from collie's own is
 * shown.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "collie/cmdline.h"
#include "collie/sig.h"
#include "config.h"
#include "banned.h"

static void put_secs(FILE *out, const char *key, uint64_t usec)
{
	char frac[8];
	int n;

	if (usec % 1000000 == 0) {
		fprintf(out, "%s = %llu\n", key, (unsigned long long)(usec / 1000000));
		return;
	}
	n = snprintf(frac, sizeof(frac), "%06llu", (unsigned long long)(usec % 1000000));
	while (n > 1 && frac[n - 1] == '0')
		frac[--n] = 0;
	fprintf(out, "%s = %llu.%s\n", key, (unsigned long long)(usec / 1000000), frac);
}

static void put_size(FILE *out, uint64_t v)
{
	static const char *const units[] = { "GB", "MB", "KB" };
	static const uint64_t mult[] = { 1ULL << 30, 1ULL << 20, 1ULL << 10 };

	if (v == (uint64_t)RLIM_INFINITY) {
		fputs("unlimited", out);
		return;
	}
	for (size_t i = 0; v && i < COL_ARRAY_SIZE(units); i++) {
		if (v % mult[i] == 0) {
			fprintf(out, "%llu%s", (unsigned long long)(v / mult[i]), units[i]);
			return;
		}
	}
	fprintf(out, "%llu", (unsigned long long)v);
}

static const char *bool_text(bool b)
{
	return b ? "true" : "false";
}

static void put_list(FILE *out, const char *key, char *const *v)
{
	fprintf(out, "%s =", key);
	for (size_t i = 0; v && v[i]; i++)
		fprintf(out, "%s%s", i ? ", " : " ", v[i]);
	fputc('\n', out);
}

static void put_user(FILE *out, const struct cfg_program *p)
{
	if (!p->user) {
		fputs("user = ; collie's own\n", out);
		return;
	}
	fprintf(out, "user = %s ; uid %u, gid %u, groups", p->user, (unsigned)p->uid,
		(unsigned)p->gid);
	for (size_t i = 0; i < p->n_groups; i++)
		fprintf(out, "%s%u", i ? "," : " ", (unsigned)p->groups[i]);
	fputc('\n', out);
}

static void put_rlimits(FILE *out, const struct cfg_program *p)
{
	static const struct {
		int resource;
		const char *key;
	} names[] = {
		{ RLIMIT_NOFILE, "rlimit_nofile" },
		{ RLIMIT_NPROC, "rlimit_nproc" },
		{ RLIMIT_AS, "rlimit_as" },
		{ RLIMIT_CORE, "rlimit_core" },
	};

	for (size_t i = 0; i < COL_ARRAY_SIZE(names); i++) {
		size_t j = 0;

		while (j < p->n_rlimits && p->rlimits[j].resource != names[i].resource)
			j++;
		fprintf(out, "%s = ", names[i].key);
		if (j < p->n_rlimits &&
		    (names[i].resource == RLIMIT_NOFILE || names[i].resource == RLIMIT_NPROC) &&
		    p->rlimits[j].value != (uint64_t)RLIM_INFINITY)
			fprintf(out, "%llu", (unsigned long long)p->rlimits[j].value);
		else if (j < p->n_rlimits)
			put_size(out, p->rlimits[j].value);
		else
			fputs("; inherited", out);
		fputc('\n', out);
	}
}

static void put_supervision(FILE *out, const struct cfg_program *p, bool numprocs)
{
	static const char *const restart[] = { "false", "unexpected", "true" };
	char sig[32];

	fprintf(out, "group = %s\npriority = %d\nautostart = %s\nautorestart = %s\nexitcodes =",
		p->group, p->priority, bool_text(p->autostart), restart[p->autorestart]);
	for (size_t i = 0; i < p->n_exitcodes; i++)
		fprintf(out, "%s%d", i ? "," : " ", p->exitcodes[i]);
	fputc('\n', out);
	put_secs(out, "startsecs", p->startsecs);
	fprintf(out, "startretries = %d\n", p->startretries);
	col_signal_format(p->stopsignal, sig, sizeof(sig));
	fprintf(out, "stopsignal = %s\n", strncmp(sig, "SIG", 3) == 0 ? sig + 3 : sig);
	put_secs(out, "stopwaitsecs", p->stopwait);
	fprintf(out, "stopasgroup = %s\nkillasgroup = %s\n", bool_text(p->stopasgroup),
		bool_text(p->killasgroup));
	put_user(out, p);
	if (p->umask < 0)
		fputs("umask = ; inherited\n", out);
	else
		fprintf(out, "umask = %03o\n", (unsigned)p->umask);
	fprintf(out, "redirect_stderr = %s\n", bool_text(p->redirect_stderr));
	if (numprocs)
		fprintf(out, "numprocs = %zu\n", p->n_procs);
}

static void put_extensions(FILE *out, const struct cfg_program *p)
{
	static const char *const ready[] = { "startsecs", "notify", "fd:", "tcp:" };
	static const char *const ts[] = { "none", "iso8601", "unix" };

	fputs("; collie extensions\n", out);
	put_secs(out, "backoff_min", p->backoff_min);
	put_secs(out, "backoff_max", p->backoff_max);
	put_list(out, "depends_on", p->depends_on);
	fprintf(out, "ready = %s", ready[p->ready]);
	if (p->ready == CFG_READY_FD || p->ready == CFG_READY_TCP)
		fprintf(out, "%d", p->ready_arg);
	fprintf(out, "\ncritical = %s\n", bool_text(p->critical));
	put_rlimits(out, p);
	fprintf(out, "log_timestamps = %s\nshell = %s\nenvfile = %s\n", ts[p->log_timestamps],
		bool_text(p->shell), p->envfile ? p->envfile : "");
}

static void put_command(FILE *out, const struct cfg_process *proc, bool shell)
{
	struct col_cmdline *cl = NULL;
	char *buf;
	int n;

	if (shell) {
		fputs("    command = /bin/sh -c '", out);
		for (const char *c = proc->command; *c; c++) {
			if (*c == '\'')
				fputs("'\\''", out);
			else
				fputc(*c, out);
		}
		fputs("'\n", out);
		return;
	}
	/* parsed when loaded, so this succeeds but for lack of memory */
	if (col_cmdline_parse(proc->command, proc->env, 0, &cl, NULL) < 0 ||
	    (n = col_cmdline_format(cl, NULL, 0)) < 0 || !(buf = malloc((size_t)n + 1))) {
		fprintf(out, "    command = %s\n", proc->command);
		col_cmdline_free(cl);
		return;
	}
	col_cmdline_format(cl, buf, (size_t)n + 1);
	fprintf(out, "    command = %s\n", buf);
	free(buf);
	col_cmdline_free(cl);
}

static void put_log(FILE *out, const char *key, const struct cfg_log *log)
{
	fprintf(out, "    %s = %s ; maxbytes ", key, log->path ? log->path : "NONE");
	put_size(out, log->maxbytes);
	fprintf(out, ", backups %d, syslog %s\n", log->backups, bool_text(log->syslog));
}

static void put_process(FILE *out, const struct cfg_program *p, const struct cfg_process *proc)
{
	fprintf(out, "\n  [process:%s] ; process_num %d\n", proc->name, proc->num);
	put_command(out, proc, p->shell);
	fprintf(out, "    directory = %s\n", proc->directory ? proc->directory : "; inherited");
	for (char **e = proc->env; e && *e; e++) {
		size_t n = strcspn(*e, "=");
		char name[256];
		const char *now, *val = (*e)[n] ? *e + n + 1 : "";

		snprintf(name, sizeof(name), "%.*s", (int)n, *e);
		now = getenv(name);
		if (!now || strcmp(now, val) != 0)
			fprintf(out, "    environment %s\n", *e);
	}
	put_log(out, "stdout_logfile", &proc->out);
	if (!p->redirect_stderr)
		put_log(out, "stderr_logfile", &proc->err);
}

void cfg_print(const struct cfg *cfg, FILE *out)
{
	size_t n_procs = 0;

	for (size_t i = 0; i < cfg->n_programs; i++)
		n_procs += cfg->programs[i].n_procs;
	fprintf(out, "; collie configuration: %s (%s)\n; %zu programs, %zu processes; files read:",
		cfg->path, cfg->procfile ? "Procfile" : "INI", cfg->n_programs, n_procs);
	for (char **f = cfg->files; f && *f; f++)
		fprintf(out, " %s", *f);
	fputc('\n', out);
	for (size_t i = 0; i < cfg->n_groups; i++) {
		fprintf(out, "\n[group:%s]\npriority = %d\n", cfg->groups[i].name,
			cfg->groups[i].priority);
		put_list(out, "programs", cfg->groups[i].programs);
	}
	for (size_t i = 0; i < cfg->n_programs; i++) {
		const struct cfg_program *p = &cfg->programs[i];

		fprintf(out, "\n[program:%s] ; %s:%u\n", p->name, p->file, p->line);
		put_supervision(out, p, true);
		put_extensions(out, p);
		for (size_t j = 0; j < p->n_procs; j++)
			put_process(out, p, &p->procs[j]);
	}
}

char *cfg_describe_process(const struct cfg_program *p, const struct cfg_process *proc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return NULL;
	put_supervision(out, p, false);
	put_extensions(out, p);
	put_process(out, p, proc);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
