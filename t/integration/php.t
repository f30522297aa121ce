# php-cgi as an exec-mode pool behind a real nginx: pages answer 200, a
# killed php-cgi is replaced, PHP_FCGI_MAX_REQUESTS exits are respawned
# without counting as crashes, and no request fails under load across
# TTOU, HUP and USR2; QUIT lets slow requests in flight finish.
. "$(dirname "$0")/lib.sh"
need php-cgi
. "$(dirname "$0")/nginx.sh"

SOCK=$TMP/php.sock
CONF=$TMP/fcgipm.conf
PIDFILE=$TMP/fcgipm.pid
cat >"$TMP/www/index.php" <<'PHP'
<?php
usleep((int)($_GET["ms"] ?? 0) * 1000);
echo "php ", getmypid(), "\n";
PHP
cat >"$CONF" <<CONF
listen = "unix:$SOCK"
workers = 3
pid_file = "$PIDFILE"
command = "php-cgi"
# php-cgi exits after this many requests; fcgipm starts another.
env = {"PHP_FCGI_MAX_REQUESTS=40"}
CONF
start_fcgipm -c "$CONF"
wait_workers 3
NGINX_LOCATIONS="
        location ~ \.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$SOCK;
        }"
start_nginx

get /index.php
[ "$CODE" = 200 ] || fail "GET /index.php: $CODE: $(cat "$TMP/body"; tail -3 "$NGINX_ERR")"
pid=$(awk '{print $2}' "$TMP/body")
workers | grep -qx "$pid" || fail "answer from $pid, not a worker"
ok "nginx -> fcgipm -> php-cgi: 200 from worker $pid"

kill -KILL "$pid"
back() { ! workers | grep -qx "$pid" && has_workers 3; }
wait_until 5 back || fail "php-cgi $pid not replaced"
get /index.php
[ "$CODE" = 200 ] || fail "after SIGKILL: $CODE"
ok "a killed php-cgi is replaced and pages still answer"

LOAD_ARGS=(-p "SCRIPT_FILENAME=$TMP/www/index.php" -p REDIRECT_STATUS=200)
load_start "unix:$SOCK" "/index.php?ms=2" 4
wait_load 150
log_has "exited with status 0 after [0-9.]+s, respawning" \
    || fail "no php-cgi exit after PHP_FCGI_MAX_REQUESTS"
log_has "crash loop" && fail "PHP_FCGI_MAX_REQUESTS exits taken for a crash loop"
ok "PHP_FCGI_MAX_REQUESTS exits are respawned at once, not a crash loop"

kill -TTOU "$FCGIPM_PID"
wait_workers 2
wait_load 30
kill -HUP "$FCGIPM_PID"
wait_log "reload: done"
wait_load 30
upgrade_master "$PIDFILE"
wait_load 30
load_stop
[ "$LOAD_BAD" -eq 0 ] || fail "$LOAD_BAD of $((LOAD_GOOD + LOAD_BAD)) requests failed: $(load_errors)"
ok "under load across TTOU, HUP and USR2: $LOAD_GOOD requests, 0 failed"

for i in 1 2 3; do
    curl -sS -m 20 -o "$TMP/slow.$i" -w '%{http_code}' \
        "http://127.0.0.1:$PORT/index.php?ms=1500" >"$TMP/slow.$i.code" &
    eval "slow$i=\$!"
done
# All three must have reached the socket before QUIT removes its file.
wait_until 5 clients_at_least "$SOCK" 3 || fail "slow requests never reached the pool"
kill -QUIT "$FCGIPM_PID"
for i in 1 2 3; do
    eval "wait \$slow$i"
done
for i in 1 2 3; do
    [ "$(cat "$TMP/slow.$i.code")" = 200 ] \
        || fail "slow request $i: $(cat "$TMP/slow.$i.code") $(cat "$TMP/slow.$i")"
done
wait_until 10 pid_gone "$FCGIPM_PID" || fail "master did not exit after QUIT"
ok "QUIT: the slow requests in flight all return 200, then the master exits"
stop_nginx
done_testing
