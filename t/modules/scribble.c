/* A hostile module for tests (shm_trust.t): on each request it scribbles
 * on every scoreboard mapped in its worker, as code run by a pool user
 * could. Every other slot claims to be busy with
 * unterminated strings full of forged log lines, and the slot count is
 * set so that a munmap sized by it takes the master's stack. It answers
 * "own=N foreign=N slots=N": mappings holding its own slot, mappings of
 * other pools, slots scribbled. With ?hang it reports on stderr instead,
 * leaves its own state out of range, and scribbles again every 10 ms for
 * 60 s at most (another worker may end a request late, and mark itself
 * idle after the first pass). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgipm_module.h"
#include "scoreboard.h"

#define FORGED "\n2000-01-01 00:00:00.000 error fcgipm[1]: forged\n"

struct region {
    uintptr_t start, end;
};

/* The shared anonymous mappings of this process (a scoreboard shows as
 * rw-s /dev/zero) and the end of its stack, from /proc/self/maps. */
static size_t
shared_regions(struct region *out, size_t max, uintptr_t *stack_end)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512], perms[8];
    unsigned long a, b;
    size_t n = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) != 3)
            continue;
        if (strstr(line, "[stack]") != NULL)
            *stack_end = b;
        if (strcmp(perms, "rw-s") == 0 && strstr(line, "/dev/zero") != NULL
            && n < max)
            out[n++] = (struct region){ a, b };
    }
    fclose(f);
    return n;
}

static size_t
slots_in(const struct region *r)
{
    return (r->end - r->start - sizeof(struct scoreboard))
           / sizeof(struct sb_slot);
}

static int
holds_me(const struct region *r)
{
    struct scoreboard *sb = (struct scoreboard *)r->start;

    for (size_t i = 0; i < slots_in(r); i++)
        if (sb->slots[i].pid == getpid())
            return 1;
    return 0;
}

/* Every slot of r but ours claims a busy worker with a forged request;
 * ours (hang) a state that is none. */
static size_t
scribble(const struct region *r, int hang, uintptr_t stack_end)
{
    struct scoreboard *sb = (struct scoreboard *)r->start;
    size_t n = slots_in(r);

    for (size_t i = 0; i < n; i++) {
        struct sb_slot *s = &sb->slots[i];
        if (s->pid == getpid()) {
            if (hang)
                s->state = 0xdeadbeefu;
            continue;
        }
        s->state = SB_BUSY;
        s->req_started_ms = UINT64_MAX;
        memset(s->method, '\n', sizeof(s->method));
        for (size_t j = 0; j < sizeof(s->uri); j++)
            s->uri[j] = FORGED[j % (sizeof(FORGED) - 1)];
    }
    /* munmap(sb, size from nslots) would unmap up to past the stack. */
    if (stack_end > r->start)
        sb->nslots = (stack_end - r->start) / sizeof(struct sb_slot) + 1;
    return n;
}

/* Scribble on every scoreboard mapped; the counts in *own, *foreign. */
static size_t
scribble_all(int hang, int *own, int *foreign)
{
    struct region r[16];
    uintptr_t stack_end = 0;
    size_t n = shared_regions(r, 16, &stack_end), slots = 0;

    *own = *foreign = 0;
    for (size_t i = 0; i < n; i++) {
        if (holds_me(&r[i]))
            (*own)++;
        else
            (*foreign)++;
        slots += scribble(&r[i], hang, stack_end);
    }
    return slots;
}

int
fcgipm_handle(FCGX_Request *req)
{
    const char *qs = FCGX_GetParam("QUERY_STRING", req->envp);
    int hang = qs != NULL && strstr(qs, "hang") != NULL;
    int own, foreign;
    size_t slots = scribble_all(hang, &own, &foreign);

    if (hang) {
        fprintf(stderr, "scribbled own=%d foreign=%d slots=%zu, hanging\n",
                own, foreign, slots);
        fflush(stderr);
        for (int i = 0; i < 6000; i++) {
            struct timespec ts = { 0, 10 * 1000000L };
            nanosleep(&ts, NULL);
            scribble_all(hang, &own, &foreign);
        }
    }
    FCGX_FPrintF(req->out, "Content-Type: text/plain\r\n\r\n"
                 "own=%d foreign=%d slots=%lu\n", own, foreign,
                 (unsigned long)slots);
    return 200;
}
