/*
 * leftovers.c - SIGTERM, then SIGKILL, for what a process tree leaves
 * behind (see leftovers.h).
 *
 * Our descendants are our children and, as they die, their orphans, which
 * re-parent to us (a subreaper or PID 1). So it is enough to signal our
 * children, over and over as the caller reaps: each wave brings the next
 * generation to us. The children are listed from /proc and signalled
 * through pidfds: a listed child is ours and unreaped, so its pid cannot
 * have been recycled. As PID 1, kill(-1) does it in one call and needs no
 * /proc (a FROM scratch image may have none).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "leftovers.h"
#include "banned.h"

static bool was_termed(const struct leftovers *l, pid_t pid)
{
	for (size_t i = 0; i < l->n_termed; i++)
		if (l->termed[i] == pid)
			return true;
	return false;
}

static void remember(struct leftovers *l, pid_t pid)
{
	if (l->n_termed == l->cap_termed) {
		size_t cap = l->cap_termed ? l->cap_termed * 2 : 64;
		pid_t *p = realloc(l->termed, cap * sizeof(*p));

		if (!p)
			return; /* it will get SIGTERM again: harmless */
		l->termed = p;
		l->cap_termed = cap;
	}
	l->termed[l->n_termed++] = pid;
}

void leftovers_forget(struct leftovers *l, pid_t pid)
{
	for (size_t i = 0; i < l->n_termed; i++)
		if (l->termed[i] == pid) {
			l->termed[i] = l->termed[--l->n_termed];
			return;
		}
}

void leftovers_release(struct leftovers *l)
{
	free(l->termed);
	l->termed = NULL;
	l->n_termed = l->cap_termed = 0;
}

static void signal_child(pid_t pid, int sig)
{
	int pidfd;

	if (col_pidfd_open(pid, &pidfd) < 0)
		return; /* already gone */
	col_pidfd_signal(pidfd, sig);
	col_close(pidfd);
}

static void terminate_namespace(struct leftovers *l)
{
	if (l->killing) {
		kill(-1, SIGKILL);
	} else if (!l->termed_all) {
		if (l->verbose)
			fprintf(stderr, "%s: sending SIGTERM to every leftover process\n", l->who);
		kill(-1, SIGTERM);
		l->termed_all = true;
	}
}

static void terminate_listed(struct leftovers *l)
{
	pid_t *kids;
	int n = col_reap_children(NULL, 0), room = n;

	if (n < 0 && l->verbose)
		fprintf(stderr, "%s: cannot list children: %s\n", l->who, strerror(-n));
	if (n <= 0 || !(kids = malloc((size_t)n * sizeof(*kids))))
		return;
	/* More children may have come since the count (orphans re-parented
	 * to us): the count returned then exceeds the room. Those wait for
	 * the next call, which each reaped child brings. */
	n = col_reap_children(kids, (size_t)room);
	if (n > room)
		n = room;
	for (int i = 0; i < n; i++) {
		if (l->killing) {
			signal_child(kids[i], SIGKILL);
		} else if (!was_termed(l, kids[i])) {
			if (l->verbose)
				fprintf(stderr, "%s: sending SIGTERM to leftover process %d\n",
					l->who, (int)kids[i]);
			signal_child(kids[i], SIGTERM);
			remember(l, kids[i]);
		}
	}
	free(kids);
}

int leftovers_terminate(struct leftovers *l)
{
	int r = col_reap_has_children();

	if (r <= 0)
		return r;
	if (l->pid1)
		terminate_namespace(l);
	else
		terminate_listed(l);
	return r;
}
