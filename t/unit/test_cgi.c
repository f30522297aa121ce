/* Unit tests for the CGI gateway: the script's path check
 * (worker/cgi_path.c) on a temp dir tree, how it is started and what it
 * leaves is swept (worker/cgi_proc.c), its environment (worker/cgi_env.c)
 * and its header block (worker/cgi_headers.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgi.h"
#include "cgi_proc.h"

/* The tree: DIR/cgi-bin (the root) with ok.sh, noexec.sh, sub/deep.sh, a
 * fifo, link-in.sh -> ok.sh, link-out.sh -> ../secret.sh; DIR/secret.sh;
 * DIR/cgi-bin2/x.sh. */
static char test_dir[] = "/tmp/test_cgi.XXXXXX";
static char root[PATH_MAX];

static const char *
at(const char *rel)
{
    static char buf[4][PATH_MAX];
    static unsigned next;
    char *b = buf[next++ % 4];

    snprintf(b, PATH_MAX, "%s/%s", test_dir, rel);
    return b;
}

static void
make_file(const char *rel, mode_t mode)
{
    int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    assert_true(fd != -1);
    assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
    assert_int_equal(close(fd), 0);
    assert_int_equal(chmod(at(rel), mode), 0);
}

static int
tree_setup(void **state)
{
    (void)state;
    if (mkdtemp(test_dir) == NULL)
        return -1;
    snprintf(root, sizeof(root), "%s/cgi-bin", test_dir);
    if (mkdir(root, 0755) == -1 || mkdir(at("cgi-bin/sub"), 0755) == -1
        || mkdir(at("cgi-bin2"), 0755) == -1
        || mkfifo(at("cgi-bin/fifo"), 0755) == -1
        || symlink("ok.sh", at("cgi-bin/link-in.sh")) == -1
        || symlink("../secret.sh", at("cgi-bin/link-out.sh")) == -1)
        return -1;
    make_file("cgi-bin/ok.sh", 0755);
    make_file("cgi-bin/noexec.sh", 0644);
    make_file("cgi-bin/sub/deep.sh", 0755);
    make_file("cgi-bin2/x.sh", 0755);
    make_file("secret.sh", 0755);
    return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

static int
tree_teardown(void **state)
{
    (void)state;
    return nftw(test_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* What cgi_path_resolve left open: on CGI_PATH_OK, p->fd is the file
 * p->real names and p->dir_fd its directory; else nothing. Closes them. */
static enum cgi_path_result
checked(enum cgi_path_result res, struct cgi_path *p)
{
    struct stat fd_st, path_st;

    if (res != CGI_PATH_OK) {
        assert_int_equal(p->fd, -1);
        assert_int_equal(p->dir_fd, -1);
        return res;
    }
    assert_int_equal(fstat(p->fd, &fd_st), 0);
    assert_int_equal(stat(p->real, &path_st), 0);
    assert_true(fd_st.st_ino == path_st.st_ino);
    assert_int_equal(fstat(p->dir_fd, &fd_st), 0);
    assert_int_equal(stat(p->dir, &path_st), 0);
    assert_true(fd_st.st_ino == path_st.st_ino);
    cgi_path_close(p);
    assert_int_equal(p->fd, -1);
    cgi_path_close(p);
    return res;
}

static enum cgi_path_result
resolve_self(struct cgi_path *p, const char *r, const char *filename,
             const char *name, const char *self_exe)
{
    return checked(cgi_path_resolve(p, r, filename, name, self_exe), p);
}

/* Resolve with a self_exe that is nothing in the tree. */
static enum cgi_path_result
resolve(struct cgi_path *p, const char *filename, const char *name)
{
    return resolve_self(p, root, filename, name, "/proc/self/exe");
}

static void
test_path_inside_root(void **state)
{
    struct cgi_path p;
    (void)state;

    assert_int_equal(resolve(&p, at("cgi-bin/ok.sh"), "/x"), CGI_PATH_OK);
    assert_string_equal(p.real, at("cgi-bin/ok.sh"));
    assert_string_equal(p.dir, root);
    assert_int_equal(resolve(&p, at("cgi-bin/sub/deep.sh"), NULL),
                     CGI_PATH_OK);
    assert_string_equal(p.dir, at("cgi-bin/sub"));
    /* A trailing slash on the root changes nothing. */
    assert_int_equal(resolve_self(&p, at("cgi-bin/"), at("cgi-bin/ok.sh"),
                                      NULL, "/proc/self/exe"), CGI_PATH_OK);
}

static void
test_path_apache_form(void **state)
{
    struct cgi_path p;
    char name[PATH_MAX + 64];
    (void)state;

    snprintf(name, sizeof(name), "proxy:fcgi://localhost%s?a=1",
             at("cgi-bin/ok.sh"));
    assert_int_equal(resolve(&p, name, NULL), CGI_PATH_OK);
    assert_string_equal(p.requested, at("cgi-bin/ok.sh"));
    assert_string_equal(p.real, at("cgi-bin/ok.sh"));
    snprintf(name, sizeof(name), "PROXY:FCGI://h:9000%s", at("cgi-bin/ok.sh"));
    assert_int_equal(resolve(&p, name, NULL), CGI_PATH_OK);
    /* No path after the host, or a path out of the root. */
    assert_int_equal(resolve(&p, "proxy:fcgi://localhost", NULL),
                     CGI_PATH_FORBIDDEN);
    assert_int_equal(resolve(&p, "proxy:fcgi://h/etc/passwd", NULL),
                     CGI_PATH_FORBIDDEN);
    assert_null(cgi_path_apache_form("/srv/x.sh"));
    assert_null(cgi_path_apache_form("proxy:balancer://x/y"));
}

static void
test_path_script_name(void **state)
{
    struct cgi_path p;
    (void)state;

    assert_int_equal(resolve(&p, NULL, "/sub/deep.sh"), CGI_PATH_OK);
    assert_string_equal(p.real, at("cgi-bin/sub/deep.sh"));
    assert_int_equal(resolve(&p, "", "ok.sh"), CGI_PATH_OK);
    assert_string_equal(p.requested, at("cgi-bin/ok.sh"));
    assert_int_equal(resolve(&p, NULL, "/../secret.sh"), CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why, "outside cgi_root");
    assert_int_equal(resolve(&p, NULL, NULL), CGI_PATH_NOT_FOUND);
    assert_int_equal(resolve(&p, "", ""), CGI_PATH_NOT_FOUND);
}

static void
test_path_prefix_trick(void **state)
{
    struct cgi_path p;
    (void)state;

    assert_int_equal(resolve(&p, at("cgi-bin2/x.sh"), NULL),
                     CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why, "outside cgi_root");
    assert_int_equal(resolve(&p, at("cgi-bin/../cgi-bin2/x.sh"), NULL),
                     CGI_PATH_FORBIDDEN);
    /* Not there either: still a 403, a 404 would say what exists. */
    assert_int_equal(resolve(&p, at("cgi-bin2/none.sh"), NULL),
                     CGI_PATH_FORBIDDEN);
}

static void
test_path_dotdot(void **state)
{
    struct cgi_path p;
    (void)state;

    assert_int_equal(resolve(&p, at("cgi-bin/../secret.sh"), NULL),
                     CGI_PATH_FORBIDDEN);
    assert_string_equal(p.requested, at("cgi-bin/../secret.sh"));
    assert_int_equal(resolve(&p, at("cgi-bin/../none.sh"), NULL),
                     CGI_PATH_FORBIDDEN);
    assert_int_equal(resolve(&p, at("cgi-bin/sub/../ok.sh"), NULL),
                     CGI_PATH_OK);
    assert_string_equal(p.real, at("cgi-bin/ok.sh"));
}

static void
test_path_symlinks(void **state)
{
    struct cgi_path p;
    (void)state;

    assert_int_equal(resolve(&p, at("cgi-bin/link-out.sh"), NULL),
                     CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why, "outside cgi_root");
    assert_int_equal(resolve(&p, at("cgi-bin/link-in.sh"), NULL),
                     CGI_PATH_OK);
    assert_string_equal(p.real, at("cgi-bin/ok.sh"));
}

static void
test_path_not_a_script(void **state)
{
    struct cgi_path p;
    (void)state;

    assert_int_equal(resolve(&p, at("cgi-bin/sub"), NULL),
                     CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why, "is a directory");
    assert_int_equal(resolve(&p, root, NULL), CGI_PATH_FORBIDDEN);
    assert_int_equal(resolve(&p, at("cgi-bin/fifo"), NULL),
                     CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why, "not a regular file");
    assert_int_equal(resolve(&p, at("cgi-bin/noexec.sh"), NULL),
                     CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why, "not executable");
}

static void
test_path_missing(void **state)
{
    struct cgi_path p;
    (void)state;

    assert_int_equal(resolve(&p, at("cgi-bin/none.sh"), NULL),
                     CGI_PATH_NOT_FOUND);
    assert_string_equal(p.why, "no such file");
    assert_int_equal(resolve(&p, at("cgi-bin/ok.sh/extra"), NULL),
                     CGI_PATH_NOT_FOUND);
    assert_int_equal(resolve(&p, "cgi-bin/ok.sh", NULL), CGI_PATH_FORBIDDEN);
    assert_int_equal(resolve_self(&p, at("none"), at("cgi-bin/ok.sh"),
                                      NULL, "/proc/self/exe"),
                     CGI_PATH_ERROR);
}

static void
test_path_self(void **state)
{
    struct cgi_path p;
    (void)state;

    cgi_path_note_self(NULL);
    assert_int_equal(resolve_self(&p, root, at("cgi-bin/link-in.sh"),
                                      NULL, at("cgi-bin/ok.sh")),
                     CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why, "is fcgipm itself");
    assert_int_equal(resolve_self(&p, root, at("cgi-bin/ok.sh"), NULL,
                                      at("none")), CGI_PATH_FORBIDDEN);
}

/* Where self_exe cannot be read (a chroot without /proc), the files
 * recorded before are fcgipm; with neither, nothing runs. */
static void
test_path_self_noted(void **state)
{
    struct cgi_path p;
    (void)state;

    /* The link's target is relative: only what stat() finds counts. */
    assert_int_equal(cgi_path_note_self(at("cgi-bin/link-in.sh")), 1);
    assert_int_equal(resolve_self(&p, root, at("cgi-bin/ok.sh"), NULL,
                                  at("none")), CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why, "is fcgipm itself");
    assert_int_equal(resolve_self(&p, root, at("cgi-bin/sub/deep.sh"), NULL,
                                  at("none")), CGI_PATH_OK);
    assert_int_equal(cgi_path_note_self(NULL), 0);
    assert_int_equal(resolve_self(&p, root, at("cgi-bin/sub/deep.sh"), NULL,
                                  at("none")), CGI_PATH_FORBIDDEN);
    assert_string_equal(p.why,
                        "cannot stat /proc/self/exe to tell fcgipm apart");
    assert_int_equal(cgi_path_note_self(at("none")), 0);
}

/* errno of a failed cgi_path_open_beneath in the root, 0 if it worked. */
static int
beneath(const char *path, bool dir)
{
    int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int err = 0;

    assert_true(root_fd != -1);
    int fd = cgi_path_open_beneath(root_fd, path, dir);
    if (fd == -1)
        err = errno;
    else
        close(fd);
    close(root_fd);
    return err;
}

/* What a swap between realpath and the open would show: a symbolic link
 * or a ".." on the way, whether it leads in or out of the root. */
static void
test_path_open_beneath(void **state)
{
    (void)state;

    assert_int_equal(beneath("ok.sh", false), 0);
    assert_int_equal(beneath("sub/deep.sh", false), 0);
    assert_int_equal(beneath("sub//./deep.sh", false), 0);
    assert_int_equal(beneath("sub", true), 0);
    assert_int_equal(beneath("", true), 0);
    assert_int_equal(beneath(".", true), 0);
    assert_int_equal(beneath("link-in.sh", false), ELOOP);
    assert_int_equal(beneath("link-out.sh", false), ELOOP);
    assert_int_equal(symlink("sub", at("cgi-bin/linkdir")), 0);
    assert_int_equal(beneath("linkdir/deep.sh", false), ELOOP);
    assert_int_equal(beneath("linkdir", true), ELOOP);
    assert_int_equal(unlink(at("cgi-bin/linkdir")), 0);
    assert_int_equal(beneath("../secret.sh", false), EXDEV);
    assert_int_equal(beneath("sub/../ok.sh", false), EXDEV);
    assert_int_equal(beneath("ok.sh", true), ENOTDIR);
    assert_int_equal(beneath("ok.sh/x", false), ENOTDIR);
    assert_int_equal(beneath("none.sh", false), ENOENT);
}

static void
write_script(const char *rel, const char *text)
{
    int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);

    assert_true(fd != -1);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

/* valgrind (make valgrind) runs execveat as an execve of the path the
 * descriptor had, and dies when that fails: what the spawn tests check
 * is the kernel's way. Its preload library tells. */
static bool
under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");

    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

/* Run the script p holds with cgi_proc_spawn: its stdout into out, its
 * exit status, or -errno when it could not be started. */
static int
spawn_checked(const struct cgi_path *p, char *out, size_t size)
{
    char *argv[] = { (char *)p->real, NULL };
    char *envp[] = { "PATH=/usr/bin:/bin", NULL };
    int in[2], o[2], e[2], status;
    pid_t pid;
    size_t len = 0;
    ssize_t n;

    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(o, O_CLOEXEC), 0);
    assert_int_equal(pipe2(e, O_CLOEXEC), 0);
    struct cgi_exec x = { .fd = p->fd, .dir_fd = p->dir_fd,
                          .stdio = { in[0], o[1], e[1] }, .argv = argv,
                          .envp = envp, .no_new_privs = true };
    int rc = cgi_proc_spawn(&x, &pid);
    close(in[0]);
    close(in[1]);
    close(o[1]);
    close(e[1]);
    while ((n = read(o[0], out + len, size - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(o[0]);
    close(e[0]);
    if (rc != 0)
        return -rc;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* What runs is the file that was checked, even if its path is replaced
 * before the exec; a #! script gets /dev/fd/N for $0, its directory for
 * cwd, and no new privileges. */
static void
test_proc_spawn_runs_the_checked_file(void **state)
{
    struct cgi_path p;
    char out[512], want[PATH_MAX + 64];
    (void)state;

    if (under_valgrind())
        skip();
    write_script("cgi-bin/which.sh", "#!/bin/sh\necho \"first $0 $(pwd)\"\n"
                 "grep NoNewPrivs /proc/self/status\n");
    write_script("cgi-bin/.other", "#!/bin/sh\necho second\n");
    assert_int_equal(cgi_path_resolve(&p, root, at("cgi-bin/which.sh"), NULL,
                                      "/proc/self/exe"), CGI_PATH_OK);
    assert_int_equal(rename(at("cgi-bin/.other"), at("cgi-bin/which.sh")), 0);
    assert_int_equal(spawn_checked(&p, out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "first /dev/fd/%d %s\nNoNewPrivs:\t1\n",
             p.fd, root);
    assert_string_equal(out, want);
    cgi_path_close(&p);
    assert_int_equal(unlink(at("cgi-bin/which.sh")), 0);
}

/* An exec that fails is an errno, with nothing written and nothing left
 * to reap. */
static void
test_proc_spawn_failure(void **state)
{
    struct cgi_path p;
    char out[64];
    (void)state;

    if (under_valgrind())
        skip();
    write_script("cgi-bin/badinterp.sh", "#!/nonexistent/interpreter\n");
    assert_int_equal(cgi_path_resolve(&p, root, at("cgi-bin/badinterp.sh"),
                                      NULL, "/proc/self/exe"), CGI_PATH_OK);
    assert_int_equal(spawn_checked(&p, out, sizeof(out)), -ENOENT);
    assert_string_equal(out, "");
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    cgi_path_close(&p);
    assert_int_equal(unlink(at("cgi-bin/badinterp.sh")), 0);
}

/* A child that leaves: B in a session of its own with C in its group,
 * its parent A gone. As a subreaper, this process gets B, and the sweep
 * kills B's group, then C comes too: all reaped. */
static void
test_proc_sweep(void **state)
{
    struct cgi_sweep s;
    int ready[2];
    char c;
    (void)state;

    assert_int_equal(cgi_proc_adopt_orphans(), 0);
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    pid_t a = fork();
    assert_true(a != -1);
    if (a == 0) {
        if (fork() == 0) {
            setsid();
            if (fork() == 0) {
                if (write(ready[1], "x", 1) == 1)
                    pause();
                _exit(1);
            }
            pause();
        }
        _exit(0);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    assert_int_equal(waitpid(a, NULL, 0), a);
    cgi_proc_sweep(&s, 5000);
    assert_false(s.blind);
    assert_int_equal(s.left, 0);
    assert_int_equal(s.reaped, 2);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    /* Nothing to do: at once. */
    cgi_proc_sweep(&s, 5000);
    assert_int_equal(s.reaped, 0);
}

static void
test_path_is_inside(void **state)
{
    (void)state;
    assert_true(cgi_path_is_inside("/srv/cgi-bin/x", "/srv/cgi-bin"));
    assert_true(cgi_path_is_inside("/srv/cgi-bin", "/srv/cgi-bin"));
    assert_false(cgi_path_is_inside("/srv/cgi-bin2/x", "/srv/cgi-bin"));
    assert_false(cgi_path_is_inside("/srv/cgi", "/srv/cgi-bin"));
    assert_false(cgi_path_is_inside("/srv", "/srv/cgi-bin"));
    assert_true(cgi_path_is_inside("/x", "/"));
}

/* The value of name in envp, or NULL; fails if it is there twice. */
static const char *
env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    const char *found = NULL;

    for (size_t i = 0; envp[i] != NULL; i++) {
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=') {
            assert_null(found);
            found = envp[i] + n + 1;
        }
    }
    return found;
}

static size_t
env_count(char **envp)
{
    size_t n = 0;

    while (envp[n] != NULL)
        n++;
    return n;
}

static void
test_env_params_and_defaults(void **state)
{
    char *params[] = { "REQUEST_METHOD=GET", "QUERY_STRING=a=b&c=",
                       "PATH_INFO=", NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, NULL, "/srv/x.sh"), 0);
    assert_string_equal(env_get(e.envp, "REQUEST_METHOD"), "GET");
    assert_string_equal(env_get(e.envp, "QUERY_STRING"), "a=b&c=");
    assert_string_equal(env_get(e.envp, "PATH_INFO"), "");
    assert_string_equal(env_get(e.envp, "GATEWAY_INTERFACE"), "CGI/1.1");
    assert_string_equal(env_get(e.envp, "PATH"), CGI_DEFAULT_PATH);
    assert_string_equal(env_get(e.envp, "SCRIPT_FILENAME"), "/srv/x.sh");
    assert_non_null(strstr(env_get(e.envp, "SERVER_SOFTWARE"), "fcgipm/"));
    assert_int_equal(env_count(e.envp), 7);
    assert_int_equal(e.dropped, 0);
    cgi_env_free(&e);
}

static void
test_env_given_defaults_kept(void **state)
{
    char *params[] = { "GATEWAY_INTERFACE=CGI/1.0", "SERVER_SOFTWARE=nginx",
                       "SCRIPT_FILENAME=/srv/link.sh", NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, NULL, "/srv/real.sh"), 0);
    assert_string_equal(env_get(e.envp, "GATEWAY_INTERFACE"), "CGI/1.0");
    assert_string_equal(env_get(e.envp, "SERVER_SOFTWARE"), "nginx");
    assert_string_equal(env_get(e.envp, "SCRIPT_FILENAME"), "/srv/link.sh");
    assert_int_equal(env_count(e.envp), 4);
    cgi_env_free(&e);
}

static void
test_env_apache_form_replaced(void **state)
{
    char *params[] = { "SCRIPT_FILENAME=proxy:fcgi://localhost/srv/x.sh?a=1",
                       NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, NULL, "/srv/real.sh"), 0);
    assert_string_equal(env_get(e.envp, "SCRIPT_FILENAME"), "/srv/real.sh");
    assert_int_equal(e.dropped, 0);
    cgi_env_free(&e);
}

static void
test_env_httpoxy(void **state)
{
    char *params[] = { "HTTP_PROXY=http://evil:3128", "http_proxy=x",
                       "Http_Proxy=y", "HTTP_PROXY_X=kept",
                       "HTTPS_PROXY=no", "HTTP_Proxy=z", NULL };
    char *pool[] = { NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, pool, NULL), 0);
    assert_null(env_get(e.envp, "HTTP_PROXY"));
    assert_null(env_get(e.envp, "http_proxy"));
    assert_null(env_get(e.envp, "Http_Proxy"));
    assert_null(env_get(e.envp, "HTTP_Proxy"));
    assert_string_equal(env_get(e.envp, "HTTP_PROXY_X"), "kept");
    assert_null(env_get(e.envp, "HTTPS_PROXY"));
    assert_int_equal(e.dropped, 5);
    cgi_env_free(&e);
}

static void
test_env_pool_may_set_proxy(void **state)
{
    char *params[] = { "HTTP_PROXY=http://evil:3128", NULL };
    char *pool[] = { "HTTP_PROXY=http://proxy.lan:3128", NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, pool, NULL), 0);
    assert_string_equal(env_get(e.envp, "HTTP_PROXY"),
                        "http://proxy.lan:3128");
    cgi_env_free(&e);
}

static void
test_env_invalid_names(void **state)
{
    char *params[] = { "1ABC=1", "BAD-NAME=1", "A.B=1", "=x", "NOEQUALS",
                       "SP ACE=1", "\xc3\xa9T\xc3\xa9=1", "HTTP_OK_9=1",
                       "HTTP_lower=1", "HTTP-X=1", NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, NULL, NULL), 0);
    assert_int_equal(e.dropped, 8);
    assert_string_equal(env_get(e.envp, "HTTP_OK_9"), "1");
    assert_string_equal(env_get(e.envp, "HTTP_lower"), "1");
    /* PATH, GATEWAY_INTERFACE, SERVER_SOFTWARE and the two above. */
    assert_int_equal(env_count(e.envp), 5);
    cgi_env_free(&e);
    assert_true(cgi_env_name_is_valid("HTTP_X", 6));
    assert_false(cgi_env_name_is_valid("HTTP-X", 6));
    assert_false(cgi_env_name_is_valid("", 0));
}

