# Stops without the freeze (issue 11): cgi and module workers stop
# themselves at any moment (finish the request in hand, serve what their
# kept connections already sent, close the rest), so the master sends
# the stop signal at once and never looks at /proc for them. Seen here:
# a HUP with a busy module, cgi and exec worker, under strace: the
# master reads no /proc/PID/syscall of the module and cgi workers, and
# looks at the busy exec worker a few times (10 ms, doubling to about a
# second), not every 10 ms. Then a storm of HUP, TTIN and TTOU under
# continuous load, directly (fcgi-request -c 8) and through nginx with
# kept connections (4 worker processes, keepalive 32): 0 failed requests.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"

need strace
SSOCK=$TMP/status.sock
ROOT=$TMP/cgi-bin
mkdir -p "$ROOT"
# ?N sleeps N seconds first.
cat >"$ROOT/hello.sh" <<'SH'
#!/bin/sh
case $QUERY_STRING in
[0-9]*) sleep "$QUERY_STRING" ;;
esac
printf 'Content-Type: text/plain\r\n\r\nhello from cgi\n'
SH
chmod 755 "$ROOT/hello.sh"

# nginx.sh runs one worker process; kept connections spread over four
# are the case where a stopping worker must not fail a request.
eval "nginx_conf_one_worker() $(declare -f nginx_conf | tail -n +2)"
nginx_conf() {
    nginx_conf_one_worker "$@"
    sed -i 's/^worker_processes 1;$/worker_processes 4;/' "$NGINX_CONF"
    grep -q '^worker_processes 4;$' "$NGINX_CONF" \
        || fail "cannot set worker_processes 4 in $NGINX_CONF"
}

cat >"$TMP/fcgipm.conf" <<CONF
status_listen = "unix:$SSOCK"
pool "mod" {
    listen = "unix:$TMP/mod.sock"
    mode = module
    module = "builtin:hello"
    workers = 3
}
pool "slow" {
    listen = "unix:$TMP/slow.sock"
    mode = module
    module = "$TEST_APPS/testmod.so"
    workers = 1
}
pool "cgi" {
    listen = "unix:$TMP/cgi.sock"
    mode = cgi
    cgi_root = "$ROOT"
    workers = 3
}
pool "exec" {
    listen = "unix:$TMP/exec.sock"
    command = {"$HELLO"}
    workers = 1
}
CONF
"$FCGIPM" -t -c "$TMP/fcgipm.conf" >"$TMP/check.out" 2>&1 \
    || skip "this fcgipm cannot run these pools: $(tail -1 "$TMP/check.out")"
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 8
for pool in mod slow exec; do
    wait_until 5 answers "unix:$TMP/$pool.sock" \
        || fail "pool $pool does not answer"
done
cgi() { req "unix:$TMP/cgi.sock" "$1" -p "SCRIPT_FILENAME=$ROOT/hello.sh"; }
cgi_serves() { cgi / 2>/dev/null | grep -q "hello from cgi"; }
wait_until 5 cgi_serves || fail "the cgi pool does not serve"

# pool_pids POOL: the pids of POOL's workers started so far (the log).
pool_pids() {
    sed -nE "s/.*pool $1: worker ([0-9]+) started.*/\1/p" "$LOG"
}

# --- a HUP with busy workers, under strace -------------------------------

reloads() { log_count 'reload: done'; }
req "unix:$TMP/slow.sock" "/?sleep=4000" >"$TMP/slow.out" 2>&1 &
slow_req=$!
cgi "/?4" >"$TMP/cgi.out" 2>&1 &
cgi_req=$!
req "unix:$TMP/exec.sock" "/?sleep=4000" >"$TMP/exec.out" 2>&1 &
exec_req=$!
busy() {
    [ "$(socket_clients "$TMP/slow.sock")" -ge 1 ] \
        && [ "$(socket_clients "$TMP/cgi.sock")" -ge 1 ] \
        && [ "$(socket_clients "$TMP/exec.sock")" -ge 1 ]
}
wait_until 5 busy || fail "the slow requests did not reach their pools"
old_slow=$(pool_pids slow)
old_cgi=$(pool_pids cgi | tr '\n' ' ')
old_exec=$(pool_pids exec)

strace -e trace=open,openat -p "$FCGIPM_PID" -o "$TMP/strace.out" \
    2>"$TMP/strace.err" &
strace_pid=$!
STARTED_PIDS+=("$strace_pid")
attached() { grep -q attached "$TMP/strace.err"; }
wait_until 10 attached || fail "strace did not attach: $(cat "$TMP/strace.err")"
before=$(reloads)
kill -HUP "$FCGIPM_PID"
reloaded() { [ "$(reloads)" -gt "$before" ]; }
wait_until 10 reloaded || fail "no reload"
for p in "$slow_req" "$cgi_req" "$exec_req"; do
    wait_status "$p"
    [ "$STATUS" = 0 ] || fail "a slow request failed across the HUP: \
$(cat "$TMP/slow.out" "$TMP/cgi.out" "$TMP/exec.out")"
done
old_gone() { pid_gone "$old_slow" && pid_gone "$old_exec"; }
wait_until 10 old_gone || fail "the old slow workers are still running"
kill -INT "$strace_pid"
wait "$strace_pid" 2>/dev/null
for pid in $old_slow $old_cgi; do
    ! grep -q "/proc/$pid/" "$TMP/strace.out" \
        || fail "the master looked at module or cgi worker $pid in /proc: \
$(grep "/proc/$pid/" "$TMP/strace.out" | head -3)"
done
grep -q "stopped: exited with status 0" "$LOG" \
    || fail "no worker stopped cleanly"
