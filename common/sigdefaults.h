/* Handing a fresh process its signals back, before exec or worker code. */
#ifndef FCGIPM_SIGDEFAULTS_H
#define FCGIPM_SIGDEFAULTS_H

/* Every disposition back to default and an empty mask. libfcgi installs
 * its SIGUSR1 "finish, then exit" handler only over the default, and
 * exec keeps ignored signals ignored. */
void sigdefaults_reset(void);

#endif
