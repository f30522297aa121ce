/* The listening side of the status and control servers: accept without
 * blocking, pause when out of descriptors, and move the socket in a
 * reload's plan and commit. Clients are the owner's (acceptor_fn). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "acceptor.h"
#include "log.h"
#include "manager.h"
#include "sockperm.h"
#include "sys.h"

#define ACCEPT_PAUSE_MS 100
/* When the listener cannot be watched again at the pause's end (epoll
 * out of memory or watches, logged once): how long until the next try,
 * doubling at each failure up to the most. */
#define WATCH_RETRY_MS 1000
#define WATCH_RETRY_MAX_MS 10000

static void
on_listener(struct manager *m, struct watch *w, uint32_t events)
{
    struct acceptor *a = ((struct acceptor_watch *)w)->a;
    uint64_t now = sys_now_ms();

    (void)events;
    for (unsigned i = 0; i < a->accepts_per_event; i++) {
        int fd = sys_accept4(w->fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd != -1) {
            a->accept_failing = false;
            a->take(m, fd, now);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EAGAIN)
            return;
        /* Out of descriptors or memory: the socket stays readable, so
         * stop watching it for a moment rather than spin. */
        if (!a->accept_failing)
            log_warn_errno("%s %s: cannot accept, pausing", a->kind,
                           a->listener.name);
        a->accept_failing = true;
        loop_unwatch(m, w);
        a->watched = false;
        a->resume_at = now + ACCEPT_PAUSE_MS;
        return;
    }
}

void
acceptor_init(struct acceptor *a, const char *kind, acceptor_fn *take,
              unsigned accepts_per_event)
{
    *a = (struct acceptor){ .kind = kind, .take = take,
                            .accepts_per_event = accepts_per_event,
                            .listener = { .kind = kind, .fd = -1 },
                            .resume_at = NEVER };
    for (unsigned i = 0; i < 2; i++)
        a->ws[i] = (struct acceptor_watch){ .w = { .fd = -1 }, .a = a };
}

void
acceptor_close(struct manager *m, struct acceptor *a)
{
    if (a->watched)
        loop_unwatch(m, &a->ws[a->cur].w);
    a->watched = false;
    listen_close(&a->listener);
    a->ws[a->cur].w.fd = -1;
    a->resume_at = NEVER;
    a->rewatch_ms = 0;
}

/* What the loop needs of a listener of ours: accept4 must never block.
 * One taken over from an old master gets set's mode and owner, as one
 * bound anew would; a refusal is logged, and fails it only when
 * perm_needed. 0 or -1 (logged). */
static int
prepare(const struct acceptor *a, struct listener *l,
        const struct listen_settings *set)
{
    int flags = fcntl(l->fd, F_GETFL);

    if (flags == -1 || fcntl(l->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
        log_error_errno("%s %s: cannot make it non-blocking", a->kind,
                        l->name);
        return -1;
    }
    if (l->claim_path
        && sockperm_apply(l->fd, l->addr.path, set->mode, set->uid,
                          set->gid, a->kind, l->name) == -1
        && a->perm_needed)
        return -1;
    return 0;
}

/* Open name into p, and add it to the loop under the watch not in use.
 * 0, or -1 (logged, why set, nothing changed). */
static int
plan_open(struct manager *m, struct acceptor *a, const char *name,
          const struct listen_settings *set, struct acceptor_plan *p,
          char *why, size_t len)
{
    struct watch *w = &a->ws[!a->cur].w;
    int e;

    if (listen_open_with(&p->l, name, set, &m->inherited) == -1)
        goto fail;
    if (prepare(a, &p->l, set) == -1)
        goto fail_close;
    *w = (struct watch){ .fd = p->l.fd, .fn = on_listener };
    if (loop_watch(m, w, EPOLLIN) == -1)
        goto fail_close;
    p->open = true;
    return 0;
fail_close:
    e = errno;
    listen_close(&p->l);
    w->fd = -1;
    errno = e;
fail:
    snprintf(why, len, "%s_listen: cannot bind %s: %s", a->kind, name,
             strerror(errno));
    return -1;
}

int
acceptor_plan(struct manager *m, struct acceptor *a, const char *name,
              const struct listen_settings *set, struct acceptor_plan *p,
              char *why, size_t len)
{
    const char *have = a->listener.fd != -1 ? a->listener.name : NULL;

    *p = (struct acceptor_plan){ .open = false };
    if (a->retired || name == NULL)
        return 0;
    if (have != NULL && strcmp(name, have) == 0) {
        p->kept = true;
        return 0;
    }
    return plan_open(m, a, name, set, p, why, len);
}

void
acceptor_undo(struct manager *m, struct acceptor *a, struct acceptor_plan *p)
{
    if (!p->open)
        return;
    loop_unwatch(m, &a->ws[!a->cur].w);
    listen_close(&p->l);
    a->ws[!a->cur].w.fd = -1;
    p->open = false;
}

void
acceptor_commit(struct manager *m, struct acceptor *a,
                const struct acceptor_plan *p, bool configured)
{
    if (a->retired)
        return;
    if (p->open) {
        acceptor_close(m, a);
        a->cur = !a->cur;
        a->listener = p->l;
        a->watched = true;
        log_info("%s: listening on %s", a->kind, a->listener.name);
    } else if (!configured && a->listener.fd != -1) {
        log_info("%s %s: no longer configured: closed", a->kind,
                 a->listener.name);
        acceptor_close(m, a);
    }
}

void
acceptor_handover(struct manager *m, struct acceptor *a)
{
    /* The new master answers from now on; our clients finish. */
    a->retired = true;
    if (a->listener.fd == -1)
        return;
    log_info("%s %s: handed over to the new master", a->kind,
             a->listener.name);
    /* Its file is the new master's now, whether or not it is there. */
    a->listener.owns_path = false;
    acceptor_close(m, a);
}

struct listener *
acceptor_listener(struct acceptor *a)
{
    return a->listener.fd != -1 ? &a->listener : NULL;
}

uint64_t
acceptor_next_deadline(const struct acceptor *a)
{
    return a->resume_at;
}

/* Watch the listener again after a pause. epoll_ctl here, not
 * loop_watch, which logs each failure: while epoll refuses it, the
 * acceptor logs once, when that starts, and once when it ends. */
static int
rewatch(struct manager *m, struct acceptor *a)
{
    struct watch *w = &a->ws[a->cur].w;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

    return epoll_ctl(m->epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

void
acceptor_run_due(struct manager *m, struct acceptor *a, uint64_t now)
{
    if (a->resume_at > now)
        return;
    a->resume_at = NEVER;
    if (a->listener.fd == -1)
        return;
    if (rewatch(m, a) == 0) {
        if (a->rewatch_ms != 0)
            log_info("%s %s: watched again, accepting", a->kind,
                     a->listener.name);
        a->rewatch_ms = 0;
        a->watched = true;
        return;
    }
    /* Unwatched, it would never accept again: try later, less and less
     * often. */
    if (a->rewatch_ms == 0) {
        log_warn_errno("%s %s: accepting stays paused (next try in %d ms, "
                       "then less often, up to every %d ms): cannot add fd "
                       "%d to the epoll set", a->kind, a->listener.name,
                       WATCH_RETRY_MS, WATCH_RETRY_MAX_MS, a->listener.fd);
        a->rewatch_ms = WATCH_RETRY_MS;
    } else {
        a->rewatch_ms = a->rewatch_ms < WATCH_RETRY_MAX_MS / 2
                            ? a->rewatch_ms * 2 : WATCH_RETRY_MAX_MS;
    }
    a->resume_at = now + a->rewatch_ms;
}
