/*
 * control-cmd.c - what the control socket's commands do (the protocol
 * is docs/protocol.md): name selection, start/stop/restart and their
 * waiting, signal, pid, down, update. status is control-status.c; logs
 * and reopen are control-logs.c.
 *
 * Decisions that are not obvious:
 *  - Names are checked before anything is done: one unknown name fails
 *    the whole request and touches nothing.
 *  - start/stop/restart answer when the processes got where they were
 *    sent, not when the order was given: stop when each is STOPPED (or
 *    EXITED/FATAL), start when each is RUNNING (ok) or FATAL, or was
 *    stopped before it got there (failed). A start that waits for its
 *    depends_on waits with it. restart is stop, then start. "wait": false
 *    answers at once with the states of the moment.
 *  - The supervisor reports transitions from inside itself, where it may
 *    not be re-entered (a restart's start would be). So a transition is
 *    only noted in the waiting requests (which states each process went
 *    through: a process may pass RUNNING and be EXITED again within one
 *    turn), and they are looked at again from a zero-delay timer.
 *  - What was asked goes on without anyone waiting: a request whose
 *    connection closes, or that was made with "wait": false, is detached
 *    and driven to its end all the same (a restart's start still comes
 *    after its stop), then dropped without a reply.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collie/sig.h"
#include "control-internal.h"
#include "banned.h"

enum verb { VERB_START, VERB_STOP, VERB_RESTART, VERB_UPDATE };
enum phase { PHASE_STOP, PHASE_START, PHASE_DONE };

/* One process a start/stop/restart request waits on. */
struct target {
	struct sv_proc *p; /* NULL once a reload removed it: then gone and gone_state */
	char *gone;
	const char *gone_state;
	enum phase phase;
	unsigned seen; /* 1 << state for each state entered in this phase */
	bool ok;
	const char *message; /* static text for the reply */
};

struct cmd_wait {
	struct control *ctl;
	struct cmd_wait *next; /* in ctl->detached, once its connection is gone */
	enum verb verb;
	json_t *reply; /* update: the reply, sent once the retired processes stopped */
	size_t n;
	struct target t[];
};

static const char *const verb_names[] = { "start", "stop", "restart", "update" };

static void wait_free(struct cmd_wait *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].gone);
	json_decref(w->reply);
	free(w);
}

json_t *cmd_error(const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", text);
}

/* Whether name selects p (see cmd_select()). */
static bool matches(const char *name, const struct sv_info *in)
{
	const char *colon = strrchr(name, ':');
	size_t g = colon ? (size_t)(colon - name) : 0;

	if (strcmp(name, "all") == 0 || strcmp(name, in->name) == 0)
		return true;
	if (!colon)
		return false;
	/* GROUP:* and GROUP:NAME; a program counts as its own group too */
	if (!(strncmp(name, in->group, g) == 0 && in->group[g] == 0) &&
	    !(strncmp(name, in->program, g) == 0 && in->program[g] == 0))
		return false;
	return strcmp(colon + 1, "*") == 0 || strcmp(colon + 1, in->name) == 0;
}

/* Mark what name selects; false when it selects nothing. A bare program
 * or group name selects its processes when no process has that name. */
static bool mark(struct sv *sv, const char *name, bool *marked)
{
	size_t n = sv_count(sv);
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		struct sv_info in;

		sv_info(sv_at(sv, i), &in);
		if (matches(name, &in))
			any = marked[i] = true;
	}
	for (size_t i = 0; !any && !strchr(name, ':') && i < n; i++) {
		struct sv_info in;

		sv_info(sv_at(sv, i), &in);
		if (strcmp(name, in.program) == 0 || strcmp(name, in.group) == 0)
			any = marked[i] = true;
	}
	return any;
}

/* "'a', 'b'" for the unknown names. */
static json_t *unknown_names(json_t *names, const bool *unknown, size_t count)
{
	char text[400];
	size_t k = 0;
	json_t *v;
	size_t i;

	text[0] = 0;
	json_array_foreach (names, i, v) {
		if (unknown[i] && k < sizeof(text))
			k += (size_t)snprintf(text + k, sizeof(text) - k, "%s'%s'", k ? ", " : "",
					      json_string_value(v));
	}
	return cmd_error("no process%s named %s", count > 1 ? "es" : "", text);
}

