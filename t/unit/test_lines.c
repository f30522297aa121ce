/* Unit tests for common/lines.c: how a byte stream becomes log lines
 * (partial reads, CRLF, control bytes, long lines cut in pieces). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "lines_fixture.h"

static void
feed(struct fixture *f, const char *s)
{
    lines_feed(&f->ol, s, strlen(s), record, &f->seen);
}

static void
feed_bytes(struct fixture *f, const char *s, size_t n)
{
    lines_feed(&f->ol, s, n, record, &f->seen);
}

static void
flush(struct fixture *f)
{
    lines_flush(&f->ol, record, &f->seen);
}

/* n copies of c. The caller frees. */
static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void
test_lines_across_reads(void **state)
{
    struct fixture *f = *state;

    feed(f, "hel");
    assert_int_equal(f->seen.n, 0);
    feed(f, "lo\nwor");
    assert_int_equal(f->seen.n, 1);
    assert_string_equal(f->seen.text[0], "hello");
    assert_int_equal(f->seen.part[0], 0);
    feed(f, "ld\n");
    assert_int_equal(f->seen.n, 2);
    assert_string_equal(f->seen.text[1], "world");
}

static void
test_many_lines_in_one_read(void **state)
{
    struct fixture *f = *state;

    feed(f, "one\ntwo\n\nfour\nfi");
    assert_int_equal(f->seen.n, 4);
    assert_string_equal(f->seen.text[0], "one");
    assert_string_equal(f->seen.text[1], "two");
    assert_string_equal(f->seen.text[2], "");
    assert_string_equal(f->seen.text[3], "four");
    flush(f);
    assert_int_equal(f->seen.n, 5);
    assert_string_equal(f->seen.text[4], "fi");
}

static void
test_crlf(void **state)
{
    struct fixture *f = *state;

    feed(f, "dos\r\nsplit\r");
    feed(f, "\nin\rside\n");
    assert_int_equal(f->seen.n, 3);
    assert_string_equal(f->seen.text[0], "dos");
    assert_string_equal(f->seen.text[1], "split");
    assert_string_equal(f->seen.text[2], "in\\x0dside");
}

static void
test_control_bytes_escaped(void **state)
{
    struct fixture *f = *state;

    feed_bytes(f, "a\0b\tc\x1b[0m\x7f\xc3\xa9\n", 13);
    assert_int_equal(f->seen.n, 1);
    assert_string_equal(f->seen.text[0],
                        "a\\x00b\tc\\x1b[0m\\x7f\xc3\xa9");
}

static void
test_flush_last_line_at_eof(void **state)
{
    struct fixture *f = *state;

    flush(f);
    assert_int_equal(f->seen.n, 0);     /* nothing pending: no line */
    feed(f, "bye\r");
    flush(f);
    assert_int_equal(f->seen.n, 1);
    assert_string_equal(f->seen.text[0], "bye");
    flush(f);
    assert_int_equal(f->seen.n, 1);
}

static void
test_8k_line_whole(void **state)
{
    struct fixture *f = *state;
    char *line = repeat('x', 8192);

    feed(f, line);
    feed(f, "\n");
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(f->seen.len[0], 8192);
    assert_int_equal(f->seen.part[0], 0);
    assert_string_equal(f->seen.text[0], line);
    free(line);
}

static void
test_line_of_max_size_whole(void **state)
{
    struct fixture *f = *state;
    char *line = repeat('y', LINES_MAX);

    feed(f, line);
    feed(f, "\n");
    assert_int_equal(f->seen.n, 1);
    assert_int_equal(f->seen.len[0], LINES_MAX);
    assert_int_equal(f->seen.part[0], 0);
    free(line);
}

static void
test_20k_line_cut_in_pieces(void **state)
{
    struct fixture *f = *state;
    char *line = repeat('z', 20 * 1024);

    /* In reads of 3000 bytes, as a pipe might deliver it. */
    for (size_t off = 0; off < 20 * 1024; off += 3000) {
        size_t n = 20 * 1024 - off < 3000 ? 20 * 1024 - off : 3000;
        feed_bytes(f, line + off, n);
    }
    feed(f, "\nnext\n");
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->seen.len[0], LINES_MAX);
    assert_int_equal(f->seen.part[0], LINES_PART_MORE);
    assert_int_equal(f->seen.len[1], 20 * 1024 - LINES_MAX);
    assert_int_equal(f->seen.part[1], LINES_PART_CONTINUED);
    assert_string_equal(f->seen.text[2], "next");
    assert_int_equal(f->seen.part[2], 0);
    free(line);
}

static void
test_long_line_middle_pieces(void **state)
{
    struct fixture *f = *state;
    char *line = repeat('w', 2 * LINES_MAX + 1);

    feed(f, line);
    flush(f);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->seen.part[0], LINES_PART_MORE);
    assert_int_equal(f->seen.part[1],
                     LINES_PART_CONTINUED | LINES_PART_MORE);
    assert_int_equal(f->seen.part[2], LINES_PART_CONTINUED);
    assert_int_equal(f->seen.len[0] + f->seen.len[1] + f->seen.len[2],
                     2 * LINES_MAX + 1);
    free(line);
}

/* A cut never splits a UTF-8 sequence: "é" straddling the limit moves
 * whole to the next piece. */
static void
test_cut_keeps_utf8_whole(void **state)
{
    struct fixture *f = *state;
    char *line = repeat('v', LINES_MAX - 1);

    feed(f, line);
    feed(f, "\xc3\xa9tail\n");
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.len[0], LINES_MAX - 1);
    assert_string_equal(f->seen.text[1], "\xc3\xa9tail");
    free(line);
}

/* Escapes count against the limit, so a line of NULs is cut too and no
 * piece outgrows a log line. */
static void
test_escapes_count_against_limit(void **state)
{
    struct fixture *f = *state;
    char *zeros = calloc(LINES_MAX / 4 + 1, 1);

    assert_non_null(zeros);
    feed_bytes(f, zeros, LINES_MAX / 4 + 1);
    feed(f, "\n");
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.len[0], LINES_MAX);
    assert_string_equal(f->seen.text[1], "\\x00");
    free(zeros);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lines_across_reads),
        T(test_many_lines_in_one_read),
        T(test_crlf),
        T(test_control_bytes_escaped),
        T(test_flush_last_line_at_eof),
        T(test_8k_line_whole),
        T(test_line_of_max_size_whole),
        T(test_20k_line_cut_in_pieces),
        T(test_long_line_middle_pieces),
        T(test_cut_keeps_utf8_whole),
        T(test_escapes_count_against_limit),
    };
#undef T
    return cmocka_run_group_tests_name("lines", tests, NULL, NULL);
}
