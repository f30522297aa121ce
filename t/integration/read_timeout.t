# read_timeout (issue 11): a connection that does not deliver a whole
# request head in time is closed, logged at debug, and never holds a
# worker meanwhile. One worker per pool (module, then cgi), read_timeout
# 1s; at once: a client that connects and sends nothing, one that sends
# 5 bytes of a record header, one that sends BEGIN_REQUEST and part of
# PARAMS, and a kept connection (FCGI_KEEP_CONN) that, after a request,
# sends 5 bytes of the next one. Each sees its connection closed after
# 1 s and within 3 s, while the single worker answers other requests.
. "$(dirname "$0")/lib.sh"
need perl

SCALE=${TEST_TIME_SCALE:-1}
READ_TIMEOUT_MS=1000
# Closed no earlier than the timeout (less a little: the worker's clock
# starts at its accept, which may come a moment before the client's
# connect returns) and no later than 2 s after it.
EARLIEST_MS=$((READ_TIMEOUT_MS - 50))
LATEST_MS=$((READ_TIMEOUT_MS + 2000 * SCALE))
# What the worker logs at debug when it closes such a connection.
LOG_CLOSED='no whole request within read_timeout: closed'

ROOT=$TMP/cgi-bin
mkdir -p "$ROOT"
cp -p "$(dirname "$0")/../cgi/hello.sh" "$ROOT/"

# slow.pl PATH KIND CAP_MS READY_FILE: connect, misbehave as KIND says,
# touch READY_FILE, then wait (at most CAP_MS) for the worker to close.
# Prints "closed MS" (MS since the misbehaviour began) or "open MS".
cat >"$TMP/slow.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Time::HiRes qw(time);
$SIG{PIPE} = 'IGNORE';
my ($path, $kind, $cap_ms, $ready, $script) = @ARGV;
# A worker that never answers the kept client's first request.
$SIG{ALRM} = sub { print "stuck\n"; exit 0 };
alarm(int($cap_ms / 1000) + 1);
sub rec { pack('CCnnCC', 1, $_[0], 1, length $_[1], 0, 0) . $_[1] }
sub nv { pack('CC', length $_[0], length $_[1]) . $_[0] . $_[1] }
sub put { syswrite($_[0], $_[1]) == length $_[1] or die "write: $!" }
my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
my $t0 = time;
my $params = rec(4, nv('REQUEST_METHOD', 'GET') . nv('REQUEST_URI', '/')
                    . nv('SCRIPT_FILENAME', $script));
if ($kind eq 'half') {
    put($s, substr(rec(1, pack('nCx5', 1, 0)), 0, 5));
} elsif ($kind eq 'params') {
    put($s, rec(1, pack('nCx5', 1, 0)) . substr($params, 0, 12));
} elsif ($kind eq 'kept') {
    # A whole request with FCGI_KEEP_CONN, its answer to END_REQUEST,
    # then the first 5 bytes of the next request.
    put($s, rec(1, pack('nCx5', 1, 1)) . $params . rec(4, '') . rec(5, ''));
    my $end = 0;
    while (!$end) {
        read($s, my $h, 8) == 8 or die "short header";
        my (undef, $type, undef, $n, $pad) = unpack('CCnnC', $h);
        read($s, my $b, $n + $pad) == $n + $pad or die "short body";
        $end = $type == 3;
    }
    $t0 = time;
    put($s, substr(rec(1, pack('nCx5', 1, 1)), 0, 5));
} elsif ($kind ne 'silent') {
    die "unknown kind $kind";
}
open(my $fh, '>', $ready) or die "$ready: $!";
close $fh;
my $sel = IO::Select->new($s);
for (;;) {
    my $left = $t0 + $cap_ms / 1000 - time;
    if ($left <= 0) {
        printf "open %d\n", (time - $t0) * 1000;
        exit 0;
    }
    next unless $sel->can_read($left);
    my $n = sysread($s, my $buf, 4096);
    if (!defined $n || $n == 0) {    # end of file, or reset
        printf "closed %d\n", (time - $t0) * 1000;
        exit 0;
    }
    printf "data %d\n", (time - $t0) * 1000;
    exit 0;
}
PERL

