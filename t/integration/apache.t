# A real Apache httpd (mod_proxy_fcgi) in front of one fcgipm master,
# set up as etc/examples/apache.conf says: ProxyPass /app/ to an exec
# pool (hello) answers, and the app gets the client's path in SCRIPT_NAME,
# no PATH_INFO, the query in QUERY_STRING; a cgi pool behind SetHandler
# gets the script's real SCRIPT_FILENAME, PATH_INFO and QUERY_STRING,
# passes the script's Status and headers and a POST body both ways;
# php-cgi behind FilesMatch; the status socket at /status and /ping; each
# socket named apart after fcgi:// reaches its own pool; a SIGKILLed
# worker fails no request and is replaced; enablereuse=off holds no
# connection. Apache runs on a free loopback port, every path it writes
# under $TMP, in a process group of its own: it is stopped by the pid in
# its PidFile, and none of its processes may survive.
. "$(dirname "$0")/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
need apache2
need curl
need setsid

MODS=${APACHE_MODULES:-/usr/lib/apache2/modules}
for m in mpm_event authz_core authz_host alias mime proxy proxy_fcgi; do
    [ -f "$MODS/mod_$m.so" ] || skip "no mod_$m.so in $MODS"
done
HAVE_PHP=
if command -v php-cgi >/dev/null 2>&1; then
    HAVE_PHP=1
elif [ "${CI:-}" = true ]; then
    fail "php-cgi is not installed"
fi

FIXTURES=$(cd "$(dirname "$0")/../cgi" && pwd)
AP=$TMP/apache                  # ServerRoot, DefaultRuntimeDir, logs
AP_CONF=$AP/httpd.conf
AP_ERR=$AP/error.log
AP_PIDFILE=$AP/httpd.pid
AP_PID=
PORT=
CONF=$TMP/fcgipm.conf
mkdir -p "$AP" "$TMP/www" "$TMP/cgi-bin"
chmod 755 "$TMP/www" "$TMP/cgi-bin"

# As root, Apache's children run as www-data, which must reach the
# sockets as the example says (socket_group, status_socket_group =
# "www-data") and search
# $TMP (mktemp made it 0700) for the sockets and the files it serves.
AP_USER=
SOCKET_GROUP=
STATUS_GROUP=
if [ "$(id -u)" = 0 ]; then
    id www-data >/dev/null 2>&1 \
        || fail "as root, Apache needs a www-data user for its children"
    AP_USER="User www-data
Group www-data"
    SOCKET_GROUP='socket_group = "www-data"'
    STATUS_GROUP='status_socket_group = "www-data"'
    chmod 711 "$TMP"
fi

cp -p "$FIXTURES/env.sh" "$TMP/cgi-bin/env.sh"
cat >"$TMP/cgi-bin/store.sh" <<'SH'
#!/bin/sh
# A status and a header of its own, and the request body back.
printf 'Status: 201 Stored\r\nX-Stored-Bytes: %s\r\n' "$CONTENT_LENGTH"
printf 'Content-Type: application/octet-stream\r\n\r\n'
exec cat
SH
chmod 755 "$TMP/cgi-bin/env.sh" "$TMP/cgi-bin/store.sh"
cat >"$TMP/www/index.php" <<'PHP'
<?php
echo "php ", getmypid(), " ", $_SERVER["SCRIPT_FILENAME"], " ",
    $_GET["q"] ?? "", "\n";
PHP
chmod 644 "$TMP/www/index.php"

