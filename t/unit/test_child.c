/* Unit tests for manager/child.c: how a worker's death is described. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "child.h"
#include "wstatus.h"

static void
test_status_strings(void **state)
{
    char buf[96];

    (void)state;
    assert_string_equal(wstatus_describe(W_EXITCODE(3, 0), buf, sizeof(buf)),
                        "exited with status 3");
    assert_string_equal(wstatus_describe(W_EXITCODE(0, SIGKILL), buf,
                                         sizeof(buf)),
                        "killed by SIGKILL");
    assert_string_equal(wstatus_describe(W_EXITCODE(0, SIGSEGV) | WCOREFLAG,
                                         buf, sizeof(buf)),
                        "killed by SIGSEGV (core dumped)");
}

static void
test_clean_exit(void **state)
{
    (void)state;
    assert_true(wstatus_is_clean(W_EXITCODE(0, 0)));
    assert_false(wstatus_is_clean(W_EXITCODE(1, 0)));
    assert_false(wstatus_is_clean(W_EXITCODE(0, SIGTERM)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_clean_exit),
    };
    return cmocka_run_group_tests_name("child", tests, NULL, NULL);
}
