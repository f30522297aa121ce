/* A CGI/1.1 program in C (not FastCGI): the kind of compiled script the
 * cgi mode runs. Echoes the method, the query, how many body bytes it
 * read from stdin and how many descriptors it has beyond stdio. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int
main(void)
{
    const char *method = getenv("REQUEST_METHOD");
    const char *query = getenv("QUERY_STRING");
    unsigned long n = 0;
    char buf[65536];
    size_t got;
    int fds = 0;

    for (int fd = 3; fd < 1024; fd++)
        fds += fcntl(fd, F_GETFD) != -1;

    while ((got = fread(buf, 1, sizeof(buf), stdin)) > 0)
        n += got;
    printf("Content-Type: text/plain\r\n\r\n");
    printf("C CGI %s query=%s body=%lu fds=%d\n", method ? method : "-",
           query ? query : "", n, fds);
    return 0;
}
