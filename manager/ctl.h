/* fcgipm ctl: the client of the control socket (control.c is the
 * master's side). ctl.c runs one command; ctl_top.c the live view. */
#ifndef FCGIPM_CTL_H
#define FCGIPM_CTL_H

#include <stddef.h>

#include "control_proto.h"

/* fcgipm ctl ARGS (argv[0] is "ctl"): the exit status (enum
 * control_exit). */
int ctl_main(int argc, char **argv);

/* What the master answered: its lines, the final one's code and text. */
struct ctl_answer {
    char *data;                 /* every line, NUL-terminated */
    size_t len;
    int code;
    const char *text;           /* the final line's, within data */
};

/*
 * Send rq to the control socket at path and read the whole answer into
 * *ans, waiting at most timeout_ms for each read (-1: as long as it
 * takes), cleaned by lines_clean line by line (tabs kept): nothing in it
 * needs escaping before it is printed. Returns 0 with an answer (free
 * it with ctl_answer_free), or the exit status having said why on
 * stderr: CONTROL_EXIT_UNREACHABLE (no master, no answer, or a process
 * there that runs neither as root nor as our user), CONTROL_EXIT_NOPERM
 * (the socket refuses us).
 */
int ctl_exchange(const char *path, const struct control_request *rq,
                 int timeout_ms, struct ctl_answer *ans);
void ctl_answer_free(struct ctl_answer *ans);

/* Cut the next line of an answer at *pos into its tab-separated fields;
 * NULL-terminated f[] of room max, returns how many, 0 at the end (the
 * final line is not returned). Modifies ans->data. */
size_t ctl_next_row(struct ctl_answer *ans, size_t *pos, char **f,
                    size_t max);

/* fcgipm ctl top [-n COUNT] (argv[0] is "top") on the socket at path. */
int ctl_top_main(const char *path, int argc, char **argv);

#endif
