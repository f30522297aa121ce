# lighttpd spawns fcgipm through bin-path: fcgipm adopts the socket it
# finds on fd 0 (no listen configured), runs its pool on it, and answers
# through lighttpd; lighttpd's stop signal stops it and its workers.
# lighttpd also reaches a pool of a master started apart, by its socket.
. "$(dirname "$0")/lib.sh"
need lighttpd
need curl

mkdir -p "$TMP/www"
# The master started apart, whose socket lighttpd connects to.
"$FCGIPM" -s "$TMP/apart.sock" -w 1 -l "$TMP/apart.log" -- "$HELLO" &
APART_PID=$!
STARTED_PIDS+=("$APART_PID")
wait_until 10 answers "unix:$TMP/apart.sock" || fail "the apart master does not answer"
cat >"$TMP/fcgipm.conf" <<CONF
workers = 3
log = "$LOG"
command = {"$HELLO"}
CONF
try_port() {
    PORT=$(( 20000 + RANDOM % 40000 ))
    cat >"$TMP/lighttpd.conf" <<CONF
server.modules = ( "mod_fastcgi" )
server.document-root = "$TMP/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$TMP/lighttpd-error.log"
fastcgi.server = ( "/apart/" => ((
    "socket" => "$TMP/apart.sock",
    "check-local" => "disable",
)), "/" => ((
    "socket" => "$TMP/lt.sock",
    "bin-path" => "$FCGIPM -c $TMP/fcgipm.conf",
    "max-procs" => 1,
    "check-local" => "disable",
    "kill-signal" => 3,
)))
CONF
    : >"$TMP/lighttpd-error.log"
    lighttpd -D -f "$TMP/lighttpd.conf" >>"$TMP/lighttpd.out" 2>&1 &
    LIGHTTPD_PID=$!
    STARTED_PIDS+=("$LIGHTTPD_PID")
    http_up() { curl -s -o /dev/null "http://127.0.0.1:$PORT/"; }
    wait_until 10 http_up && return 0
    kill "$LIGHTTPD_PID" 2>/dev/null
    return 1
}
for _ in 1 2 3 4 5; do try_port && break; done
curl -s -o /dev/null "http://127.0.0.1:$PORT/" \
    || fail "lighttpd never came up: $(cat "$TMP/lighttpd-error.log" "$TMP/lighttpd.out")"

MASTER=$(pgrep -P "$LIGHTTPD_PID" -f "$FCGIPM_BIN" | head -1)
[ -n "$MASTER" ] || fail "lighttpd did not spawn fcgipm"
wait_log "listen unix:$TMP/lt.sock-0: adopted fd 0 from fd 0"
wait_until 10 [ "$(pgrep -P "$MASTER" | wc -l)" -eq 3 ] \
    || fail "expected 3 workers under fcgipm $MASTER"
ok "lighttpd spawned fcgipm $MASTER, which adopted fd 0 and runs 3 workers"

body=$(curl -sf "http://127.0.0.1:$PORT/hello") || fail "curl through lighttpd failed"
[[ $body == "Hello from fcgipm worker "* ]] || fail "unexpected body: $body"
wpid=${body##* }
pgrep -P "$MASTER" | grep -qx "$wpid" || fail "answer from $wpid, not a worker of $MASTER"
ok "curl through lighttpd gets 200 from one of fcgipm's workers"

body=$(curl -sf "http://127.0.0.1:$PORT/apart/x") || fail "curl /apart/x failed"
[ "$body" = "Hello from fcgipm worker $(pgrep -P "$APART_PID")" ] \
    || fail "/apart/x: $body"
ok "lighttpd reaches a pool by its socket (no bin-path)"

workers_before=$(pgrep -P "$MASTER")
kill -TERM "$LIGHTTPD_PID"
wait_until 10 pid_gone "$MASTER" || fail "fcgipm $MASTER outlived lighttpd"
for p in $workers_before; do
    wait_until 5 pid_gone "$p" || fail "worker $p outlived lighttpd"
done
ok "stopping lighttpd stops fcgipm and its workers"
done_testing
