/* The status socket: accept clients without blocking, drive each one's
 * FastCGI conversation (status_conn.c) with bounded buffers and a
 * deadline, and answer from the master's own view of its pools. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "sockperm.h"
#include "status.h"
#include "status_report.h"
#include "sys.h"
#include "upgrade.h"

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
#define TAKEOVER_RETRY_MS 200
/* An old master drains for at most graceful_timeout, but it lets the
 * status port go as soon as it hands over: this is plenty. */
#define TAKEOVER_GIVE_UP_MS 60000

struct client {
    struct watch w;             /* first: the loop hands us &w */
    uint32_t events;            /* what w is watched for */
    uint64_t deadline_at;
    bool lingering;             /* answered, write side shut: await EOF */
    struct status_conn conn;
};

/* What a Unix status socket's file is given: status_socket_mode, _user
 * and _group ((uid_t)-1, (gid_t)-1: unchanged). */
struct status_perm {
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* The listening socket and the file we must remove, if any. */
struct status_socket {
    struct watch w;             /* fd -1: not listening */
    bool watched;
    char *name;                 /* status_listen as configured */
    struct fcgi_addr addr;
    struct status_perm perm;
    char *path;                 /* a socket file of ours, or NULL */
    char *tmp_path;             /* upgrade: bound here, renamed onto
                                   addr.path once this master runs */
};

static struct {
    struct status_socket sock;
    char *failed;               /* a status_listen that would not bind */
    bool retired;               /* handed over to an upgrade's new master */
    bool accept_failing;        /* logged once until accept works */
    bool crowded;               /* "too many clients" logged, until the
                                   number halves */
    uint64_t retry_at;          /* upgrade: try the TCP port again */
    uint64_t give_up_at;        /* ... until then */
    uint64_t resume_at;         /* accepting paused (out of fds) until */
    struct client *clients[STATUS_MAX_CLIENTS];
    size_t nclients;
} st = {
    .sock = { .w = { .fd = -1 } },
    .retry_at = NEVER,
    .resume_at = NEVER,
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
drop_client(struct manager *m, struct client *c, const char *why)
{
    if (why != NULL)
        log_debug("status %s: closing a client: %s",
                  st.sock.name ? st.sock.name : "-", why);
    loop_unwatch(m, &c->w);
    close(c->w.fd);
    status_conn_free(&c->conn);
    for (size_t i = 0; i < st.nclients; i++) {
        if (st.clients[i] == c) {
            st.clients[i] = st.clients[--st.nclients];
            break;
        }
    }
    free(c);
}

/* Watch c for events; drops it when that fails. */
static void
set_events(struct manager *m, struct client *c, uint32_t events)
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
linger(struct manager *m, struct client *c)
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
drive(struct manager *m, struct client *c)
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
read_client(struct manager *m, struct client *c)
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
    struct client *c = (struct client *)w;

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
    if (st.nclients < STATUS_MAX_CLIENTS / 2)
        st.crowded = false;
    if (st.nclients == STATUS_MAX_CLIENTS) {
        if (!st.crowded)
            log_warn("status %s: %d clients at once: closing the oldest "
                     "for each new one", st.sock.name, STATUS_MAX_CLIENTS);
        st.crowded = true;
        struct client *oldest = st.clients[0];
        for (size_t i = 1; i < st.nclients; i++)
            if (st.clients[i]->deadline_at < oldest->deadline_at)
                oldest = st.clients[i];
        drop_client(m, oldest, "too many clients: closing the oldest");
    }
    struct client *c = malloc(sizeof(*c));
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
    st.clients[st.nclients++] = c;
}

static void
on_listener(struct manager *m, struct watch *w, uint32_t events)
{
    uint64_t now = sys_now_ms();

    (void)events;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd != -1) {
            st.accept_failing = false;
            add_client(m, fd, now);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EAGAIN)
            return;
        /* Out of descriptors or memory: the socket stays readable, so
         * stop watching it for a moment rather than spin. */
        if (!st.accept_failing)
            log_warn_errno("status %s: cannot accept, pausing",
                           st.sock.name);
        st.accept_failing = true;
        loop_unwatch(m, w);
        st.sock.watched = false;
        st.resume_at = now + ACCEPT_PAUSE_MS;
        return;
    }
}

