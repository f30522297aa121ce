# A real nginx for integration tests, started by the test on a free
# loopback port, every path it writes under $TMP. Source after lib.sh;
# set NGINX_LOCATIONS (the server block's locations) before start_nginx,
# and NGINX_WORKER_PROCESSES for more than one worker process.
PATH=$PATH:/usr/sbin:/sbin
need nginx
need curl

NGINX_CONF=$TMP/nginx.conf
NGINX_ERR=$TMP/nginx-error.log
NGINX_PID=
NGINX_UPSTREAMS=
PORT=
mkdir -p "$TMP/www" "$TMP/ngx/body" "$TMP/ngx/fastcgi" "$TMP/ngx/proxy" \
    "$TMP/ngx/uwsgi" "$TMP/ngx/scgi"

nginx_conf() {
    local user_line=
    # As root, nginx workers would run as nobody, who cannot reach the
    # 0700 temp dir nor a 0660 socket: keep them as the test's user.
    [ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
    cat >"$NGINX_CONF" <<CONF
$user_line
daemon off;
master_process on;
worker_processes ${NGINX_WORKER_PROCESSES:-1};
pid $TMP/nginx.pid;
error_log $NGINX_ERR;
events { worker_connections 256; }
http {
    access_log $TMP/nginx-access.log;
    client_body_temp_path $TMP/ngx/body;
    fastcgi_temp_path $TMP/ngx/fastcgi;
    proxy_temp_path $TMP/ngx/proxy;
    uwsgi_temp_path $TMP/ngx/uwsgi;
    scgi_temp_path $TMP/ngx/scgi;
    client_max_body_size 8m;
    $NGINX_UPSTREAMS
    server {
        listen 127.0.0.1:$1;
        root $TMP/www;
        $NGINX_LOCATIONS
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
