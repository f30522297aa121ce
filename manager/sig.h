/* Signals to the master: blocked, read from a signalfd in the loop, and
 * turned into pending work; nothing runs in signal context. */
#ifndef FCGIPM_SIG_H
#define FCGIPM_SIG_H

#include <signal.h>

#include "manager.h"

/* Block the handled signals and return a signalfd for them (O_CLOEXEC,
 * non-blocking), or -1 with errno. SIGPIPE is ignored. */
int sig_setup(void);

/* Read every queued signal from m->sigfd and record it in m. */
void sig_dispatch(struct manager *m);

/* The set of signals sig_setup() blocks, for children to unblock. */
void sig_handled_set(sigset_t *set);

#endif
