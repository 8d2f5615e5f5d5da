/*
 * test-loop.c - the event loop, driven by real pipes, signals, timers and
 * processes. Every wait is for an event (a pipe, a pidfd, the loop
 * itself); the one timed wait is the idle test, which measures that
 * nothing wakes the loop while it waits.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/loop.h"
#include "collie/reap.h"
#include "check.h"
#include "banned.h"

TestSuite(loop, .timeout = 30);

#define MSEC COL_USEC_PER_MSEC

static struct col_loop *new_loop(void)
{
	struct col_loop *loop = NULL;

	cr_assert_eq(col_loop_new(&loop), 0);
	cr_assert_not_null(loop);
	return loop;
}

static void make_pipe(int p[2])
{
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
}

static int open_pidfd(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	cr_assert_geq(fd, 0, "pidfd_open: %s", strerror(errno));
	return fd;
}

static int run_once(struct col_loop *loop, uint64_t timeout)
{
	int n = col_loop_run_once(loop, timeout);

	cr_assert_geq(n, 0, "col_loop_run_once: %s", strerror(-n));
	return n;
}

/* Dispatch until *flag is set; the test's timeout bounds it. */
static void run_until(struct col_loop *loop, const int *flag)
{
	while (!*flag)
		run_once(loop, COL_USEC_INFINITY);
}

static bool is_blocked(int signo)
{
	sigset_t cur;

	cr_assert_eq(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	return sigismember(&cur, signo) == 1;
}

/* fork() a child that exits with code at once; *ret_pidfd names it. */
static pid_t fork_exit(int code, int *ret_pidfd)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(code);
	*ret_pidfd = open_pidfd(pid);
	return pid;
}

/*
 * fork() and exec the helper with args (NULL-terminated), stdin from in
 * and stdout to out when they are >= 0, and an empty signal mask.
 */
static pid_t start_helper(const char *const *args, int in, int out, int *ret_pidfd)
{
	const char *argv[16] = { helper_path() };
	sigset_t none;
	pid_t pid;

	for (size_t i = 0; args[i]; i++) {
		cr_assert_lt(i + 2, COL_ARRAY_SIZE(argv));
		argv[i + 1] = args[i];
	}
	sigemptyset(&none);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Only async-signal-safe calls between fork and exec. */
		if ((in >= 0 && dup2(in, 0) < 0) || (out >= 0 && dup2(out, 1) < 0))
			_exit(126);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	*ret_pidfd = open_pidfd(pid);
	return pid;
}

/* What a callback saw; shared by the fd, signal and child callbacks. */
struct seen {
	int calls;
	uint32_t events;
	struct signalfd_siginfo si;
	struct col_status st;
	bool st_null;
	struct col_source *free_me; /* freed by the callback when set */
	bool free_self;
};

static void after_call(struct col_source *src, struct seen *s)
{
	s->calls++;
	if (s->free_me) {
		col_source_free(s->free_me);
		s->free_me = NULL;
	}
	if (s->free_self)
		col_source_free(src);
}

static void on_fd(struct col_source *src, int fd, uint32_t events, void *data)
{
	struct seen *s = data;

	s->events |= events;
	after_call(src, s);
}

static void on_signal(struct col_source *src, const struct signalfd_siginfo *si, void *data)
{
	struct seen *s = data;

	s->si = *si;
	after_call(src, s);
}

static void on_child(struct col_source *src, const struct col_status *st, void *data)
{
	struct seen *s = data;

	s->st_null = !st;
	if (st)
		s->st = *st;
	after_call(src, s);
}

static void on_timer_count(struct col_source *src, uint64_t now, void *data)
{
	after_call(src, data);
}

