# Bad bytes at the application sockets: random streams and malformed
# FastCGI records (a truncated header, a huge content length then close,
# an unknown role, a param pair longer than its record, a record of an
# unknown type or version, an endless STDIN without end, ...) sent to a
# module pool (builtin:echo), a cgi pool and an exec pool (hello). Workers
# may die of it, but are respawned; the master never dies; each pool then
# answers a proper request correctly.
. "$(dirname "$0")/lib.sh"

need perl
ROOT=$TMP/cgi-bin
CONF=$TMP/fcgipm.conf
mkdir -p "$ROOT"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "cgi ok"\n' \
    >"$ROOT/ok.sh"
chmod 755 "$ROOT/ok.sh"
cat >"$CONF" <<CONF
pool "mod" {
    listen = "unix:$TMP/mod.sock"
    mode = "module"
    module = "builtin:echo"
    workers = 2
}
pool "cgi" {
    listen = "unix:$TMP/cgi.sock"
    mode = cgi
    cgi_root = "$ROOT"
    workers = 2
}
pool "exec" {
    listen = "unix:$TMP/exec.sock"
    workers = 2
    command = {"$HELLO"}
}
CONF

# bad.pl SOCKET SCRIPT: the bad streams, each on its own connection,
# never reading the answer; writes give up after 0.3 s so a worker that
# stops reading cannot hang the test.
cat >"$TMP/bad.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Time::HiRes qw(time);
$SIG{PIPE} = 'IGNORE';
my ($path, $script) = @ARGV;
open(my $rnd, '<:raw', '/dev/urandom') or die "urandom: $!";
my $sent = 0;

