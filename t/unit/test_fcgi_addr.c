/* fcgi_addr: every address form users may write, every way to get one
 * wrong, formatting round trips, and connecting to a real unix socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fcgi_addr.h"

static void
parse_ok(const char *s, struct fcgi_addr *a)
{
    char err[128];

    if (fcgi_addr_parse(s, a, err, sizeof(err)) != 0)
        fail_msg("\"%s\": %s", s, err);
}

/* Fails to parse s with a reason containing want. */
static void
parse_bad(const char *s, const char *want)
{
    struct fcgi_addr a;
    char err[128] = "untouched";

    errno = 0;
    if (fcgi_addr_parse(s, &a, err, sizeof(err)) != -1)
        fail_msg("\"%s\" parsed", s);
    assert_int_equal(errno, EINVAL);
    if (strstr(err, want) == NULL)
        fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", s, err, want);
}

static void
assert_v4(const struct fcgi_addr *a, const char *host, unsigned port)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->sa;
    char buf[INET_ADDRSTRLEN];

    assert_int_equal(a->family, AF_INET);
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(a->salen, sizeof(*sin));
    assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
    assert_string_equal(buf, host);
    assert_int_equal(ntohs(sin->sin_port), port);
}

static void
test_unix_prefixed(void **state)
{
    struct fcgi_addr a;
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a.sa;

    (void)state;
    parse_ok("unix:/run/fcgipm.sock", &a);
    assert_int_equal(a.family, AF_UNIX);
    assert_int_equal(sun->sun_family, AF_UNIX);
    assert_string_equal(sun->sun_path, "/run/fcgipm.sock");
    assert_string_equal(a.path, "/run/fcgipm.sock");
    assert_int_equal(a.salen, offsetof(struct sockaddr_un, sun_path) +
                              strlen("/run/fcgipm.sock") + 1);
    parse_ok("unix:relative.sock", &a);
    assert_string_equal(a.path, "relative.sock");
}

static void
test_unix_bare_paths(void **state)
{
    struct fcgi_addr a;

    (void)state;
    parse_ok("/tmp/x.sock", &a);
    assert_int_equal(a.family, AF_UNIX);
    assert_string_equal(a.path, "/tmp/x.sock");
    parse_ok("./x.sock", &a);
    assert_string_equal(a.path, "./x.sock");
    parse_ok("run/fcgipm.sock", &a);
    assert_string_equal(a.path, "run/fcgipm.sock");
    /* A colon in a path does not make it host:port. */
    parse_ok("/tmp/a:9000", &a);
    assert_int_equal(a.family, AF_UNIX);
    assert_string_equal(a.path, "/tmp/a:9000");
}

static void
test_unix_path_length(void **state)
{
    struct fcgi_addr a;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    char prefixed[sizeof(path) + 8];
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

    (void)state;
    memset(path, 'x', sizeof(path));
    path[0] = '/';
    path[max] = '\0';
    parse_ok(path, &a);
    assert_int_equal(strlen(a.path), max);
    path[max] = 'x';
    path[max + 1] = '\0';
    parse_bad(path, "too long");
    snprintf(prefixed, sizeof(prefixed), "unix:%s", path);
    parse_bad(prefixed, "too long");
    parse_bad("unix:", "empty unix socket path");
}

static void
test_ipv4(void **state)
{
    struct fcgi_addr a;

    (void)state;
    parse_ok("127.0.0.1:9000", &a);
    assert_v4(&a, "127.0.0.1", 9000);
    parse_ok("10.1.2.3:1", &a);
    assert_v4(&a, "10.1.2.3", 1);
    parse_ok("0.0.0.0:65535", &a);
    assert_v4(&a, "0.0.0.0", 65535);
    parse_ok("localhost:8080", &a);
    assert_v4(&a, "127.0.0.1", 8080);
    parse_ok("LocalHost:8080", &a);
    assert_v4(&a, "127.0.0.1", 8080);
}

static void
test_any(void **state)
{
    struct fcgi_addr a;

    (void)state;
    parse_ok("*:9000", &a);
    assert_v4(&a, "0.0.0.0", 9000);
    parse_ok(":9001", &a);
    assert_v4(&a, "0.0.0.0", 9001);
}

static void
test_ipv6(void **state)
{
    struct fcgi_addr a;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.sa;
    struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;
    struct in6_addr any = IN6ADDR_ANY_INIT;

    (void)state;
    parse_ok("[::1]:9000", &a);
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_int_equal(a.salen, sizeof(*sin6));
    assert_memory_equal(&sin6->sin6_addr, &lo, sizeof(lo));
    assert_int_equal(ntohs(sin6->sin6_port), 9000);
    parse_ok("[::]:80", &a);
    assert_memory_equal(&sin6->sin6_addr, &any, sizeof(any));
    parse_ok("[2001:db8::1]:443", &a);
    assert_int_equal(ntohs(sin6->sin6_port), 443);
    parse_ok("[::ffff:10.0.0.1]:80", &a);
    assert_int_equal(a.family, AF_INET6);
}

