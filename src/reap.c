/*
 * reap.c - collecting children through pidfds, subreaper mode, and
 * exit-status decoding.
 *
 * Everything here uses waitid(): with P_PIDFD (Linux 5.4) it waits for
 * exactly the process a pidfd names, so a recycled pid can never be
 * reaped by mistake; with P_ALL | WNOWAIT it peeks at a zombie without
 * reaping it, which lets a subreaper route each exit to the code that
 * owns the child instead of stealing it with waitpid(-1).
 */
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/proc.h"
#include "collie/reap.h"
#include "collie/sig.h"
#include "banned.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int status_from_siginfo(const siginfo_t *si, struct col_status *ret)
{
	switch (si->si_code) {
	case CLD_EXITED:
		ret->kind = COL_STATUS_EXITED;
		break;
	case CLD_KILLED:
		ret->kind = COL_STATUS_KILLED;
		break;
	case CLD_DUMPED:
		ret->kind = COL_STATUS_DUMPED;
		break;
	default:
		return -EINVAL;
	}
	ret->code = si->si_status;
	ret->pid = si->si_pid;
	return 0;
}

static int reap(idtype_t type, id_t id, unsigned flags, struct col_status *ret_status)
{
	siginfo_t si;
	int options = WEXITED;

	if (flags & ~COL_REAP_NOHANG)
		return -EINVAL;
	if (flags & COL_REAP_NOHANG)
		options |= WNOHANG;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(type, id, &si, options) == 0)
			break;
		if (errno != EINTR)
			return -errno;
	}
	if (si.si_pid == 0)
		return 0; /* WNOHANG and still running */
	if (ret_status && status_from_siginfo(&si, ret_status) < 0)
		return -EINVAL;
	return 1;
}

int col_reap_pidfd(int pidfd, unsigned flags, struct col_status *ret_status)
{
	if (pidfd < 0)
		return -EBADF;
	return reap((idtype_t)P_PIDFD, (id_t)pidfd, flags, ret_status);
}

int col_reap_pid(pid_t pid, unsigned flags, struct col_status *ret_status)
{
	if (pid <= 0)
		return -EINVAL;
	return reap(P_PID, (id_t)pid, flags, ret_status);
}

int col_reap_peek(pid_t *ret_pid)
{
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
			break;
		if (errno == ECHILD)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	if (si.si_pid == 0)
		return 0;
	if (ret_pid)
		*ret_pid = si.si_pid;
	return 1;
}

int col_reap_has_children(void)
{
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		/* __WALL: also children whose exit signal is not SIGCHLD. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0)
			return 1;
		if (errno == ECHILD)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int col_reap_set_subreaper(bool on)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1UL : 0UL, 0UL, 0UL, 0UL) < 0)
		return -errno;
	return 0;
}

int col_reap_is_subreaper(void)
{
	int on = 0;

	if (getpid() == 1)
		return 1;
	if (prctl(PR_GET_CHILD_SUBREAPER, &on, 0UL, 0UL, 0UL) < 0)
		return -errno;
	return on ? 1 : 0;
}

int col_reap_children(pid_t *buf, size_t len)
{
	return col_proc_children(0, buf, len);
}

int col_reap_stopped(int pidfd, int *ret_signo)
{
	siginfo_t si;

	if (pidfd < 0)
		return -EBADF;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WSTOPPED | WCONTINUED | WNOHANG) ==
		    0)
			break;
		if (errno != EINTR)
			return -errno;
	}
	if (si.si_pid == 0)
		return 0;
	if (si.si_code == CLD_CONTINUED) {
		if (ret_signo)
			*ret_signo = SIGCONT;
		return 2;
	}
	if (ret_signo)
		*ret_signo = si.si_status;
	return 1;
}

int col_status_from_wait(int wstatus, pid_t pid, struct col_status *ret)
{
	if (!ret)
		return -EINVAL;
	if (WIFEXITED(wstatus)) {
		ret->kind = COL_STATUS_EXITED;
		ret->code = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		ret->kind = WCOREDUMP(wstatus) ? COL_STATUS_DUMPED : COL_STATUS_KILLED;
		ret->code = WTERMSIG(wstatus);
	} else {
		return -EINVAL;
	}
	ret->pid = pid;
	return 0;
}

int col_status_format(const struct col_status *st, char *buf, size_t len)
{
	char sig[32];

	if (!st || (!buf && len > 0))
		return -EINVAL;
	switch (st->kind) {
	case COL_STATUS_EXITED:
		return snprintf(buf, len, "exited %d", st->code);
	case COL_STATUS_KILLED:
	case COL_STATUS_DUMPED:
		col_signal_format(st->code, sig, sizeof(sig));
		return snprintf(buf, len, "killed by %s%s", sig,
				st->kind == COL_STATUS_DUMPED ? " (core dumped)" : "");
	}
	return -EINVAL;
}

int col_status_exit_code(const struct col_status *st)
{
	if (!st)
		return -EINVAL;
	if (st->kind == COL_STATUS_EXITED)
		return st->code;
	return 128 + st->code;
}
