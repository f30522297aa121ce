/* The benchmark's raw responder: the least a FastCGI back end can do per
 * request (read the request, write one canned answer, close), so that
 * bench/run can say how near fcgipm's workers come to the limit. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fcgi_record.h"

#define RAW_BACKLOG  1024
#define RAW_EVENTS   64
#define RAW_MAX_COPIES 64

static const char raw_usage[] =
    "Usage: raw-responder [-m] [-s PATH] [-F COPIES]\n"
    "A FastCGI responder for benchmarks: every request gets\n"
    "\"Hello\\n\" (text/plain). Listens on fd 0 (as spawn-fcgi or fcgipm\n"
    "start it), or on the Unix socket PATH (-s).\n"
    "  -m          one epoll set per process for the listening socket and\n"
    "              every kept connection (FCGI_KEEP_CONN); without it a\n"
    "              process serves one connection at a time (accept, read,\n"
    "              write, close), blocking\n"
    "  -s PATH     bind and listen on PATH (an old socket there is removed)\n"
    "  -F COPIES   processes sharing the socket (default 1)\n";

static const char raw_body[] = "Content-Type: text/plain\r\n\r\nHello\n";

/* One connection's state: the decoder holds what was read past a record. */
static struct fcgi_record_decoder raw_decoder;

static void
raw_log(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "raw-responder %d: ", (int)getpid());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

enum raw_read_result {
    RAW_READ_REQUEST,   /* a whole request head and its empty STDIN */
    RAW_READ_EOF,       /* the client closed before a request began */
    RAW_READ_ERROR,     /* logged */
};

/*
 * Read one request on fd: BEGIN_REQUEST, then records until the empty
 * STDIN that ends it (a body, if any, is read and dropped). A GET from
 * nginx or fcgi-request arrives in one read. Sets *id and *keep_conn.
 */
static enum raw_read_result
raw_read_request(int fd, uint16_t *id, int *keep_conn)
{
    struct fcgi_record r;
    struct fcgi_begin_request b;
    int begun = 0;
    size_t room;
    ssize_t n;

    fcgi_record_decoder_init(&raw_decoder);
    for (;;) {
        switch (fcgi_record_decoder_next(&raw_decoder, &r)) {
        case FCGI_DECODE_RECORD:
            if (r.type == FCGI_TYPE_BEGIN_REQUEST) {
                if (fcgi_record_decode_begin(&r, &b) == -1) {
                    raw_log("bad BEGIN_REQUEST");
                    return RAW_READ_ERROR;
                }
                begun = 1;
                *id = r.request_id;
                *keep_conn = (b.flags & FCGI_FLAG_KEEP_CONN) != 0;
            } else if (begun && r.type == FCGI_TYPE_STDIN
                       && r.content_len == 0) {
                /* nginx sends the next request only after END_REQUEST. */
                if (fcgi_record_decoder_buffered(&raw_decoder) != 0) {
                    raw_log("bytes after the request: no pipelining here");
                    return RAW_READ_ERROR;
                }
                return RAW_READ_REQUEST;
            }
            continue;
        case FCGI_DECODE_NEED_MORE:
            break;
        case FCGI_DECODE_MALFORMED:
            raw_log("malformed request: %s",
                    fcgi_record_decoder_error(&raw_decoder));
            return RAW_READ_ERROR;
        }
        void *p = fcgi_record_decoder_space(&raw_decoder, &room);
        do {
            n = read(fd, p, room);
        } while (n == -1 && errno == EINTR);
        if (n == -1) {
            raw_log("read: %s", strerror(errno));
            return RAW_READ_ERROR;
        }
        if (n == 0) {
            if (!begun && fcgi_record_decoder_buffered(&raw_decoder) == 0)
                return RAW_READ_EOF;
            raw_log("the client closed in the middle of a request");
            return RAW_READ_ERROR;
        }
        fcgi_record_decoder_commit(&raw_decoder, (size_t)n);
    }
}

/* The answer to request id in one write: STDOUT, empty STDOUT, END. */
static int
raw_answer(int fd, uint16_t id)
{
    uint8_t buf[256], end[FCGI_RECORD_BODY_LEN];
    size_t len = 0;
    ssize_t n;

    fcgi_record_encode_end(end, 0, FCGI_PROTO_REQUEST_COMPLETE);
    n = fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_STDOUT, id, raw_body,
                           sizeof(raw_body) - 1);
    len += (size_t)n;
    n = fcgi_record_encode(buf + len, sizeof(buf) - len, FCGI_TYPE_STDOUT,
                           id, NULL, 0);
    len += (size_t)n;
    n = fcgi_record_encode(buf + len, sizeof(buf) - len,
                           FCGI_TYPE_END_REQUEST, id, end, sizeof(end));
    len += (size_t)n;
    do {
        n = send(fd, buf, len, MSG_NOSIGNAL);
    } while (n == -1 && errno == EINTR);
    if (n == -1) {
        raw_log("send: %s", strerror(errno));
        return -1;
    }
    if ((size_t)n != len) {
        raw_log("send: %zd of %zu bytes", n, len);
        return -1;
    }
    return 0;
}

