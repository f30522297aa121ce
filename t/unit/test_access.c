/* Unit tests for common/access.c: every access_format directive, escaping
 * of request bytes, lines cut to the buffer, and the format checker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"

/* 2026-11-26 16:20:00 UTC */
#define WALL 1795710000.0

static const struct access_entry entry = {
    .pool = "www",
    .pid = 4242,
    .remote_addr = "192.0.2.7",
    .remote_user = "alice",
    .method = "POST",
    .request_uri = "/app/run?x=1&y=2",
    .query_string = "x=1&y=2",
    .script_filename = "/srv/app/run",
    .status = 201,
    .start_wall = WALL + 0.75,
    .duration_s = 0.0123,
    .content_length = 18446744073709551615ULL,
};

static char line[4096];

static const char *
fmt(const char *f, const struct access_entry *e)
{
    size_t n = access_format(f, e, line, sizeof(line));

    assert_int_equal(n, strlen(line));
    return line;
}

static int
setup_utc(void **state)
{
    (void)state;
    setenv("TZ", "UTC0", 1);
    tzset();
    return 0;
}

static void
test_each_directive(void **state)
{
    (void)state;
    assert_string_equal(fmt("%R", &entry), "192.0.2.7\n");
    assert_string_equal(fmt("%u", &entry), "alice\n");
    assert_string_equal(fmt("%t", &entry), "[26/Nov/2026:16:20:00 +0000]\n");
    assert_string_equal(fmt("%m", &entry), "POST\n");
    assert_string_equal(fmt("%r", &entry), "/app/run\n");
    assert_string_equal(fmt("%q", &entry), "x=1&y=2\n");
    assert_string_equal(fmt("%Q", &entry), "?\n");
    assert_string_equal(fmt("%s", &entry), "201\n");
    assert_string_equal(fmt("%d", &entry), "0.012\n");
    assert_string_equal(fmt("%p", &entry), "4242\n");
    assert_string_equal(fmt("%n", &entry), "www\n");
    assert_string_equal(fmt("%f", &entry), "/srv/app/run\n");
    assert_string_equal(fmt("%l", &entry), "18446744073709551615\n");
    assert_string_equal(fmt("%%", &entry), "%\n");
}

static void
test_default_format(void **state)
{
    (void)state;
    assert_string_equal(
        fmt("%R - %u %t \"%m %r%Q%q\" %s %d", &entry),
        "192.0.2.7 - alice [26/Nov/2026:16:20:00 +0000] "
        "\"POST /app/run?x=1&y=2\" 201 0.012\n");
}

static void
test_missing_fields(void **state)
{
    struct access_entry e = { .status = 200 };

    (void)state;
    assert_string_equal(fmt("%R %u %m %r [%q] [%Q] %n %f %l %p", &e),
                        "- - - - [] [] - - 0 0\n");
}

static void
test_empty_query_has_no_question_mark(void **state)
{
    struct access_entry e = entry;

    (void)state;
    e.request_uri = "/plain";
    e.query_string = "";
    assert_string_equal(fmt("%r%Q%q", &e), "/plain\n");
    /* A bare "?" in the URI: %r still cuts there. */
    e.request_uri = "/plain?";
    assert_string_equal(fmt("%r%Q%q", &e), "/plain\n");
}

static void
test_time_zone_offsets(void **state)
{
    struct access_entry e = entry;

    (void)state;
    e.start_wall = WALL;
    setenv("TZ", "CET-1", 1);
    tzset();
    assert_string_equal(fmt("%t", &e), "[26/Nov/2026:17:20:00 +0100]\n");
    setenv("TZ", "<-0330>3:30", 1);
    tzset();
    assert_string_equal(fmt("%t", &e), "[26/Nov/2026:12:50:00 -0330]\n");
    setup_utc(NULL);
}

static void
test_duration_rounding_and_clamp(void **state)
{
    struct access_entry e = entry;

    (void)state;
    e.duration_s = 1.9996;
    assert_string_equal(fmt("%d", &e), "2.000\n");
    e.duration_s = 0;
    assert_string_equal(fmt("%d", &e), "0.000\n");
    e.duration_s = -3;
    assert_string_equal(fmt("%d", &e), "0.000\n");
    e.duration_s = 1e300;
    assert_string_equal(fmt("%d", &e), "1000000000.000\n");
}

static void
test_negative_status(void **state)
{
    struct access_entry e = entry;

    (void)state;
    e.status = -2147483647 - 1;
    assert_string_equal(fmt("%s", &e), "-2147483648\n");
}

static void
test_unknown_directive_copied(void **state)
{
    (void)state;
    assert_string_equal(fmt("a %x b %", &entry), "a %x b %\n");
    assert_string_equal(fmt("%%s", &entry), "%s\n");
}

static void
test_request_bytes_escaped(void **state)
{
    struct access_entry e = entry;

    (void)state;
    e.request_uri = "/a\nb\r\"c\\d\x7f\xc3\xa9?q";
    e.query_string = "x=\x01\ty";
    e.remote_user = "bob\n127.0.0.1 - - [forged]";
    e.method = "G\x1b[31mET";
    assert_string_equal(fmt("%r", &e),
                        "/a\\x0ab\\x0d\\x22c\\x5cd\\x7f\\xc3\\xa9\n");
    assert_string_equal(fmt("%q", &e), "x=\\x01\\x09y\n");
    assert_string_equal(fmt("%u", &e), "bob\\x0a127.0.0.1 - - [forged]\n");
    assert_string_equal(fmt("%m", &e), "G\\x1b[31mET\n");
}

