/* libFuzzer target for the config loader: the input is the config file
 * (a memfd, rewritten each run), loaded, printed and freed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int conf_fd = -1;
static char conf_path[64];
static FILE *devnull;

static void
setup(void)
{
    conf_fd = memfd_create("fuzz_conf", MFD_CLOEXEC);
    if (conf_fd == -1)
        abort();
    snprintf(conf_path, sizeof(conf_path), "/proc/self/fd/%d", conf_fd);
    devnull = fopen("/dev/null", "we");
    if (devnull == NULL)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf_cli cli;
    struct conf c;
    char err[512];

    if (conf_fd == -1)
        setup();
    if (ftruncate(conf_fd, 0) == -1 ||
        pwrite(conf_fd, data, size, 0) != (ssize_t)size)
        abort();
    conf_cli_init(&cli);
    cli.config = conf_path;
    err[0] = '\0';
    if (conf_load(&cli, &c, err, sizeof(err)) == 0)
        conf_print(&c, devnull);
    conf_free(&c);
    return 0;
}
