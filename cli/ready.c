/*
 * ready.c - readiness other than startsecs (see ready.h).
 *
 * notify: one datagram socket per start, bound in the abstract namespace
 * (no file to clean up, nothing on disk a crash can leave behind). An
 * abstract socket can be reached by any process on the machine, so every
 * message is checked with SO_PASSCRED: it must come from a process in the
 * started process's group, under its uid or ours. Only READY=1 matters;
 * the other sd_notify fields (STATUS=, MAINPID=, WATCHDOG=) are ignored.
 *
 * fd:N: a pipe whose write end the process gets at N; a newline read from
 * it means ready. EOF before a newline means it never will be: the
 * process stays STARTING until it exits (s6 does the same).
 *
 * tcp:P: while STARTING, every 100 ms a non-blocking connect() to
 * 127.0.0.1:P and [::1]:P (one kept in progress across ticks, never a
 * blocking wait); the first that is accepted means ready. The timer runs
 * only while waiting, so an idle supervisor still makes no wakeups.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "collie/fd.h"
#include "ready.h"
#include "banned.h"

#define TCP_POLL_USEC (100 * COL_USEC_PER_MSEC)

struct ready_watch {
	enum cfg_ready kind;
	int arg;      /* fd number or port */
	uid_t uid;    /* the program's uid, for notify */
	int fd;	      /* notify socket or the pipe's read end */
	int child_fd; /* fd:N: the pipe's write end, closed after the start */
	int probe[2]; /* tcp: connects in progress, IPv4 and IPv6 */
	char **env;   /* notify: env + NOTIFY_SOCKET */
	pid_t pgid;
	struct col_source *src; /* fd watch or tcp timer */
	ready_fn *cb;
	void *data;
	bool done;
};

static unsigned notify_counter;

static void fire(struct ready_watch *w)
{
	if (w->done)
		return;
	w->done = true;
	col_source_set_enabled(w->src, false);
	w->cb(w->data);
}

