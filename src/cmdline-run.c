/*
 * cmdline-run.c - running a parsed pipeline: one col_spawn_start() per
 * command, one process group, pipes between them, redirections applied
 * left to right; then collecting the statuses.
 *
 * Decisions that are not obvious:
 *  - Redirections are resolved in the parent into a table "child fd ->
 *    parent fd" before each spawn, starting from what the pipe and the
 *    pipeline's stdio give, then applying each redirection in order: N>f
 *    puts a newly opened file in slot N, N>&M copies slot M into slot N.
 *    This is sh's left-to-right semantics without any dup2 in the
 *    parent, and col_spawn_start() places the table exactly (it copes with
 *    sources that cross targets, such as 3>&1 1>&2 2>&3).
 *  - A slot holds a parent fd, or -1 for /dev/null: COL_STDIO_INHERIT of
 *    fd i becomes parent fd i when it is open (as spawn would do), so a
 *    copy of it to another slot is possible.
 *  - The commands join the first one's group while it is at worst an
 *    unreaped zombie, which still counts as a member for setpgid(2): we
 *    reap nothing before every command is started.
 *  - Each write end of a pipe is closed in the parent as soon as the
 *    command that writes to it has started, so the reader sees EOF when
 *    the writer exits, and nothing else holds it: every fd here is
 *    close-on-exec and spawn gives a child only its table.
 *  - If a command fails to start, those started before it are killed
 *    (through their pidfds, and the whole group when it is ours, which
 *    is safe from recycling because the leader is not yet reaped) and
 *    reaped, so a failed start leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "collie/cmdline.h"
#include "collie/fd.h"
#include "collie/reap.h"
#include "collie/spawn.h"
#include "banned.h"

/* The f_type of an anonymous pipe (linux/magic.h, which musl lacks). */
#define PIPEFS_MAGIC 0x50495045

/* A slot of the fd table not set by anything (only past fd 2). */
#define SLOT_UNSET (-2)
/* A slot that is /dev/null. */
#define SLOT_DEVNULL (-1)
#define N_SLOTS (COL_CMDLINE_FD_MAX + 1)

/* The state of one col_cmdline_start(). */
struct run {
	const struct col_cmdline *cl;
	struct col_spawn_opts base;	  /* the caller's template, or the defaults */
	int stdio[3];			  /* the pipeline's stdio as slots */
	int pipe_child_end[3];		  /* for a COL_STDIO_PIPE: the child's end, owned */
	int dirfd;			  /* base.cwd opened O_PATH, or AT_FDCWD; owned */
	int devnull;			  /* /dev/null for slots past 2, opened on demand; owned */
	int pipe_in;			  /* read end of the pipe into the next command; owned */
	const struct col_cmdline_fd *fds; /* the caller's extra fds (borrowed) */
	size_t n_fds;
	int fds_top;		/* the highest extra target, or 2 */
	mode_t mode;		/* creation mode of redirected files */
	struct col_pipeline pl; /* what is started so far */
	struct col_cmdline_run_error *err;
};

/* One command's fd table and the files opened for it. */
struct table {
	int slot[N_SLOTS];
	int n_slots;
	int opened[N_SLOTS]; /* files opened for this command, owned */
	int n_opened;
};

