# Kill storm: a pool of 4 libfcgi workers under steady load has a random
# worker killed with SIGKILL every 50 ms for 20 s. Afterwards the pool is
# whole, the master still serves, and no more requests failed than
# workers were killed (a kill fails at most the request in flight on
# that worker, and each client sends one request at a time). With the
# default min_uptime (1 s) the storm would put every slot in crash-loop
# backoff after a few seconds and leave the pool empty (requests then
# time out for lack of workers, not because of a kill): a short
# min_uptime and backoff keep the storm hitting live workers throughout.
. "$(dirname "$0")/../integration/lib.sh"

SOCK=$TMP/app.sock
cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
workers = 4
command = {"$HELLO"}
min_uptime = "10ms"
restart_backoff = "5ms"
restart_backoff_max = "100ms"
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
MASTER=$FCGIPM_PID
wait_workers 4
load_start "unix:$SOCK" "/?sleep=2" 6
wait_load 50

kills=0 ticks=0
end=$(( ${EPOCHREALTIME/./} + 20 * 1000000 ))
while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
    # /proc's children list, not pgrep: no fork, so the rhythm holds.
    read -ra pids <"/proc/$MASTER/task/$MASTER/children"
    if [ "${#pids[@]}" -gt 0 ]; then
        victim=${pids[RANDOM % ${#pids[@]}]}
        kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
    fi
    ticks=$((ticks + 1))
    sleep 0.05      # the load pattern, not synchronisation
done

wait_workers 4 10
pid_alive "$MASTER" || fail "the master died"
wait_load 50
load_stop
answers "unix:$SOCK" || fail "no answer after the storm"
echo "# ticks: $ticks, kills: $kills, requests: $LOAD_GOOD good, $LOAD_BAD failed"
[ "$LOAD_BAD" -le "$kills" ] \
    || fail "$LOAD_BAD failed requests for $kills kills: $(load_errors)"
ok "$kills SIGKILLs in 20 s under load: pool of 4 whole again, master up," \
   "$LOAD_GOOD requests served, $LOAD_BAD failed (<= $kills kills)"

kill -QUIT "$MASTER"
wait_status "$MASTER"
[ "$STATUS" = 0 ] || fail "exit status $STATUS after QUIT"
done_testing
