/* Unit tests for the status page: routing and query words, the text,
 * JSON and OpenMetrics forms of a report collected from a hand-built
 * master (checked by a small JSON parser and the exposition rules), and
 * the FastCGI conversation fed good, odd and broken records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_record.h"
#include "manager.h"
#include "status_conn.h"
#include "status_format.h"
#include "status_report.h"

/* --- routing and query ------------------------------------------------ */

static void
test_route(void **state)
{
    (void)state;
    assert_int_equal(status_route("/status", NULL, NULL, "/status", "/ping"),
                     STATUS_ROUTE_STATUS);
    assert_int_equal(status_route(NULL, "/ping", "/x", "/status", "/ping"),
                     STATUS_ROUTE_PING);
    /* DOCUMENT_URI wins over SCRIPT_NAME, which wins over REQUEST_URI. */
    assert_int_equal(status_route("/ping", "/status", "/status", "/status",
                                  "/ping"), STATUS_ROUTE_PING);
    assert_int_equal(status_route("", "", "/status?json", "/status",
                                  "/ping"), STATUS_ROUTE_STATUS);
    assert_int_equal(status_route(NULL, NULL, "/ping?x", "/status", "/ping"),
                     STATUS_ROUTE_PING);
    assert_int_equal(status_route(NULL, NULL, "/statusx", "/status",
                                  "/ping"), STATUS_ROUTE_NOT_FOUND);
    assert_int_equal(status_route(NULL, NULL, "/stat", "/status", "/ping"),
                     STATUS_ROUTE_NOT_FOUND);
    assert_int_equal(status_route(NULL, NULL, NULL, "/status", "/ping"),
                     STATUS_ROUTE_NOT_FOUND);
    assert_int_equal(status_route("/", NULL, NULL, "/status", "/ping"),
                     STATUS_ROUTE_NOT_FOUND);
    assert_int_equal(status_route("/fpm-status", NULL, NULL, "/fpm-status",
                                  "/fpm-ping"), STATUS_ROUTE_STATUS);
}

static void
test_query(void **state)
{
    struct status_query q;

    (void)state;
    status_query_parse(NULL, &q);
    assert_int_equal(q.format, STATUS_FORMAT_TEXT);
    assert_false(q.full);
    status_query_parse("json", &q);
    assert_int_equal(q.format, STATUS_FORMAT_JSON);
    assert_false(q.full);
    status_query_parse("json&full", &q);
    assert_int_equal(q.format, STATUS_FORMAT_JSON);
    assert_true(q.full);
    status_query_parse("full&openmetrics", &q);
    assert_int_equal(q.format, STATUS_FORMAT_OPENMETRICS);
    assert_true(q.full);
    status_query_parse("full=1;json=", &q);
    assert_int_equal(q.format, STATUS_FORMAT_JSON);
    assert_true(q.full);
    status_query_parse("jsonx&fully&&=&html", &q);
    assert_int_equal(q.format, STATUS_FORMAT_TEXT);
    assert_false(q.full);
    assert_string_equal(status_query_of("a=1", "/s?b"), "a=1");
    assert_string_equal(status_query_of(NULL, "/s?json&full"), "json&full");
    assert_null(status_query_of(NULL, "/s"));
    assert_null(status_query_of(NULL, NULL));
}

/* --- a hand-built master ---------------------------------------------- */

struct fixture {
    struct manager m;
    struct pool *pools[2];
    struct pool exec, mod;
    struct pool_conf exec_conf, mod_conf;
    struct slot exec_slots[4], mod_slots[4];
    struct listener exec_l, mod_l;
    int clients[2];
    char path[108];
};

#define NOW_MS 100000
#define NOW_WALL 1700000100.0

