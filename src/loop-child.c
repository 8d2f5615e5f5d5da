/*
 * loop-child.c - child sources, and reaping orphans.
 *
 * A child is watched through its pidfd, which becomes readable when the
 * child has exited; the loop then reaps exactly that child (waitid with
 * P_PIDFD), so a recycled pid can never be mistaken for it.
 *
 * In orphan mode (col_loop_reap_orphans) the loop also owns every other
 * child of the process. On SIGCHLD it peeks at one zombie at a time and
 * either hands it to the child source that watches that pid, or reaps it
 * as an orphan. Every pass of that loop reaps a zombie or drops a pid-map
 * entry that was wrong about it, so the sweep always ends. A pid leaves
 * the map the moment its child is reaped: from then on the kernel may give
 * it to a stranger.
 *
 * A disabled source's child is reaped all the same when the sweep meets
 * it -- one zombie left alone would hide all others behind it from
 * col_reap_peek() -- and its status is kept until the source is enabled
 * again. Enabling puts the pidfd back in epoll; a pidfd stays readable
 * after its process is reaped, so the kept status is delivered in the
 * next batch without a queue of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collie/loop.h"
#include "collie/reap.h"
#include "loop-internal.h"
#include "banned.h"

/*
 * Fibonacci hashing: the top bits of pid * 2^32/phi. Low bits alone would
 * put pids that step by 2 (each child forking one more process) on every
 * other slot only.
 */
static size_t pid_home(const struct col_loop *loop, pid_t pid)
{
	unsigned bits = (unsigned)__builtin_ctzl(loop->pids_cap);

	return ((uint32_t)pid * UINT32_C(2654435769)) >> (32 - bits);
}

static struct pid_slot *pid_find(struct col_loop *loop, pid_t pid)
{
	size_t mask = loop->pids_cap - 1;

	if (!loop->pids_cap)
		return NULL;
	/* The table is at most half full, so an empty slot ends every probe. */
	for (size_t i = pid_home(loop, pid);; i = (i + 1) & mask) {
		if (loop->pids[i].pid == pid)
			return &loop->pids[i];
		if (!loop->pids[i].pid)
			return NULL;
	}
}

static void pid_insert(struct col_loop *loop, pid_t pid, struct col_source *src)
{
	size_t mask = loop->pids_cap - 1, i = pid_home(loop, pid);

	while (loop->pids[i].pid)
		i = (i + 1) & mask;
	loop->pids[i] = (struct pid_slot){ .pid = pid, .src = src };
	loop->pids_len++;
}

/* Room for one more pid with the table at most half full. */
static int pids_reserve(struct col_loop *loop)
{
	struct pid_slot *old = loop->pids;
	size_t old_cap = loop->pids_cap, cap;

	if ((loop->pids_len + 1) * 2 <= old_cap)
		return 0;
	cap = old_cap ? old_cap * 2 : 16;
	loop->pids = calloc(cap, sizeof(*loop->pids));
	if (!loop->pids) {
		loop->pids = old;
		return -ENOMEM;
	}
	loop->pids_cap = cap;
	loop->pids_len = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].pid)
			pid_insert(loop, old[i].pid, old[i].src);
	free(old);
	return 0;
}

/*
 * Backward-shift deletion: entries after the hole in the same probe run
 * move back into it when that keeps them reachable from their home slot,
 * so lookups stay correct without tombstones.
 */
static void pid_remove(struct col_loop *loop, pid_t pid)
{
	struct pid_slot *slot = pid_find(loop, pid);
	size_t mask = loop->pids_cap - 1, hole, j;

	if (!slot)
		return;
	hole = (size_t)(slot - loop->pids);
	for (j = (hole + 1) & mask; loop->pids[j].pid; j = (j + 1) & mask) {
		size_t home = pid_home(loop, loop->pids[j].pid);

		/* The hole lies on j's path from its home: it may move. */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			loop->pids[hole] = loop->pids[j];
			hole = j;
		}
	}
	loop->pids[hole] = (struct pid_slot){ 0 };
	loop->pids_len--;
}

void col__child_release(struct col_loop *loop)
{
	free(loop->pids);
	loop->pids = NULL;
	loop->pids_cap = loop->pids_len = 0;
}

/*
 * pidfd_send_signal() with signal 0 checks nothing but the fd: EBADF
 * means it is no pidfd. ESRCH (already reaped) and EPERM are still
 * pidfds.
 */
static int pidfd_check(int pidfd)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno == EBADF)
		return -EBADF;
	return 0;
}

int col_loop_add_child(struct col_loop *loop, int pidfd, pid_t pid, col_child_fn *cb, void *data,
		       struct col_source **ret_src)
{
	struct col_source *src;
	int r;

