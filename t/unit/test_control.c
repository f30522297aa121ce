/* Unit tests for the control protocol (control_proto.c): commands from
 * words and from request lines, good and hostile, written back and read
 * again; final lines both ways; status rows from a hand-built report,
 * with what a worker wrote cleaned of control characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"

static int
words(const char *a, const char *b, const char *c,
      struct control_request *rq)
{
    char *argv[] = { (char *)a, (char *)b, (char *)c };
    char why[256];
    size_t n = c != NULL ? 3 : b != NULL ? 2 : a != NULL ? 1 : 0;

    return control_proto_parse_words(n, argv, rq, why, sizeof(why));
}

static void
test_words(void **state)
{
    struct control_request rq;

    (void)state;
    assert_int_equal(words("status", NULL, NULL, &rq), 0);
    assert_int_equal(rq.verb, CONTROL_STATUS);
    assert_string_equal(rq.pool, "");
    assert_int_equal(words("status", "app-1.x_y", NULL, &rq), 0);
    assert_string_equal(rq.pool, "app-1.x_y");
    assert_int_equal(words("scale", "app", "+20", &rq), 0);
    assert_int_equal(rq.verb, CONTROL_SCALE);
    assert_int_equal(rq.how, CONTROL_SCALE_BY);
    assert_int_equal(rq.n, 20);
    assert_int_equal(words("scale", "app", "-3", &rq), 0);
    assert_int_equal(rq.how, CONTROL_SCALE_BY);
    assert_int_equal(rq.n, -3);
    assert_int_equal(words("scale", "app", "7", &rq), 0);
    assert_int_equal(rq.how, CONTROL_SCALE_TO);
    assert_int_equal(rq.n, 7);
    assert_int_equal(words("stop", "--graceful", NULL, &rq), 0);
    assert_true(rq.graceful);
    assert_int_equal(words("stop", NULL, NULL, &rq), 0);
    assert_false(rq.graceful);
    assert_int_equal(words("reload", NULL, NULL, &rq), 0);
    assert_int_equal(rq.verb, CONTROL_RELOAD);
    assert_int_equal(words("upgrade", NULL, NULL, &rq), 0);
    assert_int_equal(words("reopen", NULL, NULL, &rq), 0);
    assert_int_equal(rq.verb, CONTROL_REOPEN);
}

static void
test_words_refused(void **state)
{
    struct control_request rq;

    (void)state;
    assert_int_equal(words(NULL, NULL, NULL, &rq), -1);
    assert_int_equal(words("restart", NULL, NULL, &rq), -1);
    assert_int_equal(words("reload", "now", NULL, &rq), -1);
    assert_int_equal(words("scale", "app", NULL, &rq), -1);
    assert_int_equal(words("scale", "app", "x", &rq), -1);
    assert_int_equal(words("scale", "app", "+", &rq), -1);
    assert_int_equal(words("scale", "app", "1x", &rq), -1);
    assert_int_equal(words("scale", "app", "--2", &rq), -1);
    assert_int_equal(words("scale", "app", " 2", &rq), -1);
    assert_int_equal(words("scale", "app", "4097", &rq), -1);
    assert_int_equal(words("scale", "app", "99999999999999999999", &rq), -1);
    assert_int_equal(words("scale", "a/b", "1", &rq), -1);
    assert_int_equal(words("scale", "", "1", &rq), -1);
    assert_int_equal(words("status", "a b", NULL, &rq), -1);
    assert_int_equal(words("stop", "--fast", NULL, &rq), -1);
    assert_int_equal(words("status", "a", "b", &rq), -1);
}

static int
line(const char *s, struct control_request *rq)
{
    char why[256];

    return control_proto_parse_line(s, rq, why, sizeof(why));
}

static void
test_line(void **state)
{
    struct control_request rq;
    char why[256], big[2048];

    (void)state;
    assert_int_equal(line("fcgipm-ctl/1 scale app -2", &rq), 0);
    assert_int_equal(rq.n, -2);
    assert_int_equal(line("fcgipm-ctl/1 status", &rq), 0);
    assert_int_equal(line("fcgipm-ctl/1 stop --graceful", &rq), 0);
    assert_true(rq.graceful);
    /* The version is checked, and named when wrong. */
    assert_int_equal(control_proto_parse_line("fcgipm-ctl/2 status", &rq,
                                              why, sizeof(why)), -1);
    assert_non_null(strstr(why, "version"));
    assert_int_equal(line("GET / HTTP/1.0", &rq), -1);
    assert_int_equal(line("", &rq), -1);
    assert_int_equal(line("fcgipm-ctl/1", &rq), -1);
    assert_int_equal(line("fcgipm-ctl/1 ", &rq), -1);
    assert_int_equal(line("fcgipm-ctl/1  status", &rq), -1);
    assert_int_equal(line(" fcgipm-ctl/1 status", &rq), -1);
    assert_int_equal(line("fcgipm-ctl/1 status\t", &rq), -1);
    assert_int_equal(line("fcgipm-ctl/1 status \x01", &rq), -1);
    assert_int_equal(line("fcgipm-ctl/1 status \xc3\xa9", &rq), -1);
    assert_int_equal(line("fcgipm-ctl/1 a b c d e f g h i j", &rq), -1);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "fcgipm-ctl/1 status ", 20);
    assert_int_equal(line(big, &rq), -1);
}

