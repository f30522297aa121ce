/* The worker of a cgi or module pool: fcgipm's own libfcgi accept loop,
 * which sees every request (scoreboard, access log, recycling). */
#ifndef FCGIPM_SERVE_H
#define FCGIPM_SERVE_H

#include <stdnoreturn.h>

#include "pool_conf.h"
#include "scoreboard.h"

/* Serve requests on fd 0 for pool pc until asked to stop (stop_signal,
 * libfcgi's SIGUSR1 convention) or recycled (max_requests, max_rss),
 * then exit 0. sb may be NULL (no scoreboard); wake_fd, the master's
 * eventfd for scoreboard_take_wake, may be -1. */
noreturn void serve_main(const struct pool_conf *pc, struct scoreboard *sb,
                         size_t slot, int wake_fd);

#endif
