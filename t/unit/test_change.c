/* Unit tests for manager/change.c: the quiet period that makes one
 * replacement of a burst of changes, which inotify events concern a
 * watched file, and how often a lost watch is tried again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <cmocka.h>

#include "change.h"

static void
test_nothing_pending_is_never_due(void **state)
{
    struct change_debounce d;

    (void)state;
    change_debounce_reset(&d);
    assert_true(change_debounce_due_at(&d) == NEVER);
}

static void
test_one_change_waits_the_quiet_period(void **state)
{
    struct change_debounce d;

    (void)state;
    change_debounce_reset(&d);
    change_debounce_note(&d, 1000);
    assert_int_equal(change_debounce_due_at(&d), 1000 + CHANGE_QUIET_MS);
}

/* 20 writes 10 ms apart: one due time, a quiet period after the last. */
static void
test_burst_moves_the_due_time_to_after_the_last(void **state)
{
    struct change_debounce d;

    (void)state;
    change_debounce_reset(&d);
    for (uint64_t t = 1000; t < 1200; t += 10)
        change_debounce_note(&d, t);
    assert_int_equal(change_debounce_due_at(&d), 1190 + CHANGE_QUIET_MS);
}

/* A file written without pause never goes quiet: the wait is bounded. */
static void
test_endless_changes_are_due_at_the_latest_after_max_wait(void **state)
{
    struct change_debounce d;

    (void)state;
    change_debounce_reset(&d);
    for (uint64_t t = 1000; t < 1000 + 3 * CHANGE_MAX_WAIT_MS; t += 100)
        change_debounce_note(&d, t);
    assert_int_equal(change_debounce_due_at(&d), 1000 + CHANGE_MAX_WAIT_MS);
}

static void
test_reset_forgets_the_burst(void **state)
{
    struct change_debounce d;

    (void)state;
    change_debounce_reset(&d);
    change_debounce_note(&d, 1000);
    change_debounce_reset(&d);
    assert_true(change_debounce_due_at(&d) == NEVER);
    change_debounce_note(&d, 9000);
    assert_int_equal(change_debounce_due_at(&d), 9000 + CHANGE_QUIET_MS);
}

static void
test_a_name_matches_only_itself_in_its_directory(void **state)
{
    struct change_file f = { .path = "/srv/app/bin/app", .name = "app",
                             .wd = 3 };

    (void)state;
    assert_true(change_file_matches(&f, 3, IN_MOVED_TO, "app"));
    assert_true(change_file_matches(&f, 3, IN_CLOSE_WRITE, "app"));
    assert_false(change_file_matches(&f, 3, IN_CREATE, "app.tmp"));
    assert_false(change_file_matches(&f, 3, IN_CREATE, "ap"));
    assert_false(change_file_matches(&f, 4, IN_MOVED_TO, "app"));
    /* The directory's own attributes (touch DIR) are not the file's. */
    assert_false(change_file_matches(&f, 3, IN_ATTRIB, NULL));
}

static void
test_a_watched_directory_matches_every_entry(void **state)
{
    struct change_file f = { .path = "/srv/app/templates", .name = NULL,
                             .wd = 5 };

    (void)state;
    assert_true(change_file_matches(&f, 5, IN_CLOSE_WRITE, "index.html"));
    assert_true(change_file_matches(&f, 5, IN_ATTRIB, NULL));
    assert_false(change_file_matches(&f, 6, IN_CLOSE_WRITE, "index.html"));
}

/* The directory removed or moved: a change, and the watch is gone. */
static void
test_directory_gone_concerns_its_files(void **state)
{
    struct change_file f = { .path = "/srv/app/bin/app", .name = "app",
                             .wd = 3 };

    (void)state;
    assert_true(change_file_matches(&f, 3, IN_DELETE_SELF, NULL));
    assert_true(change_file_matches(&f, 3, IN_MOVE_SELF, NULL));
    assert_true(change_file_matches(&f, 3, IN_IGNORED, NULL));
    f.wd = -1;
    assert_false(change_file_matches(&f, -1, IN_Q_OVERFLOW, NULL));
}

/* A lost watch is tried again every second at first, then less often:
 * a directory that never comes back costs a wake-up every 10 s. */
static void
test_retry_is_fast_then_slow(void **state)
{
    (void)state;
    assert_int_equal(change_retry_at(1000, 1000), 1000 + CHANGE_RETRY_MS);
    assert_int_equal(change_retry_at(1000, 1000 + CHANGE_RETRY_FAST_FOR_MS
                                     - 1),
                     1000 + CHANGE_RETRY_FAST_FOR_MS - 1 + CHANGE_RETRY_MS);
    assert_int_equal(change_retry_at(1000, 1000 + CHANGE_RETRY_FAST_FOR_MS),
                     1000 + CHANGE_RETRY_FAST_FOR_MS
                         + CHANGE_RETRY_SLOW_MS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_pending_is_never_due),
        cmocka_unit_test(test_one_change_waits_the_quiet_period),
        cmocka_unit_test(test_burst_moves_the_due_time_to_after_the_last),
        cmocka_unit_test(
            test_endless_changes_are_due_at_the_latest_after_max_wait),
        cmocka_unit_test(test_reset_forgets_the_burst),
        cmocka_unit_test(test_a_name_matches_only_itself_in_its_directory),
        cmocka_unit_test(test_a_watched_directory_matches_every_entry),
        cmocka_unit_test(test_directory_gone_concerns_its_files),
        cmocka_unit_test(test_retry_is_fast_then_slow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