__attribute__((format(printf, 5, 6))) static int
run_fail(struct run *r, size_t i, enum col_spawn_step step, int err, const char *fmt, ...)
{
	struct col_cmdline_run_error *e = r->err;
	size_t n = 0;
	va_list ap;

	if (!e)
		return -err;
	e->command = i;
	e->step = step;
	e->error = err;
	if (i != SIZE_MAX)
		n = (size_t)snprintf(e->message, sizeof(e->message),
				     "command %zu of %zu (%s): ", i + 1, r->cl->n_cmds,
				     r->cl->cmds[i].argv[0]);
	if (n >= sizeof(e->message))
		n = sizeof(e->message) - 1;
	va_start(ap, fmt);
	vsnprintf(e->message + n, sizeof(e->message) - n, fmt, ap);
	va_end(ap);
	return -err;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* The caller's extra fds: targets 3..FD_MAX, each once, sources open. */
static int prepare_extra_fds(struct run *r, const struct col_cmdline_run_opts *o)
{
	r->fds = o->fds;
	r->n_fds = o->n_fds;
	r->fds_top = 2;
	if (o->n_fds && !o->fds)
		return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, EINVAL, "extra fds: NULL array");
	for (size_t i = 0; i < o->n_fds; i++) {
		const struct col_cmdline_fd *f = &o->fds[i];

		if (f->target < 3 || f->target > COL_CMDLINE_FD_MAX)
			return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, EINVAL,
					"extra fd target %d: must be 3 to %d", f->target,
					COL_CMDLINE_FD_MAX);
		for (size_t j = 0; j < i; j++)
			if (o->fds[j].target == f->target)
				return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, EINVAL,
						"extra fd target %d given twice", f->target);
		if (f->fd < 0 || !fd_is_open(f->fd))
			return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, EBADF,
					"extra fd for %d: fd %d is not open", f->target, f->fd);
		if (f->target > r->fds_top)
			r->fds_top = f->target;
	}
	return 0;
}

/*
 * The pipeline's stdio as slots. INHERIT is checked for every fd before
 * any pipe is made, since a pipe may take the number of a closed 0..2.
 */
static int prepare_stdio(struct run *r, const struct col_cmdline_run_opts *o)
{
	static const char *const names[] = { "stdin", "stdout", "stderr" };

	for (int i = 0; i < 3; i++) {
		const struct col_stdio *s = &o->stdio[i];

		if (s->kind == COL_STDIO_INHERIT)
			r->stdio[i] = fd_is_open(i) ? i : SLOT_DEVNULL;
		else if (s->kind == COL_STDIO_NULL)
			r->stdio[i] = SLOT_DEVNULL;
		else if (s->kind == COL_STDIO_FD && (s->fd < 0 || !fd_is_open(s->fd)))
			return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, EBADF,
					"the pipeline's %s: fd %d is not open", names[i], s->fd);
		else if (s->kind == COL_STDIO_FD)
			r->stdio[i] = s->fd;
		else if (s->kind != COL_STDIO_PIPE)
			return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, EINVAL,
					"the pipeline's %s: bad kind %d", names[i], (int)s->kind);
	}
	for (int i = 0; i < 3; i++) {
		int p[2];

		if (o->stdio[i].kind != COL_STDIO_PIPE)
			continue;
		if (pipe2(p, O_CLOEXEC) < 0)
			return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, errno,
					"pipe for the pipeline's %s: %s", names[i],
					strerror(errno));
		r->pl.stdio[i] = p[i == 0 ? 1 : 0];
		r->pipe_child_end[i] = r->stdio[i] = p[i == 0 ? 0 : 1];
	}
	return 0;
}

static int prepare(struct run *r, const struct col_cmdline_run_opts *o)
{
	const struct col_spawn_opts defaults = COL_SPAWN_OPTS_INIT;
	int err;

	r->base = o->base ? *o->base : defaults;
	if ((r->base.flags & COL_SPAWN_SETSID) && r->cl->n_cmds > 1)
		return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, EINVAL,
				"COL_SPAWN_SETSID is for a single command: the commands of a "
				"pipeline share one process group");
	r->mode = 0666;
	if (r->base.flags & COL_SPAWN_SET_UMASK)
		r->mode &= ~r->base.umask;
	r->pl.members = calloc(r->cl->n_cmds, sizeof(*r->pl.members));
	if (!r->pl.members)
		return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_NONE, ENOMEM, "out of memory");
	r->pl.flags = o->flags;
	err = prepare_extra_fds(r, o);
	if (err < 0)
		return err;
	err = prepare_stdio(r, o);
	if (err < 0)
		return err;
	if (r->base.cwd) {
		r->dirfd = open(r->base.cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (r->dirfd < 0)
			return run_fail(r, SIZE_MAX, COL_SPAWN_STEP_CWD, errno,
					"cannot open the directory %s: %s", r->base.cwd,
					strerror(errno));
	}
	return 0;
}

