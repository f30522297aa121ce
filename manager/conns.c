/* Whether a worker holds connections from its listening socket: the
 * inodes of its sockets, asked of sock_diag (Unix: each by inode, its
 * name; TCP: one dump of the listener's port, however many connections
 * it has, looked through for the worker's inodes). */
#include <errno.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "conns.h"
#include "inetdiag.h"
#include "procfs.h"
#include "sys.h"
#include "unixdiag.h"

#define SOCKETS_MAX 64          /* a worker's sockets looked through */

/* The worker's listening socket. */
struct listener_seen {
    unsigned long ino;
    bool is_unix;
    char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
    size_t name_len;
    int family;                 /* TCP */
    uint16_t port;
};

static int
see_listener(pid_t pid, struct listener_seen *l)
{
    char link[64];
    unsigned char state;

    if (sys_proc_readlink(pid, "fd/0", link, sizeof(link)) <= 0
        || procfs_link_socket_inode(link, &l->ino) == -1)
        return -1;
    l->name_len = sizeof(l->name);
    int rc = unixdiag_query_ino(l->ino, UDIAG_SHOW_NAME, UNIX_DIAG_NAME,
                                l->name, &l->name_len, &state);
    if (rc == 1 || (rc == -1 && errno != ENOENT)) {
        /* Unix: bound, so that its connections carry its name. */
        l->is_unix = true;
        return rc == 1 && l->name_len <= sizeof(l->name)
               && state == TCP_LISTEN ? 0 : -1;
    }
    if (rc == 0)
        return -1;
    l->is_unix = false;
    return inetdiag_listener(l->ino, &l->family, &l->port) == 1 ? 0 : -1;
}

/* Whether Unix socket ino carries the listener's name: 1, 0 (not a Unix
 * socket, or named otherwise), or -1. */
static int
unix_is_ours(unsigned long ino, const struct listener_seen *l)
{
    char name[sizeof(l->name)];
    size_t len = sizeof(name);
    unsigned char state;
    int rc = unixdiag_query_ino(ino, UDIAG_SHOW_NAME, UNIX_DIAG_NAME, name,
                                &len, &state);

    if (rc == -1)
        return errno == ENOENT ? 0 : -1;
    return rc == 1 && len == l->name_len && memcmp(name, l->name, len) == 0;
}

/* TCP: the worker's sockets but its listener, looked for in one dump of
 * the listener's port (none when it has no other socket). */
static int
tcp_held(const struct listener_seen *l, const unsigned long *inos,
         int nsock)
{
    unsigned long others[SOCKETS_MAX];
    size_t n = 0;

    for (int s = 0; s < nsock && s < SOCKETS_MAX; s++)
        if (inos[s] != l->ino)  /* fd 0, or a copy of it (Go's fd 3) */
            others[n++] = inos[s];
    return inetdiag_port_count_matching(l->family, l->port, others, n);
}

static int
count_held(const struct listener_seen *l, const unsigned long *inos,
           int nsock)
{
    int held = 0;

    if (!l->is_unix)
        return tcp_held(l, inos, nsock);
    for (int s = 0; s < nsock; s++) {
        if (inos[s] == l->ino)
            continue;           /* fd 0, or a copy of it */
        int rc = unix_is_ours(inos[s], l);
        if (rc == -1)
            return -1;
        held += rc;
    }
    return held;
}

int
conns_held(pid_t pid)
{
    struct listener_seen l;
    unsigned long inos[SOCKETS_MAX];
    int nfds = sys_proc_fd_count(pid, PROCFS_FDS_MAX);
    int nsock = nfds == -1 ? -1
                           : procfs_socket_inodes(pid, nfds, inos, SOCKETS_MAX);

    if (nsock == -1 || see_listener(pid, &l) == -1)
        return -1;
    return count_held(&l, inos, nsock);
}
