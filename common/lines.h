/* Cutting a byte stream into log lines: pure, used by the master for
 * workers' output pipes and by cgi workers for scripts' stderr. */
#ifndef FCGIPM_LINES_H
#define FCGIPM_LINES_H

#include <stdbool.h>
#include <stddef.h>

/* The longest piece of a line logged as one log line, in bytes after
 * escaping: a longer line is cut into pieces of at most this size. */
#define LINES_MAX 16384
/* What ends a piece that the next one continues, and starts that one. */
#define LINES_MARK_MORE " [...]"
#define LINES_MARK_CONTINUED "[...] "

/* Where a piece sits in a line longer than LINES_MAX. */
enum lines_part {
    LINES_PART_CONTINUED = 1 << 0,     /* not the first piece */
    LINES_PART_MORE = 1 << 1,          /* not the last piece */
};

/* Receives one line, or one piece of a long one (part: enum lines_part
 * bits), without its newline; text is not NUL-terminated. */
typedef void lines_fn(void *ctx, const char *text, size_t len,
                      unsigned part);

/* A line being assembled from reads that may end anywhere. */
struct lines {
    size_t len;
    bool continued;             /* buf continues a line already cut */
    bool cr;                    /* a \r waits to see if \n follows */
    char buf[LINES_MAX];
};

/*
 * Split n bytes of output into lines and call fn for each complete one:
 * a trailing \r is dropped, other control bytes but tab are escaped as
 * \xNN, a line over LINES_MAX is passed in pieces. An unfinished
 * line stays in ol for the next call. Pure: no system calls.
 */
void lines_feed(struct lines *ol, const char *data, size_t n, lines_fn *fn,
                void *ctx);
/* At end of file: pass the unfinished line, if any, to fn. */
void lines_flush(struct lines *ol, lines_fn *fn, void *ctx);

#endif