static void
fixture_listen(struct fixture *f)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    snprintf(f->path, sizeof(f->path), "/tmp/fcgipm-status.%d",
             (int)getpid());
    unlink(f->path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    f->mod_l.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(f->mod_l.fd, (struct sockaddr *)&sa, sizeof(sa)),
                     0);
    assert_int_equal(listen(f->mod_l.fd, 7), 0);
    for (int i = 0; i < 2; i++) {
        f->clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(f->clients[i], (struct sockaddr *)&sa,
                                 sizeof(sa)), 0);
    }
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    setenv("TZ", "UTC", 1);
    tzset();
    f->exec_conf = (struct pool_conf){ .name = "app", .mode = MODE_EXEC,
                                       .pm = PM_STATIC, .min_workers = 1,
                                       .max_workers = 8 };
    f->mod_conf = (struct pool_conf){ .name = "mod", .mode = MODE_MODULE,
                                      .pm = PM_DYNAMIC, .min_workers = 2,
                                      .max_workers = 16 };
    f->exec_l = (struct listener){ .name = "unix:/run/app.sock", .fd = -1 };
    f->mod_l = (struct listener){ .name = "unix:/run/mod.sock", .fd = -1 };
    fixture_listen(f);
    for (unsigned i = 0; i < 4; i++) {
        f->exec_slots[i].index = f->mod_slots[i].index = i;
        f->exec_slots[i].started_at = f->mod_slots[i].started_at =
            NOW_MS - 10000;
    }
    /* exec: two running, one stopping, one empty. */
    f->exec_slots[0].state = f->exec_slots[1].state = SLOT_RUNNING;
    f->exec_slots[2].state = SLOT_STOPPING;
    f->exec_slots[0].pid = 101;
    f->exec_slots[1].pid = 102;
    f->exec_slots[2].pid = 103;
    f->exec = (struct pool){ .m = &f->m, .conf = &f->exec_conf,
                             .listeners = &f->exec_l, .nlisteners = 1,
                             .slots = f->exec_slots, .nslots = 4,
                             .target = 2, .spawns = 5, .respawns = 2,
                             .crash_loop = true,
                             .started_wall = NOW_WALL - 100 };
    /* module: one busy, two idle, one waiting to respawn. */
    struct sb_map *map = scoreboard_create(4);
    struct scoreboard *sb = map->shm;
    for (unsigned i = 0; i < 3; i++) {
        f->mod_slots[i].state = SLOT_RUNNING;
        f->mod_slots[i].pid = 201 + (pid_t)i;
        scoreboard_claim(&sb->slots[i], NOW_MS - 10000);
        scoreboard_set_state(&sb->slots[i], SB_IDLE);
        sb->slots[i].requests = 10 * (i + 1);
    }
    f->mod_slots[3].state = SLOT_WAITING;
    sb->slots[1].slow_requests = 1;
    scoreboard_begin_request(&sb->slots[1], "POST",
                             "/a\"b\\c?d=\n\x01\xff\xc2\x9b\xc3\xa9",
                             NOW_MS - 1500);
    f->mod = (struct pool){ .m = &f->m, .conf = &f->mod_conf,
                            .listeners = &f->mod_l, .nlisteners = 1,
                            .slots = f->mod_slots, .nslots = 4,
                            .target = 3, .spawns = 3, .scoreboard = map,
                            .started_wall = NOW_WALL - 50,
                            .gone_requests = 1000, .gone_slow = 4 };
    f->pools[0] = &f->exec;
    f->pools[1] = &f->mod;
    f->m.pools = f->pools;
    f->m.npools = 2;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    scoreboard_destroy(f->mod.scoreboard);
    status_peaks_free(&f->m.status.peaks);
    for (int i = 0; i < 2; i++)
        close(f->clients[i]);
    close(f->mod_l.fd);
    unlink(f->path);
    free(f);
    return 0;
}

static void
test_collect(void **state)
{
    struct fixture *f = *state;
    struct status_report r;

    assert_int_equal(status_collect(&f->m, true, NOW_MS, NOW_WALL, &r), 0);
    assert_int_equal(r.npools, 2);
    const struct status_pool *e = &r.pools[0], *p = &r.pools[1];
    assert_string_equal(e->name, "app");
    assert_string_equal(e->mode, "exec");
    assert_string_equal(e->pm, "static");
    assert_int_equal(e->start_since_s, 100);
    assert_int_equal(e->total, 3);
    assert_true(e->accepted == STATUS_UNKNOWN);
    assert_true(e->idle == STATUS_UNKNOWN);
    assert_true(e->active == STATUS_UNKNOWN);
    assert_true(e->slow == STATUS_UNKNOWN);
    assert_true(e->listen_queue == STATUS_UNKNOWN);  /* no socket */
    assert_int_equal(e->nworkers, 3);
    assert_string_equal(e->workers[0].state, "running");
    assert_string_equal(e->workers[2].state, "stopping");
    assert_true(e->workers[0].requests == STATUS_UNKNOWN);
    assert_int_equal(e->workers[1].pid, 102);
    assert_int_equal(e->workers[1].start_since_s, 10);
    assert_true(e->crash_loop);

    assert_string_equal(p->pm, "dynamic");
    assert_int_equal(p->total, 3);
    assert_int_equal(p->idle, 2);
    assert_int_equal(p->active, 1);
    assert_int_equal(p->max_active, 1);
    assert_int_equal(p->accepted, 1000 + 10 + 20 + 30);
    assert_int_equal(p->slow, 5);
    assert_int_equal(p->listen_queue, 2);
    assert_int_equal(p->max_listen_queue, 2);
    assert_int_equal(p->listen_queue_len, 7);
    assert_int_equal(p->min_workers, 2);
    assert_int_equal(p->max_workers, 16);
    assert_int_equal(p->target, 3);
    assert_int_equal(p->nlisten, 1);
    assert_string_equal(p->listen[0], "unix:/run/mod.sock");
    assert_int_equal(p->nworkers, 3);
    assert_true(p->workers[1].busy);
    assert_int_equal(p->workers[1].pid, 202);
    assert_int_equal(p->workers[1].duration_ms, 1500);
    assert_string_equal(p->workers[1].method, "POST");
    assert_string_equal(p->workers[0].state, "idle");
    assert_false(p->workers[0].busy);
    status_report_free(&r);

    /* The peaks stay when the queue empties and workers go idle. */
    close(f->clients[0]);
    close(f->clients[1]);
    f->clients[0] = f->clients[1] = -1;
    accept(f->mod_l.fd, NULL, NULL);
    scoreboard_end_request(&f->mod.scoreboard->shm->slots[1]);
    assert_int_equal(status_collect(&f->m, false, NOW_MS, NOW_WALL, &r), 0);
    assert_int_equal(r.pools[1].active, 0);
    assert_int_equal(r.pools[1].max_active, 1);
    assert_int_equal(r.pools[1].listen_queue, 1);
    assert_int_equal(r.pools[1].max_listen_queue, 2);
    assert_null(r.pools[1].workers);
    status_report_free(&r);

    /* A retired pool is not shown. */
    f->exec.retired = true;
    assert_int_equal(status_collect(&f->m, false, NOW_MS, NOW_WALL, &r), 0);
    assert_int_equal(r.npools, 1);
    assert_string_equal(r.pools[0].name, "mod");
    status_report_free(&r);
}

