/* The connections a worker holds that it accepted from its listening
 * socket, whatever its program: its socket inodes (/proc/PID/fd) against
 * the kernel's socket diagnostics. */
#ifndef FCGIPM_CONNS_H
#define FCGIPM_CONNS_H

#include <sys/types.h>

/* How many connections accepted from its listening socket (its fd 0) pid
 * holds: 0 is a worker with no request in hand, whether it waits in
 * accept(), in epoll or anywhere else. A Unix connection is a socket
 * named as the listener (an accepted socket takes its listener's name),
 * a TCP one a socket on the listener's port; the listener itself (fd 0
 * and its copies) is not counted. The listener is the worker's own, not
 * the pool's current one, which a reload may have replaced. -1 when it
 * cannot be told (unreadable /proc, fd 0 no bound listener, too many
 * sockets, the diagnostics failed): the caller then knows nothing. What
 * the worker does to its descriptors can only make it look busy or idle
 * to its own cost. */
int conns_held(pid_t pid);

#endif
