/*
 * client.c - the commands that talk to a running supervisor through its
 * control socket: status, start, stop, restart, signal, pid, down, logs
 * (the protocol is docs/protocol.md; the server is control.c; logs is
 * logs-client.c).
 *
 * Exit status: 0 when everything asked was done, 1 when something was
 * not (a process that did not start, a name that names nothing, no
 * supervisor to talk to), 2 for bad usage.
 *
 * Decisions that are not obvious:
 *  - Names are resolved by the supervisor, which knows them; the client
 *    only checks that there are some, and that a signal is a signal.
 *  - `down` learns the supervisor's pid from the socket (SO_PEERCRED,
 *    translated into our pid namespace) and opens a pidfd for it before
 *    asking: once the reply and then EOF have come, it waits on that
 *    pidfd, so "returned" means "the supervisor has exited", and a pid
 *    recycled meanwhile cannot fool it.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/loop.h"
#include "collie/sig.h"
#include "collie/spawn.h"
#include "collie/unix.h"
#include "cli.h"
#include "client.h"
#include "control.h"
#include "banned.h"

static int client_connect(struct client *cl)
{
	int r;

	if (control_socket_path(cl->sock, cl->path, sizeof(cl->path)) < 0) {
		cli_error("%s: the control socket's path is too long", cl->cmd);
		return -1;
	}
	r = col_unix_connect(cl->path, 0, &cl->fd);
	if (r == -ENOENT || r == -ECONNREFUSED)
		cli_error("%s: no supervisor is running on %s (start one with 'collie up'; "
			  "choose another socket with -s PATH or COLLIE_SOCKET)",
			  cl->cmd, cl->path);
	else if (r < 0)
		cli_error("%s: cannot connect to %s: %s", cl->cmd, cl->path, strerror(-r));
	return r < 0 ? -1 : 0;
}

/* Wait until fd is readable, up to the deadline. 0, or -1 (said why). */
static int wait_readable(struct client *cl, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		uint64_t now = col_now();
		int ms = cl->deadline == COL_USEC_INFINITY ? -1
			 : cl->deadline <= now		   ? 0
					       : (int)((cl->deadline - now + 999) / 1000);
		int r = poll(&pfd, 1, ms);

		if (r > 0)
			return 0;
		if (r == 0) {
			cli_error("%s: gave up waiting after %.1f s (what was asked goes on)",
				  cl->cmd, (double)cl->timeout / COL_USEC_PER_SEC);
			return -1;
		}
		if (errno != EINTR) {
			cli_error("%s: poll: %s", cl->cmd, strerror(errno));
			return -1;
		}
	}
}

/* Read one reply line. 1 and *ret, 0 at EOF, -1 on errors (said why). */
int client_read_reply(struct client *cl, json_t **ret)
{
	char *nl;

	while (!(nl = cl->n_buf ? memchr(cl->buf, '\n', cl->n_buf) : NULL)) {
		ssize_t n;

		if (cl->n_buf == cl->cap_buf) {
			size_t cap = cl->cap_buf ? cl->cap_buf * 2 : 4096;
			char *b = cap <= MAX_REPLY_SIZE ? realloc(cl->buf, cap) : NULL;

			if (!b) {
				cli_error("%s: the reply is too large", cl->cmd);
				return -1;
			}
			cl->buf = b;
			cl->cap_buf = cap;
		}
		if (wait_readable(cl, cl->fd) < 0)
			return -1;
		n = col_fd_read(cl->fd, cl->buf + cl->n_buf, cl->cap_buf - cl->n_buf);
		if (n == 0 || n == -ECONNRESET)
			return 0;
		if (n < 0) {
			cli_error("%s: reading the reply: %s", cl->cmd, strerror((int)-n));
			return -1;
		}
		cl->n_buf += (size_t)n;
	}
	*ret = json_loadb(cl->buf, (size_t)(nl - cl->buf), 0, NULL);
	cl->n_buf -= (size_t)(nl + 1 - cl->buf);
	memmove(cl->buf, nl + 1, cl->n_buf);
	if (!*ret || !json_is_object(*ret)) {
		json_decref(*ret);
		cli_error("%s: the supervisor's reply is not a JSON object", cl->cmd);
		return -1;
	}
	return 1;
}

/* Send the whole request; MSG_NOSIGNAL: a supervisor that refused us and
 * closed must not kill us with SIGPIPE before we read why. */