static const char *open_purpose(enum col_cmdline_redir_kind kind, int *flags)
{
	switch (kind) {
	case COL_CMDLINE_REDIR_READ:
		*flags = O_RDONLY;
		return "reading";
	case COL_CMDLINE_REDIR_WRITE:
		*flags = O_WRONLY | O_CREAT | O_TRUNC;
		return "writing";
	case COL_CMDLINE_REDIR_APPEND:
		*flags = O_WRONLY | O_CREAT | O_APPEND;
		return "appending";
	default:
		*flags = O_RDWR | O_CREAT;
		return "reading and writing";
	}
}

/*
 * Open a redirection's file. With COL_CMDLINE_NO_WAIT, without ever
 * waiting: the caller is an event loop (the supervisor), which open(2) of
 * a named FIFO would stop until the FIFO's other end is opened -- sh
 * waits in the child instead. So O_NONBLOCK, cleared again for the child:
 * a FIFO with no reader fails for writing (ENXIO); one opened for reading
 * only is refused (ENXIO), since whether it has a writer cannot be known
 * and the child would read EOF at once (<> never waits, and works as
 * before). Pipes reached through /proc/self/fd (/dev/stderr) are no named
 * FIFOs. Returns the fd or -errno.
 */
static int open_file(struct run *r, const char *path, int flags)
{
	bool no_wait = r->pl.flags & COL_CMDLINE_NO_WAIT;
	struct statfs sfs;
	struct stat st;
	int fd, err = 0;

	fd = openat(r->dirfd, path, flags | O_CLOEXEC | O_NOCTTY | (no_wait ? O_NONBLOCK : 0),
		    r->mode);
	if (fd < 0)
		return -errno;
	if (!no_wait)
		return fd;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		err = -errno;
	else if (S_ISFIFO(st.st_mode) && sfs.f_type != PIPEFS_MAGIC &&
		 (flags & O_ACCMODE) == O_RDONLY)
		err = -ENXIO;
	else
		err = col_fd_set_nonblock(fd, false);
	if (err < 0) {
		col_close(fd);
		return err;
	}
	return fd;
}

/* Why open_file() failed, for people. */
static const char *open_error(const struct run *r, int flags, int err)
{
	if (err != ENXIO || !(r->pl.flags & COL_CMDLINE_NO_WAIT))
		return strerror(err);
	if ((flags & O_ACCMODE) == O_RDONLY)
		return "a FIFO (collie opens redirections itself and cannot wait for a writer; "
		       "use sh -c '...' for that)";
	return "a FIFO with no reader (collie opens redirections itself and does not wait for "
	       "the other end)";
}

/* One redirection into the table: open its file, or copy a slot. */
static int apply_redir(struct run *r, size_t i, struct table *t, const struct col_cmdline_redir *rd)
{
	const char *purpose;
	int flags, fd;

	if (rd->fd < 0 || rd->fd > COL_CMDLINE_FD_MAX)
		return run_fail(r, i, COL_SPAWN_STEP_NONE, EINVAL, "bad fd %d", rd->fd);
	if (rd->kind == COL_CMDLINE_REDIR_DUP_READ || rd->kind == COL_CMDLINE_REDIR_DUP_WRITE) {
		if (rd->dup_fd < 0 || rd->dup_fd >= t->n_slots || t->slot[rd->dup_fd] == SLOT_UNSET)
			return run_fail(r, i, COL_SPAWN_STEP_NONE, EBADF, "fd %d is not open",
					rd->dup_fd);
		t->slot[rd->fd] = t->slot[rd->dup_fd];
	} else {
		purpose = open_purpose(rd->kind, &flags);
		fd = open_file(r, rd->path, flags);
		if (fd < 0)
			return run_fail(r, i, COL_SPAWN_STEP_NONE, -fd, "cannot open %s for %s: %s",
					rd->path, purpose, open_error(r, flags, -fd));
		t->opened[t->n_opened++] = fd;
		t->slot[rd->fd] = fd;
	}
	if (rd->fd >= t->n_slots)
		t->n_slots = rd->fd + 1;
	return 0;
}