/* --- text ------------------------------------------------------------- */

/* Whether s is lines of printable UTF-8: no control byte but newline,
 * no C1 control, nothing that is not UTF-8 (checked here on its own,
 * not with the cleaner under test). */
static bool
printable(const char *s)
{
    static const unsigned min[] = { 0, 0x80, 0x800, 0x10000 };
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        unsigned c = *p, cp, n;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n') || c == 0x7f)
                return false;
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return false;
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min[n] || cp <= 0x9f || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

static void
test_text(void **state)
{
    struct fixture *f = *state;
    struct status_report r;
    struct status_buf b = { 0 };

    assert_int_equal(status_collect(&f->m, true, NOW_MS, NOW_WALL, &r), 0);
    assert_int_equal(status_format_text(&r, false, &b), 0);
    assert_non_null(strstr(b.data, "pool:                 app\n"
                                   "process manager:      static\n"
                                   "start time:           "
                                   "14/Nov/2023:22:13:20 +0000\n"
                                   "start since:          100\n"
                                   "accepted conn:        -\n"));
    assert_non_null(strstr(b.data, "crash loop:           yes\n\n"
                                   "pool:                 mod\n"));
    assert_non_null(strstr(b.data, "accepted conn:        1060\n"
                                   "listen queue:         2\n"
                                   "max listen queue:     2\n"
                                   "listen queue len:     7\n"
                                   "idle processes:       2\n"
                                   "active processes:     1\n"
                                   "total processes:      3\n"
                                   "max active processes: 1\n"
                                   "max children reached: 0\n"
                                   "slow requests:        5\n"));
    assert_non_null(strstr(b.data, "listen:               "
                                   "unix:/run/mod.sock\n"));
    assert_null(strstr(b.data, "*****"));
    /* Every line is "key: value" with the value at column 23. */
    for (char *line = b.data; *line != '\0';) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        if (nl != line) {
            assert_true(nl - line > 22);
            assert_int_equal(line[21], ' ');
            assert_non_null(memchr(line, ':', 21));
        }
        line = nl + 1;
    }
    b.len = 0;
    assert_int_equal(status_format_text(&r, true, &b), 0);
    assert_non_null(strstr(b.data, "\n************************\n"
                                   "pid:                  202\n"
                                   "slot:                 1\n"
                                   "state:                busy\n"));
    assert_non_null(strstr(b.data, "request duration:     1500000\n"
                                   "request method:       POST\n"));
    /* Control bytes cannot break a line nor reach a terminal, C1 ones
     * (CSI here) neither; what is not UTF-8 is escaped too. */
    assert_non_null(strstr(b.data, "request URI:          "
                                   "/a\"b\\c?d=\\x0a\\x01\\xff\\xc2\\x9b"
                                   "\xc3\xa9\n"));
    assert_true(printable(b.data));
    assert_non_null(strstr(b.data, "pid:                  103\n"
                                   "slot:                 2\n"
                                   "state:                stopping\n"));
    status_buf_free(&b);
    status_report_free(&r);
}

/* --- JSON, checked by a strict little parser --------------------------- */

struct json {
    const char *s;
    int depth;
};

static bool json_value(struct json *j);

static void
json_ws(struct json *j)
{
    while (*j->s == ' ' || *j->s == '\n' || *j->s == '\t' || *j->s == '\r')
        j->s++;
}

static bool
json_string(struct json *j)
{
    if (*j->s++ != '"')
        return false;
    while (*j->s != '"') {
        unsigned char c = (unsigned char)*j->s;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            j->s++;
            if (*j->s == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)j->s[i]))
                        return false;
                j->s += 4;
            } else if (strchr("\"\\/bfnrt", *j->s) == NULL || *j->s == 0) {
                return false;
            }
        }
        j->s++;
    }
    j->s++;
    return true;
}

static bool
json_number(struct json *j)
{
    const char *start = j->s;

    if (*j->s == '-')
        j->s++;
    if (!isdigit((unsigned char)*j->s))
        return false;
    if (*j->s == '0' && isdigit((unsigned char)j->s[1]))
        return false;
    while (isdigit((unsigned char)*j->s) || strchr(".eE+-", *j->s) != NULL)
        j->s++;
    return j->s > start;
}

