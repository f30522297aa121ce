# -D: the command returns 0 once the daemon serves, the pid file names
# it, it has left our session; start-up errors still reach our stderr and
# the exit status; a second daemon on the same pid file refuses to start.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/d.sock
PIDFILE=$TMP/d.pid
"$FCGIPM" -D -s "$SOCK" -p "$PIDFILE" -l "$LOG" -w 2 -- "$HELLO" \
    >"$TMP/out" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "-D exited $rc: $(cat "$TMP/out")"
[ -s "$PIDFILE" ] || fail "no pid file once -D returned"
daemon=$(cat "$PIDFILE")
STARTED_PIDS+=("$daemon")
pid_alive "$daemon" || fail "daemon $daemon is not running"
[ "$(ps -o sid= -p "$daemon" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ] \
    || fail "daemon still in our session"
answers "unix:$SOCK" || fail "daemon does not answer at once"
[ "$(worker_count "$daemon")" -eq 2 ] || fail "daemon has $(worker_count "$daemon") workers"
ok "-D returns 0 once serving; pid file names the detached daemon $daemon"

"$FCGIPM" -D -s "$TMP/other.sock" -p "$PIDFILE" -- "$HELLO" >"$TMP/out2" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "second daemon on the same pid file exited $rc"
grep -q "fcgipm $daemon is already running" "$TMP/out2" \
    || fail "no clear message: $(cat "$TMP/out2")"
[ "$(cat "$PIDFILE")" = "$daemon" ] || fail "pid file overwritten"
ok "a second daemon on the same pid file exits 1 with a clear message"

"$FCGIPM" -D -s "$SOCK" -- "$HELLO" >"$TMP/out3" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "second daemon on a live socket exited $rc"
grep -q "another server answers on $SOCK" "$TMP/out3" \
    || fail "bind error not on stderr: $(cat "$TMP/out3")"
answers "unix:$SOCK" || fail "first daemon disturbed"
ok "a start-up error of a daemon reaches the terminal, exit status 1"

kill -QUIT "$daemon"
wait_until 10 pid_gone "$daemon" || fail "daemon did not stop on QUIT"
[ ! -e "$PIDFILE" ] || fail "pid file left behind"
[ ! -e "$SOCK" ] || fail "socket left behind"
ok "QUIT stops the daemon and removes its pid file and socket"
done_testing
