/*
 * collie-test-helper - the one scripted child every test drives.
 *
 * Usage: collie-test-helper STEP [ARGS] [STEP [ARGS]] ...
 * Steps run in order, so behaviours compose:
 *   collie-test-helper ignore TERM write-ready 3 pause
 *
 * Steps:
 *   exit N            exit with code N
 *   kill-self SIG     raise SIG with its default action
 *   kill-parent SIG   send SIG to the parent process
 *   echo WORD         print WORD and a newline on stdout
 *   echo-err WORD     print WORD and a newline on stderr
 *   lines N           print lines "1".."N" on stdout
 *   lines-err N       print lines "1".."N" on stderr
 *   wide-lines N W    print N lines of exactly W bytes on stdout: the
 *                     number, then 'x' up to W ("1xxxx", "2xxxx", ...)
 *   count-until F U   print lines "1", "2", ... on stdout, each flushed, one
 *                     every U microseconds, until file F exists; then go on
 *   long-line N       print one line of N bytes on stdout: "0123456789"
 *                     repeated, cut at N
 *   print WORD        print WORD on stdout without a newline
 *   cat               copy stdin to stdout until EOF
 *   wait-eof          read stdin until EOF, discarding it
 *   print-fds         print the open fds, ascending, space separated
 *   print-sigmask     print the blocked-signal mask (hex, /proc SigBlk)
 *   print-sigign      print the ignored-signal mask (hex, /proc SigIgn)
 *   print-status F    print field F of /proc/self/status (NoNewPrivs, ...)
 *   print-ids         print "ruid euid suid rgid egid sgid groups..."
 *   print-pgid        print "pid pgid sid"
 *   print-cwd         print the working directory
 *   print-umask       print the umask in octal
 *   print-env NAME    print NAME's value, or "(unset)"
 *   print-rlimit RES  print "soft hard" of nofile|nproc|core|as
 *   print-ppid        print the parent pid
 *   ignore SIG        set SIG to SIG_IGN
 *   write-ready FD    write "ready\n" to FD and close it
 *   pause             wait for signals forever (dies by a default action)
 *   double-fork       fork; the parent prints the child's pid and exits 0,
 *                     the child (now an orphan) runs the remaining steps
 *   fork-wait         fork; the child runs the remaining steps, the parent
 *                     waits for it and exits with its code
 *   fork-wait-eof     fork; the parent prints the child's pid, waits for EOF
 *                     on stdin and exits 0; the child runs the remaining
 *                     steps
 *   close-stdin       close fd 0 (so a parent's wait-eof can end)
 *   orphans N         make N orphans that exit at once: fork a child that
 *                     forks N grandchildren and exits without waiting;
 *                     wait for that child only (the grandchildren are left
 *                     to whoever reaps orphans), then go on
 *   orphan            make one long-lived orphan: fork a child that forks
 *                     a grandchild and exits; wait for that child (so the
 *                     grandchild has been re-parented to whoever reaps
 *                     orphans), print the grandchild's pid and go on. The
 *                     grandchild waits for EOF on stdin and exits 0
 *   setsid            start a new session (leave the process group)
 *   block-signals     block every catchable signal (so a test can say
 *                     "ready" before it sends any)
 *   signals N         block every catchable signal, then print the name of
 *                     each of the next N signals received ("SIGTERM")
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "collie/sig.h"
#include "collie/fd.h"
#include "banned.h"

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "collie-test-helper: %s: %s\n", what, strerror(errno));
	exit(99);
}

static long number(const char *s)
{
	char *end;
	long v;

	if (!s)
		die("missing number");
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end) {
		errno = EINVAL;
		die(s);
	}
	return v;
}

static int signal_arg(const char *s)
{
	int sig = s ? col_signal_parse(s) : -EINVAL;

	if (sig < 0) {
		errno = EINVAL;
		die("bad signal");
	}
	return sig;
}

static void print_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fds[4096], n = 0, self;

	if (!d)
		die("opendir");
	self = dirfd(d);
	while ((de = readdir(d)) && n < 4096) {
		if (de->d_name[0] == '.')
			continue;
		if ((int)number(de->d_name) != self)
			fds[n++] = (int)number(de->d_name);
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];
				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? " " : "", fds[i]);
	printf("\n");
}

static void print_status_field(const char *field)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	size_t len = strlen(field);

	if (!f)
		die("fopen");
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			char *v = line + len + 1;
			while (*v == '\t' || *v == ' ')
				v++;
			fputs(v, stdout);
		}
	fclose(f);
}

static void print_ids(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[256];
	int n;

	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	printf("%u %u %u %u %u %u", r, e, s, rg, eg, sg);
	n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		printf(" %u", groups[i]);
	printf("\n");
}

static void print_rlimit(const char *name)
{
	struct rlimit rl;
	int res;

	if (!name)
		die("missing resource");
	if (strcmp(name, "nofile") == 0)
		res = RLIMIT_NOFILE;
	else if (strcmp(name, "nproc") == 0)
		res = RLIMIT_NPROC;
	else if (strcmp(name, "core") == 0)
		res = RLIMIT_CORE;
	else if (strcmp(name, "as") == 0)
		res = RLIMIT_AS;
	else
		die(name);
	getrlimit(res, &rl);
	printf("%llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
}

static void copy_stdin(int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = col_fd_read(0, buf, sizeof(buf))) > 0)
		if (out >= 0 && col_fd_write_all(out, buf, (size_t)n) < 0)
			die("write");
	if (n < 0)
		die("read");
}

static void do_pause(void)
{
	sigset_t none;

	sigemptyset(&none);
	for (;;)
		sigsuspend(&none);
}

static void make_orphans(long n)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (long i = 0; i < n; i++) {
			pid_t g = fork();

			if (g < 0)
				_exit(1);
			if (g == 0)
				_exit(0);
		}
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		errno = EAGAIN;
		die("orphans");
	}
}

static void make_orphan(void)
{
	pid_t pid, grandchild = 0;
	int p[2], st;

	fflush(stdout);
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe2");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		grandchild = fork();
		if (grandchild == 0) {
			close(p[1]);
			copy_stdin(-1);
			_exit(0);
		}
		/* The child tells its pid through the pipe, the parent prints
		 * it once the child is reaped: the grandchild is an orphan. */
		if (grandchild < 0 || col_fd_write_all(p[1], &grandchild, sizeof(grandchild)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (col_fd_read(p[0], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
		grandchild = 0;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || grandchild <= 0) {
		errno = EAGAIN;
		die("orphan");
	}
	printf("%d\n", (int)grandchild);
}

static void print_signals(long n)
{
	sigset_t all;
	char name[32];

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (long i = 0; i < n; i++) {
		int sig = sigwaitinfo(&all, NULL);

		if (sig < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			die("sigwaitinfo");
		}
		col_signal_format(sig, name, sizeof(name));
		printf("%s\n", name);
	}
}

static void wide_lines(long n, long w)
{
	char buf[65536];

	if (w < 1 || w >= (long)sizeof(buf)) {
		errno = EINVAL;
		die("wide-lines width");
	}
	memset(buf, 'x', (size_t)w);
	buf[w] = '\n';
	for (long i = 1; i <= n; i++) {
		int k = snprintf(buf, sizeof(buf), "%ld", i);

		if (k >= w) {
			errno = EINVAL;
			die("wide-lines: width too small for the number");
		}
		buf[k] = 'x';
		fwrite(buf, 1, (size_t)w + 1, stdout);
	}
}

static void count_until(const char *file, long usec)
{
	struct timespec pause = { .tv_sec = usec / 1000000, .tv_nsec = usec % 1000000 * 1000 };
	struct stat st;

	for (long i = 1; stat(file, &st) < 0; i++) {
		printf("%ld\n", i);
		fflush(stdout);
		/* pacing, not synchronisation: a reader that keeps up is what
		 * the test is about */
		nanosleep(&pause, NULL);
	}
}

/*
 * The fork steps: the child returns 1 and runs the remaining steps; the
 * parent prints the child's pid and exits (double-fork), prints it and
 * waits for EOF on stdin (fork-wait-eof), or waits for the child and exits
 * with its status (fork-wait).
 */
static int fork_step(const char *s)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		return 1;
	if (strcmp(s, "fork-wait") != 0) {
		printf("%d\n", (int)pid);
		fflush(stdout);
		if (strcmp(s, "double-fork") == 0)
			_exit(0);
		copy_stdin(-1);
		exit(0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* Run one step; returns how many arguments it consumed. */
static int step(char **argv, int argc)
{
	const char *s = argv[0], *a = argc > 1 ? argv[1] : NULL;

	if (strcmp(s, "exit") == 0) {
		fflush(stdout);
		exit((int)number(a));
	} else if (strcmp(s, "kill-parent") == 0) {
		kill(getppid(), signal_arg(a));
	} else if (strcmp(s, "kill-self") == 0) {
		int sig = signal_arg(a);
		fflush(stdout);
		signal(sig, SIG_DFL);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, sig);
		sigprocmask(SIG_UNBLOCK, &m, NULL);
		raise(sig);
		return 2;
	} else if (strcmp(s, "echo") == 0 || strcmp(s, "echo-err") == 0) {
		if (!a)
			die("echo needs a word");
		fprintf(s[4] ? stderr : stdout, "%s\n", a);
		return 2;
	} else if (strcmp(s, "lines") == 0) {
		long n = number(a);
		for (long i = 1; i <= n; i++)
			printf("%ld\n", i);
		return 2;
	} else if (strcmp(s, "lines-err") == 0) {
		long n = number(a);
		for (long i = 1; i <= n; i++)
			fprintf(stderr, "%ld\n", i);
		return 2;
	} else if (strcmp(s, "wide-lines") == 0) {
		wide_lines(number(a), number(argc > 2 ? argv[2] : NULL));
		return 3;
	} else if (strcmp(s, "count-until") == 0) {
		if (!a)
			die("count-until needs a file");
		count_until(a, number(argc > 2 ? argv[2] : NULL));
		return 3;
	} else if (strcmp(s, "long-line") == 0) {
		long n = number(a);
		for (long i = 0; i < n; i++)
			putchar('0' + (int)(i % 10));
		putchar('\n');
		return 2;
	} else if (strcmp(s, "print") == 0) {
		if (!a)
			die("print needs a word");
		fputs(a, stdout);
		fflush(stdout);
		return 2;
	} else if (strcmp(s, "cat") == 0) {
		fflush(stdout);
		copy_stdin(1);
	} else if (strcmp(s, "wait-eof") == 0) {
		copy_stdin(-1);
	} else if (strcmp(s, "orphan") == 0) {
		make_orphan();
	} else if (strcmp(s, "orphans") == 0) {
		make_orphans(number(a));
		return 2;
	} else if (strcmp(s, "setsid") == 0) {
		if (setsid() < 0)
			die("setsid");
	} else if (strcmp(s, "block-signals") == 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
	} else if (strcmp(s, "signals") == 0) {
		print_signals(number(a));
		return 2;
	} else if (strcmp(s, "print-fds") == 0) {
		print_fds();
	} else if (strcmp(s, "print-sigmask") == 0) {
		print_status_field("SigBlk");
	} else if (strcmp(s, "print-sigign") == 0) {
		print_status_field("SigIgn");
	} else if (strcmp(s, "print-status") == 0) {
		if (!a)
			die("print-status needs a field");
		print_status_field(a);
		return 2;
	} else if (strcmp(s, "print-ids") == 0) {
		print_ids();
	} else if (strcmp(s, "print-pgid") == 0) {
		printf("%d %d %d\n", (int)getpid(), (int)getpgrp(), (int)getsid(0));
	} else if (strcmp(s, "print-cwd") == 0) {
		char buf[4096];
		if (!getcwd(buf, sizeof(buf)))
			die("getcwd");
		printf("%s\n", buf);
	} else if (strcmp(s, "print-umask") == 0) {
		mode_t m = umask(0);
		umask(m);
		printf("%03o\n", (unsigned)m);
	} else if (strcmp(s, "print-env") == 0) {
		const char *v = a ? getenv(a) : NULL;
		printf("%s\n", v ? v : "(unset)");
		return 2;
	} else if (strcmp(s, "print-rlimit") == 0) {
		print_rlimit(a);
		return 2;
	} else if (strcmp(s, "print-ppid") == 0) {
		printf("%d\n", (int)getppid());
	} else if (strcmp(s, "ignore") == 0) {
		signal(signal_arg(a), SIG_IGN);
		return 2;
	} else if (strcmp(s, "write-ready") == 0) {
		int fd = (int)number(a);
		if (col_fd_write_all(fd, "ready\n", 6) < 0)
			die("write-ready");
		close(fd);
		return 2;
	} else if (strcmp(s, "pause") == 0) {
		fflush(stdout);
		do_pause();
	} else if (strcmp(s, "close-stdin") == 0) {
		close(0);
	} else if (strcmp(s, "fork-wait-eof") == 0 || strcmp(s, "double-fork") == 0 ||
		   strcmp(s, "fork-wait") == 0) {
		return fork_step(s);
	} else {
		fprintf(stderr, "collie-test-helper: unknown step '%s'\n", s);
		exit(98);
	}
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc;)
		i += step(argv + i, argc - i);
	fflush(stdout);
	return 0;
}
