/* Reload on deploy: each pool's inotify descriptor watches the
 * directories of its reload_on_change files; a change starts the pool's
 * quiet period, and once it is over the pool's workers are replaced
 * (pool_replace). The master only ever reads the events: a watched
 * file, or a symlink in its place, is never opened or followed, and a
 * directory is reached following no symlink (nofollow_open_dir). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
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
#include "nofollow.h"
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
    *cs = (struct change_set){ .rearm_at = NEVER };
}

static void
note(struct change_set *cs, size_t pool, const char *path, uint64_t now)
{
    struct change_pool *cp = &cs->pools[pool];

    change_debounce_note(&cp->d, now);
    if (cp->file == NULL)
        cp->file = path;
}

uint64_t
change_retry_at(uint64_t since, uint64_t now)
{
    if (now - since < CHANGE_RETRY_FAST_FOR_MS)
        return now + CHANGE_RETRY_MS;
    return now + CHANGE_RETRY_SLOW_MS;
}

/* Some file is not watched: try again soon, unless already planned. */
static void
retry_later(struct change_set *cs, uint64_t now)
{
    if (cs->rearm_at != NEVER)
        return;
    cs->rearm_since = now;
    cs->rearm_at = change_retry_at(now, now);
}

/* Add the directory dirfd (O_PATH) to the inotify descriptor ifd: through
 * /proc/self/fd, the magic link that names that very inode, so nothing
 * between the resolution and the watch can redirect it. */
static int
watch_dirfd(int ifd, int dirfd)
{
    char proc[64];

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
    return inotify_add_watch(ifd, proc, CHANGE_MASK | IN_ONLYDIR);
}

/* The directory to watch for f, opened following no symlink: f itself
 * when it is a directory (f->name NULL), else the one it is a name in (a
 * symlink in the last place is a name: it is never opened). -1: errno. */
