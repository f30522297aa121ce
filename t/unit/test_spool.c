/* Unit tests for worker/spool.c: bytes held in memory, then in an
 * unlinked temporary file, come back in order; the bounds hold; a
 * failed spill adds nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "spool.h"

/* Bytes that differ from their neighbours, so that order shows. */
static void
fill(char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)((i * 31 + seed) & 0xff);
}

/* Everything s holds, taken in pieces of piece bytes. */
static size_t
take_all(struct spool *s, char *out, size_t size, size_t piece)
{
    size_t got = 0;
    ssize_t n;

    while ((n = spool_take(s, out + got, piece)) > 0) {
        got += (size_t)n;
        assert_true(got <= size);
    }
    assert_int_equal(n, 0);
    return got;
}

static void
test_memory_only(void **state)
{
    struct spool s;
    char in[100], out[100];

    (void)state;
    spool_init(&s, 64, 0, NULL);
    fill(in, sizeof(in), 1);
    assert_int_equal(spool_add(&s, in, 40), 0);
    assert_int_equal(spool_add(&s, in + 40, 24), 0);
    assert_int_equal(spool_len(&s), 64);
    /* Full, and no file: nothing of a larger piece is taken. */
    assert_int_equal(spool_add(&s, in + 64, 1), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(spool_len(&s), 64);
    assert_int_equal(s.fd, -1);
    assert_int_equal(take_all(&s, out, sizeof(out), 7), 64);
    assert_memory_equal(in, out, 64);
    spool_free(&s);
}

/* Reading makes room again: what is unread moves to the front. */
static void
test_memory_reused_after_take(void **state)
{
    struct spool s;
    char in[64], out[64];

    (void)state;
    spool_init(&s, 32, 0, NULL);
    fill(in, sizeof(in), 2);
    assert_int_equal(spool_add(&s, in, 32), 0);
    assert_int_equal(spool_take(&s, out, 20), 20);
    assert_int_equal(spool_add(&s, in + 32, 20), 0);
    assert_int_equal(take_all(&s, out + 20, sizeof(out) - 20, 64), 32);
    assert_memory_equal(in, out, 52);
    spool_free(&s);
}

static void
test_spill_keeps_order(void **state)
{
    enum { MEM = 1000, N = 300000 };
    struct spool s;
    char *in = malloc(N), *out = malloc(N);
    struct stat st;

    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    fill(in, N, 3);
    spool_init(&s, MEM, N, NULL);
    /* Pieces that straddle the memory bound. */
    for (size_t at = 0; at < N; at += 777)
        assert_int_equal(spool_add(&s, in + at, N - at < 777 ? N - at : 777),
                         0);
    assert_int_equal(spool_len(&s), N);
    assert_int_not_equal(s.fd, -1);
    /* The file has no name: nothing links to it. */
    assert_int_equal(fstat(s.fd, &st), 0);
    assert_int_equal(st.st_nlink, 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(take_all(&s, out, N, 4096), N);
    assert_memory_equal(in, out, N);
    spool_free(&s);
    free(in);
    free(out);
}

/* Once the file holds bytes, added ones go after them even when memory
 * has room again; emptied, memory comes first again. */
static void
test_file_then_memory(void **state)
{
    struct spool s;
    char in[400], out[400];

    (void)state;
    fill(in, sizeof(in), 4);
    spool_init(&s, 100, 1000, NULL);
    assert_int_equal(spool_add(&s, in, 150), 0);         /* 100 + 50 */
    assert_int_equal(spool_take(&s, out, 100), 100);     /* memory */
    assert_int_equal(spool_add(&s, in + 150, 50), 0);    /* to the file */
    assert_int_equal(s.mem_len, 0);
    assert_int_equal(take_all(&s, out + 100, 100, 33), 100);
    assert_memory_equal(in, out, 200);
    assert_int_equal(s.file_len, 0);
    assert_int_equal(spool_add(&s, in + 200, 80), 0);    /* memory */
    assert_int_equal(s.file_len, 0);
    assert_int_equal(take_all(&s, out + 200, 80, 1000), 80);
    assert_memory_equal(in, out, 280);
    spool_free(&s);
}

static void
test_file_bound(void **state)
{
    struct spool s;
    char in[300];

    (void)state;
    fill(in, sizeof(in), 5);
    spool_init(&s, 100, 150, NULL);
    assert_int_equal(spool_add(&s, in, 250), 0);
    assert_int_equal(spool_add(&s, in, 1), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(spool_len(&s), 250);
    spool_free(&s);
    /* Too big at once: none of it. */
    assert_int_equal(spool_add(&s, in, 251), -1);
    assert_int_equal(spool_len(&s), 0);
    spool_free(&s);
}

/* No temporary file can be made: the spill fails, memory is as it was,
 * and what fits in memory still goes in. */
static void
test_spill_fails_cleanly(void **state)
{
    struct spool s;
    char in[200], out[200];

    (void)state;
    fill(in, sizeof(in), 6);
    spool_init(&s, 100, 1000, "/nonexistent-fcgipm-spool-dir");
    assert_int_equal(spool_add(&s, in, 60), 0);
    assert_int_equal(spool_add(&s, in + 60, 100), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(spool_len(&s), 60);
    assert_int_equal(spool_add(&s, in + 60, 40), 0);
    assert_int_equal(take_all(&s, out, sizeof(out), 1000), 100);
    assert_memory_equal(in, out, 100);
    spool_free(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_only),
        cmocka_unit_test(test_memory_reused_after_take),
        cmocka_unit_test(test_spill_keeps_order),
        cmocka_unit_test(test_file_then_memory),
        cmocka_unit_test(test_file_bound),
        cmocka_unit_test(test_spill_fails_cleanly),
    };
    return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
