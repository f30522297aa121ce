# A real nginx in front of fcgipm: fastcgi_pass to the pool's unix socket
# serves pages, a body both ways, the app's status; a worker killed
# with SIGKILL is replaced and nginx keeps getting 200; an upstream with
# keepalive and fastcgi_keep_conn serves sequential requests. nginx runs
# unprivileged-safe: every path it writes is under $TMP.
. "$(dirname "$0")/lib.sh"

# nginx lives in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
need nginx
need curl

SOCK=$TMP/app.sock
NGINX_CONF=$TMP/nginx.conf
NGINX_ERR=$TMP/nginx-error.log
NGINX_PID=
PORT=

start_fcgipm -s "$SOCK" -w 3 -- "$HELLO"
wait_workers 3
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"

mkdir -p "$TMP/www" "$TMP/ngx/body" "$TMP/ngx/fastcgi" "$TMP/ngx/proxy" \
    "$TMP/ngx/uwsgi" "$TMP/ngx/scgi"

# As root, nginx workers would run as nobody, who cannot reach the 0700
# temp dir nor the 0660 socket: keep them as the user running the test.
user_line=
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"

# nginx_conf PORT: the whole nginx configuration for a listen port.
# /keep/ goes through an upstream with keepalive and fastcgi_keep_conn;
# its prefix is stripped so that the app sees /pid as for /.
nginx_conf() {
    cat >"$NGINX_CONF" <<CONF
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $NGINX_ERR;
events { worker_connections 64; }
http {
    access_log $TMP/nginx-access.log;
    client_body_temp_path $TMP/ngx/body;
    fastcgi_temp_path $TMP/ngx/fastcgi;
    proxy_temp_path $TMP/ngx/proxy;
    uwsgi_temp_path $TMP/ngx/uwsgi;
    scgi_temp_path $TMP/ngx/scgi;
    client_max_body_size 8m;

    upstream fcgipm_keep {
        server unix:$SOCK;
        keepalive 2;
    }
    server {
        listen 127.0.0.1:$1;
        root $TMP/www;
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
        }
    }
}
CONF
}

nginx_ready() { [ "$(cat "$TMP/nginx.pid" 2>/dev/null)" = "$NGINX_PID" ]; }
nginx_bind_failed() { grep -q "Address already in use" "$NGINX_ERR" 2>/dev/null; }
nginx_settled() { nginx_ready || nginx_bind_failed || pid_gone "$NGINX_PID"; }
port_listened() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

# stop_nginx: graceful stop (QUIT) by pid, then wait for it to exit.
stop_nginx() {
    [ -n "$NGINX_PID" ] || return 0
    kill -QUIT "$NGINX_PID" 2>/dev/null
    wait_gone "$NGINX_PID" 10 || return 1
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=
}

# start_nginx: on a random free port; another port when the one picked
# turns out to be taken (nginx retries a busy port for 2.5 s: a bind
# failure in its log is enough to move on).
start_nginx() {
    local try eflag=()
    # -e (nginx >= 1.19.5) keeps even start-up errors out of /var/log.
    nginx -h 2>&1 | grep -q -- '-e filename' && eflag=(-e "$NGINX_ERR")
    for try in $(seq 20); do
        PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_listened "$PORT" && continue
        nginx_conf "$PORT"
        : >"$NGINX_ERR"
        rm -f "$TMP/nginx.pid"
        nginx -p "$TMP/ngx" -c "$NGINX_CONF" "${eflag[@]}" \
            </dev/null >>"$TMP/nginx-stdout.log" 2>&1 &
        NGINX_PID=$!
        STARTED_PIDS+=("$NGINX_PID")
        wait_until 10 nginx_settled || fail "nginx did not start: $(tail -5 "$NGINX_ERR")"
        if nginx_ready && ! nginx_bind_failed; then
            return 0
        fi
        if nginx_bind_failed; then
            kill -TERM "$NGINX_PID" 2>/dev/null
            wait_gone "$NGINX_PID" 5 || kill -KILL "$NGINX_PID"
            wait "$NGINX_PID" 2>/dev/null
            NGINX_PID=
            continue
        fi
        fail "nginx exited at start: $(tail -5 "$NGINX_ERR") $(cat "$TMP/nginx-stdout.log")"
    done
    fail "no free port found for nginx in 20 tries"
}

# get PATH [CURL ARGS...]: the body into $TMP/body, the HTTP status in CODE.
get() {
    local path=$1
    shift
    CODE=$(curl -sS -m 10 -o "$TMP/body" -w '%{http_code}' "$@" \
           "http://127.0.0.1:$PORT$path") || CODE="curl failed ($?)"
}

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

# Through nginx, a body the app reads whole before it answers: /echo
# streams (64 KiB in, 64 KiB out), and nginx stops sending a request body
# once it has sent the response header (ngx_http_upstream_send_request_
# handler), so a 1 MB body deadlocks app and nginx whatever the manager.
# 60000 bytes still goes through nginx's client_body_temp_path (> 16k).
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
