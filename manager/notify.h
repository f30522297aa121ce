/* systemd's readiness protocol: datagrams to $NOTIFY_SOCKET. */
#ifndef FCGIPM_NOTIFY_H
#define FCGIPM_NOTIFY_H

/* Send msg ("READY=1", "STOPPING=1", "MAINPID=123"...) when started by
 * systemd with Type=notify; do nothing otherwise. Failures are logged. */
void notify_send(const char *msg);

#endif
