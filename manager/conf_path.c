/* Paths as a worker will see them: made absolute against its chdir and
 * fcgipm's directory, the program it execs looked up as execvp does, the
 * directory of a log file it appends to, and a chroot that exists. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_int.h"

/* "dir/name", malloc'd; NULL when out of memory. */
static char *
conf_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    const char *sep = n > 0 && dir[n - 1] != '/' ? "/" : "";
    size_t len = n + strlen(sep) + strlen(name) + 1;
    char *p = malloc(len);

    if (p != NULL)
        snprintf(p, len, "%s%s%s", dir, sep, name);
    return p;
}

char *
conf_path_abs(const char *path, const char *dir)
{
    char cwd[PATH_MAX];

    if (path[0] == '/')
        return strdup(path);
    if (dir != NULL && dir[0] == '/')
        return conf_path_join(dir, path);
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return NULL;
    if (dir == NULL)
        return conf_path_join(cwd, path);
    char *base = conf_path_join(cwd, dir);
    if (base == NULL)
        return NULL;
    char *p = conf_path_join(base, path);
    free(base);
    return p;
}

/* 0 if path is a file a worker can exec; -1 with why. */
static int
conf_path_check_exec(const char *path, const char *shown, char *why,
                     size_t len)
{
    struct stat st;

    if (stat(path, &st) == -1)
        snprintf(why, len, "'%s': %s", shown, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(why, len, "'%s' is not a regular file", shown);
    else if (access(path, X_OK) == -1)
        snprintf(why, len, "'%s' is not executable", shown);
    else
        return 0;
    return -1;
}

/* cmd searched in PATH as execvp does (the master's PATH is the one the
 * worker's execvp sees: it runs before the environment is replaced). */
static char *
conf_path_search(const char *cmd, const char *dir, char *why, size_t len)
{
    const char *path = getenv("PATH");
    char tmp[CONF_MSG_MAX];

    if (path == NULL || *path == '\0')
        path = "/bin:/usr/bin";     /* glibc's default for execvp */
    for (const char *p = path; ; p++) {
        size_t n = strcspn(p, ":");
        char *d = n > 0 ? strndup(p, n) : strdup(".");
        char *cand = d != NULL ? conf_path_join(d, cmd) : NULL;
        char *abs = cand != NULL ? conf_path_abs(cand, dir) : NULL;
        free(d);
        free(cand);
        if (abs == NULL) {
            snprintf(why, len, "out of memory");
            return NULL;
        }
        if (conf_path_check_exec(abs, abs, tmp, sizeof(tmp)) == 0)
            return abs;
        free(abs);
        p += n;
        if (*p == '\0')
            break;
    }
    snprintf(why, len, "'%s' not found in PATH", cmd);
    return NULL;
}

char *
conf_path_command(const char *cmd, const char *dir, char *why, size_t len)
{
    if (*cmd == '\0') {
        snprintf(why, len, "the program name is empty");
        return NULL;
    }
    if (strchr(cmd, '/') == NULL)
        return conf_path_search(cmd, dir, why, len);
    char *abs = conf_path_abs(cmd, dir);
    if (abs == NULL) {
        snprintf(why, len, "'%s': %s", cmd, strerror(errno));
        return NULL;
    }
    if (conf_path_check_exec(abs, cmd, why, len) == -1) {
        free(abs);
        return NULL;
    }
    return abs;
}

int
conf_path_check_log(const char *s, char *why, size_t len)
{
    const char *slash = strrchr(s, '/');
    struct stat st;
    char *dir;

    if (*s == '\0') {
        snprintf(why, len, "empty");
        return -1;
    }
    if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(why, len, "'%s' is a directory", s);
        return -1;
    }
    if (slash == NULL)
        dir = strdup(".");
    else
        dir = strndup(s, slash == s ? 1 : (size_t)(slash - s));
    if (dir == NULL) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    int rc = -1;
    if (stat(dir, &st) == -1)
        snprintf(why, len, "'%s': %s: %s", s, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        snprintf(why, len, "'%s': %s is not a directory", s, dir);
    else
        rc = 0;
    free(dir);
    return rc;
}

int
conf_path_check_dir(const char *s, char *why, size_t len)
{
    struct stat st;

    if (stat(s, &st) == -1)
        snprintf(why, len, "'%s': %s", s, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        snprintf(why, len, "'%s' is not a directory", s);
    else
        return 0;
    return -1;
}
