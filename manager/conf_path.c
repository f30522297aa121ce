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
#include "nofollow.h"

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

/* path as the master sees it: under root when there is one (path is then
 * absolute inside it), else made absolute against dir. Trailing slashes
 * go, so that the last component names the file. malloc'd; NULL with
 * errno. */
static char *
conf_path_master(const char *path, const char *root, const char *dir)
{
    char *abs = root != NULL ? conf_path_join(root, path + strspn(path, "/"))
                             : conf_path_abs(path, dir);
    size_t n = abs != NULL ? strlen(abs) : 0;

    while (n > 1 && abs[n - 1] == '/')
        abs[--n] = '\0';
    return abs;
}

/* The file reload_on_change = true stands for: the program an exec worker
 * runs, or the module a worker loads itself, as the master sees it. NULL
 * with why when there is none; with why "" when out of memory. */
static char *
conf_path_program(const struct pool_conf *p, char *why, size_t len)
{
    why[0] = '\0';
    if (p->mode == MODE_EXEC && p->command_path != NULL)
        return conf_path_master(p->command_path, p->chroot, NULL);
    if (p->mode == MODE_MODULE && !conf_value_is_builtin(p->module)
        && !p->preload)
        return conf_path_master(p->module, p->chroot, p->chdir);
    if (p->mode == MODE_CGI)
        snprintf(why, len, "mode cgi has no program (each request runs "
                 "its script anew)");
    else if (p->mode == MODE_MODULE && p->preload)
        snprintf(why, len, "a preloaded module is loaded again only by an "
                 "upgrade (USR2)");
    else
        snprintf(why, len, "'%s' is built in", p->module);
    return NULL;
}

/* Whether the master can watch path: a directory, or a name in one,
 * reached following no symlink (the master watches none: a pool user
 * could point one anywhere). The last component may be anything: a
 * symlink there is watched as a name. 0, or -1 with why. */
static int
conf_path_check_watch(const char *path, char *why, size_t len)
{
    const char *slash = strrchr(path, '/');
    char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    int fd = -1;

    if (dir == NULL)
        snprintf(why, len, "out of memory");
    else if ((fd = nofollow_open_dir(dir)) != -1)
        close(fd);
    else if (errno == ELOOP)
        snprintf(why, len, "'%s': %s has a symlink on its way, which the "
                 "master does not follow", path, dir);
    else if (errno == ENOTDIR)
        snprintf(why, len, "'%s': %s is not a directory", path, dir);
    else
        snprintf(why, len, "'%s': %s: %s", path, dir, strerror(errno));
    free(dir);
    return fd == -1 ? -1 : 0;
}

/* Listed path i of reload_on_change, appended to v (n so far) unless
 * there already. 0, or -1 having said why. */
static int
conf_path_watch_one(struct conf_ctx *x, const struct pool_conf *p,
                    const struct conf_src *s, size_t i, char **v, size_t *n)
{
    const char *key = "reload_on_change", *path = p->reload_on_change[i];
    int line = conf_line_at(x, s, key, (unsigned)i);
    char why[CONF_MSG_MAX];
    char *w;

    if (p->chroot != NULL && path[0] != '/') {
        conf_fail_at(x, p->name, line, key, "'%s' is not an absolute path "
                     "(with chroot, it names a file inside %s)", path,
                     p->chroot);
        return -1;
    }
    if ((w = conf_path_master(path, p->chroot, p->chdir)) == NULL) {
        conf_fail_at(x, p->name, line, key, "'%s': %s", path,
                     strerror(errno));
        return -1;
    }
    for (size_t j = 0; j < *n; j++)
        if (strcmp(v[j], w) == 0) {
            free(w);
            return 0;
        }
    v[(*n)++] = w;
    if (conf_path_check_watch(w, why, sizeof(why)) == -1) {
        conf_fail_at(x, p->name, line, key, "%s", why);
        return -1;
    }
    return 0;
}

int
conf_path_watch(struct conf_ctx *x, struct pool_conf *p,
                const struct conf_src *s)
{
    const char *key = "reload_on_change";
    int line = conf_keys_line(s, key);
    size_t n = p->nreload_on_change, nv = 0;
    bool alone = n == 1 && strcmp(p->reload_on_change[0], "true") == 0;
    char why[CONF_MSG_MAX];
    char **v;
    char *prog;

    if (n == 0)
        return 0;
    if ((v = calloc(n + 2, sizeof(*v))) == NULL) {
        conf_oom(x);
        return -1;
    }
    prog = conf_path_program(p, why, sizeof(why));
    if (prog == NULL && why[0] == '\0') {
        conf_oom(x);
        goto fail;
    }
    if (prog == NULL && alone) {
        conf_fail_at(x, p->name, line, key, "nothing to watch: %s; list "
                     "the files whose change should replace the workers",
                     why);
        goto fail;
    }
    if (prog != NULL) {
        v[nv++] = prog;
        if (conf_path_check_watch(prog, why, sizeof(why)) == -1) {
            conf_fail_at(x, p->name, line, key, "%s", why);
            goto fail;
        }
    }
    for (size_t i = 0; !alone && i < n; i++)
        if (conf_path_watch_one(x, p, s, i, v, &nv) == -1)
            goto fail;
    p->watch = v;
    p->nwatch = nv;
    return 0;
fail:
    conf_strv_free(v);
    return -1;
}
