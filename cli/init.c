/*
 * init.c - `collie init`: run one program as a container's first process
 * (PID 1) or, anywhere else, as a subreaper over it.
 *
 * What a PID 1 owes its container, and how it is done here:
 *  - Reap every zombie at once. SIGCHLD is read from the loop's signalfd;
 *    each time, every zombie is collected: col_reap_peek() names one
 *    without reaping it, the main child is reaped through its pidfd,
 *    anything else (an orphan re-parented to us) by its pid, which cannot
 *    have been recycled while it is an unreaped zombie.
 *  - Pass signals on. Every catchable signal except the synchronous fault
 *    signals is blocked and read from the signalfd, then sent to the
 *    child's process group (default, as dumb-init does; tini's -g) or to
 *    the child alone (-c). The group is signalled only while its leader,
 *    the main child, is unreaped, so its id cannot have been recycled.
 *  - Exit as the child did: its code, or 128+N for signal N; -e remaps.
 *  - Leave nothing behind. When the main child exits, the rest of its group
 *    gets SIGTERM while the leader is still a zombie, and every process
 *    still descended from us gets SIGTERM, then SIGKILL after the grace
 *    period; collie exits when it has no child left. As PID 1 that is
 *    kill(-1), which reaches the whole namespace and needs no /proc (a
 *    FROM scratch image may have none); as a subreaper, our children are
 *    listed in /proc and signalled through pidfds, and their orphans come
 *    to us in turn: one whose parent obeyed SIGTERM gets SIGTERM when it
 *    comes; one whose parent held out until the SIGKILL comes with that
 *    SIGKILL and gets SIGKILL (no second grace period).
 *  - Job control, so that `collie init -- bash` under a terminal works as
 *    bash does and `collie init -- PROGRAM` is a job like PROGRAM. When
 *    stdin is our session's terminal and we are in its foreground, the
 *    child's group gets it, and we take it back when the child exits or
 *    stops; from the background we never touch it. When the child stops on
 *    SIGTSTP/SIGTTIN/SIGTTOU we stop too, once, with the same signal, so
 *    the calling shell sees the job stop; its fg continues us in the
 *    foreground and we give the terminal to the child's group, then
 *    continue it (bg: continue it only, and it stops again on SIGTTIN if
 *    it reads). A SIGTSTP sent to us is forwarded, and we stop when the
 *    child does. Where no one could continue us, the child is continued
 *    instead of being left stopped: as PID 1 (which cannot stop), and in
 *    an orphaned process group (the kernel discards our stop, as it would
 *    the program's without us). A stopped child gets SIGCONT after a
 *    forwarded SIGTERM, SIGINT, SIGHUP or SIGQUIT, so it acts on it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/loop.h"
#include "collie/reap.h"
#include "collie/sig.h"
#include "collie/spawn.h"
#include "cli.h"
#include "leftovers.h"
#include "banned.h"

/* How far below init's frames trim_stack() looks: well past what a
 * spawn uses (its 32 kB child stack and the frames around it). */
#define TRIM_STACK_BYTES (256 * 1024)

#define DEFAULT_GRACE_SEC 5

struct init_opts {
	bool single_child;  /* -c: signals to the child, not its group */
	bool verbose;	    /* -v: say what happens */
	bool warn_reap;	    /* -w: report every orphan reaped */
	bool remap[256];    /* -e: these exit codes become 0 */
	int rewrite[_NSIG]; /* -r: signal -> signal to send (0 = drop) */
	uint64_t grace;	    /* -t: SIGTERM -> SIGKILL delay, usec */
	int pdeathsig;	    /* -p: our own parent-death signal */
};

struct init_state {
	const struct init_opts *opts;
	struct col_loop *loop;
	struct col_child child;	  /* the main child; pidfd closed once reaped */
	pid_t pgid;		  /* the child's process group */
	bool child_done;	  /* the main child has been reaped */
	struct col_status status; /* how it ended */
	struct leftovers left;	  /* what the child leaves behind */
	struct col_source *grace_timer;
	int tty_fd;    /* our session's terminal, or -1 */
	bool handed;   /* we gave it to the child's group */
	int sent_stop; /* a job stop signal we forwarded, not yet followed */
	int stopped;   /* the signal that stopped the child, 0 if it runs */
	bool new_stop; /* it stopped since follow_child_stop last looked */
	bool pid1;
};

static void verbose(const struct init_state *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void verbose(const struct init_state *s, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!s->opts->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* one write: the child's output shares the terminal */
	fprintf(stderr, "collie init: %s\n", text);
}

/* Signals that are faults of this process, never forwarded (as tini). */
static bool is_fault_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
	       sig == SIGTRAP || sig == SIGSYS || sig == SIGABRT;
}

