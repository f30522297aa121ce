# A libfcgi app under steady load loses no request across TTOU, TTIN,
# HUP and USR2, and QUIT lets every request in flight finish.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock
PIDFILE=$TMP/fcgipm.pid
start_fcgipm -s "$SOCK" -w 4 -p "$PIDFILE" -- "$HELLO"
wait_workers 4
load_start "unix:$SOCK" "/?sleep=3" 6
wait_load 50
for sig in TTOU TTOU TTIN HUP; do
    kill -"$sig" "$FCGIPM_PID"
    wait_log "received SIG$sig"
    wait_load 50
done
kill -HUP "$FCGIPM_PID"
two_reloads() { [ "$(log_count 'reload: done')" -ge 2 ]; }
wait_until 10 two_reloads || fail "no second reload"
upgrade_master "$PIDFILE"
wait_load 50
load_stop
[ "$LOAD_BAD" -eq 0 ] || fail "$LOAD_BAD of $((LOAD_GOOD + LOAD_BAD)) requests failed: $(load_errors)"
ok "TTOU, TTOU, TTIN, HUP, HUP, USR2 under load: $LOAD_GOOD requests, 0 failed"

for i in 1 2 3 4 5; do
    req "unix:$SOCK" "/slow?sleep=800" >"$TMP/slow.$i" 2>&1 &
    eval "slow$i=\$!"
done
# All five must have reached the socket before QUIT removes its file.
wait_until 5 clients_at_least "$SOCK" 5 || fail "slow requests never reached the pool"
kill -QUIT "$FCGIPM_PID"
for i in 1 2 3 4 5; do
    eval "wait_status \$slow$i"
    [ "$STATUS" = 0 ] || fail "slow request $i failed: $(cat "$TMP/slow.$i")"
    grep -q "Hello from fcgipm worker" "$TMP/slow.$i" || fail "slow request $i incomplete"
done
wait_until 10 pid_gone "$FCGIPM_PID" || fail "master did not exit after QUIT"
ok "QUIT with 5 slow requests in flight: all 5 complete"
done_testing
