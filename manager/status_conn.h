/* One connection to the status socket as a FastCGI responder, without
 * the I/O: status.c feeds the bytes it reads into the decoder and writes
 * out what this queues. One request at a time; bounded memory. */
#ifndef FCGIPM_STATUS_CONN_H
#define FCGIPM_STATUS_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "fcgi_record.h"
#include "status_format.h"

/* PARAMS of one request may not exceed this (the connection closes). */
#define STATUS_PARAMS_MAX (64 * 1024)
/* What FCGI_GET_VALUES answers for FCGI_MAX_CONNS and FCGI_MAX_REQS. */
#define STATUS_MAX_CONNS 64

/* The params a status request is answered from, NUL-terminated; NULL
 * when the client did not send them. */
struct status_request {
    char *method;
    char *document_uri;
    char *script_name;
    char *request_uri;
    char *query_string;
};

/* Write the CGI response to rq (headers, blank line, body) to out.
 * 0, or -1 when it cannot (out of memory): the connection closes. */
typedef int status_answer_fn(void *ctx, const struct status_request *rq,
                             struct status_buf *out);

struct status_conn {
    struct fcgi_record_decoder dec;  /* read into it (its space/commit) */
    struct status_buf out;      /* records to send; see status_conn_sent */
    size_t out_sent;            /* bytes of out already sent */
    uint8_t *params;            /* the PARAMS stream so far */
    size_t params_len;
    uint16_t request_id;        /* the request being read; 0: none */
    bool keep_conn;             /* FCGI_KEEP_CONN of that request */
    bool close_after;           /* close once out is sent */
    const char *error;          /* why the connection must close */
};

enum status_conn_result {
    STATUS_CONN_NEED_INPUT,     /* read more into dec */
    STATUS_CONN_OUTPUT,         /* send out, then call process again
                                   (or close if close_after) */
    STATUS_CONN_ERROR,          /* close now; error says why */
};

void status_conn_init(struct status_conn *c);
void status_conn_free(struct status_conn *c);

/*
 * Handle the records buffered in c->dec until one needs an answer (then
 * OUTPUT, the answer queued in c->out), more input is needed, or the
 * stream is broken (ERROR). Answers are queued only while out is empty,
 * so a client that does not read cannot make it grow.
 */
enum status_conn_result status_conn_process(struct status_conn *c,
                                            status_answer_fn *fn, void *ctx);

/* n more bytes of c->out were sent; once all are, out is emptied. */
void status_conn_sent(struct status_conn *c, size_t n);
/* Bytes of c->out not yet sent. */
size_t status_conn_pending(const struct status_conn *c);

#endif
