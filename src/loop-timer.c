/*
 * loop-timer.c - timers: a binary min-heap of deadlines behind one timerfd.
 *
 * One timerfd for all timers rather than one each: a supervisor keeps a
 * timer per child (restart backoff, stop escalation), and fds are a
 * limited resource. The heap is ordered by (deadline, arm sequence
 * number): a heap alone is not stable, and the sequence number is what
 * makes timers due at the same microsecond fire in the order they were
 * armed.
 *
 * The timerfd is set (TFD_TIMER_ABSTIME, so no drift from converting to
 * relative time) to the earliest deadline, and disarmed when no timer is
 * armed, so an idle loop has nothing to wake it. It is brought in step
 * after every change rather than just before waiting, so that the epoll
 * fd alone tells an outer loop (col_loop_fd) when there is work.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>

#include "collie/fd.h"
#include "collie/loop.h"
#include "loop-internal.h"
#include "banned.h"

uint64_t col_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * COL_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static bool timer_before(const struct col_source *a, const struct col_source *b)
{
	if (a->timer.at != b->timer.at)
		return a->timer.at < b->timer.at;
	return a->timer.seq < b->timer.seq;
}

static void heap_place(struct col_loop *loop, size_t i, struct col_source *src)
{
	loop->heap[i] = src;
	src->timer.heap_idx = i;
}

static void heap_up(struct col_loop *loop, size_t i)
{
	struct col_source *src = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(src, loop->heap[parent]))
			break;
		heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_place(loop, i, src);
}

static void heap_down(struct col_loop *loop, size_t i)
{
	struct col_source *src = loop->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop->heap[child], src))
			break;
		heap_place(loop, i, loop->heap[child]);
		i = child;
	}
	heap_place(loop, i, src);
}

static void heap_remove(struct col_loop *loop, struct col_source *src)
{
	size_t i = src->timer.heap_idx;
	struct col_source *last = loop->heap[--loop->heap_len];

	src->timer.heap_idx = TIMER_NOT_ARMED;
	if (last == src)
		return;
	heap_place(loop, i, last);
	if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
		heap_up(loop, i);
	else
		heap_down(loop, i);
}

/* Room in the heap for every timer source, so that arming never fails. */
static int heap_reserve(struct col_loop *loop, size_t n)
{
	struct col_source **heap;
	size_t cap;

	if (n <= loop->heap_cap)
		return 0;
	cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
	heap = reallocarray(loop->heap, cap, sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	loop->heap = heap;
	loop->heap_cap = cap;
	return 0;
}

/* Set the timerfd to the earliest deadline, or disarm it. */
static void timerfd_sync(struct col_loop *loop)
{
	uint64_t at = loop->heap_len ? loop->heap[0]->timer.at : COL_USEC_INFINITY;
	struct itimerspec its = { 0 };

	if (at == loop->timerfd_at)
		return;
	if (at != COL_USEC_INFINITY) {
		its.it_value.tv_sec = (time_t)(at / COL_USEC_PER_SEC);
		its.it_value.tv_nsec = (long)(at % COL_USEC_PER_SEC) * 1000;
		/* An all-zero it_value disarms; deadline 0 only means "long ago". */
		if (at == 0)
			its.it_value.tv_nsec = 1;
	}
	/* Only EBADF or an invalid time could fail, and neither can occur:
	 * the fd is ours and the time is built above. */
	if (timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		loop->timerfd_at = at;
}

/* Put the timer in the heap for its deadline, or out of it when disarmed
 * or disabled. Re-arming takes a new sequence number: it is armed anew. */
static void timer_arm(struct col_source *src)
{
	struct col_loop *loop = src->loop;

	if (src->timer.heap_idx != TIMER_NOT_ARMED)
		heap_remove(loop, src);
	if (src->timer.at == COL_USEC_INFINITY || !src->enabled)
		return;
	assert(loop->heap_len < loop->heap_cap);
	src->timer.seq = ++loop->timer_seq;
	loop->heap[loop->heap_len] = src;
	heap_up(loop, loop->heap_len++);
}

int col_loop_add_timer(struct col_loop *loop, uint64_t at, uint64_t interval, col_timer_fn *cb,
		       void *data, struct col_source **ret_src)
{
	struct col_source *src;
	int r;

	if (!loop || !cb)
		return -EINVAL;
	r = heap_reserve(loop, loop->n_timers + 1);
	if (r < 0)
		return r;
	src = col__source_new(loop, SOURCE_TIMER, data);
	if (!src)
		return -ENOMEM;
	src->timer.heap_idx = TIMER_NOT_ARMED;
	src->timer.cb = cb;
	loop->n_timers++;
	col_timer_set(src, at, interval);
	if (ret_src)
		*ret_src = src;
	return 0;
}

int col_timer_set(struct col_source *src, uint64_t at, uint64_t interval)
{
	if (!src || src->kind != SOURCE_TIMER)
		return -EINVAL;
	src->timer.at = at;
	src->timer.interval = interval;
	timer_arm(src);
	timerfd_sync(src->loop);
	return 0;
}

void col__timer_set_enabled(struct col_source *src, bool enabled)
{
	src->enabled = enabled;
	timer_arm(src);
	timerfd_sync(src->loop);
}

void col__timer_unlink(struct col_source *src)
{
	if (src->timer.heap_idx != TIMER_NOT_ARMED)
		heap_remove(src->loop, src);
	src->loop->n_timers--;
	timerfd_sync(src->loop);
}

void col__timer_release(struct col_loop *loop)
{
	free(loop->heap);
	loop->heap = NULL;
}

/*
 * The deadline after `at` that is later than now: the next one, or, when
 * expirations were missed, the first one still ahead, so they coalesce
 * into the one callback about to run. COL_USEC_INFINITY (disarmed) for a
 * one-shot timer or on overflow.
 */
static uint64_t timer_next(uint64_t at, uint64_t interval, uint64_t now)
{
	uint64_t periods;

	if (!interval)
		return COL_USEC_INFINITY;
	periods = (now - at) / interval + 1;
	if (periods > (COL_USEC_INFINITY - 1 - at) / interval)
		return COL_USEC_INFINITY;
	return at + periods * interval;
}

void col__timer_dispatch(struct col_loop *loop)
{
	uint64_t expirations, now, last_seq = loop->timer_seq;
	struct col_source *src;

	/* A full read means the set time passed, after which an absolute
	 * timerfd without interval is disarmed. -EAGAIN means it was set
	 * again since it fired and still holds that setting. */
	if (col_fd_read(loop->timerfd, &expirations, sizeof(expirations)) ==
	    (ssize_t)sizeof(expirations))
		loop->timerfd_at = COL_USEC_INFINITY;
	now = col_now();
	/* Timers armed by these callbacks wait for the next batch, even when
	 * already due: a callback re-arming itself at now cannot spin here. */
	while (loop->heap_len) {
		src = loop->heap[0];
		if (src->timer.at > now || src->timer.seq > last_seq)
			break;
		src->timer.at = timer_next(src->timer.at, src->timer.interval, now);
		timer_arm(src);
		loop->ncalls++;
		src->timer.cb(src, now, src->data);
	}
	timerfd_sync(loop);
}
