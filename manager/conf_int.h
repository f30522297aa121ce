/* What the conf*.c files share and nothing else uses: each file's
 * functions that the others call. Only conf.c includes confuse.h. */
#ifndef FCGIPM_CONF_INT_H
#define FCGIPM_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

#define CONF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CONF_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define CONF_KEY_MAX 64                /* key names the scanner remembers */
#define CONF_MSG_MAX 512

/* conf_value.c: single values, parsed, checked and written back. */

/* A decimal integer; 0, or -1 with errno = EINVAL or ERANGE. */
int conf_value_parse_long(const char *s, long *out);
/*
 * "30s", "500ms", "2m", "1.5s", "1h", or a bare number of seconds, into
 * milliseconds (rounded). 0, or -1 with errno = EINVAL (not a duration)
 * or ERANGE (longer than a day).
 */
int conf_value_parse_duration_ms(const char *s, unsigned *out);
/* ms in the largest unit that writes it exactly: "2m", "30s", "100ms";
 * returns buf. */
const char *conf_value_format_duration(unsigned ms, char *buf, size_t len);
/*
 * "512k", "10m", "1g" (KiB, MiB, GiB) or a bare number of bytes, at most
 * 1024g. Whole numbers only: "1.5m" is "1536k". 0, or -1 with errno =
 * EINVAL (not a size) or ERANGE (more than 1024g).
 */
int conf_value_parse_size(const char *s, unsigned long long *out);
/* bytes in the largest unit that writes it exactly: "10m", "512k", "123";
 * returns buf. */
const char *conf_value_format_size(unsigned long long bytes, char *buf,
                                   size_t len);
/* "0660" or "660": a mode no wider than 0777; 0, or -1 with EINVAL. */
int conf_value_parse_mode(const char *s, mode_t *out);
/* The enum-valued keys mode, pm and log_level: the index of name among
 * key's values, or -1; the name of a value, "?" if none; and "exec, cgi,
 * module", what an error message offers instead, in buf. */
int conf_value_enum_parse(const char *key, const char *name);
const char *conf_value_enum_name(const char *key, int value);
const char *conf_value_enum_list(const char *key, char *buf, size_t len);
/* A user by name or number: 0 with its uid and primary group ((gid_t)-1
 * for a number without a passwd entry), or -1 if there is no such user. */
int conf_value_user_lookup(const char *s, uid_t *uid, gid_t *gid);
/* A group by name or number: 0 with its gid, or -1. */
int conf_value_group_lookup(const char *s, gid_t *gid);
/* Checks of one string value: 0, or -1 with why. env: "NAME=value" with
 * a name a shell would accept. client: an allowed_clients entry, IPv4.
 * http_path: status_path, ping_path. module_name: a built-in, or a path
 * with a slash (whether the file exists is checked later). */
int conf_value_check_env(const char *s, char *why, size_t len);
int conf_value_check_client(const char *s, char *why, size_t len);
int conf_value_check_http_path(const char *s, char *why, size_t len);
int conf_value_check_module_name(const char *s, char *why, size_t len);
/* Whether module is one of the "builtin:NAME" handlers. */
bool conf_value_is_builtin(const char *module);
/* Pool names go into logs and status output as they are. */
bool conf_value_pool_name_is_valid(const char *s);

/* conf_path.c: paths as a worker will see them. */

/* path made absolute the way a worker sees it: relative to dir (itself
 * relative to the current directory) or to the current directory.
 * malloc'd; NULL with errno. */
char *conf_path_abs(const char *path, const char *dir);
/* The absolute path of the program a worker will exec, malloc'd; NULL with
 * why when there is none. dir is the pool's chdir, NULL for none. */
char *conf_path_command(const char *cmd, const char *dir, char *why,
                        size_t len);
/* A file fcgipm appends to: named, not a directory, in a directory that
 * exists. 0, or -1 with why. */
int conf_path_check_log(const char *s, char *why, size_t len);

/* conf_signal.c */

/* Whether sig may ask a worker to stop: the rest would crash or freeze
 * it. */
bool conf_signal_is_stop(int sig);

#endif
