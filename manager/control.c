/* The control socket: accept fcgipm ctl's connections without blocking,
 * refuse peers that are neither root nor the master's user, read one
 * request line with a bounded buffer and a deadline, run it
 * (control_cmd.c), and send the answer back. The socket itself is a
 * listener like a pool's (listen.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acceptor.h"
#include "control.h"
#include "control_int.h"
#include "control_proto.h"
#include "log.h"
#include "loop.h"
#include "manager.h"
#include "sys.h"
#include "upgrade.h"

#define CONTROL_BACKLOG 16
#define CONTROL_MODE 0600
#define ACCEPTS_PER_EVENT 8
/* A refused peer's further refusals are counted, not logged, for: */
#define REFUSED_QUIET_MS 10000

/* --- clients ---------------------------------------------------------- */

/* Forget c; why (NULL for an orderly end) goes to the debug log. */
static void
drop_client(struct manager *m, struct control_client *c, const char *why)
{
    struct control_server *cs = &m->control;

    if (why != NULL)
        log_debug("control %s: closing a client: %s",
                  cs->acc.listener.name ? cs->acc.listener.name : "-", why);
    loop_unwatch(m, &c->w);
    close(c->w.fd);
    status_buf_free(&c->out);
    for (size_t i = 0; i < cs->nclients; i++) {
        if (cs->clients[i] == c) {
            cs->clients[i] = cs->clients[--cs->nclients];
            break;
        }
    }
    free(c);
}

/* Watch c for events; drops it when that fails. 0, or -1 (dropped). */
static int
set_events(struct manager *m, struct control_client *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = &c->w };

    if (c->events == events)
        return 0;
    if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->w.fd, &ev) == -1) {
        log_warn_errno("control: cannot watch a client");
        drop_client(m, c, NULL);
        return -1;
    }
    c->events = events;
    return 0;
}

/* Send what is left of the answer; close once it is all sent. */
static void
flush(struct manager *m, struct control_client *c)
{
    while (c->sent < c->out.len) {
        ssize_t n = send(c->w.fd, c->out.data + c->sent, c->out.len - c->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN) {
            set_events(m, c, EPOLLOUT);
            return;
        }
        if (n == -1) {
            drop_client(m, c, strerror(errno));
            return;
        }
        c->sent += (size_t)n;
    }
    drop_client(m, c, NULL);
}

void
control_answer(struct manager *m, struct control_client *c, int code,
               const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* A data part too large to send is replaced by a short error. */
    if (c->out.failed || c->out.len > CONTROL_OUT_MAX) {
        status_buf_free(&c->out);
        code = CONTROL_EXIT_FAILED;
        snprintf(text, sizeof(text), "answer too large or out of memory");
    }
    if (control_proto_final(&c->out, code, text) == -1) {
        drop_client(m, c, "out of memory");
        return;
    }
    c->state = CONTROL_CLIENT_WRITING;
    c->wait = CONTROL_WAIT_NONE;
    c->deadline_at = sys_now_ms() + CONTROL_CLIENT_TIMEOUT_MS;
    flush(m, c);
}

void
control_wait(struct manager *m, struct control_client *c,
             enum control_wait what, uint64_t until)
{
    c->state = CONTROL_CLIENT_WAITING;
    c->wait = what;
    c->deadline_at = until;
    /* Only its close matters now: bytes it sends on are left unread, and
     * a half-close after its line (socat, nc -N) is no reason to drop
     * it. No input event, so only EPOLLHUP or EPOLLERR (always reported)
     * wake us. */
    set_events(m, c, 0);
}

/* A whole line is in c->in: run it. */
static void
take_line(struct manager *m, struct control_client *c, size_t len)
{
    struct control_request rq;
    char why[256];

    c->in[len] = '\0';
    if (len > 0 && c->in[len - 1] == '\r')
        c->in[len - 1] = '\0';
    if (control_proto_parse_line(c->in, &rq, why, sizeof(why)) == -1) {
        control_answer(m, c, CONTROL_EXIT_USAGE, "%s", why);
        return;
    }
    control_cmd_run(m, c, &rq);
}

