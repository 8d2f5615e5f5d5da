/*
 * main.c - the collie command: dispatch to a subcommand.
 *
 * Every subcommand lives in its own file and uses only libcollie's public
 * API; this file knows their names and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "banned.h"

static const char usage_text[] =
	"usage: collie COMMAND [ARGS...]\n"
	"\n"
	"Commands:\n"
	"  run [--pipefail] [--] COMMAND-LINE\n"
	"  run [--pipefail] --file FILE\n"
	"                 run a command line in collie's command language (quoting,\n"
	"                 $VAR, VAR=value, pipelines, redirections; no shell) and exit\n"
	"                 with its status\n"
	"  init [OPTIONS] [--] PROGRAM [ARGS...]\n"
	"                 run PROGRAM as a container's PID 1 (or as a subreaper):\n"
	"                 reap zombies, forward signals, exit with its status;\n"
	"                 see 'collie init --help'\n"
	"  up [-c FILE] [-m FORMATION] [-v]\n"
	"                 start the programs of a configuration and keep them alive\n"
	"                 in the foreground; SIGTERM or ^C stops them all\n"
	"  check [-c FILE] [-m FORMATION]\n"
	"                 validate a configuration (collie.ini, a supervisord.conf or a\n"
	"                 Procfile) and print it as collie would run it; see\n"
	"                 collie.conf(5)\n"
	"  status|start|stop|restart|signal|pid|down|update ...\n"
	"                 control a running 'collie up' through its control socket\n"
	"                 (update: reload the configuration, as SIGHUP does);\n"
	"                 see 'collie COMMAND --help'\n"
	"  logs [-f] [-n N] [NAME...]\n"
	"                 print what is kept of the programs' output (all of it, or\n"
	"                 the last N lines), and with -f follow it\n"
	"  logs --reopen  reopen every log file (after logrotate renamed them)\n"
	"  version        print the version\n"
	"  help           print this help\n"
	"\n"
	"See collie(1).\n";

void cli_error(const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* one write, so that it is not cut by what others write there */
	fprintf(stderr, "collie: %s\n", text);
}

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

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	guard_stdio();
	if (!cmd) {
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("collie %s\n", COLLIE_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(cmd, "up") == 0)
		return cli_up(argc - 1, argv + 1);
	if (strcmp(cmd, "init") == 0)
		return cli_init(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cli_check(argc - 1, argv + 1);
	if (cli_is_client_command(cmd))
		return cli_client(argc - 1, argv + 1);
	cli_error("unknown command '%s'; try 'collie help'", cmd);
	return CLI_EXIT_USAGE;
}
