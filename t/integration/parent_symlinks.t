# A pool user (nobody) owns a directory above the log, the pid file and
# a socket, and swaps the subdirectory that holds them for a symlink to a
# root-only directory: reopening the log, reloads that move the pid file
# away and back, change the log or bind a socket there create, replace
# or remove nothing in it; each refusal is logged with the path. And a
# log file nobody made itself in a directory it can write (after a
# logrotate) is refused, at start and on reopen, and never written.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root: the master's privileges are the point"
need runuser
need python3
as_nobody() { runuser -u nobody -- "$@"; }
ctl() { "$FCGIPM" ctl -S "$RUN/ctl.sock" "$@"; }

chmod 711 "$TMP"
RUN=$TMP/run
mkdir "$RUN"
PLOG=$TMP/plog
mkdir -p "$PLOG/sub"
chown nobody:nogroup "$PLOG"
# Stands for a directory of root's (/root, /etc): nothing may change in it.
ROOTONLY=$TMP/rootonly
mkdir -m 700 "$ROOTONLY"
CONF=$TMP/fcgipm.conf
# write_conf LOG PID_FILE [MORE]
write_conf() {
    cat >"$CONF" <<CONF
log = "$1"
pid_file = "$2"
control_listen = "unix:$RUN/ctl.sock"
listen = "unix:$RUN/app.sock"
workers = 1
command = {"$HELLO"}
CONF
    [ -z "${3:-}" ] || echo "$3" >>"$CONF"
}
# rootonly: what is in the root-only directory, to the inode and mtime.
rootonly() {
    find "$ROOTONLY" -mindepth 1 -printf '%P %i %y %m %u %s %T@\n' | sort
    cat "$ROOTONLY"/*.pid 2>/dev/null
}

LOG=$PLOG/sub/fcgipm.log
write_conf "$LOG" "$PLOG/sub/fcgipm.pid"
start_fcgipm -c "$CONF"
wait_until 10 log_has "started: pid $FCGIPM_PID," || fail "fcgipm did not start"
[ "$(cat "$PLOG/sub/fcgipm.pid")" = "$FCGIPM_PID" ] || fail "no pid file"

# Root's own pid file that names the master (what a reload through the
# symlink would write there), and a stale socket of root's.
echo "$FCGIPM_PID" >"$ROOTONLY/fcgipm.pid"
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$ROOTONLY/app2.sock" \
    || fail "python3 could not make a stale socket"
[ -S "$ROOTONLY/app2.sock" ] || fail "no stale socket to test with"
BEFORE=$(rootonly)

as_nobody sh -c "mv '$PLOG/sub' '$PLOG/sub.old' &&
    ln -s '$ROOTONLY' '$PLOG/sub'" \
    || fail "nobody cannot swap its subdirectory for a symlink"
LOG=$PLOG/sub.old/fcgipm.log
LINK_REFUSED="a symbolic link on the way could be another user's, not root's"
check_rootonly() {
    [ "$(rootonly)" = "$BEFORE" ] \
        || fail "$1: $ROOTONLY changed: $(rootonly) (was: $BEFORE)"
}

# 1. ctl reopen: the log's directory is reached through nobody's link.
rc=0
ctl reopen >"$TMP/out" 2>&1 || rc=$?
check_rootonly "after ctl reopen"
[ "$rc" != 0 ] || fail "reopen through the symlink succeeded"
wait_log "error .*log $PLOG/sub/fcgipm.log: not opened: a symbolic link on\
 the way to its directory could be another user's, not root's"
wait_log "cannot reopen the log file: Too many levels of symbolic links"
ok "reopen: the log is not created through a swapped parent directory"

# 2. A reload moves the pid file away: the old one, seen through the
# link, is root's file naming us: not removed.
write_conf "$PLOG/sub/fcgipm.log" "$RUN/fcgipm.pid"
ctl reload >"$TMP/out" 2>&1 || fail "reload away: $(cat "$TMP/out")"
check_rootonly "after a reload moving the pid file away"
[ "$(cat "$RUN/fcgipm.pid")" = "$FCGIPM_PID" ] || fail "no new pid file"
log_has "warn .*pid file $PLOG/sub/fcgipm.pid: not removed: cannot open its\
 directory \($LINK_REFUSED\): Too many levels" \
    || fail "the refused removal is not logged"
ok "a reload moving the pid file away removes nothing through the link"

# 3. A reload moves it back: the reload fails, nothing written there.
write_conf "$PLOG/sub/fcgipm.log" "$PLOG/sub/fcgipm.pid"
rc=0
ctl reload >"$TMP/out" 2>&1 || rc=$?
check_rootonly "after a reload moving the pid file back"
[ "$rc" != 0 ] || fail "reload back succeeded: $(cat "$TMP/out")"
log_has "error .*pid file $PLOG/sub/fcgipm.pid: cannot create it: cannot\
 open its directory \($LINK_REFUSED\): Too many levels" \
    || fail "the refused pid file is not logged"
[ "$(cat "$RUN/fcgipm.pid")" = "$FCGIPM_PID" ] || fail "old pid file lost"
ok "a reload moving the pid file through the link fails, writes nothing"

# 4. A reload to another log there, then to a socket there over root's
# stale one.
write_conf "$PLOG/sub/other.log" "$RUN/fcgipm.pid"
ctl reload >"$TMP/out" 2>&1 || fail "reload of the log: $(cat "$TMP/out")"
check_rootonly "after a reload to a log there"
log_has "reload: cannot open log $PLOG/sub/other.log; keeping the old one" \
    || fail "the refused log is not logged"
write_conf "$PLOG/sub/fcgipm.log" "$RUN/fcgipm.pid" \
    "pool \"two\" { listen = \"unix:$PLOG/sub/app2.sock\"
command = {\"$HELLO\"} }"
rc=0
ctl reload >"$TMP/out" 2>&1 || rc=$?
check_rootonly "after a reload to a socket there"
[ "$rc" != 0 ] || fail "reload binding there succeeded"
log_has "error .*listen unix:$PLOG/sub/app2.sock: cannot open the directory\
 of $PLOG/sub/app2.sock \($LINK_REFUSED\)" \
    || fail "the refused socket is not logged"
pid_alive "$FCGIPM_PID" || fail "the master died"
answers "unix:$RUN/app.sock" || fail "the master stopped serving"
ok "a new log or a stale socket through the link: refused, nothing changed"

# 5. A log directory nobody can write; after a logrotate, nobody makes
# the new log itself, for everyone to write.
DLOG=$TMP/dlog
mkdir "$DLOG"
chown nobody:nogroup "$DLOG"
write_conf "$DLOG/fcgipm.log" "$RUN/fcgipm.pid"
ctl reload >"$TMP/out" 2>&1 || fail "reload to $DLOG: $(cat "$TMP/out")"
LOG=$DLOG/fcgipm.log
[ "$(stat -c %U "$LOG")" = root ] || fail "the master's log is not root's"
mv "$LOG" "$LOG.1"
LOG=$DLOG/fcgipm.log.1
as_nobody sh -c "umask 0 && : >'$DLOG/fcgipm.log'" \
    || fail "nobody cannot make its log file"
REFUSED="log $DLOG/fcgipm.log: not appended to: the file belongs to uid\
 $(id -u nobody), neither root nor uid 0 \(ours\)"
ctl reopen >"$TMP/out" 2>&1 && fail "reopen of nobody's file succeeded"
wait_log "error .*$REFUSED"
n=$(log_count "reload: done")
ctl reload >"$TMP/out" 2>&1 || fail "reload after that: $(cat "$TMP/out")"
[ "$(log_count "reload: done")" -gt "$n" ] || fail "the old log was left"
[ -s "$DLOG/fcgipm.log" ] \
    && fail "the master wrote to nobody's file: $(cat "$DLOG/fcgipm.log")"
ok "reopen refuses a log file nobody made, names it, keeps the old one"

# At start: exit 1, the path and the reason on stderr.
write_conf "$DLOG/fcgipm.log" "$RUN/other.pid"
sed -i "s|$RUN/ctl.sock|$RUN/ctl2.sock|; s|$RUN/app.sock|$RUN/app3.sock|" \
    "$CONF"
rc=0
"$FCGIPM" -c "$CONF" >"$TMP/start.out" 2>&1 || rc=$?
[ "$rc" = 1 ] \
    || fail "start with nobody's log: exit $rc: $(cat "$TMP/start.out")"
grep -qE "$REFUSED" "$TMP/start.out" \
    && grep -q "cannot open log $DLOG/fcgipm.log: Operation not permitted" \
        "$TMP/start.out" || fail "no clear error: $(cat "$TMP/start.out")"
[ -s "$DLOG/fcgipm.log" ] && fail "a new master wrote to nobody's file"
ok "a master does not start on a log file nobody made: exit 1, path named"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
[ ! -e "$RUN/fcgipm.pid" ] || fail "pid file left behind"
check_rootonly "after the master exited"
done_testing
