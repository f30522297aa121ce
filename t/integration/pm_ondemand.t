# pm = ondemand: no worker until a connection waits; one worker per
# waiting connection (never more), in module and exec modes; back to zero
# after idle_timeout; an idle master (with or without workers gone) makes
# no system calls.
. "$(dirname "$0")/lib.sh"

need strace
MOD=$TEST_APPS/testmod.so


# most_workers: the largest size the pool was set to.
most_workers() {
    grep -oE -- '-> [0-9]+ workers' "$LOG" | awk '{ if ($2 > m) m = $2 }
        END { print m + 0 }'
}

# burst N URI: N requests at once; their pids in BURST.
burst() {
    local i
    BURST=()
    for i in $(seq "$1"); do
        req "unix:$SOCK" "$2" >"$TMP/burst.$i" 2>&1 &
        BURST+=("$!")
    done
}
burst_ok() {
    local p
    for p in "${BURST[@]}"; do
        wait_status "$p"
        [ "$STATUS" = 0 ] || fail "a request of the burst failed: $STATUS"
    done
}
at_least_workers() { [ "$(worker_count)" -ge "$1" ]; }

run_pool() {
    local what=$1
    start_fcgipm -c "$TMP/$what.conf"
    wait_log "fcgipm .* started"
    wait_until 5 test -S "$SOCK" || fail "$what: no socket"
    has_workers 0 || fail "$what: $(worker_count) workers at start"
    quiet_master
    ok "$what: no worker at start, and the master sleeps"

    out=$(req "unix:$SOCK" "/first") || fail "$what: first request failed"
    [ -n "$out" ] || fail "$what: empty answer"
    log_has "1 connection waiting, 0 -> 1 workers" \
        || fail "$what: no spawn line for the first request"
    has_workers 1 || fail "$what: $(worker_count) workers after one request"
    ok "$what: the first request is answered by a worker started for it"

    burst 5 "/slow?sleep=2500"
    wait_until 10 at_least_workers 5 \
        || fail "$what: $(worker_count) workers for 5 slow requests"
    burst_ok
    [ "$(most_workers)" -le 5 ] \
        || fail "$what: grew to $(most_workers) workers for 5 requests"
    ok "$what: 5 concurrent slow requests get 5 workers, no more"

    wait_workers 0 15
    wait_log "idle for 1000ms, [0-9]+ -> 0 workers"
    quiet_master
    ok "$what: back to zero after idle_timeout; the master sleeps again"

    kill -QUIT "$FCGIPM_PID"
    wait_status "$FCGIPM_PID"
    [ "$STATUS" = 0 ] || fail "$what: exit status $STATUS"
}

SOCK=$TMP/mod.sock
LOG=$TMP/mod.log
cat >"$TMP/module.conf" <<CONF
listen = "unix:$SOCK"
mode = module
module = "$MOD"
pm = ondemand
max_workers = 8
idle_timeout = "1s"
CONF
run_pool module

SOCK=$TMP/exec.sock
LOG=$TMP/exec.log
cat >"$TMP/exec.conf" <<CONF
listen = "unix:$SOCK"
command = {"$HELLO"}
pm = ondemand
max_workers = 8
idle_timeout = "1s"
CONF
run_pool exec

# max_workers bounds it; more connections wait their turn.
SOCK=$TMP/cap.sock
LOG=$TMP/cap.log
cat >"$TMP/cap.conf" <<CONF
listen = "unix:$SOCK"
mode = module
module = "$MOD"
pm = ondemand
max_workers = 2
idle_timeout = "1s"
CONF
start_fcgipm -c "$TMP/cap.conf"
wait_until 5 test -S "$SOCK" || fail "cap: no socket"
burst 4 "/slow?sleep=500"
burst_ok
[ "$(most_workers)" -le 2 ] || fail "cap: grew to $(most_workers) workers"
ok "at max_workers, connections wait and are all answered"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "cap: exit status $STATUS"
done_testing
