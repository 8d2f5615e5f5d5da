/*
 * control-internal.h - what the control socket's files share:
 * control.c (socket, connections, framing), control-cmd.c (the commands)
 * and control-status.c (status and memory).
 */
#ifndef COLLIE_CLI_CONTROL_INTERNAL_H
#define COLLIE_CLI_CONTROL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collie/loop.h"
#include "collie/unix.h"
#include "control.h"
#include "supervisor.h"

struct conn;
struct cmd_wait;
struct follower;
struct logs;

struct control {
	struct col_loop *loop;
	struct sv *sv;
	struct control_hooks hooks;
	struct col_unix_listener listener;
	struct col_source *listen_src;
	struct col_source *retry;  /* re-enables accepting after EMFILE */
	struct col_source *wake;   /* answers waiting requests next turn */
	struct conn *conns;	   /* every open connection */
	struct cmd_wait *detached; /* requests nobody waits for any more */
	size_t n_conns;
	uid_t uid;	    /* the supervisor's (effective) uid */
	struct logs *logs;  /* for `logs` and `reopen`, or NULL */
	size_t n_followers; /* connections following logs (`logs -f`) */
};

/* Every connection, for the commands: the request it waits on, if any. */
struct cmd_wait *conn_wait(const struct conn *c);

/* Answer the request c waits on (reply is taken): c no longer waits and
 * goes on with the requests it has buffered, so it may be closed and
 * freed before this returns: do not use c afterwards. */
void conn_reply(struct conn *c, json_t *reply);

/* c waits for the supervisor to exit: no idle timeout, EOF says it did. */
void conn_hold_until_exit(struct conn *c);

/*
 * `collie logs -f`: from now on c carries messages the supervisor pushes
 * (after the reply being sent), and takes no more requests (what it sends
 * is read and ignored; EOF closes it). f (taken) says what it follows;
 * cmd_logs_unfollow() frees it when c closes.
 */
void conn_follow(struct conn *c, struct follower *f);

/* What c follows, or NULL when it does not. */
struct follower *conn_follower(const struct conn *c);

/* Queue one message (text, len bytes, no newline) for a following c if
 * what it has not taken stays within CONTROL_MAX_PUSH bytes; else it is
 * dropped, counted, and the count pushed as {"event":"dropped"} once
 * there is room. Sent by conn_push_flush(). */
void conn_push(struct conn *c, const char *text, size_t len);

/* Send what is queued for c, as much as its socket takes now. */
void conn_push_flush(struct conn *c);

/* The first connection and the next, to walk them all. */
struct conn *conn_first(struct control *ctl);
struct conn *conn_next(struct conn *c);

/* {"ok": false, "error": "<fmt>"} */
json_t *cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Run one request (a parsed JSON value) from c. Returns the reply, or
 * NULL and *ret_wait when the request waits for processes (start, stop,
 * restart, update): c keeps *ret_wait until its reply is sent through
 * conn_reply().
 */
json_t *cmd_execute(struct control *ctl, struct conn *c, json_t *req, struct cmd_wait **ret_wait);

/* Look again at every waiting request; answer those that are done. */
void cmd_wait_check_all(struct control *ctl);

/* p changed state: note it in every waiting request (called from inside
 * the supervisor: only notes). Returns whether any request waits. */
bool cmd_wait_note_all(struct control *ctl, struct sv_proc *p, enum sv_state to);

/* A reload took p out of the configuration: requests waiting on it are
 * done with it (it is about to be freed). */
void cmd_wait_forget_all(struct control *ctl, struct sv_proc *p);

/* Its connection closed: w goes on without it, and is dropped once done.
 * Takes NULL. */
void cmd_wait_detach(struct cmd_wait *w);

/* Free the detached requests (the supervisor is exiting). */
void cmd_wait_free_detached(struct control *ctl);

/*
 * The processes named by args' "names" (an array of strings: a process
 * name, a program or group name, "GROUP:*", "GROUP:NAME" or "all"), in
 * the supervisor's order, each once. A missing or empty list selects
 * every process when all_if_none, else is an error. Returns the count and
 * *ret (malloc'd), or -1 and *ret_error (a reply).
 */
ssize_t cmd_select(struct control *ctl, json_t *args, bool all_if_none, struct sv_proc ***ret,
		   json_t **ret_error);

/* status: {"processes": [...]} for the selected processes. */
json_t *cmd_status(struct control *ctl, json_t *args);

/* control-logs.c: logs (where the selected processes' lines are kept;
 * with "follow", c then follows them), reopen (SIGUSR2's work). */
json_t *cmd_logs(struct control *ctl, struct conn *c, json_t *args);
json_t *cmd_reopen(struct control *ctl);

/* c, which followed f, is closing. */
void cmd_logs_unfollow(struct control *ctl, struct follower *f);

#endif
