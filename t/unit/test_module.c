/* Unit tests for worker/module.c and worker/builtin.c: picking built-ins,
 * load errors and what they log, and the built-ins' responses, written
 * to in-memory libfcgi streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handler.h"
#include "log.h"

/* A libfcgi output stream that collects everything written, through a
 * small buffer so that the flush path runs too; and an input stream over
 * a fixed body. */
struct mem_out {
    FCGX_Stream s;
    unsigned char buf[100];
    char *data;
    size_t len;
    bool broken;            /* flushing fails, as for a vanished client */
};

struct mem_req {
    FCGX_Request req;
    FCGX_Stream in;
    struct mem_out out;
};

static void
mem_flush(FCGX_Stream *s, int close)
{
    struct mem_out *m = s->data;
    size_t n = (size_t)(s->wrNext - m->buf);

    (void)close;
    if (m->broken) {
        s->isClosed = 1;
        s->FCGI_errno = 32;
        return;
    }
    m->data = realloc(m->data, m->len + n + 1);
    assert_non_null(m->data);
    memcpy(m->data + m->len, m->buf, n);
    m->len += n;
    m->data[m->len] = '\0';
    s->wrNext = m->buf;
}

static void
mem_fill(FCGX_Stream *s)
{
    s->isClosed = 1;        /* end of the body */
}

static void
mem_req_init(struct mem_req *r, char **envp, const void *body, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->in.rdNext = r->in.stopUnget = (unsigned char *)body;
    r->in.stop = (unsigned char *)body + len;
    r->in.isReader = 1;
    r->in.fillBuffProc = mem_fill;
    r->out.s.wrNext = r->out.buf;
    r->out.s.stop = r->out.buf + sizeof(r->out.buf);
    r->out.s.emptyBuffProc = mem_flush;
    r->out.s.data = &r->out;
    r->req.in = &r->in;
    r->req.out = &r->out.s;
    r->req.envp = envp;
}

/* Everything written, flushed, NUL-terminated; the caller frees it. */
static char *
mem_req_output(struct mem_req *r, size_t *len)
{
    mem_flush(&r->out.s, 1);
    if (r->out.data == NULL)
        r->out.data = calloc(1, 1);
    *len = r->out.len;
    return r->out.data;
}

static char log_path[] = "/tmp/test_module.XXXXXX";

static int
setup_log(void **state)
{
    int fd = mkstemp(log_path);

    (void)state;
    if (fd == -1)
        return -1;
    close(fd);
    return log_open(log_path, LOG_LEVEL_DEBUG);
}

static int
teardown_log(void **state)
{
    (void)state;
    log_close();
    unlink(log_path);
    return 0;
}

