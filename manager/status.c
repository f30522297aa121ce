/* The status socket: accept clients without blocking, drive each one's
 * FastCGI conversation (status_conn.c) with bounded buffers and a
 * deadline, and answer from the master's own view of its pools. The
 * socket itself is a listener like a pool's (listen.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "manager.h"
#include "sockperm.h"
#include "status.h"
#include "status_report.h"
#include "sys.h"

#define STATUS_BACKLOG 128
#define DEFAULT_MODE 0660
#define ACCEPTS_PER_EVENT 16
/* Answers per wake-up for one client, so that a client pipelining
 * requests cannot hold the loop. */
#define STEPS_PER_EVENT 8
/* After an answer on a connection without KEEP_CONN: how long to wait
 * for the client to close before we do. */
#define LINGER_MS 1000
#define ACCEPT_PAUSE_MS 100

struct status_client {
    struct watch w;             /* first: the loop hands us &w */
    uint32_t events;            /* what w is watched for */
    uint64_t deadline_at;
    bool lingering;             /* answered, write side shut: await EOF */
    struct status_conn conn;
};

static int
answer_now(void *ctx, const struct status_request *rq,
           struct status_buf *out)
{
    return status_answer(ctx, rq, sys_now_ms(), sys_wall_time(), out);
}

/* --- clients ---------------------------------------------------------- */

/* Forget c; why (NULL for an orderly end) goes to the debug log. */
static void
drop_client(struct manager *m, struct status_client *c, const char *why)
{
    struct status_server *st = &m->status;

    if (why != NULL)
        log_debug("status %s: closing a client: %s",
                  st->listener.name ? st->listener.name : "-", why);
    loop_unwatch(m, &c->w);
    close(c->w.fd);
    status_conn_free(&c->conn);
    for (size_t i = 0; i < st->nclients; i++) {
        if (st->clients[i] == c) {
            st->clients[i] = st->clients[--st->nclients];
            break;
        }
    }
    free(c);
}

/* Watch c for events; drops it when that fails. */
static void
set_events(struct manager *m, struct status_client *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = &c->w };

    if (c->events == events)
        return;
    if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->w.fd, &ev) == -1) {
        log_warn_errno("status: cannot watch a client");
        drop_client(m, c, NULL);
        return;
    }
    c->events = events;
}

/* Answered without KEEP_CONN: shut our side and let the client close
 * first, so that a request byte still in flight cannot turn our close
 * into a reset that loses the answer (what libfcgi does too). */
static void
linger(struct manager *m, struct status_client *c)
{
    if (shutdown(c->w.fd, SHUT_WR) == -1) {
        drop_client(m, c, strerror(errno));
        return;
    }
    c->lingering = true;
    uint64_t until = sys_now_ms() + LINGER_MS;
    if (until < c->deadline_at)
        c->deadline_at = until;
    set_events(m, c, EPOLLIN);
}

/* Send what is queued and answer what is buffered, until the client must
 * be waited for. */
static void
drive(struct manager *m, struct status_client *c)
{
    for (int step = 0; step < STEPS_PER_EVENT; step++) {
        size_t left = status_conn_pending(&c->conn);
        if (left > 0) {
            ssize_t n = send(c->w.fd, c->conn.out.data + c->conn.out_sent,
                             left, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
                set_events(m, c, EPOLLOUT);
                return;
            }
            if (n == -1) {
                drop_client(m, c, strerror(errno));
                return;
            }
            status_conn_sent(&c->conn, (size_t)n);
            if (status_conn_pending(&c->conn) == 0 && !c->conn.close_after)
                c->deadline_at = sys_now_ms() + STATUS_CLIENT_TIMEOUT_MS;
            continue;
        }
        if (c->conn.close_after) {
            linger(m, c);
            return;
        }
        switch (status_conn_process(&c->conn, answer_now, m)) {
        case STATUS_CONN_NEED_INPUT:
            set_events(m, c, EPOLLIN);
            return;
        case STATUS_CONN_ERROR:
            drop_client(m, c, c->conn.error);
            return;
        default:
            break;
        }
    }
    /* Work left: a socket we may write to is reported at once, so the
     * loop comes back here after serving everything else. */
    set_events(m, c, EPOLLOUT);
}

/* Read what the client sent. 0, or -1 when it was dropped. */
static int
read_client(struct manager *m, struct status_client *c)
{
    char sink[4096];
    size_t room = sizeof(sink);
    void *space = sink;

    if (!c->lingering)
        space = fcgi_record_decoder_space(&c->conn.dec, &room);
    if (room == 0) {
        drop_client(m, c, "record too large");
        return -1;
    }
    ssize_t n = read(c->w.fd, space, room);
    if (n > 0) {
        if (!c->lingering)
            fcgi_record_decoder_commit(&c->conn.dec, (size_t)n);
        return 0;
    }
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    const char *why = n == -1 ? strerror(errno) : NULL;
    if (n == 0 && !c->lingering
        && fcgi_record_decoder_buffered(&c->conn.dec) > 0)
        why = "connection closed inside a record";
    drop_client(m, c, why);
    return -1;
}