ssize_t cmd_select(struct control *ctl, json_t *args, bool all_if_none, struct sv_proc ***ret,
		   json_t **ret_error)
{
	json_t *names = args ? json_object_get(args, "names") : NULL, *v;
	size_t n = sv_count(ctl->sv), k = 0, i, bad = 0;
	bool *marked = NULL, *unknown = NULL;
	struct sv_proc **list = NULL;

	if (names && !json_is_array(names)) {
		*ret_error = cmd_error("bad request: \"names\" must be an array of strings");
		return -1;
	}
	if (!names || json_array_size(names) == 0) {
		if (!all_if_none) {
			*ret_error = cmd_error("bad request: no process named (give \"names\")");
			return -1;
		}
		names = NULL;
	}
	marked = calloc(n + 1, sizeof(*marked));
	unknown = calloc(json_array_size(names) + 1, sizeof(*unknown));
	list = calloc(n + 1, sizeof(*list));
	if (!marked || !unknown || !list) {
		*ret_error = cmd_error("out of memory");
		goto fail;
	}
	json_array_foreach (names, i, v) {
		if (!json_is_string(v)) {
			*ret_error =
				cmd_error("bad request: \"names\" must be an array of strings");
			goto fail;
		}
		if (!mark(ctl->sv, json_string_value(v), marked))
			unknown[i] = ++bad;
	}
	if (bad) {
		*ret_error = unknown_names(names, unknown, bad);
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (marked[i] || !names)
			list[k++] = sv_at(ctl->sv, i);
	free(marked);
	free(unknown);
	*ret = list;
	return (ssize_t)k;
fail:
	free(marked);
	free(unknown);
	free(list);
	return -1;
}

static bool active_state(enum sv_state s)
{
	return s == SV_STARTING || s == SV_RUNNING || s == SV_STOPPING || s == SV_BACKOFF;
}

static void finish(struct target *t, bool ok, const char *message)
{
	t->phase = PHASE_DONE;
	t->ok = ok;
	t->message = message;
}

/* Give p the start order of a START phase. */
static void begin_start(struct target *t)
{
	struct sv_info in;
	int r;

	t->phase = PHASE_START;
	t->seen = 0;
	sv_info(t->p, &in);
	if (in.state == SV_RUNNING) {
		finish(t, true, "already running");
		return;
	}
	r = sv_proc_start(t->p);
	if (r == -ESHUTDOWN)
		finish(t, false, "the supervisor is shutting down");
}

/* Move t on as far as its process's state allows. */
static void advance(struct target *t, enum verb verb)
{
	struct sv_info in;

	if (!t->p)
		return;
	sv_info(t->p, &in);
	if (t->phase == PHASE_STOP && !active_state(in.state) && !sv_proc_pending(t->p)) {
		if (verb == VERB_STOP)
			finish(t, true, t->message ? t->message : "stopped");
		else
			begin_start(t);
		sv_info(t->p, &in);
	}
	if (t->phase != PHASE_START)
		return;
	/* A FATAL one whose start is pending waits for its depends_on: that
	 * FATAL is its last run's, not this start's answer. */
	if ((t->seen & (1u << SV_RUNNING)) || in.state == SV_RUNNING)
		finish(t, true, verb == VERB_RESTART ? "restarted" : "started");
	else if ((t->seen & (1u << SV_FATAL)) ||
		 (in.state == SV_FATAL && !sv_proc_pending(t->p)))
		finish(t, false, "could not start");
	else if (!active_state(in.state) && !sv_proc_pending(t->p))
		finish(t, false, "stopped before it was running");
}

/* One process's part of the reply; `pending` says what one that is not
 * done yet is doing ("wait": false). */
static json_t *target_json(const struct target *t, const char *pending)
{
	bool ok = t->phase != PHASE_DONE || t->ok;
	const char *message = t->phase != PHASE_DONE ? pending : t->message;
	struct sv_info in = { .name = t->gone ? t->gone : "?" };
	json_t *o;

	if (t->p)
		sv_info(t->p, &in);
	o = json_pack("{s:s, s:b, s:s}", "name", in.name, "ok", ok, "state",
		      t->p ? sv_state_name(in.state) : t->gone_state);
	if (o && message)
		json_object_set_new(o, ok ? "message" : "error", json_string(message));
	if (o && !ok && in.has_exit) {
		char what[64];

		col_status_format(&in.last_exit, what, sizeof(what));
		json_object_set_new(o, "last_exit", json_string(what));
	}
	return o;
}

/* The reply once every target is done (or at once without waiting). */
static json_t *wait_reply(const struct cmd_wait *w)
{
	static const char *const pending[] = { "starting", "stopping", "restarting" };
	json_t *list, *reply;
	size_t failed = 0;

	if (w->verb == VERB_UPDATE)
		return json_incref(w->reply);
	list = json_array();
	for (size_t i = 0; i < w->n; i++) {
		json_array_append_new(list, target_json(&w->t[i], pending[w->verb]));
		failed += w->t[i].phase == PHASE_DONE && !w->t[i].ok;
	}
	reply = json_pack("{s:b, s:o}", "ok", failed == 0, "processes", list);
	if (reply && failed)
		json_object_set_new(reply, "error",
				    json_sprintf("%s: %zu of %zu process%s failed",
						 verb_names[w->verb], failed, w->n,
						 w->n > 1 ? "es" : ""));
	return reply;
}

/* Look at w again; true when every target is done. */
static bool check(struct cmd_wait *w)
{
	bool done = true;

	if (w->verb == VERB_UPDATE)
		return sv_retiring(w->ctl->sv) == 0;
	for (size_t i = 0; i < w->n; i++) {
		if (w->t[i].phase != PHASE_DONE)
			advance(&w->t[i], w->verb);
		done = done && w->t[i].phase == PHASE_DONE;
	}
	return done;
}

void cmd_wait_check_all(struct control *ctl)
{
	struct cmd_wait **link = &ctl->detached;
	struct conn *c = conn_first(ctl), *next;

	while (*link) {
		struct cmd_wait *w = *link;

		if (check(w)) {
			*link = w->next;
			wait_free(w);
		} else {
			link = &w->next;
		}
	}
	for (; c; c = next) {
		struct cmd_wait *w = conn_wait(c);

		next = conn_next(c);
		if (w && check(w)) {
			json_t *reply = wait_reply(w);

			wait_free(w);
			conn_reply(c, reply);
		}
	}
}

static void note(struct cmd_wait *w, struct sv_proc *p, enum sv_state to)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->t[i].p == p)
			w->t[i].seen |= 1u << to;
}