static bool is_job_stop_signal(int sig)
{
	return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Send sig where signals go, only while the main child is unreaped: then
 * its pid, which is the group's id, cannot have been recycled. */
static void forward(struct init_state *s, int sig)
{
	int r;

	if (s->child_done)
		return;
	if (s->opts->single_child)
		r = col_child_signal(&s->child, sig);
	else
		r = killpg(s->pgid, sig) < 0 ? -errno : 0;
	if (r < 0 && r != -ESRCH)
		cli_error("init: cannot forward signal %d: %s", sig, strerror(-r));
}

/* The terminal's foreground is our own group: the shell ran us in the
 * foreground, or fg gave it back to us. */
static bool in_foreground(const struct init_state *s)
{
	return s->tty_fd >= 0 && tcgetpgrp(s->tty_fd) == getpgrp();
}

static bool child_in_foreground(const struct init_state *s)
{
	return s->tty_fd >= 0 && tcgetpgrp(s->tty_fd) == s->pgid;
}

/* Give the terminal to the child's group, when it is ours to give: never
 * from the background, where it belongs to the shell that runs us. */
static void give_terminal(struct init_state *s)
{
	if (!in_foreground(s))
		return;
	/* SIGTTOU is blocked (the loop reads it): no stop on a race with the
	 * shell taking the terminal. */
	if (tcsetpgrp(s->tty_fd, s->pgid) < 0)
		verbose(s, "tcsetpgrp: %s", strerror(errno));
	else
		s->handed = true;
}

/* Take back the terminal we gave: from the child's group or from a job
 * of the child's (a shell's), not from the shell that runs us. */
static void take_terminal(struct init_state *s)
{
	if (!s->handed)
		return;
	s->handed = false;
	if (tcsetpgrp(s->tty_fd, getpgrp()) < 0)
		verbose(s, "tcsetpgrp: %s", strerror(errno));
}

static int exit_code(const struct init_state *s)
{
	int code = col_status_exit_code(&s->status);

	if (code >= 0 && code < 256 && s->opts->remap[code])
		return 0;
	return code;
}

static void on_grace_over(struct col_source *src, uint64_t now, void *data)
{
	struct init_state *s = data;

	verbose(s, "grace period over: killing what is left");
	s->left.killing = true;
	if (leftovers_terminate(&s->left) <= 0)
		col_loop_exit(s->loop, exit_code(s));
}

static void main_child_exited(struct init_state *s)
{
	char what[64];

	/* The leader is a zombie: its group id is still ours to signal. */
	killpg(s->pgid, SIGTERM);
	col_reap_pidfd(s->child.pidfd, 0, &s->status);
	s->child_done = true;
	s->child.pidfd = col_close(s->child.pidfd);
	take_terminal(s);
	col_status_format(&s->status, what, sizeof(what));
	verbose(s, "child %d %s", (int)s->child.pid, what);
	if (col_loop_add_timer(s->loop, col_now() + s->opts->grace, 0, on_grace_over, s,
			       &s->grace_timer) < 0)
		s->left.killing = true;
}

/* Stop as the child did, with the same signal, so the shell that runs us
 * sees the job stop and why ("Stopped (tty input)" for SIGTTIN). The
 * signal is unblocked for the time of the stop only: the loop reads it
 * otherwise. Returns whether we stopped: in an orphaned process group
 * the kernel discards SIGTSTP, SIGTTIN and SIGTTOU (no shell is left to
 * continue the job), and then no SIGCONT is pending when raise returns. */
static bool stop_self(int sig)
{
	sigset_t set, old, pending;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, &old);
	/* A SIGCONT pending from before is discarded by the stop signal. */
	raise(sig);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return sigpending(&pending) == 0 && sigismember(&pending, SIGCONT);
}

/* Learn whether the child is stopped: read the stops and continues of it
 * that waitid has not told us yet. */
static void update_child_stop(struct init_state *s)
{
	int sig = 0, r; /* (set when > 0; gcc -flto -Os cannot tell) */

	while ((r = col_reap_stopped(s->child.pidfd, &sig)) > 0) {
		s->stopped = r == 1 ? sig : 0;
		s->new_stop = r == 1;
	}
}

/* Continue the child's group with the terminal, if it is ours to give. */
static void resume_child(struct init_state *s)
{
	give_terminal(s);
	forward(s, SIGCONT);
}

