/*
 * control-status.c - the status command: the state of each process and
 * the memory of its process group.
 *
 * Memory is that of every live member of the process's group, found by
 * walking the process tree down from collie: each member is a descendant
 * of collie (collie is a subreaper, so a member whose parent died is
 * collie's child). The walk descends only through members, so it reads
 * /proc for collie's children and for the selected groups' members and
 * their children, and for orphans collie adopted -- not for the other
 * processes' pipelines, nor every process of the machine. A member that
 * left the group (setsid, setpgid) is not counted; neither is what it
 * starts. RSS comes from /proc/PID/stat (cheap; shared pages are counted
 * once per process); PSS, when asked, from smaps_rollup (shared pages
 * divided among their users; costs a page-table walk per process).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collie/proc.h"
#include "collie/sig.h"
#include "control-internal.h"
#include "banned.h"

/* The memory of one process group. */
struct group_mem {
	pid_t pgid;
	uint64_t rss, pss;
	unsigned procs;
	bool pss_failed; /* some member's PSS could not be read */
};

struct pids {
	pid_t *v;
	size_t n, cap;
};

static int pids_push(struct pids *q, pid_t pid)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		pid_t *v = realloc(q->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n++] = pid;
	return 0;
}

/* The children of pid (0: collie) into *out, growing it as needed. */
static int children(pid_t pid, struct pids *out)
{
	for (;;) {
		int n = col_proc_children(pid, out->v, out->cap);
		pid_t *v;

		if (n < 0)
			return n;
		if ((size_t)n <= out->cap) {
			out->n = (size_t)n;
			return 0;
		}
		v = realloc(out->v, (size_t)n * 2 * sizeof(*v));
		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = (size_t)n * 2;
	}
}

/* Count pid if it belongs to one of the groups, and queue it to look
 * at its children. */
static void visit(pid_t pid, struct group_mem *g, size_t n, bool pss, struct pids *queue)
{
	struct col_proc_stat st;
	uint64_t v;

	if (col_proc_stat(pid, &st) < 0 || st.state == 'Z')
		return;
	for (size_t i = 0; i < n; i++) {
		if (g[i].pgid != st.pgid)
			continue;
		g[i].rss += st.rss;
		g[i].procs++;
		if (pss && col_proc_pss(pid, &v) >= 0)
			g[i].pss += v;
		else if (pss)
			g[i].pss_failed = true;
		pids_push(queue, pid);
		return;
	}
}

/* Whether the processes of p's pipeline are counted in g. */
static bool measured(struct sv_proc *p, const struct group_mem *g, size_t n)
{
	struct sv_info in;

	sv_info(p, &in);
	for (size_t i = 0; i < n; i++)
		if (g[i].pgid == in.pid)
			return true;
	return false;
}

static void measure(struct sv *sv, struct group_mem *g, size_t n, bool pss)
{
	struct pids queue = { 0 }, kids = { 0 };

	if (n == 0 || children(0, &kids) < 0)
		goto out;
	for (size_t i = 0; i < kids.n; i++) {
		struct sv_proc *owner = sv_find_pid(sv, kids.v[i]);

		/* The pipeline of a process not asked about: not read at all
		 * (`status web` costs the same with 1 program or 100). */
		if (!owner || measured(owner, g, n))
			visit(kids.v[i], g, n, pss, &queue);
	}
	/* queue grows while it is walked: breadth first down the groups */
	for (size_t q = 0; q < queue.n; q++) {
		if (children(queue.v[q], &kids) < 0)
			continue;
		for (size_t i = 0; i < kids.n; i++)
			visit(kids.v[i], g, n, pss, &queue);
	}
out:
	free(queue.v);
	free(kids.v);
}

static json_t *exit_json(const struct col_status *st)
{
	char text[64], sig[32];

	col_status_format(st, text, sizeof(text));
	if (st->kind == COL_STATUS_EXITED)
		return json_pack("{s:s, s:i}", "text", text, "code", st->code);
	col_signal_format(st->code, sig, sizeof(sig));
	return json_pack("{s:s, s:s, s:b}", "text", text, "signal", sig, "core_dumped",
			 st->kind == COL_STATUS_DUMPED);
}

static json_t *memory_json(const struct group_mem *g, bool pss)
{
	json_t *o;

	if (!g || g->procs == 0)
		return json_null();
	o = json_pack("{s:I, s:i}", "rss", (json_int_t)g->rss, "processes", (int)g->procs);
	if (o && pss)
		json_object_set_new(o, "pss", g->pss_failed ? json_null() : json_integer(g->pss));
	return o;
}

static json_t *proc_json(struct sv_proc *p, const struct group_mem *g, bool pss, uint64_t now)
{
	struct sv_info in;
	json_t *o;

	sv_info(p, &in);
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:i}", "name", in.name, "program", in.program,
		      "group", in.group, "state", sv_state_name(in.state), "pid",
		      (json_int_t)in.pid, "state_ms", (json_int_t)((now - in.since) / 1000),
		      "restarts", (int)in.restarts);
	if (!o)
		return NULL;
	json_object_set_new(o, "uptime_ms",
			    in.pid ? json_integer((json_int_t)((now - in.started) / 1000))
				   : json_null());
	json_object_set_new(o, "last_exit", in.has_exit ? exit_json(&in.last_exit) : json_null());
	json_object_set_new(o, "memory", in.pid ? memory_json(g, pss) : json_null());
	return o;
}

json_t *cmd_status(struct control *ctl, json_t *args)
{
	bool pss = json_is_true(json_object_get(args, "pss"));
	json_t *err = NULL, *list;
	struct group_mem *g;
	struct sv_proc **procs;
	uint64_t now = col_now();
	ssize_t n = cmd_select(ctl, args, true, &procs, &err);
	size_t k = 0;

	if (n < 0)
		return err;
	g = calloc((size_t)n + 1, sizeof(*g));
	for (ssize_t i = 0; g && i < n; i++) {
		struct sv_info in;

		sv_info(procs[i], &in);
		if (in.pid)
			g[k++].pgid = in.pid; /* the leader's pid is the group's id */
	}
	if (g)
		measure(ctl->sv, g, k, pss);
	list = json_array();
	for (ssize_t i = 0, j = 0; i < n; i++) {
		struct sv_info in;

		sv_info(procs[i], &in);
		json_array_append_new(list,
				      proc_json(procs[i], g && in.pid ? &g[j] : NULL, pss, now));
		j += in.pid != 0;
	}
	free(g);
	free(procs);
	return json_pack("{s:b, s:I, s:o}", "ok", 1, "pid", (json_int_t)getpid(), "processes",
			 list);
}
