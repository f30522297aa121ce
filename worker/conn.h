/* The connections of a cgi or module worker: one epoll set over the
 * listening socket (fd 0) and every connection the worker holds. It
 * accepts, peeks until a whole request head is buffered, keeps
 * connections between requests, drains input left unread after a
 * response, and closes what outlives its deadline: so no client, slow,
 * silent or kept, holds the worker while another has a request. */
#ifndef FCGIPM_CONN_H
#define FCGIPM_CONN_H

#include <fcgiapp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool_conf.h"

/* Bytes peeked for a request head; a head that does not fit is read
 * with the worker waiting (CONN_SERVING with head_timed). */
#define CONN_PEEK_MAX (64 * 1024)
/* Input left unread after a response is read and thrown away for at
 * most this long and this much, with the write side shut, then the
 * connection is closed (libfcgi waited up to 2 s after every byte). */
#define CONN_LINGER_MS 2000
#define CONN_LINGER_BYTES (1024 * 1024)

enum conn_state {
    CONN_FREE,
    CONN_NEW,                   /* accepted, no request yet */
    CONN_KEPT,                  /* between requests (FCGI_KEEP_CONN) */
    CONN_SERVING,               /* handed out by conn_next */
    CONN_LINGER,                /* answered; write side shut, draining */
};

struct conn {
    FCGX_Request req;           /* req.ipcFd is the connection */
    enum conn_state state;
    uint32_t gen;               /* bumped when freed: stale events */
    bool in_epoll;
    bool queued;                /* in the ready ring */
    bool head_started;          /* a byte of the next head has come */
    bool head_timed;            /* reading the head may block: it did not
                                   fit CONN_PEEK_MAX, or libfcgi answers
                                   records in it */
    bool input_here;            /* the request's whole input was peeked:
                                   reading it cannot block */
    uint64_t deadline_at;       /* read, keep-alive or linger deadline */
    uint64_t used_at;           /* accepted, or its last request ended */
    size_t linger_left;         /* bytes still to throw away */
};

struct conn_set {
    const struct pool_conf *pc;
    const volatile sig_atomic_t *stop;  /* set once a stop is asked */
    int epfd;
    bool listening;             /* fd 0 is in the epoll set */
    uint64_t listen_again_at;   /* accept ran out of resources: pause */
    bool accept_failed;         /* said once */
    struct in_addr *allowed;    /* allowed_clients, parsed */
    size_t nallowed;
    struct conn *conns;
    size_t cap, nused;          /* slots (room + 1 spare), in use */
    size_t room;                /* connections held before one is closed
                                   or none more accepted */
    uint64_t *ready;            /* ring of conn keys to peek */
    size_t ready_head, nready, ready_size;
    bool look_due;              /* a request since the last look at the
                                   listener and the other connections */
    bool take_listen;           /* this wait accepts from the listener */
    bool listen_ready;          /* the last wait took a connection */
    unsigned direct_accepts;    /* taken since, without a wait */
    uint64_t now;
};

/* Make fd 0 non-blocking and watch it and stop_fd (readable once a stop
 * is asked, as is *stop). 0, or -1 having logged why. */
int conn_set_open(struct conn_set *cs, const struct pool_conf *pc,
                  int stop_fd, const volatile sig_atomic_t *stop);

/* Wait for a connection whose request head can be read without waiting
 * (or, head_timed, one that does not fit the peek), accepting, keeping
 * and closing connections meanwhile. NULL once a stop is asked and no
 * connection found ready is left. */
struct conn *conn_next(struct conn_set *cs);

/* Stopping: the next connection whose whole head is already here, to be
 * served before the worker leaves; every other is closed. NULL when
 * none is left. Never waits. */
struct conn *conn_next_pending(struct conn_set *cs);

/* After FCGX_Finish_r on c: keep it for the next request, close it at
 * once (its input was read to its end: drained), or drain what is left
 * without waiting for it. A connection libfcgi closed is freed. */
void conn_finish(struct conn_set *cs, struct conn *c, bool keep,
                 bool drained);

/* FCGX_Accept_r failed on c (a malformed head): close and free it. */
void conn_lost(struct conn_set *cs, struct conn *c);

/* Close every connection and the epoll set (a worker about to exit). */
void conn_set_close(struct conn_set *cs);

#endif
