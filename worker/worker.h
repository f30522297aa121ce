/* What runs in a worker process between fork() and exec(). */
#ifndef FCGIPM_WORKER_H
#define FCGIPM_WORKER_H

#include <stdnoreturn.h>
#include <sys/types.h>

#include "conf.h"

/*
 * Become a worker of pool pc: listening socket listen_fd on fd 0, out_fd
 * (the master's output pipe, or -1 for the log file or the master's
 * stderr) on fds 1 and 2, default signal dispositions and mask, no other
 * inherited descriptors, dropped privileges, a death signal tied to
 * master, then exec the command. Never returns: on any failure it logs
 * and exits 127 (126 for privileges).
 */
noreturn void worker_main(const struct pool_conf *pc, int listen_fd,
                          int out_fd, pid_t master);

#endif
