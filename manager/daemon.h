/* -D: run in the background, but report start-up errors and the exit
 * status in the foreground, like nginx: the command returns once the
 * daemon serves, or fails with its reason. */
#ifndef FCGIPM_DAEMON_H
#define FCGIPM_DAEMON_H

/*
 * Detach: fork, setsid, fork again, and close the descriptors above 2
 * the caller left open (those not close-on-exec). Returns 0 in the
 * daemon, with *ready_fd set, which must call daemon_report_ready() once
 * it serves. The original process waits for that and exits 0, or 1 if
 * the daemon exits first. Returns -1 (logged) if it cannot fork.
 */
int daemon_start(int *ready_fd);

/* Tell the waiting foreground process we serve through *ready_fd (then
 * -1), then point stdin, stdout and stderr at /dev/null. No-op when not
 * daemonized (*ready_fd -1). */
void daemon_report_ready(int *ready_fd);

#endif
