# Text from outside never reaches a terminal or a JSON reader raw: a
# request URI with a terminal's C1 controls (CSI, OSC, ST as UTF-8 and
# as bytes), an escape, and bytes that are not UTF-8 (0xff 0xfe, an
# overlong "/") shows as \xNN in ctl status, ctl --json (valid UTF-8
# JSON), ctl top, the status page's text, JSON and OpenMetrics, and the
# log (a worker's slow-request line, the master's request_timeout line).
# fcgipm ctl itself cleans whatever a control socket answers, and talks
# only to a process running as root or as its own user.
. "$(dirname "$0")/lib.sh"

need python3
need perl
need setpriv
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
chmod 711 "$TMP"
MOD=$TEST_APPS/testmod.so
CSOCK=$TMP/ctl.sock
SSOCK=$TMP/status.sock
CONF=$TMP/fcgipm.conf
CLIENT=${FCGIPM_BIN:-$FCGIPM}
ctl() { "$FCGIPM" ctl "$@"; }

# The hostile part of the URI, and how it must read once escaped.
BAD=$'\xc2\x9b2J\xc2\x9b31mPWNED\xc2\x9d0;title\xc2\x9c'
BAD+=$'\x9b\xff\xfe\xc0\xaf\x1b[0m'
ESC='\xc2\x9b2J\xc2\x9b31mPWNED\xc2\x9d0;title\xc2\x9c'
ESC+='\x9b\xff\xfe\xc0\xaf\x1b[0m'

# printable FILE: valid UTF-8, without control characters (C0 but
# newline and tab, DEL, C1).
printable() {
    python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
try:
    t = b.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("not UTF-8: %s" % e)
bad = [hex(ord(c)) for c in t
       if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f]
if bad:
    sys.exit("control characters: %s" % bad[:8])
' "$1"
}
# json_has FILE TEXT: FILE is JSON, and one of its strings holds TEXT.
json_has() {
    python3 -c '
import json, sys
def strings(v):
    if isinstance(v, dict):
        for x in v.values(): yield from strings(x)
    elif isinstance(v, list):
        for x in v: yield from strings(x)
    elif isinstance(v, str):
        yield v
with open(sys.argv[1], "rb") as f:
    j = json.loads(f.read().decode("utf-8"))
sys.exit(0 if any(sys.argv[2] in s for s in strings(j))
         else "no string with " + sys.argv[2])
' "$1" "$2"
}

cat >"$CONF" <<CONF
control_listen = "unix:$CSOCK"
status_listen = "unix:$SSOCK"
log = "$LOG"
pool "mod" {
    listen = "unix:$TMP/mod.sock"
    mode = module
    module = "$MOD"
    workers = 2
    slow_request_time = "300ms"
}
pool "tmo" {
    listen = "unix:$TMP/tmo.sock"
    mode = module
    module = "$MOD"
    workers = 1
    request_timeout = "1s"
}
CONF
start_fcgipm -c "$CONF"
wait_workers 3
wait_until 10 test -S "$CSOCK" || fail "no control socket"

# --- the log ------------------------------------------------------------------
req "unix:$TMP/mod.sock" "/quick?sleep=400&x=$BAD" >/dev/null 2>&1 \
    || fail "the slow request failed"
wait_log "pool mod: worker [0-9]+: slow request: GET /quick"
grep -F "slow request: GET /quick?sleep=400&x=$ESC took" "$LOG" >/dev/null \
    || fail "slow-request line: $(grep -a 'slow request' "$LOG")"
req "unix:$TMP/tmo.sock" "/killed?sleep=10000&x=$BAD" >/dev/null 2>&1
wait_log "pool tmo: worker [0-9]+ \(slot 0\) killed: request_timeout"
grep -F "serving GET /killed?sleep=10000&x=$ESC for" "$LOG" >/dev/null \
    || fail "request_timeout line: $(grep -a 'killed:' "$LOG")"
printable "$LOG" || fail "the log is not printable text"
ok "log: a worker's slow-request line and the master's request_timeout" \
   "line carry the URI escaped"