TEST_NOLEAK(loop, fd_readable_writable_and_hangup)
{
	struct col_loop *loop = new_loop();
	struct col_source *in, *out;
	struct seen rin = { 0 }, rout = { 0 };
	int p[2];
	char c;

	make_pipe(p);
	cr_assert_eq(col_loop_add_fd(loop, p[0], EPOLLIN, on_fd, &rin, &in), 0);
	cr_assert_eq(col_loop_add_fd(loop, p[1], EPOLLOUT, on_fd, &rout, &out), 0);
	cr_assert_eq(col_source_loop(in), loop);

	/* An empty pipe is writable, not readable. */
	cr_assert_eq(run_once(loop, 0), 1);
	cr_assert_eq(rout.calls, 1);
	cr_assert(rout.events & EPOLLOUT);
	cr_assert_eq(rin.calls, 0);
	col_source_free(out);

	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 1);
	cr_assert_eq(rin.calls, 1);
	cr_assert_eq(rin.events, EPOLLIN);
	cr_assert_eq(read(p[0], &c, 1), 1);
	cr_assert_eq(run_once(loop, 0), 0, "a drained pipe is still reported");

	/* Closing the write end hangs up the read end. */
	p[1] = col_close(p[1]);
	rin.events = 0;
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 1);
	cr_assert(rin.events & EPOLLHUP, "events 0x%x", rin.events);

	col_source_free(in);
	col_close(p[0]);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, fd_disable_enable_and_set_events)
{
	struct col_loop *loop = new_loop();
	struct col_source *in;
	struct seen r = { 0 };
	int p[2];

	make_pipe(p);
	cr_assert_eq(col_loop_add_fd(loop, p[0], EPOLLIN, on_fd, &r, &in), 0);
	cr_assert_eq(
		col_loop_add_fd(loop, p[0], EPOLLIN, on_fd, &r, &(struct col_source *){ NULL }),
		-EEXIST);
	cr_assert_eq(write(p[1], "x", 1), 1);

	cr_assert_eq(col_source_set_enabled(in, false), 0);
	cr_assert_eq(run_once(loop, 0), 0);
	cr_assert_eq(col_source_set_enabled(in, true), 0);
	cr_assert_eq(run_once(loop, 0), 1);

	/* Waiting for nothing but a hangup: data no longer wakes it. */
	cr_assert_eq(col_source_set_events(in, EPOLLRDHUP), 0);
	cr_assert_eq(run_once(loop, 0), 0);
	p[1] = col_close(p[1]);
	r.events = 0;
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 1);
	cr_assert(r.events & (EPOLLRDHUP | EPOLLHUP));

	col_source_free(in);
	col_close(p[0]);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, signal_arrives_with_sender_and_mask_is_restored)
{
	struct col_loop *loop = new_loop();
	struct col_source *usr1, *usr2;
	struct seen r1 = { 0 }, r2 = { 0 };
	sigset_t set;

	/* SIGUSR2 was blocked before the loop touched it; it must stay so. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	cr_assert_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	cr_assert_not(is_blocked(SIGUSR1));

	cr_assert_eq(col_loop_add_signal(loop, SIGUSR1, on_signal, &r1, &usr1), 0);
	cr_assert_eq(col_loop_add_signal(loop, SIGUSR2, on_signal, &r2, &usr2), 0);
	cr_assert(is_blocked(SIGUSR1));

	cr_assert_eq(kill(getpid(), SIGUSR1), 0);
	while (r1.calls == 0)
		run_once(loop, COL_USEC_INFINITY);
	cr_assert_eq(r1.calls, 1);
	cr_assert_eq(r1.si.ssi_signo, (uint32_t)SIGUSR1);
	cr_assert_eq(r1.si.ssi_pid, (uint32_t)getpid());
	cr_assert_eq(r2.calls, 0);

	col_source_free(usr1);
	col_source_free(usr2);
	cr_assert_not(is_blocked(SIGUSR1), "SIGUSR1 was not unblocked");
	cr_assert(is_blocked(SIGUSR2), "SIGUSR2 was blocked before and must stay blocked");
	cr_assert_eq(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, disabled_signal_waits_pending)
{
	struct col_loop *loop = new_loop();
	struct col_source *src;
	struct seen r = { 0 };

	cr_assert_eq(col_loop_add_signal(loop, SIGUSR1, on_signal, &r, &src), 0);
	cr_assert_eq(col_source_set_enabled(src, false), 0);
	cr_assert(is_blocked(SIGUSR1), "a disabled signal source must keep its signal blocked");
	cr_assert_eq(kill(getpid(), SIGUSR1), 0);
	cr_assert_eq(run_once(loop, 0), 0);
	cr_assert_eq(col_source_set_enabled(src, true), 0);
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 1);
	cr_assert_eq(r.si.ssi_signo, (uint32_t)SIGUSR1);
	col_loop_free(loop);
	cr_assert_not(is_blocked(SIGUSR1));
}

TEST_NOLEAK(loop, signal_sources_are_checked)
{
	struct col_loop *loop = new_loop();
	struct col_source *src, *other = NULL;
	struct seen r = { 0 };
	const int bad[] = { 0, -1, SIGKILL, SIGSTOP, _NSIG, 1000 };

	cr_assert_eq(col_loop_add_signal(loop, SIGUSR1, on_signal, &r, &src), 0);
	cr_assert_eq(col_loop_add_signal(loop, SIGUSR1, on_signal, &r, &other), -EBUSY);
	for (size_t i = 0; i < COL_ARRAY_SIZE(bad); i++)
		cr_assert_eq(col_loop_add_signal(loop, bad[i], on_signal, &r, &other), -EINVAL,
			     "signal %d accepted", bad[i]);
	cr_assert_eq(col_loop_add_signal(loop, SIGCHLD, on_signal, &r, &other), 0);
	cr_assert_eq(col_loop_reap_orphans(loop, NULL, NULL), -EBUSY);
	col_source_free(other);
	cr_assert_eq(col_loop_reap_orphans(loop, NULL, NULL), 0);
	cr_assert_eq(col_loop_reap_orphans(loop, NULL, NULL), -EBUSY);
	col_source_free(src);
	col_loop_free(loop);
	cr_assert_not(is_blocked(SIGUSR1));
	cr_assert_not(is_blocked(SIGCHLD));
}

/* Timers that write their tag into a shared log when they fire. */
struct timer_log {
	struct col_loop *loop;
	int tags[16];
	int n, want;
};

struct tagged {
	struct timer_log *log;
	int tag;
};

static void on_timer_log(struct col_source *src, uint64_t now, void *data)
{
	struct tagged *t = data;
	struct timer_log *log = t->log;

	cr_assert_lt(log->n, (int)COL_ARRAY_SIZE(log->tags));
	log->tags[log->n++] = t->tag;
	if (log->n == log->want)
		col_loop_exit(log->loop, 0);
}

TEST_NOLEAK(loop, timers_fire_in_deadline_then_arm_order)
{
	struct col_loop *loop = new_loop();
	struct timer_log log = { .loop = loop, .want = 7 };
	struct tagged t[7];
	struct col_source *src[7];
	/* Armed in this order: deadlines out of order, three equal ones. */
	const uint64_t offset_ms[7] = { 30, 10, 20, 40, 40, 40, 5 };
	const int expect[7] = { 6, 1, 2, 0, 3, 4, 5 };
	uint64_t base = col_now() + 5 * MSEC;

	for (int i = 0; i < 7; i++) {
		t[i] = (struct tagged){ .log = &log, .tag = i };
		cr_assert_eq(col_loop_add_timer(loop, base + offset_ms[i] * MSEC, 0, on_timer_log,
						&t[i], &src[i]),
			     0);
	}
	cr_assert_eq(col_loop_run(loop), 0);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(log.tags[i], expect[i], "position %d: timer %d, expected %d", i,
			     log.tags[i], expect[i]);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, rearming_at_the_same_deadline_goes_to_the_back)
{
	struct col_loop *loop = new_loop();
	struct timer_log log = { .loop = loop, .want = 3 };
	struct tagged t[3];
	struct col_source *src[3];
	uint64_t at = col_now(); /* already due: all three fire in one batch */

	for (int i = 0; i < 3; i++) {
		t[i] = (struct tagged){ .log = &log, .tag = i };
		cr_assert_eq(col_loop_add_timer(loop, at, 0, on_timer_log, &t[i], &src[i]), 0);
	}
	cr_assert_eq(col_timer_set(src[0], at, 0), 0);
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 3);
	cr_assert_eq(log.tags[0], 1);
	cr_assert_eq(log.tags[1], 2);
	cr_assert_eq(log.tags[2], 0);
	col_loop_free(loop);
}

