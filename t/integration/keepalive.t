# Kept connections (issue 11): nginx's standard deployment, 4 worker
# processes, an upstream with keepalive 32 and fastcgi_keep_conn on, in
# front of a pool of 2 workers, module mode (builtin:hello) then cgi
# mode (a shell script). Under wrk with 16 connections, more than the
# pool has workers, every request is a 200, none waits anywhere near
# nginx's fastcgi_read_timeout (3 s here, so a worker pinned by a kept
# connection shows as 504s). Then the closes fcgipm makes itself: with
# keepalive_timeout 300ms, GETs that pause about that long (jittered)
# race the close of an idle connection against nginx reusing it; with
# keepalive_max 2, nginx keeps more connections than the pool holds:
# either way no request fails (nginx retries a GET whose kept connection
# failed before it had an answer, as it is deployed). First, without
# nginx: a single cgi worker whose kept connections always have a next
# request waiting still accepts and serves a new connection at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"
need wrk

SCALE=${TEST_TIME_SCALE:-1}
READ_TIMEOUT_S=3
# Latency bound for every request: well below fastcgi_read_timeout.
BOUND_MS=$((1500 * SCALE))
WRK_SECONDS=5
IDLE_MS=300
# What workers log at debug when they close a kept connection themselves.
LOG_IDLE='idle for keepalive_timeout: closed'
LOG_CAP='closed to make room \(keepalive_max'

WWW=$TMP/www
cp -p "$(dirname "$0")/../cgi/hello.sh" "$WWW/hello.sh"

cat >"$TMP/fcgipm.conf" <<CONF
log_level = debug
pool "mod" {
    listen = "unix:$TMP/mod.sock"
    mode = module
    module = "builtin:hello"
    workers = 2
}
pool "cgi" {
    listen = "unix:$TMP/cgi.sock"
    mode = cgi
    cgi_root = "$WWW"
    workers = 2
}
pool "one" {
    listen = "unix:$TMP/one.sock"
    mode = cgi
    cgi_root = "$WWW"
    workers = 1
}
pool "idle" {
    listen = "unix:$TMP/idle.sock"
    mode = module
    module = "builtin:hello"
    workers = 2
    keepalive_timeout = "${IDLE_MS}ms"
}
pool "capped" {
    listen = "unix:$TMP/capped.sock"
    mode = module
    module = "builtin:hello"
    workers = 2
    keepalive_max = 2
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 9
hello_answers() {
    "$FCGI_REQUEST" -t 5 -p "SCRIPT_FILENAME=$WWW/hello.sh" "unix:$1" / \
        >/dev/null 2>&1
}
for p in mod cgi one idle capped; do
    wait_until 10 hello_answers "$TMP/$p.sock" || fail "pool $p does not answer"
done

# fcgi-request -k -c 8: each connection sends its next request as soon as
# it has an answer, so the worker always finds one waiting on a kept
# connection when it ends a request. New connections and the other kept
# ones must not wait for that to stop.
"$FCGI_REQUEST" -k -c 8 -D 4 -t 10 -p "SCRIPT_FILENAME=$WWW/hello.sh" \
    "unix:$TMP/one.sock" / >"$TMP/one.load" 2>&1 &
load=$!
STARTED_PIDS+=("$load")
probes=0
while pid_alive "$load"; do
    start=${EPOCHREALTIME/./}
    "$FCGI_REQUEST" -t "$((BOUND_MS / 1000 + 1))" \
        -p "SCRIPT_FILENAME=$WWW/hello.sh" "unix:$TMP/one.sock" / \
        >/dev/null 2>&1 \
        || fail "a new connection waited over $((BOUND_MS / 1000 + 1)) s" \
            "for a worker busy with its kept connections (after $probes)"
    ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
    [ "$ms" -le "$BOUND_MS" ] \
        || fail "a new connection waited $ms ms for a worker busy with" \
            "its kept connections (after $probes)"
    probes=$((probes + 1))
done
wait_status "$load"
summary=$(tail -1 "$TMP/one.load")
[ "$STATUS" = 0 ] || fail "fcgi-request -k -c 8: $summary"
max_ms=$(echo "$summary" | sed -n 's/.* max_ms=\([0-9]*\).*/\1/p')
[ -n "$max_ms" ] && [ "$max_ms" -le "$BOUND_MS" ] \
    || fail "a kept connection waited for its turn: $summary"
ok "1 cgi worker, 8 kept connections always with a request waiting:" \
    "$probes new connections served meanwhile; kept ones at most" \
    "$max_ms ms"

# /P/ goes to pool P through an upstream with keepalive; every request
# of it is logged with its status and time in $TMP/access.P.log.
NGINX_WORKER_PROCESSES=4
NGINX_UPSTREAMS="
    log_format timing '\$status \$request_time';"
NGINX_LOCATIONS=
for p in mod cgi idle capped; do
    NGINX_UPSTREAMS+="
    upstream up_$p {
        server unix:$TMP/$p.sock;
        keepalive 32;
    }"
    NGINX_LOCATIONS+="
        location /$p/ {
            access_log $TMP/access.$p.log timing;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $WWW/hello.sh;
            fastcgi_keep_conn on;
            fastcgi_read_timeout ${READ_TIMEOUT_S}s;
            fastcgi_pass up_$p;
        }"
done
start_nginx
ok "nginx with 4 worker processes on 127.0.0.1:$PORT"

cat >"$TMP/summary.lua" <<'LUA'
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("summary requests=%d connect=%d read=%d "
        .. "write=%d status=%d timeout=%d max_us=%d\n", summary.requests,
        e.connect, e.read, e.write, e.status, e.timeout, latency.max))
