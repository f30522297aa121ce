/* Reload on deploy: one inotify descriptor watches the directories of
 * every pool's reload_on_change files; a change starts the pool's quiet
 * period, and once it is over the pool's workers are replaced
 * (pool_replace). The master only ever reads the events: a watched
 * file, or a symlink in its place, is never opened or followed. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "change.h"
#include "log.h"
#include "manager.h"
#include "pool.h"
#include "sys.h"

/* Written and closed, renamed into place (install, cp, mv, a symlink
 * swap), created (ln -sf), touched or chmod'ed; and the directory itself
 * removed or moved away, which drops the watch. */
#define CHANGE_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB \
                     | IN_DELETE_SELF | IN_MOVE_SELF)
/* Events that leave a watch watching nothing we asked for. */
#define CHANGE_GONE (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)

void
change_debounce_reset(struct change_debounce *d)
{
    d->first_at = NEVER;
    d->last_at = NEVER;
}

void
change_debounce_note(struct change_debounce *d, uint64_t now)
{
    if (d->first_at == NEVER)
        d->first_at = now;
    d->last_at = now;
}

uint64_t
change_debounce_due_at(const struct change_debounce *d)
{
    if (d->first_at == NEVER)
        return NEVER;
    uint64_t quiet_at = d->last_at + CHANGE_QUIET_MS;
    uint64_t latest_at = d->first_at + CHANGE_MAX_WAIT_MS;
    return quiet_at < latest_at ? quiet_at : latest_at;
}

bool
change_file_matches(const struct change_file *f, int wd, uint32_t mask,
                    const char *name)
{
    if (f->wd == -1 || f->wd != wd)
        return false;
    if ((mask & CHANGE_GONE) != 0 || f->name == NULL)
        return true;
    return name != NULL && strcmp(name, f->name) == 0;
}

void
change_init(struct change_set *cs)
{
    *cs = (struct change_set){ .w = { .fd = -1 } };
}

/* Watch f: a directory by itself; anything else (a symlink included,
 * lstat does not follow it) as a name in its directory. A failure is
 * logged once, and tried again at the next replacement. */
static void
watch_file(struct change_set *cs, struct change_file *f, const char *pool)
{
    const char *slash = strrchr(f->path, '/');
    char dir[PATH_MAX];
    struct stat st;
    int len;

    if (lstat(f->path, &st) == 0 && S_ISDIR(st.st_mode)) {
        f->name = NULL;
        len = snprintf(dir, sizeof(dir), "%s", f->path);
    } else {
        f->name = slash + 1;
        len = snprintf(dir, sizeof(dir), "%.*s",
                       slash == f->path ? 1 : (int)(slash - f->path),
                       f->path);
    }
    errno = ENAMETOOLONG;
    f->wd = len < (int)sizeof(dir)
                ? inotify_add_watch(cs->w.fd, dir, CHANGE_MASK | IN_ONLYDIR
                                                   | IN_DONT_FOLLOW)
                : -1;
    if (f->wd != -1) {
        f->warned = false;
        return;
    }
    if (!f->warned)
        log_warn_errno("pool %s: reload_on_change: cannot watch %s for %s",
                       pool, dir, f->path);
    f->warned = true;
    cs->rearm = true;
}

/* Watch again the files whose watch went with their directory. */
static void
rearm(struct change_set *cs)
{
    cs->rearm = false;
    for (size_t i = 0; i < cs->nfiles; i++) {
        struct change_file *f = &cs->files[i];
        if (f->wd == -1)
            watch_file(cs, f, cs->pools[f->pool].p->conf->name);
    }
}

static void
note(struct change_set *cs, size_t pool, const char *path, uint64_t now)
{
    struct change_pool *cp = &cs->pools[pool];

    change_debounce_note(&cp->d, now);
    if (cp->file == NULL)
        cp->file = path;
}

static void
on_event(struct change_set *cs, const struct inotify_event *ev,
         uint64_t now)
{
    const char *name = ev->len > 0 ? ev->name : NULL;

    /* Events were lost: any file may have changed. */
    if (ev->mask & IN_Q_OVERFLOW) {
        for (size_t i = 0; i < cs->nfiles; i++)
            note(cs, cs->files[i].pool, cs->files[i].path, now);
        return;
    }
    for (size_t i = 0; i < cs->nfiles; i++) {
        struct change_file *f = &cs->files[i];
        if (!change_file_matches(f, ev->wd, ev->mask, name))
            continue;
        note(cs, f->pool, f->path, now);
        if (ev->mask & CHANGE_GONE) {
            f->wd = -1;
            cs->rearm = true;
        }
    }
    /* A moved directory keeps its watch, on the old inode: drop it, the
     * path is watched again at the replacement. EINVAL: already gone. */
    if ((ev->mask & IN_MOVE_SELF) && inotify_rm_watch(cs->w.fd, ev->wd) == -1
        && errno != EINVAL)
        log_warn_errno("reload_on_change: cannot drop a moved directory's "
                       "watch");
}

