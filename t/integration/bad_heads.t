# Request heads that libfcgi reads otherwise than the worker loop's peek
# (issue 11's review): a BEGIN_REQUEST whose padding looks like a 64 KiB
# PARAMS header is refused at once instead of pinning the worker in a
# read; management records that libfcgi answers, sent by a client that
# never reads, hold the worker no longer than read_timeout. And a stop
# signal that lands while a body is being read does not cut it short.
. "$(dirname "$0")/lib.sh"
need perl

cat >"$TMP/fcgipm.conf" <<CONF
log_level = debug
listen = "unix:$TMP/mod.sock"
mode = module
module = "builtin:echo"
workers = 1
read_timeout = 1s
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 1
wait_until 10 answers "unix:$TMP/mod.sock" || fail "no answer"

# bad.pl PATH KIND: send KIND's bytes, never read; print how the
# connection ended ("closed MS") once the worker closes it, within 5 s.
cat >"$TMP/bad.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Time::HiRes qw(time);
$SIG{PIPE} = 'IGNORE';
my ($path, $kind) = @ARGV;
sub rec { pack('CCnnCC', 1, $_[0], $_[1], length $_[2],
               length($_[3] // ''), 0) . $_[2] . ($_[3] // '') }
my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
my $begin = pack('nCx5', 1, 0);
my $bytes;
if ($kind eq 'padded') {
    # The padding is a PARAMS header announcing 65535 bytes.
    $bytes = rec(1, 1, $begin, pack('CCnnCC', 1, 4, 1, 65535, 0, 0))
        . rec(4, 1, '') . rec(5, 1, '');
} else {
    # 20000 UNKNOWN-type management records: libfcgi answers each, and
    # the answers fill the socket since nobody reads them.
    $bytes = rec(42, 0, 'x' x 8) x 20000 . rec(1, 1, $begin)
        . rec(4, 1, '') . rec(5, 1, '');
}
my $t0 = time;
# Write in the background of a select loop: the worker may stop reading.
$s->blocking(0);
my $sel = IO::Select->new($s);
while (length $bytes) {
    last if time - $t0 > 5;
    next unless $sel->can_write(0.1);
    my $n = syswrite($s, $bytes);
    last unless defined $n;
    substr($bytes, 0, $n) = '';
}
# Wait for the close without reading what it answered: shut our reading
# off by peeking at the end only.
for (;;) {
    my $left = $t0 + 5 - time;
    if ($left <= 0) { printf "open %d\n", (time - $t0) * 1000; exit 0 }
    next unless $sel->can_read($left);
    my $n = sysread($s, my $buf, 1 << 20);
    if (!defined $n || $n == 0) {
        printf "closed %d\n", (time - $t0) * 1000;
        exit 0;
    }
    # Answers to the management records: reading them lets the worker on,
    # which is not what this client does; stop reading for a while.
    sleep 3 if $kind eq 'mgmt';
}
PERL

for kind in padded mgmt; do
    perl "$TMP/bad.pl" "$TMP/mod.sock" "$kind" >"$TMP/$kind.out" 2>&1 &
    pid=$!
    STARTED_PIDS+=("$pid")
    # Meanwhile (at worst after read_timeout) the worker answers others.
    t0=$(date +%s%N)
    answers "unix:$TMP/mod.sock" || fail "$kind: the worker does not answer"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$ms" -le 2500 ] || fail "$kind: a probe waited $ms ms: pinned"
    wait "$pid" 2>/dev/null
    read -r what after <"$TMP/$kind.out" || fail "$kind: $(cat "$TMP/$kind.out")"
    [ "$what" = closed ] || fail "$kind: $what after $after ms"
    ok "$kind head: connection closed after $after ms, a probe answered in $ms ms"
done

# A stop signal during a body upload: the body arrives whole.
cat >"$TMP/body.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
$SIG{PIPE} = 'IGNORE';
my ($path, $go) = @ARGV;
sub rec { pack('CCnnCC', 1, $_[0], 1, length $_[1], 0, 0) . $_[1] }
sub nv { pack('CC', length $_[0], length $_[1]) . $_[0] . $_[1] }
my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
my $body = 'b' x 2000;
print $s rec(1, pack('nCx5', 1, 0)), rec(4, nv('REQUEST_METHOD', 'POST')
    . nv('REQUEST_URI', '/') . nv('CONTENT_LENGTH', length $body)),
    rec(4, ''), rec(5, substr($body, 0, 1000));
$s->flush;
print STDOUT "half\n";
STDOUT->flush;
sleep 0.01 until -e $go;
print $s rec(5, substr($body, 1000)), rec(5, '');
$s->flush;
my $got = '';
1 while sysread($s, $got, 65536, length $got);
my $n = () = $got =~ /b/g;
print "echoed $n\n";
PERL
w=$(workers)
perl "$TMP/body.pl" "$TMP/mod.sock" "$TMP/go" >"$TMP/body.out" 2>&1 &
pid=$!
STARTED_PIDS+=("$pid")
half() { grep -q half "$TMP/body.out"; }
wait_until 5 half || fail "body client: $(cat "$TMP/body.out")"
# The worker blocks in read for the second half: a graceful stop now.
kill -USR1 "$w"
touch "$TMP/go"
wait "$pid"
grep -q "echoed 2000" "$TMP/body.out" \
    || fail "a stop during the body cut it: $(cat "$TMP/body.out")"
ok "a stop signal during a body upload: the whole body was read and echoed"
done_testing
