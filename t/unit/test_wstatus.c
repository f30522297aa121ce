/* Unit tests for common/wstatus.c: one description of how a process
 * ended, for the master's log and cgi workers' alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "wstatus.h"

static void
test_describe(void **state)
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

static void
test_describe_cuts_to_the_buffer(void **state)
{
    char buf[8];

    (void)state;
    assert_string_equal(wstatus_describe(W_EXITCODE(3, 0), buf, sizeof(buf)),
                        "exited ");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_clean_exit),
        cmocka_unit_test(test_describe_cuts_to_the_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
