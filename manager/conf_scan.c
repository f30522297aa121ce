/* The text libconfuse parses: the file read whole, with its comments
 * blanked out and what libconfuse would misplace or miss reported at the
 * line that opens it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

#define CONF_MAX_FILE (1024 * 1024)    /* a config file is not a database */
#define CONF_DEPTH_MAX 8               /* braces the scanner remembers */

/*
 * A pass over the file before libconfuse parses it, following the lexical
 * rules of its lexer, for what libconfuse 3.3 gets wrong: it counts each
 * one-line comment as three lines and block comments wrongly too, so the
 * scanner blanks comments out (newlines stay) and libconfuse's line numbers
 * come out right; it accepts a file that ends inside a section or a
 * comment; it reports an unterminated string or list at the end of the
 * file rather than where it starts. The scanner reports those at the line
 * that opens them, and notes where each pool section starts, which
 * libconfuse does not keep.
 */

struct conf_tok {
    int kind;                   /* 'w' word, '"' string, or = + { } , ( ) */
    char text[CONF_KEY_MAX];    /* of a word */
};

struct conf_brace {
    int line;
    bool list;                  /* `key = {`, else a section */
    char key[CONF_KEY_MAX];
};

struct conf_scanner {
    struct conf_ctx *x;
    char *p;
    const char *end;
    int line;
    struct conf_tok prev, prev2;
    struct conf_brace open[CONF_DEPTH_MAX];
    unsigned depth;
};

static void
conf_scan_fail(struct conf_scanner *s, int line, const char *key,
               const char *what)
{
    if (key != NULL && *key != '\0')
        conf_fail(s->x, "%s:%d: %s: %s", s->x->file, line, key, what);
    else
        conf_fail(s->x, "%s:%d: syntax error: %s", s->x->file, line, what);
}

static void
conf_scan_token(struct conf_scanner *s, int kind, const char *text,
                size_t len)
{
    s->x->last_line = s->line;
    s->prev2 = s->prev;
    s->prev.kind = kind;
    if (len >= sizeof(s->prev.text))
        len = sizeof(s->prev.text) - 1;
    memcpy(s->prev.text, text, len);
    s->prev.text[len] = '\0';
}

static bool
conf_scan_is_word(char c)
{
    return strchr(" #\"'\t\n\r={}()+,*", c) == NULL;
}

/* Skip from p up to end, counting lines. */
static void
conf_scan_skip(struct conf_scanner *s, const char *end)
{
    for (; s->p < end; s->p++)
        if (*s->p == '\n')
            s->line++;
}

/* The key a string being read belongs to, when the tokens tell. */
static const char *
conf_scan_key(const struct conf_scanner *s)
{
    if (s->prev.kind == '=' || s->prev.kind == '+')
        return s->prev2.kind == 'w' ? s->prev2.text : NULL;
    if ((s->prev.kind == '{' || s->prev.kind == ',') && s->depth > 0
        && s->depth <= CONF_DEPTH_MAX && s->open[s->depth - 1].list)
        return s->open[s->depth - 1].key;
    return NULL;
}

/* A quoted string from its opening quote; a backslash escapes anything,
 * "${...}" runs to its brace even across the closing quote, as in the
 * lexer. 0, or -1 when the file ends first. */
static int
conf_scan_string(struct conf_scanner *s)
{
    char quote = *s->p;
    int line = s->line;
    const char *key = conf_scan_key(s);

    for (s->p++; s->p < s->end; s->p++) {
        if (*s->p == quote) {
            s->p++;
            conf_scan_token(s, '"', "", 0);
            return 0;
        }
        const char *brace = quote == '"' && *s->p == '$' && s->p[1] == '{'
            ? memchr(s->p, '}', (size_t)(s->end - s->p)) : NULL;
        if (brace != NULL)
            conf_scan_skip(s, brace);
        else if (*s->p == '\\' && s->p + 1 < s->end)
            s->p++;
        if (*s->p == '\n')
            s->line++;
    }
    conf_scan_fail(s, line, key, "unterminated string");
    return -1;
}

/* A block comment, from its opening slash-star, blanked out. */
static int
conf_scan_comment(struct conf_scanner *s)
{
    int line = s->line;

    memset(s->p, ' ', 2);
    for (s->p += 2; s->p + 1 < s->end; s->p++) {
        if (s->p[0] == '*' && s->p[1] == '/') {
            memset(s->p, ' ', 2);
            s->p += 2;
            return 0;
        }
        if (*s->p == '\n')
            s->line++;
        else
            *s->p = ' ';
    }
    conf_scan_fail(s, line, NULL, "unterminated /* comment");
    return -1;
}

