/* Listening sockets: bind Unix and TCP addresses, replace stale Unix
 * socket files, remove them at exit. */
#ifndef FCGIPM_LISTEN_H
#define FCGIPM_LISTEN_H

#include "conf.h"
#include "fcgi_addr.h"

struct listener {
    char *name;                 /* the address as configured */
    struct fcgi_addr addr;
    int fd;                     /* -1 when closed */
    bool owns_path;             /* we created the Unix socket file */
    bool claim_path;            /* handed over by an old master: ours to
                                   remove once we report ready */
};

/*
 * Bind and listen on name with pc's socket settings; fills *l. Returns 0,
 * or -1 having logged why (address, what failed). A Unix socket file that
 * exists is replaced only when nothing answers on it.
 */
int listen_open(struct listener *l, const char *name,
                const struct pool_conf *pc);

/* Close the socket and remove the socket file we created. */
void listen_close(struct listener *l);

/* Remove the socket file now if it is ours, so that no new connection
 * can reach the socket while workers drain what is queued. */
void listen_unlink(struct listener *l);

/* Re-apply pc's backlog, and its mode and owner to a socket file we own
 * (after a reload or an upgrade), through a descriptor of that file. 0,
 * or -1 (logged); errno ESTALE, nothing changed, when the path no longer
 * names our socket (a symlink or another file was put there). */
int listen_refresh(struct listener *l, const struct pool_conf *pc);

/*
 * Offer fd, a listening socket inherited from elsewhere (an old master,
 * systemd, a web server's fd 0), to later listen_open() calls for the
 * same address. owns_path: whether its socket file becomes ours to remove
 * (an old master's, once we report ready; not systemd's or fd 0's).
 * Returns 0, or -1 (logged) when fd is not a listening stream socket.
 */
int listen_inherit(int fd, const char *from, bool owns_path);
/* Take the first inherited socket not yet taken, whatever its address
 * (a pool with no listen started by systemd or lighttpd). 0 or -1. */
int listen_adopt_any(struct listener *l);
/* Close the inherited sockets nobody took. */
void listen_inherit_close_unused(void);

#endif
