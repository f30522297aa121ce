/* The CGI gateway's pure parts, shared by worker/cgi*.c and the unit
 * tests: the script's path check (cgi_path.c), its environment
 * (cgi_env.c) and the header block it prints (cgi_headers.c). */
#ifndef FCGIPM_CGI_H
#define FCGIPM_CGI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* The PATH a script gets unless the pool's env sets one. */
#define CGI_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
/* The largest header block a script may print: more is a 502. */
#define CGI_HEADERS_MAX (64 * 1024)

enum cgi_path_result {
    CGI_PATH_OK,
    CGI_PATH_NOT_FOUND,         /* 404 */
    CGI_PATH_FORBIDDEN,         /* 403 */
    CGI_PATH_ERROR,             /* 500: cgi_root itself is unusable */
};

/*
 * Apache's mod_proxy_fcgi (unless "ProxyFCGIBackendType GENERIC") sends
 * SCRIPT_FILENAME as "proxy:fcgi://HOST[:PORT]/PATH[?QUERY]", as php-fpm
 * expects. For such a value, the "/PATH..." part (or "" when there is
 * none); NULL for any other value.
 */
const char *cgi_path_apache_form(const char *filename);

/* A script named by a request, as checked by cgi_path_resolve. */
struct cgi_path {
    char requested[PATH_MAX];   /* the path the request named, for logs */
    char real[PATH_MAX];        /* its realpath: SCRIPT_FILENAME, logs */
    char dir[PATH_MAX];         /* the directory of real */
    int fd;                     /* the checked file (O_PATH): what runs */
    int dir_fd;                 /* its directory (O_PATH): the cwd */
    const char *why;            /* why it was refused, for logs */
};

/*
 * Find the script a request names: filename (SCRIPT_FILENAME) when not
 * NULL or empty, else root + name (SCRIPT_NAME). It must resolve
 * (realpath) inside root on a component boundary; the file is then
 * opened beneath root (cgi_path_open_beneath: a symbolic link swapped
 * in meanwhile is refused) and checked through that descriptor: a
 * regular file the caller may execute, and neither the file self_exe
 * names (the running fcgipm: "/proc/self/exe") nor one
 * cgi_path_note_self recorded. A missing file is CGI_PATH_NOT_FOUND
 * only when the requested path lies inside root as written, so that a
 * 404 never tells what exists outside. Fills p; on CGI_PATH_OK, p->fd
 * and p->dir_fd are open (close-on-exec; cgi_path_close closes them),
 * else they are -1 and p->why says why it was refused.
 */
enum cgi_path_result cgi_path_resolve(struct cgi_path *p, const char *root,
                                      const char *filename,
                                      const char *name,
                                      const char *self_exe);

/*
 * Open path (relative; may be "" or ".") beneath the directory dir_fd,
 * one component at a time, as O_PATH|O_CLOEXEC: a symbolic link on the
 * way is ELOOP, ".." is EXDEV, a component that is not a directory is
 * ENOTDIR, and so is the end unless dir is false. Returns the new
 * descriptor, or -1 with errno.
 */
int cgi_path_open_beneath(int dir_fd, const char *path, bool dir);

/* Close what cgi_path_resolve opened in p; p may be closed already. */
void cgi_path_close(struct cgi_path *p);

/*
 * Record the file the link self_exe names (and the file at the path it
 * reads, see cgi_path_resolve) as fcgipm, for when self_exe cannot be
 * read later: a chroot without /proc. NULL forgets what was recorded.
 * Returns how many files are recorded (0 to 2).
 */
size_t cgi_path_note_self(const char *self_exe);

/* Whether path (absolute, resolved) is root or below it; root has no
 * trailing slash but may be "/". */
bool cgi_path_is_inside(const char *path, const char *root);

/* A script's environment: envp for execve and what it owns. */
struct cgi_env {
    char **envp;                /* NULL-terminated; the strings are the
                                   params', the pool's, static, or owned */
    char *script_filename;      /* owned "SCRIPT_FILENAME=..." or NULL */
    size_t dropped;             /* params left out (invalid name, or
                                   one a script may not get) */
};