static bool
json_members(struct json *j, char close, bool object)
{
    j->s++;
    json_ws(j);
    if (*j->s == close) {
        j->s++;
        return true;
    }
    for (;;) {
        json_ws(j);
        if (object) {
            if (!json_string(j))
                return false;
            json_ws(j);
            if (*j->s++ != ':')
                return false;
        }
        if (!json_value(j))
            return false;
        json_ws(j);
        if (*j->s == close) {
            j->s++;
            return true;
        }
        if (*j->s++ != ',')
            return false;
    }
}

static bool
json_value(struct json *j)
{
    bool ok;

    json_ws(j);
    if (++j->depth > 16)
        return false;
    if (*j->s == '{')
        ok = json_members(j, '}', true);
    else if (*j->s == '[')
        ok = json_members(j, ']', false);
    else if (*j->s == '"')
        ok = json_string(j);
    else if (strncmp(j->s, "true", 4) == 0 || strncmp(j->s, "null", 4) == 0)
        ok = (j->s += 4, true);
    else if (strncmp(j->s, "false", 5) == 0)
        ok = (j->s += 5, true);
    else
        ok = json_number(j);
    j->depth--;
    return ok;
}

static bool
json_valid(const char *s)
{
    struct json j = { .s = s };

    if (!json_value(&j))
        return false;
    json_ws(&j);
    return *j.s == '\0';
}

static void
test_json_parser_rejects(void **state)
{
    (void)state;
    assert_true(json_valid("{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\"}"));
    assert_false(json_valid("{\"a\":1,}"));
    assert_false(json_valid("{\"a\":\"x\ny\"}"));
    assert_false(json_valid("{\"a\":01}"));
    assert_false(json_valid("{\"a\" 1}"));
    assert_false(json_valid("[1] 2"));
}

static void
test_json(void **state)
{
    struct fixture *f = *state;
    struct status_report r;
    struct status_buf b = { 0 };

    assert_int_equal(status_collect(&f->m, true, NOW_MS, NOW_WALL, &r), 0);
    assert_int_equal(status_format_json(&r, false, &b), 0);
    assert_true(json_valid(b.data));
    assert_non_null(strstr(b.data, "{\"pools\":[{\"pool\":\"app\","
                                   "\"process manager\":\"static\","
                                   "\"start time\":1700000000,"
                                   "\"start since\":100,"
                                   "\"accepted conn\":null,"));
    assert_non_null(strstr(b.data, "\"listen queue\":2,"
                                   "\"max listen queue\":2,"
                                   "\"listen queue len\":7,"
                                   "\"idle processes\":2,"
                                   "\"active processes\":1,"
                                   "\"total processes\":3,"));
    assert_non_null(strstr(b.data, "\"listen\":[\"unix:/run/mod.sock\"]"));
    assert_non_null(strstr(b.data, "\"crash loop\":true"));
    assert_null(strstr(b.data, "\"processes\""));
    b.len = 0;
    assert_int_equal(status_format_json(&r, true, &b), 0);
    assert_true(json_valid(b.data));
    assert_non_null(strstr(b.data, "\"processes\":[{\"pid\":101,\"slot\":0,"
                                   "\"state\":\"running\","));
    assert_non_null(strstr(b.data, "\"request duration\":1500000,"
                                   "\"request method\":\"POST\","
                                   "\"request uri\":\"/a\\\"b\\\\c?d="
                                   "\\\\x0a\\\\x01\\\\xff\\\\xc2\\\\x9b"
                                   "\xc3\xa9\"}"));
    assert_true(printable(b.data));
    assert_non_null(strstr(b.data, "\"request method\":null"));
    status_buf_free(&b);
    status_report_free(&r);
}

/* --- OpenMetrics, checked line by line ---------------------------------- */

static bool
om_name_ok(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* "{k="v",...}" at s; returns the end, or NULL. */
static const char *
om_labels(const char *s)
{
    if (*s++ != '{')
        return NULL;
    while (*s != '}') {
        size_t n = strcspn(s, "=");
        if (!om_name_ok(s, n) || s[n] != '=' || s[n + 1] != '"')
            return NULL;
        for (s += n + 2; *s != '"'; s++) {
            if (*s == '\n' || *s == '\0')
                return NULL;
            if (*s == '\\' && strchr("\\\"n", *++s) == NULL)
                return NULL;
        }
        s++;
        if (*s == ',')
            s++;
        else if (*s != '}')
            return NULL;
    }
    return s + 1;
}

/* The exposition rules: TYPE before samples, sample names per type,
 * families contiguous and unique, numeric values, "# EOF" last. */
static void
om_check(const char *text)
{
    char family[128] = "", type[16] = "", seen[4096] = " ";
    const char *line = text;
    bool eof = false;

    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_false(eof);
        char buf[1024];
        size_t len = (size_t)(nl - line);
        assert_true(len < sizeof(buf));
        memcpy(buf, line, len);
        buf[len] = '\0';
        if (strcmp(buf, "# EOF") == 0) {
            eof = true;
        } else if (strncmp(buf, "# TYPE ", 7) == 0) {
            char key[140];
            assert_int_equal(sscanf(buf, "# TYPE %127s %15s", family, type),
                             2);
            assert_true(strcmp(type, "gauge") == 0
                        || strcmp(type, "counter") == 0
                        || strcmp(type, "info") == 0);
            snprintf(key, sizeof(key), " %s ", family);
            assert_null(strstr(seen, key));
            strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
        } else if (strncmp(buf, "# HELP ", 7) == 0) {
            assert_int_equal(strncmp(buf + 7, family, strlen(family)), 0);
            assert_int_equal(buf[7 + strlen(family)], ' ');
        } else {
            char want[160];
            size_t n = strcspn(buf, "{ ");
            assert_true(om_name_ok(buf, n));
            assert_true(family[0] != '\0');
            snprintf(want, sizeof(want), "%s%s", family,
                     strcmp(type, "counter") == 0 ? "_total"
                     : strcmp(type, "info") == 0 ? "_info" : "");
            assert_int_equal(n, strlen(want));
            assert_int_equal(strncmp(buf, want, n), 0);
            const char *v = buf + n;
            if (*v == '{')
                v = om_labels(v);
            assert_non_null(v);
            assert_int_equal(*v, ' ');
            char *end;
            strtod(v + 1, &end);
            assert_true(end > v + 1 && *end == '\0');
        }
        line = nl + 1;
    }
    assert_true(eof);
}