/* env plus NOTIFY_SOCKET=@name (the abstract address, as systemd writes it). */
static int notify_env(struct ready_watch *w, char *const *env, const char *addr)
{
	size_t n = 0;

	if (!env)
		env = environ;
	while (env[n])
		n++;
	w->env = calloc(n + 2, sizeof(*w->env));
	if (!w->env)
		return -ENOMEM;
	for (size_t i = 0, k = 0; i < n; i++)
		if (strncmp(env[i], "NOTIFY_SOCKET=", 14) != 0)
			w->env[k++] = env[i];
	for (n = 0; w->env[n]; n++)
		;
	if (asprintf(&w->env[n], "NOTIFY_SOCKET=@%s", addr) < 0) {
		w->env[n] = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int notify_socket(struct ready_watch *w, const char *name, char *const *env)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char addr[sizeof(sa.sun_path) - 1];
	int one = 1;

	snprintf(addr, sizeof(addr), "collie/%d/%u/%s", (int)getpid(), ++notify_counter, name);
	memcpy(sa.sun_path + 1, addr, strlen(addr));
	w->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (w->fd < 0)
		return -errno;
	if (bind(w->fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr))) < 0 ||
	    setsockopt(w->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;
	return notify_env(w, env, addr);
}

int ready_prepare(const struct cfg_program *prog, const char *name, char *const *env,
		  struct ready_watch **ret, struct col_cmdline_fd *ret_fd, char ***ret_env)
{
	struct ready_watch *w = calloc(1, sizeof(*w));
	int r = 0, p[2];

	if (!w)
		return -ENOMEM;
	w->kind = prog->ready;
	w->arg = prog->ready_arg;
	w->uid = prog->user ? prog->uid : getuid();
	w->fd = w->child_fd = w->probe[0] = w->probe[1] = -1;
	ret_fd->target = -1;
	*ret_env = NULL;
	if (w->kind == CFG_READY_NOTIFY) {
		r = notify_socket(w, name, env);
		*ret_env = w->env;
	} else if (w->kind == CFG_READY_FD) {
		if (pipe2(p, O_CLOEXEC) < 0) {
			r = -errno;
		} else {
			/* Only our end: the process's write must not fail on us. */
			col_fd_set_nonblock(p[0], true);
			w->fd = p[0];
			w->child_fd = p[1];
			ret_fd->target = w->arg;
			ret_fd->fd = p[1];
		}
	}
	if (r < 0) {
		ready_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

/* Whether a datagram says READY=1 on one of its lines. */
static bool says_ready(const char *buf, size_t n)
{
	for (const char *p = buf; p < buf + n;) {
		const char *end = memchr(p, '\n', (size_t)(buf + n - p));
		size_t len = end ? (size_t)(end - p) : (size_t)(buf + n - p);

		if (len == 7 && memcmp(p, "READY=1", 7) == 0)
			return true;
		p += len + 1;
	}
	return false;
}

/* A sender is believed if it is in the process's group, as its user or ours. */
static bool sender_ok(const struct ready_watch *w, const struct ucred *uc)
{
	if (!uc || (uc->uid != w->uid && uc->uid != getuid() && uc->uid != 0))
		return false;
	return getpgid(uc->pid) == w->pgid;
}

static void on_notify(struct col_source *src, int fd, uint32_t events, void *data)
{
	struct ready_watch *w = data;
	char buf[4096], cbuf[CMSG_SPACE(sizeof(struct ucred))];

	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct ucred *uc = NULL;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0)
			return; /* EAGAIN: drained */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
				uc = (struct ucred *)CMSG_DATA(c);
		if (sender_ok(w, uc) && says_ready(buf, (size_t)n)) {
			fire(w);
			return;
		}
	}
}

static void on_fd(struct col_source *src, int fd, uint32_t events, void *data)
{
	struct ready_watch *w = data;
	char buf[512];
	ssize_t n;

	while ((n = col_fd_read(fd, buf, sizeof(buf))) > 0)
		if (memchr(buf, '\n', (size_t)n)) {
			fire(w);
			return;
		}
	if (n == 0)
		col_source_set_enabled(src, false); /* closed without a newline: never ready */
}

/*
 * One probe of the loopback port per address family. A non-blocking
 * connect() returns EINPROGRESS even on loopback, so a probe in progress
 * is kept and checked at the next tick (poll for writable, then
 * SO_ERROR): no tick ever blocks. Returns whether the port accepted.
 */
static bool probe(int *fd, const struct sockaddr *addr, socklen_t len)
{
	struct pollfd pfd = { .fd = *fd, .events = POLLOUT };
	int err = 0;
	socklen_t el = sizeof(err);

	if (*fd < 0) {
		*fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (*fd < 0)
			return false;
		if (connect(*fd, addr, len) == 0)
			return true;
		if (errno != EINPROGRESS) {
			*fd = col_close(*fd);
			return false;
		}
		pfd.fd = *fd;
	}
	if (poll(&pfd, 1, 0) <= 0)
		return false; /* still in progress: look again next tick */
	if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
		return true;
	*fd = col_close(*fd); /* refused: try anew next tick */
	return false;
}

/* Whether something accepts connections on the loopback port. */
static bool port_open(struct ready_watch *w)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)w->arg),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)w->arg),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	return probe(&w->probe[0], (struct sockaddr *)&v4, sizeof(v4)) ||
	       probe(&w->probe[1], (struct sockaddr *)&v6, sizeof(v6));
}

static void on_tcp_tick(struct col_source *src, uint64_t now, void *data)
{
	struct ready_watch *w = data;

	if (port_open(w))
		fire(w);
}

int ready_start(struct ready_watch *w, struct col_loop *loop, pid_t pgid, ready_fn *cb, void *data)
{
	w->pgid = pgid;
	w->cb = cb;
	w->data = data;
	w->child_fd = col_close(w->child_fd); /* the process has its copy */
	switch (w->kind) {
	case CFG_READY_NOTIFY:
		return col_loop_add_fd(loop, w->fd, EPOLLIN, on_notify, w, &w->src);
	case CFG_READY_FD:
		return col_loop_add_fd(loop, w->fd, EPOLLIN, on_fd, w, &w->src);
	case CFG_READY_TCP:
		return col_loop_add_timer(loop, col_now(), TCP_POLL_USEC, on_tcp_tick, w, &w->src);
	case CFG_READY_STARTSECS:
		break;
	}
	return -EINVAL;
}

void ready_free(struct ready_watch *w)
{
	if (!w)
		return;
	col_source_free(w->src);
	col_close(w->fd);
	col_close(w->child_fd);
	col_close(w->probe[0]);
	col_close(w->probe[1]);
	if (w->env) {
		for (size_t n = 0; w->env[n]; n++)
			if (strncmp(w->env[n], "NOTIFY_SOCKET=", 14) == 0)
				free(w->env[n]);
		free(w->env);
	}
	free(w);
}
