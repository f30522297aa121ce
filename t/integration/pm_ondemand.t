# pm = ondemand: no worker until a connection waits; one worker per
# waiting connection (never more), in module and exec modes, also when
# the program is slow to reach accept() or dies before it; back to zero
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

# burst N URI [ARGS...]: N requests at once; their pids in BURST.
burst() {
    local i
    BURST=()
    for i in $(seq "$1"); do
        req "unix:$SOCK" "$2" "${@:3}" >"$TMP/burst.$i" 2>&1 &
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

# A program slow to reach accept() (a shell sleeping a second before it
# execs hello): the connections waiting are those its workers will take
# once up, however long that is, so no more workers start for them.
SOCK=$TMP/slowstart.sock
LOG=$TMP/slowstart.log
cat >"$TMP/slowstart.conf" <<CONF
listen = "unix:$SOCK"
command = {"/bin/sh", "-c", "sleep 1; exec $HELLO"}
pm = ondemand
max_workers = 8
idle_timeout = "10s"
CONF
start_fcgipm -c "$TMP/slowstart.conf"
wait_until 5 test -S "$SOCK" || fail "slow start: no socket"
burst 3 "/slow?sleep=100"
burst_ok
[ "$(most_workers)" -le 3 ] \
    || fail "slow start: grew to $(most_workers) workers for 3 requests"
ok "a program slow to start: 3 waiting requests get 3 workers, no more"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "slow start: exit status $STATUS"

# A program that dies before it accepts: its slots respawn with backoff
# and still count for the connections waiting, so the pool does not grow
# past them.
SOCK=$TMP/crash.sock
LOG=$TMP/crash.log
cat >"$TMP/crash.conf" <<CONF
listen = "unix:$SOCK"
command = {"$HELLO", "--crash"}
pm = ondemand
max_workers = 8
CONF
start_fcgipm -c "$TMP/crash.conf"
wait_until 5 test -S "$SOCK" || fail "crash: no socket"
burst 3 "/never" -t 2
for p in "${BURST[@]}"; do
    wait_status "$p"
    [ "$STATUS" = 28 ] || fail "crash: a request ended with $STATUS"
done
wait_log "crash loop"
[ "$(most_workers)" -le 3 ] \
    || fail "crash: grew to $(most_workers) workers for 3 requests"
ok "a program dying at start: 3 waiting requests, at most 3 workers"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "crash: exit status $STATUS"
done_testing
