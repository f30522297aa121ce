/* The control socket (control_listen): fcgipm ctl's requests, answered
 * by the master itself without ever blocking. Only root and the
 * master's own user may talk to it (SO_PEERCRED); its file is 0600.
 * listen.c binds it like a pool's socket, and an upgrade hands it to
 * the new master by descriptor. */
#ifndef FCGIPM_CONTROL_H
#define FCGIPM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "acceptor.h"
#include "conf.h"
#include "listen.h"
#include "loop.h"

/* How long a client has to send its request line, and then to read
 * its answer; a reload or upgrade it waits for is not counted. */
#define CONTROL_CLIENT_TIMEOUT_MS 5000
/* Clients at once; more are told so and closed. */
#define CONTROL_MAX_CLIENTS 32

struct manager;
struct control_client;

/* The control server, in struct manager. */
struct control_server {
    struct acceptor acc;        /* the socket, its watches, its pauses */
    struct control_client *clients[CONTROL_MAX_CLIENTS];
    size_t nclients;
    uid_t refused_uid;          /* the last peer refused, and until when */
    uint64_t refused_quiet_at;  /* its further refusals are only counted */
    unsigned long refused_more;
    bool crowded;               /* "refusing another" logged, until the
                                 * clients fall to half the cap */
};

/* What a reload or an upgrade came to, for the clients waiting for it:
 * reload.c and upgrade.c set it, manager.c hands it to control.c. */
struct control_result {
    bool set;
    int code;                   /* enum control_exit: 0 done */
    char text[512];             /* the config error, "new master 12 ..." */
};

/* Set r (code 0: done) with text as printf formats it. */
void control_result_set(struct control_result *r, int code,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Not listening, no client. */
void control_init(struct control_server *c);

/* Listen on m->conf.control_listen when it is set, taking the socket an
 * upgrade's old master handed over (m->inherited) when there is one.
 * 0, or -1 having logged why. */
int control_start(struct manager *m);
/* Close the socket (removing its file if it is still ours) and every
 * client. */
void control_stop(struct manager *m);
/* A new control socket a reload readied before its swap (bound and in
 * the loop), when control_listen moves. */
struct control_plan {
    struct acceptor_plan acc;
};
/* Ready nc's control socket. 0, or -1 with why ("control_listen: cannot
 * bind ADDR: REASON"), nothing changed. */
int control_plan(struct manager *m, const struct conf *nc,
                 struct control_plan *p, char *why, size_t len);
/* The reload fails after all: close the socket p bound. */
void control_plan_undo(struct manager *m, struct control_plan *p);
/* After the reload swapped m->conf in: serve on p's socket (closing the
 * old one), on none at all, or on the kept one. Cannot fail. */
void control_commit(struct manager *m, struct control_plan *p);
/* An upgrade's new master serves: it has the socket; stop accepting, and
 * let the clients we have be answered. */
void control_handover(struct manager *m);
/* The listening socket, for an upgrade to pass on; NULL when none. */
struct listener *control_listener(struct manager *m);

/* Answer the clients waiting for m->reload_result or m->upgrade_result
 * once set (and clear it); when the master stops, every waiting one. */
void control_take_results(struct manager *m);
/* Whether a client still has an answer to read: the master waits for
 * that (bounded by the client's deadline) before it exits. */
bool control_busy(const struct manager *m);

/* The earliest client deadline or pause, or NEVER. */
uint64_t control_next_deadline(const struct manager *m);
/* Close clients past their deadline; accept again after a pause. */
void control_run_due(struct manager *m, uint64_t now);

#endif
