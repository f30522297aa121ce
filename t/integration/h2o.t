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

CONF=$TMP/fcgipm.conf
mkdir -p "$TMP/www"
cat >"$TMP/www/index.php" <<'PHP'
<?php
echo "php ", getmypid(), " ", $_SERVER["SCRIPT_FILENAME"], " ",
    $_GET["q"] ?? "", "\n";
PHP
cat >"$CONF" <<CONF
log = "$LOG"
pool "app" {
    listen = "unix:$TMP/app.sock"
    workers = 2
    command = {"$HELLO"}
}
pool "params" {
    listen = "unix:$TMP/params.sock"
    mode = module
    module = "builtin:echo"
    workers = 1
}
pool "php" {
    listen = "unix:$TMP/php.sock"
    workers = 1
    command = "php-cgi"
}
CONF
start_fcgipm -c "$CONF"
wait_workers 4
wait_until 5 answers "unix:$TMP/app.sock" || fail "the app pool does not answer"

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

get() {
    CODE=$(curl -sS -m 10 -o "$TMP/body" -w '%{http_code}' \
           "http://127.0.0.1:$PORT$1") || CODE="curl failed ($?)"
}
expect() {
    [ "$CODE" = "$1" ] \
        || fail "$2: expected $1, got $CODE: $(head -c 300 "$TMP/body"; tail -2 "$TMP/h2o-error.log")"
}
body_has() { grep -qx -- "$1" "$TMP/body"; }

start_h2o
ok "h2o started on 127.0.0.1:$PORT"

get /app/
expect 200 "GET /app/"
[[ $(cat "$TMP/body") =~ ^Hello\ from\ fcgipm\ worker\ ([0-9]+)$ ]] \
    || fail "GET /app/: $(cat "$TMP/body")"
workers | grep -qx "${BASH_REMATCH[1]}" \
    || fail "answered by ${BASH_REMATCH[1]}, not a worker"
get '/app/x?status=404'
expect 404 "GET /app/x?status=404 (QUERY_STRING)"
ok "fastcgi.connect: 200 from an exec worker, the query reaches it"

get '/params/a/b?x=1'
expect 200 "GET /params/a/b?x=1"
for v in "SCRIPT_NAME=" "PATH_INFO=/params/a/b" "QUERY_STRING=x=1" \
         "REQUEST_URI=/params/a/b?x=1"; do
    body_has "$v" || fail "builtin:echo has no $v: $(cat "$TMP/body")"
done
ok "the app gets the whole path in PATH_INFO, an empty SCRIPT_NAME, and" \
   "the query"

get '/index.php?q=hi'
expect 200 "GET /index.php"
read -r word pid file q <"$TMP/body"
[ "$word $file $q" = "php $TMP/www/index.php hi" ] \
    || fail "index.php: $(cat "$TMP/body")"
workers | grep -qx "$pid" || fail "index.php answered by $pid, not a worker"
ok "file.custom-handler: php-cgi answers with SCRIPT_FILENAME the file"

no_kept() { [ "$(ss -xH state connected src "$TMP/app.sock" | wc -l)" = 0 ]; }
wait_until 5 no_kept \
    || fail "h2o keeps connections to app.sock: $(ss -xH state connected src "$TMP/app.sock")"
ok "h2o keeps no connection to the exec pool between requests"

kill -TERM "$H2O_PID"
wait_gone "$H2O_PID" 10 || fail "h2o did not stop"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exit status $STATUS"
ok "h2o and fcgipm stop"
done_testing