/* --- the listening socket --------------------------------------------- */

static void
socket_close(struct manager *m, struct status_socket *s)
{
    if (s->watched)
        loop_unwatch(m, &s->w);
    /* Files go before the socket: only the open socket can tell which
     * file is ours. */
    if (s->path != NULL)
        sockperm_unlink(s->w.fd, s->path, "status", s->name);
    if (s->tmp_path != NULL)
        sockperm_unlink(s->w.fd, s->tmp_path, "status", s->name);
    if (s->w.fd != -1)
        close(s->w.fd);
    free(s->name);
    free(s->path);
    free(s->tmp_path);
    *s = (struct status_socket){ .w = { .fd = -1 } };
}

/* Whether a server answers on the Unix socket file of a: 1 yes, 0 no
 * (nothing there, or a stale file, now removed), -1 error (logged). */
static int
unix_in_use(const char *name, const struct fcgi_addr *a)
{
    struct stat sb;

    if (lstat(a->path, &sb) == -1) {
        if (errno == ENOENT)
            return 0;
        log_error_errno("status %s: cannot stat %s", name, a->path);
        return -1;
    }
    if (!S_ISSOCK(sb.st_mode)) {
        log_error("status %s: %s exists and is not a socket", name, a->path);
        return -1;
    }
    /* Never blocks: a server whose queue is full must not stall us. */
    int busy = fcgi_addr_probe_unix(a);
    if (busy == 1)
        return 1;
    if (busy == -1) {
        log_error_errno("status %s: cannot probe %s", name, a->path);
        return -1;
    }
    if (unlink(a->path) == -1 && errno != ENOENT) {
        log_error_errno("status %s: cannot remove stale %s", name, a->path);
        return -1;
    }
    return 0;
}

/* Give our socket file at path its mode and owner, through a descriptor
 * of that very file (never a symlink planted since). 0 or -1 (logged). */
static int
set_perm(const struct status_socket *s, const char *path)
{
    return sockperm_apply(s->w.fd, path, s->perm.mode, s->perm.uid,
                          s->perm.gid, "status", s->name);
}

/* Bind s->w.fd to the Unix path in s->addr, or beside it (tmp_path) when
 * takeover and the old master still answers there. 0 or -1 (logged). */
static int
bind_unix(struct status_socket *s, bool takeover)
{
    struct fcgi_addr at = s->addr;
    struct sockaddr_un *sun = (struct sockaddr_un *)&at.sa;
    int busy = unix_in_use(s->name, &s->addr);

    if (busy == -1)
        return -1;
    if (busy && !takeover) {
        log_error("status %s: another server answers on %s", s->name,
                  s->addr.path);
        return -1;
    }
    if (busy) {
        int n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s.%d",
                         s->addr.path, (int)getpid());
        if (n < 0 || (size_t)n >= sizeof(sun->sun_path)) {
            log_error("status %s: path too long to take over", s->name);
            return -1;
        }
        at.salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n
                               + 1);
        if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
            log_error_errno("status %s: cannot remove %s", s->name,
                            sun->sun_path);
            return -1;
        }
    }
    /* The umask decides the mode bind() gives the file: never looser
     * than asked, even briefly (the master is single-threaded). */
    mode_t old = umask(~s->perm.mode & 0777);
    int rc = bind(s->w.fd, (struct sockaddr *)&at.sa, at.salen);
    umask(old);
    if (rc == -1) {
        log_error_errno("status %s: cannot bind", s->name);
        return -1;
    }
    char **owned = busy ? &s->tmp_path : &s->path;
    *owned = strdup(sun->sun_path);
    if (*owned == NULL) {
        log_error_errno("status %s: cannot set up %s", s->name,
                        sun->sun_path);
        /* Ours, and not known to socket_close: remove it here. */
        sockperm_unlink(s->w.fd, sun->sun_path, "status", s->name);
        return -1;
    }
    /* On failure socket_close removes the file, while it is ours. */
    return set_perm(s, sun->sun_path);
}

