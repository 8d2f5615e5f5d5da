/*
 * control.c - the control socket of `collie up`: where it lives, who may
 * connect, and how requests and replies travel (newline-delimited JSON,
 * docs/protocol.md). What each command does is control-cmd.c.
 *
 * Decisions that are not obvious:
 *  - The directory: created 0700 when missing; an existing one is used
 *    only if it belongs to us or root and nobody else can write in it (or
 *    it is sticky, like /tmp: others cannot remove or rename our file).
 *    It is never chmod'ed: /run and $XDG_RUNTIME_DIR are not ours to change.
 *  - Who: SO_PEERCRED at accept, our uid or root; anyone else gets one
 *    error line and the door. The file mode (0600) already keeps them out;
 *    the check is what still holds when the file mode or directory does not.
 *  - One request at a time per connection, answered in order: while a
 *    request waits (start, stop, restart) or its reply is not yet taken by
 *    the client, nothing more is read from that connection. So the output
 *    buffered per connection is at most one reply, and a client that never
 *    reads costs one reply's memory until its timeout.
 *  - Timeouts: a request must arrive whole, and a reply be taken, within
 *    IO_TIMEOUT of its first byte; an idle connection is closed after
 *    IDLE_TIMEOUT. A request that waits for processes has none.
 *  - Garbage (not JSON), a request over CONTROL_MAX_REQUEST, or one cut
 *    short by EOF gets an error line and the connection is closed; a
 *    well-formed request the server cannot do (unknown command, bad
 *    arguments) only gets an error reply.
 *  - Replies are written with MSG_NOSIGNAL: a client that went away must
 *    not SIGPIPE the supervisor.
 *  - A connection that follows logs (`logs -f`) is the one exception to
 *    "one reply at a time": after its reply the supervisor pushes
 *    messages to it without being asked. They are queued up to
 *    CONTROL_MAX_PUSH bytes and sent as the socket takes them, never
 *    blocking; what does not fit is dropped and counted, and the count is
 *    pushed once there is room again, so a slow or stopped reader costs a
 *    bounded buffer and knows what it missed. It has no timeout. When the
 *    supervisor exits, it gets {"event":"exit"} and up to a second to take
 *    what is queued.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collie/fd.h"
#include "cli.h"
#include "control-internal.h"
#include "banned.h"

#define IO_TIMEOUT (5 * COL_USEC_PER_SEC)
#define IDLE_TIMEOUT (60 * COL_USEC_PER_SEC)
#define ACCEPT_RETRY (100 * COL_USEC_PER_MSEC)
#define MAX_CONNS 128
#define MAX_REPLY (64 * 1024 * 1024)
#define FINAL_FLUSH (1 * COL_USEC_PER_SEC) /* at exit, for followers to take the rest */

enum conn_phase { CONN_IDLE, CONN_READING, CONN_WRITING, CONN_WAITING };

struct conn {
	struct control *ctl;
	struct conn *next, *prev;
	int fd;
	struct col_source *src, *timer;
	char *in; /* request bytes not yet handled */
	size_t n_in, cap_in;
	char *out; /* reply bytes not yet written: out[off_out .. n_out) */
	size_t n_out, off_out, cap_out;
	struct cmd_wait *wait; /* the request in progress, if it waits */
	uint32_t events;       /* what the fd source waits for */
	enum conn_phase phase; /* what the timer is timing */
	uint64_t phase_since;
	bool eof;		   /* the client will send nothing more */
	bool closing;		   /* close once the output is written */
	bool held;		   /* `down`: kept until the supervisor exits */
	struct follower *follower; /* `logs -f`: what it follows, or NULL */
	size_t slack;		   /* the reply before the pushes: not within CONTROL_MAX_PUSH */
	uint64_t dropped;	   /* pushed messages dropped since the last one queued */
};

