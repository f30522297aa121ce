# A pool user (nobody) who can write the directory of the sockets and of
# the pid file plants symlinks to a root-owned file (standing in for
# /etc/shadow). A reload, a new status socket mode, writing the pid file
# and exiting never change that file: the master refuses, says why and
# keeps serving. A reload whose new pid file cannot be written fails and
# keeps the old pid file.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root: the master's privileges are the point"
need setpriv
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

chmod 711 "$TMP"
RUN=$TMP/run
mkdir "$RUN"
chown nobody:nogroup "$RUN"
SHADOW=$TMP/shadow
echo secret >"$SHADOW"
chmod 600 "$SHADOW"
# check_shadow WHEN: the file must be exactly as it was.
check_shadow() {
    local now
    now="$(stat -c '%a %U:%G' "$SHADOW" 2>&1) $(cat "$SHADOW" 2>&1)"
    [ "$now" = "600 root:root secret" ] \
        || fail "$1: $SHADOW is now: $now"
}

SOCK=$RUN/app.sock
SSOCK=$RUN/status.sock
CONF=$TMP/fcgipm.conf
# write_conf LISTEN STATUS_MODE [MORE]
write_conf() {
    cat >"$CONF" <<CONF
listen = "unix:$1"
socket_mode = 0660
socket_group = "daemon"
workers = 1
command = {"$HELLO"}
status_listen = "unix:$SSOCK"
status_socket_mode = $2
status_socket_group = "daemon"
CONF
    [ -z "${3:-}" ] || echo "$3" >>"$CONF"
}
failed_reloads() { log_count 'keeping the running configuration'; }
ended_reloads() { log_count 'reload: done|keeping the running configuration'; }
more_ended() { [ "$(ended_reloads)" -gt "$1" ]; }
# hup: HUP the master and wait until that reload has ended, either way.
hup() {
    local n
    n=$(ended_reloads)
    kill -HUP "$FCGIPM_PID"
    wait_until 10 more_ended "$n" || fail "the reload did not end"
}
shadow_changed() {
    [ "$(stat -c '%a %U:%G' "$SHADOW") $(cat "$SHADOW")" \
        != "600 root:root secret" ]
}

write_conf "$SOCK" 0660
start_fcgipm -c "$CONF"
wait_until 10 answers "unix:$SOCK" || fail "no answer on $SOCK"
wait_until 10 answers "unix:$SSOCK" /ping || fail "no status on $SSOCK"
[ "$(stat -c '%a %G' "$SOCK")" = "660 daemon" ] \
    || fail "socket is $(stat -c '%a %G' "$SOCK"), not 660 daemon"

as_nobody ln -sfn "$SHADOW" "$SOCK" || fail "nobody cannot plant a symlink"
n=$(failed_reloads)
hup
check_shadow "after a HUP with the socket swapped for a symlink"
log_has "listen unix:$SOCK: $SOCK was replaced" || fail "refusal not logged"
[ "$(failed_reloads)" -gt "$n" ] || fail "the reload did not fail"
pid_alive "$FCGIPM_PID" || fail "master died"
answers "unix:$SSOCK" /ping || fail "master does not answer on status"
ok "a socket swapped for a symlink: HUP refuses to chmod/chown it, logs" \
    "it, fails the reload; the master serves on"

as_nobody ln -sfn "$SHADOW" "$SSOCK" || fail "nobody cannot plant a symlink"
write_conf "$RUN/app2.sock" 0640
hup
log_has 'reload: done' || fail "the reload with a new listen failed"
# The status socket follows the new configuration just after the reload.
status_refused() {
    log_has "status unix:$SSOCK: $SSOCK was replaced" || shadow_changed
}
wait_until 10 status_refused || fail "status mode change not refused"
check_shadow "after a new status_socket_mode with the status socket swapped"
answers "unix:$RUN/app2.sock" || fail "no answer on the new listen"
ok "a status socket swapped for a symlink: its new mode is refused and" \
    "logged; the reload goes on"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
check_shadow "after the master exited"
[ -L "$SOCK" ] && [ -L "$SSOCK" ] || fail "a planted symlink was removed"
ok "at exit the swapped files are left alone (not ours), the target too"

