/* Unit tests for common/lines.c: the cleaner (C0, DEL, C1 controls and
 * what is not UTF-8 escaped, UTF-8 text kept) and how a byte stream
 * becomes log lines (partial reads, CRLF, long lines cut in pieces). */
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

/* lines_clean on n bytes of s into a buffer of size room. */
static const char *
clean(const char *s, size_t n, size_t room, unsigned flags)
{
    static char buf[256];

    assert_true(room <= sizeof(buf));
    size_t len = lines_clean(buf, room, s, n, flags);
    assert_int_equal(len, strlen(buf));
    return buf;
}

#define CLEAN(s) clean((s), sizeof(s) - 1, 256, 0)

static void
test_clean_c0_del_tab(void **state)
{
    (void)state;
    assert_string_equal(clean("a\0b", 3, 256, 0), "a\\x00b");
    assert_string_equal(CLEAN("\x1b[2J\x7f\r\n"),
                        "\\x1b[2J\\x7f\\x0d\\x0a");
    assert_string_equal(CLEAN("a\tb"), "a\\x09b");
    assert_string_equal(clean("a\tb", 3, 256, LINES_KEEP_TAB), "a\tb");
    assert_string_equal(CLEAN(" ~\\"), " ~\\");
    assert_string_equal(CLEAN(""), "");
}

/* C1 controls: CSI, OSC, ST... as bytes alone (not UTF-8) and as UTF-8
 * (U+0080 to U+009F), which terminals obey as well. */
static void
test_clean_c1(void **state)
{
    (void)state;
    assert_string_equal(CLEAN("\x9b" "2J\x9d" "0;t\x9c\x80\x9f"),
                        "\\x9b2J\\x9d0;t\\x9c\\x80\\x9f");
    assert_string_equal(CLEAN("\xc2\x9b" "31mPWNED\xc2\x9d" "0;title\xc2\x9c"),
                        "\\xc2\\x9b31mPWNED\\xc2\\x9d0;title\\xc2\\x9c");
    assert_string_equal(CLEAN("\xc2\x80\xc2\x9f"), "\\xc2\\x80\\xc2\\x9f");
    /* U+00A0 and up are text. */
    assert_string_equal(CLEAN("\xc2\xa0\xc2\xbf"), "\xc2\xa0\xc2\xbf");
}

static void
test_clean_invalid_utf8(void **state)
{
    (void)state;
    assert_string_equal(CLEAN("/\xff\xfe/"), "/\\xff\\xfe/");
    assert_string_equal(CLEAN("\xa9x"), "\\xa9x");            /* stray */
    assert_string_equal(CLEAN("\xe2\x82x"), "\\xe2\\x82x");   /* cut */
    assert_string_equal(CLEAN("\xe2\x82"), "\\xe2\\x82");     /* at end */
    assert_string_equal(CLEAN("\xf0\x9d\x84"), "\\xf0\\x9d\\x84");
    assert_string_equal(CLEAN("\xc3\xc3\xa9"), "\\xc3\xc3\xa9");
    /* Surrogates, beyond U+10FFFF, bytes never in UTF-8. */
    assert_string_equal(CLEAN("\xed\xa0\x80"), "\\xed\\xa0\\x80");
    assert_string_equal(CLEAN("\xed\xbf\xbf"), "\\xed\\xbf\\xbf");
    assert_string_equal(CLEAN("\xf4\x90\x80\x80"),
                        "\\xf4\\x90\\x80\\x80");
    assert_string_equal(CLEAN("\xf5\x80\x80\x80"),
                        "\\xf5\\x80\\x80\\x80");
    assert_string_equal(CLEAN("\xf8\x88\x80\x80\x80"),
                        "\\xf8\\x88\\x80\\x80\\x80");
}

