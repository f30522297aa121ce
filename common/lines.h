/* Cutting a byte stream into log lines, and the one cleaner of text from
 * outside (workers' output, what clients sent, a control socket's
 * answer) before it reaches a log, a status page or a terminal: pure,
 * used by the master, fcgipm ctl and cgi workers. */
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

/* lines_clean's flags. */
#define LINES_KEEP_TAB 1u       /* tab passes as it is */
/* Room for the cleaned form of n bytes with its NUL: at most 4 bytes
 * out for each byte in. */
#define LINES_CLEAN_SIZE(n) (4 * (size_t)(n) + 1)
/* The longest cleaned form of one character: a C1 control's two \xNN. */
#define LINES_CHAR_MAX 8

/*
 * Write n bytes of s to dst (size > 0 bytes) as printable UTF-8,
 * NUL-terminated: C0 controls (tab too unless LINES_KEEP_TAB), DEL, C1
 * controls (U+0080 to U+009F) and bytes that are not UTF-8 (stray or
 * missing continuation bytes, overlong forms, surrogates, beyond
 * U+10FFFF, 0x80 to 0x9f alone) become \xNN, one for each byte; valid
 * printable UTF-8 is kept as it is. A dst too small gets what fits,
 * never the part of a character or of an escape. Returns the length.
 */
size_t lines_clean(char *dst, size_t size, const char *s, size_t n,
                   unsigned flags);
/*
 * The first character of s (n > 0 bytes) cleaned as lines_clean does,
 * into out (room LINES_CHAR_MAX, no NUL) with its length in *outlen.
 * Returns how many bytes of s it took, 1 to 4.
 */
size_t lines_clean_char(const char *s, size_t n, unsigned flags, char *out,
                        size_t *outlen);

/* A line being assembled from reads that may end anywhere. */
struct lines {
    size_t len;
    bool continued;             /* buf continues a line already cut */
    bool cr;                    /* a \r waits to see if \n follows */
    size_t npend;               /* the bytes of a UTF-8 character that */
    unsigned char pend[4];      /* the next read may finish */
    char buf[LINES_MAX];
};

/*
 * Split n bytes of output into lines and call fn for each complete one:
 * a trailing \r is dropped, the rest cleaned by lines_clean keeping tab,
 * a line over LINES_MAX is passed in pieces. An unfinished line stays in
 * ol for the next call. Pure: no system calls.
 */
void lines_feed(struct lines *ol, const char *data, size_t n, lines_fn *fn,
                void *ctx);
/* At end of file: pass the unfinished line, if any, to fn. */
void lines_flush(struct lines *ol, lines_fn *fn, void *ctx);

#endif
