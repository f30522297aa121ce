/* Peeking for a whole request head (conn.h): whether a connection's
 * next head is all in its socket buffer, read with MSG_PEEK so that
 * libfcgi reads it again, and, once a stop is asked, the heads a
 * worker still waits for (within read_timeout) before it leaves. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "conn_int.h"
#include "fcgi_record.h"
#include "log.h"

#define FIRST_BYTES_MS 1        /* see head_check */
#define PARTIAL_LOOK_MS 10      /* stopping: a part-sent head's next look */

/* Peeked heads and thrown-away input land here: one worker, one thread. */
uint8_t peek_buf[CONN_PEEK_MAX];

/* No whole head yet: its deadline, and an event when more comes. */
static enum head_check
head_wait(struct conn_set *cs, struct conn *c, bool some)
{
    if (some && !c->head_started) {
        c->head_started = true;
        c->deadline_at = cs->now + cs->pc->read_timeout_ms;
    }
    if (conn_watch(cs, c) == -1) {
        conn_close(cs, c);
        return HEAD_GONE;
    }
    return HEAD_WAIT;
}

/* Reading c's head may block (it does not fit the peek, or libfcgi
 * answers records in it): serve.c reads it with a timer, within
 * read_timeout from now if its head had not begun. */
static enum head_check
head_timed(struct conn_set *cs, struct conn *c)
{
    if (!c->head_started) {
        c->head_started = true;
        c->deadline_at = cs->now + cs->pc->read_timeout_ms;
    }
    c->head_timed = true;
    return HEAD_READY;
}

/* Whether c's next request head is whole in its socket buffer. */
enum head_check
head_check(struct conn_set *cs, struct conn *c)
{
    ssize_t n = recv(c->req.ipcFd, peek_buf, sizeof(peek_buf),
                     MSG_PEEK | MSG_DONTWAIT);

    /* Taken between the client's connect and its first write: its bytes
     * are usually a few microseconds away. One short poll costs less
     * than watching it and pausing the listening socket, which a
     * connection seen empty at first needs (RIPEN_MS). */
    if (n == -1 && errno == EAGAIN && c->state == CONN_NEW && !c->in_epoll
        && poll(&(struct pollfd){ .fd = c->req.ipcFd, .events = POLLIN },
                1, FIRST_BYTES_MS) == 1)
        n = recv(c->req.ipcFd, peek_buf, sizeof(peek_buf),
                 MSG_PEEK | MSG_DONTWAIT);
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK
                    || errno == EINTR))
        return head_wait(cs, c, false);
    if (n <= 0) {
        /* The web server closed a kept connection: the usual end. */
        if (n == -1)
            log_debug("pool %s: worker %d: connection %d: %s",
                      cs->pc->name, (int)getpid(), c->req.ipcFd,
                      strerror(errno));
        conn_close(cs, c);
        return HEAD_GONE;
    }
    switch (fcgi_record_scan_head(peek_buf, (size_t)n, &c->input_here)) {
    case FCGI_HEAD_COMPLETE:
        return HEAD_READY;
    case FCGI_HEAD_REPLIES:
        return head_timed(cs, c);
    case FCGI_HEAD_INVALID:
        log_debug("pool %s: worker %d: connection %d: not FastCGI 1 "
                  "records: closed", cs->pc->name, (int)getpid(),
                  c->req.ipcFd);
        conn_close(cs, c);
        return HEAD_GONE;
    case FCGI_HEAD_PARTIAL:
        break;
    }
    if ((size_t)n < sizeof(peek_buf))
        return head_wait(cs, c, true);
    return head_timed(cs, c);
}

/* Stopping: wait, with poll(2) and not the epoll set (whose stop event
 * stays readable, and whose fd 0 may no longer be the listening socket),
 * until a connection still sending its head has more bytes, or the first
 * deadline. */
static void
conn_poll_heads(struct conn_set *cs)
{
    struct pollfd *pfd = calloc(cs->cap, sizeof(*pfd));
    uint64_t first = UINT64_MAX;
    bool partial = false;
    nfds_t n = 0;
    char b;

    if (pfd == NULL) {
        log_error_errno("pool %s: worker %d: cannot wait for heads",
                        cs->pc->name, (int)getpid());
        return;
    }
    for (size_t i = 0; i < cs->cap; i++) {
        const struct conn *c = &cs->conns[i];
        if (c->state != CONN_NEW && c->state != CONN_KEPT)
            continue;
        if (c->deadline_at < first)
            first = c->deadline_at;
        /* Bytes already here keep POLLIN set: look again in a while. */
        if (recv(c->req.ipcFd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
            partial = true;
        else
            pfd[n++] = (struct pollfd){ .fd = c->req.ipcFd,
                                        .events = POLLIN };
    }
    int ms = first <= cs->now ? 0 : (int)(first - cs->now);
    if (partial && ms > PARTIAL_LOOK_MS)
        ms = PARTIAL_LOOK_MS;
    if (poll(pfd, n, ms) == -1 && errno != EINTR)
        log_error_errno("pool %s: worker %d: poll", cs->pc->name,
                        (int)getpid());
    free(pfd);
}

/* A connection accepted just before the stop, or a kept one whose next
 * head has begun, is waited for (within its read_timeout): the web
 * server has sent, or is sending, a request on it. Idle kept ones are
 * closed. */
struct conn *
conn_next_pending(struct conn_set *cs)
{
    for (;;) {
        bool waiting = false;
        cs->now = clock_now_ms();
        for (size_t i = 0; i < cs->cap; i++) {
            struct conn *c = &cs->conns[i];
            if (c->state != CONN_NEW && c->state != CONN_KEPT)
                continue;
            if (cs->now >= c->deadline_at
                || (c->state == CONN_KEPT && !c->head_started
                    && conn_quiet(c))) {
                conn_close(cs, c);
                continue;
            }
            enum head_check h = head_check(cs, c);
            if (h == HEAD_READY) {
                c->state = CONN_SERVING;
                return c;
            }
            waiting |= h == HEAD_WAIT
                       && (c->state == CONN_NEW || c->head_started);
        }
        if (!waiting)
            return NULL;
        conn_poll_heads(cs);
    }
}
