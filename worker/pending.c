/* Stand-ins, weak, for the CGI gateway and the module loader while they
 * are written in parallel; the real definitions override them. TODO:
 * delete with the issue "Worker modes" landing. */
#include <stdio.h>

#include "access.h"
#include "handler.h"

__attribute__((weak)) int
cgi_handle(FCGX_Request *req, const struct pool_conf *pc)
{
    (void)pc;
    FCGX_FPrintF(req->out, "Status: 501\r\nContent-Type: text/plain\r\n\r\n"
                 "cgi mode is not built yet\n");
    return 501;
}

__attribute__((weak)) int
module_load(const struct pool_conf *pc)
{
    (void)pc;
    return 0;
}

__attribute__((weak)) int
module_handle(FCGX_Request *req)
{
    FCGX_FPrintF(req->out, "Status: 501\r\nContent-Type: text/plain\r\n\r\n"
                 "module mode is not built yet\n");
    return 501;
}

__attribute__((weak)) void
module_unload(void)
{
}

__attribute__((weak)) size_t
access_format(const char *fmt, const struct access_entry *e, char *buf,
              size_t len)
{
    (void)fmt;
    (void)e;
    return (size_t)snprintf(buf, len, "-\n");
}
