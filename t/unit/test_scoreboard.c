/* Unit tests for common/scoreboard.c: what a worker writes is what the
 * master reads; bounds; truncation; what a worker scribbles there sizes
 * nothing the master does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scoreboard.h"

static void
test_request_cycle(void **state)
{
    struct sb_map *sb = scoreboard_create(4);
    struct sb_snapshot snap;

    (void)state;
    assert_non_null(sb);
    struct sb_slot *s = scoreboard_map_slot(sb, 3);
    assert_non_null(s);
    assert_ptr_equal(scoreboard_slot(sb->shm, 3), s);
    assert_null(scoreboard_map_slot(sb, 4));
    assert_null(scoreboard_slot(sb->shm, 4));
    assert_null(scoreboard_map_slot(NULL, 0));
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
    struct sb_map *map = scoreboard_create(1);
    struct scoreboard *sb = map->shm;
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
    scoreboard_destroy(map);
}

/* Whether p starts a mapping of at least len bytes, as /proc/self/maps
 * says (a probe of the memory itself would be an error under valgrind). */
static bool
mapped(const void *p, size_t len)
{
    FILE *f = fopen("/proc/self/maps", "r");
    unsigned long lo, hi, at = (unsigned long)p;
    bool found = false;

    assert_non_null(f);
    while (!found && fscanf(f, "%lx-%lx%*[^\n]", &lo, &hi) == 2)
        found = lo <= at && at + len <= hi;
    fclose(f);
    return found;
}

/* A worker rewrites the slot count in the mapping: the master indexes and
 * unmaps by the size it keeps (munmap with the scribbled one would take
 * the mappings above, the master's stack among them). */
static void
test_master_keeps_its_own_size(void **state)
{
    struct sb_map *map = scoreboard_create(4);

    (void)state;
    assert_non_null(map);
    map->shm->nslots = SIZE_MAX / sizeof(struct sb_slot);
    assert_null(scoreboard_map_slot(map, 4));
    assert_null(scoreboard_map_slot(map, 1u << 30));
    map->shm->nslots = 0;
    assert_non_null(scoreboard_map_slot(map, 3));
    map->shm->slots[3].state = SB_BUSY;
    assert_true(scoreboard_any_busy(map, 1000));
    assert_false(scoreboard_any_busy(map, 3));
    map->shm->nslots = (size_t)1 << 40;
    scoreboard_destroy(map);
}

/* What a worker writes is read, bounded and terminated, and shown as
 * unknown where it is not a state. */
static void
test_scribbled_slot_reads_harmlessly(void **state)
{
    struct sb_map *map = scoreboard_create(1);
    struct sb_slot *s = scoreboard_map_slot(map, 0);
    struct sb_snapshot snap;

    (void)state;
    memset(s->method, 'M', sizeof(s->method));
    memset(s->uri, '\n', sizeof(s->uri));
    s->state = 0xdeadbeefu;
    scoreboard_read(s, &snap);
    assert_int_equal(strlen(snap.method), SB_METHOD_MAX - 1);
    assert_int_equal(strlen(snap.uri), SB_URI_MAX - 1);
    assert_string_equal(scoreboard_state_name(snap.state), "?");
    /* Every byte escaped: the snapshot has the room. */
    assert_null(strchr(scoreboard_printable(snap.uri), '\n'));
    assert_int_equal(strlen(snap.uri), 4 * (SB_URI_MAX - 1));
    assert_memory_equal(snap.uri, "\\x0a\\x0a", 8);
    /* C0 and C1 controls (CSI, OSC: raw and as UTF-8) and what is not
     * UTF-8 become \xNN; UTF-8 text stays. */
    char line[LINES_CLEAN_SIZE(64)] = "GET /a\r\nfake: line\x7f\x1b[2J"
                                      "\x9b\xc2\x9d" "0;t\xff\xc3\xa9";
    assert_string_equal(scoreboard_printable(line),
                        "GET /a\\x0d\\x0afake: line\\x7f\\x1b[2J\\x9b"
                        "\\xc2\\x9d0;t\\xff\xc3\xa9");
    /* Cut to the array, between escapes. */
    char small[10] = "\x1b\x1b\x1b";
    assert_string_equal(scoreboard_printable(small), "\\x1b\\x1b");
    memcpy(snap.method, "GET\xc2\x9b", 6);
    assert_string_equal(scoreboard_printable(snap.method),
                        "GET\\xc2\\x9b");
    scoreboard_destroy(map);
}

/* A worker just forked keeps its own pool's mapping and loses the rest;
 * with none of its own (exec), it loses them all. */
static void
test_keep_only_own_mapping(void **state)
{
    struct sb_map *a = scoreboard_create(4), *b = scoreboard_create(4);
    struct sb_map *c = scoreboard_create(4);
    size_t len = sizeof(struct scoreboard) + 4 * sizeof(struct sb_slot);

    (void)state;
    assert_true(mapped(a->shm, len) && mapped(b->shm, len)
                && mapped(c->shm, len));
    scoreboard_destroy(c);      /* gone from the list: not unmapped twice */
    scoreboard_keep_only(b);
    assert_false(mapped(a->shm, len));
    assert_true(mapped(b->shm, len));
    scoreboard_keep_only(NULL);
    assert_false(mapped(b->shm, len));
    scoreboard_destroy(a);      /* munmap of what is gone: harmless */
    scoreboard_destroy(b);
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
        cmocka_unit_test(test_master_keeps_its_own_size),
        cmocka_unit_test(test_scribbled_slot_reads_harmlessly),
        cmocka_unit_test(test_keep_only_own_mapping),
    };
    return cmocka_run_group_tests_name("scoreboard", tests, NULL, NULL);
}