/* Overlong forms ("/" as 2, 3, 4 bytes; NUL as 2) hide what they are. */
static void
test_clean_overlong(void **state)
{
    (void)state;
    assert_string_equal(CLEAN("\xc0\xaf"), "\\xc0\\xaf");
    assert_string_equal(CLEAN("\xc1\xbf"), "\\xc1\\xbf");
    assert_string_equal(CLEAN("\xc0\x80"), "\\xc0\\x80");
    assert_string_equal(CLEAN("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");
    assert_string_equal(CLEAN("\xe0\x9f\xbf"), "\\xe0\\x9f\\xbf");
    assert_string_equal(CLEAN("\xf0\x80\x80\xaf"),
                        "\\xf0\\x80\\x80\\xaf");
    assert_string_equal(CLEAN("\xf0\x8f\xbf\xbf"),
                        "\\xf0\\x8f\\xbf\\xbf");
}

/* Valid multibyte text is kept, at each length and at each edge. */
static void
test_clean_keeps_utf8(void **state)
{
    static const char text[] =
        "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e \xe4\xb8\xad "
        "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd\xf0\x90\x80\x80"
        "\xf4\x8f\xbf\xbf";

    (void)state;
    assert_string_equal(CLEAN(text), text);
}

/* A buffer too small takes whole characters and escapes only. */
static void
test_clean_cut(void **state)
{
    char out[LINES_CHAR_MAX];
    size_t len;

    (void)state;
    assert_string_equal(clean("ab\x1b", 3, 6, 0), "ab");
    assert_string_equal(clean("ab\x1b", 3, 7, 0), "ab\\x1b");
    assert_string_equal(clean("a\xe2\x82\xac", 4, 4, 0), "a");
    assert_string_equal(clean("a\xc2\x9b", 3, 9, 0), "a");
    assert_string_equal(clean("a\xc2\x9b", 3, 10, 0), "a\\xc2\\x9b");
    assert_string_equal(clean("abc", 3, 1, 0), "");
    /* One character at a time: how many bytes it took. */
    assert_int_equal(lines_clean_char("\xc2\x9bx", 3, 0, out, &len), 2);
    assert_int_equal(len, 8);
    assert_int_equal(lines_clean_char("\xe2\x82\xac", 3, 0, out, &len), 3);
    assert_int_equal(len, 3);
    assert_int_equal(lines_clean_char("\xe2\x82", 2, 0, out, &len), 1);
    assert_int_equal(len, 4);
}

/* In workers' output, a character split between reads is whole in the
 * line, and one a line ends inside is escaped. */
static void
test_feed_utf8_across_reads(void **state)
{
    struct fixture *f = *state;

    feed(f, "\xe2\x82");
    feed(f, "\xac\xc2");
    feed(f, "\x9b" "2J\xf0");
    feed(f, "\x9d\x84");
    feed(f, "\x9e\n");
    feed(f, "x\xe2\x82\ny\xc3\r\nz\xf0\x9d");
    flush(f);
    assert_int_equal(f->seen.n, 4);
    assert_string_equal(f->seen.text[0],
                        "\xe2\x82\xac\\xc2\\x9b2J\xf0\x9d\x84\x9e");
    assert_string_equal(f->seen.text[1], "x\\xe2\\x82");
    assert_string_equal(f->seen.text[2], "y\\xc3");
    assert_string_equal(f->seen.text[3], "z\\xf0\\x9d");
}

static void
test_feed_c1_and_invalid(void **state)
{
    struct fixture *f = *state;

    feed(f, "GET /slow.sh?\xc2\x9b" "2J\xc2\x9b" "31mPWNED\xc2\x9d" "0;title"
         "\xc2\x9c \x9b\xff\xfe\xc0\xaf\xed\xa0\x80\xc3\xa9\n");
    assert_int_equal(f->seen.n, 1);
    assert_string_equal(f->seen.text[0],
                        "GET /slow.sh?\\xc2\\x9b2J\\xc2\\x9b31mPWNED\\xc2"
                        "\\x9d0;title\\xc2\\x9c \\x9b\\xff\\xfe\\xc0\\xaf"
                        "\\xed\\xa0\\x80\xc3\xa9");
}

/* A C1 escape that does not fit goes whole to the next piece. */
static void
test_cut_keeps_escape_whole(void **state)
{
    struct fixture *f = *state;
    char *line = repeat('u', LINES_MAX - 7);

    feed(f, line);
    feed(f, "\xc2\x9b\n");
    assert_int_equal(f->seen.n, 2);
    assert_int_equal(f->seen.len[0], LINES_MAX - 7);
    assert_string_equal(f->seen.text[1], "\\xc2\\x9b");
    free(line);
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
        T(test_clean_c0_del_tab),
        T(test_clean_c1),
        T(test_clean_invalid_utf8),
        T(test_clean_overlong),
        T(test_clean_keeps_utf8),
        T(test_clean_cut),
        T(test_feed_utf8_across_reads),
        T(test_feed_c1_and_invalid),
        T(test_cut_keeps_escape_whole),
    };
#undef T
    return cmocka_run_group_tests_name("lines", tests, NULL, NULL);
}