sub rec {
    my ($type, $id, $body, $ver, $len, $pad) = @_;
    $ver //= 1;
    $len //= length $body;
    $pad //= 0;
    return pack('CCnnCC', $ver, $type, $id, $len, $pad, 0) . $body
        . ("\0" x $pad);
}
sub nv {
    my ($n, $v) = @_;
    my $l = sub { $_[0] < 128 ? pack('C', $_[0]) : pack('N', $_[0] | 1 << 31) };
    return $l->(length $n) . $l->(length $v) . $n . $v;
}
sub begin { rec(1, $_[1] // 1, pack('nCx5', $_[0] // 1, 0)) }
my $params = nv('SCRIPT_FILENAME', $script) . nv('REQUEST_METHOD', 'POST')
    . nv('REQUEST_URI', '/bad') . nv('CONTENT_LENGTH', '99999999');

# send BYTES [SECONDS]: one connection; with SECONDS, keep sending
# BYTES over and over until then (the endless body).
sub send_conn {
    my ($bytes, $secs) = @_;
    my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect $path: $!";
    $s->blocking(0);
    my $sel = IO::Select->new($s);
    my $end = time + ($secs // 0.3);
    my $buf = $bytes;
    while (time < $end) {
        last unless $sel->can_write($end - time);
        my $n = syswrite($s, $buf);
        last unless defined $n;
        $buf = substr($buf, $n);
        if (length $buf == 0) {
            last unless $secs;
            $buf = rec(5, 1, 'x' x 8000);
        }
    }
    close $s;
    $sent++;
}

for (1 .. 200) {
    read($rnd, my $junk, int(rand(4097))) // die;
    send_conn($junk);
}
# A random body after a proper start, and random records.
for (1 .. 20) {
    read($rnd, my $junk, 1 + int(rand(2000)));
    send_conn(begin(1) . $junk);
    send_conn(begin(1) . rec(4, 1, $params) . $junk);
}
send_conn(substr(begin(1), 0, $_)) for 1 .. 7;       # truncated header
send_conn(begin(1) . pack('CCnn', 1, 4, 1, 65535));   # truncated again
send_conn(begin(1) . rec(4, 1, 'x' x 100, 1, 65535)); # huge length
send_conn(rec(4, 1, 'x' x 10, 1, 65535, 255));
send_conn(begin(99) . rec(4, 1, '') . rec(5, 1, ''));  # unknown role
send_conn(begin(0) . rec(4, 1, '') . rec(5, 1, ''));
send_conn(begin(3) . rec(4, 1, '') . rec(5, 1, ''));   # FILTER
send_conn(begin(2) . rec(4, 1, '') . rec(5, 1, ''));   # AUTHORIZER
# Param pairs running past the end of their record.
send_conn(begin(1) . rec(4, 1, pack('CC', 100, 5) . 'abc') . rec(4, 1, ''));
send_conn(begin(1) . rec(4, 1, pack('NN', 0xffffffff, 0xffffffff) . 'a')
    . rec(4, 1, '') . rec(5, 1, ''));
send_conn(begin(1) . rec(4, 1, pack('NC', 0x80001000, 1) . 'ab')
    . rec(4, 1, '') . rec(5, 1, ''));
send_conn(begin(1) . rec(4, 1, pack('C', 200)) . rec(4, 1, '')
    . rec(5, 1, ''));
# Odd records: version 2, unknown type, id 0, STDIN before BEGIN,
# ABORT first, BEGIN twice, padding past the end, GET_VALUES garbage.
send_conn(rec(1, 1, pack('nCx5', 1, 0), 2) . rec(4, 1, '') . rec(5, 1, ''));
send_conn(begin(1) . rec(42, 1, 'zz') . rec(4, 1, '') . rec(5, 1, ''));
send_conn(begin(1, 0) . rec(4, 0, '') . rec(5, 0, ''));
send_conn(rec(5, 1, 'body') . begin(1) . rec(4, 1, '') . rec(5, 1, ''));
send_conn(rec(2, 1, '') . begin(1) . rec(2, 1, ''));
send_conn(begin(1) . begin(1) . begin(1, 2) . rec(4, 1, '') . rec(5, 1, ''));
send_conn(begin(1) . rec(4, 1, $params, 1, undef, 200));
send_conn(rec(9, 0, "\xff\xff\xff\xff") . rec(9, 0, nv('FCGI_MAX_CONNS', '')));
send_conn(rec(11, 0, 'x' x 8));
# Endless STDIN, never ended: three connections of 0.5 s each.
send_conn(begin(1) . rec(4, 1, $params) . rec(4, 1, '')
    . rec(5, 1, 'x' x 8000), 0.5) for 1 .. 3;
print "$sent\n";
PERL

start_fcgipm -c "$CONF"
MASTER=$FCGIPM_PID
wait_workers 6
mod_ok() { req "unix:$TMP/mod.sock" "/hello?x=1" 2>/dev/null | head -n 1 \
               | grep -qx "GET /hello?x=1"; }
cgi_ok() { req "unix:$TMP/cgi.sock" /ok -p "SCRIPT_FILENAME=$ROOT/ok.sh" \
               2>/dev/null | grep -qx "cgi ok"; }
exec_ok() { req "unix:$TMP/exec.sock" / 2>/dev/null \
                | grep -q "Hello from fcgipm worker"; }
for p in mod cgi exec; do
    wait_until 5 "${p}_ok" || fail "pool $p does not answer at the start"
done

deaths() { log_count 'worker [0-9]+ \(slot [0-9]+\) (killed|exited|stopped|dumped)'; }
for p in mod cgi exec; do
    n=$(perl "$TMP/bad.pl" "$TMP/$p.sock" "$ROOT/ok.sh" 2>"$TMP/perl.err") \
        || fail "bad.pl on $p: $(cat "$TMP/perl.err")"
    kill -0 "$MASTER" 2>/dev/null && pid_alive "$MASTER" \
        || fail "the master died during the bad bytes on $p"
    wait_workers 6 10
    wait_until 10 "${p}_ok" || fail "pool $p does not answer after the bad bytes"
    ok "pool $p: $n bad connections, master $MASTER alive, pool whole" \
       "and answering ($(deaths) worker deaths logged so far)"
done

for p in mod cgi exec; do
    "${p}_ok" || fail "pool $p does not answer at the end"
done
[ "$(worker_count)" -eq 6 ] || fail "$(worker_count) workers, not 6"
ok "every pool still answers; $(deaths) worker deaths in all"
kill -QUIT "$MASTER"
wait_status "$MASTER"
[ "$STATUS" = 0 ] || fail "exit status $STATUS after QUIT"
done_testing
