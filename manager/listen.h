/* Listening sockets: bind Unix and TCP addresses, replace stale Unix
 * socket files, remove them at exit; and the sockets inherited at
 * start-up, waiting to be taken by address. */
#ifndef FCGIPM_LISTEN_H
#define FCGIPM_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "fcgi_addr.h"

struct listener {
    const char *kind;           /* names it in the log: "listen" (a
                                   pool's), "status" (static string) */
    char *name;                 /* the address as configured */
    struct fcgi_addr addr;
    int fd;                     /* -1 when closed */
    bool owns_path;             /* we created the Unix socket file */
    bool claim_path;            /* handed over by an old master: ours to
                                   remove once we report ready */
};

/* What a listening socket is given: its backlog, and a Unix socket
 * file's mode and owner ((uid_t)-1, (gid_t)-1: unchanged). */
struct listen_settings {
    const char *kind;           /* for the log, as in struct listener */
    int backlog;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* A listening socket handed to us at start-up (by an old master,
 * systemd, a web server's fd 0), until a listener of the same address
 * takes it. */
struct inherited_socket {
    int fd;                     /* -1: taken or closed */
    bool owns_path;
    struct fcgi_addr addr;
    char from[32];
};

#define LISTEN_INHERITED_MAX 64
struct inherited_sockets {
    struct inherited_socket at[LISTEN_INHERITED_MAX];
    size_t n;
};

/*
 * Bind and listen on name with set; fills *l. An inherited socket of
 * the same address in in is taken instead (and leaves in). Returns 0,
 * or -1 having logged why (address, what failed). A Unix socket file
 * that exists is replaced only when nothing answers on it.
 */
int listen_open_with(struct listener *l, const char *name,
                     const struct listen_settings *set,
                     struct inherited_sockets *in);
/* listen_open_with with a pool's socket settings (pc). */
int listen_open(struct listener *l, const char *name,
                const struct pool_conf *pc, struct inherited_sockets *in);

/* Close the socket and remove the socket file we created. */
void listen_close(struct listener *l);

/* Remove the socket file now if it is ours, so that no new connection
 * can reach the socket while workers drain what is queued. */
void listen_unlink(struct listener *l);

/* Re-apply set's backlog, and its mode and owner to a socket file we own
 * (after a reload or an upgrade), through a descriptor of that file. 0,
 * or -1 (logged); errno ESTALE, nothing changed, when the path no longer
 * names our socket (a symlink or another file was put there). */
int listen_refresh_with(struct listener *l,
                        const struct listen_settings *set);
/* listen_refresh_with with a pool's socket settings (pc). */
int listen_refresh(struct listener *l, const struct pool_conf *pc);

/*
 * Offer fd, a listening socket inherited from elsewhere (an old master,
 * systemd, a web server's fd 0), to later listen_open() calls for the
 * same address, through in. owns_path: whether its socket file becomes
 * ours to remove (an old master's, once we report ready; not systemd's
 * or fd 0's). Returns 0, or -1 (logged) when fd is not a listening
 * stream socket.
 */
int listen_inherit(struct inherited_sockets *in, int fd, const char *from,
                   bool owns_path);
/* Take the first inherited socket not yet taken, whatever its address
 * (a pool with no listen started by systemd or lighttpd). 0 or -1. */
int listen_adopt_any(struct inherited_sockets *in, struct listener *l);
/* Close the inherited sockets nobody took; in is empty afterwards. */
void listen_inherit_close_unused(struct inherited_sockets *in);

#endif
