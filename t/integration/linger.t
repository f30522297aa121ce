# Bounded lingering close (issue 11): input left unread after a response
# is drained without the worker waiting on it, and only so far in time
# and bytes. One worker per pool. (a) cgi mode, max_body 1k, a POST that
# announces 100 MB and keeps streaming its body after the 413, as fast
# as it can, then at a steady pace: the connection is closed after far
# less than 100 MB and within seconds. (b) module mode (builtin:hello,
# which ignores the body), a POST whose body stops short, then one byte
# every 0.5 s after the answer: closed within the bound. Meanwhile the
# single worker answers other requests.
. "$(dirname "$0")/lib.sh"
need perl

SCALE=${TEST_TIME_SCALE:-1}
# The worker's bounds on draining unread input (CONN_LINGER_MS and
# CONN_LINGER_BYTES, worker/conn.h).
LINGER_MS=2000
LINGER_BYTES=$((1024 * 1024))
# A close no later than this after the answer ...
LATEST_MS=$((LINGER_MS + 1500 * SCALE))
# ... and after at most this much body sent in all: the drain, what the
# socket buffers hold, what was sent before the 413 arrived.
MOST_BYTES=$((LINGER_BYTES + 4 * 1024 * 1024))
HUNDRED_MB=$((100 * 1024 * 1024))

ROOT=$TMP/cgi-bin
mkdir -p "$ROOT"
cp -p "$(dirname "$0")/../cgi/hello.sh" "$ROOT/"

# flood.pl PATH KIND CAP_MS READY SCRIPT: a POST, then
#   fast:    CONTENT_LENGTH 100 MB, the body as fast as the socket takes it
#   paced:   the same at about 800 KB/s
#   trickle: CONTENT_LENGTH 40000, 30000 bytes and the next record's
#            header; after the answer, one byte every 0.5 s
# until the connection closes (a write fails, or a read is reset), the
# 100 MB are sent, or CAP_MS pass. Prints "WHAT BYTES MS STATUS": WHAT is
# closed, swallowed (all 100 MB went in) or open; BYTES the body bytes
# sent; MS the time from the answer's END_REQUEST to the close; STATUS
# the answer's Status (200 if none).
cat >"$TMP/flood.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Time::HiRes qw(time sleep);
$SIG{PIPE} = 'IGNORE';
my ($path, $kind, $cap_ms, $ready, $script) = @ARGV;
sub rec { pack('CCnnCC', 1, $_[0], 1, length $_[1], 0, 0) . $_[1] }
sub nv { pack('CC', length $_[0], length $_[1]) . $_[0] . $_[1] }
my $total = $kind eq 'trickle' ? 40000 : 100 * 1024 * 1024;
my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
my $start = time;
my ($sent, $ended, $status, $in, $out) = (0, undef, 200, '', '');
my $result = sub {
    my $ms = defined $ended ? (time - $ended) * 1000 : -1;
    printf "%s %d %d %d\n", $_[0], $sent, $ms, $status;
    exit 0;
};
$out = rec(1, pack('nCx5', 1, 0))
    . rec(4, nv('REQUEST_METHOD', 'POST') . nv('CONTENT_LENGTH', $total)
             . nv('REQUEST_URI', '/') . nv('SCRIPT_FILENAME', $script))
    . rec(4, '');
if ($kind eq 'trickle') {
    $out .= rec(5, 'b' x 10000) x 3 . substr(rec(5, 'b' x 10000), 0, 8);
    $sent = 30000;
}
# Answer records: note the Status of the first STDOUT, the END_REQUEST.
my $stdout = '';
my $parse = sub {
    while (length $in >= 8) {
        my (undef, $type, undef, $n, $pad) = unpack('CCnnC', $in);
        last if length $in < 8 + $n + $pad;
        my $body = substr($in, 8, $n);
        $in = substr($in, 8 + $n + $pad);
        if ($type == 6 && $stdout eq '') {
            $stdout = $body;
            $status = $1 if $stdout =~ /^Status: (\d+)/;
        }
        $ended = time if $type == 3 && !defined $ended;
    }
};
my $chunk = rec(5, 'x' x 32768);
my $next_at = time;
my $eof = 0;
open(my $fh, '>', $ready) or die "$ready: $!";
close $fh;
for (;;) {
    $result->('open') if time - $start > $cap_ms / 1000;
    if ($out eq '' && $kind ne 'trickle' && $sent < $total
        && time >= $next_at) {
        my $n = $total - $sent < 32768 ? $total - $sent : 32768;
        $out = $n == 32768 ? $chunk : rec(5, 'x' x $n);
        $sent += $n;
        $next_at += 0.04 if $kind eq 'paced';    # 32 KiB / 40 ms
    }
    if ($out eq '' && $kind eq 'trickle' && defined $ended
        && time >= $next_at) {
        $out = 'b';
        $sent++;
        $next_at = time + 0.5;
    }
    $result->('swallowed') if $out eq '' && $sent >= $total
        && $kind ne 'trickle';
    my $rd = $eof ? [] : [$s];
    my $wr = $out ne '' ? [$s] : [];
    my $wait = $out ne '' ? 0.5 : $next_at - time;
    $wait = 0.01 if $wait < 0.01;
    my ($r, $w) = IO::Select->select(IO::Select->new(@$rd),
                                     IO::Select->new(@$wr), undef, $wait);
    if ($r && @$r) {
        my $n = sysread($s, my $buf, 65536);
        $result->('closed') unless defined $n;    # reset
        if ($n == 0) {
            $eof = 1;    # the worker's half close: keep writing
        } else {
            $in .= $buf;
            $parse->();
            $next_at = time + 0.5 if $kind eq 'trickle' && defined $ended
                && $next_at < $ended;
        }
    }
    if ($w && @$w) {
        my $n = syswrite($s, $out);
        $result->('closed') unless defined $n;    # EPIPE, reset
        $out = substr($out, $n);
    }
}
PERL