end
LUA

# check_access P: every request nginx logged for /P/ is a 200 (or a 499
# that wrk abandoned at its end) and took under BOUND_MS; sets COUNT.
check_access() {
    local f=$TMP/access.$1.log bad
    COUNT=$(grep -c '^200 ' "$f")
    bad=$(awk -v b="$BOUND_MS" '($1 != 200 && $1 != 499) || $2 * 1000 > b' \
          "$f" | sort | uniq -c | sort -rn | head -5)
    [ -z "$bad" ] || fail "/$1/: requests that failed or stalled" \
        "(status, seconds): $bad; $(grep -v '\[debug\]' "$NGINX_ERR" | tail -3)"
}

# wrk_run P: wrk -c16 on /P/; fails on any error or a stall.
wrk_run() {
    local p=$1 out s
    out=$(wrk -t2 -c16 -d"${WRK_SECONDS}s" --timeout 10s -s "$TMP/summary.lua" \
          "http://127.0.0.1:$PORT/$p/" 2>&1) || fail "wrk: $out"
    echo "$out" >"$TMP/wrk.$p.out"
    s=$(echo "$out" | sed -n 's/^summary //p')
    [ -n "$s" ] || fail "no summary from wrk: $out"
    local requests connect read write status timeout max_us
    eval "$s"
    [ "$requests" -gt 0 ] || fail "/$p/: no request done: $out"
    [ $((connect + read + write + status + timeout)) -eq 0 ] \
        || fail "/$p/: errors under load: $s;" \
            "$(grep -v '\[debug\]' "$NGINX_ERR" | tail -3)"
    [ $((max_us / 1000)) -le "$BOUND_MS" ] \
        || fail "/$p/: a request took $((max_us / 1000)) ms: $s"
    WRK_REQUESTS=$requests
    WRK_MAX_MS=$((max_us / 1000))
}

nginx_errors() { grep -cE '\[(error|crit|alert|emerg)\]' "$NGINX_ERR"; }

for p in mod cgi; do
    errors_before=$(nginx_errors)
    wrk_run "$p"
    check_access "$p"
    [ "$(nginx_errors)" -eq "$errors_before" ] \
        || fail "/$p/: nginx logged errors: $(tail -3 "$NGINX_ERR")"
    ok "$p: wrk -c16 ${WRK_SECONDS}s through 4 nginx processes with keepalive" \
        "32: $WRK_REQUESTS requests, $COUNT 200s, 0 errors, slowest" \
        "$WRK_MAX_MS ms"
done

# jitter_client N URL OUT: N GETs, each after a pause of IDLE_MS +-60 ms.
jitter_client() {
    local n=$1 url=$2 out=$3 i pause
    for i in $(seq "$n"); do
        pause=$(( IDLE_MS - 60 + RANDOM % 120 ))
        sleep "$((pause / 1000)).$(printf %03d $((pause % 1000)))"
        curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$url" >>"$out"
    done
}

closes_before=$(log_count "$LOG_IDLE")
pids=()
for c in 1 2 3 4; do
    jitter_client 30 "http://127.0.0.1:$PORT/idle/" "$TMP/jitter.$c" &
    pids+=("$!")
    STARTED_PIDS+=("$!")
done
for pid in "${pids[@]}"; do
    wait "$pid"
done
codes=$(cat "$TMP"/jitter.* | sort | uniq -c)
total=$(cat "$TMP"/jitter.* | wc -l)
good=$(grep -c '^200$' "$TMP"/jitter.* | awk -F: '{ n += $2 } END { print n }')
[ "$total" -eq 120 ] && [ "$good" -eq 120 ] \
    || fail "idle closes racing reuse: $codes;" \
        "$(grep -v '\[debug\]' "$NGINX_ERR" | tail -3)"
check_access idle
closes=$(( $(log_count "$LOG_IDLE") - closes_before ))
[ "$closes" -gt 0 ] || fail "no kept connection was closed as idle"
retried=$(grep -c 'while sending request to upstream\|while reading response header from upstream' "$NGINX_ERR")
ok "keepalive_timeout ${IDLE_MS}ms: 120 GETs paused about as long: all 200" \
    "($closes idle closes, $retried failed tries nginx retried)"

errors_before=$(nginx_errors)
caps_before=$(log_count "$LOG_CAP")
wrk_run capped
check_access capped
caps=$(( $(log_count "$LOG_CAP") - caps_before ))
[ "$caps" -gt 0 ] || fail "keepalive_max 2: no kept connection closed at the cap"
# A worker holds keepalive_max connections plus the one it is taking
# and one draining (worker/conn.c).
kept=$(ss -xH state connected src "$TMP/capped.sock" 2>/dev/null | wc -l)
[ "$kept" -le $((2 * (2 + 2))) ] \
    || fail "keepalive_max 2, 2 workers: fcgipm holds $kept connections"
ok "keepalive_max 2: wrk -c16: $WRK_REQUESTS requests, 0 errors, slowest" \
    "$WRK_MAX_MS ms; $caps closes at the cap, $kept kept after"

stop_nginx || fail "nginx did not exit after QUIT"
kill -0 "$FCGIPM_PID" || fail "fcgipm died"
done_testing