static void
conf_scan_word(struct conf_scanner *s)
{
    const char *start = s->p;
    const char *brace = s->p[0] == '$' && s->p + 1 < s->end && s->p[1] == '{'
        ? memchr(s->p, '}', (size_t)(s->end - s->p)) : NULL;

    if (brace != NULL)
        conf_scan_skip(s, brace + 1);
    else
        while (s->p < s->end && conf_scan_is_word(*s->p))
            s->p++;
    conf_scan_token(s, 'w', start, (size_t)(s->p - start));
}

static int
conf_scan_open(struct conf_scanner *s)
{
    bool list = s->prev.kind == '=' || s->prev.kind == '+';
    struct conf_ctx *x = s->x;

    if (s->depth < CONF_DEPTH_MAX) {
        struct conf_brace *b = &s->open[s->depth];
        b->line = s->line;
        b->list = list;
        snprintf(b->key, sizeof(b->key), "%s",
                 s->prev2.kind == 'w' ? s->prev2.text : "");
    }
    if (s->depth == 0 && !list) {
        if (x->nsections == x->capsections) {
            size_t cap = x->capsections > 0 ? x->capsections * 2 : 8;
            int *l = realloc(x->sections, cap * sizeof(*l));
            if (l == NULL) {
                conf_oom(x);
                return -1;
            }
            x->sections = l;
            x->capsections = cap;
        }
        x->sections[x->nsections++] = s->line;
    }
    s->depth++;
    s->p++;
    conf_scan_token(s, '{', "", 0);
    return 0;
}

/* One token, comment or blank; 0, or -1 having said why. */
static int
conf_scan_step(struct conf_scanner *s)
{
    const char *eol;

    switch (*s->p) {
    case '\n':
        s->line++;
        /* FALLTHROUGH */
    case ' ': case '\t': case '\r': case '*':
        s->p++;
        return 0;
    case '"': case '\'':
        return conf_scan_string(s);
    case '{':
        return conf_scan_open(s);
    case '}':
        if (s->depth > 0)
            s->depth--;
        /* FALLTHROUGH */
    case '=': case ',': case '(': case ')':
        conf_scan_token(s, *s->p, "", 0);
        s->p++;
        return 0;
    case '+':
        if (s->p + 1 < s->end && s->p[1] == '=') {
            conf_scan_token(s, '+', "", 0);
            s->p++;
        }
        s->p++;
        return 0;
    case '/':
        /* At the start of a token, as libconfuse 3.3 has it: in the
         * middle of one ("a//b"), a slash is just a character. */
        if (s->p + 1 < s->end && s->p[1] == '*')
            return conf_scan_comment(s);
        if (s->p + 1 == s->end || s->p[1] != '/')
            break;
        /* FALLTHROUGH */
    case '#':
        eol = memchr(s->p, '\n', (size_t)(s->end - s->p));
        if (eol == NULL)
            eol = s->end;
        memset(s->p, ' ', (size_t)(eol - s->p));
        s->p += eol - s->p;
        return 0;
    }
    conf_scan_word(s);
    return 0;
}

/* Blank out the comments of buf. 0 if it has no unterminated string,
 * comment or brace; -1 otherwise, having said why. */
static int
conf_scan_buf(struct conf_ctx *x, char *buf, size_t len)
{
    struct conf_scanner s = { .x = x, .p = buf, .end = buf + len, .line = 1 };
    const char *nul = memchr(buf, '\0', len);

    if (nul != NULL) {
        conf_scan_skip(&s, nul);
        conf_scan_fail(&s, s.line, NULL, "NUL byte");
        return -1;
    }
    while (s.p < s.end)
        if (conf_scan_step(&s) == -1)
            return -1;
    if (s.depth > 0) {
        unsigned i = s.depth <= CONF_DEPTH_MAX ? s.depth : CONF_DEPTH_MAX;
        const struct conf_brace *b = &s.open[i - 1];
        conf_scan_fail(&s, b->line, b->key, "'{' is never closed");
        return -1;
    }
    return 0;
}

/* The whole file, NUL-terminated: the scanner and libconfuse then read the
 * same bytes even if the file changes meanwhile. NULL having said why. */
static char *
conf_scan_read(struct conf_ctx *x, const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t n = 0, cap = 0, got;

    if (f == NULL) {
        conf_fail(x, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    do {
        if (n + 1 >= cap) {
            char *nb = cap < CONF_MAX_FILE ? realloc(buf, cap + 4096) : NULL;
            if (nb == NULL) {
                conf_fail(x, "%s: %s", path, cap < CONF_MAX_FILE
                          ? "out of memory" : "larger than 1 MiB");
                goto fail;
            }
            buf = nb;
            cap += 4096;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        conf_fail(x, "%s: cannot read: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

char *
conf_scan_file(struct conf_ctx *x, const char *path)
{
    size_t len;
    char *buf = conf_scan_read(x, path, &len);

    if (buf != NULL && conf_scan_buf(x, buf, len) == -1) {
        free(buf);
        return NULL;
    }
    return buf;
}