bool cmd_wait_note_all(struct control *ctl, struct sv_proc *p, enum sv_state to)
{
	bool any = ctl->detached != NULL;

	for (struct cmd_wait *w = ctl->detached; w; w = w->next)
		note(w, p, to);
	for (struct conn *c = conn_first(ctl); c; c = conn_next(c))
		if (conn_wait(c)) {
			note(conn_wait(c), p, to);
			any = true;
		}
	return any;
}

void cmd_wait_detach(struct cmd_wait *w)
{
	if (!w)
		return;
	w->next = w->ctl->detached;
	w->ctl->detached = w;
}

void cmd_wait_free_detached(struct control *ctl)
{
	while (ctl->detached) {
		struct cmd_wait *w = ctl->detached;

		ctl->detached = w->next;
		wait_free(w);
	}
}

/* A reload took p away: what waits on it is done. A stop got what it
 * asked for; a start or restart did not. */
static void forget(struct cmd_wait *w, struct sv_proc *p)
{
	struct sv_info in;

	for (size_t i = 0; i < w->n; i++) {
		struct target *t = &w->t[i];

		if (t->p != p)
			continue;
		sv_info(p, &in);
		t->gone = strdup(in.name);
		t->gone_state = sv_state_name(in.state);
		t->p = NULL;
		if (t->phase != PHASE_DONE)
			finish(t, w->verb == VERB_STOP, "removed from the configuration");
	}
}

void cmd_wait_forget_all(struct control *ctl, struct sv_proc *p)
{
	for (struct cmd_wait *w = ctl->detached; w; w = w->next)
		forget(w, p);
	for (struct conn *c = conn_first(ctl); c; c = conn_next(c))
		if (conn_wait(c))
			forget(conn_wait(c), p);
}

