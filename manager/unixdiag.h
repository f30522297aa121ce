/* One question to the kernel about a Unix socket of ours: NETLINK_SOCK_DIAG
 * answers with the socket's state and the attributes asked for (its
 * accept queue, the file it is bound to). */
#ifndef FCGIPM_UNIXDIAG_H
#define FCGIPM_UNIXDIAG_H

#include <stddef.h>

/*
 * Ask about the Unix socket fd with show (UDIAG_SHOW_*), and copy the
 * first attribute of type attr (UNIX_DIAG_*) of the answer into out, len
 * bytes. *state is the socket's state (TCP_LISTEN for a listening one).
 * Never blocks: the kernel answers before sendto() returns. Returns 1
 * when found, 0 when the answer has no such attribute (an unbound socket
 * has no UNIX_DIAG_VFS), or -1 with errno.
 */
int unixdiag_query(int fd, unsigned show, unsigned short attr, void *out,
                   size_t len, unsigned char *state);

/*
 * The same about the Unix socket with inode ino, which another process
 * may hold (a worker's connection), for an attribute of any length: up
 * to *len bytes of it into out, and *len set to its whole length.
 * Returns 1, 0 or -1 with errno (ENOENT: no Unix socket has that inode).
 */
int unixdiag_query_ino(unsigned long ino, unsigned show,
                       unsigned short attr, void *out, size_t *len,
                       unsigned char *state);

#endif
