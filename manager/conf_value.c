/* Single values without libconfuse: numbers, durations, sizes, modes, the
 * enum-valued keys, users and groups, each key's value parsed and checked
 * by its type, and the checks of one string value (addresses, env
 * entries, clients, HTTP paths, module and pool names). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_int.h"
#include "fcgi_addr.h"

#define CONF_DAY_MS 86400000UL         /* the longest duration accepted */
#define CONF_SIZE_MAX (1ULL << 40)     /* 1024g: sizes beyond are typos */

/* module = "builtin:NAME": the handlers in worker/builtin.c. */
static const char *const conf_builtins[] = {
    "builtin:hello", "builtin:echo",
};

/* A decimal integer; 0, or -1 with errno = EINVAL or ERANGE. */
static int
conf_value_parse_long(const char *s, long *out)
{
    char *end;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno == ERANGE)
        return -1;
    if (end == s || *end != '\0') {
        errno = EINVAL;
        return -1;
    }
    *out = v;
    return 0;
}

/* Milliseconds in one unit of s ("ms", "s", "m", "h", "" for seconds);
 * 0 if s is no unit. */
static uint64_t
conf_value_duration_unit(const char *s)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = { { "", 1000 }, { "ms", 1 }, { "s", 1000 },
                  { "m", 60000 }, { "h", 3600000 } };

    for (size_t i = 0; i < CONF_NELEM(units); i++)
        if (strcmp(s, units[i].name) == 0)
            return units[i].ms;
    return 0;
}

/*
 * "30s", "500ms", "2m", "1.5s", "1h", or a bare number of seconds, into
 * milliseconds (rounded). 0, or -1 with errno = EINVAL (not a duration)
 * or ERANGE (longer than a day). Fixed point rather than strtod, which
 * depends on the locale.
 */
static int
conf_value_parse_duration_ms(const char *s, unsigned *out)
{
    uint64_t whole = 0, frac = 0, scale = 1;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        goto invalid;
    for (; isdigit((unsigned char)*p); p++) {
        whole = whole * 10 + (uint64_t)(*p - '0');
        if (whole > CONF_DAY_MS)
            goto range;
    }
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            goto invalid;
        /* Digits past microseconds cannot change the rounded result. */
        for (; isdigit((unsigned char)*p); p++)
            if (scale < 1000000) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
    }
    uint64_t unit = conf_value_duration_unit(p);
    if (unit == 0)
        goto invalid;
    uint64_t ms = whole * unit + (frac * unit + scale / 2) / scale;
    if (ms > CONF_DAY_MS)
        goto range;
    *out = (unsigned)ms;
    return 0;
invalid:
    errno = EINVAL;
    return -1;
range:
    errno = ERANGE;
    return -1;
}

const char *
conf_value_format_duration(unsigned ms, char *buf, size_t len)
{
    static const struct {
        unsigned ms;
        const char *unit;
    } units[] = { { 3600000, "h" }, { 60000, "m" }, { 1000, "s" } };

    if (ms == 0) {
        snprintf(buf, len, "0s");
        return buf;
    }
    for (size_t i = 0; i < CONF_NELEM(units); i++)
        if (ms % units[i].ms == 0) {
            snprintf(buf, len, "%u%s", ms / units[i].ms, units[i].unit);
            return buf;
        }
    snprintf(buf, len, "%ums", ms);
    return buf;
}

/* The shift of a size unit ("" bytes, "k", "m", "g", any case); -1 if s
 * is no unit. */
static int
conf_value_size_shift(const char *s)
{
    static const struct {
        const char *name;
        int shift;
    } units[] = { { "", 0 }, { "k", 10 }, { "m", 20 }, { "g", 30 } };

    for (size_t i = 0; i < CONF_NELEM(units); i++)
        if (strcasecmp(s, units[i].name) == 0)
            return units[i].shift;
    return -1;
}

/*
 * "512k", "10m", "1g" (KiB, MiB, GiB) or a bare number of bytes, at most
 * 1024g. Whole numbers only: "1.5m" is "1536k". 0, or -1 with errno =
 * EINVAL (not a size) or ERANGE (more than 1024g).
 */