static void
test_format_quotes_kept_control_escaped(void **state)
{
    (void)state;
    /* Quotes and tabs in the format are the admin's; a newline never is. */
    assert_string_equal(fmt("\"%s\"\\\tx\ny\x7f", &entry),
                        "\"201\"\\\tx\\x0ay\\x7f\n");
}

static void
test_truncated_line_ends_in_newline(void **state)
{
    char buf[8];

    (void)state;
    assert_int_equal(access_format("%n%n%n%n", &entry, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "wwwwww\n");
    assert_int_equal(access_format("abc", &entry, buf, 2), 1);
    assert_string_equal(buf, "\n");
    memset(buf, 'z', sizeof(buf));
    assert_int_equal(access_format("abc", &entry, buf, 1), 0);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'z');
    assert_int_equal(access_format("abc", &entry, buf, 0), 0);
    assert_int_equal(buf[0], '\0');
}

static void
test_truncation_never_splits_an_escape(void **state)
{
    struct access_entry e = entry;
    char buf[8];

    (void)state;
    e.request_uri = "ab\n\n";
    /* 6 bytes of room: "ab\x0a" fits whole, the next escape does not. */
    assert_int_equal(access_format("%r", &e, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "ab\\x0a\n");
    e.request_uri = "abc\n";
    assert_int_equal(access_format("%r", &e, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "abc\n");
}

static void
test_exact_fit_not_cut(void **state)
{
    char buf[5];

    (void)state;
    assert_int_equal(access_format("%n", &entry, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "www\n");
}

static void
test_long_uri_cut_to_buffer(void **state)
{
    struct access_entry e = entry;
    char *uri = malloc(100000);
    char buf[1024];

    (void)state;
    assert_non_null(uri);
    memset(uri, 'u', 99999);
    uri[99999] = '\0';
    e.request_uri = uri;
    assert_int_equal(access_format("%m %r %s", &e, buf, sizeof(buf)),
                     sizeof(buf) - 1);
    assert_int_equal(buf[sizeof(buf) - 2], '\n');
    assert_int_equal(strncmp(buf, "POST uuu", 8), 0);
    free(uri);
}

static void
test_check_accepts_every_directive(void **state)
{
    char why[128] = "";

    (void)state;
    assert_int_equal(access_format_check("%R %u %t %m %r %q %Q %s %d %p "
                                         "%n %f %l %% \"x\" \xc3\xa9",
                                         why, sizeof(why)), 0);
    assert_int_equal(access_format_check("%s\t%d", why, sizeof(why)), 0);
}

static void
test_check_rejects(void **state)
{
    char why[128];

    (void)state;
    assert_int_equal(access_format_check("", why, sizeof(why)), -1);
    assert_string_equal(why, "empty");
    assert_int_equal(access_format_check("%R %x", why, sizeof(why)), -1);
    assert_string_equal(why, "unknown directive %x at column 4");
    assert_int_equal(access_format_check("ab%", why, sizeof(why)), -1);
    assert_string_equal(why,
                        "lone % at column 3 (write %% for a percent sign)");
    assert_int_equal(access_format_check("%s\n", why, sizeof(why)), -1);
    assert_string_equal(why, "control character \\x0a at column 3");
    assert_int_equal(access_format_check("% s", why, sizeof(why)), -1);
    assert_string_equal(why, "unknown directive %\\x20 at column 1");
    /* %% consumes the second '%': "%%x" is fine, "%%%x" is not. */
    assert_int_equal(access_format_check("%%x", why, sizeof(why)), 0);
    assert_int_equal(access_format_check("%%%x", why, sizeof(why)), -1);
    assert_string_equal(why, "unknown directive %x at column 3");
}

static void
test_check_reason_cut_to_buffer(void **state)
{
    char why[8];

    (void)state;
    assert_int_equal(access_format_check("%x", why, sizeof(why)), -1);
    assert_string_equal(why, "unknown");
    assert_int_equal(access_format_check("%x", NULL, 0), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_directive),
        cmocka_unit_test(test_default_format),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_empty_query_has_no_question_mark),
        cmocka_unit_test(test_time_zone_offsets),
        cmocka_unit_test(test_duration_rounding_and_clamp),
        cmocka_unit_test(test_negative_status),
        cmocka_unit_test(test_unknown_directive_copied),
        cmocka_unit_test(test_request_bytes_escaped),
        cmocka_unit_test(test_format_quotes_kept_control_escaped),
        cmocka_unit_test(test_truncated_line_ends_in_newline),
        cmocka_unit_test(test_truncation_never_splits_an_escape),
        cmocka_unit_test(test_exact_fit_not_cut),
        cmocka_unit_test(test_long_uri_cut_to_buffer),
        cmocka_unit_test(test_check_accepts_every_directive),
        cmocka_unit_test(test_check_rejects),
        cmocka_unit_test(test_check_reason_cut_to_buffer),
    };

    return cmocka_run_group_tests_name("access", tests, setup_utc, NULL);
}