/* Serve one request on fd. Returns 1 when the connection is to be kept
 * (FCGI_KEEP_CONN), 0 when it is to be closed. */
static int
raw_serve_one(int fd)
{
    uint16_t id = 0;
    int keep = 0;

    if (raw_read_request(fd, &id, &keep) != RAW_READ_REQUEST)
        return 0;
    if (raw_answer(fd, id) == -1)
        return 0;
    return keep;
}

static int
raw_accept(int lfd)
{
    int fd;

    do {
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd == -1 && errno == EINTR);
    if (fd == -1 && errno != EAGAIN && errno != ECONNABORTED)
        raw_log("accept: %s", strerror(errno));
    return fd;
}

/* The plain loop: one connection at a time, kept ones served to the end
 * (so a kept connection pins the process, as libfcgi does). */
static void
raw_loop_blocking(int lfd)
{
    for (;;) {
        int fd = raw_accept(lfd);

        if (fd == -1)
            continue;
        while (raw_serve_one(fd))
            ;
        close(fd);
    }
}

/* The epoll loop: any number of kept connections per process, the
 * listening socket shared with EPOLLEXCLUSIVE; one accept per wake-up so
 * that the processes share the load. */
static int
raw_loop_epoll(int lfd)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
                              .data.fd = lfd };
    struct epoll_event evs[RAW_EVENTS];
    int ep, flags, n;

    flags = fcntl(lfd, F_GETFL);
    if (flags == -1 || fcntl(lfd, F_SETFL, flags | O_NONBLOCK) == -1) {
        raw_log("O_NONBLOCK on the listening socket: %s", strerror(errno));
        return -1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep == -1 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1) {
        raw_log("epoll: %s", strerror(errno));
        return -1;
    }
    for (;;) {
        n = epoll_wait(ep, evs, RAW_EVENTS, -1);
        if (n == -1 && errno != EINTR) {
            raw_log("epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;

            if (fd == lfd) {
                fd = raw_accept(lfd);
                if (fd == -1)
                    continue;
                if (!raw_serve_one(fd)) {
                    close(fd);
                    continue;
                }
                ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fd };
                if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
                    raw_log("epoll_ctl: %s", strerror(errno));
                    close(fd);
                }
            } else if (!raw_serve_one(fd)) {
                /* The last descriptor of the file: epoll forgets it. */
                close(fd);
            }
        }
    }
}

static int
raw_listen_path(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        raw_log("%s: path too long", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        raw_log("socket: %s", strerror(errno));
        return -1;
    }
    /* A stale socket of an earlier run goes; anything else at the path
     * (a file, a symlink) stays, and bind then fails. */
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) == -1)
        raw_log("unlink %s: %s", path, strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1
        || listen(fd, RAW_BACKLOG) == -1) {
        raw_log("%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int
raw_is_listener(int fd)
{
    int on = 0;
    socklen_t len = sizeof(on);

    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* copies - 1 children that die with the parent; returns in each. */
static int
raw_fork_copies(long copies)
{
    pid_t parent = getpid();

    for (long i = 1; i < copies; i++) {
        pid_t pid = fork();

        if (pid == -1) {
            raw_log("fork: %s", strerror(errno));
            return -1;
        }
        if (pid == 0) {
            if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1
                || getppid() != parent)
                _exit(1);
            return 0;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *path = NULL;
    long copies = 1;
    int multi = 0, opt, lfd = 0;
    char *end;

    while ((opt = getopt(argc, argv, "ms:F:h")) != -1) {
        switch (opt) {
        case 'm':
            multi = 1;
            break;
        case 's':
            path = optarg;
            break;
        case 'F':
            errno = 0;
            copies = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || copies < 1
                || copies > RAW_MAX_COPIES) {
                fprintf(stderr, "raw-responder: -F: 1 to %d\n",
                        RAW_MAX_COPIES);
                return 64;
            }
            break;
        case 'h':
            fputs(raw_usage, stdout);
            return 0;
        default:
            fputs(raw_usage, stderr);
            return 64;
        }
    }
    if (optind != argc) {
        fputs(raw_usage, stderr);
        return 64;
    }
    if (path != NULL && (lfd = raw_listen_path(path)) == -1)
        return 1;
    if (!raw_is_listener(lfd)) {
        raw_log("fd %d is not a listening socket (start me with "
                "spawn-fcgi, or give -s PATH)", lfd);
        return 1;
    }
    if (raw_fork_copies(copies) == -1)
        return 1;
    if (multi)
        return raw_loop_epoll(lfd) == -1 ? 1 : 0;
    raw_loop_blocking(lfd);
    return 0;
}
