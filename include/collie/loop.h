/*
 * collie/loop.h - a single-threaded event loop on epoll: fd readiness,
 * signals through signalfd, timers through one timerfd, child exits
 * through pidfds.
 *
 * Recipe:
 *   struct col_loop *loop;
 *   struct col_source *sig, *child, *tick;
 *
 *   col_loop_new(&loop);
 *   col_loop_add_signal(loop, SIGTERM, on_term, data, &sig);  blocks SIGTERM
 *   col_loop_add_child(loop, c.pidfd, c.pid, on_exit, data, &child); reaps for you
 *   col_loop_add_timer(loop, col_now() + 5 * COL_USEC_PER_SEC, 0, on_tick, data, &tick);
 *   r = col_loop_run(loop);          until a callback calls col_loop_exit()
 *   col_source_free(sig); ...         (or let col_loop_free() free them all)
 *   col_loop_free(loop);
 *
 * Rules:
 *  - No polling: an idle loop sleeps in epoll_wait() with no timeout unless
 *    a timer is armed, so it makes no wakeups.
 *  - Callbacks may add and free any source, including their own, and call
 *    col_loop_exit(); a source freed during dispatch never gets another
 *    callback. They may not run or free the loop itself.
 *  - Every col_loop_add_*() needs a callback (-EINVAL otherwise) and
 *    writes *ret_src only on success. ret_src may be NULL: the source then
 *    lives until col_loop_free().
 *  - Signals are events, not handlers: col_loop_add_signal() blocks the
 *    signal in the calling thread (call it before starting threads, so all
 *    threads inherit the mask) and reads it from a signalfd. Children
 *    started with col_spawn_start() get an empty mask regardless.
 *  - Timers with the same or earlier deadlines fire in deadline order;
 *    timers due at the same microsecond fire in the order they were armed.
 *  - The loop is not thread-safe: use it from one thread.
 */
#ifndef COLLIE_LOOP_H
#define COLLIE_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h> /* EPOLLIN, EPOLLOUT, ... for col_loop_add_fd() */
#include <sys/signalfd.h>
#include <sys/types.h>

#include "collie/common.h"
#include "collie/reap.h"

struct col_loop;
struct col_source;

/* fd readiness: events is the EPOLLIN / EPOLLOUT / EPOLLHUP / EPOLLERR mask. */
typedef void col_fd_fn(struct col_source *src, int fd, uint32_t events, void *data);
/* A signal arrived; si is the signalfd record (ssi_signo, ssi_pid, ...). */
typedef void col_signal_fn(struct col_source *src, const struct signalfd_siginfo *si, void *data);
/* A timer expired; now is the loop's current time (col_now()). */
typedef void col_timer_fn(struct col_source *src, uint64_t now, void *data);
/*
 * A watched child exited and has been reaped; st says how it ended. st is
 * NULL when the child ended but its status was gone: someone else reaped
 * it (SIGCHLD set to SIG_IGN, a waitpid(-1) elsewhere) or it was not a
 * child of this process.
 */
typedef void col_child_fn(struct col_source *src, const struct col_status *st, void *data);
/* An orphan (a child nobody watches) was reaped (col_loop_reap_orphans). */
typedef void col_orphan_fn(struct col_loop *loop, const struct col_status *st, void *data);

/* CLOCK_MONOTONIC now, in microseconds. */
COL_API uint64_t col_now(void);

/* Create a loop. Returns 0 or -errno (-ENOMEM, -EMFILE). */
COL_API int col_loop_new(struct col_loop **ret_loop);

/*
 * Free the loop and every source still attached to it (closing the fds
 * the loop made, not the fds you passed in). Signals the loop blocked are
 * unblocked again unless they were blocked before. Takes NULL.
 */
COL_API void col_loop_free(struct col_loop *loop);

/*
 * Watch fd (borrowed; keep it open while watched) for events (EPOLLIN,
 * EPOLLOUT, EPOLLRDHUP, EPOLLPRI, EPOLLET, EPOLLONESHOT). Returns 0 and
 * *ret_src, -EEXIST when fd is already watched by this loop, -EPERM for
 * an fd epoll cannot watch (a regular file), -EINVAL (other event bits),
 * -EBADF, -ENOMEM. The callback runs while the condition holds
 * (level-triggered) unless EPOLLET is given; EPOLLHUP and EPOLLERR are
 * always reported.
 */
COL_API int col_loop_add_fd(struct col_loop *loop, int fd, uint32_t events, col_fd_fn *cb,
			    void *data, struct col_source **ret_src);

/* Change the events an fd source waits for (also re-arms EPOLLONESHOT).
 * 0, or -EINVAL if src is not an fd source, or -errno. */
COL_API int col_source_set_events(struct col_source *src, uint32_t events);

