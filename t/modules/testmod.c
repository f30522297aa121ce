/* A module for tests: ?sleep=MS delays the answer, ?alloc=MB grows the
 * worker's resident memory (and keeps it), then it answers with its pid
 * and the number of requests it has served. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgipm_module.h"

static unsigned long served;
/* Where grown memory is kept, so that the compiler cannot drop it. */
void *testmod_kept[64];
static unsigned nkept;

static long
query_long(const char *qs, const char *key)
{
    size_t klen = strlen(key);

    for (const char *p = qs; p != NULL && *p != '\0';) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=')
            return strtol(p + klen + 1, NULL, 10);
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    return 0;
}

int
fcgipm_handle(FCGX_Request *req)
{
    const char *qs = FCGX_GetParam("QUERY_STRING", req->envp);
    long ms = query_long(qs, "sleep"), mb = query_long(qs, "alloc");

    if (ms > 0) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) == -1)
            ;
    }
    if (mb > 0 && nkept < 64) {
        char *p = malloc((size_t)mb << 20);
        if (p != NULL)
            memset(p, 1, (size_t)mb << 20);
        testmod_kept[nkept++] = p;
    }
    served++;
    FCGX_FPrintF(req->out, "Content-Type: text/plain\r\n\r\n%d %lu\n",
                 (int)getpid(), served);
    return 200;
}