/* Read what the client sent: a request line, in pieces or not. */
static void
read_client(struct manager *m, struct control_client *c)
{
    size_t room = sizeof(c->in) - 1 - c->inlen;
    ssize_t n = read(c->w.fd, c->in + c->inlen, room);

    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop_client(m, c, n == 0 ? "closed before a whole request"
                                 : strerror(errno));
        return;
    }
    char *nl = memchr(c->in + c->inlen, '\n', (size_t)n);
    c->inlen += (size_t)n;
    if (nl != NULL)
        take_line(m, c, (size_t)(nl - c->in));
    else if (c->inlen == sizeof(c->in) - 1)
        control_answer(m, c, CONTROL_EXIT_USAGE, "request line too long "
                       "(at most %d bytes)", CONTROL_LINE_MAX);
}

static void
on_client(struct manager *m, struct watch *w, uint32_t events)
{
    struct control_client *c = (struct control_client *)w;

    if (c->state == CONTROL_CLIENT_WAITING
        || (events & EPOLLERR && c->state != CONTROL_CLIENT_READING)) {
        /* Gone while it waited: the reload or upgrade goes on. */
        drop_client(m, c, "hung up");
        return;
    }
    if (c->state == CONTROL_CLIENT_READING)
        read_client(m, c);
    else
        flush(m, c);
}

/* --- accepting -------------------------------------------------------- */

/* Say no once on a new connection and close it; never blocks: the
 * line fits in a new socket's empty buffer, or is lost. */
static void
refuse(int fd, int code, const char *fmt, ...)
{
    struct status_buf out = { 0 };
    char text[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (control_proto_final(&out, code, text) == 0
        && send(fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
        log_debug("control: cannot tell a client why it is refused: %s",
                  strerror(errno));
    status_buf_free(&out);
    close(fd);
}

/* Log a refused peer at warn: once per uid for a while, then the count
 * of the refusals not logged meanwhile. */
static void
log_refused(struct control_server *cs, uid_t uid, uint64_t now)
{
    if (uid == cs->refused_uid && now < cs->refused_quiet_at) {
        cs->refused_more++;
        return;
    }
    log_warn("control %s: refused a client running as uid %u: only root "
             "and uid %u may control this master%s", cs->acc.listener.name,
             (unsigned)uid, (unsigned)geteuid(),
             cs->refused_more > 0 ? " (more refusals were not logged)" : "");
    cs->refused_uid = uid;
    cs->refused_quiet_at = now + REFUSED_QUIET_MS;
    cs->refused_more = 0;
}

/* Whether the peer on fd is root or the master's user. */
static bool
peer_allowed(struct manager *m, int fd, uint64_t now)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
        log_warn_errno("control: cannot read a client's credentials");
        refuse(fd, CONTROL_EXIT_NOPERM, "permission denied: credentials "
               "unknown");
        return false;
    }
    if (cred.uid == 0 || cred.uid == geteuid())
        return true;
    log_refused(&m->control, cred.uid, now);
    refuse(fd, CONTROL_EXIT_NOPERM, "permission denied: uid %u may not "
           "control this master (root and uid %u only)", (unsigned)cred.uid,
           (unsigned)geteuid());
    return false;
}

static void
add_client(struct manager *m, int fd, uint64_t now)
{
    struct control_server *cs = &m->control;

    if (!peer_allowed(m, fd, now))
        return;
    if (cs->nclients < CONTROL_MAX_CLIENTS / 2)
        cs->crowded = false;
    if (cs->nclients == CONTROL_MAX_CLIENTS) {
        if (!cs->crowded)
            log_warn("control %s: %d clients at once: refusing others "
                     "until fewer", cs->acc.listener.name,
                     CONTROL_MAX_CLIENTS);
        cs->crowded = true;
        refuse(fd, CONTROL_EXIT_FAILED, "too many control clients at once");
        return;
    }
    struct control_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        log_warn_errno("control: cannot take a client");
        close(fd);
        return;
    }
    c->w = (struct watch){ .fd = fd, .fn = on_client };
    c->events = EPOLLIN;
    c->deadline_at = now + CONTROL_CLIENT_TIMEOUT_MS;
    if (loop_watch(m, &c->w, EPOLLIN) == -1) {
        free(c);
        close(fd);
        return;
    }
    cs->clients[cs->nclients++] = c;
}

