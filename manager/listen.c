/* Listening sockets: Unix (mode, owner, stale files) and TCP (v4, v6),
 * for the pools and the status socket alike; and the sockets inherited
 * at start-up. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "nofollow.h"
#include "sockperm.h"


/* fcgi_addr_probe_unix on the socket file open as fd (O_PATH): connect()
 * goes through the descriptor's /proc link, so what is probed is that
 * very file, wherever its path leads by now. */
static int
probe_file(const struct fcgi_addr *a, int fd)
{
    struct fcgi_addr via = *a;
    struct sockaddr_un *sun = (struct sockaddr_un *)&via.sa;
    int len = snprintf(sun->sun_path, sizeof(sun->sun_path),
                       "/proc/self/fd/%d", fd);

    via.salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path)
                            + (size_t)len + 1);
    return fcgi_addr_probe_unix(&via);
}

/* The file at name in dir, open as fd (O_PATH) and st: 0 when it is a
 * socket nothing answers on, removed; -1 when in use or not ours to
 * remove (logged). */
static int
remove_if_stale(const struct listener *l, int dir, const char *name,
                int fd, const struct stat *st)
{
    struct stat now;

    if (!S_ISSOCK(st->st_mode)) {
        log_error("%s %s: %s exists and is not a socket", l->kind, l->name,
                  l->addr.path);
        return -1;
    }
    /* The probe never blocks: this runs in the master, during a reload
     * too, and a server with a full accept queue must not stall it. */
    int busy = probe_file(&l->addr, fd);
    if (busy == 1) {
        log_error("%s %s: another server answers on %s", l->kind, l->name,
                  l->addr.path);
        return -1;
    }
    if (busy == -1) {
        log_error_errno("%s %s: cannot probe %s", l->kind, l->name,
                        l->addr.path);
        return -1;
    }
    /* Removed relative to the directory, if the name is still the file
     * probed. */
    if (fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW) == 0
        && (now.st_dev != st->st_dev || now.st_ino != st->st_ino)) {
        log_error("%s %s: %s was replaced while probed; left in place",
                  l->kind, l->name, l->addr.path);
        return -1;
    }
    if (unlinkat(dir, name, 0) == -1 && errno != ENOENT) {
        log_error_errno("%s %s: cannot remove stale %s", l->kind, l->name,
                        l->addr.path);
        return -1;
    }
    log_info("%s %s: removed stale socket file", l->kind, l->name);
    return 0;
}

/* Decide what to do with an existing path: 0 free (or stale and removed),
 * -1 in use or not ours to remove (logged). The file is found, probed
 * and removed through a descriptor of its directory, reached following
 * no symlink but root's: a pool user who can write a directory above it
 * cannot point the removal at another directory. */
static int
clear_stale_unix(const struct listener *l)
{
    struct stat st;
    const char *name;
    int rc = -1;
    int dir = nofollow_open_parent(l->addr.path, &name);

    if (dir == -1) {
        if (errno == ENOENT)
            return 0;           /* bind() says so */
        log_error_errno("%s %s: cannot open the directory of %s%s", l->kind,
                        l->name, l->addr.path, errno == ELOOP
                        ? " (a symbolic link on the way could be another "
                          "user's, not root's)"
                        : "");
        return -1;
    }
    int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1 && errno == ENOENT)
        rc = 0;
    else if (fd == -1 || fstat(fd, &st) == -1)
        log_error_errno("%s %s: cannot stat %s", l->kind, l->name,
                        l->addr.path);
    else
        rc = remove_if_stale(l, dir, name, fd, &st);
    if (fd != -1)
        close(fd);
    close(dir);
    return rc;
}

/* Mode and owner go through a descriptor of the very file our socket is
 * bound to: its directory may be writable by a pool user, who could
 * have put a symlink to any file in its place since. */
static int
apply_unix_perms(struct listener *l, const struct listen_settings *set)
{
    return sockperm_apply(l->fd, l->addr.path, set->mode, set->uid,
                          set->gid, l->kind, l->name);
}

