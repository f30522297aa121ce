# CGI mode (mode = cgi), fcgipm's fcgiwrap: a script under cgi_root runs
# per request, its status and headers pass through (Location without
# Status is a 302), broken header blocks are a 500 or 502; paths out of
# the root (.., prefix trick, symlink), non-executables, directories and
# fcgipm itself are refused and logged; HTTP_PROXY, params that are not
# CGI's (LD_PRELOAD...) and the worker's own environment never reach a
# script; max_body refuses without running it; request_timeout kills
# the script's process group with a 504; stderr lines are logged tagged
# with pool, worker and script; nothing is left running; 50 MB go
# through both ways in bounded memory. Through fcgi-request, then
# through a real nginx. (More in cgi_security.t.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"

FIXTURES=$(cd "$(dirname "$0")/../cgi" && pwd)
ROOT=$TMP/cgi-bin
SOCK=$TMP/cgi.sock
LIMITS=$TMP/limits.sock
CONF=$TMP/fcgipm.conf

mkdir -p "$ROOT/dir" "$TMP/cgi-bin2"
cp -p "$FIXTURES"/*.sh "$ROOT"/
cp -p "$FIXTURES/hello.sh" "$TMP/cgi-bin2/hello.sh"
cp -p "$FIXTURES/hello.sh" "$ROOT/noexec.sh"
chmod 644 "$ROOT/noexec.sh"
# Executable and outside the root: it must never run.
printf '#!/bin/sh\n: >"%s"\nprintf "Content-Type: text/plain\\n\\nsecret\\n"\n' \
    "$TMP/secret-ran" >"$TMP/secret.sh"
chmod 755 "$TMP/secret.sh"
ln -s ../secret.sh "$ROOT/link-out.sh"
ln -s hello.sh "$ROOT/link-in.sh"

# The default pool for most cases; "limits" has a small max_body and a
# short request_timeout. clear_env = false: the workers have the
# master's environment, which scripts must not get all the same.
cat >"$CONF" <<CONF
listen = "unix:$SOCK"
mode = cgi
cgi_root = "$ROOT"
workers = 2
clear_env = false
pool "limits" {
    listen = "unix:$LIMITS"
    mode = cgi
    cgi_root = "$ROOT"
    workers = 1
    max_body = "1k"
    request_timeout = "1s"
    kill_timeout = "1s"
}
CONF
"$FCGIPM" -t -c "$CONF" >"$TMP/check.out" 2>&1 \
    || skip "this fcgipm cannot run mode = cgi: $(tail -1 "$TMP/check.out")"

export FCGIPM_TEST_SECRET=from-the-master
start_fcgipm -c "$CONF"
unset FCGIPM_TEST_SECRET
wait_workers 3

# creq SOCKET SCRIPT_FILENAME [ARGS...]: one request; the response with
# its headers in $TMP/resp, the body alone in $TMP/body, the status in
# CODE (200 when there is no Status line), the time taken in MS.
creq() {
    local addr=$1 file=$2 rc start
    shift 2
    start=${EPOCHREALTIME/./}
    "$FCGI_REQUEST" -i -t 20 -p "SCRIPT_FILENAME=$file" "$@" \
        "unix:$addr" /cgi >"$TMP/resp" 2>"$TMP/resp.err"
    rc=$?
    MS=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
    tr -d '\r' <"$TMP/resp" | sed '1,/^$/d' >"$TMP/body"
    CODE=$(tr -d '\r' <"$TMP/resp" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
    [ -n "$CODE" ] || CODE=200
    if [ "$rc" != 0 ] && [ "$rc" != 22 ]; then
        CODE="fcgi-request exit $rc: $(cat "$TMP/resp.err")"
    fi
}
header() { tr -d '\r' <"$TMP/resp" | sed '/^$/q' | grep -qx -- "$1"; }
# expect CODE WHAT: fail unless the last creq gave CODE.
expect() {
    [ "$CODE" = "$1" ] || fail "$2: expected $1, got $CODE: $(head -c 300 "$TMP/resp")"
}
logged() { wait_log "$1" 5; }

hello_answers() {
    "$FCGI_REQUEST" -p "SCRIPT_FILENAME=$ROOT/hello.sh" "unix:$SOCK" / \
        >/dev/null 2>&1
}
wait_until 5 hello_answers || fail "the cgi pool does not answer"
creq "$SOCK" "$ROOT/hello.sh"
expect 200 "hello.sh"
grep -qx "Hello from CGI /cgi" "$TMP/body" || fail "hello.sh body: $(cat "$TMP/body")"
header "Content-Type: text/plain" || fail "hello.sh: no Content-Type header"
creq "$SOCK" "$ROOT/link-in.sh"
expect 200 "a symlink to a script inside the root"
ok "a script runs: 200, its headers and body (a symlink inside the root too)"

creq "$SOCK" "$ROOT/status.sh"
expect 404 "status.sh"
header "Status: 404 Not Here" || fail "Status line not passed as is: $(cat "$TMP/resp")"
grep -qx "no such thing" "$TMP/body" || fail "status.sh body: $(cat "$TMP/body")"
ok "Status: 404 from the script reaches the client with its reason"

creq "$SOCK" "$ROOT/redirect.sh"
expect 302 "redirect.sh"
header "Location: /cgi-bin/hello.sh" || fail "no Location: $(cat "$TMP/resp")"
ok "Location without Status: 302 Found with the Location"

creq "$SOCK" "$ROOT/notype.sh"
expect 500 "notype.sh"
grep -q "nobody should see" "$TMP/body" && fail "notype.sh's body was passed on"
logged "pool default: worker [0-9]+: $ROOT/notype.sh: no Content-Type"
ok "no Content-Type, Location or Status: 500 and a log line"

creq "$SOCK" "$ROOT/noheaders.sh"
expect 502 "noheaders.sh"
logged "$ROOT/noheaders.sh: pid [0-9]+ exited with status 3 before the end of its headers"
ok "a script that exits before the end of its headers: 502, exit status logged"

creq "$SOCK" "$ROOT/../secret.sh"
expect 403 "SCRIPT_FILENAME with .."
logged "refused $ROOT/\.\./secret\.sh: outside cgi_root: 403"
creq "$SOCK" "" -p "SCRIPT_NAME=/../secret.sh"
expect 403 "SCRIPT_NAME with .."
creq "$SOCK" "$ROOT/../nothere.sh"
expect 403 "a missing file outside the root (no 404 to tell what exists)"
creq "$SOCK" "$TMP/cgi-bin2/hello.sh"
expect 403 "cgi-bin2 next to cgi-bin"
logged "refused $TMP/cgi-bin2/hello\.sh: outside cgi_root"
[ -e "$TMP/secret-ran" ] && fail "secret.sh outside the root ran"
ok "outside the root (.. in SCRIPT_FILENAME or SCRIPT_NAME, a sibling" \
   "with the root as prefix): 403, logged, never run"

creq "$SOCK" "$ROOT/nothere.sh"
expect 404 "a missing script"
logged "refused $ROOT/nothere\.sh: no such file: 404"
# nginx decodes %0a into SCRIPT_FILENAME: no forged log line from it.
creq "$SOCK" "$ROOT/x
2000-01-01 00:00:00.000 error fcgipm[1]: forged.sh"
expect 404 "a missing script with a newline in its name"
logged 'refused .*/x\\x0a2000-01-01 00:00:00\.000 error fcgipm\[1\]: forged\.sh'
log_has "^2000-01-01" && fail "a request forged a log line"
creq "$SOCK" "" -p "SCRIPT_NAME=/hello.sh"
expect 200 "SCRIPT_NAME under cgi_root without SCRIPT_FILENAME"
ok "a missing script is a 404; without SCRIPT_FILENAME, cgi_root + SCRIPT_NAME runs"

