/* The request a cgi worker is running, shared by worker/cgi.c (the
 * request, its script, its deadline) and worker/cgi_io.c (the bytes
 * between the web server and the script). */
#ifndef FCGIPM_CGI_RUN_H
#define FCGIPM_CGI_RUN_H

#include <fcgiapp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "cgi.h"
#include "pool_conf.h"
#include "lines.h"
#include "spool.h"

/* Bytes moved per read or write: with the header block, the stderr
 * line and what the hold keeps in memory (spool.h), all the memory a
 * request takes, whatever its size. */
#define CGI_CHUNK (64 * 1024)

/* The longest a request's strings get in a log line, escaped. */
#define CGI_LOG_NAME_MAX 1024

/* "pool P: worker W: SCRIPT: ..." on every line about a request. */
#define CGI_LOG(fn, r, fmt, ...)                                            \
    fn("pool %s: worker %d: %s: " fmt, (r)->pc->name, (int)getpid(),        \
       (r)->script, __VA_ARGS__)

/* Large, so allocated per request; nothing in it needs zeroing but the
 * counters cgi_buffers_new sets. */
struct cgi_buffers {
    struct cgi_headers hdr;     /* the script's header block */
    struct lines err;           /* the stderr line being assembled */
    char pend[CGI_CHUNK];       /* body read, not yet in the stdin pipe */
    char io[CGI_CHUNK];         /* stdout and stderr reads */
};

struct cgi_run {
    FCGX_Request *req;
    const struct pool_conf *pc;
    char script[CGI_LOG_NAME_MAX]; /* the resolved path, for logs */
    struct cgi_buffers *b;
    pid_t pid;                  /* the script, leader of its own group */
    int pidfd;                  /* readable once it exits; -1: none */
    int in_fd;                  /* our ends of its stdin, stdout, stderr; */
    int out_fd;                 /* -1 once closed */
    int err_fd;
    unsigned long long body_len;   /* CONTENT_LENGTH */
    unsigned long long body_left;  /* still to read from the web server */
    size_t pend_at;
    size_t pend_len;
    struct spool hold;          /* output held while the body arrives */
    bool hold_off;              /* the hold is full: output goes out */
    int status;                 /* HTTP status sent; 0 before */
    int wstatus;                /* the script's, once reaped */
    bool reaped;
    bool unflushed;             /* libfcgi holds response bytes unsent */
    bool client_gone;
    bool client_done;           /* connection shut: nothing more for it */
    bool timed_out;
    bool stopped;               /* SIGTERM sent to the group */
    bool group_killed;          /* SIGKILL sent after the grace */
    uint64_t start_ms;
    uint64_t timeout_at;        /* request_timeout; 0: none */
    uint64_t kill_at;           /* SIGKILL to the group; 0: not due */
    uint64_t grace_at;          /* after exit: output silent until then */
};

/* Close *fd unless it is -1, then make it -1; a failure is logged. */
void cgi_close(int *fd);
/* A whole small response of fcgipm's own; returns status. */
int cgi_send_error(FCGX_Request *req, int status);
/* kill(2) to the script's whole group (never a group <= 1). */
void cgi_signal(struct cgi_run *r, int sig);
/* kill_timeout, or its default. */
unsigned cgi_kill_ms(const struct pool_conf *pc);
/* End the script early: SIGTERM to its group, SIGKILL at kill_at; no
 * more body for it, no more of its output for the client. */
void cgi_stop(struct cgi_run *r, uint64_t now);
/* request_timeout has passed (while_doing: "" or " waiting for ..."). */
void cgi_timed_out(struct cgi_run *r, uint64_t now, const char *while_doing);
/* A read or write on the web server's connection failed. */
void cgi_client_failed(struct cgi_run *r);
/* Kill and reap what the script left (it must be reaped), and log it. */
void cgi_sweep(struct cgi_run *r);

/* From cgi_io.c: move bytes between the web server and the script until
 * it has exited and its output pipes are closed; what it writes while
 * its body still comes is held (r->hold) until the body is all read. */
void cgi_io_loop(struct cgi_run *r);

#endif