struct ticker {
	struct col_loop *loop;
	uint64_t start, interval, last;
	int count;
};

static void on_tick(struct col_source *src, uint64_t now, void *data)
{
	struct ticker *tk = data;

	tk->count++;
	cr_assert_gt(now, tk->last);
	cr_assert_geq(now, tk->start + (uint64_t)tk->count * tk->interval, "tick %d came early",
		      tk->count);
	tk->last = now;
	if (tk->count == 5) {
		col_source_free(src);
		col_loop_exit(tk->loop, 7);
	}
}

TEST_NOLEAK(loop, repeating_timer)
{
	struct col_loop *loop = new_loop();
	struct ticker tk = { .loop = loop, .interval = 2 * MSEC };
	struct col_source *src;

	tk.start = col_now();
	cr_assert_eq(
		col_loop_add_timer(loop, tk.start + tk.interval, tk.interval, on_tick, &tk, &src),
		0);
	cr_assert_eq(col_loop_run(loop), 7);
	cr_assert_eq(tk.count, 5);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, missed_intervals_coalesce)
{
	struct col_loop *loop = new_loop();
	struct seen r = { 0 };
	struct col_source *src;

	/* Ten intervals overdue: one callback, then the next deadline ahead. */
	cr_assert_eq(
		col_loop_add_timer(loop, col_now() - 10 * MSEC, MSEC, on_timer_count, &r, &src), 0);
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 1);
	cr_assert_eq(r.calls, 1);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, timer_rearm_disarm_and_disable)
{
	struct col_loop *loop = new_loop();
	struct seen ra = { 0 }, rb = { 0 };
	struct col_source *a, *b;
	uint64_t now = col_now();

	cr_assert_eq(
		col_loop_add_timer(loop, now + 3600 * COL_USEC_PER_SEC, 0, on_timer_count, &ra, &a),
		0);
	cr_assert_eq(col_loop_add_timer(loop, now + MSEC, 0, on_timer_count, &rb, &b), 0);
	cr_assert_eq(col_timer_set(b, COL_USEC_INFINITY, 0), 0);
	cr_assert_eq(col_timer_set(a, now + 5 * MSEC, 0), 0);
	run_until(loop, &ra.calls);
	cr_assert_eq(ra.calls, 1);
	cr_assert_eq(rb.calls, 0, "a disarmed timer fired");
	cr_assert_eq(run_once(loop, 0), 0, "a one-shot timer fired twice");

	/* Disabled, a due timer waits; enabled, it fires. */
	cr_assert_eq(col_timer_set(b, col_now(), 0), 0);
	cr_assert_eq(col_source_set_enabled(b, false), 0);
	cr_assert_eq(run_once(loop, 0), 0);
	cr_assert_eq(col_source_set_enabled(b, true), 0);
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 1);
	cr_assert_eq(rb.calls, 1);

	cr_assert_eq(col_source_set_events(a, EPOLLIN), -EINVAL);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, source_freed_by_another_callback_gets_none)
{
	struct col_loop *loop = new_loop();
	struct seen r1 = { 0 }, r2 = { 0 }, rt1 = { 0 }, rt2 = { 0 };
	struct col_source *s1, *s2, *t1, *t2;
	int p1[2], p2[2];
	uint64_t at = col_now();

	make_pipe(p1);
	make_pipe(p2);
	cr_assert_eq(write(p1[1], "x", 1), 1);
	cr_assert_eq(write(p2[1], "x", 1), 1);
	cr_assert_eq(col_loop_add_fd(loop, p1[0], EPOLLIN, on_fd, &r1, &s1), 0);
	cr_assert_eq(col_loop_add_fd(loop, p2[0], EPOLLIN, on_fd, &r2, &s2), 0);
	/* Whichever runs first frees the other, which is in the same batch. */
	r1.free_me = s2;
	r2.free_me = s1;
	cr_assert_eq(col_loop_add_timer(loop, at, 0, on_timer_count, &rt1, &t1), 0);
	cr_assert_eq(col_loop_add_timer(loop, at, 0, on_timer_count, &rt2, &t2), 0);
	rt1.free_me = t2;

	/* The timerfd, set in the past, may still come a batch after the pipes. */
	while (r1.calls + r2.calls == 0 || rt1.calls == 0)
		run_once(loop, COL_USEC_INFINITY);
	/* The survivor's byte is still unread, so it fires again; never the other. */
	cr_assert_eq(run_once(loop, 0), 1);
	cr_assert((r1.calls == 2 && r2.calls == 0) || (r1.calls == 0 && r2.calls == 2),
		  "callbacks: %d and %d", r1.calls, r2.calls);
	cr_assert_eq(rt1.calls, 1);
	cr_assert_eq(rt2.calls, 0, "a freed timer fired");

	col_source_free(r1.calls ? s1 : s2);
	col_source_free(t1);
	for (int i = 0; i < 2; i++) {
		col_close(p1[i]);
		col_close(p2[i]);
	}
	col_loop_free(loop);
}

