# Nothing a worker started outlives it (issue 10): the master is a child
# subreaper, so what a dead worker leaves running is reparented to it and
# killed, with the group it leads: a CGI script whose worker is SIGKILLed
# mid-request and the child it moved to a session of its own (setsid),
# and the children of an exec worker (php-cgi's own, in its group, or
# escaped). The master reaps them quietly, logs one line per worker, and
# is idle again afterwards.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/cgi-bin
SOCK=$TMP/cgi.sock
ESOCK=$TMP/exec.sock
mkdir -p "$ROOT"
cat >"$ROOT/setsid.sh" <<'SH'
#!/bin/sh
# Escapes its group and its session, then waits.
echo $$ >../script.pid
setsid sleep 600 </dev/null >/dev/null 2>&1 &
echo $! >../escaped.pid
wait
SH
chmod 755 "$ROOT/setsid.sh"

cat >"$TMP/fcgipm.conf" <<CONF
log_level = debug
listen = "unix:$SOCK"
mode = cgi
cgi_root = "$ROOT"
workers = 1
pool "exec" {
    listen = "unix:$ESOCK"
    workers = 1
    command = {"/bin/sh", "-c", "sleep 600 & echo \$! >$TMP/exec.kid; \
setsid sleep 600 </dev/null & echo \$! >$TMP/exec.escaped; exec $HELLO"}
}
CONF
"$FCGIPM" -t -c "$TMP/fcgipm.conf" >"$TMP/check.out" 2>&1 \
    || skip "this fcgipm cannot run mode = cgi: $(tail -1 "$TMP/check.out")"
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2
logged() { wait_log "$1" 5; }
wait_until 5 test -s "$TMP/exec.escaped" || fail "the exec worker did not start"
kid=$(cat "$TMP/exec.kid")
exec_escaped=$(cat "$TMP/exec.escaped")
STARTED_PIDS+=("$kid" "$exec_escaped")

# --- a CGI script and its setsid child, worker SIGKILLed mid-request
"$FCGI_REQUEST" -t 20 -p "SCRIPT_FILENAME=$ROOT/setsid.sh" "unix:$SOCK" \
    /cgi >/dev/null 2>&1 &
client=$!
STARTED_PIDS+=("$client")
wait_until 5 test -s "$TMP/escaped.pid" || fail "setsid.sh did not start"
script=$(cat "$TMP/script.pid")
escaped=$(cat "$TMP/escaped.pid")
STARTED_PIDS+=("$escaped")
wait_until 5 test "$(ps -o comm= -p "$escaped")" = sleep \
    || fail "the escaped child $escaped is not sleeping"
[ "$(ps -o sid= -p "$escaped")" != "$(ps -o sid= -p "$script")" ] \
    || fail "the child did not leave the script's session"
worker=$(ps -o ppid= -p "$script" | tr -d ' ')
kill -KILL "$worker"
wait_gone "$script" 5 || fail "script $script outlived its worker $worker"
wait_gone "$escaped" 5 \
    || fail "the setsid child $escaped outlived worker $worker (parent \
$(ps -o ppid= -p "$escaped"))"
logged "pool default: killed [0-9]+ process(es)? left by worker $worker$"
logged "reaped orphan $escaped left by pool default \(worker $worker\)"
log_has "warn .*reaped unknown child" && fail "orphans reaped as unknown"
wait_status "$client"
ok "a CGI script and its setsid child die with their worker"

# --- an exec worker's children, in its group and out of it
escaped=$exec_escaped
worker=$(ps -o ppid= -p "$kid" | tr -d ' ')
rm -f "$TMP/exec.kid" "$TMP/exec.escaped"
kill -KILL "$worker"
wait_gone "$kid" 5 || fail "the exec worker's child $kid outlived it"
wait_gone "$escaped" 5 \
    || fail "the exec worker's setsid child $escaped outlived it"
logged "pool exec: killed 2 processes left by worker $worker$"
wait_until 5 test -s "$TMP/exec.escaped" \
    || fail "the exec worker was not respawned"
wait_workers 2
STARTED_PIDS+=($(cat "$TMP/exec.kid" "$TMP/exec.escaped"))
ok "an exec worker's children, in its group or not, die with it"

quiet_master
ok "the master is idle again: no system call"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "the master exited $STATUS"
for p in $(cat "$TMP/exec.kid" "$TMP/exec.escaped"); do
    wait_gone "$p" 5 || fail "$p outlived the master's stop"
done
ok "a stopped master leaves none of its workers' children"
done_testing