/* What a client of the socket must not set for a script: loader, shell
 * and interpreter variables, TLS trust, locale, anything not CGI. A name
 * holding '=' reads as its part before the '=', which must pass too. */
static void
test_env_dangerous_dropped(void **state)
{
    char *params[] = { "LD_PRELOAD=/tmp/x.so", "LD_LIBRARY_PATH=/tmp",
                       "LD_AUDIT=/tmp/a.so", "BASH_ENV=/tmp/x", "ENV=/tmp/x",
                       "SHELLOPTS=xtrace", "PS4=$(id)", "IFS=/",
                       "PERL5OPT=-Mx", "PERL5LIB=/tmp", "PYTHONPATH=/tmp",
                       "PYTHONSTARTUP=/tmp/x", "NODE_OPTIONS=--require=x",
                       "RUBYOPT=-rx", "GCONV_PATH=/tmp", "LOCPATH=/tmp",
                       "LANG=C", "TZ=/tmp/tz", "HOME=/tmp", "TMPDIR=/tmp",
                       "SSL_CERT_FILE=/tmp/ca", "SSL_CERT_DIR=/tmp",
                       "OPENSSL_CONF=/tmp/c", "CURL_CA_BUNDLE=/tmp/ca",
                       "LD_PRELOAD=/tmp/x.so=/v", "PHP_VALUE=auto_prepend",
                       "REQUEST_METHOD=GET", NULL };
    char *pool[] = { "LD_LIBRARY_PATH=/opt/app/lib", NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, pool, NULL), 0);
    assert_int_equal(e.dropped, 26);
    for (size_t i = 0; params[i + 1] != NULL; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%.*s",
                 (int)strcspn(params[i], "="), params[i]);
        if (strcmp(name, "LD_LIBRARY_PATH") != 0)
            assert_null(env_get(e.envp, name));
    }
    /* The pool's env is the administrator's: any name. */
    assert_string_equal(env_get(e.envp, "LD_LIBRARY_PATH"), "/opt/app/lib");
    assert_string_equal(env_get(e.envp, "REQUEST_METHOD"), "GET");
    cgi_env_free(&e);
}