/*
 * The child stopped on a job control signal. Not PID 1, we stop with it,
 * once, so the shell that runs us sees the job stop; its fg (or bg)
 * continues us and our SIGCONT handler continues the child. Two stops are
 * not to be followed, when they come from the terminal (not a signal we
 * forwarded) and the terminal is ours or the child's:
 *  - SIGTTIN/SIGTTOU: the child read or wrote before it had the terminal,
 *    which fg has just given us: it is stale; continue the child with it.
 *  - any of them as PID 1, which cannot stop (the kernel ignores stop
 *    signals for a namespace's init) and has no shell to report to: the
 *    child is continued, as if ^Z had reached the program run as PID 1
 *    itself, rather than left stopped with a dead terminal.
 * A stop that we cannot follow (PID 1, no terminal of ours) is left as
 * it is, until a SIGCONT comes.
 */
static void follow_child_stop(struct init_state *s)
{
	int sig;
	bool sent;

	update_child_stop(s);
	if (!s->new_stop)
		return;
	s->new_stop = false;
	sig = s->stopped;
	if (!is_job_stop_signal(sig))
		return; /* SIGSTOP: not job control, nothing to follow */
	sent = s->sent_stop == sig;
	s->sent_stop = 0;
	if (!sent && (in_foreground(s) || child_in_foreground(s)) && (sig != SIGTSTP || s->pid1)) {
		verbose(s, "child stopped by signal %d: continuing it", sig);
		resume_child(s);
		return;
	}
	if (s->pid1)
		return;
	verbose(s, "child stopped by signal %d: stopping too", sig);
	take_terminal(s);
	if (!stop_self(sig)) {
		verbose(s, "our process group is orphaned: continuing the child");
		resume_child(s);
	}
	/* Else continued: SIGCONT waits in the signalfd, and on_signal
	 * continues the child, with the terminal if fg gave it to us. */
}

/* Collect every zombie; runs on each SIGCHLD (they coalesce). */
static void sweep(struct init_state *s)
{
	struct col_status st;
	char what[64];
	pid_t pid = 0; /* (set when 1; gcc -flto -Os cannot tell) */

	while (col_reap_peek(&pid) == 1) {
		if (!s->child_done && pid == s->child.pid) {
			main_child_exited(s);
			continue;
		}
		if (col_reap_pid(pid, 0, &st) != 1)
			continue;
		leftovers_forget(&s->left, pid);
		if (s->opts->warn_reap) {
			col_status_format(&st, what, sizeof(what));
			fprintf(stderr, "collie init: reaped zombie process %d (%s)\n", (int)pid,
				what);
		}
	}
	if (!s->child_done) {
		follow_child_stop(s);
		return;
	}
	if (leftovers_terminate(&s->left) <= 0)
		col_loop_exit(s->loop, exit_code(s));
}

static void on_signal(struct col_source *src, const struct signalfd_siginfo *si, void *data)
{
	struct init_state *s = data;
	int sig = (int)si->ssi_signo, to;

	if (sig == SIGCHLD) {
		sweep(s);
		return;
	}
	if (s->child_done) {
		/* Asked again to stop while waiting for leftovers: stop waiting. */
		if ((sig == SIGTERM || sig == SIGINT) && !s->left.killing) {
			s->left.killing = true;
			if (leftovers_terminate(&s->left) <= 0)
				col_loop_exit(s->loop, exit_code(s));
		}
		return;
	}
	to = s->opts->rewrite[sig];
	if (to == 0) {
		verbose(s, "signal %d dropped (-r)", sig);
		return;
	}
	if (sig == SIGCONT)
		give_terminal(s); /* fg: the child's group gets the terminal first */
	verbose(s, "forwarding signal %d%s", to, s->opts->single_child ? "" : " to the group");
	forward(s, to);
	/* We stop when the child does (follow_child_stop), once. */
	if (is_job_stop_signal(to))
		s->sent_stop = to;
	/* A stopped child would keep a signal that ends it pending, and we
	 * would wait: continue it, as timeout(1) does. Only when it is
	 * stopped: a SIGCONT also cancels the SIGSTOP of a ptrace attach
	 * under way (LeakSanitizer's at exit, a debugger's), which then
	 * waits for a stop that never comes. */
	if (to == SIGTERM || to == SIGINT || to == SIGHUP || to == SIGQUIT) {
		update_child_stop(s);
		if (s->stopped)
			forward(s, SIGCONT);
	}
}

/* Receive every signal we forward, and SIGCHLD, through the loop. */
static int watch_signals(struct init_state *s)
{
	sigset_t set;

	/* sigfillset() leaves out what libc reserves for its threads. */
	sigfillset(&set);
	sigdelset(&set, SIGKILL);
	sigdelset(&set, SIGSTOP);
	for (int sig = 1; sig < _NSIG; sig++)
		if (is_fault_signal(sig))
			sigdelset(&set, sig);
	return col_loop_add_signals(s->loop, &set, on_signal, s);
}

