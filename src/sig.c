/*
 * sig.c - signal names and numbers.
 *
 * A fixed table rather than sigabbrev_np() (glibc 2.32+ only, absent from
 * musl) so the static musl build names signals the same way. Real-time
 * signals have no fixed number across libcs (glibc reserves two or three
 * for itself), so they are written relative to SIGRTMIN/SIGRTMAX.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collie/sig.h"
#include "banned.h"

static const struct {
	int signo;
	const char *name;
} signal_names[] = {
	{SIGHUP, "SIGHUP"},	  {SIGINT, "SIGINT"},	    {SIGQUIT, "SIGQUIT"},
	{SIGILL, "SIGILL"},	  {SIGTRAP, "SIGTRAP"},	    {SIGABRT, "SIGABRT"},
	{SIGBUS, "SIGBUS"},	  {SIGFPE, "SIGFPE"},	    {SIGKILL, "SIGKILL"},
	{SIGUSR1, "SIGUSR1"},	  {SIGSEGV, "SIGSEGV"},	    {SIGUSR2, "SIGUSR2"},
	{SIGPIPE, "SIGPIPE"},	  {SIGALRM, "SIGALRM"},	    {SIGTERM, "SIGTERM"},
	{SIGSTKFLT, "SIGSTKFLT"}, {SIGCHLD, "SIGCHLD"},	    {SIGCONT, "SIGCONT"},
	{SIGSTOP, "SIGSTOP"},	  {SIGTSTP, "SIGTSTP"},	    {SIGTTIN, "SIGTTIN"},
	{SIGTTOU, "SIGTTOU"},	  {SIGURG, "SIGURG"},	    {SIGXCPU, "SIGXCPU"},
	{SIGXFSZ, "SIGXFSZ"},	  {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"},
	{SIGWINCH, "SIGWINCH"},	  {SIGIO, "SIGIO"},	    {SIGPWR, "SIGPWR"},
	{SIGSYS, "SIGSYS"},
};

/* Aliases accepted on input only. */
static const struct {
	int signo;
	const char *name;
} signal_aliases[] = {
	{SIGIOT, "SIGIOT"},
	{SIGPOLL, "SIGPOLL"},
	{SIGCHLD, "SIGCLD"},
};

const char *col_signal_name(int signo)
{
	for (size_t i = 0; i < COL_ARRAY_SIZE(signal_names); i++)
		if (signal_names[i].signo == signo)
			return signal_names[i].name;
	return NULL;
}

int col_signal_format(int signo, char *buf, size_t len)
{
	const char *name = col_signal_name(signo);

	if (!buf && len > 0)
		return -EINVAL;
	if (name)
		return snprintf(buf, len, "%s", name);
	if (signo >= SIGRTMIN && signo <= SIGRTMAX) {
		if (signo - SIGRTMIN <= SIGRTMAX - signo)
			return signo == SIGRTMIN
				       ? snprintf(buf, len, "SIGRTMIN")
				       : snprintf(buf, len, "SIGRTMIN+%d", signo - SIGRTMIN);
		return signo == SIGRTMAX ? snprintf(buf, len, "SIGRTMAX")
					 : snprintf(buf, len, "SIGRTMAX-%d", SIGRTMAX - signo);
	}
	return snprintf(buf, len, "signal %d", signo);
}

/* Parse a non-negative decimal number that fills all of s. */
static int parse_small_number(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > 1000)
		return -EINVAL;
	return (int)v;
}

static int parse_realtime(const char *s)
{
	int base, off = 0;

	if (strncasecmp(s, "RTMIN", 5) == 0)
		base = SIGRTMIN;
	else if (strncasecmp(s, "RTMAX", 5) == 0)
		base = SIGRTMAX;
	else
		return -EINVAL;
	s += 5;
	if (*s) {
		if ((base == SIGRTMIN && *s != '+') || (base == SIGRTMAX && *s != '-'))
			return -EINVAL;
		off = parse_small_number(s + 1);
		if (off < 0)
			return -EINVAL;
	}
	base = base == SIGRTMIN ? base + off : base - off;
	if (base < SIGRTMIN || base > SIGRTMAX)
		return -EINVAL;
	return base;
}

int col_signal_parse(const char *s)
{
	int n;

	if (!s || !*s)
		return -EINVAL;
	n = parse_small_number(s);
	if (n >= 0)
		return n >= 1 && n <= SIGRTMAX ? n : -EINVAL;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < COL_ARRAY_SIZE(signal_names); i++)
		if (strcasecmp(signal_names[i].name + 3, s) == 0)
			return signal_names[i].signo;
	for (size_t i = 0; i < COL_ARRAY_SIZE(signal_aliases); i++)
		if (strcasecmp(signal_aliases[i].name + 3, s) == 0)
			return signal_aliases[i].signo;
	return parse_realtime(s);
}
