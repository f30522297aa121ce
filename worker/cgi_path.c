/* Which file a CGI request may run: the script resolves inside cgi_root,
 * is opened beneath it, and is a regular executable file that is not
 * fcgipm itself; what runs is that open file. */
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

/* The fcgipm files cgi_path_note_self recorded. */
static struct stat self_noted[2];
static size_t self_noted_n;

/* stat() of the file at the path the link self_exe reads. Besides the
 * running image, this finds the fcgipm a package upgrade installed at
 * the same path (the link then ends in " (deleted)"), and the binary
 * when a tool (valgrind) runs it: stat() of /proc/self/exe finds the
 * tool, readlink() the program. */
static int
stat_link_target(const char *self_exe, struct stat *st)
{
    static const char deleted[] = " (deleted)";
    const size_t dl = sizeof(deleted) - 1;
    char path[PATH_MAX];

    ssize_t n = readlink(self_exe, path, sizeof(path) - 1);
    if (n <= 0)
        return -1;
    path[n] = '\0';
    if ((size_t)n > dl && strcmp(path + n - dl, deleted) == 0)
        path[n - dl] = '\0';
    return stat(path, st);
}

size_t
cgi_path_note_self(const char *self_exe)
{
    self_noted_n = 0;
    if (self_exe == NULL)
        return 0;
    if (stat(self_exe, &self_noted[self_noted_n]) == 0)
        self_noted_n++;
    if (stat_link_target(self_exe, &self_noted[self_noted_n]) == 0)
        self_noted_n++;
    return self_noted_n;
}

/* Whether st is fcgipm: the files self_exe leads to now, or those
 * recorded. -1 when neither can tell (fail closed: without the check a
 * request could run the manager with an environment of its choosing). */
static int
is_fcgipm(const struct stat *st, const char *self_exe)
{
    struct stat self;
    bool known = self_noted_n > 0;

    for (size_t i = 0; i < self_noted_n; i++)
        if (same_file(st, &self_noted[i]))
            return 1;
    if (stat(self_exe, &self) == 0) {
        known = true;
        if (same_file(st, &self))
            return 1;
    }
    if (stat_link_target(self_exe, &self) == 0 && same_file(st, &self))
        return 1;
    return known ? 0 : -1;
}

/* X_OK for this process's effective ids from the mode bits, where
 * faccessat cannot take a descriptor: root needs one x bit. */