/* TCP, or an abstract Unix name: no file to check, own or remove (and no
 * mode: any local process may connect to an abstract socket). */
static int
bind_direct(struct status_socket *s)
{
    int one = 1;

    if (s->addr.family == AF_UNIX)
        return bind(s->w.fd, (struct sockaddr *)&s->addr.sa, s->addr.salen);
    if (setsockopt(s->w.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))
            == -1
        || (s->addr.family == AF_INET6
            && setsockopt(s->w.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
                          sizeof(one)) == -1))
        return -1;
    return bind(s->w.fd, (struct sockaddr *)&s->addr.sa, s->addr.salen);
}

enum open_result { OPEN_OK, OPEN_FAILED, OPEN_RETRY };

/* Listen on name into *s (not yet watched). RETRY: an upgrade's old
 * master still holds the TCP port or the abstract name. */
static enum open_result
socket_open(struct status_socket *s, const char *name,
            const struct status_perm *perm, bool takeover)
{
    char err[256];

    *s = (struct status_socket){ .w = { .fd = -1, .fn = on_listener },
                                 .perm = *perm, .name = strdup(name) };
    if (s->name == NULL) {
        log_error_errno("status %s: out of memory", name);
        return OPEN_FAILED;
    }
    if (fcgi_addr_parse(name, &s->addr, err, sizeof(err)) == -1) {
        log_error("status %s: %s", name, err);
        return OPEN_FAILED;
    }
    s->w.fd = socket(s->addr.family,
                     SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->w.fd == -1) {
        log_error_errno("status %s: cannot create socket", name);
        return OPEN_FAILED;
    }
    if (s->addr.family == AF_UNIX && !fcgi_addr_is_abstract(&s->addr)) {
        if (bind_unix(s, takeover) == -1)
            return OPEN_FAILED;
    } else if (bind_direct(s) == -1) {
        if (errno == EADDRINUSE && takeover)
            return OPEN_RETRY;
        log_error_errno("status %s: cannot bind", name);
        return OPEN_FAILED;
    }
    if (listen(s->w.fd, STATUS_BACKLOG) == -1) {
        log_error_errno("status %s: cannot listen", name);
        return OPEN_FAILED;
    }
    return OPEN_OK;
}

static struct status_perm
conf_perm(const struct manager *m)
{
    return (struct status_perm){
        .mode = m->conf.status_socket_mode != 0 ? m->conf.status_socket_mode
                                                : DEFAULT_MODE,
        .uid = m->conf.status_socket_uid, .gid = m->conf.status_socket_gid };
}

static bool
perm_equal(const struct status_perm *a, const struct status_perm *b)
{
    return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid;
}

/* Open name as the status socket, replacing the current one only once
 * the new one listens. 0, or -1 (logged; the old one stays). */
static int
listen_on(struct manager *m, const char *name, bool takeover)
{
    struct status_socket s;
    struct status_perm perm = conf_perm(m);

    switch (socket_open(&s, name, &perm, takeover)) {
    case OPEN_FAILED:
        socket_close(m, &s);
        return -1;
    case OPEN_RETRY:
        socket_close(m, &s);
        if (st.retry_at == NEVER) {
            log_info("status %s: the old master still holds it; retrying",
                     name);
            st.give_up_at = sys_now_ms() + TAKEOVER_GIVE_UP_MS;
        } else if (sys_now_ms() >= st.give_up_at) {
            log_error("status %s: still in use; giving up", name);
            st.retry_at = NEVER;
            return -1;
        }
        st.retry_at = sys_now_ms() + TAKEOVER_RETRY_MS;
        free(st.sock.name);
        st.sock.name = strdup(name);
        return 0;
    default:
        break;
    }
    socket_close(m, &st.sock);
    st.sock = s;
    st.retry_at = NEVER;
    st.resume_at = NEVER;
    if (loop_watch(m, &st.sock.w, EPOLLIN) == -1) {
        socket_close(m, &st.sock);
        return -1;
    }
    st.sock.watched = true;
    log_info("status: listening on %s", name);
    return 0;
}

