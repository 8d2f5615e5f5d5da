/*
 * client.h - what the client commands' files share: client.c (the
 * commands, the connection, requests and replies) and logs-client.c
 * (`collie logs`).
 */
#ifndef COLLIE_CLI_CLIENT_H
#define COLLIE_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Replies of up to this many bytes are read (status of many processes). */
#define MAX_REPLY_SIZE (64 * 1024 * 1024)

struct client {
	const char *cmd;   /* the subcommand: the request's "cmd", and for messages */
	const char *sock;  /* -s PATH, or NULL */
	char path[4096];   /* the socket */
	uint64_t timeout;  /* -t: give up waiting at col_now() + this */
	uint64_t deadline; /* COL_USEC_INFINITY without -t */
	int fd;		   /* the connection */
	int pidfd;	   /* the supervisor (down only), or -1 */
	char *buf;	   /* bytes read and not yet parsed */
	size_t n_buf, cap_buf;
	long lines; /* logs -n N, or -1 */
};

/* Read one message line (a JSON object). 1 and *ret, 0 at EOF, -1 on
 * errors (said why). */
int client_read_reply(struct client *cl, json_t **ret);

/* Send {"cmd": cl->cmd, "args": args (taken)} and read the reply.
 * Returns 0 and *ret, or -1 (said why). A reply {"ok": false} is
 * returned too. */
int client_call(struct client *cl, json_t *args, json_t **ret);

/* Say the reply's error, if it has one. */
void client_report_error(const struct client *cl, json_t *reply);

/* {"names": [argv...]} */
json_t *client_names_args(int argc, char **argv);

/* collie logs [-f] [-n N] [NAME...] (logs-client.c). An exit status. */
int client_logs(struct client *cl, bool follow, int argc, char **argv);

/* collie logs --reopen (logs-client.c). An exit status. */
int client_logs_reopen(struct client *cl);

#endif