# --- ctl and the status page, while the request runs --------------------------
"$FCGI_REQUEST" -t 60 "unix:$TMP/mod.sock" "/slow?sleep=30000&x=$BAD" \
    >/dev/null 2>&1 &
SLOW=$!
STARTED_PIDS+=("$SLOW")
busy() { ctl -S "$CSOCK" status mod 2>/dev/null | grep -q "busy.*/slow"; }
wait_until 10 busy || fail "the slow request never showed"

ctl -S "$CSOCK" status >"$TMP/out" 2>"$TMP/err" || fail "ctl status: $?"
printable "$TMP/out" || fail "ctl status: $(od -c "$TMP/out" | head -20)"
grep -qF "/slow?sleep=30000&x=$ESC" "$TMP/out" \
    || fail "ctl status lacks the escaped URI: $(cat "$TMP/out")"
ctl -S "$CSOCK" --json status >"$TMP/json" || fail "ctl --json: $?"
python3 -c 'import json,sys; json.load(sys.stdin)' <"$TMP/json" \
    || fail "ctl --json is not JSON: $(od -c "$TMP/json" | head -20)"
printable "$TMP/json" || fail "ctl --json: raw bytes"
json_has "$TMP/json" "/slow?sleep=30000&x=$ESC" \
    || fail "ctl --json lacks the URI: $(cat "$TMP/json")"
ctl -S "$CSOCK" top -n 1 >"$TMP/top" || fail "ctl top: $?"
printable "$TMP/top" || fail "ctl top: $(od -c "$TMP/top" | head -20)"
grep -qF "/slow?sleep=30000&x=$ESC" "$TMP/top" \
    || fail "ctl top lacks the URI: $(cat "$TMP/top")"
ok "ctl status, --json (valid UTF-8 JSON) and top show the URI escaped"

req "unix:$SSOCK" "/status?full" >"$TMP/page" || fail "status page"
printable "$TMP/page" || fail "status ?full: $(od -c "$TMP/page" | head -20)"
grep -qF "request URI:          /slow?sleep=30000&x=$ESC" "$TMP/page" \
    || fail "status ?full lacks the URI: $(cat "$TMP/page")"
req "unix:$SSOCK" "/status?json&full" >"$TMP/page.json" || fail "?json"
python3 -c 'import json,sys; json.load(sys.stdin)' <"$TMP/page.json" \
    || fail "?json&full is not JSON"
printable "$TMP/page.json" || fail "?json&full: raw bytes"
json_has "$TMP/page.json" "/slow?sleep=30000&x=$ESC" \
    || fail "?json&full lacks the URI: $(cat "$TMP/page.json")"
req "unix:$SSOCK" "/status?openmetrics&full" >"$TMP/page.om" \
    || fail "?openmetrics"
printable "$TMP/page.om" || fail "?openmetrics&full: raw bytes"
ESC_OM=$(printf '%s' "$ESC" | sed 's/\\/\\\\/g')
grep -qF "uri=\"/slow?sleep=30000&x=$ESC_OM\"" "$TMP/page.om" \
    || fail "?openmetrics&full lacks the URI: $(grep -a uri= "$TMP/page.om")"
ok "the status page's text, JSON and OpenMetrics show the URI escaped"
# The worker would sleep on through the master's stop: end it now.
BUSY=$(awk '$1 == "mod" && $3 == "busy" { print $2 }' "$TMP/out")
[ -n "$BUSY" ] && [ "$BUSY" -gt 1 ] && kill -KILL "$BUSY"
kill "$SLOW" 2>/dev/null