/* Command i's table: the pipe ends and the pipeline's stdio, then its redirections. */
static int build_table(struct run *r, size_t i, int pipe_out, struct table *t)
{
	const struct col_cmdline_cmd *c = &r->cl->cmds[i];
	int err;

	t->slot[0] = i == 0 ? r->stdio[0] : r->pipe_in;
	t->slot[1] = pipe_out >= 0 ? pipe_out : r->stdio[1];
	t->slot[2] = r->stdio[2];
	for (int k = 3; k < N_SLOTS; k++)
		t->slot[k] = SLOT_UNSET;
	t->n_slots = r->fds_top + 1;
	for (size_t k = 0; k < r->n_fds; k++)
		t->slot[r->fds[k].target] = r->fds[k].fd;
	for (size_t k = 0; k < c->n_redirs; k++) {
		err = apply_redir(r, i, t, &c->redirs[k]);
		if (err < 0)
			return err;
	}
	for (int k = 3; k < t->n_slots; k++) {
		if (t->slot[k] == SLOT_UNSET && k < r->fds_top)
			t->slot[k] = SLOT_DEVNULL; /* a gap below the caller's extra fds */
		if (t->slot[k] == SLOT_UNSET)
			return run_fail(r, i, COL_SPAWN_STEP_NONE, EINVAL,
					"fd %d is not redirected: extra fds must be 3, 4, ...", k);
		if (t->slot[k] != SLOT_DEVNULL)
			continue;
		if (r->devnull < 0)
			r->devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (r->devnull < 0)
			return run_fail(r, i, COL_SPAWN_STEP_NONE, errno, "/dev/null: %s",
					strerror(errno));
		t->slot[k] = r->devnull;
	}
	return 0;
}

static size_t name_len(const char *assign)
{
	return strcspn(assign, "=") + 1; /* with the '=' */
}

/* Whether list (n entries) has an entry for the same name as s. */
static bool has_name(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(list[i], s, name_len(s)) == 0)
			return true;
	return false;
}

/*
 * The environment of a command with assignments: base without the names
 * assigned, then the assignments (the last one of a name wins). Only the
 * array is allocated; its strings are borrowed. NULL in *ret: use base.
 */
static int command_env(char *const *base, const struct col_cmdline_cmd *c, char ***ret)
{
	size_t n = 0, k = 0;
	char **env;

	*ret = NULL;
	if (c->n_assigns == 0)
		return 0;
	if (!base)
		base = environ;
	while (base[n])
		n++;
	env = calloc(n + c->n_assigns + 1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!has_name(c->assigns, c->n_assigns, base[i]))
			env[k++] = base[i];
	for (size_t i = 0; i < c->n_assigns; i++)
		if (!has_name(c->assigns + i + 1, c->n_assigns - i - 1, c->assigns[i]))
			env[k++] = c->assigns[i];
	*ret = env;
	return 0;
}

/* The spawn options of command i, from the template and its table. */
static void command_opts(const struct run *r, size_t i, const struct table *t,
			 struct col_spawn_opts *o)
{
	*o = r->base;
	o->path = NULL;
	o->argv = r->cl->cmds[i].argv;
	for (int k = 0; k < 3; k++) {
		o->stdio[k].kind = t->slot[k] == SLOT_DEVNULL ? COL_STDIO_NULL : COL_STDIO_FD;
		o->stdio[k].fd = t->slot[k];
	}
	o->fds = t->n_slots > 3 ? t->slot + 3 : NULL;
	o->n_fds = (size_t)t->n_slots - 3;
	o->flags |= COL_SPAWN_SEARCH_PATH;
	if (!(o->flags & COL_SPAWN_SETSID)) {
		/* The first command leads a new group or joins base's; the others join it. */
		if (i > 0)
			o->pgid = r->pl.pgid;
		else if (!(o->flags & COL_SPAWN_SETPGID))
			o->pgid = 0;
		o->flags |= COL_SPAWN_SETPGID;
	}
	if (i > 0)
		o->flags &= ~(unsigned)COL_SPAWN_FOREGROUND; /* the group already is */
}