TEST_NOLEAK(loop, source_frees_itself)
{
	struct col_loop *loop = new_loop();
	struct seen rf = { .free_self = true }, rs = { .free_self = true },
		    rt = { .free_self = true };
	struct col_source *f, *s, *t;
	int p[2];

	make_pipe(p);
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(col_loop_add_fd(loop, p[0], EPOLLIN, on_fd, &rf, &f), 0);
	cr_assert_eq(col_loop_add_signal(loop, SIGUSR1, on_signal, &rs, &s), 0);
	cr_assert_eq(col_loop_add_timer(loop, col_now(), MSEC, on_timer_count, &rt, &t), 0);
	cr_assert_eq(kill(getpid(), SIGUSR1), 0);

	while (rf.calls + rs.calls + rt.calls < 3)
		run_once(loop, COL_USEC_INFINITY);
	cr_assert_eq(run_once(loop, 10 * MSEC), 0, "a source that freed itself ran again");
	cr_assert_eq(rf.calls + rs.calls + rt.calls, 3);
	cr_assert_not(is_blocked(SIGUSR1));
	col_close(p[0]);
	col_close(p[1]);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, child_exit_is_reported_once)
{
	struct col_loop *loop = new_loop();
	struct seen r = { 0 };
	struct col_source *src;
	int pidfd;
	pid_t pid = fork_exit(3, &pidfd);

	cr_assert_eq(col_loop_add_child(loop, pidfd, pid, on_child, &r, &src), 0);
	run_until(loop, &r.calls);
	cr_assert_not(r.st_null);
	cr_assert_eq(r.st.kind, COL_STATUS_EXITED);
	cr_assert_eq(r.st.code, 3);
	cr_assert_eq(r.st.pid, pid);
	cr_assert_eq(count_children(), 0, "the loop did not reap the child");
	/* The pidfd stays readable; the inert source must not fire again. */
	cr_assert_eq(run_once(loop, 0), 0);
	cr_assert_eq(r.calls, 1);
	col_source_free(src);
	col_close(pidfd);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, child_killed_by_signal)
{
	struct col_loop *loop = new_loop();
	const char *args[] = { "pause", NULL };
	struct seen r = { 0 };
	struct col_source *src;
	int pidfd;
	pid_t pid = start_helper(args, -1, -1, &pidfd);

	cr_assert_eq(col_loop_add_child(loop, pidfd, pid, on_child, &r, &src), 0);
	cr_assert_eq(run_once(loop, 0), 0);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	run_until(loop, &r.calls);
	cr_assert_eq(r.st.kind, COL_STATUS_KILLED);
	cr_assert_eq(r.st.code, SIGTERM);
	cr_assert_eq(r.st.pid, pid);
	col_source_free(src);
	col_close(pidfd);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, child_reaped_elsewhere_has_no_status)
{
	struct col_loop *loop = new_loop();
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct seen r = { 0 };
	struct col_source *src;
	int pidfd;
	pid_t pid;

	int gate[2];
	char c;

	/* With SIGCHLD ignored the kernel reaps the child itself. The child
	 * waits for the gate to close, so its pidfd is open before it can be
	 * reaped (pidfd_open of an already reaped pid fails). */
	cr_assert_eq(sigaction(SIGCHLD, &ign, &old), 0);
	make_pipe(gate);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(gate[1]);
		_exit(read(gate[0], &c, 1) == 0 ? 4 : 5);
	}
	pidfd = open_pidfd(pid);
	col_close(gate[0]);
	cr_assert_eq(col_loop_add_child(loop, pidfd, pid, on_child, &r, &src), 0);
	col_close(gate[1]);
	run_until(loop, &r.calls);
	cr_assert(r.st_null, "a status was made up for a child someone else reaped");
	cr_assert_eq(run_once(loop, 0), 0);
	cr_assert_eq(sigaction(SIGCHLD, &old, NULL), 0);
	col_source_free(src);
	col_close(pidfd);
	col_loop_free(loop);
}

