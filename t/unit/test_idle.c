/* Unit tests for manager/idle.c: reading /proc for the idle check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "idle.h"

static void
test_accept_on_fd0(void **state)
{
    (void)state;
    assert_true(idle_syscall_is_accept("43 0x0 0x7ffe 0x7ffd 0x1 0x0 0x0 "
                                       "0x7ffb 0x7f56\n"));
    assert_true(idle_syscall_is_accept("288 0x0 0x0 0x0 0x80000 0x0 0x0 "
                                       "0x7ffb 0x7f56\n"));
}

static void
test_not_idle(void **state)
{
    (void)state;
    /* accept on another fd, other calls, running, truncated, garbage */
    assert_false(idle_syscall_is_accept("43 0x3 0x7ffe 0x7ffd 0x1 0x0 0x0 "
                                        "0x7ffb 0x7f56\n"));
    assert_false(idle_syscall_is_accept("0 0x3 0x7ffe 0x2000 0x0 0x0 0x0 "
                                        "0x7ffb 0x7f56\n"));
    assert_false(idle_syscall_is_accept("23 0x1 0x7ffe 0x0 0x0 0x7ffc 0x0 "
                                        "0x7ffb 0x7f56\n"));
    assert_false(idle_syscall_is_accept("running\n"));
    assert_false(idle_syscall_is_accept("-1 0x7ffe 0x7f56\n"));
    assert_false(idle_syscall_is_accept("43"));
    assert_false(idle_syscall_is_accept(""));
}

static void
test_stopped_state(void **state)
{
    (void)state;
    assert_true(idle_stat_is_stopped("12 (hello) T 1 12 12 0\n"));
    assert_true(idle_stat_is_stopped("12 (a) b) (c) t 1 12\n"));
    assert_false(idle_stat_is_stopped("12 (a) T) S 1 12\n"));
    assert_false(idle_stat_is_stopped("12 (hello) S 1 12 12 0\n"));
    assert_false(idle_stat_is_stopped("garbage"));
    assert_false(idle_stat_is_stopped("12 (x)"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_on_fd0),
        cmocka_unit_test(test_not_idle),
        cmocka_unit_test(test_stopped_state),
    };
    return cmocka_run_group_tests_name("idle", tests, NULL, NULL);
}