static bool
mode_allows_exec(const struct stat *st)
{
    uid_t euid = geteuid();

    if (euid == 0)
        return (st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
    if (st->st_uid == euid)
        return (st->st_mode & S_IXUSR) != 0;
    if (group_member(st->st_gid))
        return (st->st_mode & S_IXGRP) != 0;
    return (st->st_mode & S_IXOTH) != 0;
}

/* The opened file itself: regular, executable, not fcgipm. */
static enum cgi_path_result
cgi_path_check_file(struct cgi_path *p, const char *self_exe)
{
    struct stat st;

    if (fstat(p->fd, &st) == -1) {
        p->why = "cannot stat it";
        return CGI_PATH_FORBIDDEN;
    }
    if (!S_ISREG(st.st_mode)) {
        p->why = S_ISDIR(st.st_mode) ? "is a directory"
                                     : "not a regular file";
        return CGI_PATH_FORBIDDEN;
    }
    /* Also says no for a noexec mount. Kernels before 5.8 have no
     * faccessat2 to take AT_EMPTY_PATH: then the mode bits. */
    if (faccessat(p->fd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH) == -1
        && ((errno != EINVAL && errno != ENOSYS) || !mode_allows_exec(&st))) {
        p->why = "not executable";
        return CGI_PATH_FORBIDDEN;
    }
    switch (is_fcgipm(&st, self_exe)) {
    case 1:
        p->why = "is fcgipm itself";
        return CGI_PATH_FORBIDDEN;
    case -1:
        p->why = "cannot stat /proc/self/exe to tell fcgipm apart";
        return CGI_PATH_FORBIDDEN;
    }
    return CGI_PATH_OK;
}

/* One step of cgi_path_open_beneath: the component name (not "", "." or
 * "..") in at, never a symbolic link; its type in *mode. */
static int
open_step(int at, const char *name, mode_t *mode)
{
    struct stat st;
    int fd = openat(at, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

    if (fd == -1)
        return -1;
    int err = fstat(fd, &st) == -1 ? errno : S_ISLNK(st.st_mode) ? ELOOP : 0;
    if (err != 0) {
        close(fd);
        errno = err;
        return -1;
    }
    *mode = st.st_mode;
    return fd;
}

int
cgi_path_open_beneath(int dir_fd, const char *path, bool dir)
{
    char name[NAME_MAX + 1];
    mode_t mode = S_IFDIR;
    int fd = openat(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

    for (const char *s = path; fd != -1 && *s != '\0';) {
        size_t n = strcspn(s, "/");
        if (n > NAME_MAX || (n == 2 && strncmp(s, "..", 2) == 0)) {
            close(fd);
            errno = n > NAME_MAX ? ENAMETOOLONG : EXDEV;
            return -1;
        }
        memcpy(name, s, n);
        name[n] = '\0';
        s += n + strspn(s + n, "/");
        if (n == 0 || strcmp(name, ".") == 0)
            continue;
        if (!S_ISDIR(mode)) {
            close(fd);
            errno = ENOTDIR;
            return -1;
        }
        int next = open_step(fd, name, &mode);
        close(fd);
        fd = next;
    }
    if (fd != -1 && dir && !S_ISDIR(mode)) {
        close(fd);
        errno = ENOTDIR;
        return -1;
    }
    return fd;
}

/* Why cgi_path_open_beneath failed, from errno. */
static enum cgi_path_result
cgi_path_open_failed(struct cgi_path *p)
{
    switch (errno) {
    case ENOENT:
    case ENOTDIR:
        p->why = "vanished";
        return CGI_PATH_NOT_FOUND;
    case ELOOP:
    case EXDEV:
        p->why = "a symbolic link appeared on its path while it was checked";
        return CGI_PATH_FORBIDDEN;
    case EACCES:
        p->why = "permission denied on the way";
        return CGI_PATH_FORBIDDEN;
    default:
        p->why = "cannot be opened";
        return CGI_PATH_FORBIDDEN;
    }
}

/* Open p->dir and then p->real beneath root_real, which p->real is
 * inside: what was resolved by path is from now on held by descriptor.
 * realpath's result has no symbolic link and no "..": one met on the way
 * was swapped in meanwhile, and could lead out of the root. */
static enum cgi_path_result
cgi_path_open(struct cgi_path *p, const char *root_real)
{
    const char *dir = p->dir + strlen(root_real);
    const char *base = strrchr(p->real, '/') + 1;
    enum cgi_path_result res = CGI_PATH_OK;

    int root_fd = open(root_real, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd == -1) {
        p->why = "cgi_root cannot be opened";
        return CGI_PATH_ERROR;
    }
    p->dir_fd = cgi_path_open_beneath(root_fd, dir, true);
    if (p->dir_fd == -1)
        res = cgi_path_open_failed(p);
    else if ((p->fd = cgi_path_open_beneath(p->dir_fd, base, false)) == -1)
        res = cgi_path_open_failed(p);
    close(root_fd);
    return res;
}

void
cgi_path_close(struct cgi_path *p)
{
    int saved = errno;

    if (p->fd != -1)
        close(p->fd);
    if (p->dir_fd != -1)
        close(p->dir_fd);
    p->fd = p->dir_fd = -1;
    errno = saved;
}

enum cgi_path_result
cgi_path_resolve(struct cgi_path *p, const char *root, const char *filename,
                 const char *name, const char *self_exe)
{
    char root_real[PATH_MAX];

    p->requested[0] = p->real[0] = p->dir[0] = '\0';
    p->fd = p->dir_fd = -1;
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
    if (strcmp(p->real, root_real) == 0) {
        p->why = "is a directory";
        return CGI_PATH_FORBIDDEN;
    }
    strcpy(p->dir, p->real);
    char *slash = strrchr(p->dir, '/');
    slash[slash == p->dir ? 1 : 0] = '\0';
    res = cgi_path_open(p, root_real);
    if (res == CGI_PATH_OK)
        res = cgi_path_check_file(p, self_exe);
    if (res != CGI_PATH_OK)
        cgi_path_close(p);
    return res;
}