int control_socket_path(const char *opt, char *buf, size_t len)
{
	const char *env = getenv("COLLIE_SOCKET"), *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (opt)
		n = snprintf(buf, len, "%s", opt);
	else if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/collie.sock");
	else if (xdg && *xdg == '/')
		n = snprintf(buf, len, "%s/collie.sock", xdg);
	else
		n = snprintf(buf, len, "/tmp/collie-%u/collie.sock", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Make sure the socket's directory exists and is safe (see the top). */
static int prepare_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t n;

	if (!slash)
		return 0; /* the working directory: the user chose it */
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = 0;
	if (mkdir(dir, 0700) == 0)
		return chmod(dir, 0700) < 0 ? -errno : 0; /* whatever the umask */
	if (errno != EEXIST || stat(dir, &st) < 0) {
		cli_error("up: cannot create the control socket's directory %s: %s", dir,
			  strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error("up: %s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		cli_error("up: %s belongs to uid %u, not to you or root: refusing to put the "
			  "control socket there (choose another with -s PATH)",
			  dir, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
		cli_error("up: %s is writable by others (mode %04o) and not sticky: refusing to "
			  "put the control socket there (choose another with -s PATH)",
			  dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

struct conn *conn_first(struct control *ctl)
{
	return ctl->conns;
}

struct conn *conn_next(struct conn *c)
{
	return c->next;
}

struct cmd_wait *conn_wait(const struct conn *c)
{
	return c->wait;
}

void conn_hold_until_exit(struct conn *c)
{
	c->held = true;
}

static void conn_free(struct conn *c)
{
	struct control *ctl = c->ctl;

	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->n_conns--;
	cmd_wait_detach(c->wait);
	if (c->follower)
		cmd_logs_unfollow(ctl, c->follower);
	col_source_free(c->src);
	col_source_free(c->timer);
	col_close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	/* A connection slot is free again. */
	if (ctl->listen_src && !ctl->retry)
		col_source_set_enabled(ctl->listen_src, true);
}

/* Write what is queued. 0, or -1 when the client is gone. */
static int flush(struct conn *c)
{
	while (c->off_out < c->n_out) {
		ssize_t n = send(c->fd, c->out + c->off_out, c->n_out - c->off_out, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->off_out += (size_t)n;
	}
	c->n_out = c->off_out = c->slack = 0;
	return 0;
}

/* Queue reply (taken) as one line and try to write it. */
static void queue_reply(struct conn *c, json_t *reply)
{
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	size_t n = text ? strlen(text) : 0;
	char *out;

	json_decref(reply);
	if (!text || c->n_out + n + 1 > MAX_REPLY || !(out = realloc(c->out, c->n_out + n + 1))) {
		free(text);
		c->closing = true; /* out of memory: the client sees EOF, not a lie */
		return;
	}
	memcpy(out + c->n_out, text, n);
	out[c->n_out + n] = '\n';
	c->out = out;
	c->n_out += n + 1;
	c->cap_out = c->n_out;
	if (c->follower)
		c->slack = c->n_out - c->off_out;
	free(text);
	if (flush(c) < 0)
		c->closing = true;
}

/* An error line, and close once it is written. */
static void refuse(struct conn *c, const char *what)
{
	queue_reply(c, cmd_error("%s", what));
	c->closing = true;
}

/* Handle one request line (without its newline). */
static void handle_line(struct conn *c, char *line, size_t len)
{
	json_error_t err;
	json_t *req, *reply;
	char what[256];

	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return; /* blank lines between requests are allowed */
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (!req) {
		snprintf(what, sizeof(what), "bad request: not JSON: %s (column %d)", err.text,
			 err.column);
		refuse(c, what);
		return;
	}
	reply = cmd_execute(c->ctl, c, req, &c->wait);
	json_decref(req);
	if (reply)
		queue_reply(c, reply);
}

/* Handle the complete lines buffered, while the connection may go on. */
static void handle_lines(struct conn *c)
{
	size_t done = 0;
	char *nl;

	while (!c->wait && !c->closing && !c->follower && c->n_out == 0 && done < c->n_in &&
	       (nl = memchr(c->in + done, '\n', c->n_in - done))) {
		size_t len = (size_t)(nl - (c->in + done));

		handle_line(c, c->in + done, len);
		done += len + 1;
	}
	if (done) {
		memmove(c->in, c->in + done, c->n_in - done);
		c->n_in -= done;
	}
	if (c->follower)
		c->n_in = 0; /* it asks nothing more: ignored */
	if (c->closing || c->wait || c->follower || c->n_out)
		return;
	if (c->n_in >= CONTROL_MAX_REQUEST)
		refuse(c, "bad request: longer than 65536 bytes");
	else if (c->eof && c->n_in)
		refuse(c, "bad request: cut short by the end of input");
}

/* Read what the client sent. 1 when more may come, 0 when not now. */
static int read_some(struct conn *c)
{
	ssize_t n;

	if (c->n_in == c->cap_in) {
		size_t cap = c->cap_in ? c->cap_in * 2 : 1024;
		char *in;

		if (cap > CONTROL_MAX_REQUEST)
			cap = CONTROL_MAX_REQUEST;
		if (cap == c->cap_in)
			return 0; /* full: handle_lines() refuses it */
		if (!(in = realloc(c->in, cap))) {
			c->closing = true;
			return 0;
		}
		c->in = in;
		c->cap_in = cap;
	}
	n = col_fd_read(c->fd, c->in + c->n_in, c->cap_in - c->n_in);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0) {
		c->eof = true; /* EOF, or an error that ends the conversation */
		return 0;
	}
	c->n_in += (size_t)n;
	return 1;
}

/* Decide, after every event, what c waits for next (or free it). */
static void settle(struct conn *c)
{
	enum conn_phase phase = c->wait || c->held || c->follower ? CONN_WAITING
				: c->n_out			  ? CONN_WRITING
				: c->n_in			  ? CONN_READING
								  : CONN_IDLE;
	uint32_t events = 0;
	uint64_t now = col_now();

	if ((c->closing || (c->eof && !c->wait && !c->held)) && c->n_out == 0) {
		conn_free(c);
		return;
	}
	if (c->n_out)
		events |= EPOLLOUT;
	if ((!c->n_out || c->follower) && !c->eof && !c->closing && !c->wait)
		events |= EPOLLIN; /* a follower's EOF is its goodbye */
	if (events != c->events && col_source_set_events(c->src, events) >= 0)
		c->events = events;
	if (phase != c->phase) {
		c->phase = phase;
		c->phase_since = now;
	}
	col_timer_set(c->timer,
		      phase == CONN_WAITING ? COL_USEC_INFINITY
		      : phase == CONN_IDLE  ? c->phase_since + IDLE_TIMEOUT
					    : c->phase_since + IO_TIMEOUT,
		      0);
}

/* Handle what is buffered, read what is there, and settle. */
static void pump_conn(struct conn *c)
{
	for (;;) {
		handle_lines(c);
		if (c->wait || c->closing || c->n_out || c->eof || !read_some(c))
			break;
	}
	handle_lines(c);
	settle(c);
}

void conn_reply(struct conn *c, json_t *reply)
{
	c->wait = NULL;
	queue_reply(c, reply);
	pump_conn(c);
}

void conn_follow(struct conn *c, struct follower *f)
{
	c->follower = f;
}

struct follower *conn_follower(const struct conn *c)
{
	return c->follower;
}

/* Queue one line for a follower; force: whatever CONTROL_MAX_PUSH says.
 * false: no room (or no memory). */
static bool push_line(struct conn *c, const char *text, size_t len, bool force)
{
	size_t unsent = c->n_out - c->off_out, need = len + 1;

	if (!force && unsent + need > CONTROL_MAX_PUSH + c->slack) {
		if (c->events & EPOLLOUT)
			return false; /* its socket is full: waiting for it already */
		if (flush(c) < 0)
			c->closing = true;
		unsent = c->n_out - c->off_out;
		if (c->closing || unsent + need > CONTROL_MAX_PUSH + c->slack)
			return false;
	}
	if (c->n_out + need > c->cap_out && c->off_out) {
		memmove(c->out, c->out + c->off_out, unsent);
		c->n_out = unsent;
		c->off_out = 0;
	}
	if (c->n_out + need > c->cap_out) {
		size_t cap = c->cap_out ? c->cap_out * 2 : 16384;
		char *out;

		while (cap < c->n_out + need)
			cap *= 2;
		if (!(out = realloc(c->out, cap)))
			return false;
		c->out = out;
		c->cap_out = cap;
	}
	memcpy(c->out + c->n_out, text, len);
	c->out[c->n_out + len] = '\n';
	c->n_out += need;
	return true;
}

/* Queue a follower's {"event":"dropped"} message. false: no room. */
static bool push_dropped(struct conn *c, bool force)
{
	json_t *m = json_pack("{s:s, s:I}", "event", "dropped", "lines", (json_int_t)c->dropped);
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	bool ok = text && push_line(c, text, strlen(text), force);

	free(text);
	json_decref(m);
	if (ok)
		c->dropped = 0;
	return ok;
}

void conn_push(struct conn *c, const char *text, size_t len)
{
	if (c->closing)
		return;
	if ((c->dropped && !push_dropped(c, false)) || !push_line(c, text, len, false))
		c->dropped++;
}

void conn_push_flush(struct conn *c)
{
	if (flush(c) < 0) {
		conn_free(c);
		return;
	}
	if (c->dropped && !c->n_out && !c->closing) {
		push_dropped(c, false); /* the socket took everything: say what it missed */
		if (flush(c) < 0) {
			conn_free(c);
			return;
		}
	}
	settle(c);
}

/* A follower's socket is writable, readable or gone. */
static void on_follower(struct conn *c, uint32_t events)
{
	char buf[4096];
	ssize_t n = -EAGAIN;

	if (events & (EPOLLHUP | EPOLLERR)) {
		conn_free(c);
		return;
	}
	for (int i = 0; i < 16 && (events & EPOLLIN); i++)
		if ((n = col_fd_read(c->fd, buf, sizeof(buf))) <= 0)
			break;
	if (n == 0 || (n < 0 && n != -EAGAIN)) {
		conn_free(c);
		return;
	}
	conn_push_flush(c);
}

/* The supervisor exits: tell each follower, and give them all together
 * up to FINAL_FLUSH to take what is queued for them. */
static void end_followers(struct control *ctl)
{
	json_t *m = json_pack("{s:s}", "event", "exit");
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	uint64_t until = col_now() + FINAL_FLUSH;

	json_decref(m);
	for (struct conn *c = ctl->conns; c; c = c->next) {
		if (!c->follower || c->closing)
			continue;
		if (c->dropped)
			push_dropped(c, true);
		if (text)
			push_line(c, text, strlen(text), true);
		while (flush(c) >= 0 && c->n_out) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
			uint64_t now = col_now();

			if (now >= until || poll(&pfd, 1, (int)((until - now + 999) / 1000)) <= 0)
				break;
		}
	}
	free(text);
}

static void on_conn(struct col_source *src, int fd, uint32_t events, void *data)
{
	struct conn *c = data;

	if (c->follower) {
		on_follower(c, events);
		return;
	}
	if ((events & EPOLLOUT) && flush(c) < 0) {
		conn_free(c);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* The client is gone for good: do what it sent before it went
		 * (`printf '{"cmd":"down"}\n' | nc -U`), drop the replies. */
		do
			handle_lines(c);
		while (!c->wait && !c->closing && !c->n_out && read_some(c));
		handle_lines(c);
		conn_free(c);
		return;
	}
	pump_conn(c);
}

static void on_conn_timeout(struct col_source *src, uint64_t now, void *data)
{
	conn_free(data);
}

/* A refused client gets one line, if its socket takes it, and EOF. */
static void turn_away(int fd, const char *what)
{
	json_t *reply = cmd_error("%s", what);
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	if (text) {
		struct iovec iov[2] = { { text, strlen(text) }, { "\n", 1 } };
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

		(void)!sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	free(text);
	json_decref(reply);
	col_close(fd);
}

static void add_conn(struct control *ctl, int fd)
{
	struct col_unix_peer peer;
	struct conn *c;
	char what[160];
	int r;

	r = col_unix_peer(fd, &peer);
	if (r < 0) {
		snprintf(what, sizeof(what),
			 "permission denied: the peer's credentials cannot be read (%s)",
			 strerror(-r));
		turn_away(fd, what);
		return;
	}
	if (peer.uid != ctl->uid && peer.uid != 0) {
		snprintf(what, sizeof(what),
			 "permission denied: uid %u may not control this supervisor (uid %u)",
			 (unsigned)peer.uid, (unsigned)ctl->uid);
		turn_away(fd, what);
		return;
	}
	if (ctl->n_conns >= MAX_CONNS) {
		turn_away(fd, "too many connections; try again");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		col_close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->events = EPOLLIN;
	if (col_loop_add_fd(ctl->loop, fd, EPOLLIN, on_conn, c, &c->src) < 0 ||
	    col_loop_add_timer(ctl->loop, col_now() + IDLE_TIMEOUT, 0, on_conn_timeout, c,
			       &c->timer) < 0) {
		col_source_free(c->src);
		col_close(fd);
		free(c);
		return;
	}
	c->next = ctl->conns;
	if (c->next)
		c->next->prev = c;
	ctl->conns = c;
	ctl->n_conns++;
	c->phase_since = col_now();
}

static void on_retry(struct col_source *src, uint64_t now, void *data)
{
	struct control *ctl = data;

	col_source_free(ctl->retry);
	ctl->retry = NULL;
	col_source_set_enabled(ctl->listen_src, true);
}

static void on_listen(struct col_source *src, int fd, uint32_t events, void *data)
{
	struct control *ctl = data;

	/* A batch at a time, so a flood of clients cannot starve the
	 * supervisor's other events. */
	for (int i = 0; i < 16; i++) {
		int cfd, r = col_unix_accept(fd, &cfd);

		if (r == -EAGAIN)
			return;
		if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM) {
			/* The listener stays readable: stop watching it for a
			 * while instead of spinning. */
			col_source_set_enabled(src, false);
			if (!ctl->retry && col_loop_add_timer(ctl->loop, col_now() + ACCEPT_RETRY,
							      0, on_retry, ctl, &ctl->retry) < 0)
				col_source_set_enabled(src, true);
			return;
		}
		if (r < 0)
			return;
		add_conn(ctl, cfd);
	}
}

static void on_wake(struct col_source *src, uint64_t now, void *data)
{
	cmd_wait_check_all(data);
}

void control_state_changed(struct control *ctl, struct sv_proc *p, enum sv_state from)
{
	struct sv_info info;

	if (!ctl)
		return;
	sv_info(p, &info);
	if (cmd_wait_note_all(ctl, p, info.state))
		col_timer_set(ctl->wake, col_now(), 0);
}

void control_proc_removed(struct control *ctl, struct sv_proc *p)
{
	if (!ctl)
		return;
	cmd_wait_forget_all(ctl, p);
	col_timer_set(ctl->wake, col_now(), 0);
}

int control_new(struct col_loop *loop, struct sv *sv, const char *path,
		const struct control_hooks *hooks, struct control **ret)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	int r;

	if (!ctl) {
		cli_error("up: %s", strerror(ENOMEM));
		return -1;
	}
	ctl->loop = loop;
	ctl->sv = sv;
	ctl->hooks = *hooks;
	ctl->uid = geteuid();
	ctl->listener = (struct col_unix_listener)COL_UNIX_LISTENER_INIT;
	if (prepare_dir(path) < 0)
		goto fail;
	r = col_unix_listen(&ctl->listener, path, 0600);
	if (r == -EADDRINUSE)
		cli_error("up: another supervisor is running on %s (collie -s PATH to use another "
			  "socket)",
			  path);
	else if (r == -EEXIST)
		cli_error("up: %s exists and is not a socket: not touching it", path);
	else if (r < 0)
		cli_error("up: cannot listen on %s: %s", path, strerror(-r));
	if (r < 0)
		goto fail;
	r = col_loop_add_fd(loop, ctl->listener.fd, EPOLLIN, on_listen, ctl, &ctl->listen_src);
	if (r >= 0)
		r = col_loop_add_timer(loop, COL_USEC_INFINITY, 0, on_wake, ctl, &ctl->wake);
	if (r < 0) {
		cli_error("up: control socket: %s", strerror(-r));
		goto fail;
	}
	*ret = ctl;
	return 0;
fail:
	control_free(ctl);
	return -1;
}

void control_free(struct control *ctl)
{
	if (!ctl)
		return;
	end_followers(ctl);
	while (ctl->conns)
		conn_free(ctl->conns);
	cmd_wait_free_detached(ctl);
	col_source_free(ctl->listen_src);
	ctl->listen_src = NULL;
	col_source_free(ctl->retry);
	col_source_free(ctl->wake);
	col_unix_unlisten(&ctl->listener);
	free(ctl);
}
