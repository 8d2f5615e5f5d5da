/*
 * cgroup.c - the supervisor's cgroup v2 tree: one directory per instance,
 * watched for "empty", killed as a whole (see cgroup.h).
 *
 * Decisions that are not obvious:
 *  - Where: the cgroup2 mount is found in /proc/self/mountinfo (hybrid
 *    layouts mount it at /sys/fs/cgroup/unified, pure v2 at
 *    /sys/fs/cgroup) and collie's own cgroup in the "0::" line of
 *    /proc/self/cgroup; nothing is hard-coded. The tree goes under
 *    collie's own cgroup, the only place it may have been delegated.
 *  - Empty is watched with one inotify fd for all instances: the kernel
 *    signals a change of "populated" in cgroup.events as a modification
 *    of that file, so the loop wakes when it happens, never to look.
 *  - Signalling a listed pid: cgroup.procs is a snapshot, and a pid in it
 *    may exit and be recycled before we act. So a pidfd is opened first,
 *    then /proc/PID/cgroup is checked to name our cgroup, and the signal
 *    goes through the pidfd: if the signal is delivered, the process was
 *    alive all along, so it is the one /proc described.
 *  - Killing: cgroup.kill (Linux 5.14) kills the whole subtree at once,
 *    also what is forking at that moment. Before it, each listed process
 *    gets SIGKILL, again while new pids show up (a fork in flight).
 *  - Whose is a tree: a collie holds flock(LOCK_EX) on its tree's
 *    directory for as long as it runs, so a collie-* directory nobody
 *    holds a lock on was left by a collie that died. A pid would not do:
 *    collies in other PID namespaces (containers sharing a cgroup) see
 *    other numbers, and would end each other's programs. Making a tree
 *    and locking it, and looking for stale ones, happen under a lock on
 *    the parent directory, so a tree is never seen before it is locked.
 *  - Names: an instance name may hold any byte; everything but
 *    [A-Za-z0-9_-] is written %XX, which keeps names apart and keeps
 *    them off the "controller.file" names the kernel uses (they all have
 *    a dot).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collie/fd.h"
#include "collie/sig.h"
#include "collie/spawn.h"
#include "cgroup.h"
#include "banned.h"

/* At exit, how long the killed processes get to be gone. */
#define EMPTY_WAIT_USEC (5 * COL_USEC_PER_SEC)
#define KILL_PASSES 8

struct cgroup {
	struct cgroups *cgs;
	struct cgroup *next;
	char *name; /* escaped: the directory's name */
	char *rel;  /* path from the cgroup2 root, as /proc/PID/cgroup says it */
	int dirfd;  /* O_PATH */
	int wd;	    /* inotify watch on cgroup.events, or -1 */
	cgroup_empty_fn *on_empty;
	void *data;
};

struct cgroups {
	struct col_loop *loop;
	char *rel;   /* of the tree's root: <own>/collie-<pid> */
	char *path;  /* its absolute path */
	int dirfd;   /* O_PATH */
	int lockfd;  /* the same, read-only, flock()ed while collie runs */
	int inotify; /* one watch per instance's cgroup.events */
	struct col_source *src;
	struct cgroup *list;
};

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

/* The cgroup2 mount: its mount point and the cgroup path it shows. */
static bool find_mount(char *mnt, size_t len, char *root, size_t rlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], m[4096], r[4096], type[64];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep, " - %63s", type) != 1 || strcmp(type, "cgroup2") != 0 ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
			continue;
		unescape_octal(m);
		unescape_octal(r);
		found = snprintf(mnt, len, "%s", m) < (int)len &&
			snprintf(root, rlen, "%s", r) < (int)rlen;
	}
	fclose(f);
	return found;
}

/* Our own cgroup2 path: the "0::" line of /proc/self/cgroup. */
static bool own_cgroup(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = 0;
		found = snprintf(buf, len, "%s", line + 3) < (int)len;
	}
	fclose(f);
	return found;
}