/* What orphan mode saw. */
struct orphans {
	int calls;
	struct col_status st[4];
};

static void on_orphan(struct col_loop *loop, const struct col_status *st, void *data)
{
	struct orphans *o = data;

	cr_assert_lt(o->calls, 4);
	o->st[o->calls++] = *st;
}

/* Read one line (a pid) from fd. */
static pid_t read_pid(int fd)
{
	char buf[32];
	size_t n = 0;
	char *end;
	long v;

	while (n == 0 || buf[n - 1] != '\n') {
		ssize_t r = col_fd_read(fd, buf + n, 1);

		cr_assert_eq(r, 1, "no pid from the helper");
		cr_assert_lt(++n, sizeof(buf));
	}
	buf[n] = 0;
	v = strtol(buf, &end, 10);
	cr_assert(v > 0 && *end == '\n', "bad pid line '%s'", buf);
	return (pid_t)v;
}

TEST_NOLEAK(loop, reap_orphans_reaps_the_grandchild_and_routes_the_child)
{
	struct col_loop *loop = new_loop();
	const char *args[] = { "double-fork", "wait-eof", "exit", "7", NULL };
	struct orphans o = { 0 };
	struct seen r = { 0 };
	struct col_source *src;
	int in[2], out[2], pidfd;
	pid_t pid, grandchild;

	cr_assert_eq(col_reap_set_subreaper(true), 0);
	cr_assert_eq(col_loop_reap_orphans(loop, on_orphan, &o), 0);
	make_pipe(in);
	make_pipe(out);
	pid = start_helper(args, in[0], out[1], &pidfd);
	in[0] = col_close(in[0]);
	out[1] = col_close(out[1]);
	cr_assert_eq(col_loop_add_child(loop, pidfd, pid, on_child, &r, &src), 0);

	grandchild = read_pid(out[0]);
	run_until(loop, &r.calls);
	cr_assert_eq(r.st.pid, pid);
	cr_assert_eq(r.st.kind, COL_STATUS_EXITED);
	cr_assert_eq(r.st.code, 0);
	cr_assert_eq(o.calls, 0, "the watched child was reported as an orphan");

	/* The grandchild is ours now; EOF on its stdin makes it exit 7. */
	in[1] = col_close(in[1]);
	run_until(loop, &o.calls);
	cr_assert_eq(o.st[0].pid, grandchild);
	cr_assert_eq(o.st[0].kind, COL_STATUS_EXITED);
	cr_assert_eq(o.st[0].code, 7);
	cr_assert_eq(r.calls, 1);

	col_source_free(src);
	col_close(pidfd);
	col_close(out[0]);
	col_loop_free(loop);
	cr_assert_eq(col_reap_set_subreaper(false), 0);
	cr_assert_not(is_blocked(SIGCHLD));
}