# "params" is a builtin:echo pool behind the same kind of ProxyPass as
# /app/: it prints every param it gets, which hello cannot.
NWORKERS=6
PHP_POOL=
if [ -n "$HAVE_PHP" ]; then
    NWORKERS=7
    PHP_POOL="pool \"php\" {
    listen = \"unix:$TMP/php.sock\"
    $SOCKET_GROUP
    workers = 1
    command = \"php-cgi\"
}"
fi
cat >"$CONF" <<CONF
log = "$LOG"
status_listen = "unix:$TMP/status.sock"
status_socket_mode = 0660
$STATUS_GROUP
pool "app" {
    listen = "unix:$TMP/app.sock"
    $SOCKET_GROUP
    workers = 3
    command = {"$HELLO"}
}
pool "cgi" {
    listen = "unix:$TMP/cgi.sock"
    $SOCKET_GROUP
    mode = cgi
    cgi_root = "$TMP/cgi-bin"
    workers = 2
}
pool "params" {
    listen = "unix:$TMP/params.sock"
    $SOCKET_GROUP
    mode = module
    module = "builtin:echo"
    workers = 1
}
$PHP_POOL
CONF
start_fcgipm -c "$CONF"
wait_workers "$NWORKERS"
wait_until 5 answers "unix:$TMP/app.sock" || fail "the app pool does not answer"

# app_workers: the exec pool's workers (hello, once exec'd), one a line.
app_workers() {
    local p
    for p in $(workers); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = hello ] && echo "$p"
    done
}
is_app_worker() { app_workers | grep -qx "$1"; }

TYPES=/etc/mime.types
[ -r "$TYPES" ] || TYPES=/dev/null
apache_conf() {
    cat >"$AP_CONF" <<CONF
ServerRoot "$AP"
DefaultRuntimeDir "$AP"
PidFile "$AP_PIDFILE"
ErrorLog "$AP_ERR"
LogLevel warn
ServerName 127.0.0.1
Listen 127.0.0.1:$1
$AP_USER
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_host_module $MODS/mod_authz_host.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule proxy_module $MODS/mod_proxy.so
LoadModule proxy_fcgi_module $MODS/mod_proxy_fcgi.so
TypesConfig $TYPES
# One child process of a few threads is plenty for these requests.
StartServers 1
ServerLimit 2
ThreadsPerChild 8
MinSpareThreads 4
MaxSpareThreads 16
MaxRequestWorkers 16
<Directory />
    Require all denied
</Directory>

# What etc/examples/apache.conf has, with the paths of this test.
<VirtualHost 127.0.0.1:$1>
    DocumentRoot "$TMP/www"
    <Directory "$TMP/www">
        Require all granted
    </Directory>
    ProxyFCGIBackendType GENERIC

    ProxyPass "/app/" "unix:$TMP/app.sock|fcgi://fcgipm-app/" enablereuse=off
    ProxyPass "/params/" "unix:$TMP/params.sock|fcgi://fcgipm-params/" enablereuse=off

    Alias "/cgi-bin/" "$TMP/cgi-bin/"
    <Directory "$TMP/cgi-bin">
        Require all granted
        SetHandler "proxy:unix:$TMP/cgi.sock|fcgi://fcgipm-cgi"
    </Directory>
    # The same scripts with Apache's default backend type (FPM): it sends
    # SCRIPT_FILENAME as "proxy:fcgi://fcgipm-cgi/path".
    Alias "/cgi-fpm/" "$TMP/cgi-bin/"
    <Location "/cgi-fpm/">
        ProxyFCGIBackendType FPM
    </Location>

    <FilesMatch "\\.php\$">
        SetHandler "proxy:unix:$TMP/php.sock|fcgi://fcgipm-php"
    </FilesMatch>

    <Location "/status">
        Require local
        ProxyPass "unix:$TMP/status.sock|fcgi://fcgipm-status"
    </Location>
    <Location "/ping">
        Require local
        ProxyPass "unix:$TMP/status.sock|fcgi://fcgipm-status"
    </Location>
</VirtualHost>
CONF
}