/* path joined: a + "/" + b, without a double slash after "/". */
static char *join(const char *a, const char *b)
{
	size_t n = strlen(a);
	char *s = malloc(n + strlen(b) + 2);

	if (s)
		snprintf(s, n + strlen(b) + 2, "%s%s%s", a, n && a[n - 1] == '/' ? "" : "/", b);
	return s;
}

static int write_file(int dirfd, const char *file, const char *text)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (col_fd_write_all(fd, text, strlen(text)) < 0)
		r = -errno;
	col_close(fd);
	return r;
}

/* Read a whole small kernel file into a malloc'd string (NULL on error). */
static char *read_file(int dirfd, const char *file)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, len = 0;
	char *buf = NULL, *p;
	ssize_t n;

	if (fd < 0)
		return NULL;
	for (;;) {
		if (!(p = realloc(buf, cap + 1)))
			break;
		buf = p;
		n = col_fd_read(fd, buf + len, cap - len);
		if (n <= 0) {
			if (n < 0)
				break;
			buf[len] = 0;
			col_close(fd);
			return buf;
		}
		len += (size_t)n;
		if (len == cap)
			cap *= 2;
	}
	free(buf);
	col_close(fd);
	return NULL;
}

static bool dir_populated(int dirfd)
{
	char *ev = read_file(dirfd, "cgroup.events");
	bool populated = !ev || !strstr(ev, "populated 0");

	free(ev);
	return populated;
}

/* Whether the process behind pidfd/pid is in the cgroup rel (see top). */
static bool pid_in(pid_t pid, const char *rel)
{
	char path[64], line[4096];
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (!(f = fopen(path, "re")))
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			in = strcmp(line + 3, rel) == 0;
			break;
		}
	}
	fclose(f);
	return in;
}

/* Whether pid is one of the lines of list ("12\n345\n"). */
static bool listed(const char *list, long pid)
{
	char *end;

	for (const char *s = list; s && *s; s = end) {
		long v = strtol(s, &end, 10);

		if (end == s)
			break;
		if (v == pid)
			return true;
	}
	return false;
}

/*
 * Signal each process listed in dirfd's cgroup.procs (rel: its path) and
 * return how many were signalled, or -errno. With prev: *prev is the
 * previous pass's list, replaced by this one, and the count is of the
 * processes that were not in it.
 */
static int signal_listed(int dirfd, const char *rel, int sig, const char *who, char **prev)
{
	char *procs = read_file(dirfd, "cgroup.procs"), *s, *end;
	char name[32];
	int n = 0;

	if (!procs)
		return -EIO;
	col_signal_format(sig, name, sizeof(name));
	for (s = procs; *s; s = end) {
		long pid = strtol(s, &end, 10);
		int pidfd;

		if (end == s)
			break;
		if (pid <= 0 || col_pidfd_open((pid_t)pid, &pidfd) < 0)
			continue;
		if (pid_in((pid_t)pid, rel) && col_pidfd_signal(pidfd, sig) == 0) {
			if (!prev || !listed(*prev, pid))
				n++;
			if (who)
				fprintf(stderr, "collie: %s: sending %s to leftover process %ld\n",
					who, name, pid);
		}
		col_close(pidfd);
	}
	if (prev) {
		free(*prev);
		*prev = procs;
	} else {
		free(procs);
	}
	return n;
}

/* SIGKILL a cgroup's subtree: cgroup.kill, else pass after pass. */
static int kill_dir(int dirfd, const char *rel)
{
	char *prev = NULL;
	int r = write_file(dirfd, "cgroup.kill", "1");

	if (r != -ENOENT)
		return r;
	for (int i = 0; i < KILL_PASSES; i++) {
		r = signal_listed(dirfd, rel, SIGKILL, NULL, &prev);
		if (r <= 0)
			break;
	}
	free(prev);
	return r < 0 ? r : 0;
}

