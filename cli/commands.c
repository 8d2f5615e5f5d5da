/*
 * commands.c - every command of collie but init: dispatch by name.
 *
 * Every subcommand lives in its own file and uses only libcollie's public
 * API; this file knows their names and nothing else. The collie
 * executable (main.c) runs `init` and `version` itself and calls
 * collie_cli_main() for the rest (where that executable is the small
 * init, in the whole collie it executes).
 */
#include <stdio.h>
#include <string.h>

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

int collie_cli_main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(cmd, "up") == 0)
		return cli_up(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cli_check(argc - 1, argv + 1);
	if (cli_is_client_command(cmd))
		return cli_client(argc - 1, argv + 1);
	cli_error("unknown command '%s'; try 'collie help'", cmd);
	return CLI_EXIT_USAGE;
}