static int start_child(struct init_state *s, char **argv, const sigset_t *mask)
{
	struct col_spawn_opts o = COL_SPAWN_OPTS_INIT;
	struct col_spawn_error err;
	int r;

	o.argv = argv;
	o.flags = COL_SPAWN_SEARCH_PATH | COL_SPAWN_SETPGID;
	o.sigmask = mask; /* the mask we were started with, not the loop's */
	/* Our session's terminal: we may be in its foreground now, or be
	 * given it later by fg. */
	if (isatty(0) && tcgetsid(0) == getsid(0))
		s->tty_fd = 0;
	if (in_foreground(s)) {
		o.flags |= COL_SPAWN_FOREGROUND;
		o.tty_fd = 0;
	}
	r = col_spawn_start(&o, &s->child, &err);
	if (r < 0) {
		cli_error("init: cannot run '%s': %s: %s", argv[0], col_spawn_step_name(err.step),
			  strerror(-r));
		return -cli_start_exit_code(r, err.step == COL_SPAWN_STEP_EXEC);
	}
	s->pgid = s->child.pid;
	s->handed = o.flags & COL_SPAWN_FOREGROUND;
	verbose(s, "started '%s' as process %d", argv[0], (int)s->child.pid);
	return 0;
}

/*
 * Give back the stack pages the spawn wrote below us. The child ran on a
 * stack in col_spawn_start()'s frame (CLONE_VM shares our memory; that
 * saves each spawn an mmap), and the parent's call of clone() went below
 * that: two pages some 40 kB under this frame that an init waiting for
 * days never touches again (tini's fork() leaves nothing in the parent).
 * Everything below the stack pointer is dead; the page under this frame
 * is left alone for the call of madvise() itself. Pages that were never
 * there cost nothing, and madvise() says ENOMEM for a range that reaches
 * past the stack, having done the rest.
 */
static void __attribute__((noinline)) trim_stack(void)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	/* the frame's address, not a local's: AddressSanitizer may keep
	 * locals on a "fake stack" in the heap */
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t below = (here & ~(page - 1)) - page;

	madvise((void *)(below - TRIM_STACK_BYTES), TRIM_STACK_BYTES, MADV_DONTNEED);
}

static const char init_usage_text[] =
	"usage: collie init [OPTIONS] [--] PROGRAM [ARGS...]\n"
	"\n"
	"Run PROGRAM as a container's first process: reap every zombie, pass\n"
	"signals on, exit with PROGRAM's status, and leave no process behind.\n"
	"Not PID 1, collie registers as a subreaper and does the same.\n"
	"\n"
	"Options:\n"
	"  -c, --single-child     send signals to PROGRAM only, not its process group\n"
	"  -g                     send signals to PROGRAM's process group (default)\n"
	"  -r, --rewrite S:R      send signal R when signal S arrives (R = 0: drop S);\n"
	"                         names or numbers, repeatable (dumb-init's --rewrite)\n"
	"  -e, --remap-exit CODE  exit 0 when PROGRAM's status is CODE (0..255, e.g.\n"
	"                         143 for SIGTERM); repeatable (tini's -e)\n"
	"  -t, --grace SECONDS    after PROGRAM exits, wait this long between SIGTERM\n"
	"                         and SIGKILL for what it left behind (default 5)\n"
	"  -p, --pdeath SIGNAL    signal collie gets when its parent dies (tini's -p)\n"
	"  -s, --subreaper        accepted for tini compatibility; always on when\n"
	"                         not PID 1\n"
	"  -w, --warn-reap        print a line for every orphan reaped (tini's -w)\n"
	"  -v, --verbose          say what happens, on stderr\n"
	"  -h, --help             this help\n"
	"      --version          print the version\n"
	"\n"
	"Exit status: PROGRAM's code, 128+N when killed by signal N, 127 when it\n"
	"was not found, 126 when it could not be executed, 2 for bad usage.\n";

static int parse_rewrite(struct init_opts *o, const char *arg)
{
	char from[32];
	const char *colon = strchr(arg, ':');
	int s, r;

	if (!colon || (size_t)(colon - arg) >= sizeof(from)) {
		cli_error("init: --rewrite '%s': expected FROM:TO, e.g. 15:3 or TERM:QUIT", arg);
		return -1;
	}
	memcpy(from, arg, (size_t)(colon - arg));
	from[colon - arg] = 0;
	s = col_signal_parse(from);
	r = strcmp(colon + 1, "0") == 0 ? 0 : col_signal_parse(colon + 1);
	if (s <= 0 || r < 0 || s >= _NSIG || r >= _NSIG) {
		cli_error("init: --rewrite '%s': '%s' is not a signal", arg,
			  s <= 0 ? from : colon + 1);
		return -1;
	}
	o->rewrite[s] = r;
	return 0;
}