/* Every request written is read back the same. */
static void
test_round_trip(void **state)
{
    static const char *const cases[][3] = {
        { "status", NULL, NULL },      { "status", "web", NULL },
        { "reload", NULL, NULL },      { "scale", "app", "+20" },
        { "scale", "app", "-1" },      { "scale", "app", "0" },
        { "scale", "app", "+0" },      { "upgrade", NULL, NULL },
        { "stop", NULL, NULL },        { "stop", "--graceful", NULL },
        { "reopen", NULL, NULL },
    };
    struct control_request rq, back;
    char buf[CONTROL_LINE_MAX + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(words(cases[i][0], cases[i][1], cases[i][2], &rq),
                         0);
        int n = control_proto_format_request(&rq, buf, sizeof(buf));
        assert_true(n > 0);
        assert_int_equal(buf[n - 1], '\n');
        buf[n - 1] = '\0';
        assert_int_equal(line(buf, &back), 0);
        assert_int_equal(back.verb, rq.verb);
        assert_string_equal(back.pool, rq.pool);
        assert_int_equal(back.graceful, rq.graceful);
        if (rq.verb == CONTROL_SCALE) {
            assert_int_equal(back.how, rq.how);
            assert_int_equal(back.n, rq.n);
        }
    }
    assert_int_equal(control_proto_format_request(&rq, buf, 8), -1);
}

