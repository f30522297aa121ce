/* Unit tests for manager/scoreboard.c: what a worker writes is what the
 * master reads; bounds; truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "scoreboard.h"

static void
test_request_cycle(void **state)
{
    struct scoreboard *sb = scoreboard_create(4);
    struct sb_snapshot snap;

    (void)state;
    assert_non_null(sb);
    struct sb_slot *s = scoreboard_slot(sb, 3);
    assert_non_null(s);
    assert_null(scoreboard_slot(sb, 4));
    assert_null(scoreboard_slot(NULL, 0));
    scoreboard_claim(s, 1000);
    scoreboard_read(s, &snap);
    assert_int_equal(snap.state, SB_STARTING);
    assert_int_equal(snap.started_ms, 1000);
    scoreboard_set_state(s, SB_IDLE);
    scoreboard_begin_request(s, "POST", "/form?x=1", 1500);
    scoreboard_read(s, &snap);
    assert_int_equal(snap.state, SB_BUSY);
    assert_int_equal(snap.pid, getpid());
    assert_string_equal(snap.method, "POST");
    assert_string_equal(snap.uri, "/form?x=1");
    assert_int_equal(snap.req_started_ms, 1500);
    scoreboard_end_request(s);
    scoreboard_begin_request(s, "GET", "/", 1600);
    scoreboard_end_request(s);
    scoreboard_read(s, &snap);
    assert_int_equal(snap.state, SB_IDLE);
    assert_int_equal(snap.requests, 2);
    /* A shorter URI leaves nothing of the longer one behind. */
    assert_string_equal(snap.uri, "/");
    scoreboard_release(s);
    scoreboard_read(s, &snap);
    assert_int_equal(snap.state, SB_EMPTY);
    scoreboard_destroy(sb);
}

static void
test_long_fields_are_truncated(void **state)
{
    struct scoreboard *sb = scoreboard_create(1);
    struct sb_snapshot snap;
    char uri[SB_URI_MAX * 2];

    (void)state;
    memset(uri, 'u', sizeof(uri) - 1);
    uri[sizeof(uri) - 1] = '\0';
    scoreboard_begin_request(&sb->slots[0], "VERYLONGMETHODNAMEINDEED", uri,
                             1);
    scoreboard_read(&sb->slots[0], &snap);
    assert_int_equal(strlen(snap.uri), SB_URI_MAX - 1);
    assert_int_equal(strlen(snap.method), SB_METHOD_MAX - 1);
    scoreboard_destroy(sb);
}

static void
test_null_slot_is_harmless(void **state)
{
    struct sb_snapshot snap;

    (void)state;
    scoreboard_claim(NULL, 1);
    scoreboard_set_state(NULL, SB_IDLE);
    scoreboard_begin_request(NULL, "GET", "/", 1);
    scoreboard_end_request(NULL);
    scoreboard_release(NULL);
    scoreboard_read(NULL, &snap);
    assert_int_equal(snap.state, SB_EMPTY);
    assert_string_equal(scoreboard_state_name(SB_BUSY), "busy");
    assert_string_equal(scoreboard_state_name((enum sb_state)99), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_cycle),
        cmocka_unit_test(test_long_fields_are_truncated),
        cmocka_unit_test(test_null_slot_is_harmless),
    };
    return cmocka_run_group_tests_name("scoreboard", tests, NULL, NULL);
}