creq "$SOCK" "$ROOT/link-out.sh"
expect 403 "a symlink out of the root"
logged "refused $ROOT/link-out\.sh: outside cgi_root"
[ -e "$TMP/secret-ran" ] && fail "secret.sh ran through a symlink"
ok "a symlink pointing out of the root: 403"

creq "$SOCK" "$ROOT/noexec.sh"
expect 403 "a non-executable script"
logged "refused $ROOT/noexec\.sh: not executable: 403"
creq "$SOCK" "$ROOT/dir"
expect 403 "a directory"
logged "refused $ROOT/dir: is a directory: 403"
ok "a non-executable file and a directory: 403, logged"

# A hard link keeps the inode: only possible on the same file system.
if ln "$FCGIPM_BIN" "$ROOT/fcgipm" 2>/dev/null; then
    creq "$SOCK" "$ROOT/fcgipm"
    expect 403 "fcgipm itself inside the root"
    logged "refused $ROOT/fcgipm: is fcgipm itself: 403"
    ok "fcgipm's own binary, hard-linked into the root: 403"
else
    echo "# fcgipm is on another file system than $TMP: self check not run"
fi

# A package upgrade replaces the binary under running workers: the new
# file at the same path is fcgipm too, though not the image they run.
mkdir -p "$TMP/bin"
cp "$FCGIPM_BIN" "$TMP/bin/fcgipm"
UPSOCK=$TMP/up.sock
printf 'listen = "unix:%s"\nmode = cgi\ncgi_root = "%s"\nworkers = 1\n' \
    "$UPSOCK" "$ROOT" >"$TMP/up.conf"
