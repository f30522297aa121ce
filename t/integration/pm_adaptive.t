# pm = adaptive (exec mode, where fcgipm cannot see busy workers): a burst
# of queued slow requests grows the pool from the accept-queue depth; it
# shrinks one worker at a time once no connection has waited for
# idle_timeout; a steady light load does not make it oscillate; at
# min_workers an idle master makes no system calls.
. "$(dirname "$0")/lib.sh"

need strace
SOCK=$TMP/ada.sock


sizes() { grep -oE -- '-> [0-9]+ workers' "$LOG" | awk '{ print $2 }'; }
changes() { sizes | wc -l; }
at_least_workers() { [ "$(worker_count)" -ge "$1" ]; }

cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
command = {"$HELLO"}
pm = adaptive
min_workers = 1
max_workers = 8
idle_timeout = "1s"
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 1
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"
quiet_master
ok "one worker (min_workers), master asleep"

# Six slow requests at once: five wait in the queue behind the worker.
BURST=()
for i in 1 2 3 4 5 6; do
    req "unix:$SOCK" "/slow?sleep=3000" >/dev/null 2>&1 &
    BURST+=("$!")
done
wait_until 10 at_least_workers 4 \
    || fail "$(worker_count) workers for a queue of 5 slow requests"
wait_log "[0-9]+ connections? waiting, 1 -> [0-9]+ workers"
for p in "${BURST[@]}"; do
    wait_status "$p"
    [ "$STATUS" = 0 ] || fail "a request of the burst failed: $STATUS"
done
most=$(sizes | sort -n | tail -1)
[ "$most" -le 6 ] || fail "grew to $most workers for 6 requests"
ok "a queue of slow requests grows the pool (to $most), all answered"

# Quiet: one worker fewer per idle_timeout, down to min_workers.
wait_workers 1 30
wait_log "a worker was idle for [0-9]+ms, 2 -> 1 workers"
quiet_master
ok "the queue stayed empty: back to one worker, master asleep"

# A steady light load (one client, short requests back to back) needs
# the one worker: the size must not flap.
before=$(changes)
LOAD_ARGS=()
load_start "unix:$SOCK" "/light?sleep=20" 1
wait_load 100 30
load_stop
[ "$LOAD_BAD" = 0 ] || fail "$LOAD_BAD requests failed: $(load_errors)"
flaps=$(( $(changes) - before ))
[ "$flaps" -le 2 ] \
    || fail "$flaps size changes under a light load: $(sizes | tr '\n' ' ')"
ok "steady light load ($LOAD_GOOD requests): $flaps size changes"

# Two clients with slower requests need two workers: it settles there.
load_start "unix:$SOCK" "/two?sleep=100" 2
wait_until 10 at_least_workers 2 || fail "$(worker_count) workers for 2 clients"
wait_load 10
before=$(changes)
wait_load 40 30
flaps=$(( $(changes) - before ))
load_stop
[ "$LOAD_BAD" = 0 ] || fail "$LOAD_BAD requests failed: $(load_errors)"
[ "$flaps" -le 2 ] \
    || fail "$flaps size changes under a load of two: $(sizes | tr '\n' ' ')"
ok "steady load of two clients: $(worker_count) workers, $flaps size changes"

wait_workers 1 30
quiet_master
ok "load gone: back to min_workers, master asleep"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
done_testing
