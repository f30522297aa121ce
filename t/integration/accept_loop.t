# The accept loop of module and cgi workers (worker/conn.c), seen through
# strace on a one-worker module pool:
# - connections already waiting in the backlog, each with its whole
#   request sent, are taken one after another with no epoll_ctl and no
#   epoll_wait between their requests (a new connection per request, as
#   nginx without fastcgi_keep_conn);
# - a worker holding a young connection (taken before its first bytes)
#   takes its listening socket out of its epoll set before it sleeps, so
#   that the kernel's one EPOLLEXCLUSIVE wake-up for a new connection goes
#   to a worker that accepts; it watches it again once the connection is
#   no longer young, and answers.
. "$(dirname "$0")/lib.sh"
need perl
need strace

SOCK=$TMP/app.sock
QUEUED=20
CALLS='trace=accept4,accept,epoll_ctl,epoll_wait,epoll_pwait'

# queue.pl PATH N READY GO: send a POST's head (its body held back), then
# N whole GETs, each on a connection of its own; touch READY; once GO (a
# fifo) opens, send the POST's body and read all N + 1 answers. Prints
# "answered N+1".
cat >"$TMP/queue.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
$SIG{PIPE} = 'IGNORE';
my ($path, $n, $ready, $go) = @ARGV;
sub rec { pack('CCnnCC', 1, $_[0], 1, length $_[1], 0, 0) . $_[1] }
sub nv { pack('CC', length $_[0], length $_[1]) . $_[0] . $_[1] }
sub head {
    my ($method, $len) = @_;
    return rec(1, pack('nCx5', 1, 0))
        . rec(4, nv('REQUEST_METHOD', $method) . nv('CONTENT_LENGTH', $len)
                 . nv('REQUEST_URI', '/q'))
        . rec(4, '');
}
sub put { syswrite($_[0], $_[1]) == length $_[1] or die "write: $!" }
sub answer {
    my ($s) = @_;
    for (;;) {
        read($s, my $h, 8) == 8 or die "short header";
        my (undef, $type, undef, $len, $pad) = unpack('CCnnC', $h);
        read($s, my $b, $len + $pad) == $len + $pad or die "short body";
        return if $type == 3;
    }
}
my @s;
for my $i (0 .. $n) {
    push @s, IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
    put($s[$i], $i == 0 ? head('POST', 5) : head('GET', 0) . rec(5, ''));
}
open(my $fh, '>', $ready) or die "$ready: $!";
close $fh;
open(my $g, '<', $go) or die "$go: $!";
put($s[0], rec(5, 'hello') . rec(5, ''));
answer($_) for @s;
print "answered ", scalar(@s), "\n";
PERL

# silent.pl PATH READY: connect, touch READY, send nothing; wait for the
# end of file (or be killed).
cat >"$TMP/silent.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
my ($path, $ready) = @ARGV;
my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
open(my $fh, '>', $ready) or die "$ready: $!";
close $fh;
1 while sysread($s, my $b, 4096);
PERL

cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
mode = module
module = "builtin:echo"
workers = 1
read_timeout = "30s"
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 1
wait_until 10 answers "unix:$SOCK" / || fail "no answer"
W=$(workers)

# strace_start FILE: trace the worker's accepts and epoll calls into FILE.
strace_start() {
    timeout -s INT 60 strace -e "$CALLS" -p "$W" -o "$1" 2>"$1.err" &
    STRACE_PID=$!
    STARTED_PIDS+=("$STRACE_PID")
    attached() { grep -q attached "$1.err"; }
    wait_until 10 attached "$1" || fail "strace did not attach: $(cat "$1.err")"
}
strace_stop() {
    kill -INT "$STRACE_PID"
    wait "$STRACE_PID" 2>/dev/null
}
calls() { grep -c "^$1(" "$2" || true; }

# --- connections waiting in the backlog: no epoll call between requests
mkfifo "$TMP/go"
timeout 60 perl "$TMP/queue.pl" "$SOCK" "$QUEUED" "$TMP/queued" "$TMP/go" \
    >"$TMP/queue.out" 2>&1 &
QPID=$!
STARTED_PIDS+=("$QPID")
wait_until 10 test -e "$TMP/queued" || fail "client: $(cat "$TMP/queue.out")"
strace_start "$TMP/backlog.trace"
echo go >"$TMP/go"
wait_status "$QPID"
[ "$STATUS" -eq 0 ] && [ "$(cat "$TMP/queue.out")" = "answered $((QUEUED + 1))" ] \
    || fail "client (status $STATUS): $(cat "$TMP/queue.out")"
strace_stop
accepted=$(grep -cE '^accept4?\(.*\) = [0-9]+$' "$TMP/backlog.trace" || true)
[ "$accepted" -ge "$QUEUED" ] \
    || fail "$accepted accepts traced for $QUEUED connections: $(head -5 "$TMP/backlog.trace")"
# At most: the POST's connection, had it been taken before its first
# bytes, leaves the set at its close, and the listening socket, unwatched
# while it was young, is watched again; one wait takes the first GET (or
# the POST, if strace came first), one sleeps after the last.
ctls=$(calls epoll_ctl "$TMP/backlog.trace")
[ "$ctls" -le 2 ] \
    || fail "$ctls epoll_ctl for $QUEUED waiting connections: $(grep epoll_ctl "$TMP/backlog.trace" | head -5)"
waits=$(( $(calls epoll_wait "$TMP/backlog.trace") + $(calls epoll_pwait "$TMP/backlog.trace") ))
[ "$waits" -le 3 ] \
    || fail "$waits epoll_waits for $QUEUED waiting connections: $(head -8 "$TMP/backlog.trace")"
ok "$QUEUED connections waiting: taken with $ctls epoll_ctl and $waits epoll_wait"

# --- a young connection: the listening socket unwatched while it sleeps
strace_start "$TMP/young.trace"
perl "$TMP/silent.pl" "$SOCK" "$TMP/silent.ready" >"$TMP/silent.out" 2>&1 &
SPID=$!
STARTED_PIDS+=("$SPID")
wait_until 10 test -e "$TMP/silent.ready" || fail "client: $(cat "$TMP/silent.out")"
# From the silent connection's accept to the first wait that may sleep:
# fd 0 (the listening socket) must have left the set before it.
young_order() {
    awk '/^accept4?\(.*\) = [0-9]+$/ && !taken { taken = 1; next }
         taken && /EPOLL_CTL_DEL, 0,/ { print "unwatched"; exit }
         taken && /^epoll_p?wait\(/ && !/, 0(, NULL, 8)?\) / {
             print "slept"; exit }' "$TMP/young.trace"
}
young_seen() { [ -n "$(young_order)" ]; }
wait_until 10 young_seen || fail "no wait traced after the silent connection's accept: $(cat "$TMP/young.trace")"
[ "$(young_order)" = unwatched ] \
    || fail "holding a young connection, the worker slept watching the listening socket: $(cat "$TMP/young.trace")"
# Once no longer young, it is watched again, and the worker answers.
rewatched() {
    awk '/EPOLL_CTL_DEL, 0,/ { out = 1 }
         out && /EPOLL_CTL_ADD, 0,/ { back = 1 }
         END { exit !back }' "$TMP/young.trace"
}
wait_until 10 rewatched || fail "the listening socket was not watched again: $(cat "$TMP/young.trace")"
answers "unix:$SOCK" / || fail "no answer while a silent connection is held"
strace_stop
ok "a young connection held: fd 0 unwatched before the worker sleeps, watched again after"
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
done_testing
