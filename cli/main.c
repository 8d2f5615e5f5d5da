/*
 * main.c - the collie executable: `collie init` here, every other command
 * through collie_cli_main() (commands.c).
 *
 * collie init is a container's PID 1 for the container's whole life, and
 * the kernel counts a mapped executable at about its whole size, not at
 * the part that runs: a fault maps every cached page of the 64 kB window
 * around it (fault-around; docs/benchmarks.md, "Init"). So in the default
 * build this executable holds init and the part of libcollie it uses and
 * nothing else, built for size (cli/meson.build), and the other commands
 * live in a module, collie-cli.so, which it loads for them. An idle collie
 * init then holds about what tini holds. -Dcli_module=false and the
 * static build (-Dstatic_collie=true: one file for FROM scratch images)
 * link everything into this executable.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef COLLIE_CLI_MODULE_DIR
#include <dlfcn.h>
#endif

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

#ifdef COLLIE_CLI_MODULE_DIR
/*
 * Where the module may be, in this order: beside this executable (the
 * build tree); where the installation puts it, relative to this executable
 * (an installation moved as a whole, or under DESTDIR); and where it was
 * installed, for when this executable's path cannot be read (no /proc).
 * Full paths only: no search path (LD_LIBRARY_PATH) can put another module
 * in its place. (Not dlopen()'s "$ORIGIN": that is the directory of
 * whoever calls dlopen(), which under AddressSanitizer is libasan.)
 */
static const char *const module_places[] = {
	"/collie-cli.so",
	"/" COLLIE_CLI_MODULE_REL "/collie-cli.so",
	COLLIE_CLI_MODULE_DIR "/collie-cli.so",
};

/* Load the module of the other commands and run the command there. */
static int run_commands(int argc, char **argv)
{
	char dir[PATH_MAX] = "", path[PATH_MAX + 64], why[512] = "";
	bool telling = false, have_dir = false;
	void *module = NULL;
	int (*cli_main)(int, char **);
	const char *version;
	char *slash;

	/* dir: this executable's directory, "" for / */
	if (readlink("/proc/self/exe", dir, sizeof(dir) - 1) > 0 && (slash = strrchr(dir, '/'))) {
		*slash = 0;
		have_dir = true;
	}
	for (size_t i = 0; i < COL_ARRAY_SIZE(module_places) && !module; i++) {
		bool last = i == COL_ARRAY_SIZE(module_places) - 1;
		const char *e;

		if (!last && !have_dir)
			continue;
		snprintf(path, sizeof(path), "%s%s", last ? "" : dir, module_places[i]);
		/* Lazy: a command binds only the functions it calls (-0.1 ms
		 * for `collie status`); the version check below stands for the
		 * symbols an unbound call could miss. */
		module = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
		e = module ? NULL : dlerror();
		/* The most telling failure: of a file that is there, else the last. */
		if (e && !telling) {
			snprintf(why, sizeof(why), "%s", e);
			telling = !strstr(e, "No such file");
		}
	}
	if (!module) {
		cli_error("cannot load collie-cli.so, which holds every command but init: %s "
			  "(it belongs in %s; install collie again)",
			  why, COLLIE_CLI_MODULE_DIR);
		return CLI_EXIT_FAILURE;
	}
	version = dlsym(module, "collie_cli_version");
	cli_main = (int (*)(int, char **))dlsym(module, "collie_cli_main");
	if (!version || !cli_main || strcmp(version, COLLIE_VERSION) != 0) {
		cli_error("collie-cli.so is not the module of this collie %s (it is %s): "
			  "install collie again",
			  COLLIE_VERSION, version ? version : "no collie module");
		return CLI_EXIT_FAILURE;
	}
	return cli_main(argc, argv);
}
#else
static int run_commands(int argc, char **argv)
{
	return collie_cli_main(argc, argv);
}
#endif

int main(int argc, char **argv)
{
	guard_stdio();
	if (argc > 1 && strcmp(argv[1], "init") == 0)
		return cli_init(argc - 1, argv + 1);
	/* here too, so that an installation without its module can say what it is */
	if (argc > 1 && (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("collie %s\n", COLLIE_VERSION);
		return CLI_EXIT_OK;
	}
	return run_commands(argc, argv);
}