/* --- the listening socket --------------------------------------------- */

void
control_init(struct control_server *c)
{
    *c = (struct control_server){ .nclients = 0 };
    acceptor_init(&c->acc, "control", add_client, ACCEPTS_PER_EVENT);
    /* Mode 0600 is what keeps other users off the socket file. */
    c->acc.perm_needed = true;
}

static const struct listen_settings control_settings = {
    .kind = "control", .backlog = CONTROL_BACKLOG, .mode = CONTROL_MODE,
    .uid = (uid_t)-1, .gid = (gid_t)-1,
};

int
control_plan(struct manager *m, const struct conf *nc,
             struct control_plan *p, char *why, size_t len)
{
    return acceptor_plan(m, &m->control.acc, nc->control_listen,
                         &control_settings, &p->acc, why, len);
}

void
control_plan_undo(struct manager *m, struct control_plan *p)
{
    acceptor_undo(m, &m->control.acc, &p->acc);
}

void
control_commit(struct manager *m, struct control_plan *p)
{
    acceptor_commit(m, &m->control.acc, &p->acc,
                    m->conf.control_listen != NULL);
}

int
control_start(struct manager *m)
{
    struct control_plan p;
    char why[512];

    if (control_plan(m, &m->conf, &p, why, sizeof(why)) == -1)
        return -1;
    control_commit(m, &p);
    return 0;
}

void
control_stop(struct manager *m)
{
    struct control_server *cs = &m->control;

    while (cs->nclients > 0)
        drop_client(m, cs->clients[0], NULL);
    acceptor_close(m, &cs->acc);
}

void
control_handover(struct manager *m)
{
    acceptor_handover(m, &m->control.acc);
}

struct listener *
control_listener(struct manager *m)
{
    return acceptor_listener(&m->control.acc);
}

/* --- waiting clients, deadlines --------------------------------------- */

void
control_result_set(struct control_result *r, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
    r->code = code;
    r->set = true;
}

void
control_take_results(struct manager *m)
{
    struct control_server *cs = &m->control;

    /* Backwards: an answered client may be dropped, and the last one
     * takes its place. */
    for (size_t i = cs->nclients; i-- > 0;) {
        struct control_client *c = cs->clients[i];
        const struct control_result *r =
            c->wait == CONTROL_WAIT_RELOAD ? &m->reload_result
            : c->wait == CONTROL_WAIT_UPGRADE ? &m->upgrade_result : NULL;
        if (r == NULL)
            continue;
        if (r->set)
            control_answer(m, c, r->code, "%s", r->text);
        else if (m->state != RUN_SERVING && !upgrade_in_progress(m))
            control_answer(m, c, CONTROL_EXIT_FAILED, "the master is "
                           "stopping");
    }
    m->reload_result.set = false;
    m->upgrade_result.set = false;
}

bool
control_busy(const struct manager *m)
{
    const struct control_server *cs = &m->control;

    for (size_t i = 0; i < cs->nclients; i++)
        if (cs->clients[i]->state == CONTROL_CLIENT_WRITING)
            return true;
    return false;
}

uint64_t
control_next_deadline(const struct manager *m)
{
    const struct control_server *cs = &m->control;
    uint64_t next = acceptor_next_deadline(&cs->acc);

    for (size_t i = 0; i < cs->nclients; i++)
        if (cs->clients[i]->deadline_at < next)
            next = cs->clients[i]->deadline_at;
    return next;
}

void
control_run_due(struct manager *m, uint64_t now)
{
    struct control_server *cs = &m->control;

    acceptor_run_due(m, &cs->acc, now);
    for (size_t i = cs->nclients; i-- > 0;) {
        struct control_client *c = cs->clients[i];
        if (c->deadline_at > now)
            continue;
        if (c->state == CONTROL_CLIENT_WAITING)
            control_answer(m, c, CONTROL_EXIT_FAILED, "no result in time");
        else
            drop_client(m, c, "timed out");
    }
}