TEST_NOLEAK(loop, reap_orphans_keeps_a_disabled_childs_status)
{
	struct col_loop *loop = new_loop();
	struct orphans o = { 0 };
	struct seen r = { 0 };
	struct col_source *src;
	struct pollfd pfd;
	int pidfd;
	pid_t pid;

	cr_assert_eq(col_loop_reap_orphans(loop, on_orphan, &o), 0);
	/* The queued SIGCHLD of the first sweep: no children yet. */
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 0);
	pid = fork_exit(5, &pidfd);
	cr_assert_eq(col_loop_add_child(loop, pidfd, pid, on_child, &r, &src), 0);
	cr_assert_eq(col_source_set_enabled(src, false), 0);

	/* Once it has exited, the only event left is SIGCHLD: the sweep must
	 * reap the zombie for the disabled source, without a callback. */
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, -1), 1);
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 0);
	cr_assert_eq(count_zombies_of(getpid()), 0, "the sweep left the zombie");
	cr_assert_eq(r.calls, 0);
	cr_assert_eq(o.calls, 0);

	cr_assert_eq(col_source_set_enabled(src, true), 0);
	cr_assert_eq(run_once(loop, COL_USEC_INFINITY), 1);
	cr_assert_eq(r.st.kind, COL_STATUS_EXITED);
	cr_assert_eq(r.st.code, 5);
	cr_assert_eq(r.st.pid, pid);
	col_source_free(src);
	col_close(pidfd);
	col_loop_free(loop);
}

static long voluntary_switches(void)
{
	struct rusage ru;

	cr_assert_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_nvcsw;
}

TEST_NOLEAK(loop, idle_loop_makes_no_wakeups)
{
	struct col_loop *loop = new_loop();
	struct col_source *fd, *timer;
	struct seen r = { 0 };
	uint64_t start, took;
	long before, after;
	int p[2];

	make_pipe(p);
	cr_assert_eq(col_loop_add_fd(loop, p[0], EPOLLIN, on_fd, &r, &fd), 0);
	/* Armed, so the timerfd is set; then disarmed, so it must be cleared. */
	cr_assert_eq(col_loop_add_timer(loop, col_now() + 20 * MSEC, 0, on_timer_count, &r, &timer),
		     0);
	cr_assert_eq(col_timer_set(timer, COL_USEC_INFINITY, 0), 0);

	start = col_now();
	before = voluntary_switches();
	cr_assert_eq(run_once(loop, COL_USEC_PER_SEC), 0);
	after = voluntary_switches();
	took = col_now() - start;
	cr_assert_geq(took, COL_USEC_PER_SEC, "the wait ended early, after %llu us",
		      (unsigned long long)took);
	cr_assert_leq(after - before, 1, "%ld wakeups in an idle second", after - before);
	cr_assert_eq(r.calls, 0);

	col_loop_free(loop);
	col_close(p[0]);
	col_close(p[1]);
}

TEST_NOLEAK(loop, free_with_sources_attached_leaks_nothing)
{
	struct col_loop *loop = new_loop();
	const char *args[] = { "pause", NULL };
	struct col_source *src;
	struct col_status st;
	struct seen r = { 0 };
	int p[2], pidfd;
	pid_t pid;

	make_pipe(p);
	pid = start_helper(args, -1, -1, &pidfd);
	cr_assert_eq(col_loop_add_fd(loop, p[0], EPOLLIN, on_fd, &r, &src), 0);
	cr_assert_eq(col_loop_add_signal(loop, SIGUSR1, on_signal, &r, &src), 0);
	cr_assert_eq(col_loop_add_timer(loop, col_now() + MSEC, MSEC, on_timer_count, &r, &src), 0);
	cr_assert_eq(col_loop_add_timer(loop, COL_USEC_INFINITY, 0, on_timer_count, &r, &src), 0);
	cr_assert_eq(col_loop_add_child(loop, pidfd, pid, on_child, &r, &src), 0);
	cr_assert_eq(col_loop_reap_orphans(loop, NULL, NULL), 0);
	col_loop_free(loop);
	cr_assert_eq(r.calls, 0);
	cr_assert_not(is_blocked(SIGUSR1));
	cr_assert_not(is_blocked(SIGCHLD));

	/* The pidfd was borrowed: still ours to use. */
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(col_reap_pidfd(pidfd, 0, &st), 1);
	cr_assert_eq(st.code, SIGKILL);
	col_close(pidfd);
	col_close(p[0]);
	col_close(p[1]);
}

