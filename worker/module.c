/* Module mode: load a request handler (a shared object or a built-in) and
 * call it for every request. A process may hold several, as the master
 * preloads one per pool; a worker uses the one its pool's load picked.
 * The master runs a preloaded module's code as root: it loads only a file
 * root owns in directories no one else may write, and loads the very file
 * it checked. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "handler.h"
#include "log.h"
#include "nofollow.h"

/* More pools than this with distinct modules under one master would be
 * a strange setup; the limit keeps the table static. */
#define MODULE_MAX 64

#define MODULE_BUILTIN "builtin:"

typedef int module_handle_fn(FCGX_Request *req);
typedef int module_init_fn(int argc, char **argv);
typedef void module_exit_fn(void);

/* A loaded module. Its copy of argv lives as long as the process: a module
 * may keep pointers into it, as a program does into its argv. */
struct module {
    char *name;                 /* pc->module as configured: the key */
    int argc;
    char **argv;                /* NULL-terminated */
    void *dl;                   /* NULL for a built-in */
    int fd;                     /* a preloaded one's file, or -1 */
    module_handle_fn *handle;
    module_exit_fn *exit;
};

static struct module module_table[MODULE_MAX];
static size_t module_count;
static struct module *module_current;

static const char module_error_text[] =
    "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
    "no module loaded\n";

/* fcgipm_init's argv: module_args, whose argv[0] is the module, or just
 * the module when there are none. */
static size_t
module_argc(const struct pool_conf *pc)
{
    return pc->module_args != NULL && pc->nmodule_args > 0
               ? pc->nmodule_args : 1;
}

static const char *
module_arg(const struct pool_conf *pc, size_t i)
{
    return pc->module_args != NULL && pc->nmodule_args > 0
               ? pc->module_args[i] : pc->module;
}

static bool
module_is_builtin(const char *name)
{
    return strncmp(name, MODULE_BUILTIN, strlen(MODULE_BUILTIN)) == 0;
}

static struct module *
module_find(const char *name)
{
    for (size_t i = 0; i < module_count; i++)
        if (strcmp(module_table[i].name, name) == 0)
            return &module_table[i];
    return NULL;
}

static void
module_free_args(struct module *m)
{
    for (int i = 0; m->argv != NULL && i < m->argc; i++)
        free(m->argv[i]);
    free(m->argv);
    free(m->name);
    m->argv = NULL;
    m->name = NULL;
}

static int
module_copy_args(const struct pool_conf *pc, struct module *m)
{
    size_t argc = module_argc(pc);

    m->name = strdup(pc->module);
    m->argv = calloc(argc + 1, sizeof(*m->argv));
    if (m->name == NULL || m->argv == NULL)
        goto fail;
    for (m->argc = 0; (size_t)m->argc < argc; m->argc++) {
        m->argv[m->argc] = strdup(module_arg(pc, (size_t)m->argc));
        if (m->argv[m->argc] == NULL)
            goto fail;
    }
    return 0;
fail:
    log_error_errno("pool %s: module %s: cannot copy its arguments",
                    pc->name, pc->module);
    module_free_args(m);
    return -1;
}

/* Loaded already in this process (by the master, with preload, or an
 * earlier call): pick it. A shared object has one instance per process,
 * so it cannot be initialised again with other arguments. */
static int
module_select(const struct pool_conf *pc, struct module *m)
{
    bool same = m->dl == NULL || (size_t)m->argc == module_argc(pc);

    for (size_t i = 0; same && m->dl != NULL && i < (size_t)m->argc; i++)
        same = strcmp(m->argv[i], module_arg(pc, i)) == 0;
    if (!same) {
        log_error("pool %s: module %s is loaded already with other "
                  "module_args (a module has one instance per process; "
                  "restart fcgipm to change them)", pc->name, pc->module);
        return -1;
    }
    module_current = m;
    return 0;
}

static int
module_open_builtin(const struct pool_conf *pc, struct module *m)
{
    m->handle = builtin_find(pc->module + strlen(MODULE_BUILTIN));
    if (m->handle == NULL) {
        log_error("pool %s: unknown built-in module %s (there are "
                  "builtin:hello and builtin:echo)", pc->name, pc->module);
        return -1;
    }
    return 0;
}

/* A path without '/' would make dlopen search the library path; a module
 * path names a file, so it is taken relative to the working directory. */
static int
module_dlopen(const struct pool_conf *pc, struct module *m)
{
    const char *name = pc->module;
    char *path = NULL;
    const char *err;

    if (strchr(name, '/') == NULL) {
        size_t len = strlen(name);
        if ((path = malloc(len + 3)) == NULL) {
            log_error_errno("pool %s: cannot load module %s", pc->name, name);
            return -1;
        }
        memcpy(path, "./", 2);
        memcpy(path + 2, name, len + 1);
    }
    m->dl = dlopen(path != NULL ? path : name, RTLD_NOW | RTLD_LOCAL);
    free(path);
    if (m->dl == NULL) {
        err = dlerror();
        log_error("pool %s: cannot load module %s: %s", pc->name, name,
                  err != NULL ? err : strerror(errno));
        return -1;
    }
    return 0;
}

