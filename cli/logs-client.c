/*
 * logs-client.c - `collie logs [-f] [-n N] [NAME...]` and `collie logs
 * --reopen`: the client side of the control socket's `logs` and `reopen`
 * commands (docs/protocol.md; the server is control-logs.c).
 *
 * Decisions that are not obvious:
 *  - The supervisor names the files and the client reads them (logs.h
 *    says why): path.N (oldest) .. path.1, then path, which is read only
 *    up to the size the supervisor gave, so with -f a line is either read
 *    from the file or pushed afterwards, never both (control-logs.c). The
 *    file is recognised by its inode: if collie rotated it meanwhile, it
 *    is found again among the backups, and the newer files are left to
 *    the pushed lines.
 *  - -n N reads backwards from the end, 64 KiB at a time, until it has
 *    seen N line ends: a 1 GB log costs what its last N lines cost.
 *  - With -f, the messages pushed while the kept lines are printed are
 *    read into memory as they come (up to the reply limit), so the
 *    supervisor does not drop lines because a long history is being
 *    printed; they are printed after it.
 *  - Several processes are shown one after the other (each its files,
 *    then its in-memory tail), not merged by time: timestamps are
 *    optional, and merging "all of it" would mean parsing every line of
 *    every file. With -f the lines that follow are in the order the
 *    supervisor read them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collie/fd.h"
#include "cli.h"
#include "client.h"
#include "banned.h"

#define CHUNK (64 * 1024)

/* How lines are printed. */
struct out {
	struct client *cl;
	bool prefix;  /* "NAME | " before each line: more than one process */
	int width;    /* the longest name */
	bool follow;  /* read what is pushed while printing */
	bool failed;  /* something kept could not be read */
	json_t *seen; /* paths printed already (two streams, one file) */
};

/* One file of a log and how much of it to read: [0, end). */
struct seg {
	int fd;
	uint64_t end;
};

/* Read what has come on the socket, without waiting, into cl->buf. */
static void pump(struct client *cl)
{
	for (;;) {
		ssize_t n;

		if (cl->n_buf == cl->cap_buf) {
			size_t cap = cl->cap_buf ? cl->cap_buf * 2 : 65536;
			char *b = cap <= MAX_REPLY_SIZE ? realloc(cl->buf, cap) : NULL;

			if (!b)
				return; /* the supervisor keeps the rest, then drops and counts */
			cl->buf = b;
			cl->cap_buf = cap;
		}
		n = recv(cl->fd, cl->buf + cl->n_buf, cl->cap_buf - cl->n_buf, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nothing now, EOF or an error: the follow loop sees it */
		cl->n_buf += (size_t)n;
	}
}

static void put_line(const struct out *o, const char *name, const char *text, size_t len)
{
	if (o->prefix)
		printf("%-*s | ", o->width, name);
	fwrite(text, 1, len, stdout);
	putchar('\n');
}

/* Print p[0 .. n), a piece of a file; *bol: at the start of a line. */
static void put_chunk(const struct out *o, const char *name, const char *p, size_t n, bool *bol)
{
	const char *end = p + n;

	if (!n)
		return;
	if (!o->prefix) {
		fwrite(p, 1, n, stdout);
	} else {
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *e = nl ? nl + 1 : end;

			if (*bol)
				printf("%-*s | ", o->width, name);
			fwrite(p, 1, (size_t)(e - p), stdout);
			*bol = nl != NULL;
			p = e;
		}
	}
	*bol = end[-1] == '\n';
}

