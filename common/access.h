/* Access-log lines: a pure formatter from a request's facts and the
 * pool's access_format, and the checker the config loader runs on it. */
#ifndef FCGIPM_ACCESS_H
#define FCGIPM_ACCESS_H

#include <stddef.h>

/* What one finished request looks like to the access log. String fields
 * come from the request and may be NULL (they print as "-"). */
struct access_entry {
    const char *pool;
    int pid;
    const char *remote_addr;
    const char *remote_user;
    const char *method;
    const char *request_uri;     /* may hold "?query": %r cuts it off */
    const char *query_string;
    const char *script_filename;
    int status;
    double start_wall;           /* seconds since the epoch */
    double duration_s;
    unsigned long long content_length;
};

/*
 * Format e with fmt into buf as one line ending in '\n' and NUL-terminated.
 * Directives:
 *   %R remote address   %u remote user      %t start, common log format
 *   %m method           %r URI without query %q query string
 *   %Q "?" if a query   %s status           %d duration, seconds.millis
 *   %p pid              %n pool             %f script filename
 *   %l content length   %% a percent sign
 * Unknown directives are copied as written. Bytes below 0x20, 0x7f and
 * above, '"' and '\' in the fields are written \xNN, so a field is
 * printable ASCII without tabs whatever the request held; control bytes
 * in fmt but tab are escaped the same way. A line that does not fit is cut
 * (never inside an escape) and still ends in '\n'. Returns the length
 * written, without the NUL; 0 only when len < 2 (buf then holds "" if len
 * is 1).
 */
size_t access_format(const char *fmt, const struct access_entry *e,
                     char *buf, size_t len);

/*
 * Check an access_format value: not empty, every '%' starts a known
 * directive, no control bytes but tab. Returns 0, or -1 with a reason in why
 * (NUL-terminated, cut to len), e.g. "unknown directive %x at column 7"
 * (columns count bytes from 1).
 */
int access_format_check(const char *fmt, char *why, size_t len);

#endif