/*
 * Build a script's environment from the request's params ("NAME=VALUE",
 * NULL-terminated) and the pool's env (same form, may be NULL), never
 * from this process's environ. A name must match [A-Za-z_][A-Za-z0-9_]*,
 * and a param must pass cgi_env_param_is_passed (so no LD_PRELOAD,
 * BASH_ENV or HTTP_PROXY from a request). The pool's entries override
 * the params; PATH is the pool's or CGI_DEFAULT_PATH, never the
 * request's; GATEWAY_INTERFACE, SERVER_SOFTWARE and SCRIPT_FILENAME
 * (script) are added when the params lack them (a SCRIPT_FILENAME of
 * Apache's form counts as none). A name given twice keeps its first
 * value, as FCGX_GetParam does. Returns 0, or -1 with errno (ENOMEM);
 * free with cgi_env_free.
 */
int cgi_env_build(struct cgi_env *e, char *const *params,
                  char *const *pool_env, const char *script);
void cgi_env_free(struct cgi_env *e);

/*
 * Whether a request's param named by the first len bytes of s reaches
 * the script: a CGI/1.1 meta-variable (RFC 3875 4.1) or one web servers
 * add (DOCUMENT_ROOT, REQUEST_URI, SCRIPT_FILENAME, HTTPS, REMOTE_PORT,
 * ...), or HTTP_*, CONTEXT_*, REDIRECT_*, SSL_CLIENT_*, SSL_SERVER_*;
 * never HTTP_PROXY in any case (httpoxy).
 */
bool cgi_env_param_is_passed(const char *s, size_t len);

/* Whether the first len bytes of s are a valid environment name. */
bool cgi_env_name_is_valid(const char *s, size_t len);

/*
 * src fit for a log line, into dst of size bytes (at least 8): control
 * bytes become \xNN, so that a request cannot forge log lines, and a
 * string too long ends in "...". NULL becomes "-". Returns dst.
 */
char *cgi_printable(char *dst, size_t size, const char *src);

/* CONTENT_LENGTH: NULL or "" is 0; otherwise decimal digits only.
 * Returns 0, or -1 for anything else (or an overflow). */
int cgi_content_length(const char *s, unsigned long long *len);

/* A script's header block, gathered from reads that end anywhere. */
struct cgi_headers {
    size_t len;                 /* bytes in buf */
    size_t line_at;             /* where the line being scanned starts */
    size_t end;                 /* length of the block with its blank
                                   line once complete; 0 before */
    char buf[CGI_HEADERS_MAX];
};

enum cgi_headers_state {
    CGI_HEADERS_MORE,           /* no blank line yet */
    CGI_HEADERS_DONE,           /* buf[0..end) is the block; buf[end..len)
                                   the first body bytes */
    CGI_HEADERS_TOO_BIG,        /* buf is full and no blank line */
};

/* Where the next read goes and how much fits. */
char *cgi_headers_room(struct cgi_headers *h, size_t *room);
/* n bytes were read into the room: look for the blank line (LF or CRLF
 * line ends, mixed too). */
enum cgi_headers_state cgi_headers_added(struct cgi_headers *h, size_t n);

enum cgi_reply_check {
    CGI_REPLY_OK,
    CGI_REPLY_MALFORMED,        /* 502: a line is not "Name: value" */
    CGI_REPLY_NO_TYPE,          /* 500: no Content-Type, Location, Status */
};

/* What a header block says. */
struct cgi_reply {
    int status;                 /* Status:, else 302 with Location:, 200 */
    bool has_status;
    bool has_type;
    bool has_location;
    const char *why;            /* what is malformed */
};

/*
 * Check the block of len bytes (blank line included): each line is
 * "Name: value" with a token for name and no control bytes but tab;
 * Status, if given once, is "NNN" or "NNN reason" with NNN in 100..599.
 */
enum cgi_reply_check cgi_reply_parse(const char *block, size_t len,
                                     struct cgi_reply *r);

/* Writes n bytes somewhere; 0, or -1 when it cannot. */
typedef int cgi_write_fn(void *ctx, const char *data, size_t n);

/*
 * Write a checked block the way the web server wants it: "Status: 302
 * Found" first when there is a Location and no Status, then each line
 * as it was but ending in CRLF, then the blank line. Returns 0, or -1 as
 * soon as fn fails.
 */
int cgi_reply_emit(const char *block, size_t len, const struct cgi_reply *r,
                   cgi_write_fn *fn, void *ctx);

/* "Not Found" for 404...; "" when unknown. */
const char *cgi_reason(int status);

#endif
