# Exec mode behind nginx with kept connections (issue 11): 4 nginx worker
# processes, an upstream keepalive 32 and fastcgi_keep_conn on. A kept
# connection holds a libfcgi worker between requests, so a connection
# another nginx process opens waits in the accept queue behind it. pm
# adaptive and ondemand see that queue and grow (pm dynamic needs cgi or
# module mode): under load, no request fails and none stalls
# (fastcgi_read_timeout 5s would turn a stall into a 504). A pool whose
# max_workers is too small shows it: the listen queue and "max children
# reached" in status, and a warning in the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"

CLIENTS=16
SSOCK=$TMP/status.sock

# nginx.sh runs one worker process; this test needs four.
eval "nginx_conf_one_worker() $(declare -f nginx_conf | tail -n +2)"
nginx_conf() {
    nginx_conf_one_worker "$@"
    sed -i 's/^worker_processes 1;$/worker_processes 4;/' "$NGINX_CONF"
    grep -q '^worker_processes 4;$' "$NGINX_CONF" \
        || fail "cannot set worker_processes 4 in $NGINX_CONF"
}

cat >"$TMP/fcgipm.conf" <<CONF
status_listen = "unix:$SSOCK"
pool "ada" {
    listen = "unix:$TMP/ada.sock"
    command = {"$HELLO"}
    pm = adaptive
    workers = 2
    min_workers = 2
    max_workers = 136
    idle_timeout = "1s"
}
pool "od" {
    listen = "unix:$TMP/od.sock"
    command = {"$HELLO"}
    pm = ondemand
    workers = 2
    max_workers = 136
    idle_timeout = "10s"
}
pool "small" {
    listen = "unix:$TMP/small.sock"
    command = {"$HELLO"}
    pm = adaptive
    workers = 2
    min_workers = 2
    max_workers = 4
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 6
for pool in ada od small; do
    wait_until 5 answers "unix:$TMP/$pool.sock" \
        || fail "pool $pool does not answer"
done

NGINX_UPSTREAMS=
NGINX_LOCATIONS=
for pool in ada od small; do
    NGINX_UPSTREAMS+="
    upstream $pool { server unix:$TMP/$pool.sock; keepalive 32; }"
    NGINX_LOCATIONS+="
        location /$pool/ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_keep_conn on;
            fastcgi_read_timeout 5s;
            fastcgi_pass $pool;
        }"
done
start_nginx
ok "nginx with 4 worker processes on 127.0.0.1:$PORT, keepalive 32"

# http_load_start PATH [N]: CLIENTS loops of curl, each sending N (20)
# requests on one HTTP connection (so that clients move between nginx
# processes) until http_load_stop; one status code a line in
# http.*.codes. A curl gives up after 2 s a request (nginx's 504 comes
# after 5 s): http_load_stop waits for no more.
HTTP_PIDS=()
http_load_start() {
    local url="http://127.0.0.1:$PORT$1" n=${2:-20} i k
    rm -f "$TMP/http.stop" "$TMP"/http.*.codes
    for i in $(seq "$CLIENTS"); do
        (
            args=()
            for k in $(seq "$n"); do args+=(-o /dev/null "$url"); done
            while [ ! -e "$TMP/http.stop" ]; do
                curl -s -m $((2 * n)) -w '%{http_code}\n' "${args[@]}" \
                    >>"$TMP/http.$i.codes"
            done
        ) &
        HTTP_PIDS+=("$!")
        STARTED_PIDS+=("$!")
    done
}
http_done() { cat "$TMP"/http.*.codes 2>/dev/null | wc -l; }
http_bad() { cat "$TMP"/http.*.codes 2>/dev/null | grep -vc '^200$'; }
http_reached() { [ "$(http_done)" -ge "$1" ]; }
http_load_stop() {
    local pid
    touch "$TMP/http.stop"
    for pid in "${HTTP_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    HTTP_PIDS=()
}

# st POOL: the text status of POOL into $TMP/st; field NAME: its value.
st() {
    req "unix:$SSOCK" /status >"$TMP/st.all" || fail "status failed"
    awk -v p="$1" '/^pool:/ { on = $2 == p } on' "$TMP/st.all" >"$TMP/st"
}
field() { sed -n "s/^$1: *//p" "$TMP/st"; }
pool_workers() { st "$1"; field "total processes"; }

for pool in ada od; do
    : >"$NGINX_ERR"
    http_load_start "/$pool/x?sleep=5"
    # Long enough for the clients to move between nginx processes, whose
    # kept connections then hold more workers than the 16 clients.
    wait_until 60 http_reached 6000 \
        || fail "pool $pool: $(http_done) requests in 60 s, $(http_bad) bad"
    st "$pool"
    grew=$(field "total processes")
    http_load_stop
    bad=$(http_bad)
    [ "$bad" = 0 ] || fail "pool $pool: $bad of $(http_done) requests failed: \
$(cat "$TMP"/http.*.codes | sort | uniq -c | tr '\n' ' ') \
$(grep -m3 error "$NGINX_ERR")"
    ! grep -q "timed out" "$NGINX_ERR" \
        || fail "pool $pool: nginx timed out: $(grep -m3 "timed out" "$NGINX_ERR")"
    [ "$grew" -gt 2 ] || fail "pool $pool did not grow: $grew workers"
    log_has "pool $pool: [0-9]+ connections? waiting, [0-9]+ -> " \
        || fail "pool $pool: no growth for waiting connections logged"
    [ "$(field "max children reached")" = 0 ] \
        || fail "pool $pool: max children reached: $(cat "$TMP/st")"
    ok "pool $pool (pm $(field "process manager")): $(http_done) requests, 0 \
failed, grew to $grew workers for $CLIENTS clients"
done

# max_workers 4 for 16 clients: connections wait behind held workers.
# Status shows the queue and the cap, the log says what to do.
http_load_start "/small/x?sleep=5" 1
queue_seen() {
    st small
    [ "$(field "listen queue")" -gt 0 ] \
        && [ "$(field "max children reached")" -gt 0 ]
}
wait_until 20 queue_seen || fail "pool small: no queue in status: $(cat "$TMP/st")"
queued=$(field "listen queue")
wait_log "pool small: max_workers \(4\) reached with [0-9]+ connections? waiting; consider raising it: a kept connection \(fastcgi_keep_conn\) holds an exec worker"
http_load_stop
[ "$(pool_workers small)" = 4 ] || fail "pool small: $(field "total processes") workers, max_workers 4"
ok "pool small at max_workers 4: status shows $queued connections queued and \
max children reached, the log says why"

stop_nginx || fail "nginx did not stop"
kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exit status $STATUS"
done_testing
