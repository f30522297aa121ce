# The master out of descriptors: its RLIMIT_NOFILE is lowered (prlimit)
# to two above the descriptors it holds, and clients of the status and
# control sockets take those two; accept then fails with EMFILE. The
# master stops watching each listener for a while: it logs that once
# (per listener, and again only after accepting worked in between), does
# not spin (its CPU time and wake-ups over a second stay low, and it
# does wake, to try again), and its pool keeps serving. A ctl status
# sent meanwhile waits; once the clients are gone and the limit is back,
# it is answered, as are new ctl and status requests, and the master
# holds no more descriptors than before.
. "$(dirname "$0")/lib.sh"

need perl
need prlimit
need strace
need ss
APP=$TMP/app.sock
SSOCK=$TMP/status.sock
CSOCK=$TMP/ctl.sock
cat >"$TMP/fcgipm.conf" <<CONF
status_listen = "unix:$SSOCK"
control_listen = "unix:$CSOCK"
log_level = debug
pool "app" {
    listen = "unix:$APP"
    command = {"$HELLO"}
    workers = 2
}
CONF
ctl() { "$FCGIPM" ctl -S "$CSOCK" "$@"; }
ctl_answers() { ctl status >/dev/null 2>&1; }

start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2
wait_until 10 ctl_answers || fail "ctl status does not answer"
wait_until 10 answers "unix:$SSOCK" /ping || fail "/ping does not answer"
P=$FCGIPM_PID

