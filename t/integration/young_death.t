# A young worker (within min_uptime of its start) killed once, as by an
# OOM kill or an operator's kill -9, is respawned at once; its
# replacement killed young too waits restart_backoff: the backoff starts
# at the second quick death in a row.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock
cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
workers = 1
min_uptime = "1m"
restart_backoff = "300ms"
command = {"$HELLO"}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 1
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"

# new_worker OLD: a worker other than OLD answers.
new_worker() {
    local pid
    pid=$(req "unix:$SOCK" /pid 2>/dev/null | awk '{ print $NF }')
    [ -n "$pid" ] && [ "$pid" != "$1" ] && NEW=$pid
}
first=$(workers)
kill -KILL "$first"
wait_until 5 new_worker "$first" || fail "no new worker after kill -9"
line=$(grep -E "worker $first \(slot 0\) killed by SIGKILL" "$LOG")
[[ $line == *", respawning" ]] || fail "the first quick death waited: $line"
ok "a young worker killed once is respawned at once"

second=$NEW
kill -KILL "$second"
wait_log "worker $second \(slot 0\) killed by SIGKILL after [0-9.]+s, respawn in (3[0-9][0-9])ms"
wait_until 5 new_worker "$second" || fail "no new worker after the backoff"
ok "its replacement killed young waits restart_backoff"
done_testing