static bool
passed(const char *name)
{
    return cgi_env_param_is_passed(name, strlen(name));
}

static void
test_env_passed_names(void **state)
{
    static const char *const yes[] = {
        "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE",
        "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR",
        "REMOTE_HOST", "REMOTE_IDENT", "REMOTE_USER", "REQUEST_METHOD",
        "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
        "SERVER_SOFTWARE", "DOCUMENT_ROOT", "DOCUMENT_URI", "REQUEST_URI",
        "SCRIPT_FILENAME", "REDIRECT_STATUS", "REDIRECT_URL", "HTTPS",
        "SERVER_ADDR", "REMOTE_PORT", "REQUEST_SCHEME",
        "CONTEXT_DOCUMENT_ROOT", "CONTEXT_PREFIX", "FCGI_ROLE", "UNIQUE_ID",
        "SSL_PROTOCOL", "SSL_CLIENT_S_DN", "SSL_SERVER_M_SERIAL",
        "HTTP_HOST", "HTTP_USER_AGENT", "HTTP_X_FORWARDED_FOR",
    };
    static const char *const no[] = {
        "HTTP_", "HTTP", "HTTP_PROXY", "http_proxy", "HTTP_proxy", "HTTPSX",
        "HTTPS_PROXY", "SERVER_NAMEX", "SERVER_NAM", "AUTH", "REDIRECT_",
        "SSL_CERT_FILE", "SSL_CLIENT_", "PATH", "A", "",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
        if (!passed(yes[i]))
            fail_msg("%s should pass", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
        if (passed(no[i]))
            fail_msg("%s should not pass", no[i]);
    /* Only the first len bytes count. */
    assert_true(cgi_env_param_is_passed("HTTPS=on", 5));
    assert_false(cgi_env_param_is_passed("HTTPS=on", 4));
}

static void
test_env_path_rule(void **state)
{
    char *params[] = { "PATH=/evil/bin", NULL };
    char *pool[] = { "PATH=/opt/app/bin", "SERVER_NAME=pool", NULL };
    char *req[] = { "SERVER_NAME=request", NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, NULL, NULL), 0);
    assert_string_equal(env_get(e.envp, "PATH"), CGI_DEFAULT_PATH);
    cgi_env_free(&e);
    assert_int_equal(cgi_env_build(&e, params, pool, NULL), 0);
    assert_string_equal(env_get(e.envp, "PATH"), "/opt/app/bin");
    cgi_env_free(&e);
    /* The pool's env is configuration: it wins over the request. */
    assert_int_equal(cgi_env_build(&e, req, pool, NULL), 0);
    assert_string_equal(env_get(e.envp, "SERVER_NAME"), "pool");
    cgi_env_free(&e);
}

static void
test_env_first_wins(void **state)
{
    char *params[] = { "HTTP_X=1", "HTTP_Y=a", "HTTP_X=2", "HTTP_X=3",
                       NULL };
    struct cgi_env e;
    (void)state;

    assert_int_equal(cgi_env_build(&e, params, NULL, NULL), 0);
    assert_string_equal(env_get(e.envp, "HTTP_X"), "1"); /* once: env_get */
    assert_string_equal(env_get(e.envp, "HTTP_Y"), "a");
    cgi_env_free(&e);
}

static void
test_env_not_inherited(void **state)
{
    struct cgi_env e;
    (void)state;

    assert_int_equal(setenv("FCGIPM_UNIT_SECRET", "1", 1), 0);
    assert_int_equal(cgi_env_build(&e, NULL, NULL, NULL), 0);
    assert_null(env_get(e.envp, "FCGIPM_UNIT_SECRET"));
    assert_null(env_get(e.envp, "HOME"));
    assert_int_equal(env_count(e.envp), 3);
    cgi_env_free(&e);
    assert_null(e.envp);
}

static void
test_content_length(void **state)
{
    unsigned long long n = 7;
    (void)state;

    assert_int_equal(cgi_content_length(NULL, &n), 0);
    assert_true(n == 0);
    assert_int_equal(cgi_content_length("", &n), 0);
    assert_int_equal(cgi_content_length("123", &n), 0);
    assert_true(n == 123);
    assert_int_equal(cgi_content_length("18446744073709551615", &n), 0);
    assert_true(n == 18446744073709551615ULL);
    assert_int_equal(cgi_content_length("18446744073709551616", &n), -1);
    assert_int_equal(cgi_content_length("-1", &n), -1);
    assert_int_equal(cgi_content_length(" 1", &n), -1);
    assert_int_equal(cgi_content_length("1x", &n), -1);
}

static void
test_printable(void **state)
{
    char buf[16];
    char big[2048];
    (void)state;

    assert_string_equal(cgi_printable(buf, sizeof(buf), "/a b/c.sh"),
                        "/a b/c.sh");
    assert_string_equal(cgi_printable(buf, sizeof(buf), "x\ny\r\x7f"),
                        "x\\x0ay\\x0d\\x7f");
    assert_string_equal(cgi_printable(buf, sizeof(buf), NULL), "-");
    assert_string_equal(cgi_printable(buf, sizeof(buf), "0123456789abcdef"),
                        "0123456789ab...");
    assert_string_equal(cgi_printable(buf, sizeof(buf), "0123456789abcde"),
                        "0123456789abcde");
    assert_string_equal(cgi_printable(buf, sizeof(buf), "\n\n\n\n"),
                        "\\x0a\\x0a\\x0a...");
    memset(big, '\n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_true(strlen(cgi_printable(buf, sizeof(buf), big)) < sizeof(buf));
}

/* Feed s into h as one read. */
static enum cgi_headers_state
feed(struct cgi_headers *h, const char *s, size_t n)
{
    size_t room;
    char *dst = cgi_headers_room(h, &room);

    assert_true(n <= room);
    memcpy(dst, s, n);
    return cgi_headers_added(h, n);
}

static int
headers_setup(void **state)
{
    *state = calloc(1, sizeof(struct cgi_headers));
    return *state == NULL ? -1 : 0;
}

static int
headers_teardown(void **state)
{
    free(*state);
    return 0;
}

static void
test_headers_end_lf_crlf_mixed(void **state)
{
    static const char *const blocks[] = {
        "Content-Type: text/plain\n\nbody",
        "Content-Type: text/plain\r\n\r\nbody",
        "Status: 200\r\nContent-Type: text/plain\n\r\nbody",
        "Status: 200\nContent-Type: text/plain\r\n\nbody",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(blocks) / sizeof(*blocks); i++) {
        struct cgi_headers *h = calloc(1, sizeof(*h));
        assert_non_null(h);
        assert_int_equal(feed(h, blocks[i], strlen(blocks[i])),
                         CGI_HEADERS_DONE);
        assert_int_equal(h->len - h->end, 4);
        assert_memory_equal(h->buf + h->end, "body", 4);
        free(h);
    }
}

static void
test_headers_byte_by_byte(void **state)
{
    static const char block[] = "A: 1\r\nB: 2\r\n\r\nrest";
    struct cgi_headers *h = *state;
    size_t end = strlen("A: 1\r\nB: 2\r\n\r\n");

    for (size_t i = 0; i < end - 1; i++)
        assert_int_equal(feed(h, block + i, 1), CGI_HEADERS_MORE);
    assert_int_equal(feed(h, block + end - 1, 1), CGI_HEADERS_DONE);
    assert_int_equal(h->end, end);
}

static void
test_headers_blank_first(void **state)
{
    struct cgi_headers *h = *state;

    assert_int_equal(feed(h, "\r", 1), CGI_HEADERS_MORE);
    assert_int_equal(feed(h, "\nx", 2), CGI_HEADERS_DONE);
    assert_int_equal(h->end, 2);
}

static void
test_headers_too_big(void **state)
{
    struct cgi_headers *h = *state;
    char line[64];

    memset(line, 'a', sizeof(line));
    memcpy(line, "X: ", 3);
    line[sizeof(line) - 1] = '\n';
    for (size_t n = sizeof(line); n < CGI_HEADERS_MAX; n += sizeof(line))
        assert_int_equal(feed(h, line, sizeof(line)), CGI_HEADERS_MORE);
    assert_int_equal(feed(h, line, sizeof(line)), CGI_HEADERS_TOO_BIG);
    /* The same, but with the blank line as the last bytes: complete. */
    h->len = h->line_at = CGI_HEADERS_MAX - sizeof(line);
    line[sizeof(line) - 2] = '\n';
    assert_int_equal(feed(h, line, sizeof(line)), CGI_HEADERS_DONE);
    assert_int_equal(h->end, CGI_HEADERS_MAX);
}

static enum cgi_reply_check
parse(const char *block, struct cgi_reply *r)
{
    return cgi_reply_parse(block, strlen(block), r);
}

static void
test_reply_status(void **state)
{
    struct cgi_reply r;
    (void)state;

    assert_int_equal(parse("Status: 404 Not Found\nContent-Type: t/p\n\n", &r),
                     CGI_REPLY_OK);
    assert_int_equal(r.status, 404);
    assert_true(r.has_status && r.has_type && !r.has_location);
    assert_int_equal(parse("status:204\r\n\r\n", &r), CGI_REPLY_OK);
    assert_int_equal(r.status, 204);
    assert_int_equal(parse("Content-type: text/html\n\n", &r), CGI_REPLY_OK);
    assert_int_equal(r.status, 200);
}

static void
test_reply_bad_status(void **state)
{
    static const char *const bad[] = {
        "Status: 2000\n\n", "Status: abc\n\n", "Status: 099\n\n",
        "Status: 600 Too Far\n\n", "Status:\n\n", "Status: 20\n\n",
        "Status: 200\nStatus: 404\nContent-Type: t/p\n\n",
    };
    struct cgi_reply r;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(parse(bad[i], &r), CGI_REPLY_MALFORMED);
}

static void
test_reply_no_type(void **state)
{
    struct cgi_reply r;
    (void)state;

    assert_int_equal(parse("X-Powered-By: sh\n\n", &r), CGI_REPLY_NO_TYPE);
    assert_string_equal(r.why, "no Content-Type");
    assert_int_equal(parse("\r\n", &r), CGI_REPLY_NO_TYPE);
}

static void
test_reply_malformed(void **state)
{
    static const char *const bad[] = {
        "NoColon\n\n", "Bad Name: x\n\n", ": no name\n\n",
        " Folded: x\nContent-Type: t/p\n\n", "X: a\rb\nContent-Type: t\n\n",
        "X: \x01\n\n", "Location:\n\n", "Location:   \r\n\r\n",
        "Content-Type: t/p\n",          /* no blank line */
        "Content-Type: t/p",
    };
    struct cgi_reply r;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        assert_int_equal(parse(bad[i], &r), CGI_REPLY_MALFORMED);
        assert_non_null(r.why);
    }
}

/* A cgi_write_fn into a string; fails once limit bytes are out. */
struct sink {
    char buf[512];
    size_t len;
    size_t limit;
};

static int
sink_write(void *ctx, const char *data, size_t n)
{
    struct sink *s = ctx;

    if (s->len + n > s->limit)
        return -1;
    assert_true(s->len + n < sizeof(s->buf));
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

static void
emit(const char *block, struct sink *s)
{
    struct cgi_reply r;

    assert_int_equal(parse(block, &r), CGI_REPLY_OK);
    s->len = 0;
    s->buf[0] = '\0';
    assert_int_equal(cgi_reply_emit(block, strlen(block), &r, sink_write, s),
                     0);
}

static void
test_reply_location(void **state)
{
    struct sink s = { .limit = sizeof(s.buf) };
    struct cgi_reply r;
    (void)state;

    assert_int_equal(parse("Location: /other\n\n", &r), CGI_REPLY_OK);
    assert_int_equal(r.status, 302);
    emit("Location: /other\n\n", &s);
    assert_string_equal(s.buf, "Status: 302 Found\r\nLocation: /other\r\n\r\n");
    emit("Status: 301 Moved\nLocation: http://x/\n\n", &s);
    assert_string_equal(s.buf,
                        "Status: 301 Moved\r\nLocation: http://x/\r\n\r\n");
}

static void
test_reply_emit_as_is_with_crlf(void **state)
{
    struct sink s = { .limit = sizeof(s.buf) };
    (void)state;

    emit("Content-Type: text/html; charset=utf-8\nX-A:b  \r\nSet-Cookie: "
         "a=1\n\n", &s);
    assert_string_equal(s.buf, "Content-Type: text/html; charset=utf-8\r\n"
                        "X-A:b  \r\nSet-Cookie: a=1\r\n\r\n");
}

static void
test_reply_emit_failure(void **state)
{
    static const char block[] = "Location: /x\nX: 1\n\n";
    struct cgi_reply r;
    (void)state;

    struct sink all = { .limit = sizeof(all.buf) };

    emit(block, &all);
    assert_int_equal(parse(block, &r), CGI_REPLY_OK);
    for (size_t limit = 0; limit <= all.len; limit++) {
        struct sink s = { .limit = limit };
        int rc = cgi_reply_emit(block, strlen(block), &r, sink_write, &s);
        assert_int_equal(rc, limit < all.len ? -1 : 0);
    }
}

static void
test_reason(void **state)
{
    (void)state;
    assert_string_equal(cgi_reason(404), "Not Found");
    assert_string_equal(cgi_reason(504), "Gateway Timeout");
    assert_string_equal(cgi_reason(299), "");
}

int
main(void)
{
    const struct CMUnitTest path_tests[] = {
        cmocka_unit_test(test_path_inside_root),
        cmocka_unit_test(test_path_script_name),
        cmocka_unit_test(test_path_prefix_trick),
        cmocka_unit_test(test_path_dotdot),
        cmocka_unit_test(test_path_symlinks),
        cmocka_unit_test(test_path_not_a_script),
        cmocka_unit_test(test_path_missing),
        cmocka_unit_test(test_path_self),
        cmocka_unit_test(test_path_self_noted),
        cmocka_unit_test(test_path_apache_form),
        cmocka_unit_test(test_path_is_inside),
        cmocka_unit_test(test_path_open_beneath),
        cmocka_unit_test(test_proc_spawn_runs_the_checked_file),
        cmocka_unit_test(test_proc_spawn_failure),
        cmocka_unit_test(test_proc_sweep),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_params_and_defaults),
        cmocka_unit_test(test_env_given_defaults_kept),
        cmocka_unit_test(test_env_apache_form_replaced),
        cmocka_unit_test(test_env_httpoxy),
        cmocka_unit_test(test_env_pool_may_set_proxy),
        cmocka_unit_test(test_env_invalid_names),
        cmocka_unit_test(test_env_dangerous_dropped),
        cmocka_unit_test(test_env_passed_names),
        cmocka_unit_test(test_env_path_rule),
        cmocka_unit_test(test_env_first_wins),
        cmocka_unit_test(test_env_not_inherited),
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_headers_end_lf_crlf_mixed),
        cmocka_unit_test_setup_teardown(test_headers_byte_by_byte,
                                        headers_setup, headers_teardown),
        cmocka_unit_test_setup_teardown(test_headers_blank_first,
                                        headers_setup, headers_teardown),
        cmocka_unit_test_setup_teardown(test_headers_too_big,
                                        headers_setup, headers_teardown),
        cmocka_unit_test(test_reply_status),
        cmocka_unit_test(test_reply_bad_status),
        cmocka_unit_test(test_reply_no_type),
        cmocka_unit_test(test_reply_malformed),
        cmocka_unit_test(test_reply_location),
        cmocka_unit_test(test_reply_emit_as_is_with_crlf),
        cmocka_unit_test(test_reply_emit_failure),
        cmocka_unit_test(test_reason),
    };
    int failed = cmocka_run_group_tests_name("cgi paths", path_tests,
                                             tree_setup, tree_teardown);

    return failed + cmocka_run_group_tests_name("cgi", tests, NULL, NULL);
}
