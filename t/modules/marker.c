/* A module for tests that plays a pool user's planted code: its
 * constructor and fcgipm_init each append a line with the process's
 * effective uid to the file named by FCGIPM_TEST_MARKER (when set), so a
 * test sees whether, and as whom, it ran. It answers with its pid. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgipm_module.h"

static void
marker_write(const char *what)
{
    const char *path = getenv("FCGIPM_TEST_MARKER");
    char line[96];

    if (path == NULL)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd == -1)
        return;
    int n = snprintf(line, sizeof(line), "%s ran as uid %u in pid %d\n",
                     what, (unsigned)geteuid(), (int)getpid());
    if (n > 0 && write(fd, line, (size_t)n) != n)
        perror("marker module: write");
    close(fd);
}

__attribute__((constructor)) static void
marker_constructor(void)
{
    marker_write("constructor");
}

int
fcgipm_init(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    marker_write("fcgipm_init");
    return 0;
}

int
fcgipm_handle(FCGX_Request *req)
{
    FCGX_FPrintF(req->out, "Content-Type: text/plain\r\n\r\n"
                 "marker module in pid %d\n", (int)getpid());
    return 0;
}
