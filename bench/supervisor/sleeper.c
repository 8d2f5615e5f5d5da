/*
 * sleeper.c - the program every supervisor runs in bench/supervisor/run:
 * it says that it has started, then does nothing until it is killed.
 *
 * "Running" is detected the same way for every supervisor: the first
 * thing the program does is read CLOCK_MONOTONIC, and it writes that time
 * with its pid and name as one line to the FIFO named by $SVBENCH_FIFO.
 * The harness reads the FIFO; a start or a restart is timed from the
 * program's own clock reading, not from when the harness got round to
 * looking, and the harness needs no polling of /proc to see it.
 *
 * Its name is argv[1] (collie and supervisord run "sleeper NAME"), or
 * else the last component of its working directory: runsv and
 * s6-supervise run ./run in the service directory, and there ./run is a
 * symlink to this program, so they exec it directly, with no shell in
 * between.
 *
 * SVBENCH_MODE=stubborn makes it ignore SIGTERM and fork one child that
 * ignores it too (the disposition is inherited) and stays in its process
 * group: a program that only SIGKILL stops, with a descendant that must
 * not be left behind. The line then names the child's pid as well.
 *
 * It is linked statically where it can be (bench/meson.build), so that
 * its exec runs no dynamic loader; it takes no locks and allocates nothing.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

static const char *own_name(int argc, char **argv, char *buf, size_t size)
{
	const char *slash;

	if (argc > 1)
		return argv[1];
	if (!getcwd(buf, size))
		return "?";
	slash = strrchr(buf, '/');
	return slash && slash[1] ? slash + 1 : buf;
}

static pid_t fork_stubborn_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

/* One line, under PIPE_BUF, so that concurrent writers never interleave. */
static void report(const char *fifo, long long stamp_ns, pid_t child, const char *name)
{
	char line[256];
	int fd, n;

	n = snprintf(line, sizeof(line), "%d %d %lld %.64s\n", (int)getpid(), (int)child, stamp_ns,
		     name);
	fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) < 0) {
		/* The harness has gone away: nothing to tell. */
	}
	close(fd);
}

int main(int argc, char **argv)
{
	struct timespec ts;
	const char *fifo = getenv("SVBENCH_FIFO");
	const char *mode = getenv("SVBENCH_MODE");
	char cwd[PATH_MAX];
	pid_t child = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (mode && strcmp(mode, "stubborn") == 0) {
		signal(SIGTERM, SIG_IGN);
		child = fork_stubborn_child();
	}
	if (fifo)
		report(fifo, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, child,
		       own_name(argc, argv, cwd, sizeof(cwd)));
	for (;;)
		pause();
}
