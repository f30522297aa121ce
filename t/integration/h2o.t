# A real h2o (fastcgi.connect) in front of one fcgipm master, set up as
# etc/examples/h2o.conf says: an exec pool (hello) at /app answers, with
# the query; a builtin:echo pool shows the params h2o sends; php-cgi
# answers .php files with SCRIPT_FILENAME the file; no FastCGI
# connection is kept between requests (each would hold an exec worker).
# h2o runs on a free loopback port, its files under $TMP.
. "$(dirname "$0")/lib.sh"
need h2o
need curl
need php-cgi

. "$(dirname "$0")/frontend.sh"
FRONT_LOG=$TMP/h2o-error.log
frontend_pools

# As root, h2o switches to nobody, who cannot reach the 0700 temp dir:
# keep it as the test's user.
H2O_USER=
[ "$(id -u)" = 0 ] && H2O_USER="user: $(id -un)"
h2o_conf() {
    cat >"$TMP/h2o.conf" <<CONF
$H2O_USER
listen:
  host: 127.0.0.1
  port: $1
pid-file: $TMP/h2o.pid
error-log: $TMP/h2o-error.log
access-log: $TMP/h2o-access.log
hosts:
  default:
    paths:
      /app:
        fastcgi.connect:
          port: $TMP/app.sock
          type: unix
      /params:
        fastcgi.connect:
          port: $TMP/params.sock
          type: unix
      /:
        file.dir: $TMP/www
        file.custom-handler:
          extension: .php
          fastcgi.connect:
            port: $TMP/php.sock
            type: unix
CONF
}

port_listened() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
h2o_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/"; }
h2o_settled() { h2o_up || pid_gone "$H2O_PID"; }

# start_h2o: on a random free port; another one if h2o cannot bind.
start_h2o() {
    for _ in $(seq 20); do
        PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_listened "$PORT" && continue
        h2o_conf "$PORT"
        h2o -t -c "$TMP/h2o.conf" >"$TMP/h2o-t.log" 2>&1 \
            || fail "h2o -t: $(cat "$TMP/h2o-t.log")"
        : >"$TMP/h2o-error.log"
        h2o -c "$TMP/h2o.conf" </dev/null >"$TMP/h2o.out" 2>&1 &
        H2O_PID=$!
        STARTED_PIDS+=("$H2O_PID")
        wait_until 10 h2o_settled || fail "h2o did not start: $(tail -3 "$TMP/h2o-error.log")"
        h2o_up && return 0
        wait "$H2O_PID" 2>/dev/null
        grep -qi "address already in use" "$TMP/h2o.out" "$TMP/h2o-error.log" \
            && continue
        fail "h2o exited at start: $(tail -3 "$TMP/h2o.out" "$TMP/h2o-error.log")"
    done
    fail "no free port found for h2o in 20 tries"
}

start_h2o
ok "h2o started on 127.0.0.1:$PORT"

frontend_app_checks
ok "fastcgi.connect: 200 from an exec worker, the query reaches it"

frontend_params_checks /params/a/b
ok "the app gets the whole path in PATH_INFO, an empty SCRIPT_NAME, and" \
   "the query"

frontend_php_checks
ok "file.custom-handler: php-cgi answers with SCRIPT_FILENAME the file"

frontend_no_kept h2o
ok "h2o keeps no connection to the exec pool between requests"

kill -TERM "$H2O_PID"
wait_gone "$H2O_PID" 10 || fail "h2o did not stop"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exit status $STATUS"
ok "h2o and fcgipm stop"
done_testing
