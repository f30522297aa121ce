# A CGI script's setsid child (a session of its own) does not outlive its
# worker when the worker dies mid-request: the master, a child
# subreaper, kills every child it did not fork that runs as the cgi
# pool's user (not root, not its own). The script KILLs its own worker;
# a reload KILLs it at graceful_timeout; a setsid child that starts a
# setsid grandchild: all gone within a deadline, logged. An exec pool's
# background job of another user (root), the master's child too,
# survives those deaths.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "a cgi pool user needs root"
[ -n "${VG:-}" ] && skip "under valgrind a worker running as nobody cannot \
write its log"
chmod 755 "$TMP"
# The master's children but the background jobs (sleep) reparented to it.
workers() {
    local p
    for p in $(pgrep -P "${1:-$FCGIPM_PID}" | sort -n); do
        [ "$(ps -o comm= -p "$p")" = sleep ] || echo "$p"
    done
}
ROOT=$TMP/cgi-bin
OUT=$TMP/out
SOCK=$TMP/cgi.sock
SLOW=$TMP/slow.sock
ESOCK=$TMP/exec.sock
CONF=$TMP/fcgipm.conf
mkdir -p "$ROOT" "$OUT"
chmod 1777 "$OUT"

# QUERY_STRING is NAME: "own" (a setsid child), "grand" (a setsid child
# that starts a setsid grandchild, its pid in OUT/grand.grandchild) or
# "stay" (the script ignores TERM, USR1 and HUP, and kills nothing). The
# setsid child's pid goes to OUT/NAME.escaped, "script worker" to
# OUT/NAME.script; once the test has created OUT/NAME.go, the script
# KILLs its worker (but for stay), then sleeps.
cat >"$ROOT/escape.sh" <<'SH'
#!/bin/sh
out=@OUT@
name=$QUERY_STRING
trap '' TERM USR1 HUP
if [ "$name" = grand ]; then
    setsid sh -c "setsid sh -c 'echo \$\$ >$out/grand.grandchild; \
exec sleep 600' </dev/null >/dev/null 2>&1 & echo \$\$ >$out/grand.escaped; \
exec sleep 600" </dev/null >/dev/null 2>&1 &
else
    setsid sh -c "echo \$\$ >$out/$name.escaped; exec sleep 600" \
        </dev/null >/dev/null 2>&1 &
fi
echo "$$ $PPID" >"$out/$name.script"
i=0
while [ ! -e "$out/$name.go" ] && [ "$i" -lt 1000 ]; do
    sleep 0.01
    i=$((i + 1))
done
[ "$name" = stay ] || kill -KILL "$PPID"
exec sleep 600
SH
sed -i "s|@OUT@|$OUT|" "$ROOT/escape.sh"
chmod 755 "$ROOT/escape.sh"

cat >"$CONF" <<CONF
log_level = debug
listen = "unix:$SOCK"
mode = cgi
user = nobody
group = nogroup
cgi_root = "$ROOT"
workers = 1
pool "slow" {
    listen = "unix:$SLOW"
    mode = cgi
    user = nobody
    group = nogroup
    cgi_root = "$ROOT"
    workers = 1
    graceful_timeout = "1s"
}
pool "exec" {
    listen = "unix:$ESOCK"
    workers = 1
    command = {"/bin/sh", "-c", "(setsid sleep 600 </dev/null >/dev/null \
2>&1 & echo \$! >$OUT/exec.job); exec $HELLO"}
}
CONF
"$FCGIPM" -t -c "$CONF" >"$TMP/check.out" 2>&1 \
    || skip "this fcgipm cannot run mode = cgi: $(tail -1 "$TMP/check.out")"
start_fcgipm -c "$CONF"

