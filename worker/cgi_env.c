/* A CGI script's environment: the request's params, checked, with the
 * pool's env over them and a few defaults under them; nothing comes
 * from the worker's own environ. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgi.h"

#ifndef FCGIPM_VERSION
#define FCGIPM_VERSION "0"
#endif

/* Who wins when a name comes from several places: the lower rank, then
 * the first seen. */
enum cgi_env_rank {
    CGI_ENV_POOL,               /* the pool's env: configuration wins */
    CGI_ENV_PATH,               /* the default PATH, over the request's */
    CGI_ENV_PARAM,              /* the request's params */
    CGI_ENV_DEFAULT,            /* added only when the params lack them */
};

struct cgi_env_item {
    const char *s;              /* "NAME=VALUE" */
    size_t name_len;
    enum cgi_env_rank rank;
    size_t seq;
};

/* What is being gathered: items, then sorted and deduplicated. */
struct cgi_env_list {
    struct cgi_env_item *v;
    size_t n;
};

bool
cgi_env_name_is_valid(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* The request's params a script gets by name: RFC 3875's meta-variables
 * and what nginx, lighttpd and Apache add; sorted, for bsearch. */
static const char *const cgi_env_names[] = {
    "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "DOCUMENT_ROOT",
    "DOCUMENT_URI", "FCGI_ROLE", "GATEWAY_INTERFACE", "HTTPS",
    "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR",
    "REMOTE_HOST", "REMOTE_IDENT", "REMOTE_PORT", "REMOTE_USER",
    "REQUEST_METHOD", "REQUEST_SCHEME", "REQUEST_URI", "SCRIPT_FILENAME",
    "SCRIPT_NAME", "SCRIPT_URI", "SCRIPT_URL", "SERVER_ADDR",
    "SERVER_ADMIN", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
    "SERVER_SIGNATURE", "SERVER_SOFTWARE", "SSL_CIPHER", "SSL_PROTOCOL",
    "SSL_SESSION_ID", "SSL_TLS_SNI", "UNIQUE_ID",
};

/* And by prefix: request headers, Apache's context and redirect
 * variables, TLS client and server certificates. Not "SSL_" as a
 * whole: TLS libraries read SSL_CERT_FILE and SSL_CERT_DIR. */
static const char *const cgi_env_prefixes[] = {
    "HTTP_", "CONTEXT_", "REDIRECT_", "SSL_CLIENT_", "SSL_SERVER_",
};

struct cgi_env_key {
    const char *s;
    size_t len;
};

static int
cgi_env_name_cmp(const void *pk, const void *pname)
{
    const struct cgi_env_key *k = pk;
    const char *name = *(const char *const *)pname;
    int c = strncmp(k->s, name, k->len);

    return c != 0 ? c : name[k->len] == '\0' ? 0 : -1;
}

bool
cgi_env_param_is_passed(const char *s, size_t len)
{
    struct cgi_env_key k = { .s = s, .len = len };

    /* httpoxy: a client's "Proxy:" header arrives as HTTP_PROXY, which
     * many HTTP libraries take as their proxy. */
    if (len == 10 && strncasecmp(s, "HTTP_PROXY", 10) == 0)
        return false;
    if (bsearch(&k, cgi_env_names, sizeof(cgi_env_names)
                / sizeof(*cgi_env_names), sizeof(*cgi_env_names),
                cgi_env_name_cmp) != NULL)
        return true;
    for (size_t i = 0; i < sizeof(cgi_env_prefixes)
                           / sizeof(*cgi_env_prefixes); i++) {
        size_t n = strlen(cgi_env_prefixes[i]);
        if (len > n && strncmp(s, cgi_env_prefixes[i], n) == 0)
            return true;
    }
    return false;
}

/* Add "NAME=VALUE" with a valid name, and from a request only a name
 * the script may get; false (not added) otherwise. The pool's env is
 * the administrator's and may set any name. */
static bool
cgi_env_add(struct cgi_env_list *l, const char *s, enum cgi_env_rank rank)
{
    const char *eq = strchr(s, '=');

    if (eq == NULL || !cgi_env_name_is_valid(s, (size_t)(eq - s)))
        return false;
    /* A param whose name holds '=' reads as a shorter name: that name
     * must pass too, so no such param sets what others cannot. */
    if (rank == CGI_ENV_PARAM && !cgi_env_param_is_passed(s,
                                                          (size_t)(eq - s)))
        return false;
    l->v[l->n] = (struct cgi_env_item){ .s = s, .name_len = (size_t)(eq - s),
                                        .rank = rank, .seq = l->n };
    l->n++;
    return true;
}

static int
cgi_env_item_cmp(const void *pa, const void *pb)
{
    const struct cgi_env_item *a = pa, *b = pb;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->s, b->s, n);

    if (c != 0)
        return c;
    if (a->name_len != b->name_len)
        return a->name_len < b->name_len ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool
cgi_env_same_name(const struct cgi_env_item *a, const struct cgi_env_item *b)
{
    return a->name_len == b->name_len && memcmp(a->s, b->s, a->name_len) == 0;
}

static size_t
cgi_env_count(char *const *v)
{
    size_t n = 0;

    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

/* Gather every candidate into l (sized by the caller). */
static void
cgi_env_gather(struct cgi_env *e, struct cgi_env_list *l,
               char *const *params, char *const *pool_env)
{
    static const char *const defaults[] = {
        "GATEWAY_INTERFACE=CGI/1.1",
        "SERVER_SOFTWARE=fcgipm/" FCGIPM_VERSION,
    };

    for (size_t i = 0; pool_env != NULL && pool_env[i] != NULL; i++)
        cgi_env_add(l, pool_env[i], CGI_ENV_POOL);
    cgi_env_add(l, "PATH=" CGI_DEFAULT_PATH, CGI_ENV_PATH);
    for (size_t i = 0; params != NULL && params[i] != NULL; i++) {
        /* Apache's "proxy:fcgi://host/path" means a path: the script
         * gets the one that runs, as when the request sends none. */
        if (strncmp(params[i], "SCRIPT_FILENAME=", 16) == 0
            && cgi_path_apache_form(params[i] + 16) != NULL)
            continue;
        if (!cgi_env_add(l, params[i], CGI_ENV_PARAM))
            e->dropped++;
    }
    for (size_t i = 0; i < sizeof(defaults) / sizeof(*defaults); i++)
        cgi_env_add(l, defaults[i], CGI_ENV_DEFAULT);
    if (e->script_filename != NULL)
        cgi_env_add(l, e->script_filename, CGI_ENV_DEFAULT);
}

/* envp from the sorted items: the first of each name. */
static int
cgi_env_pick(struct cgi_env *e, const struct cgi_env_list *l)
{
    size_t k = 0;

    e->envp = malloc((l->n + 1) * sizeof(*e->envp));
    if (e->envp == NULL)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0 && cgi_env_same_name(&l->v[i - 1], &l->v[i]))
            continue;
        e->envp[k++] = (char *)l->v[i].s;
    }
    e->envp[k] = NULL;
    return 0;
}