static int parse_number(const char *opt, const char *arg, long lo, long hi, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi) {
		cli_error("init: %s '%s': expected a whole number from %ld to %ld", opt, arg, lo,
			  hi);
		return -1;
	}
	*ret = v;
	return 0;
}

static int parse_init_opts(int argc, char **argv, struct init_opts *o)
{
	static const struct option longopts[] = {
		{ "single-child", no_argument, NULL, 'c' },
		{ "rewrite", required_argument, NULL, 'r' },
		{ "remap-exit", required_argument, NULL, 'e' },
		{ "grace", required_argument, NULL, 't' },
		{ "pdeath", required_argument, NULL, 'p' },
		{ "subreaper", no_argument, NULL, 's' },
		{ "warn-reap", no_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	for (int sig = 0; sig < _NSIG; sig++)
		o->rewrite[sig] = sig;
	o->grace = DEFAULT_GRACE_SEC * COL_USEC_PER_SEC;
	while ((c = getopt_long(argc, argv, "+cgr:e:t:p:swvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->single_child = true;
			break;
		case 'g':
			o->single_child = false;
			break;
		case 's':
			break;
		case 'w':
			o->warn_reap = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'r':
			if (parse_rewrite(o, optarg) < 0)
				return -CLI_EXIT_USAGE;
			break;
		case 'e':
			if (parse_number("--remap-exit", optarg, 0, 255, &v) < 0)
				return -CLI_EXIT_USAGE;
			o->remap[v] = true;
			break;
		case 't':
			if (parse_number("--grace", optarg, 0, 86400, &v) < 0)
				return -CLI_EXIT_USAGE;
			o->grace = (uint64_t)v * COL_USEC_PER_SEC;
			break;
		case 'p':
			o->pdeathsig = col_signal_parse(optarg);
			if (o->pdeathsig <= 0) {
				cli_error("init: --pdeath '%s' is not a signal", optarg);
				return -CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(init_usage_text, stdout);
			return 1;
		case 'V':
			printf("collie init %s\n", COLLIE_VERSION);
			return 1;
		default:
			fputs(init_usage_text, stderr);
			return -CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_error("init: no program given; usage: collie init [OPTIONS] -- PROGRAM "
			  "[ARGS...]");
		return -CLI_EXIT_USAGE;
	}
	return 0;
}

/* Become what reaps orphans: PID 1 already is; anyone else registers. */
static void become_reaper(struct init_state *s, const struct init_opts *o)
{
	s->pid1 = getpid() == 1;
	s->left.pid1 = s->pid1;
	s->left.verbose = o->verbose;
	s->left.who = "collie init";
	if (!s->pid1 && col_reap_set_subreaper(true) < 0)
		cli_error("init: cannot become a subreaper (%s): orphans of the program will "
			  "not be reaped here",
			  strerror(errno));
	if (o->pdeathsig && prctl(PR_SET_PDEATHSIG, (unsigned long)o->pdeathsig, 0L, 0L, 0L) < 0)
		cli_error("init: --pdeath: %s", strerror(errno));
}

int cli_init(int argc, char **argv)
{
	static struct init_opts o;
	struct init_state s = { .opts = &o, .child = COL_CHILD_INIT, .tty_fd = -1 };
	sigset_t mask;
	int r;

	r = parse_init_opts(argc, argv, &o);
	if (r != 0)
		return r > 0 ? CLI_EXIT_OK : -r;
	become_reaper(&s, &o);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	r = col_loop_new(&s.loop);
	if (r >= 0)
		r = watch_signals(&s);
	if (r < 0) {
		cli_error("init: event loop: %s", strerror(-r));
		col_loop_free(s.loop);
		return CLI_EXIT_FAILURE;
	}
	r = start_child(&s, argv + optind, &mask);
	if (r < 0) {
		col_loop_free(s.loop);
		return -r;
	}
	trim_stack();
	r = col_loop_run(s.loop);
	if (r < 0) {
		cli_error("init: event loop: %s", strerror(-r));
		r = CLI_EXIT_FAILURE;
	}
	col_loop_free(s.loop);
	col_child_release(&s.child);
	leftovers_release(&s.left);
	return r;
}