# sleeping_alone PID: PID is a sleep leading a session of its own.
sleeping_alone() {
    [ "$(ps -o sid=,comm= -p "$1" | awk '{ print $1, $2 }')" = "$1 sleep" ]
}
# Every setsid process the test made, killed at the end if still there
# (the fcgipm under test may be the one that leaves them).
stray() {
    local p
    for p in $(cat "$OUT"/*.escaped "$OUT"/*.grandchild "$OUT"/*.job \
               2>/dev/null); do
        sleeping_alone "$p" && kill -KILL "$p"
    done
    cleanup
}
trap stray EXIT

# escaped FILE: ESCAPED is the pid in OUT/FILE, once it is a sleep in a
# session of its own.
escaped() {
    wait_until 10 test -s "$OUT/$1" || fail "$1: no setsid process"
    ESCAPED=$(cat "$OUT/$1")
    wait_until 5 sleeping_alone "$ESCAPED" \
        || fail "$1: $ESCAPED is not a sleep in a session of its own"
}
# request SOCKET NAME: escape.sh in the background (CLIENT its pid).
request() {
    "$FCGI_REQUEST" -t 30 -p "SCRIPT_FILENAME=$ROOT/escape.sh" \
        -p "QUERY_STRING=$2" "unix:$1" /cgi >/dev/null 2>&1 &
    CLIENT=$!
    STARTED_PIDS+=("$CLIENT")
}
# gone WHAT PID...: each PID is gone within 5 s, or fail.
gone() {
    local what=$1 p
    shift
    for p in "$@"; do
        wait_gone "$p" 5 || fail "$what: $p ($(ps -o user=,sid=,ppid=,args= \
-p "$p")) outlives its worker"
    done
}
# script NAME: SCRIPT and WORKER from OUT/NAME.script.
script() {
    wait_until 10 test -s "$OUT/$1.script" || fail "$1: escape.sh stuck"
    read -r SCRIPT WORKER <"$OUT/$1.script"
}

wait_workers 3
escaped exec.job
job=$ESCAPED
wait_until 5 test "$(ps -o ppid= -p "$job" | tr -d ' ')" = "$FCGIPM_PID" \
    || fail "the exec pool's job $job is not the master's child"

# --- (1) the script KILLs its own worker
request "$SOCK" own
escaped own.escaped
pid=$ESCAPED
script own
touch "$OUT/own.go"
gone "own" "$SCRIPT" "$pid"
wait_status "$CLIENT"
wait_log "pool default: killed [0-9]+ process(es)? left by worker $WORKER$" 5
ok "a script's setsid child ($pid) dies with the worker $WORKER it killed"

# --- (3) a setsid child and its setsid grandchild
wait_workers 3
request "$SOCK" grand
escaped grand.escaped
pid=$ESCAPED
escaped grand.grandchild
grand=$ESCAPED
script grand
touch "$OUT/grand.go"
gone "grand" "$SCRIPT" "$pid" "$grand"
wait_status "$CLIENT"
wait_log "pool default: killed [0-9]+ process(es)? left by worker $WORKER$" 5
wait_log "killed 1 process left by killed orphans$" 5
ok "a setsid child ($pid) and its setsid grandchild ($grand) die with" \
   "the worker"

# --- (2) a reload KILLs the busy worker at graceful_timeout
wait_workers 3
request "$SLOW" stay
escaped stay.escaped
pid=$ESCAPED
script stay
touch "$OUT/stay.go"
kill -HUP "$FCGIPM_PID"
gone "reload" "$SCRIPT" "$pid"
wait_log "pool slow: killed [0-9]+ process(es)? left by worker $WORKER$" 5
wait_status "$CLIENT"
ok "reload: the setsid child ($pid) of a script whose worker was KILLed" \
   "at graceful_timeout dies"

# --- (4) the exec pool's job of another user survives
wait_workers 3
pid_alive "$job" || fail "the exec pool's background job $job was killed"
[ "$(ps -o ppid= -p "$job" | tr -d ' ')" = "$FCGIPM_PID" ] \
    || fail "the exec pool's job $job is no longer the master's child"
ok "the exec pool's background job ($job, root) survives the cgi" \
   "workers' deaths"
kill -KILL "$job"
wait_gone "$job" 5 || fail "the exec pool's job $job does not die"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "the master exited $STATUS"
done_testing