/* Give each target its first order. */
static void begin(struct target *t, enum verb verb)
{
	struct sv_info in;

	sv_info(t->p, &in);
	if (verb == VERB_START && in.state != SV_STOPPING) {
		begin_start(t);
		return;
	}
	t->phase = PHASE_STOP;
	if (verb != VERB_START)
		sv_proc_stop(t->p); /* -EALREADY: already stopped, fine */
	sv_info(t->p, &in);	    /* an EXITED one may be STOPPING now (its cgroup) */
	if (verb == VERB_STOP && !active_state(in.state) && !sv_proc_pending(t->p))
		t->message = "already stopped";
}

/* Reply now when w is done or nobody waits ("wait": false), else make
 * the connection wait for it. */
static json_t *wait_or_reply(struct cmd_wait *w, json_t *wait, struct cmd_wait **ret_wait)
{
	json_t *reply;

	if (check(w)) {
		reply = wait_reply(w);
		wait_free(w);
		return reply;
	}
	if (!json_is_false(wait)) {
		*ret_wait = w;
		return NULL;
	}
	reply = wait_reply(w);
	cmd_wait_detach(w);
	return reply;
}

static json_t *cmd_start_stop(struct control *ctl, json_t *args, enum verb verb,
			      struct cmd_wait **ret_wait)
{
	json_t *err = NULL, *wait = args ? json_object_get(args, "wait") : NULL;
	struct sv_proc **list;
	struct cmd_wait *w;
	ssize_t n = cmd_select(ctl, args, false, &list, &err);

	if (n < 0)
		return err;
	if (wait && !json_is_boolean(wait)) {
		free(list);
		return cmd_error("bad request: \"wait\" must be true or false");
	}
	w = calloc(1, sizeof(*w) + (size_t)n * sizeof(w->t[0]));
	if (!w) {
		free(list);
		return cmd_error("out of memory");
	}
	w->ctl = ctl;
	w->verb = verb;
	w->n = (size_t)n;
	for (size_t i = 0; i < w->n; i++) {
		w->t[i].p = list[i];
		begin(&w->t[i], verb);
	}
	free(list);
	return wait_or_reply(w, wait, ret_wait);
}

static json_t *cmd_signal(struct control *ctl, json_t *args)
{
	json_t *sig = args ? json_object_get(args, "signal") : NULL, *group, *list, *reply;
	struct sv_proc **procs;
	json_t *err = NULL;
	char name[32];
	size_t failed = 0;
	ssize_t n;
	int signo = -EINVAL;

	if (json_is_integer(sig))
		signo = json_integer_value(sig) > 0 && json_integer_value(sig) < 65
				? (int)json_integer_value(sig)
				: -EINVAL;
	else if (json_is_string(sig))
		signo = col_signal_parse(json_string_value(sig));
	if (signo < 0)
		return cmd_error("bad request: \"signal\" must name a signal (\"HUP\", "
				 "\"SIGUSR1\", 15)");
	group = json_object_get(args, "group");
	n = cmd_select(ctl, args, false, &procs, &err);
	if (n < 0)
		return err;
	col_signal_format(signo, name, sizeof(name));
	list = json_array();
	for (ssize_t i = 0; i < n; i++) {
		struct sv_info in;
		int r = sv_proc_signal(procs[i], signo, json_is_true(group));

		sv_info(procs[i], &in);
		failed += r < 0;
		json_array_append_new(list, json_pack("{s:s, s:b, s:s, s:s}", "name", in.name, "ok",
						      r >= 0, "state", sv_state_name(in.state),
						      r >= 0 ? "message" : "error",
						      r >= 0 ? "signalled" : "not running"));
	}
	free(procs);
	reply = json_pack("{s:b, s:s, s:o}", "ok", failed == 0, "signal", name, "processes", list);
	if (reply && failed)
		json_object_set_new(reply, "error",
				    json_sprintf("signal: %zu of %zd process%s not running", failed,
						 n, n > 1 ? "es" : ""));
	return reply;
}