"$TMP/bin/fcgipm" -c "$TMP/up.conf" >>"$LOG" 2>&1 &
STARTED_PIDS+=("$!")
hello_ok() { creq "$UPSOCK" "$ROOT/hello.sh" && [ "$CODE" = 200 ]; }
wait_until 10 hello_ok || fail "the master run from a copy does not answer"
cp "$FCGIPM_BIN" "$TMP/bin/fcgipm.new"
mv -f "$TMP/bin/fcgipm.new" "$TMP/bin/fcgipm"
ln "$TMP/bin/fcgipm" "$ROOT/fcgipm-new"
creq "$UPSOCK" "$ROOT/fcgipm-new"
expect 403 "the fcgipm installed over the running one"
logged "refused $ROOT/fcgipm-new: is fcgipm itself: 403"
ok "the binary a package upgrade put at fcgipm's path: 403"

creq "$SOCK" "$ROOT/env.sh" -H "Proxy: http://evil.example:3128" \
    -H "X-Test: yes" -p "X_TEST=no" -p "BAD-NAME=1" -p "PATH=/evil/bin" \
    -p "LD_PRELOAD=$TMP/evil.so" -p "BASH_ENV=$TMP/evil.sh" \
    -p "SSL_CERT_FILE=$TMP/ca.pem" -p "PATH_INFO=/extra"
expect 200 "env.sh"
env_has() { grep -qx -- "$1" "$TMP/body"; }
env_has "HTTP_X_TEST=yes" || fail "a header is missing from the environment: $(cat "$TMP/body")"
env_has "PATH_INFO=/extra" || fail "PATH_INFO is missing from the environment"
for name in HTTP_PROXY X_TEST LD_PRELOAD BASH_ENV SSL_CERT_FILE; do
    grep -q "^$name=" "$TMP/body" && fail "$name reached the script"
done
grep -q "FCGIPM_TEST_SECRET" "$TMP/body" && fail "the worker's environment reached the script"
grep -q "^BAD-NAME=" "$TMP/body" && fail "an invalid name reached the script"
env_has "PATH=/usr/local/bin:/usr/bin:/bin" || fail "PATH: $(grep ^PATH= "$TMP/body")"
env_has "GATEWAY_INTERFACE=CGI/1.1" || fail "no GATEWAY_INTERFACE"
env_has "SCRIPT_FILENAME=$ROOT/env.sh" \
    || fail "SCRIPT_FILENAME: $(grep ^SCRIPT_FILENAME= "$TMP/body")"
# Every name is a param fcgi-request sent, or one the gateway adds.
allowed="GATEWAY_INTERFACE SERVER_SOFTWARE SERVER_PROTOCOL SERVER_NAME
SERVER_PORT REMOTE_ADDR REQUEST_METHOD REQUEST_URI SCRIPT_NAME
SCRIPT_FILENAME QUERY_STRING HTTP_X_TEST PATH_INFO PATH FCGI_ROLE"
extra=$(cut -d= -f1 "$TMP/body" | grep -vxF -f <(echo "$allowed" | tr ' ' '\n'))
[ -z "$extra" ] || fail "variables that are not request params: $extra"
ok "environment: CGI params and headers only (no HTTP_PROXY, LD_PRELOAD," \
   "BASH_ENV, other names, invalid names, nothing from the worker), fixed PATH"

