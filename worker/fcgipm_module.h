/* The interface of an fcgipm module: a shared object that fcgipm loads in
 * each worker (or once in the master, with preload = true) and calls for
 * every request. Build it with -shared -fPIC and link with -lfcgi. */
#ifndef FCGIPM_MODULE_H
#define FCGIPM_MODULE_H

#include <fcgiapp.h>

/* Required. Answer the request: write CGI headers ("Status: 404\r\n",
 * "Content-Type: ...\r\n", a blank line) then the body to req->out; read
 * the body from req->in and params with FCGX_GetParam(name, req->envp).
 * Return the HTTP status sent (0 means 200), used for the access log. */
int fcgipm_handle(FCGX_Request *req);

/* Optional. Called once before the first request, with the module's
 * arguments (module_args; argv[0] is the module path). Non-zero: the
 * worker exits and is respawned with backoff. */
int fcgipm_init(int argc, char **argv);

/* Optional. Called when a worker exits normally: a graceful stop
 * (QUIT, HUP, TTOU) or recycling; not on a fast stop (TERM, INT) or the
 * master's death, when an idle worker exits at once. */
void fcgipm_exit(void);

#endif
