/* Built-in handlers for module mode ("builtin:NAME"): no .so to build for
 * a benchmark or a test. Private to worker/module.c and its tests. */
#ifndef FCGIPM_BUILTIN_H
#define FCGIPM_BUILTIN_H

#include <fcgiapp.h>

/* A request handler, as fcgipm_handle: returns the HTTP status sent. */
typedef int builtin_fn(FCGX_Request *req);

/* The handler called name ("hello", "echo"), or NULL if there is none. */
builtin_fn *builtin_find(const char *name);

/* A fixed "Hello from fcgipm" text page, as cheap as a response gets. */
int builtin_hello(FCGX_Request *req);

/* The request sent back as text/plain (see builtin.c for the format). */
int builtin_echo(FCGX_Request *req);

#endif