static json_t *cmd_pid(struct control *ctl, json_t *args)
{
	json_t *err = NULL, *list;
	struct sv_proc **procs;
	ssize_t n;

	if (!args || !json_object_get(args, "names"))
		return json_pack("{s:b, s:I}", "ok", 1, "pid", (json_int_t)getpid());
	n = cmd_select(ctl, args, false, &procs, &err);
	if (n < 0)
		return err;
	list = json_array();
	for (ssize_t i = 0; i < n; i++) {
		struct sv_info in;

		sv_info(procs[i], &in);
		json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "name", in.name, "state",
						      sv_state_name(in.state), "pid",
						      (json_int_t)in.pid));
	}
	free(procs);
	return json_pack("{s:b, s:o}", "ok", 1, "processes", list);
}

static json_t *names_json(char **names)
{
	json_t *a = json_array();

	for (char **s = names; s && *s; s++)
		json_array_append_new(a, json_string(*s));
	return a;
}

/*
 * update: load the configuration again and apply the difference
 * (sv_reload()). The reply says what was added, changed and removed; it
 * comes once the removed and changed processes have stopped, unless
 * "wait": false.
 */
static json_t *cmd_update(struct control *ctl, json_t *args, struct cmd_wait **ret_wait)
{
	json_t *wait = args ? json_object_get(args, "wait") : NULL;
	struct sv_reload_report rep;
	struct cmd_wait *w;
	char *error = NULL;
	json_t *reply;

	if (wait && !json_is_boolean(wait))
		return cmd_error("bad request: \"wait\" must be true or false");
	if (!ctl->hooks.update)
		return cmd_error("update: this supervisor cannot reload its configuration");
	if (ctl->hooks.update(ctl->hooks.data, &rep, &error) < 0) {
		reply = cmd_error("%s", error ? error : "update failed");
		free(error);
		return reply;
	}
	reply = json_pack("{s:b, s:o, s:o, s:o, s:I}", "ok", 1, "added", names_json(rep.added),
			  "changed", names_json(rep.changed), "removed", names_json(rep.removed),
			  "unchanged", (json_int_t)rep.n_unchanged);
	sv_reload_report_release(&rep);
	w = calloc(1, sizeof(*w));
	if (!reply || !w) {
		free(w);
		return reply ? reply : cmd_error("out of memory");
	}
	w->ctl = ctl;
	w->verb = VERB_UPDATE;
	w->reply = reply;
	return wait_or_reply(w, wait, ret_wait);
}

static json_t *cmd_down(struct control *ctl, struct conn *c)
{
	conn_hold_until_exit(c);
	if (ctl->hooks.down)
		ctl->hooks.down(ctl->hooks.data);
	return json_pack("{s:b, s:I}", "ok", 1, "pid", (json_int_t)getpid());
}

json_t *cmd_execute(struct control *ctl, struct conn *c, json_t *req, struct cmd_wait **ret_wait)
{
	json_t *args = json_object_get(req, "args");
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!json_is_object(req))
		return cmd_error("bad request: a request is a JSON object");
	if (!cmd)
		return cmd_error("bad request: \"cmd\" must be a string");
	if (args && json_is_null(args))
		args = NULL;
	if (args && !json_is_object(args))
		return cmd_error("bad request: \"args\" must be an object");
	if (strcmp(cmd, "status") == 0)
		return cmd_status(ctl, args);
	if (strcmp(cmd, "start") == 0)
		return cmd_start_stop(ctl, args, VERB_START, ret_wait);
	if (strcmp(cmd, "stop") == 0)
		return cmd_start_stop(ctl, args, VERB_STOP, ret_wait);
	if (strcmp(cmd, "restart") == 0)
		return cmd_start_stop(ctl, args, VERB_RESTART, ret_wait);
	if (strcmp(cmd, "signal") == 0)
		return cmd_signal(ctl, args);
	if (strcmp(cmd, "pid") == 0)
		return cmd_pid(ctl, args);
	if (strcmp(cmd, "down") == 0)
		return cmd_down(ctl, c);
	if (strcmp(cmd, "logs") == 0)
		return cmd_logs(ctl, c, args);
	if (strcmp(cmd, "reopen") == 0)
		return cmd_reopen(ctl);
	if (strcmp(cmd, "update") == 0)
		return cmd_update(ctl, args, ret_wait);
	return cmd_error("unknown command '%s'", cmd);
}
