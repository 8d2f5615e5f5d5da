/*
 * control.h - the supervisor's control socket: where it is, and the
 * server `collie up` runs in its loop (the protocol is docs/protocol.md).
 *
 * Recipe (in collie up):
 *   control_socket_path(opt_s, path, sizeof(path));
 *   control_new(loop, sv, path, &hooks, &ctl);   before any program starts
 *   control_set_logs(ctl, logs);                 for `collie logs`
 *   sv hooks' state_changed -> control_state_changed(ctl, p, from)
 *   ... col_loop_run(loop) ...
 *   control_free(ctl);                           after sv_free(): clients
 *                                                waiting on `down` see EOF
 */
#ifndef COLLIE_CLI_CONTROL_H
#define COLLIE_CLI_CONTROL_H

#include <stddef.h>

#include "collie/loop.h"
#include "supervisor.h"

/* Requests of at most this many bytes (the newline included) are read. */
#define CONTROL_MAX_REQUEST (64 * 1024)
/* Pushed messages (`logs -f`) a client has not taken yet: at most this
 * many bytes are kept for it, the rest is dropped and counted. */
#define CONTROL_MAX_PUSH (256 * 1024)

struct control;

/* What the control socket asks of its owner. */
struct control_hooks {
	/* `down`: stop every program and exit, as SIGTERM does. */
	void (*down)(void *data);
	/* `update`: load the configuration again and apply it (sv_reload()).
	 * 0 and *rep (the control socket releases it), or -1 and *error
	 * (malloc'd: what is wrong, e.g. the configuration's errors). */
	int (*update)(void *data, struct sv_reload_report *rep, char **error);
	void *data;
};

/*
 * The control socket's path: opt (-s PATH) if not NULL, else
 * $COLLIE_SOCKET if set and not empty, else /run/collie.sock for root,
 * $XDG_RUNTIME_DIR/collie.sock for a user, /tmp/collie-UID/collie.sock
 * for a user without XDG_RUNTIME_DIR. Written into buf. Returns 0 or
 * -ENAMETOOLONG.
 */
int control_socket_path(const char *opt, char *buf, size_t len);

/*
 * Listen on path in loop for requests about sv (both borrowed; keep them
 * alive). The socket's directory is created mode 0700 if missing; an
 * existing one must belong to this user or root and be writable by
 * nobody else (unless sticky, like /tmp). A stale socket from a dead
 * supervisor is replaced; a live one is never taken. Prints what went
 * wrong (cli_error) and returns -1, or 0 and *ret.
 */
int control_new(struct col_loop *loop, struct sv *sv, const char *path,
		const struct control_hooks *hooks, struct control **ret);

/* Close every connection, remove the socket file (if still ours) and
 * free. Takes NULL. */
void control_free(struct control *ctl);

/* Answer `logs` and `reopen` from logs (borrowed; NULL: they fail):
 * call before the loop runs, and control_free() before logs_free(). */
void control_set_logs(struct control *ctl, struct logs *logs);

/* Tell the control socket that a reload took p away (from
 * sv_hooks.removed): nothing refers to p afterwards. */
void control_proc_removed(struct control *ctl, struct sv_proc *p);

/* Tell the control socket that p changed state (from sv_hooks.state_changed):
 * requests waiting on p are answered from the loop's next turn. */
void control_state_changed(struct control *ctl, struct sv_proc *p, enum sv_state from);

#endif
