/* Unit tests for manager/loop.c: the epoll timeout derived from the
 * earliest deadline (an idle master must sleep forever). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loop.h"

static void
test_no_deadline_sleeps_forever(void **state)
{
    (void)state;
    assert_int_equal(loop_timeout_ms(NEVER, 1000), -1);
}

static void
test_due_or_past_deadline_does_not_sleep(void **state)
{
    (void)state;
    assert_int_equal(loop_timeout_ms(1000, 1000), 0);
    assert_int_equal(loop_timeout_ms(999, 1000), 0);
}

static void
test_future_deadline(void **state)
{
    (void)state;
    assert_int_equal(loop_timeout_ms(1250, 1000), 250);
    /* Far deadlines are capped to an hour rather than overflowing int. */
    assert_int_equal(loop_timeout_ms(UINT64_MAX - 1, 0), 3600 * 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_deadline_sleeps_forever),
        cmocka_unit_test(test_due_or_past_deadline_does_not_sleep),
        cmocka_unit_test(test_future_deadline),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
