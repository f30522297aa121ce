/* The built-in handlers of module mode: builtin:hello for benchmarks and
 * builtin:echo for tests that must see exactly what reached the worker. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "log.h"
#include "spool.h"

/* Body bytes read or written at a time. */
#define BUILTIN_CHUNK 65536

static const char builtin_hello_text[] =
    "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"
    "Hello from fcgipm\n";

static const char builtin_echo_head[] =
    "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";

static const char builtin_error_text[] =
    "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
    "out of memory\n";

/* A client that went away is not fcgipm's error: debug level only. */
static int
builtin_put(FCGX_Request *req, const char *s, size_t n, const char *name)
{
    if (FCGX_PutStr(s, (int)n, req->out) == (int)n)
        return 0;
    log_debug("builtin:%s: worker %d: cannot write the response (%d)", name,
              (int)getpid(), FCGX_GetError(req->out));
    return -1;
}

int
builtin_hello(FCGX_Request *req)
{
    builtin_put(req, builtin_hello_text, sizeof(builtin_hello_text) - 1,
                "hello");
    return 200;
}

/* Order params by name, the part before '='; equal names by value. */
static int
builtin_param_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a;
    const char *y = *(const char *const *)b;

    for (size_t i = 0;; i++) {
        int cx = x[i] == '=' ? 0 : (unsigned char)x[i];
        int cy = y[i] == '=' ? 0 : (unsigned char)y[i];

        if (cx != cy)
            return cx - cy;
        if (cx == 0)
            return strcmp(x, y);
    }
}

/* The request's params, sorted; NULL (logged) when out of memory. The
 * caller frees the array, not the strings. */
static char **
builtin_sorted_params(FCGX_Request *req, size_t *n)
{
    char **v;

    *n = 0;
    while (req->envp != NULL && req->envp[*n] != NULL)
        (*n)++;
    v = malloc((*n + 1) * sizeof(*v));
    if (v == NULL) {
        log_error_errno("builtin:echo: worker %d: cannot sort %zu params",
                        (int)getpid(), *n);
        return NULL;
    }
    if (*n > 0)
        memcpy(v, req->envp, *n * sizeof(*v));
    qsort(v, *n, sizeof(*v), builtin_param_cmp);
    return v;
}

static int
builtin_echo_params(FCGX_Request *req, char **params, size_t n)
{
    const char *method = FCGX_GetParam("REQUEST_METHOD", req->envp);
    const char *uri = FCGX_GetParam("REQUEST_URI", req->envp);

    if (method == NULL)
        method = "-";
    if (uri == NULL)
        uri = "-";
    if (builtin_put(req, method, strlen(method), "echo") == -1
        || builtin_put(req, " ", 1, "echo") == -1
        || builtin_put(req, uri, strlen(uri), "echo") == -1
        || builtin_put(req, "\n", 1, "echo") == -1)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (builtin_put(req, params[i], strlen(params[i]), "echo") == -1
            || builtin_put(req, "\n", 1, "echo") == -1)
            return -1;
    return builtin_put(req, "\n", 1, "echo");
}

/* What is left of the body, echoed as it comes. */
static void
builtin_echo_body(FCGX_Request *req)
{
    char buf[BUILTIN_CHUNK];
    int n;

    while ((n = FCGX_GetStr(buf, sizeof(buf), req->in)) > 0)
        if (builtin_put(req, buf, (size_t)n, "echo") == -1)
            return;
}

/* Read the body into held, to its end or until held is full: then the
 * piece that did not fit is left in buf, *left bytes, and the rest is
 * still to read. The answer waits for the body: nginx stops sending a
 * body once it has the answer's header, and Caddy reads no answer until
 * it has sent the body. */
static void
builtin_hold_body(FCGX_Request *req, struct spool *held, char *buf,
                  int *left)
{
    while ((*left = FCGX_GetStr(buf, BUILTIN_CHUNK, req->in)) > 0) {
        if (spool_add(held, buf, (size_t)*left) == 0)
            continue;
        if (errno == ENOSPC)
            log_info("builtin:echo: worker %d: a body over %llu bytes: "
                     "echoed as it comes", (int)getpid(),
                     (unsigned long long)SPOOL_MEM_MAX + SPOOL_FILE_MAX);
        else
            log_warn_errno("builtin:echo: worker %d: cannot hold the body "
                           "past %d bytes: echoed as it comes",
                           (int)getpid(), SPOOL_MEM_MAX);
        return;
    }
    *left = 0;
}

/* What held holds, then the n bytes of buf that did not fit. */
static int
builtin_put_held(FCGX_Request *req, struct spool *held, const char *buf,
                 int n)
{
    char piece[16384];
    ssize_t got;

    while ((got = spool_take(held, piece, sizeof(piece))) > 0)
        if (builtin_put(req, piece, (size_t)got, "echo") == -1)
            return -1;
    if (got == -1) {
        log_error_errno("builtin:echo: worker %d: cannot read back the "
                        "body it held", (int)getpid());
        return -1;
    }
    return builtin_put(req, buf, (size_t)n, "echo");
}

/*
 * builtin:echo answers "200 OK", text/plain, with this body:
 *
 *   METHOD URI\n       REQUEST_METHOD and REQUEST_URI, "-" when unset
 *   NAME=VALUE\n       one line per param, sorted by name (byte order),
 *   ...                values as received (not escaped)
 *   \n                 an empty line
 *   BODY               the request body, byte for byte
 *
 * Nothing is sent before the body is all read, unless it is over what a
 * spool holds (spool.h): the rest is then echoed as it comes.
 */
int
builtin_echo(FCGX_Request *req)
{
    size_t n;
    char **params = builtin_sorted_params(req, &n);
    struct spool held;
    char buf[BUILTIN_CHUNK];
    int left;

    if (params == NULL) {
        builtin_put(req, builtin_error_text, sizeof(builtin_error_text) - 1,
                    "echo");
        return 500;
    }
    spool_init(&held, SPOOL_MEM_MAX, SPOOL_FILE_MAX, NULL);
    builtin_hold_body(req, &held, buf, &left);
    if (builtin_put(req, builtin_echo_head, sizeof(builtin_echo_head) - 1,
                    "echo") == 0
        && builtin_echo_params(req, params, n) == 0
        && builtin_put_held(req, &held, buf, left) == 0 && left > 0)
        builtin_echo_body(req);
    if (FCGX_GetError(req->in) != 0)
        log_debug("builtin:echo: worker %d: cannot read the body (%d)",
                  (int)getpid(), FCGX_GetError(req->in));
    spool_free(&held);
    free(params);
    return 200;
}

builtin_fn *
builtin_find(const char *name)
{
    if (strcmp(name, "hello") == 0)
        return builtin_hello;
    if (strcmp(name, "echo") == 0)
        return builtin_echo;
    return NULL;
}