/* The loader's name for the file open at fd. */
static void
module_fd_name(int fd, char *name, size_t len)
{
    snprintf(name, len, "/proc/self/fd/%d", fd);
}

/* preload: the master runs the module's constructors and fcgipm_init as
 * root, so it loads through a descriptor of the file it checked (see
 * nofollow_open_trusted) and of no other. The descriptor stays open as
 * long as the object is loaded: the loader knows an object by the name it
 * was opened by, and the same /proc/self/fd/N with N reused would give the
 * first object back for the second file. */
static int
module_dlopen_trusted(const struct pool_conf *pc, struct module *m)
{
    char why[1024], name[32];
    const char *err;
    int fd = nofollow_open_trusted(pc->module, why, sizeof(why));

    if (fd == -1) {
        log_error("pool %s: module %s cannot be preloaded: %s (%s)",
                  pc->name, pc->module, why, NOFOLLOW_TRUSTED_RULE);
        return -1;
    }
    module_fd_name(fd, name, sizeof(name));
    m->dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (m->dl == NULL) {
        err = dlerror();
        log_error("pool %s: cannot load module %s (as %s): %s", pc->name,
                  pc->module, name, err != NULL ? err : strerror(errno));
        close(fd);
        return -1;
    }
    m->fd = fd;
    return 0;
}

/* Unload m after a failed load. Its descriptor is closed once the object
 * is gone: one the loader keeps (a module may ask to stay) keeps the
 * descriptor's name, and so the descriptor. */
static void
module_close(struct module *m)
{
    char name[32];

    dlclose(m->dl);
    m->dl = NULL;
    if (m->fd == -1)
        return;
    module_fd_name(m->fd, name, sizeof(name));
    void *still = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (still != NULL)
        dlclose(still);
    else
        close(m->fd);
    dlerror();
    m->fd = -1;
}

/* dlsym returns void *; POSIX guarantees it converts to a function
 * pointer. NULL when the object lacks the symbol. */
static int
module_open_so(const struct pool_conf *pc, struct module *m,
               module_init_fn **init)
{
    const char *err;

    dlerror();
    if ((pc->preload ? module_dlopen_trusted(pc, m) : module_dlopen(pc, m))
        == -1)
        return -1;
    m->handle = (module_handle_fn *)dlsym(m->dl, "fcgipm_handle");
    if (m->handle == NULL) {
        err = dlerror();
        log_error("pool %s: module %s has no fcgipm_handle: %s", pc->name,
                  pc->module, err != NULL ? err : "NULL symbol");
        module_close(m);
        return -1;
    }
    *init = (module_init_fn *)dlsym(m->dl, "fcgipm_init");
    m->exit = (module_exit_fn *)dlsym(m->dl, "fcgipm_exit");
    dlerror();      /* the optional ones may have left an error */
    return 0;
}

static int
module_init(const struct pool_conf *pc, struct module *m,
            module_init_fn *init)
{
    if (module_copy_args(pc, m) == -1)
        return -1;
    if (init == NULL)
        return 0;
    int rc = init(m->argc, m->argv);
    if (rc != 0) {
        log_error("pool %s: module %s: fcgipm_init failed (returned %d)",
                  pc->name, pc->module, rc);
        module_free_args(m);
        return -1;
    }
    return 0;
}

int
module_load(const struct pool_conf *pc)
{
    module_init_fn *init = NULL;

    if (pc->module == NULL || pc->module[0] == '\0') {
        log_error("pool %s: mode module needs a module", pc->name);
        return -1;
    }
    struct module *m = module_find(pc->module);
    if (m != NULL)
        return module_select(pc, m);
    if (module_count == MODULE_MAX) {
        log_error("pool %s: cannot load module %s: %d modules are loaded "
                  "already", pc->name, pc->module, MODULE_MAX);
        return -1;
    }
    m = &module_table[module_count];
    *m = (struct module){ .fd = -1 };
    int rc = module_is_builtin(pc->module) ? module_open_builtin(pc, m)
                                           : module_open_so(pc, m, &init);
    if (rc == -1)
        return -1;
    if (module_init(pc, m, init) == -1) {
        if (m->dl != NULL)
            module_close(m);
        *m = (struct module){ .fd = -1 };
        return -1;
    }
    module_count++;
    module_current = m;
    log_debug("pool %s: module %s loaded in process %d", pc->name,
              pc->module, (int)getpid());
    return 0;
}

int
module_handle(FCGX_Request *req)
{
    if (module_current == NULL) {
        /* serve.c calls module_load first: this is a bug, not a request
         * to drop silently. */
        log_error("worker %d: request without a loaded module",
                  (int)getpid());
        FCGX_PutStr(module_error_text, sizeof(module_error_text) - 1,
                    req->out);
        return 500;
    }
    int status = module_current->handle(req);
    return status == 0 ? 200 : status;
}

void
module_unload(void)
{
    struct module *m = module_current;

    /* Cleared first, so a second call, or one from fcgipm_exit itself,
     * does nothing. The object stays mapped: the process is exiting. */
    module_current = NULL;
    if (m != NULL && m->exit != NULL)
        m->exit();
}