static void
test_openmetrics(void **state)
{
    struct fixture *f = *state;
    struct status_report r;
    struct status_buf b = { 0 };

    assert_int_equal(status_collect(&f->m, true, NOW_MS, NOW_WALL, &r), 0);
    assert_int_equal(status_format_openmetrics(&r, false, &b), 0);
    om_check(b.data);
    assert_non_null(strstr(b.data, "# TYPE fcgipm_listen_queue gauge\n"));
    assert_non_null(strstr(b.data, "fcgipm_listen_queue{pool=\"mod\"} 2\n"));
    assert_null(strstr(b.data, "fcgipm_listen_queue{pool=\"app\"}"));
    assert_non_null(strstr(b.data, "# TYPE fcgipm_accepted_connections "
                                   "counter\n"));
    assert_non_null(strstr(b.data, "fcgipm_accepted_connections_total"
                                   "{pool=\"mod\"} 1060\n"));
    assert_non_null(strstr(b.data, "fcgipm_total_processes{pool=\"app\"} "
                                   "3\n"));
    assert_non_null(strstr(b.data, "fcgipm_pool_info{pool=\"mod\","
                                   "process_manager=\"dynamic\","
                                   "mode=\"module\"} 1\n"));
    assert_non_null(strstr(b.data, "fcgipm_crash_loop{pool=\"app\"} 1\n"));
    assert_null(strstr(b.data, "fcgipm_worker"));
    const char *eof = strstr(b.data, "# EOF\n");
    assert_non_null(eof);
    assert_int_equal(eof[6], '\0');
    b.len = 0;
    assert_int_equal(status_format_openmetrics(&r, true, &b), 0);
    om_check(b.data);
    assert_non_null(strstr(b.data, "fcgipm_worker_info{pool=\"mod\","
                                   "slot=\"1\",pid=\"202\","
                                   "state=\"busy\"} 1\n"));
    assert_non_null(strstr(b.data, "fcgipm_worker_requests_total{pool="
                                   "\"mod\",slot=\"1\",pid=\"202\"} 20\n"));
    assert_null(strstr(b.data, "fcgipm_worker_requests_total{pool=\"app\""));
    assert_non_null(strstr(b.data, "fcgipm_worker_request_duration_seconds"
                                   "{pool=\"mod\",slot=\"1\",pid=\"202\"} "
                                   "1.500\n"));
    assert_non_null(strstr(b.data, "method=\"POST\",uri=\"/a\\\"b\\\\c?d="
                                   "\\\\x0a\\\\x01\\\\xff\\\\xc2\\\\x9b"
                                   "\xc3\xa9\"} 1\n"));
    assert_true(printable(b.data));
    status_buf_free(&b);
    status_report_free(&r);
}

/* A worker reading a request's head from a slow client is active (php-fpm
 * counts "Reading headers" so), and its row says "reading", with no
 * request yet, in every format. */
static void
test_reading_is_active(void **state)
{
    struct fixture *f = *state;
    struct status_report r;
    struct status_buf b = { 0 };

    scoreboard_set_state(&f->mod.scoreboard->shm->slots[2], SB_READING);
    assert_int_equal(status_collect(&f->m, true, NOW_MS, NOW_WALL, &r), 0);
    const struct status_pool *p = &r.pools[1];
    assert_int_equal(p->idle, 1);
    assert_int_equal(p->active, 2);
    assert_int_equal(p->total, 3);
    assert_true(p->max_active >= 2);
    assert_string_equal(p->workers[2].state, "reading");
    assert_false(p->workers[2].busy);
    assert_int_equal(status_format_text(&r, true, &b), 0);
    assert_non_null(strstr(b.data, "active processes:     2\n"));
    assert_non_null(strstr(b.data, "pid:                  203\n"
                                   "slot:                 2\n"
                                   "state:                reading\n"));
    b.len = 0;
    assert_int_equal(status_format_json(&r, true, &b), 0);
    assert_true(json_valid(b.data));
    assert_non_null(strstr(b.data, "\"active processes\":2,"));
    assert_non_null(strstr(b.data, "{\"pid\":203,\"slot\":2,"
                                   "\"state\":\"reading\","));
    b.len = 0;
    assert_int_equal(status_format_openmetrics(&r, true, &b), 0);
    om_check(b.data);
    assert_non_null(strstr(b.data, "fcgipm_active_processes{pool=\"mod\"} "
                                   "2\n"));
    assert_non_null(strstr(b.data, "fcgipm_worker_info{pool=\"mod\","
                                   "slot=\"2\",pid=\"203\","
                                   "state=\"reading\"} 1\n"));
    status_buf_free(&b);
    status_report_free(&r);
}

