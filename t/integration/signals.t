# Signals to the master: an idle master makes no system calls; TTIN/TTOU
# resize the pool; USR1 reopens a moved log file; a fast stop KILLs a
# worker that ignores TERM. (HUP and USR2: reload.t, upgrade.t.)
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock
FILELOG=$TMP/file.log
start_fcgipm -s "$SOCK" -w 2 -l "$FILELOG" --log-level debug -- "$HELLO"
LOG=$FILELOG
wait_workers 2
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"

# Idle: the only thing strace may see is the epoll_wait it interrupted.
quiet_master
ok "an idle master makes no system calls (1.5s under strace)"

kill -TTIN "$FCGIPM_PID"
wait_workers 3
kill -TTIN "$FCGIPM_PID"
wait_workers 4
ok "TTIN adds a worker each time"
kill -TTOU "$FCGIPM_PID"
wait_workers 3
wait_log "size 4 -> 3"
ok "TTOU removes one"
# One at a time: signals sent together merge in the kernel (a slow
# master, under valgrind, sees fewer), and each step has its own line.
for step in "3 -> 2" "2 -> 1" "1 -> 0"; do
    kill -TTOU "$FCGIPM_PID"
    wait_log "size $step \(by signal\)"
done
ttous=$(log_count "received SIGTTOU")
kill -TTOU "$FCGIPM_PID"
more_ttous() { [ "$(log_count "received SIGTTOU")" -gt "$ttous" ]; }
wait_until 10 more_ttous || fail "the fourth TTOU was not received"
wait_workers 0
ok "TTOU never goes below zero"
kill -TTIN "$FCGIPM_PID"
wait_workers 1
wait_until 5 answers "unix:$SOCK" || fail "no answer after TTIN from zero"
ok "TTIN from zero serves again"

mv "$FILELOG" "$FILELOG.1"
kill -USR1 "$FCGIPM_PID"
wait_until 5 test -s "$FILELOG" || fail "log not reopened"
grep -q "log file reopened" "$FILELOG" || fail "no reopen line in the new log"
ok "USR1 reopens the log file after logrotate moved it"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"

# A worker that ignores TERM (and USR1) is KILLed after kill_timeout.
LOG=$TMP/stubborn.log
cat >"$TMP/stubborn.conf" <<CONF
listen = "unix:$TMP/stubborn.sock"
workers = 2
kill_timeout = "300ms"
command = {"/bin/sh", "-c", "trap '' TERM USR1; exec sleep 1000"}
CONF
start_fcgipm -c "$TMP/stubborn.conf"
wait_workers 2
stubborn=$(workers)
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS after escalation"
log_has "still running 300ms after fast stop, sending KILL" \
    || fail "no escalation line"
for p in $stubborn; do pid_alive "$p" && fail "worker $p survived"; done
ok "fast stop KILLs workers that ignore TERM after kill_timeout"

# Signals at awkward moments: during a reload, twice in a row, while
# children die. Each run must end with exit 0 and no worker left.
LOG=$TMP/awkward.log
awkward() {
    start_fcgipm -s "$TMP/awk.sock" -w 3 -- "$HELLO"
    wait_workers 3
    local kids
    kids=$(workers)
    "$@"
    wait_status "$FCGIPM_PID"
    [ "$STATUS" = 0 ] || fail "exit status $STATUS after: $*"
    for p in $kids; do pid_alive "$p" && fail "worker $p left after: $*"; done
    [ ! -e "$TMP/awk.sock" ] || fail "socket left after: $*"
}
quit_during_reload() { kill -HUP "$FCGIPM_PID"; kill -QUIT "$FCGIPM_PID"; }
awkward quit_during_reload
ok "QUIT right after HUP: clean exit"
hup_hup_quit() {
    kill -HUP "$FCGIPM_PID"; kill -HUP "$FCGIPM_PID"
    wait_log "reload: done"
    answers "unix:$TMP/awk.sock" || fail "no answer after two HUPs"
    kill -QUIT "$FCGIPM_PID"
}
awkward hup_hup_quit
ok "two HUPs in a row: still serving, then a clean exit"
term_while_dying() {
    local p
    for p in $(workers); do kill -KILL "$p"; done
    kill -TERM "$FCGIPM_PID"
}
awkward term_while_dying
ok "TERM while every worker is dying: clean exit"
term_term() { kill -TERM "$FCGIPM_PID"; kill -TERM "$FCGIPM_PID"; }
awkward term_term
ok "TERM twice: clean exit"
done_testing
