/* TCP sockets as the kernel's socket diagnostics see them
 * (NETLINK_SOCK_DIAG, inet_diag): a listener's port, and which sockets
 * are connections on it, whoever holds them now. */
#ifndef FCGIPM_INETDIAG_H
#define FCGIPM_INETDIAG_H

#include <stddef.h>
#include <stdint.h>

/* How many of the n inodes inos are TCP sockets of family (AF_INET,
 * AF_INET6) whose local port is port (host order), in any state a
 * connection held by a process may be in (not LISTEN). However many
 * sockets the port has: the answer is looked through part by part as it
 * is read, and no more once all n are found. Never blocks: the kernel
 * builds each part as it is read. Returns the count (0 when n is 0,
 * without asking), or -1 with errno (EINVAL: port 0, or n over INT_MAX;
 * EPROTO or EMSGSIZE: an answer not understood; EAGAIN: a dump the
 * kernel marks as interrupted; the kernel's error, also one that ends a
 * dump early). */
int inetdiag_port_count_matching(int family, uint16_t port,
                                 const unsigned long *inos, size_t n);

/* The family and local port (host order) of the listening TCP socket
 * with inode ino. Returns 1, 0 when no listening TCP socket has it, or -1
 * with errno. */
int inetdiag_listener(unsigned long ino, int *family, uint16_t *port);

/* What inetdiag_port_count_matching looks for, and has found so far. */
struct inetdiag_match {
    uint16_t port;              /* host order */
    const unsigned long *inos;
    size_t n;
    size_t found;               /* sockets on port among inos */
};

/* Look through one part of a dump's answer, len bytes at part (aligned
 * for struct nlmsghdr), adding to w->found each socket on w->port among
 * w->inos. Returns 1 at the answer's end (NLMSG_DONE) or once all n are
 * found, 0 when more parts follow, or -1 with errno: the kernel's error
 * (NLMSG_ERROR, or a negative one in NLMSG_DONE: the dump ended early),
 * EAGAIN for a message flagged NLM_F_DUMP_INTR (the sockets changed
 * during the dump), or EPROTO for a message cut short. Reads nothing past
 * len: inetdiag_port_count_matching's core, apart for its tests. */
int inetdiag_match_part(const void *part, size_t len,
                        struct inetdiag_match *w);

#endif
