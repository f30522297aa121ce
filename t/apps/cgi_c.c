/* A CGI/1.1 program in C (not FastCGI): the kind of compiled script the
 * cgi mode runs. Echoes the method, the query and how many body bytes it
 * read from stdin. */
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

    while ((got = fread(buf, 1, sizeof(buf), stdin)) > 0)
        n += got;
    printf("Content-Type: text/plain\r\n\r\n");
    printf("C CGI %s query=%s body=%lu\n", method ? method : "-",
           query ? query : "", n);
    return 0;
}
