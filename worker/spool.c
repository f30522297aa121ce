/* A byte queue held in memory, then in an unlinked temporary file
 * (spool.h). Bytes in memory always come before bytes in the file: once
 * the file holds some, what is added goes there too until it is read. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

/* The first allocation: most of what is held is a header block. */
#define SPOOL_MEM_FIRST 4096

void
spool_init(struct spool *s, size_t mem_max, unsigned long long file_max,
           const char *dir)
{
    *s = (struct spool){ .mem_max = mem_max, .fd = -1,
                         .file_max = file_max, .dir = dir };
}

unsigned long long
spool_len(const struct spool *s)
{
    return (unsigned long long)(s->mem_len - s->mem_at)
           + (s->file_len - s->file_at);
}

static bool
spool_file_is_empty(const struct spool *s)
{
    return s->file_at == s->file_len;
}

/* Room in memory for n more bytes, moving what is unread to the front
 * and growing the allocation (to mem_max at most). 0, or -1 (ENOSPC,
 * ENOMEM). */
static int
spool_mem_room(struct spool *s, size_t n)
{
    size_t unread = s->mem_len - s->mem_at;
    size_t want = unread + n;
    size_t size = s->mem_size > 0 ? s->mem_size
                  : s->mem_max < SPOOL_MEM_FIRST ? s->mem_max
                  : SPOOL_MEM_FIRST;

    if (n > s->mem_max || unread > s->mem_max - n) {
        errno = ENOSPC;
        return -1;
    }
    if (s->mem_at > 0 && s->mem_len + n > s->mem_size) {
        memmove(s->mem, s->mem + s->mem_at, unread);
        s->mem_at = 0;
        s->mem_len = unread;
    }
    if (want <= s->mem_size)
        return 0;
    while (size < want)
        size = size > s->mem_max / 2 ? s->mem_max : size * 2;
    char *mem = realloc(s->mem, size);
    if (mem == NULL)
        return -1;
    s->mem = mem;
    s->mem_size = size;
    return 0;
}

/* The temporary file, made at the first spill: no name, so nothing
 * another user can open, swap or leave behind. */
static int
spool_file_open(struct spool *s)
{
    const char *dir = s->dir;

    if (s->fd != -1)
        return 0;
    if (dir == NULL)
        dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    s->fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    return s->fd == -1 ? -1 : 0;
}

/* n bytes at the file's end; on failure nothing counts as added. */
static int
spool_file_add(struct spool *s, const char *data, size_t n)
{
    unsigned long long at = s->file_len;

    if (spool_file_open(s) == -1)
        return -1;
    while (n > 0) {
        ssize_t w = pwrite(s->fd, data, n, (off_t)at);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1)
            return -1;
        data += w;
        n -= (size_t)w;
        at += (unsigned long long)w;
    }
    s->file_len = at;
    return 0;
}

/* Whether n more bytes fit: in memory, unless the file holds some (they
 * would come before), then in the file. */
static bool
spool_fits(const struct spool *s, size_t n)
{
    size_t mem_room = spool_file_is_empty(s)
                      ? s->mem_max - (s->mem_len - s->mem_at) : 0;
    unsigned long long file_held = s->file_len - s->file_at;

    if (n <= mem_room)
        return true;
    return file_held <= s->file_max
           && n - mem_room <= s->file_max - file_held;
}

int
spool_add(struct spool *s, const void *data, size_t n)
{
    const char *p = data;
    size_t mem_n = 0;

    if (!spool_fits(s, n)) {
        errno = ENOSPC;
        return -1;
    }
    if (spool_file_is_empty(s)) {
        mem_n = s->mem_max - (s->mem_len - s->mem_at);
        if (mem_n > n)
            mem_n = n;
        if (mem_n > 0 && spool_mem_room(s, mem_n) == -1)
            return -1;
    }
    /* The file part first: if it fails, memory is as it was. */
    if (n > mem_n && spool_file_add(s, p + mem_n, n - mem_n) == -1)
        return -1;
    if (mem_n > 0) {
        memcpy(s->mem + s->mem_len, p, mem_n);
        s->mem_len += mem_n;
    }
    return 0;
}

/* Up to n bytes from the file's front. */
static ssize_t
spool_file_take(struct spool *s, char *buf, size_t n)
{
    unsigned long long held = s->file_len - s->file_at;
    ssize_t got;

    if (n > held)
        n = (size_t)held;
    do
        got = pread(s->fd, buf, n, (off_t)s->file_at);
    while (got == -1 && errno == EINTR);
    if (got == 0) {
        errno = EIO;            /* shorter than what was written to it */
        return -1;
    }
    if (got == -1)
        return -1;
    s->file_at += (unsigned long long)got;
    if (spool_file_is_empty(s)) {
        /* Emptied: start again at 0, and give the blocks back. */
        s->file_at = s->file_len = 0;
        if (ftruncate(s->fd, 0) == -1) {
            /* Only disk space is lost until spool_free closes it. */
        }
    }
    return got;
}

ssize_t
spool_take(struct spool *s, void *buf, size_t n)
{
    size_t unread = s->mem_len - s->mem_at;

    if (n == 0)
        return 0;
    if (unread == 0)
        return spool_file_is_empty(s) ? 0 : spool_file_take(s, buf, n);
    if (n > unread)
        n = unread;
    memcpy(buf, s->mem + s->mem_at, n);
    s->mem_at += n;
    if (s->mem_at == s->mem_len)
        s->mem_at = s->mem_len = 0;
    return (ssize_t)n;
}

void
spool_free(struct spool *s)
{
    free(s->mem);
    if (s->fd != -1 && close(s->fd) == -1) {
        /* Nothing is lost: the file has no name and is not read again. */
    }
    spool_init(s, s->mem_max, s->file_max, s->dir);
}
