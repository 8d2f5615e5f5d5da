/*
 * control-logs.c - the control socket's `logs` and `reopen` commands
 * (docs/protocol.md): where the selected processes' lines are kept, the
 * lines pushed to a client that follows them, and reopening log files.
 *
 * Decisions that are not obvious:
 *  - The reply does not carry the log files' contents: it names them,
 *    with the inode and the size they have now, and the client (same
 *    uid) reads them itself (logs-follow.c says why). What is kept in
 *    memory, and what a failing log file still holds, is in the reply.
 *  - The seam between what is kept and what is followed: with "follow",
 *    the reply is built and the connection made a follower within one
 *    turn of the loop, and every line read before it was already handed
 *    to its destinations (logs.c writes what one pipe read gives before
 *    the next event). So each line is either in the file below the size
 *    in the reply (or held, or in the tail, both in the reply), or pushed
 *    afterwards: never both, never neither. The inode lets the client
 *    find that file again if collie rotated it meanwhile.
 *  - A pushed line is encoded once, for every follower that wants it.
 *    The tap is set only while someone follows, so without followers
 *    following costs nothing.
 *  - Lines are JSON strings, which are UTF-8: bytes that are not valid
 *    UTF-8 are sent as U+FFFD (files are read as they are).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control-internal.h"
#include "logs.h"
#include "banned.h"

/* What one connection follows: processes by name (a name stays valid
 * whatever a reload does to the supervisor's structures). */
struct follower {
	size_t n;
	char **names;
};

static const char *stream_name(int which)
{
	return which == 2 ? "stderr" : "stdout";
}

size_t cli_utf8_len(const unsigned char *p, size_t n)
{
	size_t k;

	if (p[0] < 0x80)
		return 1;
	k = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
	    : p[0] >= 0xe0 && p[0] <= 0xef ? 3
	    : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
					   : 0;
	if (!k || n < k)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return k;
}

/* A JSON string of p[0 .. n), invalid UTF-8 replaced by U+FFFD. */
static json_t *json_text(const char *p, size_t n)
{
	json_t *s = json_stringn(p, n);
	unsigned char *buf;
	size_t m = 0;

	if (s || !(buf = malloc(n * 3 + 1)))
		return s;
	for (size_t i = 0; i < n;) {
		size_t k = cli_utf8_len((const unsigned char *)p + i, n - i);

		if (k) {
			memcpy(buf + m, p + i, k);
			m += k;
			i += k;
		} else {
			memcpy(buf + m, "\xef\xbf\xbd", 3);
			m += 3;
			i++;
		}
	}
	s = json_stringn((const char *)buf, m);
	free(buf);
	return s;
}

static bool follows(const struct follower *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return true;
	return false;
}

/* {"event":"line", ...} as one line of text (malloc'd), or NULL. */
static char *line_message(const char *name, int which, const char *rec, size_t len)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:o}", "event", "line", "name", name, "stream",
			      stream_name(which), "line", json_text(rec, len));
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;

	json_decref(m);
	return text;
}

static void on_line(void *data, const char *name, int which, const char *rec, size_t len)
{
	struct control *ctl = data;
	char *text = NULL;

	for (struct conn *c = conn_first(ctl); c; c = conn_next(c)) {
		struct follower *f = conn_follower(c);

		if (!f || !follows(f, name))
			continue;
		if (!text)
			text = line_message(name, which, rec, len);
		if (text)
			conn_push(c, text, strlen(text));
	}
	free(text);
}

static void on_flush(void *data)
{
	struct control *ctl = data;
	struct conn *c, *next;

	for (c = conn_first(ctl); c; c = next) {
		next = conn_next(c); /* c may close */
		if (conn_follower(c))
			conn_push_flush(c);
	}
}

static void follower_free(struct follower *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->names[i]);
	free(f->names);
	free(f);
}

void cmd_logs_unfollow(struct control *ctl, struct follower *f)
{
	follower_free(f);
	if (--ctl->n_followers == 0 && ctl->logs)
		logs_set_tap(ctl->logs, NULL);
}

/* c follows the n processes of procs from now on. */
static int follow(struct control *ctl, struct conn *c, struct sv_proc **procs, size_t n)
{
	struct logs_tap tap = { .line = on_line, .flush = on_flush, .data = ctl };
	struct follower *f = calloc(1, sizeof(*f));

	if (!f || !(f->names = calloc(n + 1, sizeof(*f->names)))) {
		free(f);
		return -ENOMEM;
	}
	for (; f->n < n; f->n++) {
		struct sv_info in;

		sv_info(procs[f->n], &in);
		if (!(f->names[f->n] = strdup(in.name))) {
			follower_free(f);
			return -ENOMEM;
		}
	}
	conn_follow(c, f);
	if (ctl->n_followers++ == 0)
		logs_set_tap(ctl->logs, &tap);
	return 0;
}

