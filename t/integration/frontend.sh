# Helpers for the tests of a web server in front of one fcgipm master
# (caddy.t, h2o.t): three pools, as etc/examples says (an exec hello at
# app.sock, builtin:echo at params.sock, php-cgi at php.sock), and the
# checks each front end must pass. Source after lib.sh; the test sets
# PORT (where the front end listens) and FRONT_LOG (its error log).

# frontend_pools: write index.php and the config, start fcgipm, wait.
frontend_pools() {
    mkdir -p "$TMP/www"
    cat >"$TMP/www/index.php" <<'PHP'
<?php
echo "php ", getmypid(), " ", $_SERVER["SCRIPT_FILENAME"], " ",
    $_GET["q"] ?? "", "\n";
PHP
    cat >"$TMP/fcgipm.conf" <<CONF
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
    start_fcgipm -c "$TMP/fcgipm.conf"
    wait_workers 4
    wait_until 5 answers "unix:$TMP/app.sock" \
        || fail "the app pool does not answer"
}

# get PATH: through the front end; the status in CODE, the body in
# $TMP/body.
get() {
    CODE=$(curl -sS -m 10 -o "$TMP/body" -w '%{http_code}' \
           "http://127.0.0.1:$PORT$1") || CODE="curl failed ($?)"
}
# expect STATUS WHAT: the last get answered STATUS.
expect() {
    [ "$CODE" = "$1" ] || fail "$2: expected $1, got $CODE:" \
        "$(head -c 300 "$TMP/body"; tail -2 "$FRONT_LOG")"
}
body_has() { grep -qx -- "$1" "$TMP/body"; }

# frontend_app_checks: /app/ is answered by an exec worker of ours, and
# the query reaches it (?status=404).
frontend_app_checks() {
    get /app/
    expect 200 "GET /app/"
    [[ $(cat "$TMP/body") =~ ^Hello\ from\ fcgipm\ worker\ ([0-9]+)$ ]] \
        || fail "GET /app/: $(cat "$TMP/body")"
    workers | grep -qx "${BASH_REMATCH[1]}" \
        || fail "answered by ${BASH_REMATCH[1]}, not a worker"
    get '/app/x?status=404'
    expect 404 "GET /app/x?status=404 (QUERY_STRING)"
}

# frontend_params_checks PATH_INFO: what builtin:echo saw of
# /params/a/b?x=1.
frontend_params_checks() {
    get '/params/a/b?x=1'
    expect 200 "GET /params/a/b?x=1"
    for v in "SCRIPT_NAME=" "PATH_INFO=$1" "QUERY_STRING=x=1" \
             "REQUEST_URI=/params/a/b?x=1"; do
        body_has "$v" || fail "builtin:echo has no $v: $(cat "$TMP/body")"
    done
}

# frontend_php_checks: php-cgi answers index.php with SCRIPT_FILENAME the
# file, from a worker of ours.
frontend_php_checks() {
    local word pid file q
    get '/index.php?q=hi'
    expect 200 "GET /index.php"
    read -r word pid file q <"$TMP/body"
    [ "$word $file $q" = "php $TMP/www/index.php hi" ] \
        || fail "index.php: $(cat "$TMP/body")"
    workers | grep -qx "$pid" \
        || fail "index.php answered by $pid, not a worker"
}

# frontend_no_kept NAME: the front end holds no connection to the exec
# pool between requests (each would hold an exec worker).
frontend_no_kept() {
    no_kept() {
        [ "$(ss -xH state connected src "$TMP/app.sock" | wc -l)" = 0 ]
    }
    wait_until 5 no_kept || fail "$1 keeps connections to app.sock:" \
        "$(ss -xH state connected src "$TMP/app.sock")"
}