static void table_release(struct table *t)
{
	for (int k = 0; k < t->n_opened; k++)
		col_close(t->opened[k]);
	t->n_opened = 0;
}

/* Start command i: its pipe out, its table, the spawn; the parent's ends close. */
static int start_command(struct run *r, size_t i, struct table *t)
{
	struct col_pipeline_member *m = &r->pl.members[i];
	struct col_child child = COL_CHILD_INIT;
	struct col_spawn_error serr = { 0 };
	struct col_spawn_opts o;
	int p[2] = { -1, -1 };
	char **env = NULL;
	int err;

	t->n_opened = 0;
	if (i + 1 < r->cl->n_cmds && pipe2(p, O_CLOEXEC) < 0) {
		err = run_fail(r, i, COL_SPAWN_STEP_NONE, errno, "pipe: %s", strerror(errno));
		goto out;
	}
	err = build_table(r, i, p[1], t);
	if (err < 0)
		goto out;
	err = command_env(r->base.envp, &r->cl->cmds[i], &env);
	if (err < 0) {
		err = run_fail(r, i, COL_SPAWN_STEP_NONE, -err, "%s", strerror(-err));
		goto out;
	}
	command_opts(r, i, t, &o);
	if (env)
		o.envp = env;
	err = col_spawn_start(&o, &child, &serr);
	if (err < 0) {
		err = run_fail(r, i, serr.step, -err, "%s: %s", col_spawn_step_name(serr.step),
			       strerror(-err));
		goto out;
	}
	m->pid = child.pid;
	m->pidfd = child.pidfd;
	if (i == 0)
		r->pl.pgid = (o.flags & COL_SPAWN_SETPGID) && o.pgid ? o.pgid : child.pid;
	r->pl.n_members++;
out:
	free(env);
	table_release(t);
	col_close(p[1]);
	r->pipe_in = col_close(r->pipe_in);
	r->pipe_in = p[0];
	return err;
}

/* Kill and reap what was started, close what was opened. */
static void abort_run(struct run *r)
{
	if (r->pl.own_group && r->pl.n_members > 0)
		killpg(r->pl.pgid, SIGKILL);
	for (size_t i = 0; i < r->pl.n_members; i++) {
		col_pidfd_signal(r->pl.members[i].pidfd, SIGKILL);
		col_reap_pidfd(r->pl.members[i].pidfd, 0, NULL);
	}
	col_pipeline_release(&r->pl);
}

int col_cmdline_start(const struct col_cmdline *cl, const struct col_cmdline_run_opts *opts,
		      struct col_pipeline *ret, struct col_cmdline_run_error *ret_err)
{
	struct run r = {
		.cl = cl,
		.stdio = { -1, -1, -1 },
		.pipe_child_end = { -1, -1, -1 },
		.dirfd = AT_FDCWD,
		.devnull = -1,
		.pipe_in = -1,
		.pl = COL_PIPELINE_INIT,
		.err = ret_err,
	};
	struct table *t = NULL;
	int err;