/* Wait until dirfd's cgroup is empty, at most until deadline: the kernel
 * wakes poll() with POLLPRI when cgroup.events changes after our last
 * read of it. */
static bool wait_empty(int dirfd, uint64_t deadline)
{
	int fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	bool empty = false;
	char buf[256];

	while (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		uint64_t now = col_now();

		if (n < 0)
			break;
		buf[n] = 0;
		empty = strstr(buf, "populated 0") != NULL;
		if (empty || now >= deadline)
			break;
		if (poll(&p, 1, (int)((deadline - now + 999) / 1000)) < 0 && errno != EINTR)
			break;
	}
	col_close(fd);
	return empty;
}

/* Empty and remove the cgroup `name` under parent (rel: its path), its
 * sub-cgroups first. 0 or -errno (-EBUSY: a process outlived deadline). */
static int remove_tree(int parent, const char *name, const char *rel, uint64_t deadline)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	kill_dir(fd, rel);
	if (!(d = fdopendir(fd))) {
		col_close(fd);
		return -ENOMEM;
	}
	while ((e = readdir(d))) {
		char *sub;

		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 || !(sub = join(rel, e->d_name)))
			continue;
		remove_tree(dirfd(d), e->d_name, sub, deadline);
		free(sub);
	}
	wait_empty(dirfd(d), deadline);
	closedir(d);
	return unlinkat(parent, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* A collie-* tree beside ours that no collie holds locked: its collie
 * crashed or was SIGKILLed, and what it ran is unsupervised: end it and
 * remove it. The caller holds the parent's lock. */
static void remove_stale(int ownfd, const char *own)
{
	int fd = fcntl(ownfd, F_DUPFD_CLOEXEC, 0);
	struct dirent *e;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		col_close(fd);
		return;
	}
	while ((e = readdir(d))) {
		char *rel;
		int lock, r;

		if (strncmp(e->d_name, "collie-", 7) != 0 || e->d_type != DT_DIR)
			continue;
		lock = openat(ownfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0 || !(rel = join(own, e->d_name))) {
			col_close(lock); /* in use (EWOULDBLOCK), or gone */
			continue;
		}
		fprintf(stderr, "collie: removing cgroup %s, left by a collie that is gone\n", rel);
		r = remove_tree(ownfd, e->d_name, rel, col_now() + EMPTY_WAIT_USEC);
		if (r < 0)
			fprintf(stderr, "collie: cannot remove cgroup %s: %s\n", rel, strerror(-r));
		free(rel);
		col_close(lock);
	}
	closedir(d);
}

/* Make our tree, locked, named collie-PID (or collie-PID-N when a collie
 * of another PID namespace has that name). 0 and *ret_lock, or -errno. */
static int make_tree(int ownfd, char *name, size_t len, int *ret_lock)
{
	int r = -EEXIST;

	for (int i = 1; r == -EEXIST && i <= 8; i++) {
		if (i == 1)
			snprintf(name, len, "collie-%d", (int)getpid());
		else
			snprintf(name, len, "collie-%d-%d", (int)getpid(), i);
		r = mkdirat(ownfd, name, 0755) < 0 ? -errno : 0;
	}
	if (r < 0)
		return r;
	*ret_lock = openat(ownfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*ret_lock < 0 || flock(*ret_lock, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		col_close(*ret_lock);
		unlinkat(ownfd, name, AT_REMOVEDIR);
		return r;
	}
	return 0;
}

static struct cgroup *find_wd(struct cgroups *cgs, int wd)
{
	for (struct cgroup *cg = cgs->list; cg; cg = cg->next)
		if (cg->wd == wd)
			return cg;
	return NULL;
}

/* cgroup.events changed somewhere: tell the owner of each that is empty. */
static void on_inotify(struct col_source *src, int fd, uint32_t events, void *data)
{
	struct cgroups *cgs = data;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = col_fd_read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			struct cgroup *cg = find_wd(cgs, ev->wd);

			p += sizeof(*ev) + ev->len;
			if (cg && (ev->mask & IN_MODIFY) && cg->on_empty && !cgroup_populated(cg))
				cg->on_empty(cg, cg->data);
		}
	}
}

