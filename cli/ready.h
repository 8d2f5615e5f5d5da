/*
 * ready.h - when a starting process counts as ready (ready= in the
 * configuration), other than by lasting startsecs:
 *   notify   it sends READY=1 over $NOTIFY_SOCKET (systemd's sd_notify)
 *   fd:N     it writes a newline to fd N (s6's notification-fd)
 *   tcp:P    something accepts connections on 127.0.0.1 or ::1 port P
 * There is no deadline: like s6, a process stays STARTING until it is
 * ready or exits (stop still works). The watch belongs to one start.
 */
#ifndef COLLIE_CLI_READY_H
#define COLLIE_CLI_READY_H

#include <sys/types.h>

#include "collie/cmdline.h"
#include "collie/loop.h"
#include "config.h"

struct ready_watch;

/* Called once, when the process is ready. */
typedef void ready_fn(void *data);

/*
 * Before the start: make what the process needs. For fd:N *ret_fd is the
 * fd to pass at N (target -1 otherwise); for notify *ret_env is env plus
 * NOTIFY_SOCKET (owned by the watch; NULL otherwise). Returns 0 and *ret,
 * or -errno. name is used in the socket's name.
 */
int ready_prepare(const struct cfg_program *prog, const char *name, char *const *env,
		  struct ready_watch **ret, struct col_cmdline_fd *ret_fd, char ***ret_env);

/* After the start (its process group is pgid): watch, and call cb once. */
int ready_start(struct ready_watch *w, struct col_loop *loop, pid_t pgid, ready_fn *cb, void *data);

/* Stop watching and free. Takes NULL. */
void ready_free(struct ready_watch *w);

#endif
