/*
 * loop.c - the event loop: epoll at the core, fd and signal sources, and
 * the dispatch that runs callbacks in batches. Timers are in
 * loop-timer.c, children and orphans in loop-child.c.
 *
 * Decisions that are not obvious:
 *  - Every kind of event is an fd in one epoll set: signals come through
 *    one signalfd, all timers share one timerfd, each child is its pidfd.
 *    The epoll fd alone then says whether there is work, which is what
 *    lets col_loop_fd() nest this loop in another.
 *  - epoll hands back a batch of events whose data pointers are sources,
 *    and any callback may free any source. So freeing unregisters at once
 *    but releases the memory only when the batch ends, and dispatch checks
 *    `dead` first: a pointer from the batch never dangles, and a freed
 *    source never gets another callback.
 *  - A disabled fd or child source is taken out of epoll rather than
 *    given an empty event mask, because epoll reports EPOLLHUP and
 *    EPOLLERR whatever the mask says.
 *  - The signalfd is read one record at a time, each dispatched before
 *    the next read, so a callback that disables or frees a signal source
 *    never strands a record already taken from the kernel.
 *  - col_loop_exit() lets the current batch finish: events already taken
 *    from epoll (edge-triggered ones especially) would otherwise be lost
 *    to a later col_loop_run().
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "collie/fd.h"
#include "collie/loop.h"
#include "loop-internal.h"
#include "banned.h"

/* Events taken from epoll per batch. */
#define MAX_EVENTS 64
/* Signals dispatched per batch: enough for a burst, bounded so that a
 * flood of one signal cannot starve the other sources. */
#define MAX_SIGNALS 16

#define FD_EVENTS \
	(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLERR | EPOLLHUP | EPOLLET | EPOLLONESHOT)