static void
test_content_types(void **state)
{
    (void)state;
    assert_string_equal(status_content_type(STATUS_FORMAT_OPENMETRICS),
                        "application/openmetrics-text; version=1.0.0; "
                        "charset=utf-8");
    assert_string_equal(status_content_type(STATUS_FORMAT_JSON),
                        "application/json");
}

/* --- answers ------------------------------------------------------------ */

static void
test_answer(void **state)
{
    struct fixture *f = *state;
    struct status_buf b = { 0 };
    struct status_request rq = { .request_uri = "/ping" };

    assert_int_equal(status_answer(&f->m, &rq, NOW_MS, NOW_WALL, &b), 0);
    assert_int_equal(strncmp(b.data, "Status: 200 OK\r\n", 16), 0);
    assert_non_null(strstr(b.data, "\r\n\r\npong\n"));
    b.len = 0;
    rq = (struct status_request){ .script_name = "/status",
                                  .query_string = "openmetrics" };
    assert_int_equal(status_answer(&f->m, &rq, NOW_MS, NOW_WALL, &b), 0);
    assert_non_null(strstr(b.data, "Content-Type: application/openmetrics"
                                   "-text; version=1.0.0; charset=utf-8\r\n"));
    om_check(strstr(b.data, "\r\n\r\n") + 4);
    b.len = 0;
    rq.method = "HEAD";
    assert_int_equal(status_answer(&f->m, &rq, NOW_MS, NOW_WALL, &b), 0);
    assert_int_equal(strcmp(b.data + b.len - 4, "\r\n\r\n"), 0);
    b.len = 0;
    /* Paths come from the configuration. */
    f->m.conf.status_path = "/fpm-status";
    rq = (struct status_request){ .request_uri = "/status?json" };
    assert_int_equal(status_answer(&f->m, &rq, NOW_MS, NOW_WALL, &b), 0);
    assert_int_equal(strncmp(b.data, "Status: 404 Not Found\r\n", 23), 0);
    b.len = 0;
    rq.request_uri = "/fpm-status?json&full";
    assert_int_equal(status_answer(&f->m, &rq, NOW_MS, NOW_WALL, &b), 0);
    assert_non_null(strstr(b.data, "Content-Type: application/json\r\n"));
    assert_true(json_valid(strstr(b.data, "\r\n\r\n") + 4));
    assert_non_null(strstr(b.data, "\"processes\""));
    status_buf_free(&b);
}

/* --- the FastCGI conversation -------------------------------------------- */

struct wire {
    uint8_t data[16384];
    size_t len;
};

static void
wire_record(struct wire *w, uint8_t type, uint16_t id, const void *content,
            size_t len)
{
    ssize_t n = fcgi_record_encode(w->data + w->len, sizeof(w->data) - w->len,
                                   type, id, content, len);
    assert_true(n > 0);
    w->len += (size_t)n;
}

static void
wire_begin(struct wire *w, uint16_t id, uint16_t role, uint8_t flags)
{
    uint8_t body[FCGI_RECORD_BODY_LEN];

    fcgi_record_encode_begin(body, role, flags);
    wire_record(w, FCGI_TYPE_BEGIN_REQUEST, id, body, sizeof(body));
}

static void
wire_params(struct wire *w, uint16_t id, const char *uri)
{
    uint8_t p[512];
    ssize_t n = fcgi_record_pair_encode(p, sizeof(p), "REQUEST_URI", 11, uri,
                                        strlen(uri));
    assert_true(n > 0);
    wire_record(w, FCGI_TYPE_PARAMS, id, p, (size_t)n);
    wire_record(w, FCGI_TYPE_PARAMS, id, NULL, 0);
}

static int
fake_answer(void *ctx, const struct status_request *rq,
            struct status_buf *out)
{
    int *calls = ctx;

    (*calls)++;
    return status_buf_printf(out, "Status: 200 OK\r\n\r\n%s",
                             rq->request_uri ? rq->request_uri : "(none)");
}

static void
conn_feed(struct status_conn *c, const struct wire *w)
{
    assert_int_equal(fcgi_record_decoder_feed(&c->dec, w->data, w->len),
                     w->len);
}

/* Decode everything queued in c->out; mark it sent. Returns how many
 * records; *last is the last one (its content copied here), text gets
 * their STDOUT. */
static uint8_t last_content[FCGI_RECORD_MAX_CONTENT];