port_listened() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
ap_bind_failed() {
    grep -qE 'AH00072|Address already in use' "$AP_ERR" "$AP/startup.log" \
        2>/dev/null
}
ap_wrote_pid() { [ -s "$AP_PIDFILE" ]; }
ap_settled() { ap_wrote_pid || pid_gone "$1"; }
ap_answers() {
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' \
         "http://127.0.0.1:$PORT/")" != 000 ]
}
# apache_procs: the processes of Apache's group that have not exited.
apache_procs() {
    local p
    for p in $(pgrep -g "$AP_PID"); do
        pid_alive "$p" && echo "$p"
    done
}
apache_gone() { [ -z "$(apache_procs)" ]; }

# start_apache: on a random free port; another one when the bind fails.
# setsid: a process group of its own (the pid in its PidFile), so that
# every child it forks can be found and waited for.
start_apache() {
    local launched
    for _ in $(seq 20); do
        PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_listened "$PORT" && continue
        apache_conf "$PORT"
        apache2 -t -f "$AP_CONF" -d "$AP" >"$AP/configtest.log" 2>&1 \
            || fail "apache2 -t: $(cat "$AP/configtest.log")"
        : >"$AP_ERR"
        : >"$AP/startup.log"
        rm -f "$AP_PIDFILE"
        setsid apache2 -d "$AP" -f "$AP_CONF" -E "$AP/startup.log" \
            -DFOREGROUND </dev/null >>"$AP/stdout.log" 2>&1 &
        launched=$!
        STARTED_PIDS+=("$launched")
        wait_until 10 ap_settled "$launched" \
            || fail "apache2 did not start: $(tail -5 "$AP_ERR")"
        if ap_wrote_pid; then
            AP_PID=$(cat "$AP_PIDFILE")
            [ "$AP_PID" = "$launched" ] || STARTED_PIDS+=("$AP_PID")
            [ "$(ps -o pgid= -p "$AP_PID" | tr -d ' ')" = "$AP_PID" ] \
                || fail "apache2 $AP_PID is not in a process group of its own"
            wait_until 10 ap_answers \
                || fail "apache2 $AP_PID does not answer on port $PORT"
            return 0
        fi
        wait "$launched" 2>/dev/null
        ap_bind_failed && continue
        fail "apache2 exited at start: $(cat "$AP/startup.log" \
              "$AP/stdout.log"; tail -5 "$AP_ERR")"
    done
    fail "no free port found for apache2 in 20 tries"
}

# stop_apache: TERM to the pid in the PidFile (Apache stops its children
# and waits for them), then wait until nothing of its group runs.
stop_apache() {
    kill -TERM "$(cat "$AP_PIDFILE")" || return 1
    wait_gone "$AP_PID" 10 || return 1
    wait "$AP_PID" 2>/dev/null
    wait_until 10 apache_gone
}

# get PATH [CURL ARGS...]: the status in CODE, the response headers in
# $TMP/hdrs, the body in $TMP/body.
get() {
    local path=$1
    shift
    CODE=$(curl -sS -m 10 -D "$TMP/hdrs" -o "$TMP/body" -w '%{http_code}' \
           "$@" "http://127.0.0.1:$PORT$path") || CODE="curl failed ($?)"
}
has_header() { tr -d '\r' <"$TMP/hdrs" | grep -qix -- "$1"; }
body_has() { grep -qx -- "$1" "$TMP/body"; }
apache_err() { tail -3 "$AP_ERR"; }
expect() {
    [ "$CODE" = "$1" ] \
        || fail "$2: expected $1, got $CODE: $(head -c 300 "$TMP/body"; apache_err)"
}

start_apache
ok "apache2 started on 127.0.0.1:$PORT (pid $AP_PID, its own process group)"

# --- exec pool at /app/
get /app/
expect 200 "GET /app/"
body=$(cat "$TMP/body")
[[ $body =~ ^Hello\ from\ fcgipm\ worker\ ([0-9]+)$ ]] \
    || fail "GET /app/: unexpected body: $body"
is_app_worker "${BASH_REMATCH[1]}" \
    || fail "pid ${BASH_REMATCH[1]} is not an app worker:" "$(app_workers | xargs)"
