/* Unit tests for manager/output.c: the per-second budget on a worker's
 * output lines (output_take) and the level of a relayed line
 * (output_relayed_level). The splitter itself: test_lines.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lines_fixture.h"
#include "output.h"

/* take: output_take within budget b at time now (ms). */
static void
take(struct fixture *f, struct output_budget *b, const char *s, uint64_t now)
{
    output_take(&f->ol, b, s, strlen(s), now, record, &f->seen);
}

/* Under the budget every line passes; the line in which it runs out is
 * dropped whole, and so is everything up to the end of the second. */
static void
test_budget_drops_whole_lines(void **state)
{
    struct fixture *f = *state;
    struct output_budget b = { .limit = 9 };
    unsigned long long lines, bytes;

    take(f, &b, "abc\nde", 1000);     /* 6 of 9 */
    take(f, &b, "fgh\nxyz\n", 1500); /* runs out in "defgh" */
    take(f, &b, "more\n", 1999);
    assert_int_equal(f->seen.n, 1);
    assert_string_equal(f->seen.text[0], "abc");
    assert_false(output_budget_report(&b, 1999, &lines, &bytes));
    assert_true(output_budget_report(&b, 2000, &lines, &bytes));
    assert_int_equal(lines, 3);       /* defgh, xyz, more */
    assert_int_equal(bytes, 6 + 4 + 5);
    assert_false(output_budget_report(&b, 2000, &lines, &bytes));
    /* A new second: lines pass again. */
    take(f, &b, "next\n", 2000);
    assert_int_equal(f->seen.n, 2);
    assert_string_equal(f->seen.text[1], "next");
}

/* A line being dropped when the second ends is dropped to its end, so
 * that no line is logged from its middle. */
static void
test_budget_resumes_at_line_start(void **state)
{
    struct fixture *f = *state;
    struct output_budget b = { .limit = 4 };
    unsigned long long lines, bytes;

    take(f, &b, "123456", 0);
    take(f, &b, "789\nok\n", 1000);
    assert_int_equal(f->seen.n, 1);
    assert_string_equal(f->seen.text[0], "ok");
    assert_true(output_budget_report(&b, 2000, &lines, &bytes));
    assert_int_equal(lines, 1);
    assert_int_equal(bytes, 10);
}

static void
test_budget_zero_is_no_limit(void **state)
{
    struct fixture *f = *state;
    struct output_budget b = { .limit = 0 };
    unsigned long long lines, bytes;
    char big[4096];

    memset(big, 'x', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 10; i++)
        take(f, &b, big, 0);
    assert_int_equal(f->seen.n, 10);
    assert_false(output_budget_report(&b, 5000, &lines, &bytes));
}

/* "<N>" gives the level; the worker's own "pool P: worker W: " goes, the
 * master puts it back; a line naming another worker keeps its text. */
static void
test_relayed_level(void **state)
{
    enum log_level lvl = LOG_LEVEL_DEBUG;
    const char *own = "<3>pool www: worker 42: refused /x";
    const char *other = "<6>pool www: worker 7: hello";

    (void)state;
    assert_int_equal(output_relayed_level(own, strlen(own), "www", 42, &lvl),
                     strlen("<3>pool www: worker 42: "));
    assert_int_equal(lvl, LOG_LEVEL_ERROR);
    assert_int_equal(output_relayed_level(other, strlen(other), "www", 42,
                                          &lvl), 3);
    assert_int_equal(lvl, LOG_LEVEL_INFO);
    assert_int_equal(output_relayed_level("<4>x", 4, "www", 42, &lvl), 3);
    assert_int_equal(lvl, LOG_LEVEL_WARN);
    assert_int_equal(output_relayed_level("<7>", 3, "www", 42, &lvl), 3);
    assert_int_equal(lvl, LOG_LEVEL_DEBUG);
    lvl = LOG_LEVEL_WARN;
    assert_int_equal(output_relayed_level("<8>x", 4, "www", 42, &lvl), 0);
    assert_int_equal(output_relayed_level("<3", 2, "www", 42, &lvl), 0);
    assert_int_equal(output_relayed_level("plain", 5, "www", 42, &lvl), 0);
    assert_int_equal(lvl, LOG_LEVEL_WARN);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_budget_drops_whole_lines),
        T(test_budget_resumes_at_line_start),
        T(test_budget_zero_is_no_limit),
        cmocka_unit_test(test_relayed_level),
    };
#undef T
    return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
