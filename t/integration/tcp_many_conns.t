# An exec pool on a loopback TCP port with more than 4096 connections
# open on it: the master tells which worker holds one, however many the
# port has. Its Go program waits in epoll, not accept(), so an idle
# worker is one holding no connection from its listener: the master looks
# for the worker's own socket inodes in the kernel's dump of the port.
# A Go worker first takes 4200 kept connections (and then accepts no
# more: the program's accept stops at 4200); a second one, started after
# them with TTIN, has a socket of its own (a UDP one, as a database or
# statsd client would) and one request in flight, whose handler waits
# for a file. It holds few descriptors, so the master must find that
# connection in the dump: on QUIT it looks, again and again, and leaves
# it running (a dump that said "none" would have it frozen and signalled
# at once); the file made, the response arrives whole and the worker
# stops within seconds (graceful_timeout is 60 s). The first stays while
# its clients do, and goes once they leave; the master exits 0.
. "$(dirname "$0")/lib.sh"
need go
need perl
need ss
need strace

CONNS=4200
# The clients' ends and the worker's in this one shell's limit: raised up
# to the hard limit, which only root may raise.
NOFILE=$((CONNS + 1000))
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$NOFILE" ]; then
    ulimit -Sn "$NOFILE" 2>/dev/null || ulimit -n "$NOFILE" 2>/dev/null \
        || skip "the hard open files limit ($(ulimit -Hn)) is below $NOFILE"
fi

# app-go ACCEPTS DIR: accepts ACCEPTS connections at most; GET /slow
# writes DIR/inflight (its pid) and answers once DIR/release exists.
cat >"$TMP/app.go" <<'GO'
package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A socket of the worker's own besides its listener and connections.
var own net.PacketConn

// Accepts n connections, then no more (the others wait for another
// worker): the 4200 clients' connections stay with the first one.
type firstN struct {
	net.Listener
	n int
}

func (l *firstN) Accept() (net.Conn, error) {
	for l.n <= 0 {
		time.Sleep(time.Hour)
	}
	l.n--
	return l.Listener.Accept()
}

// The body of /slow: many records' worth, its end marked.
func body() string {
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "line %04d\n", i)
	}
	b.WriteString("end\n")
	return b.String()
}

