/* Status request routing: the page a request's path names, and the
 * format and detail its query string asks for. */
#include <stdbool.h>
#include <string.h>

#include "status_route.h"

static const char *
query_word_end(const char *s)
{
    return s + strcspn(s, "&;");
}

void
status_query_parse(const char *query, struct status_query *out)
{
    *out = (struct status_query){ .format = STATUS_FORMAT_TEXT };
    for (const char *s = query; s != NULL && *s != '\0';) {
        const char *end = query_word_end(s);
        size_t n = strcspn(s, "=&;");
        if (n == 4 && strncmp(s, "json", 4) == 0)
            out->format = STATUS_FORMAT_JSON;
        else if (n == 11 && strncmp(s, "openmetrics", 11) == 0)
            out->format = STATUS_FORMAT_OPENMETRICS;
        else if (n == 4 && strncmp(s, "text", 4) == 0)
            out->format = STATUS_FORMAT_TEXT;
        else if (n == 4 && strncmp(s, "full", 4) == 0)
            out->full = true;
        s = *end != '\0' ? end + 1 : end;
    }
}

static bool
is_set(const char *s)
{
    return s != NULL && *s != '\0';
}

enum status_route
status_route(const char *document_uri, const char *script_name,
             const char *request_uri, const char *status_path,
             const char *ping_path)
{
    const char *path = request_uri;
    size_t len = is_set(path) ? strcspn(path, "?") : 0;

    if (is_set(document_uri) || is_set(script_name)) {
        path = is_set(document_uri) ? document_uri : script_name;
        len = strlen(path);
    }
    if (len == 0)
        return STATUS_ROUTE_NOT_FOUND;
    if (is_set(status_path) && strlen(status_path) == len
        && strncmp(path, status_path, len) == 0)
        return STATUS_ROUTE_STATUS;
    if (is_set(ping_path) && strlen(ping_path) == len
        && strncmp(path, ping_path, len) == 0)
        return STATUS_ROUTE_PING;
    return STATUS_ROUTE_NOT_FOUND;
}

const char *
status_query_of(const char *query_string, const char *request_uri)
{
    if (query_string != NULL)
        return query_string;
    const char *q = request_uri != NULL ? strchr(request_uri, '?') : NULL;
    return q != NULL ? q + 1 : NULL;
}
