/* The event loop: sleep in epoll_wait until a descriptor or the earliest
 * deadline, dispatch the batch, then let the manager run its pending
 * and due work (manager.c). */
#include <errno.h>
#include <stdbool.h>
#include <sys/epoll.h>

#include "log.h"
#include "loop.h"
#include "manager.h"
#include "sys.h"

#define NEV 16

int
loop_timeout_ms(uint64_t deadline, uint64_t now)
{
    if (deadline == NEVER)
        return -1;
    if (deadline <= now)
        return 0;
    uint64_t ms = deadline - now;
    return ms > 3600 * 1000 ? 3600 * 1000 : (int)ms;
}

int
loop_init(struct manager *m)
{
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (m->epfd == -1) {
        log_error_errno("cannot create epoll instance");
        return -1;
    }
    return 0;
}

int
loop_watch(struct manager *m, struct watch *w, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = w };

    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, w->fd, &ev) == -1) {
        log_error_errno("cannot add fd %d to the epoll set", w->fd);
        return -1;
    }
    return 0;
}

void
loop_unwatch(struct manager *m, struct watch *w)
{
    struct loop_stale *st = &m->stale;

    if (epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->fd, NULL) == -1)
        log_warn_errno("cannot remove fd %d from the epoll set", w->fd);
    if (st->n < LOOP_STALE_MAX)
        st->w[st->n++] = w;
    else
        st->overflow = true;
}

static bool
is_stale(const struct loop_stale *st, const struct watch *w)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->w[i] == w)
            return true;
    return false;
}

/* Run the callbacks of a batch, skipping watches removed meanwhile. */
static void
dispatch(struct manager *m, const struct epoll_event *ev, int n)
{
    struct loop_stale *st = &m->stale;

    st->n = 0;
    st->overflow = false;
    for (int i = 0; i < n && !st->overflow; i++) {
        struct watch *w = ev[i].data.ptr;
        if (!is_stale(st, w))
            w->fn(m, w, ev[i].events);
    }
    st->n = 0;
}

int
loop_run(struct manager *m)
{
    struct epoll_event ev[NEV];

    while (m->state != RUN_DONE) {
        int timeout = loop_timeout_ms(manager_next_deadline(m),
                                      sys_now_ms());
        int n = epoll_wait(m->epfd, ev, NEV, timeout);
        if (n == -1 && errno != EINTR)
            log_error_errno("epoll_wait");  /* keep going */
        dispatch(m, ev, n);
        uint64_t now = sys_now_ms();
        manager_run_pending(m, now);
        manager_run_due(m, now);
    }
    return 0;
}