static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send {"cmd": cmd, "args": args (taken)} and read the reply. Returns 0
 * and *ret, or -1 (said why). A reply {"ok": false} is returned too. */
int client_call(struct client *cl, json_t *args, json_t **ret)
{
	json_t *req = json_pack("{s:s, s:o}", "cmd", cl->cmd, "args", args ? args : json_object());
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0;
	int r, sent;

	json_decref(req);
	if (!text) {
		cli_error("%s: out of memory", cl->cmd);
		return -1;
	}
	text[len] = '\n'; /* replaces the NUL: the request is one line */
	sent = send_all(cl->fd, text, len + 1);
	free(text);
	/* Even when sending failed, the supervisor may have said why. */
	r = client_read_reply(cl, ret);
	if (r == 0 && sent < 0)
		cli_error("%s: sending the request: %s", cl->cmd, strerror(-sent));
	else if (r == 0)
		cli_error("%s: the supervisor closed the connection without a reply", cl->cmd);
	return r > 0 ? 0 : -1;
}

/* Say the reply's error, if it has one. */
void client_report_error(const struct client *cl, json_t *reply)
{
	const char *e = json_string_value(json_object_get(reply, "error"));

	if (e)
		cli_error("%s", e);
}

json_t *client_names_args(int argc, char **argv)
{
	json_t *names = json_array();

	for (int i = 0; i < argc; i++)
		json_array_append_new(names, json_string(argv[i]));
	return json_pack("{s:o}", "names", names);
}

static void client_release(struct client *cl)
{
	cl->fd = col_close(cl->fd);
	cl->pidfd = col_close(cl->pidfd);
	free(cl->buf);
}

/* -t SECS */
static int parse_timeout(struct client *cl, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0) || v > 1e9) {
		cli_error("%s: -t: '%s' is not a number of seconds", cl->cmd, s);
		return -1;
	}
	cl->timeout = (uint64_t)(v * COL_USEC_PER_SEC);
	cl->deadline = col_now() + cl->timeout;
	return 0;
}

/* -n N */
static int parse_lines(struct client *cl, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < 0) {
		cli_error("%s: -n: '%s' is not a number of lines (0 or more)", cl->cmd, s);
		return -1;
	}
	cl->lines = v;
	return 0;
}

