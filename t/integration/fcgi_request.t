# fcgi-request's load mode against a module pool: -c CONC -n COUNT, and
# -c CONC -d SECONDS (DESIGN's spelling, same as -D), a connection per
# request or kept (-k); the summary's last line is machine-readable;
# failures are counted, not fatal; a bad combination is a usage error.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/mod.sock
cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
mode = module
module = "builtin:hello"
workers = 2
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2
wait_until 10 answers "unix:$SOCK" || fail "pool does not answer"

SUMMARY='^requests=[0-9]+ errors=[0-9]+ seconds=[0-9.]+ rps=[0-9.]+ p50_ms=[0-9.]+ p99_ms=[0-9.]+ max_ms=[0-9.]+$'
# load ARGS...: run a load, its last line in LAST, its exit status in RC.
load() {
    RC=0
    "$FCGI_REQUEST" "$@" >"$TMP/load.out" 2>"$TMP/load.err" || RC=$?
    LAST=$(tail -n 1 "$TMP/load.out")
}
field() { echo "$LAST" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

load -c 4 -n 200 "unix:$SOCK" /hello
[ "$RC" = 0 ] || fail "-c 4 -n 200 exited $RC: $(cat "$TMP/load.err")"
echo "$LAST" | grep -Eq "$SUMMARY" || fail "summary line: $LAST"
[ "$(field requests)" = 200 ] && [ "$(field errors)" = 0 ] \
    || fail "-n 200: $LAST"
grep -q 'successful requests/s' "$TMP/load.out" \
    && grep -q '^latency of successful requests (ms): p50 ' "$TMP/load.out" \
    || fail "no human-readable lines: $(cat "$TMP/load.out")"
ok "-c 4 -n 200: 200 requests, 0 errors, the summary line last"

for d in "-d 1" "-D 1"; do
    # shellcheck disable=SC2086
    load -c 2 $d "unix:$SOCK" /hello
    [ "$RC" = 0 ] || fail "$d exited $RC: $(cat "$TMP/load.err")"
    [ "$(field requests)" -gt 0 ] && [ "$(field errors)" = 0 ] \
        || fail "$d: $LAST"
    awk -v s="$(field seconds)" 'BEGIN { exit !(s >= 1.0) }' \
        || fail "$d ran $(field seconds) s"
done
ok "-c 2 -d 1 and -c 2 -D 1: a second of requests, 0 errors"

load -k -c 2 -n 100 "unix:$SOCK" /hello
[ "$RC" = 0 ] && [ "$(field requests)" = 100 ] && [ "$(field errors)" = 0 ] \
    || fail "-k: exit $RC, $LAST"
ok "-k -c 2 -n 100 on kept connections: 0 errors"

load -c 2 -n 10 "unix:$TMP/nothing.sock" /
[ "$RC" = 1 ] && [ "$(field errors)" = 10 ] \
    || fail "no server: exit $RC, $LAST"
grep -q 'connect' "$TMP/load.err" || fail "no connect error said"
ok "no server: 10 errors counted, said once, exit 1"

load -c 2 "unix:$SOCK" /
[ "$RC" = 64 ] && grep -q -- '-c: say how many' "$TMP/load.err" \
    || fail "-c alone: exit $RC, $(cat "$TMP/load.err")"
load -k "unix:$SOCK" /
[ "$RC" = 64 ] || fail "-k alone: exit $RC"
load -c 2 -n 5 -D 1 "unix:$SOCK" /
[ "$RC" = 64 ] || fail "-n with -D: exit $RC"
ok "-c without -n/-D/-d, -k alone, -n with -D: usage errors (64)"
done_testing
