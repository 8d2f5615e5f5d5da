/*
 * loop-internal.h - what src/loop.c, src/loop-timer.c and src/loop-child.c
 * share: the loop and source structures and the functions each part
 * offers the others.
 */
#ifndef COLLIE_LOOP_INTERNAL_H
#define COLLIE_LOOP_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collie/loop.h"

enum source_kind {
	SOURCE_FD,
	SOURCE_SIGNAL,
	SOURCE_TIMER,
	SOURCE_CHILD,
};

/* Where a child source stands; it moves only forward. */
enum child_state {
	CHILD_RUNNING,	 /* not reaped yet; its pid is in the loop's pid map */
	CHILD_REAPED,	 /* reaped, status kept, callback not run yet (source disabled) */
	CHILD_DELIVERED, /* callback run; the source is inert until freed */
};

/* Heap position of a timer that is not armed. */
#define TIMER_NOT_ARMED SIZE_MAX

struct col_source {
	struct col_loop *loop;
	enum source_kind kind;
	bool enabled;
	/* Freed during dispatch: unregistered everywhere, memory released when
	 * the batch ends so pointers still in the event array stay valid. */
	bool dead;
	/* The loop's list of live sources, or its list of dead ones. */
	struct col_source *prev, *next;
	void *data;
	union {
		struct {
			int fd;		 /* borrowed */
			uint32_t events; /* what the caller asked for */
			col_fd_fn *cb;
		} fd;
		struct {
			uint64_t set;	      /* its signals: bit signo - 1 */
			uint64_t was_blocked; /* those blocked before we blocked them: keep so */
			col_signal_fn *cb;
		} sig;
		struct {
			uint64_t at;	   /* deadline, kept while disarmed by disabling */
			uint64_t interval; /* 0 for a one-shot timer */
			uint64_t seq;	   /* arm order: breaks ties between equal deadlines */
			size_t heap_idx;   /* index in the loop's heap, or TIMER_NOT_ARMED */
			col_timer_fn *cb;
		} timer;
		struct {
			int pidfd; /* borrowed */
			pid_t pid;
			enum child_state state;
			bool lost;	      /* reaped by someone else: no status to give */
			struct col_status st; /* valid from CHILD_REAPED on, unless lost */
			col_child_fn *cb;
		} child;
	};
};

/* pid -> child source, open addressing with linear probing. */
struct pid_slot {
	pid_t pid; /* 0: empty */
	struct col_source *src;
};

struct col_loop {
	int epfd;
	int sigfd;   /* one signalfd for every watched signal */
	int timerfd; /* one timerfd, set to the earliest deadline in the heap */

	sigset_t sigfd_mask;		   /* signals the signalfd reads now */
	struct col_source *signals[_NSIG]; /* the source of each watched signal */

	/* Min-heap of armed timers, ordered by (at, seq). Its capacity is
	 * reserved when a timer source is added so arming never allocates. */
	struct col_source **heap;
	size_t heap_len, heap_cap, n_timers;
	uint64_t timer_seq;  /* last sequence number handed out */
	uint64_t timerfd_at; /* what the timerfd is set to, COL_USEC_INFINITY: disarmed */

	struct pid_slot *pids;
	size_t pids_len, pids_cap;

	struct col_source *sigchld; /* the loop's own SIGCHLD source in orphan mode */
	col_orphan_fn *orphan_cb;
	void *orphan_data;

	struct col_source *sources; /* every live source */
	struct col_source *dead;    /* freed during this batch, released after it */
	unsigned long ncalls;	    /* callbacks run so far: run_once reports the difference */
	bool dispatching;
	bool freeing;		  /* in col_loop_free(): signals unblocked in bulk */
	sigset_t unblock_at_free; /* what col_loop_free() unblocks at its end */
	bool exiting;
	int exit_code;
};

/* loop.c: allocate a source of this kind and link it into the loop. */
struct col_source *col__source_new(struct col_loop *loop, enum source_kind kind, void *data);
/* loop.c: put a new source's fd in epoll and hand it out in *ret_src, or
 * discard the source. 0 or -errno. */
int col__source_watch(struct col_source *src, int fd, uint32_t events, struct col_source **ret_src);
/* loop.c: epoll_ctl(); add returns 0 or -errno, ptr is the event's data. */
int col__epoll_add(struct col_loop *loop, int fd, uint32_t events, void *ptr);
void col__epoll_del(struct col_loop *loop, int fd);

/* loop-timer.c */
void col__timer_release(struct col_loop *loop);
void col__timer_unlink(struct col_source *src);
void col__timer_set_enabled(struct col_source *src, bool enabled);
void col__timer_dispatch(struct col_loop *loop);

/* loop-child.c */
void col__child_release(struct col_loop *loop);
void col__child_unlink(struct col_source *src);
int col__child_set_enabled(struct col_source *src, bool enabled);
void col__child_dispatch(struct col_source *src);
void col__orphans_sweep(struct col_loop *loop);

#endif
