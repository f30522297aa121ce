/* The small sd_notify protocol, without libsystemd: one datagram with
 * newline-separated assignments to the socket named by NOTIFY_SOCKET
 * (a leading '@' names the abstract namespace). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

void
notify_send(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    size_t len;

    if (path == NULL || path[0] == '\0')
        return;
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path)) {
        log_warn("NOTIFY_SOCKET %s: not a usable socket path", path);
        return;
    }
    memcpy(sun.sun_path, path, len);
    if (path[0] == '@')
        sun.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        log_warn_errno("notify %s: cannot create socket", msg);
        return;
    }
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path)
                                  + len);
    /* MSG_DONTWAIT: a receiver whose queue is full (a busy or hung PID 1)
     * must not stall the master; that notice is lost, and said so. */
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT,
               (struct sockaddr *)&sun, salen) == -1)
        log_warn_errno("notify %s: cannot send to %s", msg, path);
    close(fd);
}