rm -f "$TMP/body-ran"
head -c 2048 /dev/urandom >"$TMP/2k"
creq "$LIMITS" "$ROOT/body.sh" -d "@$TMP/2k"
expect 413 "a 2 KiB body over max_body = 1k"
logged "pool limits: worker [0-9]+: $ROOT/body.sh: body of 2048 bytes over \
max_body \(1024\): 413"
[ -e "$TMP/body-ran" ] && fail "body.sh ran for a body over max_body"
head -c 1000 /dev/urandom >"$TMP/1000"
creq "$LIMITS" "$ROOT/body.sh" -d "@$TMP/1000"
expect 200 "a 1000-byte body under max_body"
[ "$(cat "$TMP/body")" = "$(md5sum <"$TMP/1000" | cut -d' ' -f1)" ] \
    || fail "body.sh read something else than the 1000 bytes sent"
[ -e "$TMP/body-ran" ] || fail "body.sh left no marker"
ok "max_body = 1k: 2 KiB refused with 413 before the script runs; 1000 bytes go through"

rm -f "$TMP/sleep.pid" "$TMP/sleep.child"
creq "$LIMITS" "$ROOT/sleep.sh"
expect 504 "a script sleeping past request_timeout = 1s"
[ "$MS" -lt 5000 ] || fail "the 504 took ${MS}ms"
logged "pool limits: worker [0-9]+: $ROOT/sleep.sh: pid [0-9]+ timed out after 1\.[0-9]s"
for f in sleep.pid sleep.child; do
    pid=$(cat "$TMP/$f") || fail "sleep.sh did not write $f"
    wait_gone "$pid" 5 || fail "$f $pid still runs after the timeout"
done
ok "request_timeout = 1s: 504 after ${MS}ms, the script and its child killed"

creq "$SOCK" "$ROOT/stderr.sh"
expect 200 "stderr.sh"
logged "warn fcgipm\[[0-9]+\]: pool default: worker [0-9]+: \
$ROOT/stderr\.sh: first stderr line from [0-9]+$"
logged "pool default: worker [0-9]+: $ROOT/stderr\.sh: second stderr line$"
ok "a script's stderr lines are logged, tagged with pool, worker and script"

cp "$TEST_APPS/cgi_c" "$ROOT/cgi_c"
head -c 100000 /dev/urandom >"$TMP/cbody"
creq "$SOCK" "$ROOT/cgi_c" -X POST -d "@$TMP/cbody" -p "QUERY_STRING=a=1"
expect 200 "the C CGI program"
grep -qx "C CGI POST query=a=1 body=100000 fds=0" "$TMP/body" \
    || fail "C CGI answered: $(cat "$TMP/body")"
ok "a compiled (C) CGI program runs, reads its 100000-byte body, and inherits no descriptor"

# A worker killed mid-request: its script, reparented to the master (a
# child subreaper), is killed with the group it leads.
rm -f "$TMP/sleep.pid" "$TMP/sleep.child"
"$FCGI_REQUEST" -t 20 -p "SCRIPT_FILENAME=$ROOT/sleep.sh" "unix:$SOCK" /cgi \
    >/dev/null 2>&1 &
orphan_client=$!
wait_until 5 test -s "$TMP/sleep.child" || fail "sleep.sh did not start"
script=$(cat "$TMP/sleep.pid")
child=$(cat "$TMP/sleep.child")
worker=$(ps -o ppid= -p "$script" | tr -d ' ')
kill -KILL "$worker"
wait_gone "$script" 5 || fail "script $script outlived its worker $worker"
wait_gone "$child" 5 || fail "the script's child $child outlived worker $worker"
logged "pool default: killed [0-9]+ process(es)? left by worker $worker$"
wait_status "$orphan_client"
wait_workers 3
ok "a worker killed mid-request: the master kills its script's process group"

rm -f "$TMP/orphan.child"
creq "$SOCK" "$ROOT/orphan.sh"
expect 200 "orphan.sh"
grep -qx bye "$TMP/body" || fail "orphan.sh body: $(cat "$TMP/body")"
[ "$MS" -lt 5000 ] || fail "a child holding stdout kept the request for ${MS}ms"
wait_gone "$(cat "$TMP/orphan.child")" 5 || fail "orphan.sh's child still runs"
ok "a child left holding stdout: the request ends ${MS}ms later, the child is killed"

