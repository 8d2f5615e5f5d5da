/*
 * check.c - `collie check [-c FILE] [-m FORMATION]`: load the
 * configuration as `collie up` would, and print it.
 *
 * Loading validates everything that can be known before starting:
 * syntax, types and ranges, users, signals, expansions, includes,
 * depends_on, and every command that runs without a shell against the
 * command language. On success the effective configuration goes to
 * stdout and the warnings to stderr, exit 0; on failure every error goes
 * to stderr, exit 2. Nothing is started either way.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "banned.h"

static void check_usage(FILE *out)
{
	fputs("usage: collie check [-c FILE] [-m FORMATION]\n"
	      "  -c FILE       the configuration: an INI file, or a Procfile (a file named\n"
	      "                Procfile, Procfile.* or *.Procfile); default ./collie.ini,\n"
	      "                else ./Procfile\n"
	      "  -m FORMATION  Procfile instance counts, such as web=2,worker=1 (all=N for\n"
	      "                every other type)\n",
	      out);
}

int cli_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "formation", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg_load_opts opts = { 0 };
	struct cfg *cfg = NULL;
	char *error = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+c:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.path = optarg;
			break;
		case 'm':
			opts.formation = optarg;
			break;
		case 'h':
			check_usage(stdout);
			return CLI_EXIT_OK;
		default:
			check_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("check: unexpected argument '%s'", argv[optind]);
		check_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cfg_load(&opts, &cfg, &error) < 0) {
		/* one message a line, each naming its file:line */
		for (char *line = error, *next; line && *line; line = next) {
			next = line + strcspn(line, "\n");
			cli_error("%.*s", (int)(next - line), line);
			next += *next == '\n';
		}
		free(error);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < cfg->n_warnings; i++)
		cli_error("warning: %s", cfg->warnings[i].text);
	cfg_print(cfg, stdout);
	cfg_unref(cfg);
	return CLI_EXIT_OK;
}