/*
 * Receive signo through the loop. Blocks signo in the calling thread (the
 * previous state is restored when the source is freed; an instance still
 * pending then is delivered as it would have been without the loop). One
 * source per signal: -EBUSY if signo is already watched. -EINVAL for
 * SIGKILL, SIGSTOP, the signals libc reserves, or a bad number.
 */
COL_API int col_loop_add_signal(struct col_loop *loop, int signo, col_signal_fn *cb, void *data,
				struct col_source **ret_src);

/*
 * Receive every signal of set through the loop, all with one callback:
 * what col_loop_add_signal() does for each, with one pthread_sigmask() and
 * one signalfd() update for the whole set (an init watches some 60
 * signals), and one source for them all, which has no handle: it lives
 * until col_loop_free().
 * Returns 0, -EBUSY if one of them is already watched, -EINVAL for an
 * empty set or one holding SIGKILL, SIGSTOP or a signal libc reserves
 * (sigfillset() leaves those out), -ENOMEM; nothing is changed on failure.
 */
COL_API int col_loop_add_signals(struct col_loop *loop, const sigset_t *set, col_signal_fn *cb,
				 void *data);

/*
 * Arm a timer at absolute time `at` (col_now() microseconds; a time
 * already past fires in the next batch, COL_USEC_INFINITY makes the timer
 * disarmed); when interval is non-zero it repeats every interval after
 * that (missed expirations are coalesced into one callback). A one-shot
 * timer is disarmed once it has fired; its source stays until freed.
 * Returns 0 or -errno (-ENOMEM).
 */
COL_API int col_loop_add_timer(struct col_loop *loop, uint64_t at, uint64_t interval,
			       col_timer_fn *cb, void *data, struct col_source **ret_src);

/* Re-arm (at = absolute time) or disarm (at = COL_USEC_INFINITY) a timer
 * source; re-arming counts as arming anew for the order of equal
 * deadlines. Never fails on a timer: 0, or -EINVAL if src is not one. */
COL_API int col_timer_set(struct col_source *src, uint64_t at, uint64_t interval);

/*
 * Watch a child through its pidfd (borrowed; keep it open while watched).
 * When the child exits the loop reaps it (waitid(P_PIDFD)) and calls cb
 * once with its status; the source then stays inert until freed. pid is
 * the child's pid, used to recognise it in col_loop_reap_orphans() mode:
 * there, add the source before returning to the loop, or the child may be
 * reaped as an orphan. Returns 0, -EBADF when pidfd is not a pidfd,
 * -EEXIST when pid is already watched, -EINVAL, -ENOMEM.
 */
COL_API int col_loop_add_child(struct col_loop *loop, int pidfd, pid_t pid, col_child_fn *cb,
			       void *data, struct col_source **ret_src);

/*
 * Reap every child of this process that no col_loop_add_child() source
 * watches -- the orphans a subreaper or PID 1 inherits -- as soon as it
 * becomes a zombie, and report each through cb (may be NULL). Watches
 * SIGCHLD itself (-EBUSY if SIGCHLD already has a source). Meant for the
 * one component that owns all of the process's children (a supervisor,
 * an init); see collie/reap.h for why the library does not do it by
 * default. Children that ended before this call are reaped in the first
 * batch after it. Returns 0 or -errno.
 */
COL_API int col_loop_reap_orphans(struct col_loop *loop, col_orphan_fn *cb, void *data);

/*
 * Enable or disable a source without freeing it. While disabled: an fd is
 * not watched; a signal stays blocked and pending; a timer keeps its
 * deadline and fires on enabling if it has passed; a child is still reaped
 * (in orphan mode) and its status is delivered on enabling. 0 or -errno.
 */
COL_API int col_source_set_enabled(struct col_source *src, bool enabled);

/* Stop watching and free the source. Safe inside any callback, including
 * its own. Takes NULL. Does not close an fd or pidfd you passed in. */
COL_API void col_source_free(struct col_source *src);

/* The loop a source belongs to. */
COL_API struct col_loop *col_source_loop(const struct col_source *src);

/*
 * Run until col_loop_exit() is called (at once if it was called before).
 * Returns the code given to col_loop_exit(), or -errno if waiting failed
 * (-EBUSY when called from a callback).
 */
COL_API int col_loop_run(struct col_loop *loop);

/*
 * Wait up to timeout microseconds (0 = poll, COL_USEC_INFINITY = no limit)
 * and dispatch what is ready. Returns the number of callbacks run, or
 * -errno (-EBUSY when called from a callback).
 */
COL_API int col_loop_run_once(struct col_loop *loop, uint64_t timeout);

/* Make col_loop_run() return code once the current batch of callbacks
 * is done: events already taken from the kernel are not dropped. */
COL_API void col_loop_exit(struct col_loop *loop, int code);

/* The epoll fd, to nest this loop inside another one (readable when there
 * is work for col_loop_run_once(loop, 0)). */
COL_API int col_loop_fd(const struct col_loop *loop);

#endif