static void
test_empty(void **state)
{
    struct fcgi_addr a;
    char err[64];

    (void)state;
    parse_bad("", "empty address");
    assert_int_equal(fcgi_addr_parse(NULL, &a, err, sizeof(err)), -1);
    /* No reason buffer is fine too. */
    assert_int_equal(fcgi_addr_parse("", &a, NULL, 0), -1);
    assert_int_equal(errno, EINVAL);
}

static void
test_bad_ports(void **state)
{
    (void)state;
    parse_bad("127.0.0.1:", "missing port");
    parse_bad(":", "missing port");
    parse_bad("127.0.0.1:0", "port out of range");
    parse_bad("127.0.0.1:65536", "port out of range");
    parse_bad(":99999999999999999999999", "port out of range");
    parse_bad("127.0.0.1:http", "bad port");
    parse_bad("127.0.0.1:-1", "bad port");
    parse_bad("127.0.0.1:+80", "bad port");
    parse_bad("127.0.0.1: 80", "bad port");
    parse_bad("127.0.0.1:80x", "junk after port");
    parse_bad("127.0.0.1:80 ", "junk after port");
    parse_bad("[::1]:0", "port out of range");
    parse_bad("[::1]:9000x", "junk after port");
}

static void
test_bad_hosts(void **state)
{
    (void)state;
    parse_bad("9000", "missing port");
    parse_bad("fcgi.sock", "missing port");
    parse_bad("example.com:80", "bad host");
    parse_bad("1.2.3:80", "bad host");
    parse_bad("1.2.3.256:80", "bad host");
    parse_bad("::1:9000", "needs brackets");
    parse_bad("[::1:9000", "unterminated");
    parse_bad("[::1]", "expected ':port'");
    parse_bad("[::1]9000", "expected ':port'");
    parse_bad("[]:80", "bad IPv6");
    parse_bad("[1.2.3.4]:80", "bad IPv6");
    parse_bad("[::g]:80", "bad IPv6");
    parse_bad("[::1]:", "missing port");
}

static void
assert_round_trip(const char *in, const char *formatted)
{
    struct fcgi_addr a, b;
    char buf[160], again[160];

    parse_ok(in, &a);
    fcgi_addr_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, formatted);
    parse_ok(buf, &b);
    assert_int_equal(a.family, b.family);
    assert_int_equal(a.salen, b.salen);
    assert_memory_equal(&a.sa, &b.sa, a.salen);
    fcgi_addr_format(&b, again, sizeof(again));
    assert_string_equal(again, formatted);
}

static void
test_format_round_trip(void **state)
{
    struct fcgi_addr a;
    char small[8];

    (void)state;
    assert_round_trip("unix:/run/x.sock", "unix:/run/x.sock");
    assert_round_trip("/run/x.sock", "unix:/run/x.sock");
    assert_round_trip("127.0.0.1:9000", "127.0.0.1:9000");
    assert_round_trip("localhost:9000", "127.0.0.1:9000");
    assert_round_trip("*:9000", "0.0.0.0:9000");
    assert_round_trip(":1", "0.0.0.0:1");
    assert_round_trip("[::1]:65535", "[::1]:65535");
    assert_round_trip("[2001:DB8:0::1]:80", "[2001:db8::1]:80");
    assert_round_trip("unix:@fcgipm", "unix:@fcgipm");
    assert_round_trip("@fcgipm", "unix:@fcgipm");
    assert_round_trip("unix:@a b", "unix:@a\\x20b");
    assert_round_trip("unix:@\\x00\\xFF\\x5c", "unix:@\\x00\\xff\\x5c");
    /* Truncates, always NUL-terminated. */
    parse_ok("[2001:db8::1]:80", &a);
    fcgi_addr_format(&a, small, sizeof(small));
    assert_string_equal(small, "[2001:d");
}

/* *a is the abstract name name[0..len). */
static void
assert_abstract(const struct fcgi_addr *a, const char *name, size_t len)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->sa;

    assert_int_equal(a->family, AF_UNIX);
    assert_int_equal(sun->sun_family, AF_UNIX);
    assert_true(fcgi_addr_is_abstract(a));
    assert_int_equal(sun->sun_path[0], '\0');
    assert_int_equal(a->salen, offsetof(struct sockaddr_un, sun_path) + 1
                               + len);
    assert_memory_equal(sun->sun_path + 1, name, len);
}

