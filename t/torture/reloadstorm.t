# Reload storm: under steady load, HUP every 200 ms for 20 s fails no
# request; then USR2 every 2 s for 20 s, each time following the new
# master through the pid file, fails none either. At the end exactly one
# master and its 4 workers hold the listening socket, and every old
# master is gone.
. "$(dirname "$0")/../integration/lib.sh"

need ss
SOCK=$TMP/app.sock
PIDFILE=$TMP/fcgipm.pid
start_fcgipm -s "$SOCK" -w 4 -p "$PIDFILE" -- "$HELLO"
FIRST=$FCGIPM_PID
wait_workers 4
wait_until 10 [ -s "$PIDFILE" ] || fail "no pid file"

# holders: pids of the processes holding the listening socket.
holders() {
    ss -xlpH src "$SOCK" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un
}

load_start "unix:$SOCK" "/?sleep=2" 6
wait_load 50
hups=0
end=$(( ${EPOCHREALTIME/./} + 20 * 1000000 ))
while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
    kill -HUP "$FCGIPM_PID" || fail "the master is gone"
    hups=$((hups + 1))
    sleep 0.2       # the load pattern, not synchronisation
done
wait_workers 4 20
wait_load 50
load_stop
reloads=$(log_count 'reload: done')
[ "$LOAD_BAD" -eq 0 ] \
    || fail "$LOAD_BAD of $((LOAD_GOOD + LOAD_BAD)) requests failed: $(load_errors)"
ok "$hups HUPs in 20 s ($reloads reloads done) under load:" \
   "$LOAD_GOOD requests, 0 failed"

# upgrade: USR2, then follow the pid file to the new master; the old
# one drains on its own while the rhythm goes on.
OLD_MASTERS=()
upgrade() {
    local old=$FCGIPM_PID
    kill -USR2 "$old" || fail "master $old is gone"
    moved() { [ -s "$PIDFILE" ] && [ "$(cat "$PIDFILE")" != "$old" ]; }
    wait_until 10 moved || fail "upgrade: pid file still names $old"
    FCGIPM_PID=$(cat "$PIDFILE")
    STARTED_PIDS+=("$FCGIPM_PID")
    OLD_MASTERS+=("$old")
}

load_start "unix:$SOCK" "/?sleep=2" 6
wait_load 50
end=$(( ${EPOCHREALTIME/./} + 20 * 1000000 ))
while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
    next=$(( ${EPOCHREALTIME/./} + 2000000 ))
    upgrade
    left=$(( next - ${EPOCHREALTIME/./} ))
    [ "$left" -gt 0 ] && sleep "$((left / 1000000)).$(printf %06d $((left % 1000000)))"
done
wait_load 50
load_stop
[ "$LOAD_BAD" -eq 0 ] \
    || fail "$LOAD_BAD of $((LOAD_GOOD + LOAD_BAD)) requests failed: $(load_errors)"
wait_status "$FIRST"
[ "$STATUS" = 0 ] || fail "the first master exited $STATUS"
for pid in "${OLD_MASTERS[@]}"; do
    wait_gone "$pid" 30 || fail "old master $pid still running"
done
ok "${#OLD_MASTERS[@]} USR2 upgrades in 20 s under load: $LOAD_GOOD" \
   "requests, 0 failed, every old master exited"

wait_workers 4
pid_alive "$FCGIPM_PID" || fail "the last master is gone"
want=$( { echo "$FCGIPM_PID"; workers; } | sort -n)
all_held() { [ "$(holders)" = "$want" ]; }
wait_until 10 all_held \
    || fail "socket held by $(holders | tr '\n' ' ') not master $FCGIPM_PID and its workers"
answers "unix:$SOCK" || fail "no answer at the end"
ok "one master ($FCGIPM_PID) and 4 workers remain, alone on the socket"

kill -QUIT "$FCGIPM_PID"
wait_gone "$FCGIPM_PID" 10 || fail "the last master did not exit on QUIT"
done_testing
