# A master killed with SIGKILL while a cgi or module worker serves a
# request: idle workers exit at once; the busy one gives up the listening
# socket at once (a new fcgipm can take the address while the request
# runs), finishes its request and exits; none accepts again.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/cgi-bin
SOCK=$TMP/app.sock
mkdir -p "$ROOT"
# Runs until the test creates the release file (60 s at most: a failed
# test leaves no script behind).
cat >"$ROOT/hold.sh" <<SH
#!/bin/sh
: >"$TMP/started"
i=0
while [ ! -e "$TMP/release" ] && [ \$i -lt 3000 ]; do
    sleep 0.02
    i=\$((i + 1))
done
printf 'Content-Type: text/plain\n\nreleased\n'
SH
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhi\\n"\n' >"$ROOT/hi.sh"
chmod 755 "$ROOT/hold.sh" "$ROOT/hi.sh"
# cgi: one request for SCRIPT in ROOT.
cgi() { "$FCGI_REQUEST" -t 20 -p "SCRIPT_FILENAME=$ROOT/$1" "unix:$SOCK" /; }
hi_answers() { cgi hi.sh 2>/dev/null | grep -q hi; }
cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
mode = cgi
cgi_root = "$ROOT"
workers = 3
CONF

start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 3
wait_until 10 hi_answers || fail "no answer"
pids=$(workers)
cgi hold.sh >"$TMP/held.out" 2>&1 &
client=$!
STARTED_PIDS+=("$client")
wait_until 10 test -e "$TMP/started" || fail "the held request never started"
busy=$(for p in $pids; do
    pgrep -P "$p" >/dev/null && echo "$p"
done)
[ -n "$busy" ] || fail "no worker runs the script"

kill -KILL "$FCGIPM_PID"
idle_gone() {
    local p
    for p in $pids; do
        [ "$p" = "$busy" ] && continue
        pid_alive "$p" && return 1
    done
    return 0
}
wait_until 2 idle_gone || fail "idle workers still alive"
ok "idle workers exit at once when the master dies"

holds_socket() {
    local fd
    for fd in /proc/"$busy"/fd/*; do
        [ "$(readlink "$fd")" = "$(readlink /proc/"$busy"/fd/0)" ] || continue
        case $(readlink "$fd") in socket:*) return 0 ;; esac
    done
    return 1
}
wait_until 2 eval '! holds_socket' || fail "the busy worker keeps the listening socket"
pid_alive "$busy" || fail "the busy worker died with its request"
ok "the busy worker gave up the listening socket and goes on"

# A new master takes the address while the old request runs.
LOG2=$TMP/second.log
"$FCGIPM" -c "$TMP/fcgipm.conf" >>"$LOG2" 2>&1 &
second=$!
STARTED_PIDS+=("$second")
wait_until 10 hi_answers \
    || { cat "$LOG2"; fail "a new fcgipm cannot serve the address"; }
grep -q "removed stale socket file" "$LOG2" \
    || fail "the new master did not find the old socket stale"
ok "a new master binds the address while the old request runs"

: >"$TMP/release"
wait_status "$client"
[ "$STATUS" -eq 0 ] && grep -q released "$TMP/held.out" \
    || fail "the held request did not complete: $(cat "$TMP/held.out")"
ok "the held request completes"
wait_gone "$busy" 5 || fail "the busy worker did not exit after its request"
ok "the busy worker exits after its request"
kill -TERM "$second"
wait_gone "$second" 10 || fail "second master did not stop"
done_testing
