# The master is a child subreaper (issue 10): a CGI script whose worker
# is SIGKILLed mid-request is reparented to it and killed with its group;
# one line per worker says so. What is not the dead worker's is spared:
# an exec program's background jobs (in its group, or in a session of
# their own) survive another worker's death and their own worker's, as
# under any manager. The master reaps them quietly and is idle again.
. "$(dirname "$0")/lib.sh"

# The master's children but the background jobs (sleep) reparented to it.
workers() {
    local p
    for p in $(pgrep -P "${1:-$FCGIPM_PID}" | sort -n); do
        [ "$(ps -o comm= -p "$p")" = sleep ] || echo "$p"
    done
}
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
    command = {"/bin/sh", "-c", "(sleep 600 & echo \$! >$TMP/exec.kid); \
(setsid sleep 600 </dev/null & echo \$! >$TMP/exec.escaped); exec $HELLO"}
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
logged "pool default: killed 1 process left by worker $worker$"
logged "reaped orphan $script left by pool default \(worker $worker\)"
log_has "warn .*reaped unknown child" && fail "orphans reaped as unknown"
wait_status "$client"
ok "a CGI script dies with its worker"
for p in "$kid" "$exec_escaped"; do
    pid_alive "$p" || fail "background job $p of the exec worker was killed"
done
ok "an exec program's background jobs survive another worker's death"

# --- an exec worker's own death spares its background jobs too
worker=$(workers | while read -r w; do
    [ "$(ps -o args= -p "$w")" = "$HELLO" ] && echo "$w"; done)
[ -n "$worker" ] || fail "no exec worker"
kill -KILL "$worker"
wait_gone "$worker" 5 || fail "the exec worker did not die"
wait_log "pool exec: worker $worker .*killed by SIGKILL"
for p in "$kid" "$exec_escaped"; do
    pid_alive "$p" || fail "background job $p died with its exec worker"
done
log_has "left by worker $worker" && fail "the master swept an exec worker"
kill -KILL "$kid" "$exec_escaped"
wait_gone "$kid" 5 && wait_gone "$exec_escaped" 5 \
    || fail "the background jobs were not reaped"
ok "an exec worker's background jobs outlive it and are reaped quietly"
wait_workers 2

quiet_master
ok "the master is idle again: no system call"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "the master exited $STATUS"
ok "the master stops"
for p in $(cat "$TMP/exec.kid" "$TMP/exec.escaped" 2>/dev/null); do
    kill -KILL "$p" 2>/dev/null
done
done_testing