static int
conn_drain(struct status_conn *c, struct fcgi_record *last, char *text,
           size_t textlen)
{
    struct fcgi_record_decoder *d = malloc(sizeof(*d));
    struct fcgi_record r;
    int n = 0;
    size_t tl = 0;

    fcgi_record_decoder_init(d);
    assert_int_equal(fcgi_record_decoder_feed(d, c->out.data, c->out.len),
                     c->out.len);
    while (fcgi_record_decoder_next(d, &r) == FCGI_DECODE_RECORD) {
        if (r.type == FCGI_TYPE_STDOUT && text != NULL
            && tl + r.content_len < textlen) {
            memcpy(text + tl, r.content, r.content_len);
            tl += r.content_len;
        }
        *last = r;
        memcpy(last_content, r.content, r.content_len);
        last->content = last_content;
        n++;
    }
    assert_int_equal(fcgi_record_decoder_buffered(d), 0);
    if (text != NULL)
        text[tl] = '\0';
    status_conn_sent(c, status_conn_pending(c));
    free(d);
    return n;
}

static void
test_conn_request(void **state)
{
    struct status_conn *c = malloc(sizeof(*c));
    struct wire w = { .len = 0 };
    struct fcgi_record last;
    struct fcgi_end_request end;
    char text[256];
    int calls = 0;

    (void)state;
    status_conn_init(c);
    assert_int_equal(status_conn_process(c, fake_answer, &calls),
                     STATUS_CONN_NEED_INPUT);
    /* Two requests on a kept connection, arriving together. */
    wire_begin(&w, 1, FCGI_ROLE_RESPONDER, FCGI_FLAG_KEEP_CONN);
    wire_params(&w, 1, "/one");
    wire_record(&w, FCGI_TYPE_STDIN, 1, NULL, 0);
    wire_begin(&w, 2, FCGI_ROLE_RESPONDER, 0);
    wire_params(&w, 2, "/two");
    wire_record(&w, FCGI_TYPE_STDIN, 2, "ignored", 7);
    conn_feed(c, &w);
    assert_int_equal(status_conn_process(c, fake_answer, &calls),
                     STATUS_CONN_OUTPUT);
    assert_int_equal(calls, 1);
    /* Nothing more is answered until the first answer is sent. */
    assert_int_equal(status_conn_process(c, fake_answer, &calls),
                     STATUS_CONN_OUTPUT);
    assert_int_equal(calls, 1);
    assert_int_equal(conn_drain(c, &last, text, sizeof(text)), 3);
    assert_string_equal(text, "Status: 200 OK\r\n\r\n/one");
    assert_int_equal(last.type, FCGI_TYPE_END_REQUEST);
    assert_int_equal(last.request_id, 1);
    assert_int_equal(fcgi_record_decode_end(&last, &end), 0);
    assert_int_equal(end.protocol_status, FCGI_PROTO_REQUEST_COMPLETE);
    assert_false(c->close_after);
    assert_int_equal(status_conn_process(c, fake_answer, &calls),
                     STATUS_CONN_OUTPUT);
    assert_int_equal(calls, 2);
    assert_true(c->close_after);   /* no KEEP_CONN this time */
    assert_int_equal(conn_drain(c, &last, text, sizeof(text)), 3);
    assert_string_equal(text, "Status: 200 OK\r\n\r\n/two");
    assert_int_equal(last.request_id, 2);
    status_conn_free(c);
    free(c);
}

static void
test_conn_management(void **state)
{
    struct status_conn *c = malloc(sizeof(*c));
    struct wire w = { .len = 0 };
    struct fcgi_record last;
    struct fcgi_end_request end;
    uint8_t q[128];
    int calls = 0;

    (void)state;
    status_conn_init(c);
    size_t n = (size_t)fcgi_record_pair_encode(q, sizeof(q), "FCGI_MPXS_CONNS",
                                               15, "", 0);
    n += (size_t)fcgi_record_pair_encode(q + n, sizeof(q) - n, "X_OTHER", 7,
                                         "", 0);
    wire_record(&w, FCGI_TYPE_GET_VALUES, 0, q, n);
    conn_feed(c, &w);
    assert_int_equal(status_conn_process(c, fake_answer, &calls),
                     STATUS_CONN_OUTPUT);
    assert_int_equal(conn_drain(c, &last, NULL, 0), 1);
    assert_int_equal(last.type, FCGI_TYPE_GET_VALUES_RESULT);
    assert_int_equal(last.content_len, 2 + 15 + 1);
    assert_memory_equal(last.content + 2, "FCGI_MPXS_CONNS0", 16);

    /* An unknown type, and a known one sent as a management record. */
    w.len = 0;
    wire_record(&w, 42, 0, "x", 1);
    wire_record(&w, 77, 5, NULL, 0);
    wire_record(&w, FCGI_TYPE_PARAMS, 0, NULL, 0);
    conn_feed(c, &w);
    for (int i = 0; i < 3; i++) {
        uint8_t want[] = { 42, 77, FCGI_TYPE_PARAMS };
        assert_int_equal(status_conn_process(c, fake_answer, &calls),
                         STATUS_CONN_OUTPUT);
        assert_int_equal(conn_drain(c, &last, NULL, 0), 1);
        assert_int_equal(last.type, FCGI_TYPE_UNKNOWN_TYPE);
        assert_int_equal(last.content[0], want[i]);
    }

    /* Other roles are refused; so is a second request at once. */
    w.len = 0;
    wire_begin(&w, 3, FCGI_ROLE_AUTHORIZER, FCGI_FLAG_KEEP_CONN);
    wire_begin(&w, 4, FCGI_ROLE_RESPONDER, FCGI_FLAG_KEEP_CONN);
    wire_begin(&w, 5, FCGI_ROLE_RESPONDER, FCGI_FLAG_KEEP_CONN);
    wire_record(&w, FCGI_TYPE_ABORT_REQUEST, 4, NULL, 0);
    conn_feed(c, &w);
    uint8_t want[] = { FCGI_PROTO_UNKNOWN_ROLE, FCGI_PROTO_CANT_MPX_CONN,
                       FCGI_PROTO_REQUEST_COMPLETE };
    uint16_t ids[] = { 3, 5, 4 };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(status_conn_process(c, fake_answer, &calls),
                         STATUS_CONN_OUTPUT);
        assert_int_equal(conn_drain(c, &last, NULL, 0), 1);
        assert_int_equal(fcgi_record_decode_end(&last, &end), 0);
        assert_int_equal(end.protocol_status, want[i]);
        assert_int_equal(last.request_id, ids[i]);
    }
    assert_int_equal(calls, 0);
    assert_false(c->close_after);
    assert_int_equal(status_conn_process(c, fake_answer, &calls),
                     STATUS_CONN_NEED_INPUT);
    status_conn_free(c);
    free(c);
}

