/* The CGI params fcgi-request sends: defaults from the URI and body, then
 * -H and -p overrides, encoded as one name-value pair stream. */
#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct request_param *
request_params_find(struct request_params *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].name, name) == 0)
            return &ps->v[i];
    return NULL;
}

int
request_params_set(struct request_params *ps, const char *name,
                   const char *value)
{
    struct request_param *p = request_params_find(ps, name);
    char *copy = strdup(value);

    if (copy == NULL)
        return -1;
    if (p != NULL) {
        free(p->value);
        p->value = copy;
        return 0;
    }
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 32;
        struct request_param *v = realloc(ps->v, cap * sizeof(*v));

        if (v == NULL)
            goto fail_free;
        ps->v = v;
        ps->cap = cap;
    }
    ps->v[ps->n].name = strdup(name);
    if (ps->v[ps->n].name == NULL)
        goto fail_free;
    ps->v[ps->n].value = copy;
    ps->n++;
    return 0;
fail_free:
    free(copy);
    errno = ENOMEM;
    return -1;
}

int
request_params_set_arg(struct request_params *ps, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *name;
    int rc;

    if (eq == NULL || eq == arg) {
        errno = EINVAL;
        return -1;
    }
    name = strndup(arg, (size_t)(eq - arg));
    if (name == NULL)
        return -1;
    rc = request_params_set(ps, name, eq + 1);
    free(name);
    return rc;
}

bool
request_params_is_token(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) &&
            (s[i] == '\0' || strchr("!#$%&'*+-.^_`|~", s[i]) == NULL))
            return false;
    return true;
}

/* "Content-Type" -> "CONTENT_TYPE", "X-Foo" -> "HTTP_X_FOO" in out, which
 * holds 5 + len + 1 bytes. */
static void
request_params_cgi_name(const char *h, size_t len, char *out)
{
    size_t at = 0;

    if (!(len == 12 && strncasecmp(h, "Content-Type", 12) == 0) &&
        !(len == 14 && strncasecmp(h, "Content-Length", 14) == 0)) {
        memcpy(out, "HTTP_", 5);
        at = 5;
    }
    for (size_t i = 0; i < len; i++)
        out[at++] = h[i] == '-' ? '_' : (char)toupper((unsigned char)h[i]);
    out[at] = '\0';
}

int
request_params_set_header(struct request_params *ps, const char *arg)
{
    const char *colon = strchr(arg, ':');
    const char *value, *end;
    char *name, *val;
    size_t len;
    int rc = -1;

    if (colon == NULL) {
        errno = EINVAL;
        return -1;
    }
    len = (size_t)(colon - arg);
    if (!request_params_is_token(arg, len)) {
        errno = EINVAL;
        return -1;
    }
    /* Optional whitespace around the value is not part of it. */
    for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
        continue;
    for (end = value + strlen(value);
         end > value && (end[-1] == ' ' || end[-1] == '\t'); end--)
        continue;
    name = malloc(5 + len + 1);
    val = strndup(value, (size_t)(end - value));
    if (name != NULL && val != NULL) {
        request_params_cgi_name(arg, len, name);
        rc = request_params_set(ps, name, val);
    } else {
        errno = ENOMEM;
    }
    free(name);
    free(val);
    return rc;
}

int
request_params_defaults(struct request_params *ps, const char *method,
                        const char *uri, const struct request_body *b)
{
    const char *q = strchr(uri, '?');
    size_t path_len = q ? (size_t)(q - uri) : strlen(uri);
    char *path = strndup(uri, path_len);
    char len[32];
    int rc = 0;

    if (path == NULL)
        return -1;
    snprintf(len, sizeof(len), "%" PRIu64, b->len);
    rc |= request_params_set(ps, "GATEWAY_INTERFACE", "CGI/1.1");
    rc |= request_params_set(ps, "SERVER_SOFTWARE", "fcgi-request");
    rc |= request_params_set(ps, "SERVER_PROTOCOL", "HTTP/1.1");
    rc |= request_params_set(ps, "SERVER_NAME", "localhost");
    rc |= request_params_set(ps, "SERVER_PORT", "80");
    rc |= request_params_set(ps, "REMOTE_ADDR", "127.0.0.1");
    rc |= request_params_set(ps, "REQUEST_METHOD", method);
    rc |= request_params_set(ps, "REQUEST_URI", uri);
    rc |= request_params_set(ps, "SCRIPT_NAME", path);
    rc |= request_params_set(ps, "SCRIPT_FILENAME", path);
    rc |= request_params_set(ps, "QUERY_STRING", q ? q + 1 : "");
    if (b->present) {
        rc |= request_params_set(ps, "CONTENT_LENGTH", len);
        rc |= request_params_set(ps, "CONTENT_TYPE",
                                 "application/x-www-form-urlencoded");
    }
    free(path);
    return rc == 0 ? 0 : -1;
}

int
request_params_encode(const struct request_params *ps, uint8_t **out,
                      size_t *len)
{
    size_t total = 0, size;
    uint8_t *buf;

    for (size_t i = 0; i < ps->n; i++) {
        size = fcgi_record_pair_size(strlen(ps->v[i].name),
                                     strlen(ps->v[i].value));
        if (size == 0 || size > SIZE_MAX - total) {
            errno = EINVAL;
            return -1;
        }
        total += size;
    }
    buf = malloc(total ? total : 1);
    if (buf == NULL)
        return -1;
    *len = 0;
    for (size_t i = 0; i < ps->n; i++)
        *len += (size_t)fcgi_record_pair_encode(
            buf + *len, total - *len, ps->v[i].name, strlen(ps->v[i].name),
            ps->v[i].value, strlen(ps->v[i].value));
    *out = buf;
    return 0;
}

void
request_params_free(struct request_params *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->v[i].name);
        free(ps->v[i].value);
    }
    free(ps->v);
    ps->v = NULL;
    ps->n = ps->cap = 0;
}
