/* Which file a CGI request may run: the script resolves inside cgi_root,
 * is a regular executable file, and is not fcgipm itself. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgi.h"

bool
cgi_path_is_inside(const char *path, const char *root)
{
    size_t n = strlen(root);

    /* "/" has its slash as the boundary; any other root is followed by
     * one, so /srv/cgi-bin2 is not inside /srv/cgi-bin. */
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Whether path, as written, lies below root: no ".." component. Only
 * used to choose between 404 and 403 for a path that does not resolve. */
static bool
cgi_path_is_inside_as_written(const char *path, const char *root)
{
    if (!cgi_path_is_inside(path, root))
        return false;
    for (const char *s = strstr(path, ".."); s != NULL;
         s = strstr(s + 2, ".."))
        if (s[-1] == '/' && (s[2] == '/' || s[2] == '\0'))
            return false;
    return true;
}

const char *
cgi_path_apache_form(const char *filename)
{
    static const char prefix[] = "proxy:fcgi://";

    if (filename == NULL
        || strncasecmp(filename, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    const char *path = strchr(filename + sizeof(prefix) - 1, '/');
    return path != NULL ? path : "";
}

/* The path the request names, into p->requested: SCRIPT_FILENAME (the
 * path of Apache's form, without its query), or root + SCRIPT_NAME.
 * CGI_PATH_OK, or the refusal with p->why. */
static enum cgi_path_result
cgi_path_requested(struct cgi_path *p, const char *root,
                   const char *filename, const char *name)
{
    bool by_name = filename == NULL || filename[0] == '\0';
    int n;

    if (by_name && (name == NULL || name[0] == '\0')) {
        p->why = "no SCRIPT_FILENAME or SCRIPT_NAME";
        return CGI_PATH_NOT_FOUND;
    }
    if (by_name)
        n = snprintf(p->requested, sizeof(p->requested), "%s%s%s", root,
                     name[0] == '/' ? "" : "/", name);
    else if (cgi_path_apache_form(filename) != NULL) {
        const char *path = cgi_path_apache_form(filename);
        n = snprintf(p->requested, sizeof(p->requested), "%.*s",
                     (int)strcspn(path, "?"), path);
    } else
        n = snprintf(p->requested, sizeof(p->requested), "%s", filename);
    if (n < 0 || (size_t)n >= sizeof(p->requested)) {
        p->why = "path too long";     /* requested keeps the start */
        return CGI_PATH_FORBIDDEN;
    }
    /* Relative to what? The worker's cwd is no answer. */
    if (p->requested[0] != '/') {
        p->why = "SCRIPT_FILENAME is not an absolute path";
        return CGI_PATH_FORBIDDEN;
    }
    return CGI_PATH_OK;
}

/* realpath failed with errno: 404 for a missing file the request could
 * name, 403 for anything else. */
static enum cgi_path_result
cgi_path_unresolved(struct cgi_path *p, const char *root,
                    const char *root_real)
{
    if (errno != ENOENT && errno != ENOTDIR) {
        p->why = errno == EACCES ? "permission denied on the way"
                 : errno == ELOOP ? "too many symbolic links"
                 : "cannot be resolved";
        return CGI_PATH_FORBIDDEN;
    }
    if (!cgi_path_is_inside_as_written(p->requested, root_real)
        && !cgi_path_is_inside_as_written(p->requested, root)) {
        p->why = "outside cgi_root";
        return CGI_PATH_FORBIDDEN;
    }
    p->why = "no such file";
    return CGI_PATH_NOT_FOUND;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Is st the file at the path the link self_exe names? Besides the running
 * image, this catches the fcgipm a package upgrade installed at the same
 * path (the link then ends in " (deleted)"), and the binary when a tool
 * (valgrind) runs it: stat() of /proc/self/exe finds the tool, readlink()
 * the program. */
static bool
is_file_at_link(const struct stat *st, const char *self_exe)
{
    static const char deleted[] = " (deleted)";
    const size_t dl = sizeof(deleted) - 1;
    char path[PATH_MAX];
    struct stat at;

    ssize_t n = readlink(self_exe, path, sizeof(path) - 1);
    if (n <= 0)
        return false;
    path[n] = '\0';
    if ((size_t)n > dl && strcmp(path + n - dl, deleted) == 0)
        path[n - dl] = '\0';
    return stat(path, &at) == 0 && same_file(st, &at);
}

/* The resolved file itself: regular, executable, not fcgipm. */
static enum cgi_path_result
cgi_path_check_file(struct cgi_path *p, const char *self_exe)
{
    struct stat st, self;

    if (stat(p->real, &st) == -1) {
        p->why = "vanished";
        return CGI_PATH_NOT_FOUND;
    }
    if (!S_ISREG(st.st_mode)) {
        p->why = S_ISDIR(st.st_mode) ? "is a directory"
                                     : "not a regular file";
        return CGI_PATH_FORBIDDEN;
    }
    if (faccessat(AT_FDCWD, p->real, X_OK, AT_EACCESS) == -1) {
        p->why = "not executable";
        return CGI_PATH_FORBIDDEN;
    }
    /* Fail closed: without the check a request could run the manager
     * with an environment of its choosing. */
    if (stat(self_exe, &self) == -1) {
        p->why = "cannot stat /proc/self/exe to tell fcgipm apart";
        return CGI_PATH_FORBIDDEN;
    }
    if (same_file(&st, &self) || is_file_at_link(&st, self_exe)) {
        p->why = "is fcgipm itself";
        return CGI_PATH_FORBIDDEN;
    }
    return CGI_PATH_OK;
}

enum cgi_path_result
cgi_path_resolve(struct cgi_path *p, const char *root, const char *filename,
                 const char *name, const char *self_exe)
{
    char root_real[PATH_MAX];

    p->requested[0] = p->real[0] = p->dir[0] = '\0';
    p->why = NULL;
    if (root == NULL || realpath(root, root_real) == NULL) {
        p->why = "cgi_root cannot be resolved";
        return CGI_PATH_ERROR;
    }
    enum cgi_path_result res = cgi_path_requested(p, root_real, filename,
                                                  name);
    if (res != CGI_PATH_OK)
        return res;
    if (realpath(p->requested, p->real) == NULL)
        return cgi_path_unresolved(p, root, root_real);
    if (!cgi_path_is_inside(p->real, root_real)) {
        p->why = "outside cgi_root";
        return CGI_PATH_FORBIDDEN;
    }
    res = cgi_path_check_file(p, self_exe);
    if (res != CGI_PATH_OK)
        return res;
    strcpy(p->dir, p->real);
    char *slash = strrchr(p->dir, '/');
    slash[slash == p->dir ? 1 : 0] = '\0';
    return CGI_PATH_OK;
}