	if (!loop || !cb || pid <= 0)
		return -EINVAL;
	if (pidfd < 0 || pidfd_check(pidfd) < 0)
		return -EBADF;
	if (pid_find(loop, pid))
		return -EEXIST;
	r = pids_reserve(loop);
	if (r < 0)
		return r;
	src = col__source_new(loop, SOURCE_CHILD, data);
	if (!src)
		return -ENOMEM;
	src->child.pidfd = pidfd;
	src->child.pid = pid;
	src->child.cb = cb;
	r = col__source_watch(src, pidfd, EPOLLIN, ret_src);
	if (r < 0)
		return r;
	pid_insert(loop, pid, src); /* cannot fail: room was reserved */
	return 0;
}

/*
 * Reap the child if it has ended and keep its status. Returns 1 when the
 * source holds an ended child (now or from before), 0 while it runs.
 */
static int child_reap(struct col_source *src)
{
	int r;

	if (src->child.state != CHILD_RUNNING)
		return 1;
	r = col_reap_pidfd(src->child.pidfd, COL_REAP_NOHANG, &src->child.st);
	if (r == 0)
		return 0;
	/* An error ends the wait too: -ECHILD means someone else reaped it
	 * (SIGCHLD set to SIG_IGN, a stray waitpid(-1)) and took the status. */
	src->child.lost = r < 0;
	src->child.state = CHILD_REAPED;
	pid_remove(src->loop, src->child.pid);
	return 1;
}

static void child_deliver(struct col_source *src)
{
	src->child.state = CHILD_DELIVERED;
	col__epoll_del(src->loop, src->child.pidfd);
	src->loop->ncalls++;
	src->child.cb(src, src->child.lost ? NULL : &src->child.st, src->data);
}

void col__child_dispatch(struct col_source *src)
{
	if (src->child.state == CHILD_DELIVERED || !src->enabled)
		return;
	if (child_reap(src))
		child_deliver(src);
}

int col__child_set_enabled(struct col_source *src, bool enabled)
{
	if (src->child.state == CHILD_DELIVERED)
		return 0;
	if (enabled)
		return col__epoll_add(src->loop, src->child.pidfd, EPOLLIN, src);
	col__epoll_del(src->loop, src->child.pidfd);
	return 0;
}

void col__child_unlink(struct col_source *src)
{
	if (src->child.state == CHILD_RUNNING)
		pid_remove(src->loop, src->child.pid);
	if (src->enabled && src->child.state != CHILD_DELIVERED)
		col__epoll_del(src->loop, src->child.pidfd);
}

/* Reap the zombie pid as an orphan. Returns false when the sweep must stop. */
static bool orphan_reap(struct col_loop *loop, pid_t pid)
{
	struct col_status st;
	int r = col_reap_pid(pid, COL_REAP_NOHANG, &st);

	/* -ECHILD: another thread reaped it first; it is gone all the same.
	 * 0 or another error cannot happen to a zombie col_reap_peek() just
	 * showed; stopping is better than spinning on it. */
	if (r == -ECHILD)
		return true;
	if (r <= 0)
		return false;
	if (loop->orphan_cb) {
		loop->ncalls++;
		loop->orphan_cb(loop, &st, loop->orphan_data);
	}
	return true;
}

void col__orphans_sweep(struct col_loop *loop)
{
	struct pid_slot *slot;
	pid_t pid = 0; /* (set when > 0; gcc -flto -Os cannot tell) */

	while (col_reap_peek(&pid) > 0) {
		slot = pid_find(loop, pid);
		if (slot) {
			struct col_source *src = slot->src;

			if (child_reap(src)) {
				if (src->enabled)
					child_deliver(src);
				continue;
			}
			/* Its pidfd names a process that still runs: the pid
			 * given with it was wrong, and this zombie is an orphan. */
			pid_remove(loop, pid);
		}
		if (!orphan_reap(loop, pid))
			break;
	}
}

static void on_sigchld(struct col_source *src, const struct signalfd_siginfo *si, void *data)
{
	col__orphans_sweep(col_source_loop(src));
}

int col_loop_reap_orphans(struct col_loop *loop, col_orphan_fn *cb, void *data)
{
	struct col_source *src;
	int r;

	if (!loop)
		return -EINVAL;
	r = col_loop_add_signal(loop, SIGCHLD, on_sigchld, NULL, &src);
	if (r < 0)
		return r;
	loop->sigchld = src;
	loop->orphan_cb = cb;
	loop->orphan_data = data;
	/* Children that ended before SIGCHLD was blocked left no signal to
	 * read. Queue one to this thread, where the signalfd finds it, so the
	 * first sweep takes the same path as every later one. */
	pthread_kill(pthread_self(), SIGCHLD);
	return 0;
}
