# A stop that comes with a connection's wake-up (worker/conn.c). The
# kernel wakes one worker asleep on the listening socket for a new
# connection (EPOLLEXCLUSIVE); if that worker is told to stop in the same
# instant, it must still take the connection and answer it before it
# exits: the other workers asleep are not woken for it again, so left in
# the backlog it waits for the next connection (a reload's old workers, a
# scale-down, on a quiet site: a 504).
#
# strace holds each worker's return from epoll_wait for a while, so that
# the stop signal arrives after the kernel handed the connection to the
# worker and before the worker looked at what it got.
. "$(dirname "$0")/lib.sh"
need perl
need strace

SOCK=$TMP/app.sock
HOLD_US=1500000

# connect.pl PATH READY: connect, touch READY, send a whole GET, print
# the answer's STDOUT.
cat >"$TMP/connect.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
my ($path, $ready) = @ARGV;
sub rec { pack('CCnnCC', 1, $_[0], 1, length $_[1], 0, 0) . $_[1] }
sub nv { pack('CC', length $_[0], length $_[1]) . $_[0] . $_[1] }
my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
open(my $fh, '>', $ready) or die "$ready: $!";
close $fh;
my $req = rec(1, pack('nCx5', 1, 0))
    . rec(4, nv('REQUEST_METHOD', 'GET') . nv('REQUEST_URI', '/')
             . nv('QUERY_STRING', '')) . rec(4, '') . rec(5, '');
syswrite($s, $req) == length $req or die "write: $!";
my $out = '';
for (;;) {
    read($s, my $h, 8) == 8 or die "short header";
    my (undef, $type, undef, $len, $pad) = unpack('CCnnC', $h);
    read($s, my $b, $len + $pad) == $len + $pad or die "short body";
    last if $type == 3;
    $out .= substr($b, 0, $len) if $type == 6;
}
print $out;
PERL

cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
mode = module
module = "$TEST_APPS/testmod.so"
workers = 2
read_timeout = "30s"
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2
wait_until 10 answers "unix:$SOCK" / || fail "no answer"
read -r -a OLD <<<"$(workers | tr '\n' ' ')"

# Both asleep in epoll_wait (not held by strace, not running).
asleep() {
    local w st
    w=$(cat "/proc/$1/wchan" 2>/dev/null)
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ "$st" = S ] && { [ "$w" = ep_poll ] || [ "$w" = do_epoll_wait ]; }
}
both_asleep() { asleep "${OLD[0]}" && asleep "${OLD[1]}"; }

timeout -s INT 60 strace -f -e trace=epoll_wait,epoll_pwait,accept4 \
    -e inject=epoll_wait:delay_exit=$HOLD_US \
    -p "${OLD[0]}" -p "${OLD[1]}" -o "$TMP/trace" 2>"$TMP/strace.err" &
STRACE_PID=$!
STARTED_PIDS+=("$STRACE_PID")
attached_both() { [ "$(grep -c attached "$TMP/strace.err")" -ge 2 ]; }
wait_until 10 attached_both || fail "strace did not attach: $(cat "$TMP/strace.err")"
# Attaching ends each wait once (EINTR), held too: wait for both to
# sleep again.
wait_until 10 both_asleep || fail "workers not asleep in epoll_wait: \
$(cat "/proc/${OLD[0]}/wchan") $(cat "/proc/${OLD[1]}/wchan")"

perl "$TMP/connect.pl" "$SOCK" "$TMP/connected" >"$TMP/answer" \
    2>"$TMP/client.err" &
CPID=$!
STARTED_PIDS+=("$CPID")
wait_until 10 test -e "$TMP/connected" || fail "client: $(cat "$TMP/client.err")"
# The connection is queued and one worker woken, its return held: the
# stop comes now, before it looks.
kill -USR1 "${OLD[0]}" "${OLD[1]}"
wait_status "$CPID"
[ "$STATUS" -eq 0 ] || fail "client (status $STATUS): $(cat "$TMP/client.err")"
pid=$(tail -n 1 "$TMP/answer" | cut -d" " -f1)
[ "$pid" = "${OLD[0]}" ] || [ "$pid" = "${OLD[1]}" ] \
    || fail "answered by $pid, a new worker, not by one of the stopped ones \
(${OLD[*]}): the woken worker left the connection in the backlog"
ok "the worker woken for a connection as it was told to stop answered it ($pid)"

kill -INT "$STRACE_PID" 2>/dev/null
wait "$STRACE_PID" 2>/dev/null
wait_until 10 pid_gone "${OLD[0]}" || fail "worker ${OLD[0]} did not stop"
wait_until 10 pid_gone "${OLD[1]}" || fail "worker ${OLD[1]} did not stop"
wait_workers 2
answers "unix:$SOCK" / || fail "no answer from the new workers"
ok "both stopped; their replacements answer"
kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exit status $STATUS"
done_testing