fd_count() { find "/proc/$P/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# The limit bounds descriptor numbers, not their count: the lowest free
# number is where new ones go (the master may hold a high one it
# inherited).
lowest_free() {
    local n=0
    while [ -e "/proc/$P/fd/$n" ]; do n=$((n + 1)); done
    echo "$n"
}
# cpu_ms: the master's user and system time (fields 14 and 15 of stat,
# 12 and 13 past the command name in parentheses).
TICK=$(getconf CLK_TCK)
cpu_ms() {
    sed 's/.*) //' "/proc/$P/stat" \
        | awk -v hz="$TICK" '{ print int(($12 + $13) * 1000 / hz) }'
}
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

BASE=$(fd_count)
read -r SOFT HARD < <(prlimit --pid "$P" --nofile --output SOFT,HARD \
                          --noheadings)
LIMIT=$(( $(lowest_free) + 2 ))
prlimit --pid "$P" --nofile="$LIMIT:$HARD" || fail "prlimit $LIMIT"

# Connections held open, 12 to the status socket, then 3 to the control
# socket: two at most are accepted, the rest wait, on both listeners
# whichever the master takes first.
perl -MIO::Socket::UNIX -e '
    my @s = map { IO::Socket::UNIX->new(Peer => $_ <= 12 ? $ARGV[0] : $ARGV[1])
                      or die "connect: $!\n" } 1 .. 15;
    open(my $f, ">", $ARGV[2]) or die "$ARGV[2]: $!\n";
    close($f);
    sleep;
' "$SSOCK" "$CSOCK" "$TMP/held" 2>"$TMP/holder.err" &
HOLDER=$!
STARTED_PIDS+=("$HOLDER")
wait_until 10 test -e "$TMP/held" \
    || fail "holder did not connect: $(cat "$TMP/holder.err")"
PAUSED="status unix:$SSOCK: cannot accept, pausing: Too many open files"
CPAUSED="control unix:$CSOCK: cannot accept, pausing: Too many open files"
wait_log "$PAUSED"
wait_log "$CPAUSED"
ok "status and control clients past RLIMIT_NOFILE: accept fails, the" \
    "master pauses both listeners"

# The listeners stay readable, unwatched: over a second the master
# neither spins (its CPU time; its wake-ups under strace, which a
# loaded machine cannot hide) nor floods its log, and its pool serves.
LINES=$(wc -l <"$LOG")
T0=$(now_ms)
C0=$(cpu_ms)
sleep 1     # the window measured, not a wait for anything
C1=$(cpu_ms)
T1=$(now_ms)
used=$((C1 - C0))
spent=$((T1 - T0))
[ $((used * 10)) -lt "$spent" ] \
    || fail "the paused master spins: ${used} ms of CPU in ${spent} ms"
# Its wake-ups, each an epoll_wait: two a pause, ten pauses a second
# for each listener; a spinning master wakes thousands of times. (Under
# valgrind, valgrind's own calls come in between: not counted.)
# At least a few, too: each listener is tried again every 100 ms, and
# strace must have been attached for the second (timeout's 124), not
# left an empty file.
rc=0
timeout -s INT 1 strace -p "$P" -o "$TMP/strace.out" 2>"$TMP/strace.err" \
    || rc=$?
[ "$rc" = 124 ] || fail "strace -p $P: exit $rc: $(cat "$TMP/strace.err")"
wakes=$(grep -c '^epoll_wait' "$TMP/strace.out")
[ "$wakes" -le 120 ] || fail "the paused master woke $wakes times in a" \
    "second: $(cut -d'(' -f1 "$TMP/strace.out" | sort | uniq -c)"
[ "$wakes" -ge 5 ] || fail "the paused master woke $wakes times in a" \
    "second: it does not try again"
for i in 1 2 3 4 5; do
    out=$(req "unix:$APP" / 2>&1) || fail "pool request $i failed: $out"
done
# A pause is logged again only after accepting worked, and that needs a
# descriptor back: a client closed (one timed out, on a slow machine).
pauses=$(log_count "$PAUSED")
closed=$(log_count "status unix:$SSOCK: closing a client")
[ "$pauses" -ge 1 ] && [ "$pauses" -le $((closed + 1)) ] \
    || fail "$pauses pauses logged with $closed clients closed"
cpauses=$(log_count "$CPAUSED")
cclosed=$(log_count "control unix:$CSOCK: closing a client")
[ "$cpauses" -ge 1 ] && [ "$cpauses" -le $((cclosed + 1)) ] \
    || fail "$cpauses control pauses logged with $cclosed clients closed"
added=$(( $(wc -l <"$LOG") - LINES ))
[ "$added" -le 10 ] || fail "$added log lines in 2 s: $(tail -n 5 "$LOG")"
pid_alive "$P" || fail "the master died"
ok "paused: ${used} ms of CPU in ${spent} ms, $wakes wake-ups in 1 s," \
    "pause logged once, the pool serves"

# A ctl status sent now waits: its connection queues behind the
# holder's. It is sent only now, so that the limit comes back at once:
# ctl waits 10 s for its answer (not scaled by TEST_TIME_SCALE, and it
# has no option for more), and the time from its request to the answer
# is that of a few steps, not of the measured window above.
"$FCGIPM" ctl -S "$CSOCK" status >"$TMP/ctl.out" 2>&1 &
CTL=$!      # not through ctl(): the pid ss shows, not a subshell's
ctl_queued() { ss -xpH state established | grep -q "pid=$CTL,"; }
wait_until 10 ctl_queued \
    || fail "ctl status did not connect: $(cat "$TMP/ctl.out")"
pid_alive "$CTL" || fail "ctl status answered while out of descriptors:" \
    "$(cat "$TMP/ctl.out")"

# The clients go and the limit comes back: the waiting ctl status is
# answered.
kill -TERM "$HOLDER"
wait "$HOLDER" 2>/dev/null
prlimit --pid "$P" --nofile="$SOFT:$HARD" || fail "prlimit $SOFT:$HARD"
wait_status "$CTL"
[ "$STATUS" = 0 ] \
    || fail "ctl status sent while paused: exit $STATUS: $(cat "$TMP/ctl.out")"
grep -Eq '^app +exec +static +2 +2 ' "$TMP/ctl.out" \
    || fail "ctl status sent while paused: $(cat "$TMP/ctl.out")"
cpauses=$(log_count "$CPAUSED")
cclosed=$(log_count "control unix:$CSOCK: closing a client")
[ "$cpauses" -le $((cclosed + 1)) ] \
    || fail "control pause logged $cpauses times, $cclosed clients closed"
ok "ctl status sent while out of descriptors is answered once they are back"

wait_until 10 ctl_answers || fail "ctl status does not answer again"
[ "$(req "unix:$SSOCK" /ping)" = pong ] || fail "/ping does not answer again"
req "unix:$APP" / >/dev/null || fail "the pool does not answer"
at_base() { [ "$(fd_count)" -le "$BASE" ]; }
wait_until 10 at_base || fail "the master holds $(fd_count) descriptors," \
    "not $BASE: $(ls -l "/proc/$P/fd")"
ok "limit back: ctl status and /ping answer, no descriptor left over"

done_testing
