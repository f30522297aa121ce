/* conf_print(): the effective configuration (fcgipm -t) in the file's
 * syntax, so that conf_load() reads back what it printed: each key by its
 * row, in the rows' order. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"

static void
conf_print_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* '$' too: "${NAME}" in a double-quoted string is the
         * environment's NAME. */
        if (*p == '"' || *p == '\\' || *p == '$')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void
conf_print_key_str(FILE *f, const char *in, const char *key, const char *v)
{
    if (v == NULL)
        return;
    fprintf(f, "%s%s = ", in, key);
    conf_print_str(f, v);
    fputc('\n', f);
}

static void
conf_print_list(FILE *f, const char *in, const char *key, char *const *v,
                size_t n)
{
    fprintf(f, "%s%s = {", in, key);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputs(", ", f);
        conf_print_str(f, v[i]);
    }
    fputs("}\n", f);
}

void
conf_print_listen(FILE *f, const char *in, const struct conf_key *k,
                  const void *base)
{
    const struct pool_conf *p = base;

    conf_print_list(f, in, k->name, p->listen, p->nlisten);
}

void
conf_print_priority(FILE *f, const char *in, const struct conf_key *k,
                    const void *base)
{
    const struct pool_conf *p = base;

    if (p->has_priority)
        fprintf(f, "%s%s = %d\n", in, k->name, p->priority);
}

void
conf_print_module_args(FILE *f, const char *in, const struct conf_key *k,
                       const void *base)
{
    const struct pool_conf *p = base;

    if (p->nmodule_args > 1)
        conf_print_list(f, in, k->name, p->module_args + 1,
                        p->nmodule_args - 1);
}

/* A number, duration, size, bool, enum, signal or mode as the file writes
 * it; returns buf. */
static const char *
conf_print_value(const struct conf_key *k, long long v, char *buf,
                 size_t len)
{
    switch (k->type) {
    case CONF_T_DURATION:
        return conf_value_format_duration((unsigned)v, buf, len);
    case CONF_T_CORE:
        if (v == -2)
            return CONF_CORE_UNLIMITED;
        /* FALLTHROUGH */
    case CONF_T_SIZE:
        return conf_value_format_size((unsigned long long)v, buf, len);
    case CONF_T_BOOL:
        return v ? "true" : "false";
    case CONF_T_ENUM:
        return conf_value_enum_name(k->name, (int)v);
    case CONF_T_SIGNAL:
        return conf_signal_name((int)v);
    case CONF_T_MODE:
        snprintf(buf, len, "%04o", (unsigned)v);
        return buf;
    default:
        snprintf(buf, len, "%lld", v);
        return buf;
    }
}

/* Key k of base: strings when set, lists when not empty. */
static void
conf_print_key(FILE *f, const char *in, const struct conf_key *k,
               const void *base)
{
    const void *v = conf_keys_cfield(k, base);
    char buf[32];

    if (k->print != NULL) {
        k->print(f, in, k, base);
        return;
    }
    if ((k->flags & CONF_KF_OPTIONAL) && conf_keys_is_default(k, base))
        return;
    if (k->type == CONF_T_LIST) {
        if (!conf_keys_is_default(k, base))
            conf_print_list(f, in, k->name, *(char **const *)v,
                            *(const size_t *)((const char *)base
                                              + k->count_off));
    } else if (conf_keys_is_str(k)) {
        conf_print_key_str(f, in, k->name, *(char *const *)v);
    } else {
        fprintf(f, "%s%s = %s\n", in, k->name,
                conf_print_value(k, conf_keys_get(k, base), buf,
                                 sizeof(buf)));
    }
}

/* The keys of pool p that apply to it: conf_check() made sure that the
 * others are unset or keep their defaults. */
static void
conf_print_pool(FILE *f, const struct pool_conf *p, const char *in)
{
    for (size_t i = 0; i < conf_keys_count; i++)
        if (conf_keys[i].scope == CONF_SCOPE_POOL
            && conf_keys_applies(&conf_keys[i], p))
            conf_print_key(f, in, &conf_keys[i], p);
}

void
conf_print(const struct conf *c, FILE *f)
{
    /* A lone default pool reads best at the top level; with others, every
     * pool gets a section, "default" included, which means the same. */
    bool top = c->npools == 1 && strcmp(c->pools[0].name, "default") == 0;

    fputs("# fcgipm: the effective configuration\n", f);
    for (size_t i = 0; i < conf_keys_count; i++)
        if (conf_keys[i].scope == CONF_SCOPE_TOP)
            conf_print_key(f, "", &conf_keys[i], c);
    for (size_t i = 0; i < c->npools; i++) {
        fputc('\n', f);
        if (top) {
            conf_print_pool(f, &c->pools[i], "");
            continue;
        }
        fputs("pool ", f);
        conf_print_str(f, c->pools[i].name);
        fputs(" {\n", f);
        conf_print_pool(f, &c->pools[i], "    ");
        fputs("}\n", f);
    }
}
