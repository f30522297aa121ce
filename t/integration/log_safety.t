# The master is root and a log's directory may belong to a pool user:
# planted symbolic links and hard links are never written through (at
# start, on USR1, for access_log); workers hold no descriptor of the
# master's log, and their lines follow it across a logrotate; a worker
# that floods its output is held to output_rate_limit.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to play a pool user"
DIR=$TMP/logs
ROOT=$TMP/cgi-bin
SOCK=$TMP/app.sock
SSOCK=$TMP/status.sock
mkdir -p "$DIR" "$ROOT"
chown nobody:nogroup "$DIR"
chmod 755 "$TMP"
# Stands for /etc/shadow: root's, not to be touched.
SECRET=$TMP/secret
echo "root-only" >"$SECRET"
chmod 600 "$SECRET"
secret_intact() {
    [ "$(cat "$SECRET")" = root-only ] && [ "$(stat -c %a:%U "$SECRET")" = 600:root ]
}
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhi\\n"\n' >"$ROOT/hi.sh"
chmod 755 "$ROOT/hi.sh"

# 1. A symbolic link at the log's path at start: refused, nothing written.
as_nobody ln -s "$SECRET" "$DIR/fcgipm.log"
cat >"$TMP/bad.conf" <<CONF
log = "$DIR/fcgipm.log"
listen = "unix:$SOCK"
command = "$HELLO"
CONF
rc=0
"$FCGIPM" -c "$TMP/bad.conf" >"$TMP/bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "start with a symlinked log: exit $rc, not 1: $(cat "$TMP/bad.out")"
grep -q "cannot open log $DIR/fcgipm.log: Too many levels of symbolic links" \
    "$TMP/bad.out" || fail "no clear error: $(cat "$TMP/bad.out")"
secret_intact || fail "the symlink's target was written"
ok "a symlinked log is refused at start, its target untouched"
rm -f "$DIR/fcgipm.log"

# A hard link to root's file, where protected_hardlinks would not stop it.
ln "$SECRET" "$DIR/fcgipm.log"
rc=0
"$FCGIPM" -c "$TMP/bad.conf" >"$TMP/bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "Too many links" "$TMP/bad.out" \
    || fail "a hard-linked log was accepted: exit $rc: $(cat "$TMP/bad.out")"
secret_intact || fail "the hard link's file was written"
ok "a log file with another hard link is refused"
rm -f "$DIR/fcgipm.log"

# 2. A running master; its workers run as root (no user), cgi mode.
LOG=$DIR/fcgipm.log
cat >"$TMP/fcgipm.conf" <<CONF
log = "$LOG"
status_listen = "unix:$SSOCK"
listen = "unix:$SOCK"
mode = cgi
cgi_root = "$ROOT"
workers = 2
access_log = "$DIR/access.log"
CONF
"$FCGIPM" -c "$TMP/fcgipm.conf" >"$TMP/stdio.out" 2>&1 &
FCGIPM_PID=$!
STARTED_PIDS+=("$FCGIPM_PID")
cgi() { "$FCGI_REQUEST" -t 10 -p "SCRIPT_FILENAME=$ROOT/$1" "unix:$SOCK" /; }
hi_answers() { cgi hi.sh 2>/dev/null | grep -q hi; }
wait_until 10 hi_answers || fail "the pool does not answer"
wait_workers 2