static int
bind_unix(struct listener *l, int fd, const struct listen_settings *set)
{
    /* An abstract name has no file: nothing stale to replace (the kernel
     * frees the name with its last socket, and bind() says EADDRINUSE
     * while one lives), no mode or owner, nothing to remove at exit. */
    if (fcgi_addr_is_abstract(&l->addr)) {
        if (bind(fd, (struct sockaddr *)&l->addr.sa, l->addr.salen) == -1) {
            log_error_errno("%s %s: cannot bind", l->kind, l->name);
            return -1;
        }
        return 0;
    }
    if (clear_stale_unix(l) == -1)
        return -1;
    /* The umask decides the mode bind() gives the file; set it so the
     * socket is never reachable with looser permissions, even briefly.
     * The master is single-threaded, so the process-wide umask is safe. */
    mode_t old = umask(~set->mode & 0777);
    int rc = bind(fd, (struct sockaddr *)&l->addr.sa, l->addr.salen);
    umask(old);
    if (rc == -1) {
        log_error_errno("%s %s: cannot bind", l->kind, l->name);
        return -1;
    }
    l->owns_path = true;
    return 0;
}

static int
bind_inet(struct listener *l, int fd)
{
    int one = 1;

    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) {
        log_error_errno("%s %s: cannot set SO_REUSEADDR", l->kind, l->name);
        return -1;
    }
    /* Like nginx: [::]:port means IPv6 only, so that 0.0.0.0:port can be
     * bound beside it. */
    if (l->addr.family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))
               == -1) {
        log_error_errno("%s %s: cannot set IPV6_V6ONLY", l->kind, l->name);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&l->addr.sa, l->addr.salen) == -1) {
        log_error_errno("%s %s: cannot bind", l->kind, l->name);
        return -1;
    }
    return 0;
}

int
listen_inherit(struct inherited_sockets *in, int fd, const char *from,
               bool owns_path)
{
    int listening = 0, type = 0;
    socklen_t len = sizeof(listening), tlen = sizeof(type);
    struct inherited_socket *is = &in->at[in->n];

    if (in->n == LISTEN_INHERITED_MAX) {
        log_error("%s: too many inherited sockets", from);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1
        || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1
        || !listening || type != SOCK_STREAM) {
        log_error("%s: fd %d is not a listening stream socket", from, fd);
        return -1;
    }
    if (fcgi_addr_of_socket(fd, &is->addr) == -1) {
        log_error_errno("%s: fd %d: cannot read its address", from, fd);
        return -1;
    }
    /* Ours now: no program we exec may inherit it by accident. */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
        log_error_errno("%s: fd %d: cannot set close-on-exec", from, fd);
        return -1;
    }
    is->fd = fd;
    is->owns_path = owns_path;
    snprintf(is->from, sizeof(is->from), "%s", from);
    in->n++;
    return 0;
}

static void
adopt(struct listener *l, struct inherited_socket *is)
{
    char name[sizeof(is->addr.path) + 16];

    l->fd = is->fd;
    l->owns_path = false;
    l->claim_path = is->owns_path && is->addr.family == AF_UNIX
                    && !fcgi_addr_is_abstract(&is->addr);
    if (l->name == NULL) {
        fcgi_addr_format(&is->addr, name, sizeof(name));
        l->name = strdup(name);
        l->addr = is->addr;
    }
    log_info("%s %s: adopted fd %d from %s", l->kind,
             l->name ? l->name : "?", is->fd, is->from);
    is->fd = -1;
}

/* 0 when an inherited socket for l's address was adopted, else -1. */
static int
take_inherited(struct inherited_sockets *in, struct listener *l)
{
    for (size_t i = 0; in != NULL && i < in->n; i++) {
        if (in->at[i].fd != -1
            && fcgi_addr_equal(&in->at[i].addr, &l->addr)) {
            adopt(l, &in->at[i]);
            return 0;
        }
    }
    return -1;
}

int
listen_adopt_any(struct inherited_sockets *in, struct listener *l)
{
    memset(l, 0, sizeof(*l));
    l->kind = "listen";
    l->fd = -1;
    for (size_t i = 0; i < in->n; i++) {
        if (in->at[i].fd != -1) {
            adopt(l, &in->at[i]);
            return l->name != NULL ? 0 : -1;
        }
    }
    return -1;
}

