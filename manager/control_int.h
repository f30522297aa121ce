/* What control.c (the connections) and control_cmd.c (the commands)
 * share, and nothing else uses: one client's state, and the two ways a
 * command ends, an answer now or a wait for a result. */
#ifndef FCGIPM_CONTROL_INT_H
#define FCGIPM_CONTROL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "control_proto.h"
#include "loop.h"
#include "status_format.h"

/* An answer's data beyond this is replaced by an error line. */
#define CONTROL_OUT_MAX (4u << 20)

struct manager;

enum control_client_state {
    CONTROL_CLIENT_READING,     /* its request line */
    CONTROL_CLIENT_WAITING,     /* for a reload's or an upgrade's result */
    CONTROL_CLIENT_WRITING,     /* its answer; closed once sent */
};

enum control_wait {
    CONTROL_WAIT_NONE,
    CONTROL_WAIT_RELOAD,
    CONTROL_WAIT_UPGRADE,
};

struct control_client {
    struct watch w;             /* first: the loop hands us &w */
    uint32_t events;            /* what w is watched for */
    enum control_client_state state;
    enum control_wait wait;
    uint64_t deadline_at;
    char in[CONTROL_LINE_MAX + 1];
    size_t inlen;
    struct status_buf out;      /* data lines, then the final line */
    size_t sent;
};

/* Run rq for c: it ends in control_answer or control_wait. */
void control_cmd_run(struct manager *m, struct control_client *c,
                     const struct control_request *rq);

/* Queue the final line (code 0: "ok") after the data lines in c->out
 * and send; c is freed once sent or on error: do not use it after. */
void control_answer(struct manager *m, struct control_client *c, int code,
                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Hold c until control_take_results answers it with what's result, or
 * until (monotonic ms). */
void control_wait(struct manager *m, struct control_client *c,
                  enum control_wait what, uint64_t until);

#endif
