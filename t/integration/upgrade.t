# SIGUSR2: the new binary takes over the listening socket and the pid
# file, the old master drains and exits 0, no request fails under load;
# a new master that cannot start leaves the old one serving (rollback).
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock
PIDFILE=$TMP/fcgipm.pid
CONF=$TMP/fcgipm.conf
cat >"$CONF" <<CONF
listen = "unix:$SOCK"
workers = 3
pid_file = "$PIDFILE"
command = {"$HELLO"}
CONF
start_fcgipm -c "$CONF"
wait_workers 3
wait_until 5 test -s "$PIDFILE" || fail "no pid file"
[ "$(cat "$PIDFILE")" = "$FCGIPM_PID" ] || fail "pid file holds $(cat "$PIDFILE")"
inode=$(stat -c %i "$SOCK")

load_start "unix:$SOCK" "/?sleep=5" 4
wait_load 20
upgrade_master "$PIDFILE"
new=$FCGIPM_PID
wait_load 30
load_stop
[ "$LOAD_BAD" -eq 0 ] || fail "$LOAD_BAD of $((LOAD_GOOD + LOAD_BAD)) requests failed during the upgrade: $(load_errors)"
ok "USR2 under load: $LOAD_GOOD requests, 0 failed; old master exited 0"

pid_alive "$new" || fail "new master $new is not running"
[ "$(stat -c %i "$SOCK")" = "$inode" ] || fail "socket file was recreated"
[ "$(worker_count "$new")" -eq 3 ] || fail "new master has $(worker_count "$new") workers"
log_has "fcgipm\[$new\]: listen unix:$SOCK: adopted fd [0-9]+ from the old master" \
    || fail "no adoption line"
ok "the new master $new adopted the same socket and runs 3 workers"

# Rollback: a config the new master rejects. The old one keeps serving
# and takes its pid file back.
FCGIPM_PID=$new
echo 'workers = "many"' >>"$CONF"
kill -USR2 "$new"
wait_log "fcgipm\[$new\]: upgrade: new master [0-9]+ exited before it was ready; this master goes on serving"
pid_alive "$new" || fail "master $new died in the rollback"
[ "$(cat "$PIDFILE")" = "$new" ] || fail "pid file holds $(cat "$PIDFILE") after rollback"
[ -S "$SOCK" ] || fail "socket file gone after rollback"
answers "unix:$SOCK" || fail "no answer after rollback"
ok "a new master that fails to start leaves the old one serving"

kill -QUIT "$new"
wait_until 10 pid_gone "$new" || fail "new master did not stop"
[ ! -e "$SOCK" ] || fail "socket left behind by the new master"
[ ! -e "$PIDFILE" ] || fail "pid file left behind by the new master"
ok "the new master stops on QUIT and removes socket and pid file"

# A new binary that never reports ready (a script that sleeps, put where
# the running one was, as a package upgrade would): once upgrade_timeout
# has passed it is killed and the old master goes on serving.
mkdir -p "$TMP/bin"
cp "$FCGIPM_BIN" "$TMP/bin/fcgipm"
cat >"$TMP/slow.conf" <<CONF
upgrade_timeout = 1s
listen = "unix:$TMP/slow.sock"
workers = 1
command = {"$HELLO"}
CONF
"$TMP/bin/fcgipm" -c "$TMP/slow.conf" >>"$LOG" 2>&1 &
SLOW=$!
STARTED_PIDS+=("$SLOW")
wait_until 10 answers "unix:$TMP/slow.sock" || fail "slow.conf master"
printf '#!/bin/sh\nexec sleep 60\n' >"$TMP/bin/fcgipm.new"
chmod 755 "$TMP/bin/fcgipm.new"
mv -f "$TMP/bin/fcgipm.new" "$TMP/bin/fcgipm"
kill -USR2 "$SLOW"
wait_log "fcgipm\[$SLOW\]: upgrade: started new master [0-9]+ .*waiting up to 1s"
wait_log "fcgipm\[$SLOW\]: upgrade: new master [0-9]+ was not ready in time \(killed\)"
pid_alive "$SLOW" || fail "master $SLOW died in the rollback"
answers "unix:$TMP/slow.sock" || fail "no answer after the timed-out upgrade"
ok "a new master not ready within upgrade_timeout is killed; the old serves"
done_testing
