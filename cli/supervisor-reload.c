/*
 * supervisor-reload.c - sv_reload(): apply a new configuration to a
 * running supervisor, as supervisorctl's `update` does, but per process.
 *
 * Decisions that are not obvious:
 *  - A process is unchanged when what `collie check` shows of it and of
 *    its program's settings is the same text (cfg_describe_process()):
 *    one definition of "the same" for the people reading check's output
 *    and for the reload. numprocs is left out, so going from 2 to 3
 *    processes adds the third and leaves the first two running; so is the
 *    place of the definition (a line moved is not a change).
 *  - An unchanged process keeps running, with its pipes, its counters
 *    and its state; it only takes the new configuration's (equal)
 *    settings. A changed one is stopped as `collie stop` would, and its
 *    successor of the same name starts (if autostart) once it is gone, so
 *    two never hold one port or log file at once. A removed one is
 *    stopped and forgotten. An added one starts if autostart.
 *  - Everything is allocated before anything changes: a reload that runs
 *    out of memory or file descriptors changes nothing.
 *  - A retired process leaves sv->procs at once (status no longer shows
 *    it, a name selects only its successor) and lives on in sv->retired
 *    until it has stopped; `collie up` still waits for it at exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor-internal.h"
#include "banned.h"

enum change { CHANGE_NONE, CHANGE_ADDED, CHANGE_CHANGED };

/* Whether old runs as the new configuration's (prog, cp) would. */
static bool same(const struct sv_proc *old, const struct cfg_program *prog,
		 const struct cfg_process *cp, int *ret_error)
{
	char *a = cfg_describe_process(old->prog, old->cp);
	char *b = cfg_describe_process(prog, cp);
	bool eq = a && b && strcmp(a, b) == 0;

	if (!a || !b)
		*ret_error = -ENOMEM;
	free(a);
	free(b);
	return eq;
}