# --- what any control socket answers ------------------------------------------
# fake PATH ANSWER: a control socket that answers ANSWER to every request
# and notes the request lines it got in PATH.req (exec: its pid is the
# one to stop).
fake() {
    exec perl -MIO::Socket::UNIX -e '
        my ($path, $answer) = @ARGV;
        my $l = IO::Socket::UNIX->new(Local => $path, Type => SOCK_STREAM,
                                      Listen => 5) or die "listen: $!\n";
        $SIG{PIPE} = "IGNORE";
        while (my $c = $l->accept) {
            my $req = <$c>;
            if (defined $req) {
                open(my $f, ">>", "$path.req") or die "$path.req: $!\n";
                print $f $req;
                close $f;
            }
            print $c $answer;
            close $c;
        }
    ' "$@"
}
ROWS=$'pool\tmod\tmodule\tstatic\t1\t1\t0\t1\t4\t7\t-\n'
ROWS+=$'worker\tmod\t4242\tbusy\t3\t100\t5\tG\x1b[2JET\t/'
ROWS+="$BAD"$'\xed\xa0\x80\n'
(fake "$TMP/fake.sock" "${ROWS}ok fake $BAD"$'\n') >>"$TMP/fake.log" 2>&1 &
STARTED_PIDS+=("$!")
(fake "$TMP/fake2.sock" "error 2 nope $BAD"$'\n') >>"$TMP/fake.log" 2>&1 &
STARTED_PIDS+=("$!")
wait_until 5 test -S "$TMP/fake.sock" -a -S "$TMP/fake2.sock" \
    || fail "the fake sockets did not come"
for args in "status" "--json status" "reopen" "--json reopen" "top -n 1"; do
    # shellcheck disable=SC2086
    ctl -S "$TMP/fake.sock" $args >"$TMP/out" 2>"$TMP/err" \
        || fail "ctl $args on the fake: $? $(cat "$TMP/err")"
    printable "$TMP/out" || fail "ctl $args: $(od -c "$TMP/out" | head -20)"
    case $args in
    --json*) json_has "$TMP/out" "$ESC" ;;
    *) grep -qF "$ESC" "$TMP/out" ;;
    esac || fail "ctl $args: $(cat "$TMP/out")"
done
ctl -S "$TMP/fake.sock" status >"$TMP/out" || fail "status on the fake"
grep -qF 'G\x1b[2JET' "$TMP/out" || fail "the method: $(cat "$TMP/out")"
ctl -S "$TMP/fake2.sock" reopen >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" = 2 ] || fail "an error answer: exit $rc"
printable "$TMP/err" || fail "the error's text: $(od -c "$TMP/err" | head)"
grep -qF "fcgipm ctl: nope $ESC" "$TMP/err" || fail "error: $(cat "$TMP/err")"
ok "ctl escapes what a control socket answers: rows, text, errors, JSON"

# --- who answers --------------------------------------------------------------
RUN=$TMP/run
mkdir "$RUN"
chown nobody:nogroup "$RUN"
as_nobody perl -e 1 || fail "cannot run as nobody"
# exec all the way: the pid to stop is perl's.
(exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
    bash -c "$(declare -f fake); fake \"\$1\" \"\$2\"" fake \
    "$RUN/ctl.sock" "${ROWS}ok impostor"$'\n') >>"$TMP/fake.log" 2>&1 &
STARTED_PIDS+=("$!")
wait_until 5 test -S "$RUN/ctl.sock" || fail "nobody's socket did not come"
ctl -S "$RUN/ctl.sock" status >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" = 1 ] || fail "a socket of nobody's: exit $rc, not 1"
WHY="not asked: the process there \(pid [0-9]+\) runs as uid 65534, neither"
grep -qE "fcgipm ctl: $RUN/ctl.sock: $WHY root nor uid 0" "$TMP/err" \
    || fail "a socket of nobody's: $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] || fail "the impostor's answer: $(cat "$TMP/out")"
[ ! -e "$RUN/ctl.sock.req" ] || fail "the impostor got a request"
as_nobody "$CLIENT" ctl -S "$RUN/ctl.sock" reopen >"$TMP/out" 2>"$TMP/err" \
    || fail "nobody's own socket, for nobody: $? $(cat "$TMP/err")"
grep -qx impostor "$TMP/out" || fail "nobody's ctl: $(cat "$TMP/out")"
ctl -S "$CSOCK" status >/dev/null || fail "root's master refused"
ok "ctl asks a socket only of root or its own user: another's is refused" \
   "(1) before the request is sent"

done_testing