int
status_start(struct manager *m)
{
    if (m->conf.status_listen == NULL)
        return 0;
    return listen_on(m, m->conf.status_listen, upgrade_parent() != 0);
}

void
status_stop(struct manager *m)
{
    while (st.nclients > 0)
        drop_client(m, st.clients[0], NULL);
    socket_close(m, &st.sock);
    status_peaks_free();
    free(st.failed);
    st.failed = NULL;
    st.retry_at = st.resume_at = NEVER;
}

/* An upgrade's new master, now running: move our socket onto the path
 * the old master's clients use. */
static void
finish_takeover(void)
{
    struct status_socket *s = &st.sock;

    if (rename(s->tmp_path, s->addr.path) == -1) {
        log_error_errno("status %s: cannot take %s over", s->name,
                        s->addr.path);
        s->path = s->tmp_path;
    } else {
        free(s->path);
        s->path = strdup(s->addr.path);
        free(s->tmp_path);
        log_info("status %s: took the socket over from the old master",
                 s->name);
    }
    s->tmp_path = NULL;
}

/* Follow the configuration: a new address after a reload, a new mode,
 * none at all. */
static void
follow_conf(struct manager *m, uint64_t now)
{
    const char *want = m->conf.status_listen;
    struct status_socket *s = &st.sock;

    if (s->tmp_path != NULL)
        finish_takeover();
    if (st.retry_at <= now) {
        char *name = strdup(s->name);
        if (name != NULL && listen_on(m, name, true) == -1)
            st.retry_at = NEVER;
        free(name);
    }
    if (want == NULL) {
        if (s->name != NULL)
            log_info("status %s: no longer configured: closed", s->name);
        if (s->name != NULL)
            socket_close(m, s);
        st.retry_at = NEVER;
        return;
    }
    if (s->name != NULL && strcmp(want, s->name) == 0) {
        struct status_perm perm = conf_perm(m);
        if (s->path != NULL && !perm_equal(&s->perm, &perm)) {
            /* Noted even when it fails (logged): not retried on every
             * turn of the loop, but at the next change. */
            s->perm = perm;
            set_perm(s, s->path);
        }
        return;
    }
    if (st.failed != NULL && strcmp(want, st.failed) == 0)
        return;
    free(st.failed);
    st.failed = NULL;
    if (listen_on(m, want, false) == -1)
        st.failed = strdup(want);
}

uint64_t
status_next_deadline(const struct manager *m)
{
    uint64_t next = st.retry_at < st.resume_at ? st.retry_at : st.resume_at;

    (void)m;
    for (size_t i = 0; i < st.nclients; i++)
        if (st.clients[i]->deadline_at < next)
            next = st.clients[i]->deadline_at;
    return next;
}

void
status_run_due(struct manager *m, uint64_t now)
{
    if (!st.retired && m->upgrade.handed_over) {
        /* The new master answers from now on; our clients finish. */
        st.retired = true;
        if (st.sock.name != NULL)
            log_info("status %s: handed over to the new master",
                     st.sock.name);
        /* The new master's socket may sit at our path already: not ours
         * to remove, and no surprise. */
        struct status_socket *s = &st.sock;
        if (s->path != NULL
            && sockperm_check(s->w.fd, s->path) == SOCKPERM_REPLACED) {
            free(s->path);
            s->path = NULL;
        }
        socket_close(m, &st.sock);
        st.retry_at = st.resume_at = NEVER;
    }
    if (!st.retired)
        follow_conf(m, now);
    if (st.resume_at <= now) {
        st.resume_at = NEVER;
        if (st.sock.w.fd != -1 && loop_watch(m, &st.sock.w, EPOLLIN) == 0)
            st.sock.watched = true;
    }
    for (size_t i = st.nclients; i-- > 0;)
        if (st.clients[i]->deadline_at <= now)
            drop_client(m, st.clients[i], st.clients[i]->lingering
                                              ? NULL : "timed out");
    if (st.sock.w.fd != -1)
        status_sample_peaks(m, now);
}