static int
conf_value_parse_size(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;
    const char *p = s;
    int shift;

    if (!isdigit((unsigned char)*p))
        goto invalid;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (unsigned long long)(*p - '0');
        if (v > CONF_SIZE_MAX)
            goto range;
    }
    if ((shift = conf_value_size_shift(p)) == -1)
        goto invalid;
    if (v > CONF_SIZE_MAX >> shift)
        goto range;
    *out = v << shift;
    return 0;
invalid:
    errno = EINVAL;
    return -1;
range:
    errno = ERANGE;
    return -1;
}

const char *
conf_value_format_size(unsigned long long bytes, char *buf, size_t len)
{
    static const struct {
        int shift;
        char unit;
    } units[] = { { 30, 'g' }, { 20, 'm' }, { 10, 'k' } };

    for (size_t i = 0; bytes > 0 && i < CONF_NELEM(units); i++)
        if (bytes % (1ULL << units[i].shift) == 0) {
            snprintf(buf, len, "%llu%c", bytes >> units[i].shift,
                     units[i].unit);
            return buf;
        }
    snprintf(buf, len, "%llu", bytes);
    return buf;
}

/* "0660" or "660": a mode no wider than 0777; 0, or -1 with EINVAL. */
static int
conf_value_parse_mode(const char *s, mode_t *out)
{
    unsigned long v = 0;

    if (*s == '\0')
        goto invalid;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '7')
            goto invalid;
        v = v * 8 + (unsigned long)(*p - '0');
        if (v > 0777)
            goto invalid;
    }
    *out = (mode_t)v;
    return 0;
invalid:
    errno = EINVAL;
    return -1;
}

/* The index of name among the values of enum key k, or -1. */
static int
conf_value_enum_parse(const struct conf_key *k, const char *name)
{
    for (int i = 0; k->names[i] != NULL; i++)
        if (strcmp(k->names[i], name) == 0)
            return i;
    return -1;
}

const char *
conf_value_enum_name(const char *key, int value)
{
    const struct conf_key *k = conf_keys_find(key);

    for (int i = 0; k != NULL && k->names[i] != NULL; i++)
        if (i == value)
            return k->names[i];
    return "?";
}

const char *
conf_value_enum_list(const char *key, unsigned mask, char *buf, size_t len)
{
    const struct conf_key *k = conf_keys_find(key);
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; k != NULL && k->names[i] != NULL && used < len; i++)
        if (mask & (1u << i))
            used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                     used > 0 ? ", " : "", k->names[i]);
    return buf;
}

int
conf_value_user_lookup(const char *s, uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam(s);
    long n;

    if (pw == NULL && conf_value_parse_long(s, &n) == 0) {
        if (n < 0 || n >= (long)(uid_t)-1)
            return -1;
        pw = getpwuid((uid_t)n);
        *uid = (uid_t)n;
        *gid = pw != NULL ? pw->pw_gid : (gid_t)-1;
        return 0;
    }
    if (pw == NULL)
        return -1;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

int
conf_value_group_lookup(const char *s, gid_t *gid)
{
    struct group *gr = getgrnam(s);
    long n;

    if (gr == NULL && conf_value_parse_long(s, &n) == 0) {
        if (n < 0 || n >= (long)(gid_t)-1)
            return -1;
        *gid = (gid_t)n;
        return 0;
    }
    if (gr == NULL)
        return -1;
    *gid = gr->gr_gid;
    return 0;
}

int
conf_value_check_env(const char *s, char *why, size_t len)
{
    const char *eq = strchr(s, '=');

    if (eq == NULL) {
        snprintf(why, len, "'%s' has no '=' (write \"%s=value\")", s, s);
        return -1;
    }
    bool ok = eq > s && !isdigit((unsigned char)s[0]);
    for (const char *p = s; ok && p < eq; p++)
        ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok) {
        snprintf(why, len, "'%.*s' is not a valid variable name",
                 (int)(eq - s), s);
        return -1;
    }
    return 0;
}

/* libfcgi compares allowed_clients with IPv4 peers only
 * (FCGI_WEB_SERVER_ADDRS). */
int
conf_value_check_client(const char *s, char *why, size_t len)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) == 1)
        return 0;
    snprintf(why, len, "'%s' is not an IPv4 address (libfcgi checks IPv4 "
             "peers only)", s);
    return -1;
}

