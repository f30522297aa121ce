/* What the two halves of the connection set share: conn.c (the set,
 * epoll, accept, deadlines) and conn_head.c (peeking for whole request
 * heads). Included by those two files only. */
#ifndef FCGIPM_CONN_INT_H
#define FCGIPM_CONN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

enum head_check { HEAD_READY, HEAD_WAIT, HEAD_GONE };

/* conn_head.c: one buffer for peeked heads and for the input conn.c
 * reads and throws away after a response (one worker, one thread). */
extern uint8_t peek_buf[CONN_PEEK_MAX];

/* conn_head.c: whether c's next request head is whole in its socket
 * buffer; HEAD_GONE when c was closed (ended, failed, not FastCGI). */
enum head_check head_check(struct conn_set *cs, struct conn *c);

/* conn.c: watch c in the epoll set (edge-triggered); 0, or -1 logged. */
int conn_watch(struct conn_set *cs, struct conn *c);
/* conn.c: unwatch, close and free c. */
void conn_close(struct conn_set *cs, struct conn *c);
/* conn.c: whether nothing has come on c since it was last looked at. */
bool conn_quiet(const struct conn *c);

#endif
