/* Orphans: the master is a child subreaper, so what a dead worker left
 * running is reparented to it; after each death it kills the children it
 * does not know that the worker left, by what it knows itself (its
 * process group, its session, the pool's uid), never by what a worker
 * wrote. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "orphan.h"
#include "sys.h"
#include "wstatus.h"

void
orphan_init(void)
{
    /* Without it, what a worker's script started with setsid goes to
     * init when the worker dies, out of our reach. */
    if (sys_set_child_subreaper() == -1)
        log_warn_errno("cannot become a child subreaper: processes left "
                       "by dead workers will outlive them");
}

ssize_t
orphan_parse_children(const char *text, pid_t *out, size_t max)
{
    size_t n = 0;
    const char *p = text;

    while (*p != '\0') {
        if (*p == ' ' || *p == '\n') {
            p++;
            continue;
        }
        if (*p < '0' || *p > '9' || n == max)
            return -1;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        /* Each pid ends with a space: one cut short is not a pid. */
        if (errno != 0 || v > INT_MAX || (*end != ' ' && *end != '\n'))
            return -1;
        out[n++] = (pid_t)v;
        p = end;
    }
    return (ssize_t)n;
}

int
orphan_parse_stat(const char *stat, pid_t *ppid, pid_t *pgid, pid_t *sid)
{
    const char *p = strrchr(stat, ')');
    char state;
    int parent, pgrp, session;

    if (p == NULL || sscanf(p + 1, " %c %d %d %d", &state, &parent, &pgrp,
                            &session) != 4)
        return -1;
    *ppid = (pid_t)parent;
    *pgid = (pid_t)pgrp;
    *sid = (pid_t)session;
    return 0;
}

int
orphan_parse_uid(const char *status, uid_t *uid)
{
    /* The name line comes first and is the process's to choose: only a
     * line that starts with "Uid:" counts. */
    const char *p = strncmp(status, "Uid:", 4) == 0 ? status
                                                     : strstr(status,
                                                              "\nUid:");
    if (p == NULL)
        return -1;
    p += *p == '\n' ? 5 : 4;
    while (*p == '\t' || *p == ' ')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (errno != 0 || v >= (unsigned long)(uid_t)-1
        || (*end != '\t' && *end != ' ' && *end != '\n'))
        return -1;
    *uid = (uid_t)v;
    return 0;
}

bool
orphan_uid_rule(uid_t uid, uid_t master_uid)
{
    /* A root pool's scripts are root: they could escape any rule. */
    return uid != (uid_t)-1 && uid != 0 && uid != master_uid;
}

static int
pid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

    return (x > y) - (x < y);
}

size_t
orphan_pick(pid_t *children, size_t n, const pid_t *known, size_t nknown,
            pid_t self)
{
    size_t kill = 0;

    for (size_t i = 0; i < n; i++) {
        pid_t pid = children[i];
        /* A pid <= 1 would make kill() reach a group or every process:
         * never one, whatever the text said. */
        if (pid <= 1 || pid == self
            || (nknown > 0
                && bsearch(&pid, known, nknown, sizeof(*known), pid_cmp)
                       != NULL))
            continue;
        children[kill++] = pid;
    }
    return kill;
}

bool
orphan_group_killable(pid_t pid, pid_t pgid, pid_t self_pgid)
{
    return pgid == pid && pgid > 1 && pgid != self_pgid;
}

bool
orphan_left_by(pid_t pid, pid_t pgid, pid_t sid, pid_t from,
               pid_t master_sid)
{
    return pgid == from || (pgid == pid && sid == master_sid);
}

/* The children we know, sorted: live and stopping workers, the new
 * master of an upgrade, and orphans killed already (until reaped, a
 * sweep sees them again). NULL (logged) when out of memory. */
static pid_t *
known_children(const struct manager *m, size_t *n)
{
    size_t cap = 1 + m->norphans;

    for (size_t i = 0; i < m->npools; i++)
        cap += m->pools[i]->nslots;
    pid_t *known = malloc(cap * sizeof(*known));
    if (known == NULL) {
        log_error_errno("cannot list workers to find orphans");
        return NULL;
    }
    *n = 0;
    for (size_t i = 0; i < m->npools; i++) {
        const struct pool *p = m->pools[i];
        for (size_t j = 0; j < p->nslots; j++) {
            const struct slot *s = &p->slots[j];
            if ((s->state == SLOT_RUNNING || s->state == SLOT_STOPPING)
                && s->pid > 0)
                known[(*n)++] = s->pid;
        }
    }
    if (m->upgrade.pid > 0)
        known[(*n)++] = m->upgrade.pid;
    for (size_t i = 0; i < m->norphans; i++)
        known[(*n)++] = m->orphans[i].pid;
    qsort(known, *n, sizeof(*known), pid_cmp);
    return known;
}

