/* Whether a worker waits, idle, in accept() on its listening socket, from
 * /proc: libfcgi drops a connection accepted just before its stop signal,
 * so graceful stops of exec workers wait for this (cgi and module workers
 * stop themselves at any moment). */
#ifndef FCGIPM_IDLE_H
#define FCGIPM_IDLE_H

#include <stdbool.h>

/* Whether /proc/PID/syscall text shows accept(2) or accept4(2) on fd 0. */
bool idle_syscall_is_accept(const char *text);

/* Whether /proc/PID/stat text shows the process stopped (state T or t). */
bool idle_stat_is_stopped(const char *text);

#endif
