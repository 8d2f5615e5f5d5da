/*
 * run.c - `collie run`: one command line in collie's command language,
 * run in its own process group, watched by the event loop.
 *
 * This is the shell's fork+exec-per-command architecture from the seed,
 * without the shell: the text is parsed by col_cmdline_parse(), every
 * command of the pipeline is started with col_spawn_start() in one new
 * process group, and the loop reaps each member through its pidfd.
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to collie are forwarded to
 * the whole group; collie exits with the pipeline's status (128+N when
 * its last command was killed by signal N), as a shell would.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collie/cmdline.h"
#include "collie/fd.h"
#include "collie/loop.h"
#include "collie/reap.h"
#include "cli.h"
#include "banned.h"

/* A command file larger than this is not a command line. */
#define MAX_FILE_SIZE (64 * 1024)

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

struct run_state {
	struct col_pipeline pipeline;
	size_t running;
	int exit_code;
};

static void on_member_exit(struct col_source *src, const struct col_status *st, void *data)
{
	struct run_state *s = data;
	struct col_status final;

	col_pipeline_record(&s->pipeline, st);
	if (--s->running > 0)
		return;
	col_pipeline_status(&s->pipeline, &final);
	col_loop_exit(col_source_loop(src), col_status_exit_code(&final));
}

static void on_signal(struct col_source *src, const struct signalfd_siginfo *si, void *data)
{
	struct run_state *s = data;

	col_pipeline_signal(&s->pipeline, (int)si->ssi_signo);
}

/* Read a whole command file (for --file) into a NUL-terminated buffer,
 * up to EOF: a pipe (--file /dev/stdin, <(...)) gives it in pieces. A NUL
 * byte would cut the command short silently: refused, as sh refuses a
 * binary script. *ret_code: the exit code on failure. */
static char *read_file(const char *path, int *ret_code)
{
	char *buf = NULL, *nul = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 0;

	*ret_code = CLI_EXIT_FAILURE;
	if (fd < 0) {
		cli_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_FILE_SIZE + 1);
	if (!buf) {
		cli_error("out of memory");
		goto done;
	}
	while (len <= MAX_FILE_SIZE &&
	       (n = col_fd_read(fd, buf + len, MAX_FILE_SIZE + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		cli_error("%s: %s", path, strerror((int)-n));
	else if (len > MAX_FILE_SIZE)
		cli_error("%s: larger than 64 KiB", path);
	else if ((nul = memchr(buf, 0, len)))
		cli_error("%s: a NUL byte at offset %zu; a command file is text", path,
			  (size_t)(nul - buf));
	if (n < 0 || len > MAX_FILE_SIZE || nul) {
		*ret_code = nul ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[len] = 0;
done:
	col_close(fd);
	return buf;
}


/* Watch the members and forward signals (the loop has them already);
 * returns the exit code. */
static int supervise(struct run_state *s, struct col_loop *loop)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < s->pipeline.n_members; i++)
		r = col_loop_add_child(loop, s->pipeline.members[i].pidfd,
				       s->pipeline.members[i].pid, on_member_exit, s, NULL);
	if (r >= 0) {
		s->running = s->pipeline.n_members;
		r = col_loop_run(loop);
	}
	if (r < 0) {
		cli_error("event loop: %s", strerror(-r));
		col_pipeline_signal(&s->pipeline, SIGKILL);
		col_pipeline_wait(&s->pipeline, NULL);
		r = CLI_EXIT_FAILURE;
	}
	return r;
}

/* The loop, with the signals to forward: taken (blocked, pending) before
 * anything starts, so a SIGTERM that comes right after the start is
 * forwarded, not the death of collie that orphans the pipeline. */
static int signal_loop(struct run_state *s, struct col_loop **ret)
{
	int r = col_loop_new(ret);

	for (size_t i = 0; r >= 0 && i < COL_ARRAY_SIZE(forwarded_signals); i++)
		r = col_loop_add_signal(*ret, forwarded_signals[i], on_signal, s, NULL);
	if (r < 0)
		cli_error("event loop: %s", strerror(-r));
	return r;
}

static int run_text(const char *text, const char *origin, unsigned run_flags)
{
	struct col_cmdline *cl = NULL;
	struct col_cmdline_error perr;
	struct col_cmdline_run_opts ro = COL_CMDLINE_RUN_OPTS_INIT;
	struct col_cmdline_run_error rerr;
	struct run_state s = { .pipeline = COL_PIPELINE_INIT };
	struct col_loop *loop = NULL;
	int r;

	r = col_cmdline_parse(text, NULL, 0, &cl, &perr);
	if (r < 0) {
		cli_error("%s: %s", origin, perr.message);
		return CLI_EXIT_USAGE;
	}
	if (signal_loop(&s, &loop) < 0) {
		col_cmdline_free(cl);
		col_loop_free(loop);
		return CLI_EXIT_FAILURE;
	}
	ro.flags = run_flags;
	r = col_cmdline_start(cl, &ro, &s.pipeline, &rerr);
	col_cmdline_free(cl);
	if (r < 0) {
		cli_error("%s", rerr.message);
		col_loop_free(loop);
		return cli_start_exit_code(r, rerr.step == COL_SPAWN_STEP_EXEC);
	}
	r = supervise(&s, loop);
	col_loop_free(loop);
	col_pipeline_release(&s.pipeline);
	return r;
}

static void run_usage(void)
{
	fputs("usage: collie run [--pipefail] [--] COMMAND-LINE\n"
	      "       collie run [--pipefail] --file FILE\n",
	      stderr);
}

int cli_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pipefail", no_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	unsigned flags = 0;
	char *text;
	int c, r;

	while ((c = getopt_long(argc, argv, "+f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			flags |= COL_CMDLINE_PIPEFAIL;
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			run_usage();
			return CLI_EXIT_OK;
		default:
			run_usage();
			return CLI_EXIT_USAGE;
		}
	}
	if ((file && optind != argc) || (!file && optind != argc - 1)) {
		cli_error(file ? "run: --file takes no command line as well"
			       : "run: expected one COMMAND-LINE argument (quote it)");
		run_usage();
		return CLI_EXIT_USAGE;
	}
	if (!file)
		return run_text(argv[optind], "command line", flags);
	text = read_file(file, &r);
	if (!text)
		return r;
	r = run_text(text, file, flags);
	free(text);
	return r;
}