static ssize_t index_of(const struct sv *sv, const char *name)
{
	for (size_t i = 0; i < sv->n_procs; i++)
		if (strcmp(sv->procs[i]->cp->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static int note(char ***list, size_t *n, const char *name)
{
	char **grown = realloc(*list, (*n + 2) * sizeof(**list));

	if (!grown)
		return -ENOMEM;
	*list = grown;
	if (!(grown[*n] = strdup(name)))
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

void sv_reload_report_release(struct sv_reload_report *r)
{
	char **lists[] = { r->added, r->changed, r->removed };

	for (size_t i = 0; i < COL_ARRAY_SIZE(lists); i++) {
		for (char **s = lists[i]; s && *s; s++)
			free(*s);
		free(lists[i]);
	}
	memset(r, 0, sizeof(*r));
}

/*
 * What becomes of each process. Slot k is the new configuration's k-th
 * process: slot[k].p runs it (an old process kept, or a new one).
 * kept[o]: old process o stays; succ[o]: the new one that replaces it.
 */
struct slot {
	struct sv_proc *p;
	const struct cfg_program *prog;
	const struct cfg_process *cp;
	enum change change;
};

struct plan {
	struct slot *slot;
	size_t n;
	bool *kept;
	struct sv_proc **succ;
};

/* Make the new list: old processes kept, new ones made (with their
 * capture). 0, or -errno (plan_release() frees what was made). */
static int build(struct sv *sv, struct cfg *cfg, struct plan *pl)
{
	size_t k = 0;
	int r = 0;

	for (size_t i = 0; i < cfg->n_programs; i++) {
		const struct cfg_program *prog = &cfg->programs[i];

		for (size_t j = 0; j < prog->n_procs; j++, k++) {
			struct slot *s = &pl->slot[k];
			ssize_t o = index_of(sv, prog->procs[j].name);

			s->prog = prog;
			s->cp = &prog->procs[j];
			if (o >= 0 && same(sv->procs[o], prog, s->cp, &r)) {
				pl->kept[o] = true;
				s->p = sv->procs[o];
				s->change = CHANGE_NONE;
				continue;
			}
			if (r < 0)
				return r;
			s->change = o >= 0 ? CHANGE_CHANGED : CHANGE_ADDED;
			s->p = sv__proc_new(sv, cfg, prog, s->cp);
			if (!s->p)
				return -ENOMEM;
			if (o >= 0)
				pl->succ[o] = s->p;
			if (sv->logs && (r = logs_add(sv->logs, cfg, prog, s->cp, &s->p->log)) < 0)
				return r;
		}
	}
	return 0;
}

/* The names for the report. */
static int report(const struct sv *sv, const struct plan *pl, struct sv_reload_report *rep)
{
	int r = 0;

	for (size_t k = 0; r >= 0 && k < pl->n; k++) {
		const char *name = pl->slot[k].cp->name;

		if (pl->slot[k].change == CHANGE_ADDED)
			r = note(&rep->added, &rep->n_added, name);
		else if (pl->slot[k].change == CHANGE_CHANGED)
			r = note(&rep->changed, &rep->n_changed, name);
		else
			rep->n_unchanged++;
	}
	for (size_t o = 0; r >= 0 && o < sv->n_procs; o++)
		if (!pl->kept[o] && !pl->succ[o])
			r = note(&rep->removed, &rep->n_removed, sv->procs[o]->cp->name);
	return r;
}

static void plan_release(struct plan *pl, bool failed)
{
	for (size_t k = 0; failed && pl->slot && k < pl->n; k++) {
		if (pl->slot[k].change != CHANGE_NONE && pl->slot[k].p) {
			logs_remove(pl->slot[k].p->log);
			sv__proc_free(pl->slot[k].p);
		}
	}
	free(pl->slot);
	free(pl->kept);
	free(pl->succ);
}

/* Everything is allocated: make it so. list has room for pl->n. */
static void apply(struct sv *sv, struct cfg *cfg, struct plan *pl, struct sv_proc **list)
{
	struct sv_proc **old = sv->procs;
	size_t n_old = sv->n_procs;

	for (size_t k = 0; k < pl->n; k++) {
		struct slot *s = &pl->slot[k];
		struct sv_proc *p = s->p;

		list[k] = p;
		if (s->change == CHANGE_NONE) {
			struct cfg *was = p->cfg;

			p->prog = s->prog;
			p->cp = s->cp;
			p->cfg = cfg_ref(cfg);
			if (p->log)
				logs_rebind(p->log, cfg, s->prog, s->cp);
			cfg_unref(was);
		} else if (s->prog->autostart) {
			p->want_start = true;
		}
	}
	sv->procs = list;
	sv->n_procs = pl->n;
	/* Retire after the switch: the hooks see the new list. */
	for (size_t o = 0; o < n_old; o++) {
		if (pl->kept[o])
			continue;
		if (pl->succ[o]) {
			/* A process still waiting for the one it replaces (two
			 * reloads in a row) never started: its successor waits
			 * for that older one, which may still be stopping. */
			struct sv_proc *gone = old[o]->replaces ? old[o]->replaces : old[o];

			old[o]->replaces = NULL;
			pl->succ[o]->replaces = gone;
			gone->replaced_by = pl->succ[o];
		}
		sv__proc_retire(old[o]);
	}
	free(old);
}

int sv_reload(struct sv *sv, struct cfg *cfg, struct sv_reload_report *ret)
{
	struct plan pl = { 0 };
	struct sv_proc **list = NULL, **retired;
	int r = -ENOMEM;

	memset(ret, 0, sizeof(*ret));
	if (sv->stopping_all)
		return -ESHUTDOWN;
	for (size_t i = 0; i < cfg->n_programs; i++)
		pl.n += cfg->programs[i].n_procs;
	pl.slot = calloc(pl.n + 1, sizeof(*pl.slot));
	pl.kept = calloc(sv->n_procs + 1, sizeof(*pl.kept));
	pl.succ = calloc(sv->n_procs + 1, sizeof(*pl.succ));
	list = calloc(pl.n + 1, sizeof(*list));
	/* room to retire every process there is now */
	retired = realloc(sv->retired, (sv->n_retired + sv->n_procs + 1) * sizeof(*retired));
	if (retired)
		sv->retired = retired;
	if (pl.slot && pl.kept && pl.succ && list && retired)
		r = build(sv, cfg, &pl);
	if (r >= 0)
		r = report(sv, &pl, ret);
	if (r < 0) {
		sv_reload_report_release(ret);
		plan_release(&pl, true);
		free(list);
		return r;
	}
	apply(sv, cfg, &pl, list);
	plan_release(&pl, false);
	sv__pump(sv);
	return 0;
}