# The pid file: nobody plants symlinks at the temporary name fcgipm used
# to write (PATH.<pid>.tmp) and at the pid file itself, then fcgipm
# starts with that pid (bash execs it).
PIDF=$RUN/fcgipm.pid
# plant_and_start NAME=TARGET... -- ARGS: plant as nobody (NAME may hold
# PID, the pid fcgipm will have), then exec fcgipm ARGS in the background.
plant_and_start() {
    bash -c '
        while [ "$1" != -- ]; do
            setpriv --reuid=nobody --regid=nogroup --clear-groups \
                ln -sfn "${1#*=}" "$(echo "${1%%=*}" | sed "s/PID/$$/")" \
                || exit 99
            shift
        done
        shift
        exec "$@"' plant "$@" >>"$LOG" 2>&1 &
    FCGIPM_PID=$!
    STARTED_PIDS+=("$FCGIPM_PID")
}
# pidfile_names PID: the pid file is a plain file holding PID.
pidfile_names() { [ ! -L "$PIDF" ] && [ "$(cat "$PIDF" 2>/dev/null)" = "$1" ]; }

# started_or_gone: the master started (its pid file is written), or it
# exited.
started_or_gone() {
    log_has "started: pid $FCGIPM_PID," || pid_gone "$FCGIPM_PID"
}
plant_and_start "$PIDF.PID.tmp=$SHADOW" "$PIDF=$SHADOW" -- \
    "$FCGIPM" -s "$RUN/p.sock" -p "$PIDF" -w 1 -- "$HELLO"
wait_until 10 started_or_gone || fail "fcgipm did not start"
check_shadow "after the pid file was written"
pidfile_names "$FCGIPM_PID" || fail "pid file $(ls -l "$PIDF" 2>&1)"
kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
[ ! -e "$PIDF" ] || fail "pid file left behind"
check_shadow "after the master removed its pid file"
ok "symlinks at the pid file and its old temporary name: the target is" \
    "untouched, the pid file is written and removed"

# A symlink at the pid file to a file naming a live process (pid 1) is
# not read through: it is not a fcgipm pid file, so fcgipm starts.
PIDLIKE=$TMP/pidlike
echo 1 >"$PIDLIKE"
chmod 600 "$PIDLIKE"
CONF2=$TMP/pid.conf
write_pid_conf() {
    cat >"$CONF2" <<CONF
listen = "unix:$RUN/p.sock"
workers = 1
command = {"$HELLO"}
pid_file = "$1"
CONF
}
write_pid_conf "$PIDF"
plant_and_start "$PIDF=$PIDLIKE" -- "$FCGIPM" -c "$CONF2"
wait_until 10 started_or_gone || fail "fcgipm did not start"
pid_alive "$FCGIPM_PID" \
    || fail "fcgipm read the pid file through a symlink: $(tail -1 "$LOG")"
pidfile_names "$FCGIPM_PID" || fail "pid file $(ls -l "$PIDF" 2>&1)"
[ "$(cat "$PIDLIKE")" = 1 ] || fail "$PIDLIKE was changed"
ok "a symlink at the pid file is not read through (no 'already running')"

# A reload to a pid file that cannot be written fails: the old one stays.
write_pid_conf "$TMP/missing/fcgipm.pid"
n=$(failed_reloads)
hup
pidfile_names "$FCGIPM_PID" || fail "old pid file lost: $(ls -l "$PIDF" 2>&1)"
[ "$(failed_reloads)" -gt "$n" ] || fail "the reload did not fail"
log_has "pid file $TMP/missing/fcgipm.pid: cannot create .*: No such file" \
    || fail "the reason is not logged"
log_has "reload: pid file $TMP/missing/fcgipm.pid cannot be written" \
    || fail "the failed reload is not logged"
answers "unix:$RUN/p.sock" || fail "no answer after the failed reload"
write_pid_conf "$RUN/new.pid"
n=$(failed_reloads)
hup
[ "$(failed_reloads)" = "$n" ] || fail "the reload to $RUN/new.pid failed"
[ "$(cat "$RUN/new.pid")" = "$FCGIPM_PID" ] || fail "new pid file not written"
[ ! -e "$PIDF" ] || fail "old pid file left behind"
ok "a reload to an unwritable pid file fails and keeps the old one; a" \
    "writable one moves it"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
[ ! -e "$RUN/new.pid" ] || fail "pid file left behind"
done_testing