int
conf_value_check_http_path(const char *s, char *why, size_t len)
{
    if (s[0] != '/')
        snprintf(why, len, "'%s' does not start with '/'", s);
    else if (strchr(s, '?') != NULL)
        snprintf(why, len, "'%s' has a '?' (a request's path never does: "
                 "the query string follows it)", s);
    else
        return 0;
    return -1;
}

bool
conf_value_is_builtin(const char *module)
{
    for (size_t i = 0; i < CONF_NELEM(conf_builtins); i++)
        if (strcmp(module, conf_builtins[i]) == 0)
            return true;
    return false;
}

/* "builtin:hello, builtin:echo". */
static const char *
conf_value_builtin_list(char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < CONF_NELEM(conf_builtins) && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i > 0 ? ", " : "", conf_builtins[i]);
    return buf;
}

/* A bare name would make dlopen(3) search the library path, not the
 * directory the user meant. */
int
conf_value_check_module_name(const char *s, char *why, size_t len)
{
    char names[CONF_MSG_MAX];

    if (*s == '\0')
        snprintf(why, len, "empty");
    else if (strncmp(s, "builtin:", 8) == 0 && !conf_value_is_builtin(s))
        snprintf(why, len, "unknown built-in '%s' (known: %s)", s,
                 conf_value_builtin_list(names, sizeof(names)));
    else if (strncmp(s, "builtin:", 8) != 0 && strchr(s, '/') == NULL)
        snprintf(why, len, "'%s' is neither a built-in (%s) nor a path "
                 "with a '/' (write ./%s)", s,
                 conf_value_builtin_list(names, sizeof(names)), s);
    else
        return 0;
    return -1;
}

bool
conf_value_pool_name_is_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONF_KEY_MAX)
        return false;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("_-.", *s) == NULL)
            return false;
    return true;
}

int
conf_value_check_nonempty(const char *s, char *why, size_t len)
{
    if (*s != '\0')
        return 0;
    snprintf(why, len, "empty");
    return -1;
}

int
conf_value_check_listen(const char *s, char *why, size_t len)
{
    char msg[CONF_MSG_MAX];
    struct fcgi_addr a;

    if (fcgi_addr_parse(s, &a, msg, sizeof(msg)) == 0)
        return 0;
    snprintf(why, len, "'%s': %s", s, msg);
    return -1;
}

/* user, group: they exist. */
static int
conf_value_check_user(const char *s, char *why, size_t len)
{
    uid_t uid;
    gid_t gid;

    if (conf_value_user_lookup(s, &uid, &gid) == 0)
        return 0;
    snprintf(why, len, "unknown user '%s'", s);
    return -1;
}

static int
conf_value_check_group(const char *s, char *why, size_t len)
{
    gid_t gid;

    if (conf_value_group_lookup(s, &gid) == 0)
        return 0;
    snprintf(why, len, "unknown group '%s'", s);
    return -1;
}

int
conf_value_check_number(const struct conf_key *k, long v, long hi,
                        char *why, size_t len)
{
    if (v >= k->lo && v <= hi)
        return 0;
    snprintf(why, len, "%ld is not in %ld..%ld", v, k->lo, hi);
    return -1;
}

static int
conf_value_parse_number(const struct conf_key *k, const char *s, long bound,
                        long long *n, char *why, size_t len)
{
    long v = 0, hi = k->hi;
    int rc = conf_value_parse_long(s, &v);

    /* workers is checked against the final max_workers after parsing; the
     * one known so far makes the better message for a hopeless value. */
    if (k->bound != NULL && (rc == -1 || v < k->lo))
        hi = bound;
    if (rc == -1) {
        snprintf(why, len, "'%s' is not a number in %ld..%ld", s, k->lo, hi);
        return -1;
    }
    if (conf_value_check_number(k, v, hi, why, len) == -1)
        return -1;
    *n = v;
    return 0;
}

