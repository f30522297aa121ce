/* Single values without libconfuse: numbers, durations, sizes, modes, the
 * enum-valued keys, users and groups, and the checks of one string value
 * (env entries, clients, HTTP paths, module and pool names). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_int.h"

#define CONF_DAY_MS 86400000UL         /* the longest duration accepted */
#define CONF_SIZE_MAX (1ULL << 40)     /* 1024g: sizes beyond are typos */

/* Keys of the enum-valued options; the index of a name is its enum value
 * (enum pool_mode, enum pm_kind, enum log_level). */
struct conf_enum {
    const char *key;
    const char *names[5];
};

static const struct conf_enum conf_enums[] = {
    { "mode", { "exec", "cgi", "module", NULL } },
    { "pm", { "static", "dynamic", "ondemand", "adaptive", NULL } },
    { "log_level", { "error", "warn", "info", "debug", NULL } },
};

/* module = "builtin:NAME": the handlers in worker/builtin.c. */
static const char *const conf_builtins[] = {
    "builtin:hello", "builtin:echo",
};

int
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

/* Fixed point rather than strtod, which depends on the locale. */
int
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

int
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

int
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

static const struct conf_enum *
conf_value_enum_of(const char *key)
{
    for (size_t i = 0; i < CONF_NELEM(conf_enums); i++)
        if (strcmp(conf_enums[i].key, key) == 0)
            return &conf_enums[i];
    return NULL;
}

int
conf_value_enum_parse(const char *key, const char *name)
{
    const struct conf_enum *e = conf_value_enum_of(key);

    for (int i = 0; e != NULL && e->names[i] != NULL; i++)
        if (strcmp(e->names[i], name) == 0)
            return i;
    return -1;
}

const char *
conf_value_enum_name(const char *key, int value)
{
    const struct conf_enum *e = conf_value_enum_of(key);

    for (int i = 0; e != NULL && e->names[i] != NULL; i++)
        if (i == value)
            return e->names[i];
    return "?";
}

const char *
conf_value_enum_list(const char *key, char *buf, size_t len)
{
    const struct conf_enum *e = conf_value_enum_of(key);
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; e != NULL && e->names[i] != NULL && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i > 0 ? ", " : "", e->names[i]);
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
