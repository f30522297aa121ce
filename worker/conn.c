/* The connection set of a cgi or module worker (conn.h): accept, keep,
 * linger and expire, all in one epoll set, so that the worker only ever
 * waits in epoll_wait or in a request. conn_head.c peeks for the heads. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "conn_int.h"
#include "log.h"

#define KEY_LISTEN UINT64_MAX
#define KEY_STOP (UINT64_MAX - 1)
#define PAUSE_MS 100            /* after accept ran out of descriptors */
/* A connection accepted before its first bytes came: while it is this
 * young the worker accepts no other, so that connections go to workers
 * that can serve them at once. Older, it is a slow client, held only by
 * its read_timeout. */
#define RIPEN_MS 50
#define NEVENTS 64
#define DIRECT_ACCEPTS_MAX 8    /* accepts in a row without a wait */

static uint64_t
conn_key(const struct conn_set *cs, const struct conn *c)
{
    return (uint64_t)c->gen << 32 | (uint64_t)(c - cs->conns);
}

/* The connection a key names, or NULL if it was freed since. */
static struct conn *
conn_of(struct conn_set *cs, uint64_t key)
{
    size_t i = (size_t)(key & 0xffffffffu);

    if (i >= cs->cap || cs->conns[i].state == CONN_FREE
        || cs->conns[i].gen != (uint32_t)(key >> 32))
        return NULL;
    return &cs->conns[i];
}

static void
conn_queue(struct conn_set *cs, struct conn *c)
{
    if (c->queued)
        return;
    if (cs->nready == cs->ready_size) {
        /* Cannot happen (conn_set_open sized it); left to its deadline. */
        log_error("pool %s: worker %d: ready ring full: connection %d "
                  "waits for its deadline", cs->pc->name, (int)getpid(),
                  c->req.ipcFd);
        return;
    }
    c->queued = true;
    cs->ready[(cs->ready_head + cs->nready++) % cs->ready_size] =
        conn_key(cs, c);
}

static struct conn *
conn_pop(struct conn_set *cs)
{
    while (cs->nready > 0) {
        uint64_t key = cs->ready[cs->ready_head];
        cs->ready_head = (cs->ready_head + 1) % cs->ready_size;
        cs->nready--;
        struct conn *c = conn_of(cs, key);
        if (c != NULL) {
            c->queued = false;
            return c;
        }
    }
    return NULL;
}

static void
conn_free(struct conn_set *cs, struct conn *c)
{
    c->state = CONN_FREE;
    c->gen++;
    c->queued = false;
    c->in_epoll = false;
    c->req.ipcFd = -1;
    cs->nused--;
}

/* Out of the epoll set first: a descriptor a module's child inherited
 * would otherwise stay in it after close. */
void
conn_close(struct conn_set *cs, struct conn *c)
{
    int fd = c->req.ipcFd;

    if (c->in_epoll && epoll_ctl(cs->epfd, EPOLL_CTL_DEL, fd, NULL) == -1)
        log_warn_errno("pool %s: worker %d: cannot unwatch connection %d",
                       cs->pc->name, (int)getpid(), fd);
    if (close(fd) == -1)
        log_debug("pool %s: worker %d: closing connection %d: %s",
                  cs->pc->name, (int)getpid(), fd, strerror(errno));
    conn_free(cs, c);
}

/* Edge-triggered: an event per arrival, none for bytes left unread. */
int
conn_watch(struct conn_set *cs, struct conn *c)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET,
                              .data.u64 = conn_key(cs, c) };

    if (c->in_epoll)
        return 0;
    if (epoll_ctl(cs->epfd, EPOLL_CTL_ADD, c->req.ipcFd, &ev) == -1) {
        log_error_errno("pool %s: worker %d: cannot watch connection %d",
                        cs->pc->name, (int)getpid(), c->req.ipcFd);
        return -1;
    }
    c->in_epoll = true;
    return 0;
}

/* Read and throw away what a lingering connection has sent; close it at
 * its end, at an error, or past its byte budget. */