cat >"$TMP/fcgipm.conf" <<CONF
log_level = debug
pool "mod" {
    listen = "unix:$TMP/mod.sock"
    mode = module
    module = "builtin:hello"
    workers = 1
    read_timeout = "${READ_TIMEOUT_MS}ms"
    keepalive_timeout = "60s"
}
pool "cgi" {
    listen = "unix:$TMP/cgi.sock"
    mode = cgi
    cgi_root = "$ROOT"
    workers = 1
    read_timeout = "${READ_TIMEOUT_MS}ms"
    keepalive_timeout = "60s"
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2

probe() {
    "$FCGI_REQUEST" -t "$((2 * SCALE))" -p "SCRIPT_FILENAME=$ROOT/hello.sh" \
        "unix:$1" / >/dev/null 2>&1
}
wait_until 10 probe "$TMP/mod.sock" || fail "the module pool does not answer"
wait_until 10 probe "$TMP/cgi.sock" || fail "the cgi pool does not answer"
first_workers=$(workers)

all_ready() {
    local k
    for k in "${KINDS[@]}"; do
        [ -e "$TMP/$1.$k.ready" ] || return 1
    done
}

# round POOL: the four slow clients on POOL's single worker at once;
# meanwhile the worker answers probe after probe.
KINDS=(silent half params kept)
round() {
    local pool=$1 sock=$TMP/$1.sock k pids=() probes=0 before what ms
    before=$(log_count "$LOG_CLOSED")
    for k in "${KINDS[@]}"; do
        perl "$TMP/slow.pl" "$sock" "$k" "$((READ_TIMEOUT_MS + 8000 * SCALE))" \
            "$TMP/$pool.$k.ready" "$ROOT/hello.sh" \
            >"$TMP/$pool.$k.out" 2>&1 &
        pids+=("$!")
        STARTED_PIDS+=("$!")
    done
    wait_until 10 all_ready "$pool" \
        || fail "$pool: the slow clients did not start: $(cat "$TMP/$pool".*.out)"
    # Until every slow client has seen its end, the worker keeps serving.
    while pid_alive "${pids[0]}" || pid_alive "${pids[1]}" \
            || pid_alive "${pids[2]}" || pid_alive "${pids[3]}"; do
        probe "$sock" || fail "$pool: the worker did not answer within" \
            "$((2 * SCALE)) s while slow clients were connected" \
            "(after $probes answers): pinned"
        probes=$((probes + 1))
    done
    for i in "${!KINDS[@]}"; do
        wait "${pids[$i]}" 2>/dev/null
        k=${KINDS[$i]}
        read -r what ms <"$TMP/$pool.$k.out" \
            || fail "$pool $k: no result: $(cat "$TMP/$pool.$k.out")"
        [ "$what" = closed ] \
            || fail "$pool $k: $what after $ms ms: $(cat "$TMP/$pool.$k.out")"
        [ "$ms" -ge "$EARLIEST_MS" ] \
            || fail "$pool $k: closed after $ms ms, before read_timeout"
        [ "$ms" -le "$LATEST_MS" ] \
            || fail "$pool $k: closed after $ms ms, over $LATEST_MS ms"
        ok "$pool: a $k client is closed after $ms ms (read_timeout ${READ_TIMEOUT_MS}ms)"
    done
    [ "$probes" -ge 3 ] || fail "$pool: only $probes probes answered meanwhile"
    ok "$pool: its single worker answered $probes requests meanwhile"
    more_logged() { [ "$(log_count "$LOG_CLOSED")" -ge $((before + 4)) ]; }
    wait_until 5 more_logged \
        || fail "$pool: $(( $(log_count "$LOG_CLOSED") - before )) debug lines for 4 closes"
    ok "$pool: each close is logged at debug"
    probe "$sock" || fail "$pool: no answer after the round"
}

round mod
round cgi
kill -0 "$FCGIPM_PID" || fail "fcgipm died"
[ "$(workers)" = "$first_workers" ] \
    || fail "workers changed: $(echo $first_workers) then $(echo $(workers))"
ok "the two workers are the ones that started"
done_testing