/* Feed bytes; the conversation must end in ERROR (never crash). */
static void
expect_error(const struct wire *w)
{
    struct status_conn *c = malloc(sizeof(*c));
    int calls = 0;
    enum status_conn_result r;

    status_conn_init(c);
    size_t off = 0;
    do {
        off += fcgi_record_decoder_feed(&c->dec, w->data + off,
                                        w->len - off);
        while ((r = status_conn_process(c, fake_answer, &calls))
               == STATUS_CONN_OUTPUT && !c->close_after)
            status_conn_sent(c, status_conn_pending(c));
    } while (r == STATUS_CONN_NEED_INPUT && off < w->len);
    assert_int_equal(r, STATUS_CONN_ERROR);
    assert_non_null(c->error);
    status_conn_free(c);
    free(c);
}

static void
test_conn_garbage(void **state)
{
    struct wire w = { .len = 0 };
    uint8_t pair[16];

    (void)state;
    memcpy(w.data, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    w.len = 27;
    expect_error(&w);
    /* A BEGIN_REQUEST with a short body. */
    w.len = 0;
    wire_record(&w, FCGI_TYPE_BEGIN_REQUEST, 1, "abc", 3);
    expect_error(&w);
    /* PARAMS with a pair longer than the stream. */
    w.len = 0;
    wire_begin(&w, 1, FCGI_ROLE_RESPONDER, 0);
    memcpy(pair, "\x80\xff\xff\xff\x01" "abc", 8);
    wire_record(&w, FCGI_TYPE_PARAMS, 1, pair, 8);
    wire_record(&w, FCGI_TYPE_PARAMS, 1, NULL, 0);
    expect_error(&w);
    /* A second BEGIN_REQUEST for the request in progress. */
    w.len = 0;
    wire_begin(&w, 1, FCGI_ROLE_RESPONDER, 0);
    wire_begin(&w, 1, FCGI_ROLE_RESPONDER, 0);
    expect_error(&w);
    /* A record only an application sends. */
    w.len = 0;
    wire_record(&w, FCGI_TYPE_STDOUT, 1, "x", 1);
    expect_error(&w);
}

static void
test_conn_params_limit(void **state)
{
    struct status_conn *c = malloc(sizeof(*c));
    struct wire w = { .len = 0 };
    static uint8_t chunk[8000];
    int calls = 0;

    (void)state;
    status_conn_init(c);
    wire_begin(&w, 1, FCGI_ROLE_RESPONDER, FCGI_FLAG_KEEP_CONN);
    conn_feed(c, &w);
    enum status_conn_result r = status_conn_process(c, fake_answer, &calls);
    for (int i = 0; i < 20 && r == STATUS_CONN_NEED_INPUT; i++) {
        w.len = 0;
        wire_record(&w, FCGI_TYPE_PARAMS, 1, chunk, sizeof(chunk));
        conn_feed(c, &w);
        r = status_conn_process(c, fake_answer, &calls);
    }
    assert_int_equal(r, STATUS_CONN_ERROR);
    assert_string_equal(c->error, "PARAMS over 64 KiB");
    assert_int_equal(calls, 0);
    status_conn_free(c);
    free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_query),
        cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test(test_json_parser_rejects),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openmetrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reading_is_active, setup,
                                        teardown),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test_setup_teardown(test_answer, setup, teardown),
        cmocka_unit_test(test_conn_request),
        cmocka_unit_test(test_conn_management),
        cmocka_unit_test(test_conn_garbage),
        cmocka_unit_test(test_conn_params_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