ok "GET /app/ through Apache: 200 from exec worker ${BASH_REMATCH[1]}"

# hello answers its bare pid for SCRIPT_NAME /pid: under /app/ it sees
# /app/pid and greets instead; status=N in the query sets its status.
get /app/pid
expect 200 "GET /app/pid"
grep -q "^Hello from fcgipm worker " "$TMP/body" \
    || fail "the app saw SCRIPT_NAME /pid, not /app/pid: $(cat "$TMP/body")"
get '/app/pid?status=404'
expect 404 "GET /app/pid?status=404 (QUERY_STRING)"
get '/app/?status=503'
expect 503 "GET /app/?status=503 (QUERY_STRING)"
ok "the app sees SCRIPT_NAME /app/pid, not /pid, and its status from the" \
   "query (404, 503)"

get '/params/a/b?x=1&y=2'
expect 200 "GET /params/a/b?x=1&y=2"
body_has "GET /params/a/b?x=1&y=2" || fail "builtin:echo: $(head -1 "$TMP/body")"
body_has "SCRIPT_NAME=/params/a/b" \
    || fail "SCRIPT_NAME: $(grep '^SCRIPT_NAME=' "$TMP/body")"
body_has "QUERY_STRING=x=1&y=2" \
    || fail "QUERY_STRING: $(grep '^QUERY_STRING=' "$TMP/body")"
grep -q "^PATH_INFO=" "$TMP/body" \
    && fail "ProxyPass sent a PATH_INFO: $(grep '^PATH_INFO=' "$TMP/body")"
ok "a ProxyPass pool gets SCRIPT_NAME=/params/a/b, no PATH_INFO," \
   "QUERY_STRING=x=1&y=2"

# --- cgi pool at /cgi-bin/
get '/cgi-bin/env.sh/extra/path?a=1&b=2'
expect 200 "GET /cgi-bin/env.sh/extra/path"
for v in "SCRIPT_FILENAME=$TMP/cgi-bin/env.sh" "SCRIPT_NAME=/cgi-bin/env.sh" \
         "PATH_INFO=/extra/path" "QUERY_STRING=a=1&b=2"; do
    body_has "$v" || fail "env.sh has no $v: $(cat "$TMP/body")"
done
ok "a cgi script gets SCRIPT_FILENAME (the file), SCRIPT_NAME, PATH_INFO" \
   "and QUERY_STRING through Apache"

get '/cgi-fpm/env.sh/extra/path?a=1&b=2'
expect 200 "GET /cgi-fpm/env.sh/extra/path (ProxyFCGIBackendType FPM)"
for v in "SCRIPT_FILENAME=$TMP/cgi-bin/env.sh" "SCRIPT_NAME=/cgi-fpm/env.sh" \
         "QUERY_STRING=a=1&b=2"; do
    body_has "$v" || fail "FPM form: env.sh has no $v: $(cat "$TMP/body")"
done
ok "Apache's default SCRIPT_FILENAME (proxy:fcgi://host/path) runs the" \
   "script, which sees the plain path"

head -c 1048576 /dev/urandom >"$TMP/post"
get /cgi-bin/store.sh --data-binary "@$TMP/post" \
    -H "Content-Type: application/octet-stream"
expect 201 "POST 1 MB to store.sh"
tr -d '\r' <"$TMP/hdrs" | grep -qx "HTTP/1.1 201 Stored" \
    || fail "status line: $(head -1 "$TMP/hdrs")"
has_header "X-Stored-Bytes: 1048576" || fail "no X-Stored-Bytes: $(cat "$TMP/hdrs")"
cmp -s "$TMP/post" "$TMP/body" \
    || fail "store.sh sent back $(wc -c <"$TMP/body") bytes, not the 1048576 posted"
ok "a cgi script's 201 Stored and X-Stored-Bytes reach the client; a 1 MB" \
   "POST body comes back byte for byte"