static int
conf_value_parse_key_duration(const struct conf_key *k, const char *s,
                              long long *n, char *why, size_t len)
{
    char lo[32];
    unsigned ms;

    if (conf_value_parse_duration_ms(s, &ms) == -1) {
        if (errno == ERANGE)
            snprintf(why, len, "'%s' is longer than 24h", s);
        else
            snprintf(why, len, "'%s' is not a duration (like 30s, 500ms, 2m, "
                     "1.5s)", s);
        return -1;
    }
    if ((long)ms < k->lo) {
        snprintf(why, len, "must be at least %s",
                 conf_value_format_duration((unsigned)k->lo, lo, sizeof(lo)));
        return -1;
    }
    *n = ms;
    return 0;
}

static int
conf_value_parse_key_size(const char *s, long long *n, char *why, size_t len)
{
    unsigned long long bytes;

    if (conf_value_parse_size(s, &bytes) == -1) {
        if (errno == ERANGE)
            snprintf(why, len, "'%s' is more than 1024g", s);
        else
            snprintf(why, len, "'%s' is not a size (like 512k, 10m, 1g, or a "
                     "number of bytes)", s);
        return -1;
    }
    *n = (long long)bytes;
    return 0;
}

/* rlimit_core: "unlimited" (-2) or a size. */
static int
conf_value_parse_key_core(const char *s, long long *n, char *why, size_t len)
{
    unsigned long long bytes;

    if (strcasecmp(s, CONF_CORE_UNLIMITED) == 0) {
        *n = -2;
        return 0;
    }
    if (conf_value_parse_size(s, &bytes) == -1) {
        if (errno == ERANGE)
            snprintf(why, len, "'%s' is more than 1024g (write unlimited)", s);
        else
            snprintf(why, len, "'%s' is neither unlimited nor a size (like "
                     "512k, 10m, 1g, or a number of bytes)", s);
        return -1;
    }
    /* The field is a long: 32 bits on some Linux targets. */
    if (bytes > (unsigned long long)LONG_MAX) {
        snprintf(why, len, "'%s' does not fit a long here (write unlimited)",
                 s);
        return -1;
    }
    *n = (long long)bytes;
    return 0;
}

/* mode, pm, log_level, stop_signal, socket modes. */
static int
conf_value_parse_key_name(const struct conf_key *k, const char *s,
                          long long *n, char *why, size_t len)
{
    char names[CONF_MSG_MAX];
    mode_t m;
    int v;

    if (k->type == CONF_T_MODE) {
        if (conf_value_parse_mode(s, &m) == 0) {
            *n = m;
            return 0;
        }
        snprintf(why, len, "'%s' is not an octal mode in 0000..0777", s);
    } else if (k->type == CONF_T_SIGNAL) {
        if ((v = conf_signal_number(s)) != -1 && conf_signal_is_stop(v)) {
            *n = v;
            return 0;
        }
        snprintf(why, len, "'%s' is not one of HUP, INT, QUIT, TERM, USR1, "
                 "USR2, KILL", s);
    } else {
        if ((v = conf_value_enum_parse(k, s)) != -1) {
            *n = v;
            return 0;
        }
        snprintf(why, len, "'%s' is not one of %s", s,
                 conf_value_enum_list(k->name, ~0u, names, sizeof(names)));
    }
    return -1;
}

int
conf_value_parse_key(const struct conf_key *k, const char *s, long bound,
                     long long *n, char *why, size_t len)
{
    switch (k->type) {
    case CONF_T_INT:
    case CONF_T_UINT:
    case CONF_T_LONG:
        return conf_value_parse_number(k, s, bound, n, why, len);
    case CONF_T_DURATION:
        return conf_value_parse_key_duration(k, s, n, why, len);
    case CONF_T_SIZE:
        return conf_value_parse_key_size(s, n, why, len);
    case CONF_T_CORE:
        return conf_value_parse_key_core(s, n, why, len);
    case CONF_T_ENUM:
    case CONF_T_SIGNAL:
    case CONF_T_MODE:
        return conf_value_parse_key_name(k, s, n, why, len);
    case CONF_T_USER:
        return conf_value_check_user(s, why, len);
    case CONF_T_GROUP:
        return conf_value_check_group(s, why, len);
    case CONF_T_BOOL:
    case CONF_T_STR:
    case CONF_T_LIST:
        break;
    }
    return k->check != NULL ? k->check(s, why, len) : 0;
}
