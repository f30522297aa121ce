/* TCP sockets as the kernel's socket diagnostics see them
 * (NETLINK_SOCK_DIAG, inet_diag): a listener's port, and the connections
 * on it, whoever holds them now. */
#ifndef FCGIPM_INETDIAG_H
#define FCGIPM_INETDIAG_H

#include <stddef.h>
#include <stdint.h>

/* The inodes of the TCP sockets of family (AF_INET, AF_INET6) whose local
 * port is port (host order), in any state but LISTEN: at most max into
 * out. Never blocks: the kernel builds each part of the answer as it is
 * read. Returns how many, or -1 with errno (ENOBUFS: more than max). */
int inetdiag_port_inodes(int family, uint16_t port, unsigned long *out,
                         size_t max);

/* The family and local port (host order) of the listening TCP socket
 * with inode ino. Returns 1, 0 when no listening TCP socket has it, or -1
 * with errno. */
int inetdiag_listener(unsigned long ino, int *family, uint16_t *port);

#endif