# --- php-cgi at *.php
if [ -n "$HAVE_PHP" ]; then
    get '/index.php?q=hi'
    expect 200 "GET /index.php"
    read -r word pid file q <"$TMP/body"
    [ "$word $file $q" = "php $TMP/www/index.php hi" ] \
        || fail "index.php: $(cat "$TMP/body")"
    workers | grep -qx "$pid" || fail "index.php answered by $pid, not a worker"
    ok "php-cgi behind FilesMatch: 200, SCRIPT_FILENAME is the file"
else
    echo "# php-cgi is not installed: the FilesMatch block is not checked"
fi

# --- the status socket at /status and /ping
get /ping
expect 200 "GET /ping"
body_has pong || fail "/ping: $(cat "$TMP/body")"
get '/status?json'
expect 200 "GET /status?json"
grep -q '"pool":"app","process manager":"static"' "$TMP/body" \
    || fail "/status?json: $(head -c 300 "$TMP/body")"
get '/status?full'
expect 200 "GET /status?full"
diff <(workers) <(sed -n 's/^pid: *//p' "$TMP/body" | sort) >/dev/null \
    || fail "/status?full pids are not the workers: $(grep '^pid:' "$TMP/body")"
get '/status?openmetrics'
expect 200 "GET /status?openmetrics"
OM_TYPE='application/openmetrics-text; version=1.0.0; charset=utf-8'
has_header "Content-Type: $OM_TYPE" \
    || fail "/status?openmetrics: $(grep -i '^content-type' "$TMP/hdrs")"
[ "$(tail -1 "$TMP/body")" = "# EOF" ] \
    || fail "/status?openmetrics does not end with # EOF"
ok "fcgipm's status socket answers /status (?json, ?full, ?openmetrics)" \
   "and /ping through Apache"

# enablereuse=off: Apache closes each connection once its request is done
# (a kept one would hold a libfcgi worker).
no_kept() { [ "$(ss -xH state connected src "$TMP/app.sock" | wc -l)" = 0 ]; }
wait_until 5 no_kept \
    || fail "Apache keeps connections to app.sock:" \
            "$(ss -xH state connected src "$TMP/app.sock")"
ok "no connection to the app pool is kept open between requests"

# --- a worker killed with SIGKILL
victim=$(app_workers | head -1)
[ -n "$victim" ] || fail "no app worker to kill"
kill -KILL "$victim"
for i in 1 2 3 4 5; do
    get /app/
    expect 200 "request $i right after the SIGKILL of worker $victim"
    [[ $(cat "$TMP/body") != *" $victim" ]] \
        || fail "the killed worker $victim answered"
done
replaced() {
    ! workers | grep -qx "$victim" && has_workers "$NWORKERS" \
        && [ "$(app_workers | wc -l)" -eq 3 ]
}
wait_until 5 replaced \
    || fail "worker $victim not replaced; app workers:" "$(app_workers | xargs)"
log_has "pool app: worker $victim .*killed by SIGKILL" \
    || fail "no log line for the SIGKILL of $victim"
for i in $(seq 10); do
    get /app/
    expect 200 "request $i after the pool is whole again"
    body=$(cat "$TMP/body")
    p=${body##* }
    is_app_worker "$p" || fail "request $i answered by $p, not a current app worker"
done
ok "after SIGKILL of worker $victim every request gets 200 and the pool" \
   "is back to 3"

! grep -E '\[[a-z_]+:(error|crit|alert|emerg)\]' "$AP_ERR" \
    || fail "Apache logged errors"
ok "Apache logged no errors"

stop_apache || fail "Apache left processes: $(apache_procs | tr '\n' ' ')"
ok "Apache stopped by the pid in its PidFile; none of its processes is left"
kill -0 "$FCGIPM_PID" || fail "fcgipm died"
has_workers "$NWORKERS" || fail "fcgipm has $(worker_count) workers after Apache left"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exit status $STATUS"
ok "fcgipm still ran $NWORKERS workers and stops with status 0"
done_testing