head -c 52428800 /dev/urandom >"$TMP/50m"
sum=$("$FCGI_REQUEST" -t 60 -p "SCRIPT_FILENAME=$ROOT/body.sh" -d "@$TMP/50m" \
      "unix:$SOCK" /cgi) || fail "50 MB POST failed"
[ "$sum" = "$(md5sum <"$TMP/50m" | cut -d' ' -f1)" ] || fail "50 MB POST: md5 $sum"
ok "a 50 MB request body streams into the script intact"

"$FCGI_REQUEST" -t 60 -p "SCRIPT_FILENAME=$ROOT/big.sh" "unix:$SOCK" /cgi \
    >"$TMP/big.out" || fail "50 MB response failed"
size=$(wc -c <"$TMP/big.out")
[ "$size" = 52428800 ] || fail "50 MB response: got $size bytes"
[ "$(md5sum <"$TMP/big.out")" = "$(head -c 52428800 /dev/zero | md5sum)" ] \
    || fail "50 MB response: bytes differ"
rm -f "$TMP/big.out" "$TMP/50m"
# valgrind's own memory adds about 45 MB to a worker: still well under
# what holding 50 MB (and valgrind's shadow of it) would take.
max_kb=30720
[ -n "${TEST_UNDER_VALGRIND:-}" ] && max_kb=81920
for w in $(workers); do
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$w/status")
    [ "$hwm" -lt "$max_kb" ] || fail "worker $w peaked at ${hwm} kB resident"
done
ok "a 50 MB response streams out intact; workers peaked under 30 MB resident"

for w in $(workers); do
    kids=$(pgrep -P "$w" | tr '\n' ' ')
    [ -z "$kids" ] || fail "worker $w still has children: $kids"
done
ok "no script process is left under any worker"

NGINX_LOCATIONS="
        location /cgi-bin/ {
            root $TMP;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$SOCK;
        }"
start_nginx
ok "nginx started on 127.0.0.1:$PORT"

get /cgi-bin/hello.sh
[ "$CODE" = 200 ] || fail "GET hello.sh through nginx: $CODE $(tail -3 "$NGINX_ERR")"
grep -qx "Hello from CGI /cgi-bin/hello.sh" "$TMP/body" \
    || fail "hello.sh through nginx: $(cat "$TMP/body")"
get /cgi-bin/status.sh
[ "$CODE" = 404 ] || fail "status.sh through nginx: $CODE"
get /cgi-bin/nothere.sh
[ "$CODE" = 404 ] || fail "a missing script through nginx: $CODE"
get /cgi-bin/noexec.sh
[ "$CODE" = 403 ] || fail "noexec.sh through nginx: $CODE"
get /cgi-bin/redirect.sh -D "$TMP/hdrs"
[ "$CODE" = 302 ] || fail "redirect.sh through nginx: $CODE"
grep -qi "^Location: .*/cgi-bin/hello.sh" "$TMP/hdrs" \
    || fail "no Location through nginx: $(cat "$TMP/hdrs")"
ok "through nginx: 200, the script's 404, our 404 and 403, a 302 with Location"

get /cgi-bin/env.sh -H "Proxy: http://evil.example:3128"
[ "$CODE" = 200 ] || fail "env.sh through nginx: $CODE"
grep -q "^HTTP_PROXY=" "$TMP/body" && fail "HTTP_PROXY reached the script through nginx"
grep -qx "SCRIPT_NAME=/cgi-bin/env.sh" "$TMP/body" \
    || fail "env.sh through nginx: $(cat "$TMP/body")"
ok "through nginx: a client's Proxy: header never becomes HTTP_PROXY"

# body.sh prints its header before it reads its input, and nginx stops
# sending a body once it has the response header: the gateway must hold
# the header back until the body is in the script's pipe.
head -c 1048576 /dev/urandom >"$TMP/mid"
get /cgi-bin/body.sh --data-binary "@$TMP/mid" -H "Content-Type: application/octet-stream"
[ "$CODE" = 200 ] || fail "POST 1 MB through nginx: $CODE $(tail -3 "$NGINX_ERR")"
[ "$(cat "$TMP/body")" = "$(md5sum <"$TMP/mid" | cut -d' ' -f1)" ] \
    || fail "POST through nginx: the script read something else"
ok "through nginx: a 1 MB body reaches a script that prints its header first"

done_testing
