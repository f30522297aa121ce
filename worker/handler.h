/* What a worker in cgi or module mode runs for each request, inside
 * fcgipm's own libfcgi accept loop (worker/serve.c). */
#ifndef FCGIPM_HANDLER_H
#define FCGIPM_HANDLER_H

#include <fcgiapp.h>

#include "pool_conf.h"

/*
 * Answer one request with the CGI/1.1 script it names (RFC 3875): the
 * script must resolve inside pc->cgi_root; the request body streams to
 * its stdin, its stdout streams back; request_timeout kills its process
 * group. Returns the HTTP status sent to the client (200, 403, 404, 413,
 * 500, 502, 504...), or 499 when the client went away before anything was
 * sent. Logs why it refused or failed, tagged with pool, pid and script.
 */
int cgi_handle(FCGX_Request *req, const struct pool_conf *pc);

/*
 * Load pc->module: dlopen the .so (or pick the built-in), resolve
 * fcgipm_handle (required) and fcgipm_init/fcgipm_exit (optional), and
 * call fcgipm_init(argc, argv) with pc->module_args. Returns 0, or -1
 * having logged why. With pc->preload the master calls it before fork;
 * otherwise each worker calls it after fork. Calling it again for the
 * same pc is a no-op.
 */
int module_load(const struct pool_conf *pc);

/* Answer one request with the loaded module; returns the HTTP status it
 * sent (fcgipm_handle's return value, 0 meaning 200). */
int module_handle(FCGX_Request *req);

/* Call fcgipm_exit if the module has one (a worker about to exit). */
void module_unload(void);

#endif