ok "HUP with a busy module and cgi worker: the master read nothing of \
theirs in /proc, their requests finished"

looks=$(grep -c "/proc/$old_exec/syscall" "$TMP/strace.out")
# Busy for about 4 s: 10 ms doubling to 1 s is 8 or 9 looks, where a
# fixed 10 ms made 400.
[ "$looks" -ge 1 ] || fail "strace saw no look at the busy exec worker \
$old_exec: $(head -5 "$TMP/strace.out")"
[ "$looks" -le 20 ] || fail "$looks looks at the busy exec worker in /proc"
ok "the busy exec worker was looked at $looks times in 4 s, backing off"

# --- a storm of signals under load --------------------------------------

NGINX_UPSTREAMS=
NGINX_LOCATIONS=
for pool in mod cgi; do
    NGINX_UPSTREAMS+="
    upstream $pool { server unix:$TMP/$pool.sock; keepalive 32; }"
    NGINX_LOCATIONS+="
        location /$pool/ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $ROOT/hello.sh;
            fastcgi_keep_conn on;
            fastcgi_pass $pool;
        }"
done
start_nginx
get /mod/
[ "$CODE" = 200 ] || fail "GET /mod/ through nginx: $CODE"
get /cgi/
[ "$CODE" = 200 ] || fail "GET /cgi/ through nginx: $CODE"

# fcgi-request -c 8 for SECS seconds on each socket, the storm while
# they run, and 4 curl loops a pool through nginx (20 requests on each
# HTTP connection) until it is over.
SECS=15
rm -f "$TMP/stop"
"$FCGI_REQUEST" -c 8 -d "$SECS" -t 10 "unix:$TMP/mod.sock" / \
    >"$TMP/load.mod" 2>&1 &
mod_load=$!
"$FCGI_REQUEST" -c 8 -d "$SECS" -t 10 -p "SCRIPT_FILENAME=$ROOT/hello.sh" \
    "unix:$TMP/cgi.sock" / >"$TMP/load.cgi" 2>&1 &
cgi_load=$!
STARTED_PIDS+=("$mod_load" "$cgi_load")
CURL_PIDS=()
for pool in mod cgi; do
    for i in 1 2 3 4; do
        (
            args=()
            for k in $(seq 20); do
                args+=(-o /dev/null "http://127.0.0.1:$PORT/$pool/")
            done
            while [ ! -e "$TMP/stop" ]; do
                curl -s -m 20 -w '%{http_code}\n' "${args[@]}" \
                    >>"$TMP/http.$pool.$i"
            done
        ) &
        CURL_PIDS+=("$!")
        STARTED_PIDS+=("$!")
    done
done
http_done() { cat "$TMP"/http.* 2>/dev/null | wc -l; }
http_more() { [ "$(http_done)" -ge "$1" ]; }

loads_running() { pid_alive "$mod_load" && pid_alive "$cgi_load"; }
storm_start=$(reloads)
round=0
while loads_running; do
    round=$((round + 1))
    # Back to back, as a flapping config manager or an impatient admin
    # sends them; then wait until the master has reloaded and requests
    # keep coming through.
    kill -HUP "$FCGIPM_PID"
    kill -TTIN "$FCGIPM_PID"
    kill -HUP "$FCGIPM_PID"
    kill -TTOU "$FCGIPM_PID"
    want=$(( storm_start + round ))
    more() { [ "$(reloads)" -ge "$want" ]; }
    wait_until 10 more || fail "round $round: no reload"
    n=$(( $(http_done) + 100 ))
    wait_until 20 http_more "$n" || fail "round $round: nginx requests stalled"
done
[ "$round" -ge 4 ] || fail "only $round rounds of signals in $SECS s"
touch "$TMP/stop"
for p in "${CURL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
for p in "$mod_load" "$cgi_load"; do wait "$p" 2>/dev/null; done
for pool in mod cgi; do
    line=$(grep -E '^requests=' "$TMP/load.$pool") \
        || fail "no summary from the $pool load: $(tail -3 "$TMP/load.$pool")"
    [[ $line =~ requests=([0-9]+)\ errors=([0-9]+) ]] \
        || fail "cannot read the $pool load summary: $line"
    [ "${BASH_REMATCH[2]}" = 0 ] \
        || fail "pool $pool: ${BASH_REMATCH[2]} of ${BASH_REMATCH[1]} \
requests failed across the storm: $(tail -5 "$TMP/load.$pool")"
    [ "${BASH_REMATCH[1]}" -gt 100 ] \
        || fail "pool $pool: only ${BASH_REMATCH[1]} requests: $line"
    eval "direct_$pool=${BASH_REMATCH[1]}"
done
bad=$(cat "$TMP"/http.* | grep -vc '^200$')
[ "$bad" = 0 ] || fail "$bad of $(http_done) requests through nginx failed: \
$(cat "$TMP"/http.* | sort | uniq -c | tr '\n' ' ') $(grep -m3 error "$NGINX_ERR")"
ok "$round rounds of HUP, TTIN, HUP, TTOU under load: $direct_mod module and \
$direct_cgi cgi requests direct, $(http_done) through nginx with kept \
connections, 0 failed"

stop_nginx || fail "nginx did not stop"
kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exit status $STATUS"
done_testing