static void
test_abstract(void **state)
{
    struct fcgi_addr a;

    (void)state;
    /* No trailing NUL: "@fcgipm" is 6 bytes, as systemd binds it. */
    parse_ok("unix:@fcgipm", &a);
    assert_abstract(&a, "fcgipm", 6);
    assert_string_equal(a.path, "@fcgipm");
    parse_ok("@fcgipm", &a);
    assert_abstract(&a, "fcgipm", 6);
    /* A '/' does not make it a path. */
    parse_ok("@run/fcgipm.sock", &a);
    assert_abstract(&a, "run/fcgipm.sock", 15);
    parse_ok("unix:@a\\x00b\\x20c\\x4A\\x5c", &a);
    assert_abstract(&a, "a\0b cJ\\", 7);
    assert_string_equal(a.path, "@a\\x00b\\x20cJ\\x5c");
    /* Raw bytes other than '\\' stand for themselves. */
    parse_ok("unix:@a b\t", &a);
    assert_abstract(&a, "a b\t", 4);
    assert_string_equal(a.path, "@a\\x20b\\x09");
    assert_false(fcgi_addr_is_abstract(&(struct fcgi_addr){ 0 }));
    parse_ok("unix:/run/x.sock", &a);
    assert_false(fcgi_addr_is_abstract(&a));
    parse_ok("127.0.0.1:80", &a);
    assert_false(fcgi_addr_is_abstract(&a));
}

static void
test_abstract_bad(void **state)
{
    char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    char escaped[4 * sizeof(name) + 8];
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
    struct fcgi_addr a;

    (void)state;
    parse_bad("unix:@", "empty abstract socket name");
    parse_bad("@", "empty abstract socket name");
    parse_bad("unix:@a\\", "bad escape");
    parse_bad("unix:@a\\x", "bad escape");
    parse_bad("unix:@a\\x4", "bad escape");
    parse_bad("unix:@a\\xg0", "bad escape");
    parse_bad("unix:@a\\n", "bad escape");
    parse_bad("unix:@a\\\\", "bad escape");
    /* sun_path holds the leading NUL and max bytes of name. */
    memset(name, 'n', sizeof(name));
    name[0] = '@';
    name[1 + max] = '\0';
    parse_ok(name, &a);
    assert_int_equal(strlen(a.path), 1 + max);
    name[1 + max] = 'n';
    name[2 + max] = '\0';
    parse_bad(name, "abstract socket name too long");
    /* The longest name, every byte escaped, still has room in path. */
    strcpy(escaped, "unix:@");
    for (size_t i = 0; i < max; i++)
        strcat(escaped, "\\xff");
    parse_ok(escaped, &a);
    assert_int_equal(strlen(a.path), 1 + 4 * max);
    assert_string_equal(a.path, escaped + strlen("unix:"));
    strcat(escaped, "\\xff");
    parse_bad(escaped, "abstract socket name too long");
}

/* Abstract names the kernel hands back (getsockname) format to an
 * address that parses to the same bytes, and compare equal to it. */
static void
assert_socket_round_trip(int fd)
{
    struct fcgi_addr got, again;
    char buf[FCGI_ADDR_PATH_MAX + 16];

    assert_int_equal(fcgi_addr_of_socket(fd, &got), 0);
    assert_true(fcgi_addr_is_abstract(&got));
    fcgi_addr_format(&got, buf, sizeof(buf));
    parse_ok(buf, &again);
    assert_int_equal(again.salen, got.salen);
    assert_memory_equal(&again.sa, &got.sa, got.salen);
    assert_true(fcgi_addr_equal(&got, &again));
}

static void
test_abstract_of_socket(void **state)
{
    static const char name[] = "\0fcgipm test\0\x01\\@";
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct fcgi_addr a, other;
    char want[96];
    int fd;

    (void)state;
    snprintf(want, sizeof(want), "fcgipm test %d", (int)getpid());
    memcpy(sun.sun_path, name, sizeof(name) - 1);
    memcpy(sun.sun_path + sizeof(name) - 1, want, strlen(want));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path)
                                      + sizeof(name) - 1 + strlen(want))),
                     0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(fcgi_addr_of_socket(fd, &a), 0);
    snprintf(want, sizeof(want), "@fcgipm\\x20test\\x00\\x01\\x5c@fcgipm"
             "\\x20test\\x20%d", (int)getpid());
    assert_string_equal(a.path, want);
    assert_socket_round_trip(fd);
    /* The same name with one byte less is another socket. */
    parse_ok("unix:@fcgipm\\x20test", &other);
    assert_false(fcgi_addr_equal(&a, &other));
    close(fd);
    /* Autobind: the kernel picks a name when the address is empty. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sa_family_t)),
                     0);
    assert_int_equal(listen(fd, 1), 0);
    assert_socket_round_trip(fd);
    close(fd);
}

/* A file whose relative path starts with '@' is not an abstract name. */
static void
test_at_file(void **state)
{
    char dir[] = "/tmp/test_fcgi_addr.XXXXXX";
    struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "@x" };
    struct fcgi_addr a, b;
    char buf[64];
    int fd, cwd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(cwd >= 0);
    assert_int_equal(chdir(dir), 0);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    assert_int_equal(fcgi_addr_of_socket(fd, &a), 0);
    assert_false(fcgi_addr_is_abstract(&a));
    assert_string_equal(a.path, "@x");
    fcgi_addr_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "unix:./@x");
    parse_ok(buf, &b);
    assert_true(fcgi_addr_equal(&a, &b));
    parse_ok("unix:@x", &b);
    assert_false(fcgi_addr_equal(&a, &b));
    close(fd);
    assert_int_equal(unlink("@x"), 0);
    assert_int_equal(fchdir(cwd), 0);
    close(cwd);
    assert_int_equal(rmdir(dir), 0);
}