static void add_held(void *data, const char *rec, size_t len)
{
	json_array_append_new(data, json_text(rec, len));
}

static void add_tail(void *data, int which, const char *rec, size_t len)
{
	json_array_append_new(data, json_pack("{s:s, s:o}", "stream", stream_name(which), "line",
					      json_text(rec, len)));
}

/* One stream kept in a file: where, and what it still holds. */
static json_t *file_json(const struct logs_proc *lp, int which, const struct logs_kept *k)
{
	json_t *o = json_pack("{s:s, s:s, s:i}", "stream", stream_name(which), "file", k->path,
			      "backups", k->backups);
	json_t *held = json_array();

	if (!o || !held) {
		json_decref(o);
		json_decref(held);
		return NULL;
	}
	if (k->open) {
		json_object_set_new(o, "dev", json_integer((json_int_t)k->dev));
		json_object_set_new(o, "ino", json_integer((json_int_t)k->ino));
		json_object_set_new(o, "size", json_integer((json_int_t)k->size));
	}
	if (k->error)
		json_object_set_new(o, "error", json_string(strerror(k->error)));
	logs_proc_held(lp, which, add_held, held);
	json_object_set_new(o, "held", held);
	return o;
}

/* One process's part of the reply: its files, its in-memory tail. */
static json_t *process_json(struct control *ctl, struct sv_proc *p, size_t max_lines)
{
	struct sv_info in;
	struct logs_proc *lp;
	json_t *o, *files = json_array(), *tail = NULL;

	sv_info(p, &in);
	lp = logs_find(ctl->logs, in.name);
	o = json_pack("{s:s, s:b, s:s, s:o}", "name", in.name, "ok", 1, "state",
		      sv_state_name(in.state), "files", files);
	for (int which = 1; o && lp && which <= 2; which++) {
		struct logs_kept k;

		logs_proc_kept(lp, which, &k);
		if (k.kind == LOGS_KEPT_FILE)
			json_array_append_new(files, file_json(lp, which, &k));
		else if (k.kind == LOGS_KEPT_MEMORY && !tail)
			tail = json_array();
	}
	if (o && tail) {
		logs_proc_tail(lp, max_lines, add_tail, tail);
		json_object_set_new(o, "tail", tail);
	}
	return o;
}

json_t *cmd_logs(struct control *ctl, struct conn *c, json_t *args)
{
	json_t *err = NULL, *list, *fol = args ? json_object_get(args, "follow") : NULL;
	json_t *lines = args ? json_object_get(args, "lines") : NULL;
	size_t max_lines = SIZE_MAX;
	struct sv_proc **procs;
	ssize_t n;

	if (!ctl->logs)
		return cmd_error("logs: this supervisor does not capture output");
	if (fol && !json_is_boolean(fol))
		return cmd_error("bad request: \"follow\" must be true or false");
	if (lines && (!json_is_integer(lines) || json_integer_value(lines) < 0))
		return cmd_error("bad request: \"lines\" must be a number, 0 or more");
	if (lines)
		max_lines = (size_t)json_integer_value(lines);
	n = cmd_select(ctl, args, true, &procs, &err);
	if (n < 0)
		return err;
	list = json_array();
	for (ssize_t i = 0; list && i < n; i++)
		if (json_array_append_new(list, process_json(ctl, procs[i], max_lines)) < 0) {
			json_decref(list);
			list = NULL;
		}
	if (list && json_is_true(fol) && follow(ctl, c, procs, (size_t)n) < 0) {
		json_decref(list);
		list = NULL;
	}
	free(procs);
	if (!list)
		return cmd_error("out of memory");
	return json_pack("{s:b, s:b, s:o}", "ok", 1, "follow", json_is_true(fol), "processes",
			 list);
}

static void add_failing(void *data, const char *path, int error)
{
	json_array_append_new(data,
			      json_pack("{s:s, s:s}", "file", path, "error", strerror(error)));
}

json_t *cmd_reopen(struct control *ctl)
{
	json_t *failed = json_array(), *reply;
	int n;

	if (!ctl->logs || !failed) {
		json_decref(failed);
		return cmd_error("reopen: this supervisor does not capture output");
	}
	n = logs_reopen_all(ctl->logs);
	logs_each_failing(ctl->logs, add_failing, failed);
	reply = json_pack("{s:b, s:i, s:O}", "ok", json_array_size(failed) == 0, "reopened", n,
			  "failed", failed);
	if (reply && json_array_size(failed))
		json_object_set_new(reply, "error",
				    json_sprintf("reopen: %zu log file%s cannot be written",
						 json_array_size(failed),
						 json_array_size(failed) > 1 ? "s" : ""));
	json_decref(failed);
	return reply;
}

void control_set_logs(struct control *ctl, struct logs *logs)
{
	ctl->logs = logs;
}
