/*
 * cli.h - what the subcommands of the collie command share.
 *
 * Exit codes (STYLE.md rule 10): 0 success, 1 runtime failure, 2 usage,
 * a child's code or 128+signal when reporting a child, 126/127 when a
 * program could not be executed / found.
 */
#ifndef COLLIE_CLI_H
#define COLLIE_CLI_H

#include <stdbool.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_CANNOT_EXEC 126
#define CLI_EXIT_NOT_FOUND 127

#ifndef COLLIE_VERSION
#define COLLIE_VERSION "unknown"
#endif

/* Print "collie: " and the formatted message on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit code for a program that could not be started (-errno err;
 * at_exec: it failed at exec itself), as sh: 127 not found, 126 found but
 * not executable, 1 for anything before (a redirection's file, a pipe). */
int cli_start_exit_code(int err, bool at_exec);

/* The length of the valid UTF-8 sequence at p (n bytes left, n >= 1), or
 * 0: what JSON, and so the control protocol, can carry (control-logs.c). */
size_t cli_utf8_len(const unsigned char *p, size_t n);

/* collie run: parse a command line with the command language and run it. */
int cli_run(int argc, char **argv);

/* collie up: run the programs of a configuration and keep them alive. */
int cli_up(int argc, char **argv);

/* collie check: validate a configuration and print it (config.h). */
int cli_check(int argc, char **argv);

/* collie init: run one program as PID 1 (or a subreaper) over it. */
int cli_init(int argc, char **argv);

/*
 * Every command but init (argv[1] is the command; argc > 1), in the whole
 * collie. Where the collie executable is the small init (main.c,
 * -Dsmall_init), it executes the whole collie for them.
 */
int collie_cli_main(int argc, char **argv);

/* Whether name is one of the commands that talk to a running supervisor. */
bool cli_is_client_command(const char *name);

/* collie status|start|stop|restart|signal|pid|down: ask a running
 * supervisor through its control socket (argv[0] is the command). */
int cli_client(int argc, char **argv);

#endif
