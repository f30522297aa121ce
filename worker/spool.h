/* A byte queue a worker holds back until it may send it: in memory up to
 * a bound, past that in an unlinked temporary file (O_TMPFILE), up to a
 * second bound. For answers that must wait until a request's body is
 * all read (nginx and Caddy send the whole body before they read). */
#ifndef FCGIPM_SPOOL_H
#define FCGIPM_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What builtin:echo and a cgi script's early output may hold: 1 MiB in
 * memory, then 64 MiB in the temporary file. */
#define SPOOL_MEM_MAX (1024 * 1024)
#define SPOOL_FILE_MAX (64ULL * 1024 * 1024)

struct spool {
    char *mem;                  /* malloc'd as it fills, up to mem_max */
    size_t mem_size;            /* allocated */
    size_t mem_max;
    size_t mem_at, mem_len;     /* unread bytes: mem[mem_at, mem_len) */
    int fd;                     /* the temporary file; -1 before a spill */
    unsigned long long file_max;   /* 0: never spill */
    unsigned long long file_at, file_len;  /* unread: [file_at, file_len) */
    const char *dir;            /* where the file is made (not copied) */
};

/* An empty spool that holds mem_max bytes in memory, then file_max in
 * an unlinked file made in dir ($TMPDIR or /tmp when NULL). */
void spool_init(struct spool *s, size_t mem_max,
                unsigned long long file_max, const char *dir);

/* Append n bytes: all of them, or none. 0; -1 with errno ENOSPC when
 * they do not fit, or the temporary file's errno (it could not be made
 * or written: nothing was added). */
int spool_add(struct spool *s, const void *data, size_t n);

/* Take up to n bytes from the front into buf: how many, 0 when empty;
 * -1 with errno when the file cannot be read. */
ssize_t spool_take(struct spool *s, void *buf, size_t n);

/* Bytes held. */
unsigned long long spool_len(const struct spool *s);

/* Free the memory and close the file; s is empty and usable again. */
void spool_free(struct spool *s);

#endif