static void
test_connect_unix(void **state)
{
    char dir[] = "/tmp/test_fcgi_addr.XXXXXX";
    char path[64];
    struct fcgi_addr a;
    int lfd, cfd, afd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s", dir);
    parse_ok(path, &a);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a.sa, a.salen), 0);
    assert_int_equal(listen(lfd, 1), 0);
    cfd = fcgi_addr_connect(&a);
    assert_true(cfd >= 0);
    assert_true(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
    afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    close(afd);
    close(cfd);
    cfd = fcgi_addr_connect_timeout(&a, 1000);
    assert_true(cfd >= 0);
    close(cfd);
    close(lfd);
    unlink(path);
    /* Nobody listening any more. */
    assert_int_equal(fcgi_addr_connect(&a), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(rmdir(dir), 0);
}

/* A full backlog makes a unix connect block: the timeout must end it. */
static void
test_connect_timeout(void **state)
{
    char dir[] = "/tmp/test_fcgi_addr.XXXXXX";
    char path[64];
    struct fcgi_addr a;
    int lfd, fds[8], n, fd = -1;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s", dir);
    parse_ok(path, &a);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a.sa, a.salen), 0);
    assert_int_equal(listen(lfd, 0), 0);
    for (n = 0; n < 8; n++) {
        fd = fcgi_addr_connect_timeout(&a, 50);
        if (fd == -1)
            break;
        fds[n] = fd;
    }
    assert_int_equal(fd, -1);
    assert_int_equal(errno, ETIMEDOUT);
    while (n-- > 0)
        close(fds[n]);
    close(lfd);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

/* The probe answers at once whether the server's queue has room, is full
 * (where a blocking connect waits) or nobody listens; SIGALRM ends a
 * probe that blocks, and the test with it. */
static void
test_probe_unix(void **state)
{
    char dir[] = "/tmp/test_fcgi_addr.XXXXXX";
    char path[64], abstract[64];
    struct fcgi_addr a, b;
    int lfd, fds[16], n;

    (void)state;
    alarm(10);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s", dir);
    parse_ok(path, &a);
    assert_int_equal(fcgi_addr_probe_unix(&a), -1);
    assert_int_equal(errno, ENOENT);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a.sa, a.salen), 0);
    assert_int_equal(listen(lfd, 0), 0);
    assert_int_equal(fcgi_addr_probe_unix(&a), 1);
    for (n = 0; n < 16; n++) {
        fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        0);
        assert_true(fds[n] >= 0);
        if (connect(fds[n], (struct sockaddr *)&a.sa, a.salen) == -1) {
            assert_int_equal(errno, EAGAIN);
            break;
        }
    }
    assert_true(n < 16);
    assert_int_equal(fcgi_addr_probe_unix(&a), 1);
    close(lfd);
    /* The file outlives its server: stale. */
    assert_int_equal(fcgi_addr_probe_unix(&a), 0);
    while (n >= 0)
        close(fds[n--]);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
    snprintf(abstract, sizeof(abstract), "@test_fcgi_addr %d", (int)getpid());
    parse_ok(abstract, &a);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a.sa, a.salen), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(fcgi_addr_probe_unix(&a), 1);
    close(lfd);
    assert_int_equal(fcgi_addr_probe_unix(&a), 0);
    parse_ok("127.0.0.1:9", &b);
    assert_int_equal(fcgi_addr_probe_unix(&b), -1);
    assert_int_equal(errno, EAFNOSUPPORT);
    alarm(0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_prefixed),
        cmocka_unit_test(test_unix_bare_paths),
        cmocka_unit_test(test_unix_path_length),
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_any),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_bad_ports),
        cmocka_unit_test(test_bad_hosts),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_abstract),
        cmocka_unit_test(test_abstract_bad),
        cmocka_unit_test(test_abstract_of_socket),
        cmocka_unit_test(test_at_file),
        cmocka_unit_test(test_connect_unix),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_probe_unix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
