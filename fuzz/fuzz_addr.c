/* libFuzzer target for the address parser: any string parses or is
 * refused with a reason; what parses formats to a string that parses
 * back to the same address, and formats the same again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[INPUT_MAX + 1], err[256];
    char text[FCGI_ADDR_PATH_MAX + 64], again[FCGI_ADDR_PATH_MAX + 64];
    struct fcgi_addr a, b;

    if (size > INPUT_MAX)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    err[0] = '\0';
    if (fcgi_addr_parse(in, &a, err, sizeof(err)) == -1) {
        if (err[0] == '\0')
            abort();            /* a refusal always says why */
        return 0;
    }
    fcgi_addr_format(&a, text, sizeof(text));
    if (fcgi_addr_parse(text, &b, err, sizeof(err)) == -1
        || !fcgi_addr_equal(&a, &b) || a.salen != b.salen
        || memcmp(&a.sa, &b.sa, a.salen) != 0)
        abort();
    fcgi_addr_format(&b, again, sizeof(again));
    if (strcmp(text, again) != 0)
        abort();
    return 0;
}