static void
test_final(void **state)
{
    struct status_buf out = { 0 };
    const char *text;
    int code = -1;

    (void)state;
    assert_int_equal(control_proto_final(&out, 0, "reload done"), 0);
    assert_int_equal(control_proto_final(&out, 78, "f:3: workers:\nbad\t"),
                     0);
    assert_string_equal(out.data, "ok reload done\n"
                                  "error 78 f:3: workers:\\x0abad\\x09\n");
    status_buf_free(&out);
    /* A terminal's CSI and OSC, as bytes and as UTF-8, and bytes that
     * are not UTF-8, are text too. */
    assert_int_equal(control_proto_final(&out, 2, "\x9b\xc2\x9d" "0;t\xc2\x9c"
                                         "\xff\xfe\xc3\xa9"), 0);
    assert_string_equal(out.data, "error 2 \\x9b\\xc2\\x9d0;t\\xc2\\x9c"
                                  "\\xff\\xfe\xc3\xa9\n");
    status_buf_free(&out);
    assert_int_equal(control_proto_final(&out, 0, NULL), 0);
    assert_string_equal(out.data, "ok\n");
    status_buf_free(&out);

    assert_int_equal(control_proto_parse_final("ok", &code, &text), 1);
    assert_int_equal(code, 0);
    assert_string_equal(text, "");
    assert_int_equal(control_proto_parse_final("ok target 3", &code, &text),
                     1);
    assert_string_equal(text, "target 3");
    assert_int_equal(control_proto_parse_final("error 78 f:1: k: x", &code,
                                               &text), 1);
    assert_int_equal(code, 78);
    assert_string_equal(text, "f:1: k: x");
    assert_int_equal(control_proto_parse_final("error 2", &code, &text), 1);
    assert_int_equal(code, 2);
    assert_int_equal(control_proto_parse_final("okay", &code, &text), 0);
    assert_int_equal(control_proto_parse_final("pool\tapp", &code, &text),
                     0);
    assert_int_equal(control_proto_parse_final("error x", &code, &text), -1);
    assert_int_equal(control_proto_parse_final("error 0 no", &code, &text),
                     -1);
    assert_int_equal(control_proto_parse_final("error 999", &code, &text),
                     -1);
    assert_int_equal(control_proto_parse_final("error 7x", &code, &text),
                     -1);
}

static void
test_split(void **state)
{
    char s[] = "worker\tapp\t12\t\tlast";
    char *f[4];

    (void)state;
    assert_int_equal(control_proto_split(s, f, 4), 4);
    assert_string_equal(f[0], "worker");
    assert_string_equal(f[2], "12");
    assert_string_equal(f[3], "");
    char t[] = "one";
    assert_int_equal(control_proto_split(t, f, 4), 1);
    assert_string_equal(f[0], "one");
}

static void
test_status_rows(void **state)
{
    struct status_worker w[2] = {
        { .pid = 101, .state = "busy", .requests = 7, .busy = true,
          .duration_ms = 1500, .method = "GET",
          .uri = "/slow?a=1\tb\nworker 1 forged\xc2\x9b" "2J\x9b\xff\xc3\xa9" },
        { .pid = 102, .state = "running", .requests = STATUS_UNKNOWN },
    };
    struct status_pool p = {
        .name = "app", .mode = "module", .pm = "static", .target = 2,
        .total = 2, .idle = 1, .active = 1, .max_workers = 8,
        .accepted = 9, .listen_queue = STATUS_UNKNOWN, .workers = w,
        .nworkers = 2,
    };
    struct status_report r = { .pools = &p, .npools = 1 };
    uint64_t rss[2] = { 2048, STATUS_UNKNOWN };
    struct status_buf out = { 0 };
    char *f[16];

    (void)state;
    assert_int_equal(control_proto_format_status(&r, rss, &out), 0);
    assert_string_equal(out.data,
        "pool\tapp\tmodule\tstatic\t2\t2\t1\t1\t8\t9\t-\n"
        "worker\tapp\t101\tbusy\t7\t2048\t1500\tGET\t/slow?a=1\\x09b"
        "\\x0aworker 1 forged\\xc2\\x9b2J\\x9b\\xff\xc3\xa9\n"
        "worker\tapp\t102\trunning\t-\t-\t-\t-\t-\n");
    /* Each row has a field per column, and the name of its kind. */
    char *nl = strchr(out.data, '\n');
    *nl = '\0';
    size_t n = control_proto_split(out.data, f, 16);
    assert_non_null(control_pool_columns[n - 2]);
    assert_null(control_pool_columns[n - 1]);
    char *second = nl + 1;
    *strchr(second, '\n') = '\0';
    n = control_proto_split(second, f, 16);
    assert_non_null(control_worker_columns[n - 2]);
    assert_null(control_worker_columns[n - 1]);
    status_buf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_words_refused),
        cmocka_unit_test(test_line),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_final),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_status_rows),
    };
    return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
