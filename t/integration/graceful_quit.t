# QUIT while a slow request is in flight: the request completes, the
# master exits 0 and removes its socket.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock
start_fcgipm -s "$SOCK" -w 2 -- "$HELLO"
wait_workers 2
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"

req "unix:$SOCK" "/slow?sleep=1500" >"$TMP/slow.out" 2>&1 &
slow=$!
# The request is in flight once a worker holds a connection on the
# socket: poll the kernel's view of the socket instead of sleeping.
connected() { [ "$(ss -xH state connected src "$SOCK" 2>/dev/null | wc -l)" -ge 1 ]; }
wait_until 5 connected || fail "slow request never connected"
kill -QUIT "$FCGIPM_PID"
wait_log "graceful stop"
# It stops accepting at once: the socket file goes while the slow request
# still runs, so new clients fail fast instead of queueing on a pool that
# is going away.
wait_until 5 [ ! -e "$SOCK" ] || fail "socket file still there after QUIT"
pid_alive "$slow" || fail "the slow request ended before the socket went"
ok "QUIT removes the socket file at once"

wait_status "$slow"
[ "$STATUS" = 0 ] || fail "slow request failed ($STATUS): $(cat "$TMP/slow.out")"
grep -q "Hello from fcgipm worker" "$TMP/slow.out" || fail "incomplete body"
ok "the in-flight request completed during the graceful stop"

wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "master exit status $STATUS"
[ ! -e "$SOCK" ] || fail "socket left behind"
log_has "SIGKILL" && fail "a worker needed SIGKILL"
ok "master exited 0, socket removed, no worker needed KILL"
done_testing
