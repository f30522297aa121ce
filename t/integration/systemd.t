# Started the way systemd starts a socket-activated Type=notify service:
# fcgipm adopts the socket on fd 3 (LISTEN_FDS/LISTEN_PID), hides those
# variables from its workers, leaves the socket file to its owner, and
# reports READY, RELOADING, MAINPID (after an upgrade) and STOPPING.
. "$(dirname "$0")/lib.sh"
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)

SOCK=$TMP/activated.sock
NOTIFY_LOG=$TMP/notify.log
: >"$NOTIFY_LOG"
"$TOOLS/notify-listen" "$TMP/notify.sock" "$NOTIFY_LOG" &
STARTED_PIDS+=("$!")
wait_until 5 test -S "$TMP/notify.sock" || fail "notify listener did not start"
notified() { grep -qx -- "$1" "$NOTIFY_LOG"; }
wait_notified() {
    wait_until 10 notified "$1" || fail "no '$1' notification: $(cat "$NOTIFY_LOG")"
}

cat >"$TMP/fcgipm.conf" <<CONF
workers = 2
clear_env = false
pid_file = "$TMP/fcgipm.pid"
command = {"$HELLO"}
CONF
# The activator execs fcgipm: the pid we start is the master's.
NOTIFY_SOCKET=$TMP/notify.sock "$TOOLS/socket-activate" "$SOCK" \
    "$FCGIPM" -c "$TMP/fcgipm.conf" >>"$LOG" 2>&1 &
FCGIPM_PID=$!
STARTED_PIDS+=("$FCGIPM_PID")
wait_log "listen unix:$SOCK: adopted fd 3 from systemd"
wait_workers 2
wait_until 5 answers "unix:$SOCK" || fail "activated socket does not answer"
ok "fcgipm adopted the socket-activated fd 3 and serves on it"

wait_notified "READY=1"
ok "READY=1 sent once the workers run"

env=$(req "unix:$SOCK" /env)
echo "$env" | grep -q '^LISTEN_' && fail "worker sees $(echo "$env" | grep '^LISTEN_')"
ok "workers do not inherit LISTEN_FDS or LISTEN_PID"

kill -HUP "$FCGIPM_PID"
wait_log "reload: done"
wait_notified "RELOADING=1"
[ "$(grep -c '^READY=1$' "$NOTIFY_LOG")" -ge 2 ] || fail "no READY=1 after the reload"
answers "unix:$SOCK" || fail "no answer after reload"
ok "HUP reports RELOADING=1 then READY=1, keeps the adopted socket"

old=$FCGIPM_PID
kill -USR2 "$old"
moved() { [ -s "$TMP/fcgipm.pid" ] && [ "$(cat "$TMP/fcgipm.pid")" != "$old" ]; }
wait_until 10 moved || fail "upgrade did not happen"
new=$(cat "$TMP/fcgipm.pid")
STARTED_PIDS+=("$new")
wait_notified "MAINPID=$new"
wait_status "$old"
answers "unix:$SOCK" || fail "no answer after upgrade"
ok "USR2 reports MAINPID=$new for the new master"

kill -QUIT "$new"
wait_notified "STOPPING=1"
wait_until 10 pid_gone "$new" || fail "new master did not stop"
[ -S "$SOCK" ] || fail "fcgipm removed the socket file systemd owns"
ok "QUIT reports STOPPING=1 and leaves systemd's socket file in place"

# ListenStream=@name: an abstract socket, which listen names "unix:@name".
# fcgipm adopts it rather than binding, and a reload keeps that very fd.
ABSTRACT="@${TMP##*/}-sd"
cat >"$TMP/abstract.conf" <<CONF
listen = "unix:$ABSTRACT"
workers = 2
command = {"$HELLO"}
CONF
# From $TMP: were the name taken for a relative path, the file shows there.
(cd "$TMP" && exec "$TOOLS/socket-activate" "$ABSTRACT" \
    "$FCGIPM" -c "$TMP/abstract.conf" >>"$LOG" 2>&1) &
FCGIPM_PID=$!
STARTED_PIDS+=("$FCGIPM_PID")
wait_log "listen unix:$ABSTRACT: adopted fd 3 from systemd"
wait_workers 2
wait_until 5 answers "unix:$ABSTRACT" || fail "abstract socket does not answer"
fd3=$(readlink "/proc/$FCGIPM_PID/fd/3")
before=$(workers)
respawns=$(log_count 'respawn')
done_before=$(log_count 'reload: done')
kill -HUP "$FCGIPM_PID"
reloaded() { [ "$(log_count 'reload: done')" -gt "$done_before" ]; }
wait_until 10 reloaded || fail "reload did not finish"
replaced() {
    has_workers 2 && [ -z "$(comm -12 <(echo "$before") <(workers))" ]
}
wait_until 10 replaced || fail "workers not all replaced: $(workers)"
answers "unix:$ABSTRACT" || fail "no answer after the reload"
[ "$(readlink "/proc/$FCGIPM_PID/fd/3")" = "$fd3" ] \
    || fail "fd 3 is $(readlink "/proc/$FCGIPM_PID/fd/3"), was $fd3"
[ "$(log_count 'respawn')" = "$respawns" ] \
    || fail "workers died after the reload: $(grep respawn "$LOG" | tail -3)"
kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
[ -e "$TMP/$ABSTRACT" ] && fail "a file $ABSTRACT was created"
log_has 'close: Bad file descriptor' && fail "a socket was closed twice"
ok "listen unix:$ABSTRACT adopts ListenStream=@name, keeps it ($fd3)" \
    "across HUP"
done_testing
