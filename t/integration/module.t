# Module mode: the example module, built with its own Makefile, runs its
# fcgipm_init once in each worker with module_args (or once in the master
# with preload, never in workers, not even respawned ones), answers, and
# runs fcgipm_exit when a worker stops; a reload keeps a preloaded module
# and refuses new module_args for it; two preloaded pools in one master
# each answer with their own built-in; builtin:echo returns method, URI,
# sorted params and a 1 MB random body byte for byte; access log lines.
. "$(dirname "$0")/lib.sh"

need make
need cc
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MOD=$TMP/hello_module.so
SOCK=$TMP/mod.sock

make -s -C "$ROOT/etc/examples/module" O="$TMP" >"$TMP/make.out" 2>&1 \
    || { cat "$TMP/make.out"; fail "cannot build the example module"; }
[ -f "$MOD" ] || fail "make did not write $MOD"
ok "example module builds with make -C etc/examples/module O=DIR"

# mod_conf PRELOAD: a two-worker pool of the example module.
mod_conf() {
    cat >"$TMP/mod.conf" <<CONF
listen = "unix:$SOCK"
mode = "module"
module = "$MOD"
module_args = {"--greeting", "Howdy"}
preload = $1
workers = 2
CONF
}

INIT_ARGV="argv: $MOD --greeting Howdy\$"
inits() { log_count "hello_module: init in pid"; }
has_inits() { [ "$(inits)" -eq "$1" ]; }

# --- one fcgipm_init per worker, after fork
LOG=$TMP/workers.log
mod_conf false
start_fcgipm -c "$TMP/mod.conf"
wait_workers 2
wait_until 10 answers "unix:$SOCK" /greet || fail "module pool does not answer"
body=$(req "unix:$SOCK" "/greet?x=1") || fail "request failed"
[[ $body =~ ^"Howdy from hello_module in pid "([0-9]+)": /greet?x=1"$ ]] \
    || fail "unexpected body: $body"
workers | grep -qx "${BASH_REMATCH[1]}" \
    || fail "answered by ${BASH_REMATCH[1]}, not a worker"
ok "the module answers, with the greeting from module_args"

pids=$(workers)
wait_until 10 has_inits 2 || fail "fcgipm_init ran $(inits) times, not 2"
for w in $pids; do
    log_has "pool default: worker $w: hello_module: init in pid $w, \
$INIT_ARGV" || fail "no fcgipm_init line from worker $w"
done
log_has "init in pid $FCGIPM_PID," && fail "fcgipm_init ran in the master"
ok "fcgipm_init ran once in each worker, argv = module, module_args"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "graceful stop exit status $STATUS"
for w in $pids; do
    log_has "worker $w: hello_module: exit in pid $w$" \
        || fail "no fcgipm_exit line from worker $w"
done
ok "QUIT: fcgipm_exit ran in each worker"

# --- preload: fcgipm_init once, in the master, before fork
LOG=$TMP/preload.log
mod_conf true
start_fcgipm -c "$TMP/mod.conf"
wait_workers 2
wait_until 10 answers "unix:$SOCK" /greet \
    || fail "preloaded pool does not answer"
body=$(req "unix:$SOCK" /pre) || fail "request failed"
[[ $body =~ ^"Howdy from hello_module in pid "([0-9]+)": /pre"$ ]] \
    || fail "unexpected body: $body"
workers | grep -qx "${BASH_REMATCH[1]}" \
    || fail "answered by ${BASH_REMATCH[1]}, not a worker"
log_has "hello_module: init in pid $FCGIPM_PID, $INIT_ARGV" \
    || fail "no fcgipm_init line from the master $FCGIPM_PID"
[ "$(inits)" -eq 1 ] || fail "fcgipm_init ran $(inits) times, not once"
ok "preload: fcgipm_init ran once, in the master, and workers answer"

victim=$(workers | head -1)
kill -KILL "$victim"
replaced() { ! workers | grep -qx "$victim" && has_workers 2; }
wait_until 10 replaced || fail "worker $victim not replaced"
for _ in 1 2 3 4; do
    answers "unix:$SOCK" /again || fail "request after respawn failed"
done
[ "$(inits)" -eq 1 ] || fail "a respawned worker ran fcgipm_init again"
ok "preload: a respawned worker serves without fcgipm_init"

kill -HUP "$FCGIPM_PID"
wait_log "reload: done"
answers "unix:$SOCK" /reloaded || fail "no answer after the reload"
[ "$(inits)" -eq 1 ] || fail "a reload ran fcgipm_init again"
ok "preload: a reload keeps the loaded module, no second fcgipm_init"

# A loaded object has one instance per process: it cannot be initialised
# again with other arguments, so the reload fails and the old one serves.
sed -i 's/"Howdy"/"Hi"/' "$TMP/mod.conf"
kill -HUP "$FCGIPM_PID"
wait_log "module $MOD is loaded already with other module_args"
wait_log "reload: keeping the running configuration"
body=$(req "unix:$SOCK" /still) || fail "request after the failed reload"
[[ $body == "Howdy from hello_module in pid "* ]] \
    || fail "unexpected body after the failed reload: $body"