static int
open_watched_dir(struct change_file *f)
{
    const char *slash = strrchr(f->path, '/');
    char dir[PATH_MAX];
    struct stat st;
    int dfd, fd;

    if ((size_t)(slash - f->path) >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(dir, sizeof(dir), "%.*s",
             slash == f->path ? 1 : (int)(slash - f->path), f->path);
    f->name = slash + 1;
    if ((dfd = nofollow_open_dir(dir)) == -1)
        return -1;
    if (fstatat(dfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == -1
        || !S_ISDIR(st.st_mode))
        return dfd;
    /* A directory now: O_NOFOLLOW refuses a symlink swapped in since. */
    fd = openat(dfd, f->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int saved = errno;
    close(dfd);
    errno = saved;
    f->name = NULL;
    return fd;
}

/* Watch f in its pool's inotify descriptor ifd: 0, or -1 logged once
 * (until it is watched again) and tried again later. */
static int
watch_file(struct change_set *cs, struct change_file *f, int ifd,
           uint64_t now)
{
    const char *pool = cs->pools[f->pool].p->conf->name;
    int fd = open_watched_dir(f);

    f->wd = fd == -1 ? -1 : watch_dirfd(ifd, fd);
    int saved = errno;
    if (fd != -1 && close(fd) == -1)
        log_warn_errno("reload_on_change: closing %s", f->path);
    errno = saved;
    if (f->wd != -1) {
        f->warned = false;
        return 0;
    }
    if (!f->warned && errno == ELOOP)
        log_warn("pool %s: reload_on_change: cannot watch %s: a symlink "
                 "on its way, which the master does not follow", pool,
                 f->path);
    else if (!f->warned)
        log_warn_errno("pool %s: reload_on_change: cannot watch %s", pool,
                       f->path);
    f->warned = true;
    retry_later(cs, now);
    return -1;
}

/* Watch again the unwatched files of pool (SIZE_MAX: of every pool). */
static void
rearm(struct change_set *cs, size_t pool, uint64_t now, bool count)
{
    for (size_t i = 0; i < cs->nfiles; i++) {
        struct change_file *f = &cs->files[i];
        if (f->wd != -1 || (pool != SIZE_MAX && f->pool != pool))
            continue;
        if (watch_file(cs, f, cs->pools[f->pool].w.fd, now) == 0 && count)
            note(cs, f->pool, f->path, now);
    }
}

/* The retry is due: watch again; plan the next one if any file is left. */
static void
retry(struct change_set *cs, uint64_t now)
{
    uint64_t since = cs->rearm_since;

    cs->rearm_at = NEVER;
    rearm(cs, SIZE_MAX, now, true);
    for (size_t i = 0; i < cs->nfiles; i++)
        if (cs->files[i].wd == -1) {
            cs->rearm_since = since;
            cs->rearm_at = change_retry_at(since, now);
            return;
        }
}

static void
on_event(struct change_set *cs, size_t pool,
         const struct inotify_event *ev, uint64_t now)
{
    const char *name = ev->len > 0 ? ev->name : NULL;
    bool gone = false;

    for (size_t i = 0; i < cs->nfiles; i++) {
        struct change_file *f = &cs->files[i];
        if (f->pool != pool)
            continue;
        /* Events were lost: any of this pool's files may have changed. */
        if (!(ev->mask & IN_Q_OVERFLOW)
            && !change_file_matches(f, ev->wd, ev->mask, name))
            continue;
        note(cs, f->pool, f->path, now);
        if (ev->mask & CHANGE_GONE && !(ev->mask & IN_Q_OVERFLOW)) {
            f->wd = -1;
            gone = true;
        }
    }
    if (gone)
        retry_later(cs, now);
    /* A moved directory keeps its watch, on the old inode: drop it, the
     * path is watched again. EINVAL: already gone. */
    if ((ev->mask & IN_MOVE_SELF)
        && inotify_rm_watch(cs->pools[pool].w.fd, ev->wd) == -1
        && errno != EINVAL)
        log_warn_errno("reload_on_change: cannot drop a moved directory's "
                       "watch");
}

static void
on_events(struct manager *m, struct watch *w, uint32_t events)
{
    char buf[8192]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    struct change_set *cs = &m->change;
    /* w is the first member of its pool's entry. */
    size_t pool = (size_t)((struct change_pool *)w - cs->pools);
    ssize_t n = read(w->fd, buf, sizeof(buf));

    (void)events;
    if (n == -1) {
        /* The loop is level-triggered: what is left comes again. */
        if (errno != EAGAIN && errno != EINTR)
            log_error_errno("pool %s: reload_on_change: cannot read inotify "
                            "events", cs->pools[pool].p->conf->name);
        return;
    }
    uint64_t now = sys_now_ms();
    for (ssize_t off = 0; off < n;) {
        const struct inotify_event *ev = (const void *)(buf + off);
        on_event(cs, pool, ev, now);
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
        *cp = (struct change_pool){ .w = { .fd = -1, .fn = on_events },
                                    .p = p };
        change_debounce_reset(&cp->d);
        for (size_t j = 0; j < p->conf->nwatch; j++)
            cs->files[cs->nfiles++] = (struct change_file){
                .pool = cs->npools, .path = p->conf->watch[j], .wd = -1 };
        cs->npools++;
    }
    return 0;
}

/* Pool cp's own inotify descriptor, in the loop: 0, or -1 (logged). */
static int
open_pool(struct manager *m, struct change_pool *cp)
{
    cp->w.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (cp->w.fd == -1) {
        log_error_errno("pool %s: reload_on_change: cannot create an "
                        "inotify instance; its files are not watched",
                        cp->p->conf->name);
        return -1;
    }
    if (loop_watch(m, &cp->w, EPOLLIN) == -1) {
        close(cp->w.fd);
        cp->w.fd = -1;
        return -1;
    }
    return 0;
}

void
change_arm(struct manager *m)
{
    struct change_set *cs = &m->change;
    uint64_t now = sys_now_ms();

    change_disarm(m);
    if (alloc_set(m) == -1) {
        change_disarm(m);
        return;
    }
    for (size_t i = 0; i < cs->npools; i++)
        open_pool(m, &cs->pools[i]);
    for (size_t i = 0; i < cs->nfiles; i++) {
        struct change_file *f = &cs->files[i];
        if (cs->pools[f->pool].w.fd != -1)
            watch_file(cs, f, cs->pools[f->pool].w.fd, now);
    }
}

void
change_disarm(struct manager *m)
{
    struct change_set *cs = &m->change;

    for (size_t i = 0; cs->pools != NULL && i < cs->npools; i++) {
        struct change_pool *cp = &cs->pools[i];
        if (cp->w.fd == -1)
            continue;
        loop_unwatch(m, &cp->w);
        if (close(cp->w.fd) == -1)
            log_warn_errno("pool %s: reload_on_change: closing the inotify "
                           "descriptor", cp->p->conf->name);
    }
    free(cs->files);
    free(cs->pools);
    change_init(cs);
}

void
change_run_due(struct manager *m, uint64_t now)
{
    struct change_set *cs = &m->change;

    if (cs->rearm_at <= now)
        retry(cs, now);
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
        /* A directory back by now is watched for the new workers. */
        rearm(cs, i, now, false);
        pool_replace(cp->p, file, now);
    }
}

uint64_t
change_next_deadline(const struct manager *m)
{
    uint64_t next = m->change.rearm_at;

    for (size_t i = 0; i < m->change.npools; i++) {
        uint64_t at = change_debounce_due_at(&m->change.pools[i].d);
        if (at < next)
            next = at;
    }
    return next;
}