static void
linger_read(struct conn_set *cs, struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->req.ipcFd, peek_buf, sizeof(peek_buf),
                         MSG_DONTWAIT);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0 || (size_t)n >= c->linger_left) {
            if (n > 0)
                log_debug("pool %s: worker %d: connection %d: unread "
                          "input over %d bytes: closed", cs->pc->name,
                          (int)getpid(), c->req.ipcFd, CONN_LINGER_BYTES);
            conn_close(cs, c);
            return;
        }
        c->linger_left -= (size_t)n;
    }
}

static const char *
conn_expiry_reason(const struct conn *c)
{
    if (c->state == CONN_LINGER)
        return "input still coming after the linger time";
    if (c->state == CONN_KEPT && !c->head_started)
        return "kept connection idle for keepalive_timeout";
    return "no whole request within read_timeout";
}

/* Whether nothing has come on c since we last looked: a kept
 * connection is closed only then, so that a request the web server sent
 * just now is served, not reset (one in flight at the very moment of the
 * close still meets it: nginx retries a GET on another connection). */
bool
conn_quiet(const struct conn *c)
{
    char b;

    return recv(c->req.ipcFd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == -1
           && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void
conn_expire(struct conn_set *cs)
{
    for (size_t i = 0; i < cs->cap; i++) {
        struct conn *c = &cs->conns[i];
        if (c->state == CONN_FREE || c->state == CONN_SERVING || c->queued
            || cs->now < c->deadline_at)
            continue;
        if (c->state == CONN_KEPT && !c->head_started && !conn_quiet(c)) {
            conn_queue(cs, c);
            continue;
        }
        log_debug("pool %s: worker %d: connection %d: %s: closed",
                  cs->pc->name, (int)getpid(), c->req.ipcFd,
                  conn_expiry_reason(c));
        conn_close(cs, c);
    }
}

/* The connection to close for room: the kept one idle the longest (the
 * web server reuses the ones it freed last, so that one is the least
 * likely to be in use), else one still sending its head, else one
 * lingering. Checking that nothing has come on the kept one first made
 * nginx fail requests in keepalive.t: the check steers the choice to
 * connections nginx is about to reuse. NULL if none. */
static struct conn *
conn_victim(struct conn_set *cs)
{
    struct conn *victim = NULL;
    int best = 0;

    for (size_t i = 0; i < cs->cap; i++) {
        struct conn *c = &cs->conns[i];
        int rank = c->state == CONN_KEPT && !c->head_started ? 3
                   : c->state == CONN_LINGER ? 1
                   : c->state == CONN_NEW || c->state == CONN_KEPT ? 2 : 0;
        if (rank > best || (rank == best && rank > 0
                            && c->used_at < victim->used_at)) {
            victim = c;
            best = rank;
        }
    }
    return victim;
}

static void
conn_evict(struct conn_set *cs, struct conn *victim)
{
    log_debug("pool %s: worker %d: connection %d closed to make room "
              "(keepalive_max %u)", cs->pc->name, (int)getpid(),
              victim->req.ipcFd, cs->pc->keepalive_max);
    conn_close(cs, victim);
}

static bool
conn_client_allowed(const struct conn_set *cs,
                    const struct sockaddr_storage *sa)
{
    struct in_addr a;

    if (cs->nallowed == 0 || sa->ss_family == AF_UNIX)
        return true;
    if (sa->ss_family == AF_INET) {
        a = ((const struct sockaddr_in *)sa)->sin_addr;
    } else {
        const struct in6_addr *a6 =
            &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (sa->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(a6))
            return false;
        memcpy(&a, &a6->s6_addr[12], sizeof(a));
    }
    for (size_t i = 0; i < cs->nallowed; i++)
        if (cs->allowed[i].s_addr == a.s_addr)
            return true;
    return false;
}

static void
listen_watch(struct conn_set *cs, bool on)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
                              .data.u64 = KEY_LISTEN };

    if (on == cs->listening)
        return;
    if (epoll_ctl(cs->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, 0,
                  &ev) == -1) {
        log_error_errno("pool %s: worker %d: cannot %s the listening "
                        "socket", cs->pc->name, (int)getpid(),
                        on ? "watch" : "unwatch");
        cs->listen_again_at = cs->now + PAUSE_MS;
        return;
    }
    cs->listening = on;
}

/* accept4 failed: the usual races pass; running out of descriptors or
 * memory pauses accepting (level-triggered, it would spin). */
