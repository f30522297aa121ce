/* The request body of fcgi-request: a string, a regular file streamed as
 * it is sent, or a pipe read up front because CGI needs CONTENT_LENGTH. */
#include "request.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BODY_SLURP_MIN 65536

/* Wait until fd is readable or rq's deadline passes (ETIMEDOUT). */
static int
request_body_wait(const struct request *rq, int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int n;

    do {
        n = poll(&pfd, 1, request_left_ms(rq));
    } while (n == -1 && errno == EINTR);
    if (n == 0)
        errno = ETIMEDOUT;
    return n > 0 ? 0 : -1;
}

/* Read all of fd (a pipe, a tty) into b->mem. */
static int
request_body_slurp(struct request *rq, int fd)
{
    struct request_body *b = &rq->body;
    size_t cap = 0, len = 0;
    uint8_t *mem;
    ssize_t n;

    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : BODY_SLURP_MIN;
            /* cap <= len only when doubling wrapped around. */
            mem = cap > len ? realloc(b->mem, cap) : NULL;
            if (mem == NULL) {
                errno = ENOMEM;
                return -1;
            }
            b->mem = mem;
        }
        if (request_body_wait(rq, fd) == -1)
            return -1;
        n = read(fd, b->mem + len, cap - len);
        if (n == -1 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n == -1)
            return -1;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    b->len = len;
    return 0;
}

/* Take fd (closed here or by request_body_close). */
static int
request_body_from_fd(struct request *rq, int fd)
{
    struct request_body *b = &rq->body;
    struct stat st;
    off_t at;
    int rc, saved;

    if (fstat(fd, &st) == -1)
        goto fail_close;
    if (S_ISREG(st.st_mode)) {
        /* stdin redirected from a file may not be at its start. */
        at = lseek(fd, 0, SEEK_CUR);
        if (at == -1)
            goto fail_close;
        b->len = st.st_size > at ? (uint64_t)(st.st_size - at) : 0;
        b->fd = fd;
        return 0;
    }
    rc = request_body_slurp(rq, fd);
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
fail_close:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int
request_body_open(struct request *rq, const char *arg)
{
    struct request_body *b = &rq->body;
    int fd;

    b->present = true;
    b->fd = -1;
    b->mem = NULL;
    b->len = 0;
    b->sent = 0;
    if (strcmp(arg, "-") == 0) {
        b->name = "stdin";
        /* A private copy, so closing it never closes fd 0. */
        fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        return fd == -1 ? -1 : request_body_from_fd(rq, fd);
    }
    if (arg[0] == '@') {
        b->name = arg + 1;
        fd = open(arg + 1, O_RDONLY | O_CLOEXEC);
        return fd == -1 ? -1 : request_body_from_fd(rq, fd);
    }
    b->name = "-d";
    b->len = strlen(arg);
    b->mem = (uint8_t *)strdup(arg);
    return b->mem == NULL ? -1 : 0;
}

ssize_t
request_body_read(struct request_body *b, void *buf, size_t max)
{
    uint64_t left = b->len - b->sent;
    ssize_t n;

    if (max > left)
        max = (size_t)left;
    if (max == 0)
        return 0;
    if (b->fd == -1) {
        memcpy(buf, b->mem + b->sent, max);
        b->sent += max;
        return (ssize_t)max;
    }
    do {
        n = read(b->fd, buf, max);
    } while (n == -1 && errno == EINTR);
    if (n == 0) {
        /* CONTENT_LENGTH promised more than the file now holds. */
        errno = ENODATA;
        return -1;
    }
    if (n > 0)
        b->sent += (uint64_t)n;
    return n;
}

int
request_body_load(struct request_body *b)
{
    uint8_t *mem;
    ssize_t n;

    if (b->fd == -1)
        return 0;
    if (b->len > SIZE_MAX - 1) {
        errno = ENOMEM;
        return -1;
    }
    mem = malloc(b->len ? (size_t)b->len : 1);
    if (mem == NULL)
        return -1;
    while ((n = request_body_read(b, mem + b->sent,
                                  (size_t)(b->len - b->sent))) > 0)
        continue;
    if (n == -1) {
        free(mem);
        return -1;
    }
    close(b->fd);
    b->fd = -1;
    free(b->mem);
    b->mem = mem;
    b->sent = 0;
    return 0;
}

void
request_body_close(struct request_body *b)
{
    if (b->fd != -1)
        close(b->fd);
    b->fd = -1;
    free(b->mem);
    b->mem = NULL;
}
