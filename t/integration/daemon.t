# -D: the command returns 0 once the daemon serves, the pid file names
# it, it has left our session; start-up errors still reach our stderr and
# the exit status; a second daemon on the same pid file refuses to start;
# the daemon keeps none of the caller's other descriptors.
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

# The caller's other descriptors: a pipe the daemon would hold on fd 3
# keeps `fcgipm -D ... 3>&1 | cat` waiting for ever, and a file on fd 4
# must not stay open in the daemon either.
SOCK2=$TMP/d2.sock
PIDFILE2=$TMP/d2.pid
timeout 10 bash -c '"$@" 3>&1 4>"$0" | cat >/dev/null' "$TMP/held" \
    "$FCGIPM" -D -s "$SOCK2" -p "$PIDFILE2" -l "$LOG" -w 1 -- "$HELLO"
rc=$?
daemon2=$(cat "$PIDFILE2" 2>/dev/null)
[ -n "$daemon2" ] && STARTED_PIDS+=("$daemon2")
[ "$rc" != 124 ] || fail "fcgipm -D ... 3>&1 | cat still waits after 10 s"
[ "$rc" = 0 ] || fail "fcgipm -D ... 3>&1 | cat exited $rc"
pid_alive "$daemon2" || fail "second daemon is not running"
held=$(find "/proc/$daemon2/fd" -lname "$TMP/held" 2>/dev/null | wc -l)
[ "$held" = 0 ] || fail "daemon $daemon2 still holds the caller's fd 4"
answers "unix:$SOCK2" || fail "second daemon does not answer"
kill -QUIT "$daemon2"
wait_until 10 pid_gone "$daemon2" || fail "second daemon did not stop"
ok "-D closes the caller's other descriptors: '3>&1 | cat' returns"

kill -QUIT "$daemon"
wait_until 10 pid_gone "$daemon" || fail "daemon did not stop on QUIT"
[ ! -e "$PIDFILE" ] || fail "pid file left behind"
[ ! -e "$SOCK" ] || fail "socket left behind"
ok "QUIT stops the daemon and removes its pid file and socket"
done_testing
