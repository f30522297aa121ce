/* What the tests of common/lines.c and manager/output.c share: a
 * fixture that records every line the splitter passes on. Include after
 * cmocka.h. */
#ifndef FCGIPM_T_LINES_FIXTURE_H
#define FCGIPM_T_LINES_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "lines.h"

#define MAX_LINES 64

/* What the splitter passed on, in order. */
struct seen {
    size_t n;
    char *text[MAX_LINES];
    size_t len[MAX_LINES];
    unsigned part[MAX_LINES];
};

static void
record(void *ctx, const char *text, size_t len, unsigned part)
{
    struct seen *s = ctx;

    assert_true(s->n < MAX_LINES);
    assert_true(len <= LINES_MAX);
    s->text[s->n] = malloc(len + 1);
    assert_non_null(s->text[s->n]);
    memcpy(s->text[s->n], text, len);
    s->text[s->n][len] = '\0';
    s->len[s->n] = len;
    s->part[s->n] = part;
    s->n++;
}

struct fixture {
    struct lines ol;
    struct seen seen;
};

static int
setup(void **state)
{
    *state = calloc(1, sizeof(struct fixture));
    return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < f->seen.n; i++)
        free(f->seen.text[i]);
    free(f);
    return 0;
}

#endif
