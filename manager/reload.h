/* SIGHUP: load the configuration again and, if it is valid, move the
 * running pools to it without closing a socket that stays configured. */
#ifndef FCGIPM_RELOAD_H
#define FCGIPM_RELOAD_H

#include "manager.h"

/* Reload m's configuration from m->cli. On any error (config, bind) log
 * why and leave everything as it was. */
void reload_run(struct manager *m, uint64_t now);

#endif
