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

#endif
