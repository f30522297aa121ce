/* A listening socket's accept queue as the kernel sees it (waiting, and
 * the limit): Unix sockets through NETLINK_SOCK_DIAG (UNIX_DIAG_RQLEN),
 * TCP through TCP_INFO. */
#ifndef FCGIPM_QUEUE_H
#define FCGIPM_QUEUE_H

#include "listen.h"

struct queue_depth {
    unsigned len;               /* connections waiting now */
    unsigned max;               /* the backlog in force */
};

/* Read l's accept queue into *out. Returns 0, or -1 with errno (logged
 * by the caller, once). */
int queue_read(const struct listener *l, struct queue_depth *out);

#endif