cat >"$TMP/fcgipm.conf" <<CONF
log_level = debug
pool "cgi" {
    listen = "unix:$TMP/cgi.sock"
    mode = cgi
    cgi_root = "$ROOT"
    workers = 1
    max_body = "1k"
}
pool "mod" {
    listen = "unix:$TMP/mod.sock"
    mode = module
    module = "builtin:hello"
    workers = 1
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2

probe() {
    "$FCGI_REQUEST" -t "$((2 * SCALE))" -p "SCRIPT_FILENAME=$ROOT/hello.sh" \
        "unix:$1" / >/dev/null 2>&1
}
wait_until 10 probe "$TMP/cgi.sock" || fail "the cgi pool does not answer"
wait_until 10 probe "$TMP/mod.sock" || fail "the module pool does not answer"
first_workers=$(workers)

# flood POOL KIND [PROBE]: run flood.pl against POOL's single worker;
# with PROBE, the worker must answer request after request meanwhile.
# The client's result in WHAT BYTES MS CODE, the probes in PROBES.
flood() {
    local pool=$1 kind=$2 sock=$TMP/$1.sock pid
    rm -f "$TMP/flood.ready"
    perl "$TMP/flood.pl" "$sock" "$kind" "$((LINGER_MS + 10000 * SCALE))" \
        "$TMP/flood.ready" "$ROOT/hello.sh" >"$TMP/flood.out" 2>&1 &
    pid=$!
    STARTED_PIDS+=("$pid")
    PROBES=0
    if [ -n "${3:-}" ]; then
        wait_until 10 test -e "$TMP/flood.ready" \
            || fail "$pool $kind: the client did not start"
        while pid_alive "$pid"; do
            probe "$sock" || fail "$pool $kind: the worker did not answer" \
                "within $((2 * SCALE)) s while draining (after $PROBES" \
                "answers): held"
            PROBES=$((PROBES + 1))
        done
    fi
    wait "$pid"
    read -r WHAT BYTES MS CODE <"$TMP/flood.out" \
        || fail "$pool $kind: no result: $(cat "$TMP/flood.out")"
    [[ $BYTES =~ ^[0-9]+$ ]] || fail "$pool $kind: $(cat "$TMP/flood.out")"
}

flood cgi fast
[ "$CODE" = 413 ] || fail "cgi fast: status $CODE, not 413"
[ "$WHAT" = closed ] || fail "cgi fast: $WHAT after $BYTES bytes, $MS ms"
[ "$BYTES" -le "$MOST_BYTES" ] \
    || fail "cgi fast: closed after $BYTES bytes, over $MOST_BYTES"
[ "$MS" -le "$LATEST_MS" ] || fail "cgi fast: closed after $MS ms"
ok "a 413 then a body as fast as it goes: closed after $BYTES bytes of" \
    "100 MB, $MS ms after the answer"

flood cgi paced probe
[ "$CODE" = 413 ] || fail "cgi paced: status $CODE, not 413"
[ "$WHAT" = closed ] || fail "cgi paced: $WHAT after $BYTES bytes, $MS ms"
[ "$BYTES" -le "$MOST_BYTES" ] \
    || fail "cgi paced: closed after $BYTES bytes, over $MOST_BYTES"
[ "$MS" -le "$LATEST_MS" ] || fail "cgi paced: closed after $MS ms"
[ "$PROBES" -ge 3 ] || fail "cgi paced: only $PROBES answers meanwhile"
ok "a 413 then a body at 800 KB/s: closed after $BYTES bytes, $MS ms" \
    "after the answer; the worker answered $PROBES requests meanwhile"

flood mod trickle probe
[ "$CODE" = 200 ] || fail "mod trickle: status $CODE, not 200"
[ "$WHAT" = closed ] || fail "mod trickle: $WHAT after $MS ms"
[ "$MS" -le "$LATEST_MS" ] || fail "mod trickle: closed after $MS ms"
[ "$PROBES" -ge 3 ] || fail "mod trickle: only $PROBES answers meanwhile"
ok "a body the handler ignored, then a byte every 0.5 s: closed $MS ms" \
    "after the answer; the worker answered $PROBES requests meanwhile"

probe "$TMP/cgi.sock" || fail "the cgi pool stopped answering"
probe "$TMP/mod.sock" || fail "the module pool stopped answering"
[ "$(workers)" = "$first_workers" ] \
    || fail "workers changed: $(echo $first_workers) then $(echo $(workers))"
ok "the two workers are the ones that started"
done_testing
