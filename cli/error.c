/*
 * error.c - how every part of the collie command reports an error (a
 * message, an exit code). Built into the small init executable and into
 * the whole collie alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"
#include "banned.h"

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

int cli_start_exit_code(int err, bool at_exec)
{
	if (!at_exec)
		return CLI_EXIT_FAILURE;
	return err == -ENOENT ? CLI_EXIT_NOT_FOUND : CLI_EXIT_CANNOT_EXEC;
}
