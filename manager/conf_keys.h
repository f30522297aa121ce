/* The config keys, one row each: name, type, default, range, the modes
 * and process managers a key applies to, where it goes in struct conf or
 * struct pool_conf. The rows drive the libconfuse options, the copy, the
 * checks of one value and of where a key applies, and conf_print(). Only
 * the conf*.c files use them. */
#ifndef FCGIPM_CONF_KEYS_H
#define FCGIPM_CONF_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pool_conf.h"

struct conf_ctx;
struct conf_src;
struct conf_key;

/* How a key is written, and the C type of its field. */
enum conf_type {
    CONF_T_INT,         /* int: a decimal number in lo..hi */
    CONF_T_UINT,        /* unsigned: the same */
    CONF_T_LONG,        /* long: the same */
    CONF_T_DURATION,    /* unsigned ms: "30s", "500ms", "2m"; at least lo */
    CONF_T_SIZE,        /* unsigned long long bytes: "512k", "10m", "1g" */
    CONF_T_CORE,        /* long: a size, or -2 for "unlimited" */
    CONF_T_BOOL,        /* bool */
    CONF_T_ENUM,        /* an enum: the index of its name in names */
    CONF_T_SIGNAL,      /* int: a signal that may ask a worker to stop */
    CONF_T_MODE,        /* mode_t: octal, 0000..0777 */
    CONF_T_STR,         /* char *; NULL when unset */
    CONF_T_USER,        /* char *: a user that exists, by name or number */
    CONF_T_GROUP,       /* char *: a group that exists, by name or number */
    CONF_T_LIST,        /* char **, NULL-terminated, and its size_t count */
};

enum conf_scope {
    CONF_SCOPE_TOP,     /* the top level only; a field of struct conf */
    CONF_SCOPE_POOL,    /* pool sections, and the top level for the default
                           pool; a field of struct pool_conf */
};

#define CONF_MODE_BIT(mode) (1u << (mode))
#define CONF_PM_BIT(kind) (1u << (kind))

/* Key flags. With modes, a key written at all in a pool of another mode
 * is an error ("only used in mode cgi"); with CONF_KF_REQUEST instead,
 * only a value other than its default is ("has no effect in mode exec").
 * With pms, a value other than the default in a pool of another pm is an
 * error. conf_print() leaves out the keys that do not apply to a pool. */
#define CONF_KF_REQUEST  0x1u   /* about requests: modes are those where
                                   fcgipm sees them */
#define CONF_KF_REQUIRED 0x2u   /* required in its modes */
#define CONF_KF_OPTIONAL 0x4u   /* the default means unset: printed only
                                   when set */

/* A check of one string value: 0, or -1 with why. */
typedef int conf_check_fn(const char *s, char *why, size_t len);
/* What the plain copy of key k into base cannot do, once every key of the
 * section is copied and its line noted: 0, or -1 having said why. */
typedef int conf_fix_fn(struct conf_ctx *x, const struct conf_key *k,
                        void *base, struct conf_src *s);
/* Print key k of base, instead of the plain print (in: the indent). */
typedef void conf_print_fn(FILE *f, const char *in, const struct conf_key *k,
                           const void *base);

struct conf_key {
    const char *name;
    enum conf_type type;
    enum conf_scope scope;
    size_t off;                 /* of the field in struct conf/pool_conf */
    size_t count_off;           /* lists: of their count */
    long long def;              /* the default of numbers, durations (ms),
                                   sizes (bytes), bools, enums, signals and
                                   modes */
    const char *def_str;        /* the default of strings; NULL: unset */
    long lo, hi;                /* numbers; durations: lo is 1 where 0 is
                                   an error */
    const char *bound;          /* the key whose value bounds this one:
                                   conf_check() compares them, and a value
                                   no bound allows names it */
    const char *const *names;   /* enums: by value, NULL-terminated */
    unsigned modes;             /* CONF_MODE_BITs it applies to; 0: all */
    unsigned pms;               /* CONF_PM_BITs it applies to; 0: all */
    unsigned flags;             /* CONF_KF_* */
    const char *option;         /* what errors call a value from the CLI */
    conf_check_fn *check;       /* strings: a check of one value */
    conf_fix_fn *fix;           /* after the plain copy */
    conf_print_fn *print;       /* instead of the plain print */
};

/* The rows, top-level keys first, each scope in the order conf_print()
 * writes them. */
extern const struct conf_key conf_keys[];
extern const size_t conf_keys_count;

/* The row of key name, or NULL. */
const struct conf_key *conf_keys_find(const char *name);
/* Whether k's type is a string (or a list of strings) in C. */
bool conf_keys_is_str(const struct conf_key *k);
/* The field of k in base (a struct conf or struct pool_conf). */
void *conf_keys_field(const struct conf_key *k, void *base);
const void *conf_keys_cfield(const struct conf_key *k, const void *base);
/* A number, duration, size, bool, enum, signal or mode of base. */
long long conf_keys_get(const struct conf_key *k, const void *base);
void conf_keys_set(const struct conf_key *k, void *base, long long v);
/* Whether the value of k in base is its default (lists: empty). */
bool conf_keys_is_default(const struct conf_key *k, const void *base);
/* Whether k applies to pool p: its mode and its pm. */
bool conf_keys_applies(const struct conf_key *k, const struct pool_conf *p);
/* Where the value of key came from in s: a line, CONF_FROM_DEFAULT (a
 * list emptied with `key = {}` included) or CONF_FROM_CLI. */
int conf_keys_line(const struct conf_src *s, const char *key);
void conf_keys_set_line(struct conf_src *s, const char *key, int line);

#endif