func main() {
	n, err := strconv.Atoi(os.Args[1])
	dir := os.Args[2]
	if err == nil {
		own, err = net.ListenPacket("udp", "127.0.0.1:0")
	}
	var l net.Listener
	if err == nil {
		l, err = net.FileListener(os.Stdin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			fmt.Fprintf(w, "Hello from go %d\n", os.Getpid())
			return
		}
		os.WriteFile(filepath.Join(dir, "inflight"),
			[]byte(strconv.Itoa(os.Getpid())), 0o644)
		end := time.Now().Add(300 * time.Second)
		for time.Now().Before(end) {
			if _, err := os.Stat(filepath.Join(dir, "release")); err == nil {
				fmt.Fprint(w, body())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		http.Error(w, "never released", http.StatusGatewayTimeout)
	}
	if err := fcgi.Serve(&firstN{l, n}, http.HandlerFunc(h)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
GO
# Go's build cache in the test's directory, not in HOME (root's, or
# none).
export GOCACHE=$TMP/gocache
(cd "$TMP" && GO111MODULE=off GOPROXY=off GOFLAGS= go build -o app-go app.go) \
    >"$TMP/go-build.log" 2>&1 || fail "go build: $(tail -3 "$TMP/go-build.log")"

free_port() {
    local p
    for _ in $(seq 50); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
        ss -tanH "( sport = :$p or dport = :$p )" | grep -q . \
            || { echo "$p"; return; }
    done
    fail "no free port"
}
PORT=$(free_port)
ADDR=127.0.0.1:$PORT

cat >"$TMP/fcgipm.conf" <<CONF
pool "go" {
    listen = "$ADDR"
    backlog = 4096
    workers = 1
    graceful_timeout = "60s"
    kill_timeout = "5s"
    command = {"$TMP/app-go", "$CONNS", "$TMP"}
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 1
first=$(workers)
# Running the program: the listener (fd 0 and Go's copy) and its own
# UDP socket. (No request to it: it is to accept the clients alone.)
sockets() {
    find "/proc/$1/fd" -mindepth 1 -lname 'socket:*' 2>/dev/null | wc -l
}
started() { [ "$(sockets "$1")" -ge 3 ]; }
wait_until 10 started "$first" \
    || fail "worker $first has $(sockets "$first") sockets"

# The clients: CONNS connections to the pool's port, kept open, sending
# nothing, until the helper is killed.
cat >"$TMP/clients.pl" <<'PERL'
use strict;
use IO::Socket::INET;
my ($addr, $n, $ready) = @ARGV;
my @keep;
for my $i (1 .. $n) {
    push @keep, IO::Socket::INET->new(PeerAddr => $addr, Proto => 'tcp')
        or die "connection $i to $addr: $!\n";
}
open(my $f, '>', $ready) or die "$ready: $!\n";
close($f);
sleep;
PERL
perl "$TMP/clients.pl" "$ADDR" "$CONNS" "$TMP/clients.ready" \
    2>"$TMP/clients.err" &
clients=$!
STARTED_PIDS+=("$clients")
ready() {
    pid_alive "$clients" || fail "clients: $(cat "$TMP/clients.err")"
    [ -e "$TMP/clients.ready" ]
}
wait_until 20 ready || fail "$CONNS connections not open"
fds() { find "/proc/$1/fd" -mindepth 1 2>/dev/null | wc -l; }
took_all() { [ "$(fds "$first")" -gt "$CONNS" ]; }
wait_until 20 took_all || fail "worker $first holds $(fds "$first") fds"
on_port=$(ss -tnH state established "( sport = :$PORT )" | wc -l)
[ "$on_port" -gt 4096 ] || fail "only $on_port connections on port $PORT"
ok "worker $first holds $CONNS connections; $on_port on port $PORT"

kill -TTIN "$FCGIPM_PID"
wait_workers 2
second=$(workers | grep -vx "$first")
wait_until 10 started "$second" \
    || fail "worker $second has $(sockets "$second") sockets"
# A request to the port: the first accepts no more, so the second has it.
"$FCGI_REQUEST" -t 120 "$ADDR" /slow >"$TMP/slow.out" 2>"$TMP/slow.err" &
slow=$!
STARTED_PIDS+=("$slow")
inflight() { [ -s "$TMP/inflight" ]; }
wait_until 10 inflight || fail "the request did not reach a worker"
[ "$(cat "$TMP/inflight")" = "$second" ] \
    || fail "the request reached worker $(cat "$TMP/inflight"), not $second"
ok "TTIN: worker $second runs, with a socket of its own and a request"

# The master's looks, under strace: its dumps of the port (sendto on
# NETLINK_SOCK_DIAG: AF_INET, IPPROTO_TCP, 6 more bytes, then the port
# in network order) and any signal it sends.
strace -p "$FCGIPM_PID" -e trace=sendto,kill -e signal=none -xx \
    -o "$TMP/master.strace" 2>"$TMP/strace.err" &
tracer=$!
STARTED_PIDS+=("$tracer")
attached() {
    pid_alive "$tracer" || skip "strace cannot attach: $(cat "$TMP/strace.err")"
    grep -q attached "$TMP/strace.err"
}
wait_until 10 attached || fail "strace: $(cat "$TMP/strace.err")"
dump_re=$(printf '"\\\\x02\\\\x06(\\\\x[0-9a-f]{2}){6}\\\\x%02x\\\\x%02x' \
              $((PORT >> 8)) $((PORT & 255)))
dumps() { grep -cE "^sendto\(.*$dump_re" "$TMP/master.strace"; }
signalled() { grep -qE "^kill\($second, " "$TMP/master.strace"; }
# Looked at four times (about 10, 30, 70 and 150 ms after QUIT, the
# looks backing off), or signalled it (the decision a wrong count makes
# at its first look), or it is gone.
decided() { [ "$(dumps)" -ge 4 ] || signalled || pid_gone "$second"; }

start=${EPOCHREALTIME/./}
kill -QUIT "$FCGIPM_PID"
wait_until 20 decided || fail "the master did not look at worker $second:" \
    "$(dumps) dumps of port $PORT"
signalled && fail "worker $second, in a request, was signalled:" \
    "$(grep -E "^kill\($second, " "$TMP/master.strace" | head -3)"
pid_alive "$second" || fail "worker $second, in a request, is gone"
ok "QUIT: worker $second, in a request, looked at $(dumps) times and left" \
    "running"
kill -INT "$tracer"
wait "$tracer" 2>/dev/null

touch "$TMP/release"
wait_status "$slow"
[ "$STATUS" = 0 ] || fail "the request: exit $STATUS: $(cat "$TMP/slow.err")"
lines=$(wc -l <"$TMP/slow.out")
last=$(tail -n 2 "$TMP/slow.out" | tr '\n' ' ')
[ "$lines" = 5001 ] && [ "$last" = "line 4999 end " ] \
    || fail "the response: $lines lines, ending '$last'"
wait_until 5 pid_gone "$second" \
    || fail "worker $second not stopped within 5 s of its response"
ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
pid_alive "$first" || fail "worker $first stopped while it held connections"
ok "its response whole, worker $second stopped ($ms ms after QUIT); the" \
    "one holding connections stays"

kill -TERM "$clients"
wait_status "$clients"
wait_until 10 pid_gone "$FCGIPM_PID" \
    || fail "master still runs 10 s after its clients left"
ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "master exit status $STATUS"
log_has "not seen idle within graceful_timeout" \
    && fail "a worker waited for graceful_timeout"
ok "its clients gone, worker $first stops too: QUIT took $ms ms, not 60 s"
done_testing
