/*
 * main.c - the collie executable: `collie init` here, every other command
 * through collie_cli_main() (commands.c).
 *
 * collie init is a container's PID 1 for the container's whole life, and
 * the kernel counts a mapped file at about its whole size, not at the part
 * that runs: a fault maps every cached page of the 64 kB window around it
 * (fault-around), and a dynamic executable maps libc and ld.so besides.
 * So where musl-gcc is at hand (cli/meson.build, -Dsmall_init) the collie
 * executable is a small static one, built with musl for size, that holds
 * init and the part of libcollie it uses, and nothing else: an idle collie
 * init holds about a third of what tini holds (docs/benchmarks.md,
 * "Init"). For every other command it executes the whole collie, a
 * dynamic executable installed in $libexecdir/collie/ (its name collie
 * too, the command line unchanged: ps shows what the user typed), which
 * costs a command one exec more (0.13 to 0.15 ms here). Everywhere
 * else (-Dsmall_init=disabled, the sanitizers, and the static build for
 * FROM scratch images) everything is in one executable, and this file is
 * its main() too.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collie/common.h"
#include "cli.h"
#include "banned.h"

/*
 * Make sure fds 0, 1 and 2 are open, before anything else opens an fd: a
 * closed one (`collie up >&-`, a careless parent) would be the number the
 * next pipe or socket gets, and then what collie prints as its output
 * would go into the control socket or a program's log pipe. /dev/null
 * takes its place (0 to 2 in order, so open() returns the closed one).
 * Without /dev/null that cannot be made safe: exit 1, saying so where it
 * can still be heard.
 */
static void guard_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		int null;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* Not close-on-exec: a program inheriting collie's stdio gets it. */
		null = open("/dev/null", O_RDWR | O_NOCTTY);
		if (null == fd)
			continue;
		if (fd != 2)
			fprintf(stderr,
				"collie: fd %d is closed and /dev/null cannot take its place: %s\n",
				fd, null < 0 ? strerror(errno) : "it opened as another fd");
		exit(CLI_EXIT_FAILURE);
	}
}

/* What the small executable tells the whole collie its version is. */
#define FRONT_VERSION_ENV "COLLIE_FRONT_VERSION"

#ifdef COLLIE_WHOLE_DIR
/*
 * Where the whole collie may be, in this order: in libexec/ beside this
 * executable (the build tree); where the installation puts it, relative to
 * this executable (an installation moved as a whole, or under DESTDIR;
 * none where bindir or libexecdir is absolute: cli/meson.build); and where
 * it was installed, for when this executable's path cannot be read (no
 * /proc). Full paths only: no search path (PATH) can put another program
 * in its place.
 */
static const char *const whole_places[] = {
	"/libexec/collie",
#ifdef COLLIE_WHOLE_REL
	"/" COLLIE_WHOLE_REL "/collie",
#endif
	COLLIE_WHOLE_DIR "/collie",
};

/*
 * Run the command in the whole collie: exec it with the same arguments and
 * environment, its version added for it to check (a partial upgrade must
 * not pair this executable with another collie's).
 */
static int run_commands(int argc, char **argv)
{
	char dir[PATH_MAX] = "", path[PATH_MAX + 64], why[PATH_MAX + 128] = "";
	bool have_dir = false, telling = false;
	char *slash;
	int err;

	(void)argc;
	/* dir: this executable's directory, "" for / */
	if (readlink("/proc/self/exe", dir, sizeof(dir) - 1) > 0 && (slash = strrchr(dir, '/'))) {
		*slash = 0;
		have_dir = true;
	}
	/*
	 * Set: a collie executable executed this one as the whole collie (a
	 * copy of this one installed in its place). Executing the whole
	 * collie again could do so for ever.
	 */
	if (getenv(FRONT_VERSION_ENV)) {
		cli_error("%s%s is the small collie executable again, not the whole collie: "
			  "install collie again",
			  have_dir ? dir : "the whole collie's place", have_dir ? "/collie" : "");
		return CLI_EXIT_FAILURE;
	}
	if (setenv(FRONT_VERSION_ENV, COLLIE_VERSION, 1) < 0) {
		cli_error("cannot run the command: %s", strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	for (size_t i = 0; i < COL_ARRAY_SIZE(whole_places); i++) {
		bool last = i == COL_ARRAY_SIZE(whole_places) - 1;

		if (!last && !have_dir)
			continue;
		snprintf(path, sizeof(path), "%s%s", last ? "" : dir, whole_places[i]);
		execv(path, argv);
		err = errno;
		/* The most telling failure: of a file that is there, else the last. */
		if (!telling) {
			snprintf(why, sizeof(why), "%s: %s", path, strerror(err));
			telling = err != ENOENT && err != ENOTDIR;
		}
	}
	cli_error("every command but init is in %s/collie, and it cannot be run: %s "
		  "(install collie again)", COLLIE_WHOLE_DIR, why);
	return CLI_EXIT_FAILURE;
}
#else
/* Run by the small collie executable: of the same version, or refuse. */
static int run_commands(int argc, char **argv)
{
	const char *front = getenv(FRONT_VERSION_ENV);

	if (front) {
		if (strcmp(front, COLLIE_VERSION) != 0) {
			cli_error("this collie %s was run by the collie executable of version %s: "
				  "install collie again", COLLIE_VERSION, front);
			return CLI_EXIT_FAILURE;
		}
		/* not for the programs it starts */
		unsetenv(FRONT_VERSION_ENV);
	}
	return collie_cli_main(argc, argv);
}
#endif

int main(int argc, char **argv)
{
	guard_stdio();
	if (argc > 1 && strcmp(argv[1], "init") == 0)
		return cli_init(argc - 1, argv + 1);
	/* here too, so that an installation without the whole collie can say what it is */
	if (argc > 1 && (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("collie %s\n", COLLIE_VERSION);
		return CLI_EXIT_OK;
	}
	return run_commands(argc, argv);
}
