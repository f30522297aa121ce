/* What runs in a worker process between fork() and exec(). */
#ifndef FCGIPM_WORKER_H
#define FCGIPM_WORKER_H

#include <stdnoreturn.h>
#include <sys/types.h>

#include "pool_conf.h"
#include "scoreboard.h"

/* What a new worker is handed by the master. */
struct worker_start {
    int listen_fd;              /* goes to fd 0 */
    int out_fd;                 /* stdout and stderr, or -1: keep them */
    pid_t master;               /* for the parent-death check */
    struct scoreboard *scoreboard;  /* cgi/module pools, or NULL */
    size_t slot;                /* this worker's scoreboard slot */
    int wake_fd;                /* dynamic pools: the eventfd that wakes
                                   the master when a worker goes busy, or
                                   -1 */
};

/*
 * Become a worker of pool pc: listening socket on fd 0, default signal
 * dispositions and mask, no other inherited descriptors, dropped
 * privileges, a death signal tied to the master; then exec the command
 * (exec mode) or serve requests in this process (cgi, module). Never
 * returns: on a failure before that it logs and exits 127 (126 for
 * privileges).
 */
noreturn void worker_main(const struct pool_conf *pc,
                          const struct worker_start *ws);

/* Close every descriptor from 3 up but keep_a and keep_b (either may be
 * -1, or below 3), with close_range(2): async-signal-safe, for a child
 * between fork and exec. 0, or -1 with errno. */
int worker_close_from_3(int keep_a, int keep_b);

#endif