	if (!cl || cl->n_cmds == 0 || !opts || !ret ||
	    (opts->flags & ~(COL_CMDLINE_PIPEFAIL | COL_CMDLINE_NO_WAIT))) {
		r.cl = NULL;
		err = run_fail(&r, SIZE_MAX, COL_SPAWN_STEP_NONE, EINVAL, "invalid arguments");
		goto out;
	}
	err = prepare(&r, opts);
	if (err < 0)
		goto out;
	r.pl.own_group = !(r.base.flags & COL_SPAWN_SETPGID) || r.base.pgid == 0;
	t = malloc(sizeof(*t));
	if (!t) {
		err = run_fail(&r, SIZE_MAX, COL_SPAWN_STEP_NONE, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cl->n_cmds && err == 0; i++)
		err = start_command(&r, i, t);
out:
	free(t);
	r.pipe_in = col_close(r.pipe_in);
	for (int i = 0; i < 3; i++)
		col_close(r.pipe_child_end[i]);
	if (r.dirfd >= 0)
		col_close(r.dirfd);
	col_close(r.devnull);
	if (err < 0) {
		abort_run(&r);
		return err;
	}
	*ret = r.pl;
	return 0;
}

int col_pipeline_reap(struct col_pipeline *p, size_t i, unsigned flags)
{
	struct col_status st;
	int r;

	if (!p || i >= p->n_members)
		return -EINVAL;
	if (p->members[i].reaped)
		return 1;
	r = col_reap_pidfd(p->members[i].pidfd, flags, &st);
	if (r == 1) {
		p->members[i].status = st;
		p->members[i].reaped = true;
	}
	return r;
}

int col_pipeline_record(struct col_pipeline *p, const struct col_status *st)
{
	if (!p || !st)
		return -EINVAL;
	for (size_t i = 0; i < p->n_members; i++) {
		if (p->members[i].pid == st->pid && !p->members[i].reaped) {
			p->members[i].status = *st;
			p->members[i].reaped = true;
			return (int)i;
		}
	}
	return -ESRCH;
}

bool col_pipeline_done(const struct col_pipeline *p)
{
	for (size_t i = 0; p && i < p->n_members; i++)
		if (!p->members[i].reaped)
			return false;
	return true;
}

static bool failed(const struct col_status *st)
{
	return st->kind != COL_STATUS_EXITED || st->code != 0;
}

int col_pipeline_status(const struct col_pipeline *p, struct col_status *ret_status)
{
	size_t chosen;

	if (!p || !ret_status || p->n_members == 0)
		return -EINVAL;
	if (!col_pipeline_done(p))
		return -EAGAIN;
	chosen = p->n_members - 1;
	if (p->flags & COL_CMDLINE_PIPEFAIL)
		for (size_t i = p->n_members; i-- > 0;)
			if (failed(&p->members[i].status)) {
				chosen = i;
				break;
			}
	*ret_status = p->members[chosen].status;
	return 0;
}

int col_pipeline_wait(struct col_pipeline *p, struct col_status *ret_status)
{
	struct col_status st;
	int r;

	if (!p || p->n_members == 0)
		return -EINVAL;
	for (size_t i = 0; i < p->n_members; i++) {
		r = col_pipeline_reap(p, i, 0);
		if (r < 0)
			return r;
	}
	r = col_pipeline_status(p, &st);
	if (r == 0 && ret_status)
		*ret_status = st;
	return r;
}

int col_pipeline_signal(const struct col_pipeline *p, int signo)
{
	int first = 0, r;

	if (!p)
		return -EINVAL;
	if (col_pipeline_done(p))
		return -ESRCH;
	if (p->own_group)
		return killpg(p->pgid, signo) < 0 ? -errno : 0;
	for (size_t i = 0; i < p->n_members; i++) {
		if (p->members[i].reaped)
			continue;
		r = col_pidfd_signal(p->members[i].pidfd, signo);
		if (r < 0 && r != -ESRCH && first == 0)
			first = r;
	}
	return first;
}

void col_pipeline_release(struct col_pipeline *p)
{
	const struct col_pipeline init = COL_PIPELINE_INIT;

	if (!p)
		return;
	for (size_t i = 0; i < p->n_members; i++)
		col_close(p->members[i].pidfd);
	for (int i = 0; i < 3; i++)
		col_close(p->stdio[i]);
	free(p->members);
	*p = init;
}
