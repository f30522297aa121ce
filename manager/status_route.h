/* Which page and format a status request asks for, from its CGI
 * params: the routing of status_path and ping_path, and the query
 * string's words. Pure: strings in, answers out. */
#ifndef FCGIPM_STATUS_ROUTE_H
#define FCGIPM_STATUS_ROUTE_H

#include <stdbool.h>

enum status_format {
    STATUS_FORMAT_TEXT,
    STATUS_FORMAT_JSON,
    STATUS_FORMAT_OPENMETRICS,
};

/* What the query string asks for. */
struct status_query {
    enum status_format format;
    bool full;
};

/* Parse a query string such as "json&full": the words json, openmetrics
 * and full (a value after '=' is ignored; of two formats the last
 * wins); anything else is ignored. NULL is the empty query. */
void status_query_parse(const char *query, struct status_query *out);

enum status_route {
    STATUS_ROUTE_STATUS,
    STATUS_ROUTE_PING,
    STATUS_ROUTE_NOT_FOUND,
};

/* The page a request names: its path is DOCUMENT_URI, else SCRIPT_NAME,
 * else the part of REQUEST_URI before '?' (the first of them that is set
 * and not empty; NULL means unset). */
enum status_route status_route(const char *document_uri,
                               const char *script_name,
                               const char *request_uri,
                               const char *status_path,
                               const char *ping_path);
/* The query: QUERY_STRING when set, else what follows '?' in
 * REQUEST_URI, else NULL. */
const char *status_query_of(const char *query_string,
                            const char *request_uri);

#endif