/* "1:02:03", "3d 04:05:06" */
static void format_duration(json_int_t ms, char *buf, size_t len)
{
	long long s = ms / 1000, d = s / 86400;

	s %= 86400;
	if (d)
		snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", d, s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

/* "812K", "12.3M", "1.5G" */
static void format_bytes(json_int_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	double v = (double)bytes / 1024;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* One row of the status table; the cells are written into cells[]. */
static void status_row(json_t *p, bool pss, char cells[7][64])
{
	json_t *mem = json_object_get(p, "memory"), *up = json_object_get(p, "uptime_ms");
	json_t *exit = json_object_get(p, "last_exit"), *pid = json_object_get(p, "pid");
	json_t *bytes = json_object_get(mem, pss ? "pss" : "rss");

	snprintf(cells[0], 64, "%s", json_string_value(json_object_get(p, "name")));
	snprintf(cells[1], 64, "%s", json_string_value(json_object_get(p, "state")));
	snprintf(cells[2], 64, "-");
	if (json_integer_value(pid))
		snprintf(cells[2], 64, "%lld", (long long)json_integer_value(pid));
	snprintf(cells[3], 64, "-");
	if (json_is_integer(up))
		format_duration(json_integer_value(up), cells[3], 64);
	snprintf(cells[4], 64, "%lld",
		 (long long)json_integer_value(json_object_get(p, "restarts")));
	snprintf(cells[5], 64, "-");
	if (json_is_integer(bytes))
		format_bytes(json_integer_value(bytes), cells[5], 64);
	snprintf(cells[6], 64, "%s",
		 json_is_object(exit) ? json_string_value(json_object_get(exit, "text")) : "-");
}

static void print_cells(const char *const cells[7], const size_t w[7])
{
	for (int j = 0; j < 6; j++)
		printf("%-*s  ", (int)w[j], cells[j]);
	printf("%s\n", cells[6]);
}

static void print_status(json_t *procs, bool pss)
{
	const char *heads[7] = { "NAME",     "STATE",	 "PID",
				 "UPTIME",   "RESTARTS", pss ? "PSS" : "MEMORY",
				 "LAST EXIT" };
	size_t n = json_array_size(procs), w[7];
	char(*cells)[7][64] = calloc(n + 1, sizeof(*cells));

	if (!cells)
		return;
	for (int j = 0; j < 7; j++)
		w[j] = strlen(heads[j]);
	for (size_t i = 0; i < n; i++) {
		status_row(json_array_get(procs, i), pss, cells[i]);
		for (int j = 0; j < 7; j++)
			if (strlen(cells[i][j]) > w[j])
				w[j] = strlen(cells[i][j]);
	}
	print_cells(heads, w);
	for (size_t i = 0; i < n; i++) {
		const char *row[7];

		for (int j = 0; j < 7; j++)
			row[j] = cells[i][j];
		print_cells(row, w);
	}
	free(cells);
}

enum client_opt {
	OPT_TIMEOUT = 1 << 0,
	OPT_JSON = 1 << 1,
	OPT_PSS = 1 << 2,
	OPT_NO_WAIT = 1 << 3,
	OPT_GROUP = 1 << 4,
	OPT_FOLLOW = 1 << 5,
	OPT_LINES = 1 << 6,
	OPT_REOPEN = 1 << 7,
};

struct command {
	const char *name;
	const char *usage;
	unsigned opts; /* the options it takes besides -s and -h */
	int min, max;  /* how many operands (max -1: any) */
	int (*run)(struct client *cl, unsigned opts, int argc, char **argv);
};

static int run_status(struct client *cl, unsigned opts, int argc, char **argv)
{
	json_t *args = client_names_args(argc, argv), *reply, *procs;
	char *text;
	int ok;

	if (opts & OPT_PSS)
		json_object_set_new(args, "pss", json_true());
	if (client_call(cl, args, &reply) < 0)
		return CLI_EXIT_FAILURE;
	ok = json_is_true(json_object_get(reply, "ok"));
	procs = json_object_get(reply, "processes");
	if (!ok || !json_is_array(procs)) {
		client_report_error(cl, reply);
		json_decref(reply);
		return CLI_EXIT_FAILURE;
	}
	if (opts & OPT_JSON) {
		text = json_dumps(procs, JSON_INDENT(2));
		if (text)
			puts(text);
		free(text);
	} else {
		print_status(procs, opts & OPT_PSS);
	}
	json_decref(reply);
	return CLI_EXIT_OK;
}

/* Say what happened to each process: done on stdout, failed on stderr. */
static int report_processes(struct client *cl, json_t *reply)
{
	json_t *procs = json_object_get(reply, "processes"), *p;
	int ok = json_is_true(json_object_get(reply, "ok"));
	size_t i;

	if (!json_is_array(procs)) {
		client_report_error(cl, reply);
		return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
	}
	json_array_foreach (procs, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *exit = json_string_value(json_object_get(p, "last_exit"));

		if (json_is_true(json_object_get(p, "ok"))) {
			printf("%s: %s\n", name, json_string_value(json_object_get(p, "message")));
			continue;
		}
		fflush(stdout); /* in order, when both go to one place */
		cli_error("%s: %s (%s%s%s)", name, json_string_value(json_object_get(p, "error")),
			  json_string_value(json_object_get(p, "state")),
			  exit ? ", last exit: " : "", exit ? exit : "");
	}
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int run_action(struct client *cl, unsigned opts, int argc, char **argv)
{
	json_t *args, *reply;
	int r;

	if (strcmp(cl->cmd, "signal") == 0) {
		args = client_names_args(argc - 1, argv + 1);
		json_object_set_new(args, "signal", json_string(argv[0]));
		json_object_set_new(args, "group", json_boolean(opts & OPT_GROUP));
	} else {
		args = client_names_args(argc, argv);
		json_object_set_new(args, "wait", json_boolean(!(opts & OPT_NO_WAIT)));
	}
	if (client_call(cl, args, &reply) < 0)
		return CLI_EXIT_FAILURE;
	r = report_processes(cl, reply);
	json_decref(reply);
	return r;
}

static int run_pid(struct client *cl, unsigned opts, int argc, char **argv)
{
	json_t *reply, *procs, *p;
	int r = CLI_EXIT_OK;
	size_t i;

	if (client_call(cl, argc ? client_names_args(argc, argv) : NULL, &reply) < 0)
		return CLI_EXIT_FAILURE;
	procs = json_object_get(reply, "processes");
	if (!json_is_true(json_object_get(reply, "ok"))) {
		client_report_error(cl, reply);
		r = CLI_EXIT_FAILURE;
	} else if (!argc) {
		printf("%lld\n", (long long)json_integer_value(json_object_get(reply, "pid")));
	}
	json_array_foreach (procs, i, p) {
		json_int_t pid = json_integer_value(json_object_get(p, "pid"));

		if (pid) {
			printf("%lld\n", (long long)pid);
			continue;
		}
		/* No "0": `kill $(collie pid x)` must not signal our own group. */
		cli_error("%s is not running (%s)", json_string_value(json_object_get(p, "name")),
			  json_string_value(json_object_get(p, "state")));
		r = CLI_EXIT_FAILURE;
	}
	json_decref(reply);
	return r;
}

/* After the reply to down: EOF, then the supervisor's exit. */
static int wait_exit(struct client *cl)
{
	char buf[4096];
	ssize_t n;

	do {
		if (wait_readable(cl, cl->fd) < 0)
			return CLI_EXIT_FAILURE;
		n = col_fd_read(cl->fd, buf, sizeof(buf));
	} while (n > 0);
	if (cl->pidfd >= 0 && wait_readable(cl, cl->pidfd) < 0)
		return CLI_EXIT_FAILURE;
	return CLI_EXIT_OK;
}

static int run_down(struct client *cl, unsigned opts, int argc, char **argv)
{
	struct col_unix_peer peer;
	json_t *reply;
	int ok;

	/* Open the pidfd now, while the supervisor is surely alive. */
	if (col_unix_peer(cl->fd, &peer) >= 0 && peer.pid > 0)
		col_pidfd_open(peer.pid, &cl->pidfd);
	if (client_call(cl, NULL, &reply) < 0)
		return CLI_EXIT_FAILURE;
	ok = json_is_true(json_object_get(reply, "ok"));
	if (!ok)
		client_report_error(cl, reply);
	json_decref(reply);
	return ok ? wait_exit(cl) : CLI_EXIT_FAILURE;
}

static int run_logs(struct client *cl, unsigned opts, int argc, char **argv)
{
	if (opts & OPT_REOPEN)
		return client_logs_reopen(cl);
	return client_logs(cl, opts & OPT_FOLLOW, argc, argv);
}

static void print_names(json_t *reply, const char *key, const char *what)
{
	json_t *v;
	size_t i;

	json_array_foreach (json_object_get(reply, key), i, v)
		printf("%s: %s\n", json_string_value(v), what);
}

/* update: what was added, changed and removed, one process per line. */
static int run_update(struct client *cl, unsigned opts, int argc, char **argv)
{
	json_t *args = json_pack("{s:b}", "wait", !(opts & OPT_NO_WAIT)), *reply;
	bool ok;

	if (client_call(cl, args, &reply) < 0)
		return CLI_EXIT_FAILURE;
	ok = json_is_true(json_object_get(reply, "ok"));
	if (!ok) {
		client_report_error(cl, reply);
	} else {
		print_names(reply, "removed", "removed");
		print_names(reply, "changed", "changed");
		print_names(reply, "added", "added");
		if (!json_array_size(json_object_get(reply, "removed")) &&
		    !json_array_size(json_object_get(reply, "changed")) &&
		    !json_array_size(json_object_get(reply, "added")))
			printf("no change\n");
	}
	json_decref(reply);
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static const struct command commands[] = {
	{ "status", "status [-s SOCKET] [--json] [--pss] [NAME...]", OPT_JSON | OPT_PSS, 0, -1,
	  run_status },
	{ "start", "start [-s SOCKET] [-t SECS] [--no-wait] NAME...", OPT_TIMEOUT | OPT_NO_WAIT, 1,
	  -1, run_action },
	{ "stop", "stop [-s SOCKET] [-t SECS] [--no-wait] NAME...", OPT_TIMEOUT | OPT_NO_WAIT, 1,
	  -1, run_action },
	{ "restart", "restart [-s SOCKET] [-t SECS] [--no-wait] NAME...", OPT_TIMEOUT | OPT_NO_WAIT,
	  1, -1, run_action },
	{ "signal", "signal [-s SOCKET] [--group] SIGNAL NAME...", OPT_GROUP, 2, -1, run_action },
	{ "pid", "pid [-s SOCKET] [NAME...]", 0, 0, -1, run_pid },
	{ "down", "down [-s SOCKET] [-t SECS]", OPT_TIMEOUT, 0, 0, run_down },
	{ "logs", "logs [-s SOCKET] [-f] [-n N] [NAME...]\n       collie logs [-s SOCKET] --reopen",
	  OPT_FOLLOW | OPT_LINES | OPT_REOPEN, 0, -1, run_logs },
	{ "update", "update [-s SOCKET] [-t SECS] [--no-wait]", OPT_TIMEOUT | OPT_NO_WAIT, 0, 0,
	  run_update },
};

bool cli_is_client_command(const char *name)
{
	for (size_t i = 0; i < COL_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return true;
	return false;
}

/* Parse the options; 0, or an exit status. */
static int parse_options(const struct command *c, struct client *cl, unsigned *opts, int argc,
			 char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'J' },
		{ "pss", no_argument, NULL, 'P' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "group", no_argument, NULL, 'G' },
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "reopen", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		int opt;
		unsigned bit;
	} bits[] = { { 't', OPT_TIMEOUT }, { 'J', OPT_JSON },  { 'P', OPT_PSS },
		     { 'W', OPT_NO_WAIT }, { 'G', OPT_GROUP }, { 'f', OPT_FOLLOW },
		     { 'n', OPT_LINES },   { 'R', OPT_REOPEN } };
	int o;

	while ((o = getopt_long(argc, argv, "s:t:hfn:", longopts, NULL)) != -1) {
		unsigned bit = 0;

		for (size_t i = 0; i < COL_ARRAY_SIZE(bits); i++)
			if (bits[i].opt == o)
				bit = bits[i].bit;
		if (o == 'h') {
			printf("usage: collie %s\n", c->usage);
			return CLI_EXIT_OK + 256;
		}
		if (o == 's') {
			cl->sock = optarg;
		} else if (!bit || !(c->opts & bit)) {
			if (bit)
				cli_error("%s: %s does not apply here", c->name, argv[optind - 1]);
			fprintf(stderr, "usage: collie %s\n", c->usage);
			return CLI_EXIT_USAGE;
		} else if (o == 't' && parse_timeout(cl, optarg) < 0) {
			return CLI_EXIT_USAGE;
		} else if (o == 'n' && parse_lines(cl, optarg) < 0) {
			return CLI_EXIT_USAGE;
		}
		*opts |= bit;
	}
	return 0;
}

/* Check the operands; 0 or CLI_EXIT_USAGE. */
static int check_operands(const struct command *c, unsigned opts, int argc, char **argv)
{
	if ((opts & OPT_REOPEN) && (argc || (opts & (OPT_FOLLOW | OPT_LINES)))) {
		cli_error("logs: --reopen reopens every log file: it takes no NAME, -f or -n");
		fprintf(stderr, "usage: collie %s\n", c->usage);
		return CLI_EXIT_USAGE;
	}
	bool is_signal = strcmp(c->name, "signal") == 0;

	if (argc < c->min) {
		if (is_signal && argc == 0)
			cli_error("signal: which signal?");
		else
			cli_error("%s: which processes? give NAME..., GROUP:* or all", c->name);
		fprintf(stderr, "usage: collie %s\n", c->usage);
		return CLI_EXIT_USAGE;
	}
	if (c->max >= 0 && argc > c->max) {
		cli_error("%s: unexpected argument '%s'", c->name, argv[c->max]);
		return CLI_EXIT_USAGE;
	}
	if (is_signal && col_signal_parse(argv[0]) < 0) {
		cli_error("signal: '%s' is not a signal (HUP, SIGUSR1, 15, ...)", argv[0]);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

int cli_client(int argc, char **argv)
{
	const struct command *c = NULL;
	struct client cl = { .fd = -1, .pidfd = -1, .deadline = COL_USEC_INFINITY, .lines = -1 };
	unsigned opts = 0;
	int r;

	for (size_t i = 0; i < COL_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			c = &commands[i];
	if (!c)
		return CLI_EXIT_USAGE;
	cl.cmd = c->name;
	r = parse_options(c, &cl, &opts, argc, argv);
	if (r)
		return r & 255;
	argc -= optind;
	argv += optind;
	r = check_operands(c, opts, argc, argv);
	if (r)
		return r;
	if (client_connect(&cl) < 0)
		return CLI_EXIT_FAILURE;
	r = c->run(&cl, opts, argc, argv);
	client_release(&cl);
	return r;
}