/* pread all of n bytes at off, unless the file is shorter. Bytes, or -errno. */
static ssize_t read_at(int fd, char *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Where the last n lines of segs[0 .. k) start: *ret_i, *ret_off. */
static void find_tail(const struct seg *segs, size_t k, long n, size_t *ret_i, uint64_t *ret_off)
{
	char buf[CHUNK];
	bool last = true; /* the last byte of all: its '\n' ends the last line */
	long found = 0;

	*ret_i = k - 1;
	*ret_off = segs[k - 1].end;
	if (n == 0)
		return;
	for (size_t i = k; i-- > 0;) {
		for (uint64_t end = segs[i].end; end > 0;) {
			size_t want = end < CHUNK ? (size_t)end : CHUNK;
			ssize_t got = read_at(segs[i].fd, buf, want, end - want);

			if (got != (ssize_t)want)
				break; /* it shrank: take it from here */
			for (size_t j = want; j-- > 0;) {
				bool nl = buf[j] == '\n';

				if (nl && !last && ++found == n) {
					*ret_i = i;
					*ret_off = end - want + j + 1;
					return;
				}
				last = false;
			}
			end -= want;
		}
	}
	*ret_i = 0;
	*ret_off = 0;
}

static void print_from(struct out *o, const char *name, const struct seg *segs, size_t k, size_t i0,
		       uint64_t off)
{
	char *buf = malloc(CHUNK);
	bool bol = true;

	if (!buf) {
		cli_error("logs: %s", strerror(ENOMEM));
		o->failed = true;
		return;
	}
	for (size_t i = i0; i < k; i++, off = 0) {
		while (off < segs[i].end) {
			uint64_t left = segs[i].end - off;
			ssize_t got =
				read_at(segs[i].fd, buf, left < CHUNK ? (size_t)left : CHUNK, off);

			if (got <= 0)
				break;
			put_chunk(o, name, buf, (size_t)got, &bol);
			off += (uint64_t)got;
			if (o->follow)
				pump(o->cl);
		}
		if (!bol) { /* a file that ends inside a line */
			putchar('\n');
			bol = true;
		}
	}
	free(buf);
}

/* Open path.backups .. path.1, path; keep the one that is (dev, ino) up
 * to size, and the older ones whole. The count in *ret, or -1. */
static ssize_t open_log(const char *path, int backups, uint64_t dev, uint64_t ino, uint64_t size,
			struct seg **ret)
{
	struct seg *segs = calloc((size_t)backups + 1, sizeof(*segs));
	size_t n = strlen(path) + 16, k = 0;
	char *name = malloc(n);
	ssize_t r = -1;

	for (int i = backups; segs && name && i >= 0; i--) {
		struct stat st;
		int fd;

		snprintf(name, n, i ? "%s.%d" : "%s", path, i);
		fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			col_close(fd);
			continue;
		}
		segs[k++] = (struct seg){ .fd = fd, .end = (uint64_t)st.st_size };
		if ((uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino) {
			if (size < segs[k - 1].end)
				segs[k - 1].end = size;
			r = (ssize_t)k; /* what is newer came after: it is followed */
			break;
		}
	}
	for (size_t i = r < 0 ? 0 : (size_t)r; segs && i < k; i++)
		col_close(segs[i].fd);
	free(name);
	if (r < 0)
		free(segs);
	else
		*ret = segs;
	return r;
}

/* Print the lines kept in one log file (and its backups) and what it
 * still holds, the last o->cl->lines of them with -n. */
static void print_file(struct out *o, const char *name, json_t *f)
{
	const char *path = json_string_value(json_object_get(f, "file"));
	const char *error = json_string_value(json_object_get(f, "error"));
	json_t *held = json_object_get(f, "held"), *ino = json_object_get(f, "ino"), *h;
	long want = o->cl->lines;
	size_t n_held = json_array_size(held), i, skip = 0;
	struct seg *segs;
	ssize_t k;

	if (want >= 0 && (size_t)want < n_held)
		skip = n_held - (size_t)want;
	if (error) {
		fflush(stdout);
		cli_error("logs: %s: %s cannot be written (%s): the supervisor holds its new "
			  "lines until it can",
			  name, path, error);
	}
	if (!ino) {
		o->failed = o->failed || !error;
	} else if ((k = open_log(path, (int)json_integer_value(json_object_get(f, "backups")),
				 (uint64_t)json_integer_value(json_object_get(f, "dev")),
				 (uint64_t)json_integer_value(ino),
				 (uint64_t)json_integer_value(json_object_get(f, "size")), &segs)) <
		   0) {
		fflush(stdout);
		cli_error("logs: %s: %s is not the file collie writes any more (renamed or removed "
			  "by hand? after renaming, run 'collie logs --reopen')",
			  name, path);
		o->failed = true;
	} else {
		size_t i0 = 0;
		uint64_t off = 0;

		if (want >= 0)
			find_tail(segs, (size_t)k, skip ? 0 : want - (long)n_held, &i0, &off);
		print_from(o, name, segs, (size_t)k, i0, off);
		for (ssize_t j = 0; j < k; j++)
			col_close(segs[j].fd);
		free(segs);
	}
	json_array_foreach (held, i, h)
		if (i >= skip)
			put_line(o, name, json_string_value(h), json_string_length(h));
}

/* One process: its files, then its in-memory tail. */
static void print_process(struct out *o, json_t *p)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	json_t *files = json_object_get(p, "files"), *tail = json_object_get(p, "tail"), *f;
	size_t i, j;

	json_array_foreach (files, i, f) {
		json_t *path = json_object_get(f, "file"), *s;
		bool dup = false;

		json_array_foreach (o->seen, j, s)
			dup = dup || json_equal(s, path);
		if (dup)
			continue;
		json_array_append(o->seen, path);
		print_file(o, name, f);
	}
	json_array_foreach (tail, i, f) {
		json_t *line = json_object_get(f, "line");

		put_line(o, name, json_string_value(line), json_string_length(line));
	}
	if (!json_array_size(files) && !tail) {
		fflush(stdout);
		cli_error("logs: %s: nothing of its output is kept", name);
	}
}