int
cgi_env_build(struct cgi_env *e, char *const *params, char *const *pool_env,
              const char *script)
{
    size_t cap = cgi_env_count(params) + cgi_env_count(pool_env) + 4;
    struct cgi_env_list l = { .v = calloc(cap, sizeof(*l.v)) };
    int rc = -1;

    *e = (struct cgi_env){ 0 };
    if (l.v == NULL)
        return -1;
    if (script != NULL && asprintf(&e->script_filename, "SCRIPT_FILENAME=%s",
                                   script) == -1) {
        e->script_filename = NULL;
        errno = ENOMEM;
        goto out;
    }
    cgi_env_gather(e, &l, params, pool_env);
    qsort(l.v, l.n, sizeof(*l.v), cgi_env_item_cmp);
    rc = cgi_env_pick(e, &l);
out:
    free(l.v);
    if (rc == -1)
        cgi_env_free(e);
    return rc;
}

void
cgi_env_free(struct cgi_env *e)
{
    int saved = errno;

    free(e->envp);
    free(e->script_filename);
    e->envp = NULL;
    e->script_filename = NULL;
    errno = saved;
}

static bool
cgi_is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

char *
cgi_printable(char *dst, size_t size, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    size_t need = 1, n = 0, limit;

    if (src == NULL)
        src = "-";
    for (const char *p = src; *p != '\0'; p++)
        need += cgi_is_control((unsigned char)*p) ? 4 : 1;
    /* Cut, keep room for "..." and the NUL. */
    limit = need <= size ? size - 1 : size - 4;
    for (; *src != '\0'; src++) {
        unsigned char c = (unsigned char)*src;
        if (n + (cgi_is_control(c) ? 4 : 1) > limit)
            break;
        if (cgi_is_control(c)) {
            dst[n++] = '\\';
            dst[n++] = 'x';
            dst[n++] = hex[c >> 4];
            dst[n++] = hex[c & 0xf];
        } else {
            dst[n++] = (char)c;
        }
    }
    if (need > size) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
    return dst;
}

int
cgi_content_length(const char *s, unsigned long long *len)
{
    unsigned long long v = 0;

    for (const char *p = s; p != NULL && *p != '\0'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9 || v > (ULLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *len = v;
    return 0;
}
