/* A plain libfcgi application for tests and `make run`: the kind of
 * program fcgipm's exec mode runs. Paths:
 *   /pid        its pid          /env   its environment
 *   /fds        its open fds     /echo  the request body back, once it
 *                                       has all been read
 *   anything else: "Hello from fcgipm worker PID"
 * Query: sleep=MS delays the answer, status=N sets the HTTP status.
 * Argument --crash makes it exit 3 at once (a crash-looping app). */
#include <dirent.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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
    return -1;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) == -1)
        ;
}

/* Every open fd but the request's own connection and the listing's. */
static void
list_fds(FCGX_Request *r)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d)
            && atoi(e->d_name) != r->ipcFd)
            FCGX_FPrintF(r->out, "%s\n", e->d_name);
    closedir(d);
}

/* The whole body, read before a byte of the answer goes out: nginx
 * stops sending a body once it has the answer's header, and Caddy reads
 * no answer until it has sent the body, so an echo that wrote as it read
 * would wait for them forever. NULL when out of memory. */
static char *
read_body(FCGX_Request *r, size_t *len)
{
    size_t cap = 65536;
    char *buf = malloc(cap);
    int n;

    *len = 0;
    while (buf != NULL
           && (n = FCGX_GetStr(buf + *len, (int)(cap - *len), r->in)) > 0) {
        *len += (size_t)n;
        if (*len == cap) {
            char *more = realloc(buf, cap * 2);
            if (more == NULL)
                free(buf);
            buf = more;
            cap *= 2;
        }
    }
    return buf;
}

static void
handle(FCGX_Request *r)
{
    const char *uri = FCGX_GetParam("SCRIPT_NAME", r->envp);
    const char *qs = FCGX_GetParam("QUERY_STRING", r->envp);
    long ms = query_long(qs, "sleep");
    long status = query_long(qs, "status");
    char *body = NULL;
    size_t len = 0;

    if (uri == NULL)
        uri = "/";
    if (strcmp(uri, "/echo") == 0 && (body = read_body(r, &len)) == NULL)
        status = 500;
    if (ms > 0)
        sleep_ms(ms);
    FCGX_FPrintF(r->out, "Status: %ld\r\nContent-Type: text/plain\r\n\r\n",
                 status > 0 ? status : 200);
    if (strcmp(uri, "/pid") == 0)
        FCGX_FPrintF(r->out, "%d\n", (int)getpid());
    else if (strcmp(uri, "/env") == 0)
        for (char **e = environ; *e != NULL; e++)
            FCGX_FPrintF(r->out, "%s\n", *e);
    else if (strcmp(uri, "/fds") == 0)
        list_fds(r);
    else if (strcmp(uri, "/echo") == 0)
        FCGX_PutStr(body != NULL ? body : "", (int)len, r->out);
    else
        FCGX_FPrintF(r->out, "Hello from fcgipm worker %d\n", (int)getpid());
    free(body);
}

int
main(int argc, char **argv)
{
    FCGX_Request r;

    if (argc > 1 && strcmp(argv[1], "--crash") == 0) {
        fprintf(stderr, "hello: crashing on purpose\n");
        return 3;
    }
    if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
        return 1;
    while (FCGX_Accept_r(&r) >= 0) {
        handle(&r);
        FCGX_Finish_r(&r);
    }
    return 0;
}