void
listen_inherit_close_unused(struct inherited_sockets *in)
{
    for (size_t i = 0; i < in->n; i++) {
        struct inherited_socket *is = &in->at[i];
        if (is->fd == -1)
            continue;
        log_info("closing inherited fd %d from %s: no pool listens on it",
                 is->fd, is->from);
        if (close(is->fd) == -1)
            log_warn_errno("close inherited fd %d", is->fd);
        is->fd = -1;
    }
    in->n = 0;
}

void
listen_unlink(struct listener *l)
{
    if (!l->owns_path || l->addr.family != AF_UNIX)
        return;
    if (sockperm_unlink(l->fd, l->addr.path, l->kind, l->name) == 0)
        log_info("%s %s: socket file removed: no new connections", l->kind,
                 l->name);
    l->owns_path = false;
}

int
listen_refresh_with(struct listener *l, const struct listen_settings *set)
{
    /* The file first: one that is no longer ours fails the refresh
     * before anything changed. */
    if (l->owns_path && l->addr.family == AF_UNIX
        && apply_unix_perms(l, set) == -1)
        return -1;
    /* listen() on a listening socket only updates its backlog. */
    if (listen(l->fd, set->backlog) == -1) {
        log_error_errno("%s %s: cannot set backlog %d", l->kind, l->name,
                        set->backlog);
        return -1;
    }
    return 0;
}

static struct listen_settings
settings_of(const struct pool_conf *pc)
{
    return (struct listen_settings){ .kind = "listen",
                                     .backlog = pc->backlog,
                                     .mode = pc->socket_mode,
                                     .uid = pc->socket_uid,
                                     .gid = pc->socket_gid };
}

int
listen_refresh(struct listener *l, const struct pool_conf *pc)
{
    struct listen_settings set = settings_of(pc);

    return listen_refresh_with(l, &set);
}

int
listen_open_with(struct listener *l, const char *name,
                 const struct listen_settings *set,
                 struct inherited_sockets *in)
{
    char err[256];
    int saved;

    memset(l, 0, sizeof(*l));
    l->kind = set->kind;
    l->fd = -1;
    l->name = strdup(name);
    if (l->name == NULL) {
        log_error_errno("%s %s: out of memory", l->kind, name);
        return -1;
    }
    if (fcgi_addr_parse(name, &l->addr, err, sizeof(err)) == -1) {
        log_error("%s %s: %s", l->kind, name, err);
        goto fail;
    }
    if (take_inherited(in, l) == 0)
        return listen_refresh_with(l, set) == 0 ? 0 : (listen_close(l), -1);
    l->fd = socket(l->addr.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd == -1) {
        log_error_errno("%s %s: cannot create socket", l->kind, name);
        goto fail;
    }
    int rc = l->addr.family == AF_UNIX ? bind_unix(l, l->fd, set)
                                       : bind_inet(l, l->fd);
    if (rc == -1)
        goto fail;
    if (listen(l->fd, set->backlog) == -1) {
        log_error_errno("%s %s: cannot listen", l->kind, name);
        goto fail;
    }
    /* Once listening: the file has its mode from bind (the umask), and a
     * client that sees it must not be refused while the owner is set. */
    if (l->owns_path && apply_unix_perms(l, set) == -1)
        goto fail;
    return 0;
fail:
    /* errno says why to the caller, whatever closing does to it. */
    saved = errno;
    listen_close(l);
    errno = saved;
    return -1;
}

int
listen_open(struct listener *l, const char *name, const struct pool_conf *pc,
            struct inherited_sockets *in)
{
    struct listen_settings set = settings_of(pc);

    return listen_open_with(l, name, &set, in);
}

void
listen_close(struct listener *l)
{
    /* The file goes first: only the open socket can tell which file is
     * ours. */
    if (l->owns_path && l->fd != -1)
        sockperm_unlink(l->fd, l->addr.path, l->kind, l->name);
    l->owns_path = false;
    if (l->fd != -1 && close(l->fd) == -1)
        log_warn_errno("%s %s: close", l->kind, l->name);
    l->fd = -1;
    free(l->name);
    l->name = NULL;
}
