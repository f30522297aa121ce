# Several pools in one master: each with its own socket, program and
# user, behind one nginx; one pool's crash loop leaves the others serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"

[ "$(id -u)" = 0 ] || skip "pools with different users need root"
id nobody >/dev/null 2>&1 && id daemon >/dev/null 2>&1 \
    || skip "users nobody and daemon are needed"
# Workers running as nobody must be able to execute the test app.
chmod o+x "$TMP"

cat >"$TMP/fcgipm.conf" <<CONF
pool "www" {
    listen = "unix:$TMP/www.sock"
    workers = 2
    user = "nobody"
    command = {"$HELLO"}
}
pool "admin" {
    listen = "unix:$TMP/admin.sock"
    workers = 1
    user = "daemon"
    mode = module
    module = "builtin:echo"
}
pool "broken" {
    listen = "unix:$TMP/broken.sock"
    workers = 2
    restart_backoff = "50ms"
    restart_backoff_max = "200ms"
    command = {"$HELLO", "--crash"}
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_log "pool broken: crash loop"
NGINX_LOCATIONS="
        location /admin/ {
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:$TMP/admin.sock;
        }
        location / {
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:$TMP/www.sock;
        }"
start_nginx

get /pid
[ "$CODE" = 200 ] || fail "www through nginx: $CODE: $(tail -3 "$NGINX_ERR")"
www_pid=$(cat "$TMP/body")
[ "$(ps -o user= -p "$www_pid")" = nobody ] \
    || fail "www worker $www_pid runs as $(ps -o user= -p "$www_pid")"
ok "pool www answers through nginx from a worker running as nobody"

get /admin/x?y=1
[ "$CODE" = 200 ] || fail "admin through nginx: $CODE"
head -1 "$TMP/body" | grep -q '^GET /admin/x?y=1$' || fail "admin echo: $(head -3 "$TMP/body")"
admin_pid=$(pgrep -P "$FCGIPM_PID" -u daemon | head -1)
[ -n "$admin_pid" ] || fail "no admin worker running as daemon"
ok "pool admin (module builtin:echo) answers from a worker running as daemon"

for i in $(seq 20); do
    get /pid
    [ "$CODE" = 200 ] || fail "www request $i during the crash loop: $CODE"
done
get /admin/
[ "$CODE" = 200 ] || fail "admin during the crash loop: $CODE"
ok "20 requests to www and one to admin succeed while pool broken crash-loops"

grep -E "pool (www|admin): worker [0-9]+ \(slot [0-9]+\) (exited|killed)" "$LOG" \
    && fail "the crash loop disturbed another pool"
ok "no worker of www or admin died"
stop_nginx
done_testing