/* Our children, from /proc (CONFIG_PROC_CHILDREN); the master has one
 * thread, and reparented orphans go to it. NULL when there are none or
 * they cannot be read (logged once until it works again). */
static pid_t *
list_children(struct manager *m, size_t *n)
{
    char name[] = "children", *text;

    /* /proc/thread-self, not /proc/PID: in a PID namespace whose /proc
     * was not mounted anew, PID names another process there. */
    ssize_t len = sys_proc_read_all(0, name, &text);
    if (len == -1) {
        if (!m->orphans_unlisted)
            log_warn_errno("cannot read /proc/thread-self/%s: processes "
                           "left by dead workers are not killed", name);
        m->orphans_unlisted = true;
        return NULL;
    }
    m->orphans_unlisted = false;
    size_t max = (size_t)len / 2 + 1;   /* "1 " is the shortest entry */
    pid_t *pids = malloc(max * sizeof(*pids));
    ssize_t got = pids != NULL ? orphan_parse_children(text, pids, max)
                               : -1;
    if (got <= 0) {
        if (got == -1)
            log_error("cannot parse /proc/thread-self/%s: %.60s", name,
                      pids == NULL ? "out of memory" : text);
        free(text);
        free(pids);
        return NULL;
    }
    free(text);
    *n = (size_t)got;
    return pids;
}

static bool
uids_has(const struct orphan_uids *u, uid_t uid)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->uid[i] == uid)
            return true;
    return false;
}

/* Add uid to u; false when it is full. */
static bool
uids_add(struct orphan_uids *u, uid_t uid)
{
    if (uids_has(u, uid))
        return true;
    if (u->n == ORPHAN_UIDS_MAX)
        return false;
    u->uid[u->n++] = uid;
    return true;
}

/* Keep pid until it is reaped, for its log line, for the exit, and for
 * the sweep by uid (not (uid_t)-1) of what it leaves. */
static void
remember(struct manager *m, pid_t pid, const char *pool, pid_t from,
         uid_t uid)
{
    if (m->norphans == ORPHANS_MAX) {
        /* Not kept: any orphan reaped that we do not know may be it. */
        if (uid != (uid_t)-1 && !uids_add(&m->orphans_lost, uid))
            log_warn("too many users' orphans to follow: what orphan %d "
                     "leaves is not killed", (int)pid);
        return;
    }
    struct orphan *o = &m->orphans[m->norphans++];
    o->pid = pid;
    o->from = from;
    o->uid = uid;
    snprintf(o->pool, sizeof(o->pool), "%s", pool != NULL ? pool : "");
}

/* Whether our child pid runs with a real uid among uids; its uid into
 * *uid. The real uid: a script cannot change it without privileges it
 * does not have. */
static bool
owned_by(pid_t pid, const struct orphan_uids *uids, uid_t *uid)
{
    char status[2048];

    if (sys_proc_read(pid, "status", status, sizeof(status)) == -1) {
        log_warn_errno("cannot read /proc/%d/status: orphan %d not killed",
                       (int)pid, (int)pid);
        return false;
    }
    if (orphan_parse_uid(status, uid) == -1) {
        log_warn("no uid in /proc/%d/status: orphan %d not killed",
                 (int)pid, (int)pid);
        return false;
    }
    return uids_has(uids, *uid);
}

/* SIGKILL orphan pid, and the group it leads, if worker from (0: none)
 * left it, or if its real uid is among uids. It is our child, not yet
 * reaped, so its pid cannot name another process, and a group named by
 * its pid is one it made; its stat must name us as its parent too, or it
 * is left alone (/proc may be another PID namespace's). Returns whether
 * it was killed. */
static bool
kill_orphan(struct manager *m, pid_t pid, const char *pool, pid_t from,
            const struct orphan_uids *uids)
{
    char stat[1024];
    pid_t ppid, pgid, sid;
    uid_t uid = (uid_t)-1;

    if (sys_proc_read(pid, "stat", stat, sizeof(stat)) == -1) {
        log_warn_errno("cannot read /proc/%d/stat: orphan %d not killed",
                       (int)pid, (int)pid);
        return false;
    }
    if (orphan_parse_stat(stat, &ppid, &pgid, &sid) == -1
        || ppid != getpid()) {
        log_warn("/proc/%d/stat does not name this master as the parent: "
                 "orphan %d not killed", (int)pid, (int)pid);
        return false;
    }
    if (from > 0 && orphan_left_by(pid, pgid, sid, from, getsid(0)))
        uid = uids->n > 0 ? uids->uid[0] : (uid_t)-1;
    else if (uids->n == 0 || !owned_by(pid, uids, &uid))
        return false;
    if (sys_kill(pid, SIGKILL) == -1) {
        log_warn_errno("cannot kill orphan %d", (int)pid);
        return false;
    }
    bool group = orphan_group_killable(pid, pgid, getpgrp());
    if (group && sys_kill(-pgid, SIGKILL) == -1 && errno != ESRCH)
        log_warn_errno("cannot kill the process group of orphan %d",
                       (int)pid);
    log_debug("killed orphan %d%s", (int)pid,
              group ? " and its process group" : "");
    remember(m, pid, pool, from, uid);
    return true;
}