static void
on_client(struct manager *m, struct watch *w, uint32_t events)
{
    struct status_client *c = (struct status_client *)w;

    if (events & EPOLLERR) {
        drop_client(m, c, "socket error");
        return;
    }
    if ((c->events & EPOLLIN) && (events & (EPOLLIN | EPOLLHUP))) {
        if (read_client(m, c) == -1 || c->lingering)
            return;
    }
    drive(m, c);
}

/* Take fd as a new client, closing the oldest one when full. */
static void
add_client(struct manager *m, int fd, uint64_t now)
{
    struct status_server *st = &m->status;

    if (st->nclients < STATUS_MAX_CLIENTS / 2)
        st->crowded = false;
    if (st->nclients == STATUS_MAX_CLIENTS) {
        if (!st->crowded)
            log_warn("status %s: %d clients at once: closing the oldest "
                     "for each new one", st->listener.name,
                     STATUS_MAX_CLIENTS);
        st->crowded = true;
        struct status_client *oldest = st->clients[0];
        for (size_t i = 1; i < st->nclients; i++)
            if (st->clients[i]->deadline_at < oldest->deadline_at)
                oldest = st->clients[i];
        drop_client(m, oldest, "too many clients: closing the oldest");
    }
    struct status_client *c = malloc(sizeof(*c));
    if (c == NULL) {
        log_warn_errno("status: cannot take a client");
        close(fd);
        return;
    }
    status_conn_init(&c->conn);
    c->w.fd = fd;
    c->w.fn = on_client;
    c->events = EPOLLIN;
    c->deadline_at = now + STATUS_CLIENT_TIMEOUT_MS;
    c->lingering = false;
    if (loop_watch(m, &c->w, EPOLLIN) == -1) {
        free(c);
        close(fd);
        return;
    }
    st->clients[st->nclients++] = c;
}

static void
on_listener(struct manager *m, struct watch *w, uint32_t events)
{
    struct status_server *st = &m->status;
    uint64_t now = sys_now_ms();

    (void)events;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd != -1) {
            st->accept_failing = false;
            add_client(m, fd, now);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EAGAIN)
            return;
        /* Out of descriptors or memory: the socket stays readable, so
         * stop watching it for a moment rather than spin. */
        if (!st->accept_failing)
            log_warn_errno("status %s: cannot accept, pausing",
                           st->listener.name);
        st->accept_failing = true;
        loop_unwatch(m, w);
        st->watched = false;
        st->resume_at = now + ACCEPT_PAUSE_MS;
        return;
    }
}

/* --- the listening socket --------------------------------------------- */

void
status_init(struct status_server *s)
{
    *s = (struct status_server){ .listener = { .kind = "status", .fd = -1 },
                                 .ws = { { .fd = -1 }, { .fd = -1 } },
                                 .resume_at = NEVER };
}

/* What the socket and its file are given: status_socket_mode, _user and
 * _group ((uid_t)-1, (gid_t)-1: unchanged). */
static struct listen_settings
conf_settings(const struct conf *c)
{
    return (struct listen_settings){
        .kind = "status", .backlog = STATUS_BACKLOG,
        .mode = c->status_socket_mode != 0 ? c->status_socket_mode
                                           : DEFAULT_MODE,
        .uid = c->status_socket_uid, .gid = c->status_socket_gid };
}

static bool
settings_equal(const struct listen_settings *a,
               const struct listen_settings *b)
{
    return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid;
}

/* Give the socket file of l its mode and owner, through a descriptor of
 * that very file (never a symlink planted since). 0 or -1 (logged). */
static int
set_perm(const struct listener *l, const struct listen_settings *set)
{
    return sockperm_apply(l->fd, l->addr.path, set->mode, set->uid,
                          set->gid, "status", l->name);
}

static void
close_listener(struct manager *m, struct status_server *st)
{
    if (st->watched)
        loop_unwatch(m, &st->ws[st->cur]);
    st->watched = false;
    listen_close(&st->listener);
    st->ws[st->cur].fd = -1;
}

/* What the loop needs of a listener of ours: accept4 must never block.
 * One taken over from an old master gets this configuration's mode and
 * owner, as one bound anew would (a refusal is logged, and it serves
 * on). 0 or -1 (logged). */
