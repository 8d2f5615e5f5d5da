/*
 * cgroup.h - one cgroup v2 per supervised instance, so that stopping an
 * instance ends everything it started, also what left its process group
 * (setsid) or daemonized (double fork).
 *
 * Layout: collie makes <its own cgroup>/collie-<pid>/ at start and one
 * directory per instance in it, named after the instance (escaped), and
 * spawns each instance straight into its directory (COL_SPAWN_SET_CGROUP).
 * It never enables a controller: the cgroups are for knowing and ending a
 * process tree, not for limits, so no internal-process constraint can
 * bite. Everything it made is removed when it exits; a tree left by an
 * earlier collie that crashed (no collie holds it locked) is emptied
 * (SIGKILL) and removed at start.
 *
 * Where no cgroup can be made (no cgroup2 mount; its own cgroup not
 * delegated to collie: EACCES, EPERM; a read-only mount) cgroups_new()
 * says why and collie falls back to what it finds as a subreaper.
 *
 * Recipe:
 *   cgroups_new(loop, &cgs, why, sizeof(why))  NULL cgs: not available (why)
 *   cgroup_new(cgs, "web_0", on_empty, p, &cg)
 *   o.flags |= COL_SPAWN_SET_CGROUP; o.cgroup_fd = cgroup_fd(cg);
 *   ... cgroup_signal(cg, SIGTERM, ...), cgroup_kill(cg) ...
 *   on_empty(cg, p) runs (through the loop) each time it becomes empty
 *   cgroup_free(cg); cgroups_free(cgs);
 */
#ifndef COLLIE_CLI_CGROUP_H
#define COLLIE_CLI_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "collie/loop.h"

struct cgroups;
struct cgroup;

/* cg has no process left ("populated 0" in its cgroup.events). */
typedef void cgroup_empty_fn(struct cgroup *cg, void *data);

/*
 * Make this supervisor's cgroup directory and watch it through loop.
 * Returns 0 and *ret, or 0 and *ret = NULL with why (len bytes) saying
 * why cgroups cannot be used here, or -errno (-ENOMEM, -EMFILE).
 */
int cgroups_new(struct col_loop *loop, struct cgroups **ret, char *why, size_t len);

/* SIGKILL whatever is left in every instance's cgroup, wait (bounded)
 * until they are empty, remove every directory made, free. Takes NULL. */
void cgroups_free(struct cgroups *cgs);

/*
 * The cgroup of the instance `name` (made now; one left over by a
 * previous start of the same name is reused). on_empty(cg, data) is
 * called whenever the cgroup becomes empty. 0 and *ret, or -errno
 * (-ENAMETOOLONG, -ENOMEM, or mkdir's).
 */
int cgroup_new(struct cgroups *cgs, const char *name, cgroup_empty_fn *on_empty, void *data,
	       struct cgroup **ret);

/* Forget cg: its processes are SIGKILLed, its directory removed (at
 * cgroups_free() if it cannot be yet). Takes NULL. */
void cgroup_free(struct cgroup *cg);

/* The directory, O_PATH, for COL_SPAWN_SET_CGROUP (owned by cg). */
int cgroup_fd(const struct cgroup *cg);

/* Whether any process is in cg. */
bool cgroup_populated(const struct cgroup *cg);

/*
 * Send sig to every process in cg, through pidfds (a listed pid is
 * checked to be in cg still while its pidfd is held, so a recycled pid is
 * never signalled). With `who` set, each one is named on stderr
 * ("collie: WHO: sending SIGTERM to leftover process PID"). Returns how
 * many were signalled, or -errno.
 */
int cgroup_signal(const struct cgroup *cg, int sig, const char *who);

/* SIGKILL every process in cg: cgroup.kill (Linux 5.14), else
 * cgroup_signal() until no new process shows up. 0 or -errno. */
int cgroup_kill(const struct cgroup *cg);

#endif
