# An exec pool on a loopback TCP port with more than 4096 connections
# open on it stops at once, not at graceful_timeout. Its Go program waits
# in epoll, not accept(), so an idle worker is one holding no connection
# from its listener: the master looks for the worker's own socket inodes
# in the kernel's dump of the port, however many connections the port
# has. A Go worker first takes 4200 kept connections; a second one,
# started after them with TTIN, holds none of them but a UDP socket of
# its own (as a database or statsd client would), so the master must
# look: on QUIT it is stopped within a few seconds (graceful_timeout is
# 60 s), the first stays while its clients do, and goes once they leave.
. "$(dirname "$0")/lib.sh"
need go
need perl
need ss
[ "$(id -u)" = 0 ] || skip "raising the open files limit needs root"

CONNS=4200
[ "$(ulimit -n)" -ge $((CONNS + 1000)) ] || ulimit -n $((CONNS + 1000)) \
    || skip "cannot raise the open files limit to $((CONNS + 1000))"

cat >"$TMP/app.go" <<'GO'
package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
)

// A socket of the worker's own besides its listener and connections.
var own net.PacketConn

func main() {
	var err error
	if own, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello from go %d\n", os.Getpid())
	}
	if err := fcgi.Serve(nil, http.HandlerFunc(h)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
GO
# Go keeps its build cache under HOME, which may be unset or read-only.
[ -w "${HOME:-/nonexistent}" ] || export GOCACHE=$TMP/gocache
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
    command = {"$TMP/app-go"}
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 1
wait_until 10 answers "$ADDR" || fail "the pool does not answer"
first=$(workers)

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
# Running the program: the listener (fd 0 and Go's copy) and its own
# UDP socket, which the master must look up in the port's dump.
sockets() {
    find "/proc/$1/fd" -mindepth 1 -lname 'socket:*' 2>/dev/null | wc -l
}
started() { [ "$(sockets "$second")" -ge 3 ]; }
wait_until 10 started || fail "worker $second has $(sockets "$second") sockets"
ok "TTIN: worker $second runs, with a socket of its own and no connection"

start=${EPOCHREALTIME/./}
kill -QUIT "$FCGIPM_PID"
wait_until 5 pid_gone "$second" \
    || fail "idle worker $second not stopped within 5 s of QUIT"
ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
pid_alive "$first" || fail "worker $first stopped while it held connections"
ok "QUIT: the idle worker stopped in $ms ms, the one holding connections stays"

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