/* Whether the log so far holds text; the log restarts empty after. */
static bool
log_holds(const char *text)
{
    char buf[8192];
    FILE *f = fopen(log_path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_int_equal(truncate(log_path, 0), 0);
    if (strstr(buf, text) != NULL)
        return true;
    fprintf(stderr, "log holds:\n%s", buf);
    return false;
}

static struct pool_conf
pool(const char *module)
{
    return (struct pool_conf){ .name = "t", .module = (char *)module };
}

static void
test_builtin_hello(void **state)
{
    struct pool_conf pc = pool("builtin:hello");
    struct mem_req r;
    size_t len;

    (void)state;
    assert_int_equal(module_load(&pc), 0);
    mem_req_init(&r, NULL, "", 0);
    assert_int_equal(module_handle(&r.req), 200);
    assert_string_equal(mem_req_output(&r, &len),
                        "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                        "Hello from fcgipm\n");
    free(r.out.data);
}

static const char echo_head[] =
    "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";

static void
test_builtin_echo_format(void **state)
{
    struct pool_conf pc = pool("builtin:echo");
    char *envp[] = {
        "REQUEST_URI=/e?a=1", "REQUEST_METHOD=PUT", "A0=x", "A=y=z",
        "QUERY_STRING=a=1", "A_B=", NULL,
    };
    static const char body[] = "line 1\r\n\0binary\xff";
    const char expect[] =
        "PUT /e?a=1\n"
        "A=y=z\nA0=x\nA_B=\nQUERY_STRING=a=1\n"
        "REQUEST_METHOD=PUT\nREQUEST_URI=/e?a=1\n"
        "\n"
        "line 1\r\n\0binary\xff";
    struct mem_req r;
    size_t len, head = sizeof(echo_head) - 1;

    (void)state;
    assert_int_equal(module_load(&pc), 0);
    mem_req_init(&r, envp, body, sizeof(body) - 1);
    assert_int_equal(module_handle(&r.req), 200);
    char *out = mem_req_output(&r, &len);
    assert_int_equal(len, head + sizeof(expect) - 1);
    assert_memory_equal(out, echo_head, head);
    assert_memory_equal(out + head, expect, sizeof(expect) - 1);
    free(out);
}

static void
test_builtin_echo_without_params(void **state)
{
    struct pool_conf pc = pool("builtin:echo");
    struct mem_req r;
    size_t len;

    (void)state;
    assert_int_equal(module_load(&pc), 0);
    mem_req_init(&r, NULL, "", 0);
    assert_int_equal(module_handle(&r.req), 200);
    char *out = mem_req_output(&r, &len);
    assert_string_equal(out + sizeof(echo_head) - 1, "- -\n\n");
    free(out);
}

static void
test_builtin_echo_large_body(void **state)
{
    struct pool_conf pc = pool("builtin:echo");
    char *envp[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/", NULL };
    static const char params[] =
        "POST /\nREQUEST_METHOD=POST\nREQUEST_URI=/\n\n";
    size_t n = 300000, len, head = sizeof(echo_head) - 1;
    size_t off = head + sizeof(params) - 1;
    unsigned char *body = malloc(n);
    struct mem_req r;

    (void)state;
    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        body[i] = (unsigned char)(i * 7 + i / 251);
    assert_int_equal(module_load(&pc), 0);
    mem_req_init(&r, envp, body, n);
    assert_int_equal(module_handle(&r.req), 200);
    char *out = mem_req_output(&r, &len);
    assert_int_equal(len, off + n);
    assert_memory_equal(out + head, params, sizeof(params) - 1);
    assert_memory_equal(out + off, body, n);
    free(out);
    free(body);
}

static void
test_echo_client_gone(void **state)
{
    struct pool_conf pc = pool("builtin:echo");
    char body[1000] = { 0 };
    struct mem_req r;

    (void)state;
    assert_int_equal(module_load(&pc), 0);
    mem_req_init(&r, NULL, body, sizeof(body));
    r.out.broken = true;
    /* What was sent is still reported; the failure is only a debug line. */
    assert_int_equal(module_handle(&r.req), 200);
    assert_true(log_holds("builtin:echo: worker"));
}

static void
test_last_load_selects_module(void **state)
{
    struct pool_conf hello = pool("builtin:hello");
    struct pool_conf echo = pool("builtin:echo");
    struct mem_req r;
    size_t len;

    (void)state;
    assert_int_equal(module_load(&echo), 0);
    assert_int_equal(module_load(&hello), 0);
    assert_int_equal(module_load(&hello), 0);
    mem_req_init(&r, NULL, "", 0);
    assert_int_equal(module_handle(&r.req), 200);
    assert_non_null(strstr(mem_req_output(&r, &len), "Hello from fcgipm"));
    free(r.out.data);
    assert_int_equal(module_load(&echo), 0);
    mem_req_init(&r, NULL, "", 0);
    module_handle(&r.req);
    assert_null(strstr(mem_req_output(&r, &len), "Hello from fcgipm"));
    free(r.out.data);
}

static void
test_unknown_builtin(void **state)
{
    struct pool_conf pc = pool("builtin:nope");
    struct pool_conf empty = pool("builtin:");

    (void)state;
    assert_int_equal(module_load(&pc), -1);
    assert_true(log_holds("pool t: unknown built-in module builtin:nope"));
    assert_int_equal(module_load(&empty), -1);
}

static void
test_no_module(void **state)
{
    struct pool_conf pc = pool(NULL);
    struct pool_conf empty = pool("");

    (void)state;
    assert_int_equal(module_load(&pc), -1);
    assert_int_equal(module_load(&empty), -1);
    assert_true(log_holds("pool t: mode module needs a module"));
}

static void
test_missing_file(void **state)
{
    struct pool_conf pc = pool("/nonexistent/dir/mod.so");
    struct pool_conf bare = pool("mod-not-here.so");

    (void)state;
    assert_int_equal(module_load(&pc), -1);
    assert_true(log_holds("pool t: cannot load module "
                          "/nonexistent/dir/mod.so: /nonexistent/dir/mod.so: "
                          "cannot open shared object file"));
    /* No '/': a file in the working directory, not the library path. */
    assert_int_equal(module_load(&bare), -1);
    assert_true(log_holds("./mod-not-here.so: cannot open"));
}

static void
test_not_a_shared_object(void **state)
{
    char path[] = "/tmp/test_module_so.XXXXXX";
    int fd = mkstemp(path);
    struct pool_conf pc = pool(path);

    (void)state;
    assert_true(fd != -1);
    assert_int_equal(write(fd, "not ELF\n", 8), 8);
    close(fd);
    assert_int_equal(module_load(&pc), -1);
    unlink(path);
    assert_true(log_holds("pool t: cannot load module /tmp/test_module_so."));
}

/* libm is a real shared object without fcgipm_handle. */
static void
test_shared_object_without_handle(void **state)
{
    void *dl = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    struct link_map *lm = NULL;

    (void)state;
    assert_non_null(dl);
    assert_int_equal(dlinfo(dl, RTLD_DI_LINKMAP, &lm), 0);
    assert_true(lm->l_name[0] == '/');
    struct pool_conf pc = pool(lm->l_name);
    assert_int_equal(module_load(&pc), -1);
    assert_true(log_holds("has no fcgipm_handle"));
    dlclose(dl);
}

static void
test_handle_after_unload(void **state)
{
    struct pool_conf pc = pool("builtin:hello");
    struct mem_req r;
    size_t len;

    (void)state;
    assert_int_equal(module_load(&pc), 0);
    module_unload();
    module_unload();
    mem_req_init(&r, NULL, "", 0);
    assert_int_equal(module_handle(&r.req), 500);
    assert_non_null(strstr(mem_req_output(&r, &len), "Status: 500"));
    free(r.out.data);
    assert_true(log_holds("request without a loaded module"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_hello),
        cmocka_unit_test(test_builtin_echo_format),
        cmocka_unit_test(test_builtin_echo_without_params),
        cmocka_unit_test(test_builtin_echo_large_body),
        cmocka_unit_test(test_echo_client_gone),
        cmocka_unit_test(test_last_load_selects_module),
        cmocka_unit_test(test_unknown_builtin),
        cmocka_unit_test(test_no_module),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_not_a_shared_object),
        cmocka_unit_test(test_shared_object_without_handle),
        cmocka_unit_test(test_handle_after_unload),
    };

    return cmocka_run_group_tests_name("module", tests, setup_log,
                                       teardown_log);
}