TEST_NOLEAK(loop, a_source_without_a_handle_lives_until_the_loop_is_freed)
{
	struct col_loop *loop = new_loop();
	struct seen r = { 0 };
	int p[2];

	make_pipe(p);
	cr_assert_eq(col_loop_add_fd(loop, p[1], EPOLLOUT, on_fd, &r, NULL), 0);
	cr_assert_eq(col_loop_add_timer(loop, COL_USEC_INFINITY, 0, on_timer_count, &r, NULL), 0);
	cr_assert_eq(col_loop_run_once(loop, 0), 1, "the fd source without a handle did not run");
	col_loop_free(loop); /* frees both sources: check_teardown sees no leak */
	col_close(p[0]);
	col_close(p[1]);
}

TEST_NOLEAK(loop, bad_arguments_are_refused)
{
	struct col_loop *loop = new_loop();
	struct col_source *src = NULL;
	struct seen r = { 0 };
	int p[2], closed;

	make_pipe(p);
	closed = fcntl(p[0], F_DUPFD_CLOEXEC, 100);
	cr_assert_geq(closed, 100);
	col_close(closed);

	cr_assert_eq(col_loop_new(NULL), -EINVAL);
	cr_assert_eq(col_loop_add_fd(NULL, p[0], EPOLLIN, on_fd, &r, &src), -EINVAL);
	cr_assert_eq(col_loop_add_fd(loop, p[0], EPOLLIN, NULL, &r, &src), -EINVAL);
	cr_assert_eq(col_loop_add_fd(loop, p[0], EPOLLEXCLUSIVE, on_fd, &r, &src), -EINVAL);
	cr_assert_eq(col_loop_add_fd(loop, -1, EPOLLIN, on_fd, &r, &src), -EBADF);
	cr_assert_eq(col_loop_add_fd(loop, closed, EPOLLIN, on_fd, &r, &src), -EBADF);
	cr_assert_eq(col_loop_add_signal(NULL, SIGUSR1, on_signal, &r, &src), -EINVAL);
	cr_assert_eq(col_loop_add_signal(loop, SIGUSR1, NULL, &r, &src), -EINVAL);
	cr_assert_eq(col_loop_add_timer(NULL, 0, 0, on_timer_count, &r, &src), -EINVAL);
	cr_assert_eq(col_loop_add_timer(loop, 0, 0, NULL, &r, &src), -EINVAL);
	cr_assert_eq(col_loop_add_child(loop, -1, 1, on_child, &r, &src), -EBADF);
	cr_assert_eq(col_loop_add_child(loop, p[0], 1, on_child, &r, &src), -EBADF,
		     "a pipe was taken for a pidfd");
	cr_assert_eq(col_loop_add_child(loop, closed, 1, on_child, &r, &src), -EBADF);
	cr_assert_eq(col_loop_reap_orphans(NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(col_timer_set(NULL, 0, 0), -EINVAL);
	cr_assert_eq(col_source_set_events(NULL, EPOLLIN), -EINVAL);
	cr_assert_eq(col_source_set_enabled(NULL, true), -EINVAL);
	cr_assert_eq(col_loop_run(NULL), -EINVAL);
	cr_assert_eq(col_loop_run_once(NULL, 0), -EINVAL);
	cr_assert_eq(col_loop_fd(NULL), -EINVAL);
	cr_assert_null(col_source_loop(NULL));
	col_source_free(NULL);
	col_loop_free(NULL);
	col_loop_exit(NULL, 1);
	cr_assert_null(src, "a failed call wrote its ret_ parameter");

	col_close(p[0]);
	col_close(p[1]);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, one_child_source_per_pid)
{
	struct col_loop *loop = new_loop();
	struct col_source *src;
	struct seen r = { 0 };
	int pidfd;
	pid_t pid = fork_exit(0, &pidfd);

	cr_assert_eq(col_loop_add_child(loop, pidfd, 0, on_child, &r, &src), -EINVAL);
	cr_assert_eq(col_loop_add_child(loop, pidfd, pid, on_child, &r, &src), 0);
	cr_assert_eq(col_loop_add_child(loop, pidfd, pid, on_child, &r, &src), -EEXIST);
	cr_assert_eq(col_timer_set(src, 0, 0), -EINVAL);
	run_until(loop, &r.calls);
	col_close(pidfd);
	col_loop_free(loop);
}

static void on_timer_exit(struct col_source *src, uint64_t now, void *data)
{
	struct col_loop *loop = col_source_loop(src);

	cr_assert_eq(col_loop_run_once(loop, 0), -EBUSY);
	cr_assert_eq(col_loop_run(loop), -EBUSY);
	col_loop_exit(loop, 42);
	after_call(src, data);
}

TEST_NOLEAK(loop, run_returns_the_exit_code)
{
	struct col_loop *loop = new_loop();
	struct seen r = { 0 };
	struct col_source *src;

	cr_assert_eq(col_loop_add_timer(loop, col_now() + MSEC, 0, on_timer_exit, &r, &src), 0);
	cr_assert_eq(col_loop_run(loop), 42);
	cr_assert_eq(r.calls, 1);
	/* Asked to exit before it runs, run returns at once. */
	col_loop_exit(loop, 3);
	cr_assert_eq(col_loop_run(loop), 3);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, loop_fd_is_readable_when_there_is_work)
{
	struct col_loop *loop = new_loop();
	struct seen r = { 0 };
	struct col_source *src;
	struct pollfd pfd = { .fd = col_loop_fd(loop), .events = POLLIN };

	cr_assert_geq(pfd.fd, 0);
	cr_assert_eq(poll(&pfd, 1, 0), 0);
	cr_assert_eq(col_loop_add_timer(loop, col_now() + MSEC, 0, on_timer_count, &r, &src), 0);
	cr_assert_eq(poll(&pfd, 1, -1), 1);
	cr_assert_eq(run_once(loop, 0), 1);
	cr_assert_eq(poll(&pfd, 1, 0), 0);
	col_loop_free(loop);
}

TEST_NOLEAK(loop, a_set_of_signals_is_watched_at_once_and_restored_at_free)
{
	struct col_loop *loop = new_loop();
	struct seen r = { 0 };
	sigset_t set, kill_set;
	struct col_source *one;

	cr_assert_not(is_blocked(SIGUSR1));
	cr_assert_not(is_blocked(SIGUSR2));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGWINCH);
	cr_assert_eq(col_loop_add_signals(loop, &set, on_signal, &r), 0);
	cr_assert(is_blocked(SIGUSR1) && is_blocked(SIGUSR2) && is_blocked(SIGWINCH));
	cr_assert_eq(kill(getpid(), SIGUSR2), 0);
	run_until(loop, &r.calls);
	cr_assert_eq(r.si.ssi_signo, SIGUSR2);

	/* Overlapping or invalid sets change nothing. */
	cr_assert_eq(col_loop_add_signal(loop, SIGWINCH, on_signal, &r, &one), -EBUSY);
	sigemptyset(&kill_set);
	sigaddset(&kill_set, SIGHUP);
	sigaddset(&kill_set, SIGKILL);
	cr_assert_eq(col_loop_add_signals(loop, &kill_set, on_signal, &r), -EINVAL);
	cr_assert_not(is_blocked(SIGHUP), "a refused set blocked a signal");
	sigemptyset(&kill_set);
	cr_assert_eq(col_loop_add_signals(loop, &kill_set, on_signal, &r), -EINVAL);
	cr_assert_eq(col_loop_add_signals(NULL, &set, on_signal, &r), -EINVAL);

	col_loop_free(loop);
	cr_assert_not(is_blocked(SIGUSR1) || is_blocked(SIGUSR2) || is_blocked(SIGWINCH),
		      "col_loop_free() did not restore the mask");
}

static void on_signal_note(struct col_source *src, const struct signalfd_siginfo *si, void *data)
{
	struct col_source **seen_src = data;

	seen_src[si->ssi_signo == SIGUSR1 ? 0 : 1] = src;
}

/* One source serves a set: each signal of it arrives, and at free only
 * those not blocked before are unblocked. */
TEST_NOLEAK(loop, a_set_keeps_the_signals_that_were_blocked_before_blocked)
{
	struct col_loop *loop = new_loop();
	struct col_source *seen[2] = { NULL, NULL };
	sigset_t set, pre;

	sigemptyset(&pre);
	sigaddset(&pre, SIGUSR2);
	cr_assert_eq(pthread_sigmask(SIG_BLOCK, &pre, NULL), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	cr_assert_eq(col_loop_add_signals(loop, &set, on_signal_note, seen), 0);
	cr_assert_eq(kill(getpid(), SIGUSR1), 0);
	cr_assert_eq(kill(getpid(), SIGUSR2), 0);
	for (int i = 0; i < 100 && !(seen[0] && seen[1]); i++)
		run_once(loop, COL_USEC_INFINITY);
	cr_assert(seen[0] && seen[1], "a signal of the set did not arrive");
	cr_assert_eq(seen[0], seen[1], "one set, one source");

	col_loop_free(loop);
	cr_assert_not(is_blocked(SIGUSR1), "SIGUSR1 was not blocked before: unblocked at free");
	cr_assert(is_blocked(SIGUSR2), "SIGUSR2 was blocked before: stays so");
	cr_assert_eq(pthread_sigmask(SIG_UNBLOCK, &pre, NULL), 0);
}