/* Kill the children we do not know that from left or that run as one of
 * uids; returns how many. */
static unsigned
sweep(struct manager *m, const char *pool, pid_t from,
      const struct orphan_uids *uids)
{
    size_t n, nknown, nkill;
    pid_t *children = list_children(m, &n);
    unsigned killed = 0;

    if (children == NULL)
        return 0;
    pid_t *known = known_children(m, &nknown);
    if (known == NULL) {
        free(children);
        return 0;
    }
    nkill = orphan_pick(children, n, known, nknown, getpid());
    for (size_t i = 0; i < nkill; i++)
        killed += kill_orphan(m, children[i], pool, from, uids);
    free(known);
    free(children);
    return killed;
}

void
orphan_sweep(struct manager *m, const char *pool, pid_t from, uid_t uid)
{
    struct orphan_uids uids = { .n = 0 };

    /* Our uid, not the worker's word: it may have changed its own. */
    if (orphan_uid_rule(uid, getuid()))
        uids_add(&uids, uid);
    unsigned killed = sweep(m, pool, from, &uids);

    if (killed == 0)
        return;
    if (pool != NULL)
        log_info("pool %s: killed %u process%s left by worker %d", pool,
                 killed, killed == 1 ? "" : "es", (int)from);
    else
        log_info("killed %u process%s left by process %d", killed,
                 killed == 1 ? "" : "es", (int)from);
}

void
orphan_sweep_owed(struct manager *m)
{
    struct orphan_uids owed = m->orphans_owed;

    if (owed.n == 0)
        return;
    m->orphans_owed.n = 0;
    unsigned killed = sweep(m, NULL, 0, &owed);
    if (killed > 0) {
        log_info("killed %u process%s left by killed orphans", killed,
                 killed == 1 ? "" : "es");
        return;
    }
    /* None of those users' processes is our child any more, not even
     * one killed but not kept: none is left to follow. */
    struct orphan_uids *lost = &m->orphans_lost;
    size_t kept = 0;
    for (size_t i = 0; i < lost->n; i++)
        if (!uids_has(&owed, lost->uid[i]))
            lost->uid[kept++] = lost->uid[i];
    lost->n = kept;
}

/* What an orphan killed by the uid rule leaves is swept by uid, at the
 * end of this batch of reaps; a sweep now when too many uids are owed. */
static void
owe(struct manager *m, uid_t uid)
{
    if (uids_add(&m->orphans_owed, uid))
        return;
    orphan_sweep_owed(m);
    uids_add(&m->orphans_owed, uid);
}

void
orphan_reaped(struct manager *m, pid_t pid, int st)
{
    char how[96];
    size_t i;

    wstatus_describe(st, how, sizeof(how));
    for (i = 0; i < m->norphans && m->orphans[i].pid != pid; i++)
        ;
    if (i == m->norphans) {
        /* Left by a worker that still runs (a program's background job),
         * or beyond ORPHANS_MAX: then it may be one killed by uid. */
        log_debug("reaped orphan %d: %s", (int)pid, how);
        for (size_t j = 0; j < m->orphans_lost.n; j++)
            owe(m, m->orphans_lost.uid[j]);
        return;
    }
    struct orphan o = m->orphans[i];
    m->orphans[i] = m->orphans[--m->norphans];
    const char *pool = o.pool[0] != '\0' ? o.pool : NULL;
    if (pool != NULL)
        log_debug("reaped orphan %d left by pool %s (worker %d): %s",
                  (int)pid, pool, (int)o.from, how);
    else if (o.from > 0)
        log_debug("reaped orphan %d left by process %d: %s", (int)pid,
                  (int)o.from, how);
    else
        log_debug("reaped orphan %d left by a killed orphan: %s",
                  (int)pid, how);
    /* Its own children came to us as it died. */
    if (o.uid != (uid_t)-1)
        owe(m, o.uid);
}

bool
orphan_pending(const struct manager *m)
{
    return m->norphans > 0;
}
