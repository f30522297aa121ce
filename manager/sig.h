/* Signals to the master: blocked, read from a signalfd in the loop, and
 * turned into pending work; nothing runs in signal context. */
#ifndef FCGIPM_SIG_H
#define FCGIPM_SIG_H

#include <signal.h>

#include "manager.h"

/* Block the handled signals and return a signalfd for them (O_CLOEXEC,
 * non-blocking), or -1 with errno. SIGPIPE is ignored. */
int sig_setup(void);

/* Watch m->sigfd in m's loop: each wake-up reads every queued signal
 * and records it in m (pending bits). 0 or -1 (logged). */
int sig_watch(struct manager *m);

/* The set of signals sig_setup() blocks, for children to unblock. */
void sig_handled_set(sigset_t *set);

#endif