int col__epoll_add(struct col_loop *loop, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void col__epoll_del(struct col_loop *loop, int fd)
{
	/* This fails only when the caller closed fd while it was watched,
	 * which the header forbids; there is nothing better to do then. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
}

struct col_source *col__source_new(struct col_loop *loop, enum source_kind kind, void *data)
{
	struct col_source *src = calloc(1, sizeof(*src));

	if (!src)
		return NULL;
	src->loop = loop;
	src->kind = kind;
	src->enabled = true;
	src->data = data;
	src->next = loop->sources;
	if (loop->sources)
		loop->sources->prev = src;
	loop->sources = src;
	return src;
}

static void source_unlist(struct col_source *src)
{
	if (src->prev)
		src->prev->next = src->next;
	else
		src->loop->sources = src->next;
	if (src->next)
		src->next->prev = src->prev;
	src->prev = src->next = NULL;
}

/* Release a source that was never registered anywhere. */
static void source_discard(struct col_source *src)
{
	source_unlist(src);
	free(src);
}

int col__source_watch(struct col_source *src, int fd, uint32_t events, struct col_source **ret_src)
{
	int r = col__epoll_add(src->loop, fd, events, src);

	if (r < 0) {
		source_discard(src);
		return r;
	}
	if (ret_src)
		*ret_src = src;
	return 0;
}

struct col_loop *col_source_loop(const struct col_source *src)
{
	return src ? src->loop : NULL;
}

static int loop_open_fds(struct col_loop *loop)
{
	sigset_t none;
	int r;

	sigemptyset(&none);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->sigfd = signalfd(-1, &none, SFD_CLOEXEC | SFD_NONBLOCK);
	if (loop->sigfd < 0)
		return -errno;
	loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (loop->timerfd < 0)
		return -errno;
	/* The internal fds are told apart from sources by their address. */
	r = col__epoll_add(loop, loop->sigfd, EPOLLIN, &loop->sigfd);
	if (r < 0)
		return r;
	return col__epoll_add(loop, loop->timerfd, EPOLLIN, &loop->timerfd);
}

int col_loop_new(struct col_loop **ret_loop)
{
	struct col_loop *loop;
	int r;

	if (!ret_loop)
		return -EINVAL;
	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	loop->epfd = loop->sigfd = loop->timerfd = -1;
	loop->timerfd_at = COL_USEC_INFINITY;
	sigemptyset(&loop->sigfd_mask);
	r = loop_open_fds(loop);
	if (r < 0)
		goto fail;
	*ret_loop = loop;
	return 0;
fail:
	col_loop_free(loop);
	return r;
}

static int signals_block(const sigset_t *set, bool block, sigset_t *ret_old);

void col_loop_free(struct col_loop *loop)
{
	if (!loop)
		return;
	assert(!loop->dispatching);
	loop->freeing = true;
	sigemptyset(&loop->unblock_at_free);
	while (loop->sources)
		col_source_free(loop->sources);
	signals_block(&loop->unblock_at_free, false, NULL);
	col__timer_release(loop);
	col__child_release(loop);
	loop->timerfd = col_close(loop->timerfd);
	loop->sigfd = col_close(loop->sigfd);
	loop->epfd = col_close(loop->epfd);
	free(loop);
}

int col_loop_fd(const struct col_loop *loop)
{
	return loop ? loop->epfd : -EINVAL;
}

int col_loop_add_fd(struct col_loop *loop, int fd, uint32_t events, col_fd_fn *cb, void *data,
		    struct col_source **ret_src)
{
	struct col_source *src;

	if (!loop || !cb || (events & ~FD_EVENTS))
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	src = col__source_new(loop, SOURCE_FD, data);
	if (!src)
		return -ENOMEM;
	src->fd.fd = fd;
	src->fd.events = events;
	src->fd.cb = cb;
	return col__source_watch(src, fd, events, ret_src);
}

int col_source_set_events(struct col_source *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (!src || src->kind != SOURCE_FD || (events & ~FD_EVENTS))
		return -EINVAL;
	if (src->enabled && epoll_ctl(src->loop->epfd, EPOLL_CTL_MOD, src->fd.fd, &ev) < 0)
		return -errno;
	src->fd.events = events;
	return 0;
}

static bool signal_valid(int signo)
{
	sigset_t set;

	/* sigaddset() also refuses the signals glibc keeps for its threads. */
	sigemptyset(&set);
	return signo > 0 && signo < _NSIG && signo != SIGKILL && signo != SIGSTOP &&
	       sigaddset(&set, signo) == 0;
}

/* The signals of a source: bit signo - 1 of a 64-bit mask. */
static_assert(_NSIG - 1 <= 64, "a signal source keeps its signals in 64 bits");

static uint64_t sigmask_of(const sigset_t *set)
{
	uint64_t mask = 0;

	for (int signo = 1; signo < _NSIG; signo++)
		if (sigismember(set, signo) == 1)
			mask |= UINT64_C(1) << (signo - 1);
	return mask;
}

static void sigset_of(uint64_t mask, sigset_t *ret_set)
{
	sigemptyset(ret_set);
	for (int signo = 1; signo < _NSIG; signo++)
		if (mask & UINT64_C(1) << (signo - 1))
			sigaddset(ret_set, signo);
}

/*
 * Make the signalfd read the signals of mask, or stop reading them. They
 * stay blocked either way, so while nobody reads one, it waits pending.
 */
static int signal_listen(struct col_loop *loop, uint64_t mask, bool on)
{
	sigset_t set, fdmask = loop->sigfd_mask;

	sigset_of(mask, &set);
	if (on)
		sigorset(&fdmask, &fdmask, &set);
	else
		for (int signo = 1; signo < _NSIG; signo++)
			if (sigismember(&set, signo) == 1)
				sigdelset(&fdmask, signo);
	if (signalfd(loop->sigfd, &fdmask, 0) < 0)
		return -errno;
	loop->sigfd_mask = fdmask;
	return 0;
}

/* Block (or unblock) every signal of set in the calling thread, in one call. */
static int signals_block(const sigset_t *set, bool block, sigset_t *ret_old)
{
	int r = pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, set, ret_old);

	return r ? -r : 0;
}

/*
 * Watch every signal of set with one source, with one pthread_sigmask()
 * and one signalfd() update for all of them (an init watches some 60: one
 * source each took a page of heap).
 */
static int add_signals(struct col_loop *loop, const sigset_t *set, col_signal_fn *cb, void *data,
		       struct col_source **ret_src)
{
	struct col_source *src;
	sigset_t old, blocked;
	uint64_t mask = 0;
	int r;

	for (int signo = 1; signo < _NSIG; signo++) {
		if (sigismember(set, signo) != 1)
			continue;
		if (!signal_valid(signo))
			return -EINVAL;
		if (loop->signals[signo])
			return -EBUSY;
		mask |= UINT64_C(1) << (signo - 1);
	}
	if (mask == 0)
		return -EINVAL;
	if (!(src = col__source_new(loop, SOURCE_SIGNAL, data)))
		return -ENOMEM;
	src->sig.set = mask;
	src->sig.cb = cb;
	/* Block first: a signal sent in between then waits pending for the
	 * signalfd instead of meeting its old disposition. */
	r = signals_block(set, true, &old);
	if (r < 0) {
		source_discard(src);
		return r;
	}
	src->sig.was_blocked = mask & sigmask_of(&old);
	r = signal_listen(loop, mask, true);
	if (r < 0) {
		sigset_of(mask & ~src->sig.was_blocked, &blocked);
		signals_block(&blocked, false, NULL);
		source_discard(src);
		return r;
	}
	for (int signo = 1; signo < _NSIG; signo++)
		if (mask & UINT64_C(1) << (signo - 1))
			loop->signals[signo] = src;
	if (ret_src)
		*ret_src = src;
	return 0;
}

int col_loop_add_signal(struct col_loop *loop, int signo, col_signal_fn *cb, void *data,
			struct col_source **ret_src)
{
	sigset_t set;

	if (!loop || !cb || !signal_valid(signo))
		return -EINVAL;
	sigemptyset(&set);
	sigaddset(&set, signo);
	return add_signals(loop, &set, cb, data, ret_src);
}

int col_loop_add_signals(struct col_loop *loop, const sigset_t *set, col_signal_fn *cb, void *data)
{
	if (!loop || !set || !cb)
		return -EINVAL;
	return add_signals(loop, set, cb, data, NULL);
}

static void signal_unregister(struct col_source *src)
{
	struct col_loop *loop = src->loop;
	uint64_t mask = src->sig.set;
	sigset_t unblock;

	for (int signo = 1; signo < _NSIG; signo++)
		if (mask & UINT64_C(1) << (signo - 1))
			loop->signals[signo] = NULL;
	if (loop->sigchld == src)
		loop->sigchld = NULL;
	sigset_of(mask & ~src->sig.was_blocked, &unblock);
	if (loop->freeing) {
		/* col_loop_free(): the signalfd is about to close, and every
		 * signal is unblocked at once at the end. */
		sigorset(&loop->unblock_at_free, &loop->unblock_at_free, &unblock);
		return;
	}
	/* Removing bits from a valid signalfd's mask cannot fail. */
	if (src->enabled)
		signal_listen(loop, mask, false);
	signals_block(&unblock, false, NULL);
}

static void source_unregister(struct col_source *src)
{
	switch (src->kind) {
	case SOURCE_FD:
		if (src->enabled)
			col__epoll_del(src->loop, src->fd.fd);
		break;
	case SOURCE_SIGNAL:
		signal_unregister(src);
		break;
	case SOURCE_TIMER:
		col__timer_unlink(src);
		break;
	case SOURCE_CHILD:
		col__child_unlink(src);
		break;
	}
}

void col_source_free(struct col_source *src)
{
	struct col_loop *loop;

	if (!src)
		return;
	assert(!src->dead);
	loop = src->loop;
	source_unregister(src);
	source_unlist(src);
	if (loop->dispatching) {
		src->dead = true;
		src->next = loop->dead;
		loop->dead = src;
	} else {
		free(src);
	}
}

int col_source_set_enabled(struct col_source *src, bool enabled)
{
	int r = 0;

	if (!src)
		return -EINVAL;
	assert(!src->dead);
	if (src->enabled == enabled)
		return 0;
	switch (src->kind) {
	case SOURCE_FD:
		if (enabled)
			r = col__epoll_add(src->loop, src->fd.fd, src->fd.events, src);
		else
			col__epoll_del(src->loop, src->fd.fd);
		break;
	case SOURCE_SIGNAL:
		r = signal_listen(src->loop, src->sig.set, enabled);
		break;
	case SOURCE_TIMER:
		col__timer_set_enabled(src, enabled);
		break;
	case SOURCE_CHILD:
		r = col__child_set_enabled(src, enabled);
		break;
	}
	if (r < 0)
		return r;
	src->enabled = enabled;
	return 0;
}

static void signals_dispatch(struct col_loop *loop)
{
	struct signalfd_siginfo si;
	struct col_source *src;

	for (int i = 0; i < MAX_SIGNALS; i++) {
		/* -EAGAIN: no more pending. The mask holds only watched,
		 * enabled signals, so every record has its source. */
		if (col_fd_read(loop->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			return;
		if (si.ssi_signo >= _NSIG || !loop->signals[si.ssi_signo])
			continue;
		src = loop->signals[si.ssi_signo];
		if (src != loop->sigchld)
			loop->ncalls++;
		src->sig.cb(src, &si, src->data);
	}
}

static void dispatch(struct col_loop *loop, const struct epoll_event *ev)
{
	struct col_source *src = ev->data.ptr;
	uint32_t events;

	if (ev->data.ptr == &loop->sigfd) {
		signals_dispatch(loop);
		return;
	}
	if (ev->data.ptr == &loop->timerfd) {
		col__timer_dispatch(loop);
		return;
	}
	/* Freed or disabled by an earlier callback of this batch. */
	if (src->dead || !src->enabled)
		return;
	if (src->kind == SOURCE_CHILD) {
		col__child_dispatch(src);
		return;
	}
	/* set_events may have narrowed the mask since epoll took this event. */
	events = ev->events & (src->fd.events | EPOLLERR | EPOLLHUP);
	if (!events)
		return;
	loop->ncalls++;
	src->fd.cb(src, src->fd.fd, events, src->data);
}

/*
 * epoll_wait() with a timeout in microseconds, rounded up to whole
 * milliseconds so a wait never ends before it was asked to. EINTR is a
 * batch of zero events.
 */
static int loop_wait(struct col_loop *loop, struct epoll_event *ev, int n, uint64_t timeout)
{
	int ms, r;

	if (timeout == COL_USEC_INFINITY)
		ms = -1;
	else if (timeout >= (uint64_t)INT_MAX * COL_USEC_PER_MSEC)
		ms = INT_MAX;
	else
		ms = (int)((timeout + COL_USEC_PER_MSEC - 1) / COL_USEC_PER_MSEC);
	r = epoll_wait(loop->epfd, ev, n, ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r;
}

int col_loop_run_once(struct col_loop *loop, uint64_t timeout)
{
	struct epoll_event ev[MAX_EVENTS];
	unsigned long before;
	int n;

	if (!loop)
		return -EINVAL;
	if (loop->dispatching)
		return -EBUSY;
	n = loop_wait(loop, ev, MAX_EVENTS, timeout);
	if (n < 0)
		return n;
	before = loop->ncalls;
	loop->dispatching = true;
	for (int i = 0; i < n; i++)
		dispatch(loop, &ev[i]);
	loop->dispatching = false;
	while (loop->dead) {
		struct col_source *src = loop->dead;

		loop->dead = src->next;
		free(src);
	}
	return (int)(loop->ncalls - before);
}

int col_loop_run(struct col_loop *loop)
{
	int r;

	if (!loop)
		return -EINVAL;
	while (!loop->exiting) {
		r = col_loop_run_once(loop, COL_USEC_INFINITY);
		if (r < 0)
			return r;
	}
	loop->exiting = false;
	return loop->exit_code;
}

void col_loop_exit(struct col_loop *loop, int code)
{
	if (!loop)
		return;
	loop->exiting = true;
	loop->exit_code = code;
}