ok "preload: new module_args fail the reload; the pool serves on"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fast stop exit status $STATUS"

# --- built-ins: two preloaded pools, each answers with its own module
LOG=$TMP/builtin.log
ECHO=$TMP/echo.sock
HI=$TMP/hello.sock
ACCESS=$TMP/access.log
cat >"$TMP/builtin.conf" <<CONF
pool "echo" {
    listen = "unix:$ECHO"
    mode = "module"
    module = "builtin:echo"
    preload = true
    workers = 2
    access_log = "$ACCESS"
    max_body = 1100k
}
pool "hello" {
    listen = "unix:$HI"
    mode = "module"
    module = "builtin:hello"
    preload = true
    workers = 1
}
CONF
start_fcgipm -c "$TMP/builtin.conf"
wait_workers 3
wait_until 10 answers "unix:$HI" || fail "builtin:hello does not answer"
wait_until 10 answers "unix:$ECHO" || fail "builtin:echo does not answer"
body=$(req "unix:$HI" /anything) || fail "builtin:hello request failed"
[ "$body" = "Hello from fcgipm" ] || fail "builtin:hello said: $body"
ok "builtin:hello answers in its pool"

head -c 1048576 /dev/urandom >"$TMP/body.bin"
req "unix:$ECHO" "/echo/path?a=1&b=%20" -X PUT -d @"$TMP/body.bin" \
    -p 'X_TEST=a b' >"$TMP/echo.out" || fail "builtin:echo request failed"
# The header: everything up to the first empty line.
hlines=$(grep -a -n -m1 '^$' "$TMP/echo.out" | cut -d: -f1)
[ -n "$hlines" ] || fail "no empty line in the echo"
head -n "$hlines" "$TMP/echo.out" >"$TMP/echo.head"
[ "$(head -n 1 "$TMP/echo.head")" = "PUT /echo/path?a=1&b=%20" ] \
    || fail "echo first line: $(head -n 1 "$TMP/echo.head")"
ok "builtin:echo: first line is METHOD URI"

sed -n "2,$((hlines - 1))p" "$TMP/echo.head" >"$TMP/echo.params"
for p in "REQUEST_METHOD=PUT" "REQUEST_URI=/echo/path?a=1&b=%20" \
         "QUERY_STRING=a=1&b=%20" "CONTENT_LENGTH=1048576" "X_TEST=a b"; do
    grep -qxF -- "$p" "$TMP/echo.params" || fail "echo lacks param $p"
done
cut -d= -f1 "$TMP/echo.params" | LC_ALL=C sort -c \
    || fail "echo params are not sorted by name"
ok "builtin:echo: every param as NAME=VALUE, sorted by name"

tail -c +"$(( $(wc -c <"$TMP/echo.head") + 1 ))" "$TMP/echo.out" \
    | cmp -s - "$TMP/body.bin" || fail "echoed body differs from the 1 MB sent"
ok "builtin:echo: a 1 MB random body comes back byte for byte"

# max_body holds in module mode too: the handler never sees the request.
head -c 1200000 /dev/zero >"$TMP/over.bin"
req "unix:$ECHO" /too/big -d @"$TMP/over.bin" -i >"$TMP/over.out" 2>&1
grep -q '^Status: 413' "$TMP/over.out" \
    || fail "a body over max_body: $(head -3 "$TMP/over.out")"
grep -q '/too/big' "$TMP/over.out" && fail "the handler saw the request"
wait_log 'body of 1200000 bytes over max_body \(1126400\): 413' \
    || fail "no 413 line in the log"
answers "unix:$ECHO" || fail "the pool no longer answers after a 413"
ok "builtin:echo: a body over max_body gets 413 before the handler runs"

req "unix:$ECHO" "/a%0Ab?q=\"x\"" >/dev/null || fail "echo request failed"
access_lines() { [ -f "$ACCESS" ] && [ "$(wc -l <"$ACCESS")" -ge "$1" ]; }
wait_until 10 access_lines 2 || fail "no access log lines in $ACCESS"
# %R - %u %t "%m %r%Q%q" %s %d
time_re='\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}(:[0-9]{2}){3} [+-][0-9]{4}\]'
put_re="\"PUT /echo/path\\?a=1&b=%20\" 200 [0-9]+\\.[0-9]{3}"
grep -qE "^127\\.0\\.0\\.1 - - $time_re $put_re\$" "$ACCESS" \
    || { cat "$ACCESS"; fail "no access line for the PUT"; }
grep -qF '"GET /a%0Ab?q=\x22x\x22" 200 ' "$ACCESS" \
    || { cat "$ACCESS"; fail "quotes in the query not escaped"; }
ok "access log: one line per request in the default format"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fast stop exit status $STATUS"
ok "TERM stops the built-in pools with status 0"
done_testing