/* Print what is pushed until the supervisor exits. An exit status. */
static int follow_lines(struct out *o)
{
	struct client *cl = o->cl;
	bool exited = false;
	json_t *m;
	int r;

	for (;;) {
		const char *event;

		if (!cl->n_buf || !memchr(cl->buf, '\n', cl->n_buf))
			fflush(stdout); /* what came is out before we wait */
		r = client_read_reply(cl, &m);
		if (r <= 0)
			break;
		event = json_string_value(json_object_get(m, "event"));
		if (event && strcmp(event, "line") == 0) {
			json_t *line = json_object_get(m, "line");

			put_line(o, json_string_value(json_object_get(m, "name")),
				 json_string_value(line), json_string_length(line));
		} else if (event && strcmp(event, "dropped") == 0) {
			char note[128];
			int n = snprintf(
				note, sizeof(note),
				"[collie] %lld lines dropped: this reader did not keep up",
				(long long)json_integer_value(json_object_get(m, "lines")));

			put_line(o, "collie", note, (size_t)n);
		} else if (event && strcmp(event, "exit") == 0) {
			exited = true;
		}
		json_decref(m);
	}
	fflush(stdout);
	if (r < 0)
		return CLI_EXIT_FAILURE;
	if (!exited) {
		cli_error("logs: the connection to the supervisor was lost");
		return CLI_EXIT_FAILURE;
	}
	cli_error("logs: the supervisor has exited");
	return o->failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

int client_logs(struct client *cl, bool follow, int argc, char **argv)
{
	json_t *args = client_names_args(argc, argv), *reply, *procs, *p;
	struct out o = { .cl = cl, .follow = follow, .seen = json_array() };
	int r = CLI_EXIT_OK;
	size_t i;

	json_object_set_new(args, "follow", json_boolean(follow));
	if (cl->lines >= 0)
		json_object_set_new(args, "lines", json_integer(cl->lines));
	if (client_call(cl, args, &reply) < 0) {
		json_decref(o.seen);
		return CLI_EXIT_FAILURE;
	}
	procs = json_object_get(reply, "processes");
	if (!json_is_true(json_object_get(reply, "ok")) || !json_is_array(procs)) {
		client_report_error(cl, reply);
		json_decref(reply);
		json_decref(o.seen);
		return CLI_EXIT_FAILURE;
	}
	o.prefix = json_array_size(procs) > 1;
	json_array_foreach (procs, i, p) {
		int w = (int)strlen(json_string_value(json_object_get(p, "name")));

		o.width = w > o.width ? w : o.width;
	}
	json_array_foreach (procs, i, p)
		print_process(&o, p);
	if (follow)
		r = follow_lines(&o);
	else if (o.failed)
		r = CLI_EXIT_FAILURE;
	fflush(stdout);
	json_decref(reply);
	json_decref(o.seen);
	return r;
}

int client_logs_reopen(struct client *cl)
{
	json_t *reply, *f;
	json_int_t n;
	size_t i;
	int ok;

	cl->cmd = "reopen";
	if (client_call(cl, NULL, &reply) < 0)
		return CLI_EXIT_FAILURE;
	ok = json_is_true(json_object_get(reply, "ok"));
	n = json_integer_value(json_object_get(reply, "reopened"));
	if (json_object_get(reply, "reopened"))
		printf("reopened %lld log file%s\n", (long long)n, n == 1 ? "" : "s");
	fflush(stdout);
	json_array_foreach (json_object_get(reply, "failed"), i, f)
		cli_error("logs --reopen: %s: %s", json_string_value(json_object_get(f, "file")),
			  json_string_value(json_object_get(f, "error")));
	if (!ok)
		client_report_error(cl, reply);
	json_decref(reply);
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}