static int
prepare(struct listener *l, const struct listen_settings *set)
{
    int flags = fcntl(l->fd, F_GETFL);

    if (flags == -1 || fcntl(l->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
        log_error_errno("status %s: cannot make it non-blocking", l->name);
        return -1;
    }
    if (l->claim_path)
        set_perm(l, set);
    return 0;
}

/* Open name (or take the socket an upgrade's old master handed over)
 * into p, and add it to the loop under the watch not in use, so that
 * switching to it cannot fail. 0, or -1 (logged, why set, errno kept;
 * nothing changed). */
static int
plan_open(struct manager *m, const char *name, struct status_plan *p,
          char *why, size_t len)
{
    struct watch *w = &m->status.ws[!m->status.cur];
    int e;

    if (listen_open_with(&p->l, name, &p->set, &m->inherited) == -1)
        goto fail;
    if (prepare(&p->l, &p->set) == -1)
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
    snprintf(why, len, "status_listen: cannot bind %s: %s", name,
             strerror(errno));
    return -1;
}

int
status_plan(struct manager *m, const struct conf *nc, struct status_plan *p,
            char *why, size_t len)
{
    struct status_server *st = &m->status;
    const char *have = st->listener.fd != -1 ? st->listener.name : NULL;

    *p = (struct status_plan){ .set = conf_settings(nc) };
    if (st->retired || nc->status_listen == NULL)
        return 0;
    if (have == NULL || strcmp(nc->status_listen, have) != 0)
        return plan_open(m, nc->status_listen, p, why, len);
    /* Kept: its new mode and owner now, before the reload says it is
     * done. A refusal is logged, and tried again at the next change. */
    if (!settings_equal(&st->set, &p->set) && st->listener.owns_path
        && set_perm(&st->listener, &p->set) == 0)
        p->applied = true;
    return 0;
}

void
status_plan_undo(struct manager *m, struct status_plan *p)
{
    struct status_server *st = &m->status;

    if (p->open) {
        loop_unwatch(m, &st->ws[!st->cur]);
        listen_close(&p->l);
        st->ws[!st->cur].fd = -1;
    } else if (p->applied && set_perm(&st->listener, &st->set) == -1) {
        log_warn("status %s: old mode and owner not restored",
                 st->listener.name);
    }
    p->open = false;
    p->applied = false;
}

void
status_commit(struct manager *m, struct status_plan *p)
{
    struct status_server *st = &m->status;

    if (st->retired)
        return;
    if (p->open) {
        close_listener(m, st);
        st->cur = !st->cur;
        st->listener = p->l;
        st->watched = true;
        st->resume_at = NEVER;
        st->set = p->set;
        log_info("status: listening on %s", st->listener.name);
        return;
    }
    if (m->conf.status_listen == NULL) {
        if (st->listener.fd != -1) {
            log_info("status %s: no longer configured: closed",
                     st->listener.name);
            close_listener(m, st);
        }
        return;
    }
    /* Noted even when refused (logged): tried again at the next change,
     * not at every reload. */
    st->set = p->set;
    if (p->applied)
        log_info("status %s: mode %04o and owner applied",
                 st->listener.name, (unsigned)p->set.mode);
}

int
status_start(struct manager *m)
{
    struct status_plan p;
    char why[512];

    if (m->conf.status_listen == NULL)
        return 0;
    if (status_plan(m, &m->conf, &p, why, sizeof(why)) == -1)
        return -1;
    status_commit(m, &p);
    return 0;
}

void
status_stop(struct manager *m)
{
    struct status_server *st = &m->status;

    while (st->nclients > 0)
        drop_client(m, st->clients[0], NULL);
    close_listener(m, st);
    status_peaks_free(&st->peaks);
    st->resume_at = NEVER;
}

void
status_handover(struct manager *m)
{
    struct status_server *st = &m->status;

    /* The new master answers from now on; our clients finish. */
    st->retired = true;
    if (st->listener.fd == -1)
        return;
    log_info("status %s: handed over to the new master",
             st->listener.name);
    /* Its file is the new master's now, whether or not it is there. */
    st->listener.owns_path = false;
    close_listener(m, st);
    st->resume_at = NEVER;
}

struct listener *
status_listener(struct manager *m)
{
    return m->status.listener.fd != -1 ? &m->status.listener : NULL;
}

uint64_t
status_next_deadline(const struct manager *m)
{
    const struct status_server *st = &m->status;
    uint64_t next = st->resume_at;

    for (size_t i = 0; i < st->nclients; i++)
        if (st->clients[i]->deadline_at < next)
            next = st->clients[i]->deadline_at;
    return next;
}

void
status_run_due(struct manager *m, uint64_t now)
{
    struct status_server *st = &m->status;

    if (st->resume_at <= now) {
        st->resume_at = NEVER;
        struct watch *w = &st->ws[st->cur];
        if (st->listener.fd != -1 && loop_watch(m, w, EPOLLIN) == 0)
            st->watched = true;
    }
    for (size_t i = st->nclients; i-- > 0;)
        if (st->clients[i]->deadline_at <= now)
            drop_client(m, st->clients[i], st->clients[i]->lingering
                                               ? NULL : "timed out");
    if (st->listener.fd != -1)
        status_sample_peaks(m, now);
}
