/* Worker processes: fork one into a slot, signal it, decode how it died. */
#ifndef FCGIPM_CHILD_H
#define FCGIPM_CHILD_H

#include <stddef.h>

#include "manager.h"

/* Fork a worker for pool p into slot s (which becomes SLOT_RUNNING).
 * Returns 0, or -1 having logged why (s unchanged). */
int child_spawn(struct pool *p, struct slot *s, uint64_t now);

/* Send sig to s's worker, mark it stopping at stage, to escalate at
 * kill_at. */
void child_signal_stop(struct pool *p, struct slot *s, int sig,
                       enum stop_stage stage, uint64_t kill_at);

#endif
