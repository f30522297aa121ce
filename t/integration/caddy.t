# A real Caddy (reverse_proxy with transport fastcgi, and php_fastcgi) in
# front of one fcgipm master, set up as etc/examples/Caddyfile says: an
# exec pool (hello) under /app/ answers, with the query; a builtin:echo
# pool shows the params Caddy sends; php-cgi answers with SCRIPT_FILENAME
# the file; no FastCGI connection is kept between requests (each would
# hold an exec worker). Caddy runs with its admin endpoint off, its
# files under $TMP, on a free loopback port.
. "$(dirname "$0")/lib.sh"
need caddy
need curl
need php-cgi

. "$(dirname "$0")/frontend.sh"
FRONT_LOG=$TMP/caddy.log
mkdir -p "$TMP/caddy"
frontend_pools

caddy_conf() {
    cat >"$TMP/Caddyfile" <<CONF
{
	admin off
	auto_https off
	storage file_system $TMP/caddy/data
}
http://127.0.0.1:$1 {
	root * $TMP/www
	handle_path /app/* {
		reverse_proxy unix/$TMP/app.sock {
			transport fastcgi
		}
	}
	handle_path /params/* {
		reverse_proxy unix/$TMP/params.sock {
			transport fastcgi
		}
	}
	php_fastcgi unix/$TMP/php.sock
	file_server
}
CONF
}

port_listened() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
caddy_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/"; }
caddy_settled() { caddy_up || pid_gone "$CADDY_PID"; }

# start_caddy: on a random free port; another one if Caddy cannot bind.
start_caddy() {
    for _ in $(seq 20); do
        PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_listened "$PORT" && continue
        caddy_conf "$PORT"
        HOME=$TMP/caddy XDG_CONFIG_HOME=$TMP/caddy XDG_DATA_HOME=$TMP/caddy \
            caddy run --config "$TMP/Caddyfile" --adapter caddyfile \
            </dev/null >"$TMP/caddy.log" 2>&1 &
        CADDY_PID=$!
        STARTED_PIDS+=("$CADDY_PID")
        wait_until 10 caddy_settled || fail "caddy did not start: $(tail -3 "$TMP/caddy.log")"
        caddy_up && return 0
        wait "$CADDY_PID" 2>/dev/null
        grep -q "address already in use" "$TMP/caddy.log" && continue
        fail "caddy exited at start: $(tail -3 "$TMP/caddy.log")"
    done
    fail "no free port found for caddy in 20 tries"
}

start_caddy
ok "caddy started on 127.0.0.1:$PORT"

frontend_app_checks
ok "reverse_proxy with transport fastcgi: 200 from an exec worker, the" \
   "query reaches it"

frontend_params_checks /a/b
ok "handle_path strips /params: PATH_INFO /a/b, SCRIPT_NAME empty, the" \
   "client's path in REQUEST_URI"

frontend_php_checks
get '/?q=dir'
expect 200 "GET / (index.php)"
ok "php_fastcgi: php-cgi answers with SCRIPT_FILENAME the file"

frontend_no_kept caddy
ok "caddy keeps no connection to the exec pool between requests"

kill -TERM "$CADDY_PID"
wait_gone "$CADDY_PID" 10 || fail "caddy did not stop"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exit status $STATUS"
ok "caddy and fcgipm stop"
done_testing