/* Find the cgroup2 directory collie runs in; "" in why when found. */
static char *own_dir(char *rel, size_t rlen, char *why, size_t len)
{
	char mnt[4096], root[4096];
	const char *sub = rel;
	size_t n;

	if (!find_mount(mnt, sizeof(mnt), root, sizeof(root))) {
		snprintf(why, len, "no cgroup2 file system is mounted");
		return NULL;
	}
	if (!own_cgroup(rel, rlen)) {
		snprintf(why, len, "no cgroup v2 line in /proc/self/cgroup");
		return NULL;
	}
	/* A mount of a subtree (its root is not "/") shows what is below it. */
	n = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(rel, root, n) != 0 || (rel[n] && rel[n] != '/')) {
		snprintf(why, len, "collie's cgroup %s is not under the cgroup2 mount %s", rel,
			 mnt);
		return NULL;
	}
	sub += n;
	return join(mnt, *sub ? sub : "/");
}

int cgroups_new(struct col_loop *loop, struct cgroups **ret, char *why, size_t len)
{
	char own[4096], name[48];
	struct cgroups *cgs = NULL;
	char *ownpath = own_dir(own, sizeof(own), why, len);
	int ownfd = -1, lock = -1, r = 0;

	*ret = NULL;
	if (!ownpath)
		return 0;
	ownfd = open(ownpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ownfd < 0 || flock(ownfd, LOCK_EX) < 0) {
		snprintf(why, len, "cannot open %s: %s", ownpath, strerror(errno));
		goto out;
	}
	remove_stale(ownfd, own);
	r = make_tree(ownfd, name, sizeof(name), &lock);
	if (r < 0) {
		snprintf(why, len, "cannot make a cgroup in %s: %s", ownpath, strerror(-r));
		r = 0;
		goto out;
	}
	r = -ENOMEM;
	if (!(cgs = calloc(1, sizeof(*cgs))))
		goto fail;
	cgs->loop = loop;
	cgs->lockfd = lock;
	lock = -1;
	cgs->dirfd = cgs->inotify = -1;
	cgs->rel = join(own, name);
	cgs->path = join(ownpath, name);
	if (!cgs->rel || !cgs->path)
		goto fail;
	cgs->dirfd = openat(ownfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cgs->inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (cgs->dirfd < 0 || cgs->inotify < 0) {
		r = -errno;
		goto fail;
	}
	r = col_loop_add_fd(loop, cgs->inotify, EPOLLIN, on_inotify, cgs, &cgs->src);
	if (r < 0)
		goto fail;
	*ret = cgs;
	goto out;
fail:
	cgroups_free(cgs);
	unlinkat(ownfd, name, AT_REMOVEDIR); /* if cgroups_free() could not */
out:
	col_close(lock);
	col_close(ownfd); /* and with it the parent's lock */
	free(ownpath);
	return r;
}

void cgroups_free(struct cgroups *cgs)
{
	uint64_t deadline = col_now() + EMPTY_WAIT_USEC;
	int r;

	if (!cgs)
		return;
	while (cgs->list)
		cgroup_free(cgs->list);
	col_source_free(cgs->src);
	col_close(cgs->inotify);
	col_close(cgs->dirfd);
	if (cgs->path) {
		/* Through the parent: what is left of the tree, ours or not. */
		char *slash = strrchr(cgs->path, '/');
		int parent;

		*slash = 0;
		parent = open(*cgs->path ? cgs->path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = parent < 0 ? -errno : remove_tree(parent, slash + 1, cgs->rel, deadline);
		*slash = '/';
		if (r < 0)
			fprintf(stderr, "collie: cannot remove cgroup %s: %s\n", cgs->path,
				strerror(-r));
		col_close(parent);
	}
	col_close(cgs->lockfd); /* after the removal: never seen stale while it runs */
	free(cgs->rel);
	free(cgs->path);
	free(cgs);
}

/* The directory name of an instance: [A-Za-z0-9_-] kept, the rest %XX. */
static int escape_name(const char *name, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;

	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			     (*s >= '0' && *s <= '9') || *s == '_' || *s == '-';

		if (k + 4 > len)
			return -ENAMETOOLONG;
		if (plain) {
			buf[k++] = (char)*s;
		} else {
			buf[k++] = '%';
			buf[k++] = hex[*s >> 4];
			buf[k++] = hex[*s & 15];
		}
	}
	buf[k] = 0;
	return k ? 0 : -EINVAL;
}

int cgroup_new(struct cgroups *cgs, const char *name, cgroup_empty_fn *on_empty, void *data,
	       struct cgroup **ret)
{
	char esc[NAME_MAX + 1], *events = NULL;
	struct cgroup *cg;
	int r = escape_name(name, esc, sizeof(esc));

	if (r < 0)
		return r;
	if (mkdirat(cgs->dirfd, esc, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (!(cg = calloc(1, sizeof(*cg))))
		return -ENOMEM;
	cg->cgs = cgs;
	cg->wd = -1;
	cg->on_empty = on_empty;
	cg->data = data;
	cg->name = strdup(esc);
	cg->rel = join(cgs->rel, esc);
	cg->dirfd = openat(cgs->dirfd, esc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = -ENOMEM;
	if (!cg->name || !cg->rel || !(events = malloc(strlen(cgs->path) + strlen(esc) + 32)))
		goto fail;
	snprintf(events, strlen(cgs->path) + strlen(esc) + 32, "%s/%s/cgroup.events", cgs->path,
		 esc);
	r = -errno;
	if (cg->dirfd < 0 || (cg->wd = inotify_add_watch(cgs->inotify, events, IN_MODIFY)) < 0)
		goto fail;
	free(events);
	cg->next = cgs->list;
	cgs->list = cg;
	*ret = cg;
	return 0;
fail:
	free(events);
	cgroup_free(cg);
	return r;
}

void cgroup_free(struct cgroup *cg)
{
	struct cgroup **pp;

	if (!cg)
		return;
	for (pp = &cg->cgs->list; *pp; pp = &(*pp)->next)
		if (*pp == cg) {
			*pp = cg->next;
			break;
		}
	if (cg->wd >= 0)
		inotify_rm_watch(cg->cgs->inotify, cg->wd);
	if (cg->dirfd >= 0 && cg->rel) {
		/* Killed only when something is in it: a cgroup that cgroup.kill
		 * was written to must not be used again (on Linux 6.18 whatever
		 * was cloned into it later was killed at birth), and an empty
		 * one may well be, when its removal fails. */
		bool populated = dir_populated(cg->dirfd);

		if (populated)
			kill_dir(cg->dirfd, cg->rel);
		/* EBUSY: the killed are not gone yet (cgroups_free() removes it
		 * then), or the program made sub-cgroups: empty, they go now. */
		if (unlinkat(cg->cgs->dirfd, cg->name, AT_REMOVEDIR) < 0 && errno == EBUSY &&
		    !populated)
			remove_tree(cg->cgs->dirfd, cg->name, cg->rel, col_now());
	}
	col_close(cg->dirfd);
	free(cg->name);
	free(cg->rel);
	free(cg);
}

int cgroup_fd(const struct cgroup *cg)
{
	return cg->dirfd;
}

bool cgroup_populated(const struct cgroup *cg)
{
	return dir_populated(cg->dirfd);
}

int cgroup_signal(const struct cgroup *cg, int sig, const char *who)
{
	return signal_listed(cg->dirfd, cg->rel, sig, who, NULL);
}

int cgroup_kill(const struct cgroup *cg)
{
	return kill_dir(cg->dirfd, cg->rel);
}