static void
accept_failed(struct conn_set *cs)
{
    switch (errno) {
    case EAGAIN:
#if EAGAIN != EWOULDBLOCK
    case EWOULDBLOCK:
#endif
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
        return;
    }
    if (!cs->accept_failed)
        log_error_errno("pool %s: worker %d: accept (pausing %d ms)",
                        cs->pc->name, (int)getpid(), PAUSE_MS);
    cs->accept_failed = true;
    cs->listen_again_at = cs->now + PAUSE_MS;
}

static struct conn *
conn_alloc(struct conn_set *cs, int fd)
{
    for (size_t i = 0; i < cs->cap; i++) {
        struct conn *c = &cs->conns[i];
        if (c->state != CONN_FREE)
            continue;
        FCGX_InitRequest(&c->req, -1, 0);
        c->req.ipcFd = fd;
        c->state = CONN_NEW;
        /* Its read_timeout runs from now, not from its first byte. */
        c->head_started = true;
        c->head_timed = c->input_here = c->in_epoll = c->queued = false;
        c->used_at = cs->now;
        c->deadline_at = cs->now + cs->pc->read_timeout_ms;
        cs->nused++;
        return c;
    }
    return NULL;
}

/* Whether a connection was taken (and queued). */
static bool
accept_one(struct conn_set *cs)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    int one = 1;
    int fd = accept4(0, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);

    if (fd == -1) {
        accept_failed(cs);
        return false;
    }
    cs->accept_failed = false;
    if (!conn_client_allowed(cs, &sa)) {
        log_debug("pool %s: worker %d: connection from a client not in "
                  "allowed_clients: closed", cs->pc->name, (int)getpid());
        close(fd);
        return false;
    }
    if ((sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
        && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
        log_debug("pool %s: worker %d: TCP_NODELAY: %s", cs->pc->name,
                  (int)getpid(), strerror(errno));
    struct conn *victim;
    if (cs->nused >= cs->room && (victim = conn_victim(cs)) != NULL)
        conn_evict(cs, victim);
    struct conn *c = conn_alloc(cs, fd);
    if (c == NULL) {            /* cannot happen: a slot is spare */
        log_error("pool %s: worker %d: no room for a connection: closed",
                  cs->pc->name, (int)getpid());
        close(fd);
        return false;
    }
    conn_queue(cs, c);
    return true;
}

/* When the youngest connection still waiting for its first head stops
 * being young (RIPEN_MS), or 0 if there is none. */
static uint64_t
conn_ripe_at(const struct conn_set *cs)
{
    uint64_t at = 0;

    for (size_t i = 0; i < cs->cap; i++) {
        const struct conn *c = &cs->conns[i];
        if (c->state == CONN_NEW && c->used_at + RIPEN_MS > cs->now
            && c->used_at + RIPEN_MS > at)
            at = c->used_at + RIPEN_MS;
    }
    return at;
}

/* Whether the worker takes a connection now: not stopping, not paused,
 * holding no young connection, and not full of connections none of
 * which may be closed (each has a request coming; they end soon, or at
 * read_timeout). */
static bool
conn_may_accept(struct conn_set *cs)
{
    return !*cs->stop && cs->now >= cs->listen_again_at
           && conn_ripe_at(cs) == 0
           && (cs->nused < cs->room || conn_victim(cs) != NULL);
}

/* Before a wait: whether it accepts, and the listening socket watched
 * accordingly. Not watching (rather than ignoring its events) matters
 * while the worker sleeps: with EPOLLEXCLUSIVE, a wake-up given to us is
 * one no other worker gets. The kernel counts one against an epoll set
 * only when a thread sleeps in it, so a look that does not wait leaves
 * the socket watched and ignores it: no epoll_ctl between requests. */
static void
conn_listen_decide(struct conn_set *cs, bool block)
{
    cs->take_listen = conn_may_accept(cs);
    if (block || cs->take_listen)
        listen_watch(cs, cs->take_listen);
    /* Still watched for a sleep (taking it out failed): a wake-up it
     * gets must be acted on, as before the look learnt to ignore one. */
    if (block && cs->listening && !*cs->stop)
        cs->take_listen = true;
}

static int
conn_wait_ms(const struct conn_set *cs)
{
    uint64_t first = UINT64_MAX;
    uint64_t ripe = conn_ripe_at(cs);

    if (!cs->listening && !*cs->stop)
        first = ripe > cs->listen_again_at ? ripe : cs->listen_again_at;
    for (size_t i = 0; i < cs->cap; i++) {
        const struct conn *c = &cs->conns[i];
        if (c->state != CONN_FREE && c->state != CONN_SERVING
            && c->deadline_at < first)
            first = c->deadline_at;
    }
    if (first == UINT64_MAX)
        return -1;
    return first <= cs->now ? 0 : (int)(first - cs->now);
}

/* A look between requests accepts too: a connection still queued then
 * was taken by no idle worker (the kernel wakes one at its arrival), and
 * a worker whose kept connections always have requests must not starve
 * it. */
static void
conn_dispatch(struct conn_set *cs, uint64_t key)
{
    struct conn *c;

    if (key == KEY_STOP)
        return;                 /* *cs->stop says it */
    /* Taken even when a stop came with it: the kernel woke this worker
     * alone for the connection, and the others asleep are not woken for
     * it again. It is served before the worker leaves
     * (conn_next_pending). */
    if (key == KEY_LISTEN) {
        if (cs->take_listen)
            cs->listen_ready = accept_one(cs);
        return;
    }
    if ((c = conn_of(cs, key)) == NULL)
        return;
    if (c->state == CONN_LINGER)
        linger_read(cs, c);
    else if (c->state != CONN_SERVING)
        conn_queue(cs, c);
}

/* One wait: events, then deadlines. */
static void
conn_wait(struct conn_set *cs, bool block)
{
    struct epoll_event ev[NEVENTS];

    conn_listen_decide(cs, block);
    cs->look_due = false;
    cs->listen_ready = false;
    cs->direct_accepts = 0;
    int n = epoll_wait(cs->epfd, ev, NEVENTS,
                       block ? conn_wait_ms(cs) : 0);

    if (n == -1 && errno != EINTR)
        log_error_errno("pool %s: worker %d: epoll_wait", cs->pc->name,
                        (int)getpid());
    cs->now = clock_now_ms();
    for (int i = 0; i < n; i++)
        conn_dispatch(cs, ev[i].data.u64);
    conn_expire(cs);
}

/* Connections were waiting at the last wait: take the next without
 * waiting, a few in a row (then a wait gives kept connections and
 * deadlines their turn), or any number while the worker holds no other
 * connection. Under load this saves an epoll_wait per request. Whether
 * one was taken. */
static bool
conn_accept_direct(struct conn_set *cs)
{
    if (!cs->listen_ready || !cs->listening || cs->nused >= cs->room
        || (cs->direct_accepts >= DIRECT_ACCEPTS_MAX && cs->nused > 0)
        || !conn_may_accept(cs))
        return false;
    cs->direct_accepts++;
    if (!accept_one(cs))
        return false;
    /* Held alone, it needs no look before it: nothing else could have a
     * turn but the listening socket, and that has just had one. */
    if (cs->nused == 1)
        cs->look_due = false;
    return true;
}

struct conn *
conn_next(struct conn_set *cs)
{
    for (;;) {
        struct conn *c;
        cs->now = clock_now_ms();
        /* Kept connections that always have a next request would keep
         * the ring from emptying: after each request, look at the rest
         * (accepts, other connections, deadlines) without waiting. */
        if (cs->nready > 0 && cs->look_due && !*cs->stop)
            conn_wait(cs, false);
        while ((c = conn_pop(cs)) != NULL)
            if (head_check(cs, c) == HEAD_READY) {
                c->state = CONN_SERVING;
                cs->look_due = true;
                return c;
            }
        if (*cs->stop)
            return NULL;
        if (!conn_accept_direct(cs))
            conn_wait(cs, true);
    }
}

/* Shut our side, so the client sees the end at once, and throw away what
 * it still sends, within CONN_LINGER_MS and CONN_LINGER_BYTES: closing
 * with input unread would reset the connection, and a reset can destroy
 * the response before the client has read it. */
static void
conn_linger(struct conn_set *cs, struct conn *c)
{
    if (shutdown(c->req.ipcFd, SHUT_WR) == -1 || conn_watch(cs, c) == -1) {
        conn_close(cs, c);
        return;
    }
    c->state = CONN_LINGER;
    c->linger_left = CONN_LINGER_BYTES;
    c->deadline_at = cs->now + CONN_LINGER_MS;
    linger_read(cs, c);
}

void
conn_finish(struct conn_set *cs, struct conn *c, bool keep, bool drained)
{
    cs->now = clock_now_ms();
    if (c->req.ipcFd == -1) {   /* libfcgi closed it: a write failed */
        conn_free(cs, c);
        return;
    }
    c->used_at = cs->now;
    c->head_started = c->head_timed = c->input_here = false;
    if (keep) {
        c->state = CONN_KEPT;
        c->deadline_at = cs->now + cs->pc->keepalive_timeout_ms;
        conn_queue(cs, c);
    } else if (drained) {
        conn_close(cs, c);
    } else {
        conn_linger(cs, c);
    }
}

void
conn_lost(struct conn_set *cs, struct conn *c)
{
    if (c->req.ipcFd == -1)
        conn_free(cs, c);
    else
        conn_close(cs, c);
}

/* allowed_clients as addresses; conf.c checked each is IPv4. */
static int
conn_parse_allowed(struct conn_set *cs, const struct pool_conf *pc)
{
    if (pc->nallowed_clients == 0)
        return 0;
    cs->allowed = calloc(pc->nallowed_clients, sizeof(*cs->allowed));
    if (cs->allowed == NULL)
        return -1;
    for (size_t i = 0; i < pc->nallowed_clients; i++)
        if (inet_pton(AF_INET, pc->allowed_clients[i], &cs->allowed[i]) == 1)
            cs->nallowed++;
    return 0;
}

/* fd 0 is shared with every worker of the pool: making it non-blocking
 * is what lets several epoll sets race for a connection without one
 * blocking in accept() while its kept connections have requests. An
 * exec worker makes it blocking again before its program starts. */
int
conn_set_open(struct conn_set *cs, const struct pool_conf *pc, int stop_fd,
              const volatile sig_atomic_t *stop)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = KEY_STOP };
    int fl = fcntl(0, F_GETFL);

    memset(cs, 0, sizeof(*cs));
    cs->pc = pc;
    cs->stop = stop;
    /* room: the kept connections, the one being taken, and one draining.
     * One slot more is spare: a connection accepted when its victim has
     * just turned out to have a request coming (so cannot be closed) is
     * never refused: a web server does not retry a new connection. */
    cs->room = (size_t)pc->keepalive_max + 2;
    cs->cap = cs->room + 1;
    cs->conns = calloc(cs->cap, sizeof(*cs->conns));
    /* A key stays in the ring after its connection is freed, until
     * popped: room for every live one and as many stale. */
    cs->ready_size = 2 * cs->cap + NEVENTS;
    cs->ready = calloc(cs->ready_size, sizeof(*cs->ready));
    cs->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (cs->conns == NULL || cs->ready == NULL || cs->epfd == -1
        || conn_parse_allowed(cs, pc) == -1) {
        log_error_errno("pool %s: worker %d: cannot set up its connections",
                        pc->name, (int)getpid());
        return -1;
    }
    if (fl == -1 || fcntl(0, F_SETFL, fl | O_NONBLOCK) == -1
        || epoll_ctl(cs->epfd, EPOLL_CTL_ADD, stop_fd, &ev) == -1) {
        log_error_errno("pool %s: worker %d: cannot watch its sockets",
                        pc->name, (int)getpid());
        return -1;
    }
    cs->now = clock_now_ms();
    listen_watch(cs, true);
    return cs->listening ? 0 : -1;
}

void
conn_set_close(struct conn_set *cs)
{
    for (size_t i = 0; i < cs->cap; i++)
        if (cs->conns[i].state != CONN_FREE)
            conn_close(cs, &cs->conns[i]);
    if (cs->epfd != -1)
        close(cs->epfd);
    cs->epfd = -1;
    free(cs->conns);
    free(cs->ready);
    free(cs->allowed);
    cs->conns = NULL;
    cs->ready = NULL;
    cs->allowed = NULL;
    cs->cap = 0;
}
