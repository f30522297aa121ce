# A real nginx in front of fcgipm: fastcgi_pass to the pool's unix socket
# serves pages, a body both ways, the app's status; a worker killed
# with SIGKILL is replaced and nginx keeps getting 200; an upstream with
# keepalive and fastcgi_keep_conn serves sequential requests. nginx runs
# unprivileged-safe: every path it writes is under $TMP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"

SOCK=$TMP/app.sock

start_fcgipm -s "$SOCK" -w 3 -- "$HELLO"
wait_workers 3
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"

# /keep/ goes through an upstream with keepalive and fastcgi_keep_conn;
# its prefix is stripped so that the app sees /pid as for /.
NGINX_UPSTREAMS="
    upstream fcgipm_keep {
        server unix:$SOCK;
        keepalive 2;
    }"
NGINX_LOCATIONS="
        location /keep/ {
            rewrite ^/keep(/.*)\$ \$1 break;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_keep_conn on;
            fastcgi_pass fcgipm_keep;
        }
        location / {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$SOCK;
        }"

is_worker() { workers | grep -qx "$1"; }

start_nginx
ok "nginx started on 127.0.0.1:$PORT (pid $NGINX_PID)"

get /
[ "$CODE" = 200 ] || fail "GET / through nginx: $CODE: $(cat "$TMP/body"; tail -3 "$NGINX_ERR")"
body=$(cat "$TMP/body")
[[ $body =~ ^Hello\ from\ fcgipm\ worker\ ([0-9]+)$ ]] \
    || fail "unexpected body: $body"
pid=${BASH_REMATCH[1]}
is_worker "$pid" || fail "pid $pid in the body is not a child of fcgipm ($(workers | tr '\n' ' '))"
ok "GET / through nginx: 200 from worker $pid, a child of fcgipm"

# A 1 MB body, byte for byte, through fcgipm's socket.
head -c 1048576 /dev/urandom >"$TMP/big"
req "unix:$SOCK" /echo -d "@$TMP/big" >"$TMP/big.out" \
    || fail "POST 1 MB to /echo on the socket failed"
cmp -s "$TMP/big" "$TMP/big.out" \
    || fail "echoed body differs: sent 1048576 bytes, got $(wc -c <"$TMP/big.out")"
ok "a 1 MB random body comes back byte-identical from the pool"

# Through nginx: 60000 bytes goes through nginx's client_body_temp_path
# (> 16k). /echo reads the whole body before it answers, as any handler
# must behind nginx, which stops sending a body once it has the response
# header; big_body.t echoes 1 MiB and more through nginx and Caddy.
head -c 60000 /dev/urandom >"$TMP/mid"
get /echo --data-binary "@$TMP/mid" -H 'Content-Type: application/octet-stream'
[ "$CODE" = 200 ] || fail "POST 60000 bytes to /echo: $CODE: $(tail -3 "$NGINX_ERR")"
cmp -s "$TMP/mid" "$TMP/body" \
    || fail "echoed body differs: sent 60000 bytes, got $(wc -c <"$TMP/body")"
ok "a 60000-byte random body comes back byte-identical through nginx"

get '/?status=404'
[ "$CODE" = 404 ] || fail "?status=404 through nginx gave $CODE"
get '/?status=503'
[ "$CODE" = 503 ] || fail "?status=503 through nginx gave $CODE"
ok "the app's status reaches the client (404, 503)"

before=$(workers)
victim=$(echo "$before" | head -1)
kill -KILL "$victim"
replaced() { ! is_worker "$victim" && has_workers 3; }
wait_until 5 replaced || fail "worker $victim not replaced (have $(workers | tr '\n' ' '))"
for i in $(seq 10); do
    get /pid
    [ "$CODE" = 200 ] || fail "request $i after the SIGKILL: $CODE: $(tail -3 "$NGINX_ERR")"
    p=$(cat "$TMP/body")
    [ "$p" != "$victim" ] || fail "the killed worker $victim answered"
    is_worker "$p" || fail "request $i answered by $p, not a current worker"
done
ok "after SIGKILL of worker $victim the pool is back to 3 and nginx gets 200"

pids=()
for i in $(seq 20); do
    get /keep/pid
    [ "$CODE" = 200 ] || fail "keepalive request $i: $CODE: $(cat "$TMP/body"; tail -3 "$NGINX_ERR")"
    p=$(cat "$TMP/body")
    is_worker "$p" || fail "keepalive request $i answered by $p, not a worker"
    pids+=("$p")
done
distinct=$(printf '%s\n' "${pids[@]}" | sort -u | wc -l)
# nginx keeps at most 2 idle connections and a libfcgi worker stays bound
# to its kept connection: sequential requests use at most 2 workers.
[ "$distinct" -le 2 ] \
    || fail "keepalive requests spread over $distinct workers: ${pids[*]}"
# The kept connection outlives the requests: nginx holds it idle, the
# worker waits on it (without keep_conn the worker would close it).
kept=$(ss -xH state connected src "$SOCK" 2>/dev/null | wc -l)
[ "$kept" -ge 1 ] || fail "no connection kept open to $SOCK after the keepalive requests"
ok "20 sequential requests over an upstream keepalive + fastcgi_keep_conn: all 200 ($distinct worker(s), $kept connection(s) kept)"

! grep -E '\[(error|crit|alert|emerg)\]' "$NGINX_ERR" \
    || fail "nginx logged errors"
ok "nginx logged no errors"

stop_nginx || fail "nginx did not exit after QUIT"
kill -0 "$FCGIPM_PID" || fail "fcgipm died"
has_workers 3 || fail "fcgipm has $(worker_count) workers after nginx left"
ok "nginx stopped gracefully; fcgipm still runs 3 workers"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exit status $STATUS"
ok "fcgipm stops with status 0"
done_testing