static void
on_events(struct manager *m, struct watch *w, uint32_t events)
{
    char buf[8192]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n = read(w->fd, buf, sizeof(buf));

    (void)events;
    if (n == -1) {
        /* The loop is level-triggered: what is left comes again. */
        if (errno != EAGAIN && errno != EINTR)
            log_error_errno("reload_on_change: cannot read inotify events");
        return;
    }
    uint64_t now = sys_now_ms();
    for (ssize_t off = 0; off < n;) {
        const struct inotify_event *ev = (const void *)(buf + off);
        on_event(&m->change, ev, now);
        off += (ssize_t)(sizeof(*ev) + ev->len);
    }
}

/* Room for the serving pools that watch files: 0, or -1 (logged). */
static int
alloc_set(struct manager *m)
{
    struct change_set *cs = &m->change;
    size_t nfiles = 0, npools = 0;

    for (size_t i = 0; i < m->npools; i++) {
        const struct pool *p = m->pools[i];
        if (p->retired || p->conf->nwatch == 0)
            continue;
        npools++;
        nfiles += p->conf->nwatch;
    }
    if (npools == 0)
        return 0;
    cs->files = calloc(nfiles, sizeof(*cs->files));
    cs->pools = calloc(npools, sizeof(*cs->pools));
    if (cs->files == NULL || cs->pools == NULL) {
        log_error_errno("reload_on_change: out of memory; no file is "
                        "watched");
        return -1;
    }
    for (size_t i = 0; i < m->npools; i++) {
        struct pool *p = m->pools[i];
        if (p->retired || p->conf->nwatch == 0)
            continue;
        struct change_pool *cp = &cs->pools[cs->npools];
        cp->p = p;
        change_debounce_reset(&cp->d);
        for (size_t j = 0; j < p->conf->nwatch; j++)
            cs->files[cs->nfiles++] = (struct change_file){
                .pool = cs->npools, .path = p->conf->watch[j], .wd = -1 };
        cs->npools++;
    }
    return 0;
}

void
change_arm(struct manager *m)
{
    struct change_set *cs = &m->change;

    change_disarm(m);
    if (alloc_set(m) == -1 || cs->npools == 0)
        goto fail;
    cs->w.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (cs->w.fd == -1) {
        log_error_errno("reload_on_change: cannot create an inotify "
                        "instance; no file is watched");
        goto fail;
    }
    cs->w.fn = on_events;
    if (loop_watch(m, &cs->w, EPOLLIN) == -1) {
        close(cs->w.fd);
        cs->w.fd = -1;
        goto fail;
    }
    for (size_t i = 0; i < cs->nfiles; i++)
        watch_file(cs, &cs->files[i],
                   cs->pools[cs->files[i].pool].p->conf->name);
    return;
fail:
    change_disarm(m);
}

void
change_disarm(struct manager *m)
{
    struct change_set *cs = &m->change;

    if (cs->w.fd != -1) {
        loop_unwatch(m, &cs->w);
        if (close(cs->w.fd) == -1)
            log_warn_errno("reload_on_change: closing the inotify "
                           "descriptor");
    }
    free(cs->files);
    free(cs->pools);
    change_init(cs);
}

void
change_run_due(struct manager *m, uint64_t now)
{
    struct change_set *cs = &m->change;

    for (size_t i = 0; i < cs->npools; i++) {
        struct change_pool *cp = &cs->pools[i];
        if (change_debounce_due_at(&cp->d) > now)
            continue;
        const char *file = cp->file;
        change_debounce_reset(&cp->d);
        cp->file = NULL;
        if (m->state != RUN_SERVING)
            continue;
        if (pool_is_replacing(cp->p)) {
            /* One replacement at a time: look again after a quiet
             * period, until the running one is over. */
            change_debounce_note(&cp->d, now);
            cp->file = file;
            continue;
        }
        if (cs->rearm)
            rearm(cs);
        pool_replace(cp->p, file, now);
    }
}

uint64_t
change_next_deadline(const struct manager *m)
{
    uint64_t next = NEVER;

    for (size_t i = 0; i < m->change.npools; i++) {
        uint64_t at = change_debounce_due_at(&m->change.pools[i].d);
        if (at < next)
            next = at;
    }
    return next;
}
