/* The status socket: accept clients without blocking, drive each one's
 * FastCGI conversation (status_conn.c) with bounded buffers and a
 * deadline, and answer from the master's own view of its pools. The
 * socket itself is a listener like a pool's (listen.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acceptor.h"
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
                  st->acc.listener.name ? st->acc.listener.name : "-", why);
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
                     "for each new one", st->acc.listener.name,
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

/* --- the listening socket --------------------------------------------- */

void
status_init(struct status_server *s)
{
    *s = (struct status_server){ .nclients = 0 };
    acceptor_init(&s->acc, "status", add_client, ACCEPTS_PER_EVENT);
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

int
status_plan(struct manager *m, const struct conf *nc, struct status_plan *p,
            char *why, size_t len)
{
    struct status_server *st = &m->status;

    *p = (struct status_plan){ .set = conf_settings(nc) };
    if (acceptor_plan(m, &st->acc, nc->status_listen, &p->set, &p->acc, why,
                      len) == -1)
        return -1;
    /* Kept: its new mode and owner now, before the reload says it is
     * done. A refusal is logged, and tried again at the next change. */
    if (p->acc.kept && !settings_equal(&st->set, &p->set)
        && st->acc.listener.owns_path
        && set_perm(&st->acc.listener, &p->set) == 0)
        p->applied = true;
    return 0;
}

void
status_plan_undo(struct manager *m, struct status_plan *p)
{
    struct status_server *st = &m->status;

    if (p->applied && set_perm(&st->acc.listener, &st->set) == -1)
        log_warn("status %s: old mode and owner not restored",
                 st->acc.listener.name);
    acceptor_undo(m, &st->acc, &p->acc);
    p->applied = false;
}

void
status_commit(struct manager *m, struct status_plan *p)
{
    struct status_server *st = &m->status;

    if (st->acc.retired)
        return;
    acceptor_commit(m, &st->acc, &p->acc, m->conf.status_listen != NULL);
    if (m->conf.status_listen == NULL)
        return;
    /* Noted even when refused (logged): tried again at the next change,
     * not at every reload. */
    st->set = p->set;
    if (p->applied)
        log_info("status %s: mode %04o and owner applied",
                 st->acc.listener.name, (unsigned)p->set.mode);
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
    acceptor_close(m, &st->acc);
    status_peaks_free(&st->peaks);
}

void
status_handover(struct manager *m)
{
    acceptor_handover(m, &m->status.acc);
}

struct listener *
status_listener(struct manager *m)
{
    return acceptor_listener(&m->status.acc);
}

uint64_t
status_next_deadline(const struct manager *m)
{
    const struct status_server *st = &m->status;
    uint64_t next = acceptor_next_deadline(&st->acc);

    for (size_t i = 0; i < st->nclients; i++)
        if (st->clients[i]->deadline_at < next)
            next = st->clients[i]->deadline_at;
    return next;
}

void
status_run_due(struct manager *m, uint64_t now)
{
    struct status_server *st = &m->status;

    acceptor_run_due(m, &st->acc, now);
    for (size_t i = st->nclients; i-- > 0;)
        if (st->clients[i]->deadline_at <= now)
            drop_client(m, st->clients[i], st->clients[i]->lingering
                                               ? NULL : "timed out");
    if (st->acc.listener.fd != -1)
        status_sample_peaks(m, now);
}
