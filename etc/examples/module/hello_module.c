/* A template fcgipm module: copy it, keep the three functions' names and
 * signatures (see fcgipm_module.h), and put your application in them.
 * Build: make -C etc/examples/module; run with, in fcgipm.conf:
 *   mode = module
 *   module = "/path/to/hello_module.so"
 *   module_args = {"--greeting", "Hello"}
 */
#include <fcgiapp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fcgipm_module.h"

/* Set once in fcgipm_init, read by every request: state that a worker
 * keeps between requests lives in globals like this one. */
static const char *greeting = "Hello";

/* Runs once per worker before its first request, or once in the master
 * with preload = true (workers then inherit what it set up). Anything
 * printed to stderr reaches fcgipm's log, tagged with the worker. */
int
fcgipm_init(int argc, char **argv)
{
    fprintf(stderr, "hello_module: init in pid %d, argv:", (int)getpid());
    for (int i = 0; i < argc; i++)
        fprintf(stderr, " %s", argv[i]);
    fputc('\n', stderr);
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--greeting") == 0)
            greeting = argv[i + 1];
    return 0;       /* non-zero: the worker exits and is respawned later */
}

/* Runs for every request: write CGI headers, a blank line, then the body.
 * Read params with FCGX_GetParam and the body with FCGX_GetStr(req->in). */
int
fcgipm_handle(FCGX_Request *req)
{
    const char *uri = FCGX_GetParam("REQUEST_URI", req->envp);

    FCGX_PutS("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n", req->out);
    FCGX_FPrintF(req->out, "%s from hello_module in pid %d: %s\n", greeting,
                 (int)getpid(), uri != NULL ? uri : "(no REQUEST_URI)");
    return 200;     /* the status sent, for the access log */
}

/* Runs when a worker exits normally: flush, close, free. */
void
fcgipm_exit(void)
{
    fprintf(stderr, "hello_module: exit in pid %d\n", (int)getpid());
}
