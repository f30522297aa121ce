# The master trusts nothing a worker writes in shared memory (issue 10):
# a module running as nobody scribbles on every scoreboard it can reach
# (t/modules/scribble.c: busy states with forged log lines, states out of range, a slot count
# that would unmap the master's stack). Each worker maps only its own
# pool's scoreboard; killing the scribbling workers signals no one else;
# status and the log stay sane; a reload that removes their pool frees
# its scoreboard without a crash. Where the old master would have called
# kill(-1), it runs in a PID namespace of its own.
if [ "${SHM_TRUST_NS:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ] || ! unshare --pid --fork --mount-proc true \
           2>/dev/null; then
        echo "skip: needs root and a PID namespace (unshare)"
        [ "${CI:-}" = true ] && exit 1
        exit 77
    fi
    SHM_TRUST_NS=1 exec unshare --pid --fork --mount-proc bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

id nobody >/dev/null 2>&1 && id daemon >/dev/null 2>&1 \
    || skip "users nobody and daemon are needed"
chmod o+x "$TMP"
cp "$TEST_APPS/scribble.so" "$TMP/scribble.so"
SOCK=$TMP/scribble.sock
VSOCK=$TMP/victim.sock
SSOCK=$TMP/status.sock

# conf WITH_SCRIBBLE: the victim pool first, so that its scoreboard exists
# when the scribbling workers are forked.
conf() {
    cat >"$TMP/fcgipm.conf" <<CONF
log_level = debug
status_listen = "unix:$SSOCK"
pool "victim" {
    listen = "unix:$VSOCK"
    workers = 1
    user = "daemon"
    mode = module
    module = "builtin:echo"
}
CONF
    [ "$1" = yes ] && cat >>"$TMP/fcgipm.conf" <<CONF
pool "scribble" {
    listen = "unix:$SOCK"
    workers = 2
    user = "nobody"
    mode = module
    module = "$TMP/scribble.so"
    restart_backoff = "50ms"
}
CONF
}

# A process that kill(-1) would take with it, in this namespace.
sleep 600 &
sentinel=$!
STARTED_PIDS+=("$sentinel")

conf yes
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 3
st() { "$FCGI_REQUEST" "unix:$SSOCK" "$1"; }
# Every worker up before one scribbles: one still starting would mark its
# slot idle afterwards.
all_idle() { [ "$(st '/status?full' | grep -c '^state: *idle$')" = 3 ]; }
wait_until 10 all_idle || fail "workers not idle: $(st '/status?full')"
victim=$(pgrep -P "$FCGIPM_PID" -u daemon)
[ -n "$victim" ] || fail "no victim worker"

# --- (c) one scoreboard per worker, its own pool's
shared_maps() { grep -c ' rw-s .*/dev/zero' "/proc/$1/maps"; }
for w in $(workers); do
    [ "$(shared_maps "$w")" = 1 ] \
        || fail "worker $w maps $(shared_maps "$w") scoreboards: \
$(grep ' rw-s ' "/proc/$w/maps")"
done
body=$(req "unix:$SOCK" /) || fail "scribble request failed"
[[ $body =~ ^own=1\ foreign=0\ slots=[0-9]+$ ]] \
    || fail "the scribbling worker reached: $body"
ok "each worker maps only its own pool's scoreboard ($body)"

# --- (a, b) scribbled slots: the master signals no one but its workers
"$FCGI_REQUEST" -t 30 "unix:$SOCK" "/?hang" >/dev/null 2>&1 &
client=$!
STARTED_PIDS+=("$client")
wait_log "scribbled own=1 foreign=[0-9]+ slots=[0-9]+, hanging"
# One worker claims an unknown state, the other (idle) to be busy.
scribbled() {
    st "/status?full" >"$TMP/full" && grep -q '^state: *?$' "$TMP/full" \
        && grep -q '^state: *busy$' "$TMP/full"
}
wait_until 10 scribbled \
    || fail "status shows no scribbled states: $(grep state "$TMP/full")"
st "/status?full&json" >/dev/null || fail "json status failed"
old=$(pgrep -P "$FCGIPM_PID" -u nobody | sort)
[ "$(echo "$old" | wc -l)" = 2 ] || fail "scribble workers: $old"
kill -KILL $old
respawned() {
    local now
    now=$(pgrep -P "$FCGIPM_PID" -u nobody | sort)
    [ "$(echo "$now" | wc -w)" = 2 ] && [ -z "$(comm -12 \
        <(echo "$old") <(echo "$now"))" ]
}
wait_until 10 respawned || fail "scribble workers not respawned"
wait_status "$client"
pid_alive "$FCGIPM_PID" || fail "the master died"
pid_alive "$sentinel" || fail "a process outside fcgipm was killed"
pid_alive "$victim" || fail "the other pool's worker $victim was killed"
answers "unix:$VSOCK" / || fail "the other pool no longer answers"
log_has "killed process group" && fail "the master signalled a group"
ok "workers killed over a scribbled scoreboard: no one else is signalled"

# --- (a) a reload that removes the pool unmaps by the master's own size
conf no
kill -HUP "$FCGIPM_PID"
wait_log "pool scribble: retired pool drained"
answers "unix:$VSOCK" / || fail "the other pool no longer answers"
pid_alive "$FCGIPM_PID" || fail "the master died freeing the scoreboard"
st "/status" >/dev/null || fail "status after the reload"
ok "a reload removing the scribbled pool frees its scoreboard; all serve"

# --- the log: one line per event, never a forged one
LINE='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ (debug|info|warn|error) '
LINE+='fcgipm\[[0-9]+\]: '
bad=$(grep -cvE "$LINE" "$LOG")
[ "$bad" = 0 ] || fail "$bad log lines not written by fcgipm: \
$(grep -vE "$LINE" "$LOG" | head -3)"
log_has '^2000-01-01' && fail "a forged line reached the log"
log_has 'killed by SIGKILL while serving (\\x0a)+ ' \
    || fail "no line for the worker claiming to be busy"
ok "the log holds only fcgipm's lines, the scribbled strings made printable"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "the master exited $STATUS"
pid_alive "$sentinel" || fail "a process outside fcgipm was killed"
ok "the master stops cleanly; the namespace's other processes survive"
done_testing