holds_log() {
    local w fd
    for w in $(workers); do
        for fd in /proc/"$w"/fd/*; do
            case $(readlink "$fd") in "$LOG"*) return 0 ;; esac
        done
    done
    return 1
}
holds_log && fail "a worker holds a descriptor of the master's log"
ok "workers hold no descriptor of the master's log"

# Worker lines reach the master's log through it, with their level.
cgi missing.sh >/dev/null 2>&1
wait_log "warn fcgipm\[$FCGIPM_PID\]: pool default: worker [0-9]+: refused"
ok "a worker's own line is logged by the master with its level"

# 3. logrotate: the file moves, USR1; workers' lines go to the new one.
mv "$LOG" "$LOG.1"
kill -USR1 "$FCGIPM_PID"
wait_until 10 test -e "$LOG" || fail "no new log after USR1"
wait_log "log file reopened"
cgi missing-after.sh >/dev/null 2>&1
wait_log "refused .*missing-after.sh"
grep -q missing-after "$LOG.1" && fail "a worker wrote to the rotated log"
ok "after a logrotate, workers' lines go to the new log"

# 4. The pool user's directory: the log swapped for a symlink, then USR1.
as_nobody mv "$LOG" "$DIR/moved.log" 2>/dev/null || mv "$LOG" "$DIR/moved.log"
as_nobody ln -s "$SECRET" "$LOG"
as_nobody ln -s "$SECRET" "$DIR/access.log.new"
kill -USR1 "$FCGIPM_PID"
wait_until 10 grep -q "cannot reopen the log file: Too many levels" \
    "$DIR/moved.log" || fail "no refusal logged in the old log"
secret_intact || fail "USR1 wrote through a planted symlink"
hi_answers || fail "the master stopped serving"
ok "USR1 with a planted symlink: refused, logged, target untouched, still serving"

# access_log swapped for a symlink: the root worker refuses to reopen it.
rm -f "$DIR/access.log.new"
as_nobody sh -c "rm -f '$DIR/access.log' && ln -s '$SECRET' '$DIR/access.log'"
kill -USR1 "$FCGIPM_PID"
for i in 1 2 3 4; do hi_answers; done
secret_intact || fail "a worker wrote its access log through a symlink"
grep -q "cannot open $DIR/access.log: Too many levels" "$DIR/moved.log" \
    || fail "the refused access log is not logged"
ok "access_log through a planted symlink: refused, target untouched"
kill -TERM "$FCGIPM_PID"
wait_gone "$FCGIPM_PID" 10 || fail "the master did not stop"

# 5. A worker printing in a loop is held to output_rate_limit; an exec
# program's "<N>" does not make its line an error.
LOG=$TMP/flood.log
cat >"$TMP/flood.conf" <<CONF
log = "$LOG"
status_listen = "unix:$SSOCK"
listen = "unix:$SOCK"
command = {"/bin/sh", "-c", "echo '<2>forged critical'; while :; do echo flooding the log with a line; done"}
output_rate_limit = "64k"
CONF
t0=${EPOCHREALTIME/./}
"$FCGIPM" -c "$TMP/flood.conf" >"$TMP/stdio.out" 2>&1 &
FCGIPM_PID=$!
STARTED_PIDS+=("$FCGIPM_PID")
wait_log "output over output_rate_limit \(65536 bytes a second\): [0-9]+ lines \([0-9]+ bytes\) dropped"
wait_until 5 answers "unix:$SSOCK" /ping || fail "the flooded master does not answer"
log_has "warn fcgipm\[$FCGIPM_PID\]: pool default: worker [0-9]+: forged critical" \
    || fail "an exec program's <2> line was not logged as a warning"
ok "an exec program cannot choose its lines' level"
reports_at_least() { [ "$(log_count 'lines \(.*bytes\) dropped')" -ge "$1" ]; }
wait_until 10 reports_at_least 3 || fail "drops not reported each second"
kill -STOP "$FCGIPM_PID"
secs=$(( (${EPOCHREALTIME/./} - t0) / 1000000 + 1 ))
lines=$(log_count 'flooding the log with a line$')
kill -CONT "$FCGIPM_PID"
# Each line is 29 bytes with its newline: at most 64 KiB of them in each
# second begun since the start.
[ "$lines" -le $(( secs * 65536 / 29 )) ] \
    || fail "$lines lines logged in at most $secs seconds"
ok "a flooding worker is held to output_rate_limit, drops are counted"
done_testing
