# A static pool in exec mode: three workers answer, a worker killed with
# SIGKILL is replaced by a new pid, workers hold no stray descriptors and
# see only the configured environment.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock
cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
workers = 3
env = {"GREETING=hi", "PATH=/usr/bin:/bin"}
command = {"$HELLO"}
CONF
# A descriptor the master inherits without CLOEXEC must not reach workers.
exec 9>"$TMP/leak"
start_fcgipm -c "$TMP/fcgipm.conf"
exec 9>&-
wait_workers 3
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"
ok "three workers answer"

body=$(req "unix:$SOCK" /hello) || fail "request failed"
[[ $body == "Hello from fcgipm worker "* ]] || fail "unexpected body: $body"
ok "response body comes from a worker"

[ "$(stat -c %a "$SOCK")" = 660 ] || fail "socket mode $(stat -c %a "$SOCK")"
ok "socket mode defaults to 0660"

fds=$(req "unix:$SOCK" /fds | sort -n | tr '\n' ' ')
[ "$fds" = "0 1 2 " ] || fail "worker holds fds: $fds"
ok "worker holds only fds 0-2"

envs=$(req "unix:$SOCK" /env | sort | tr '\n' ' ')
[ "$envs" = "GREETING=hi PATH=/usr/bin:/bin " ] || fail "worker env: $envs"
ok "worker environment is exactly the configured one"

before=$(workers)
victim=$(echo "$before" | head -1)
kill -KILL "$victim"
replaced() { ! workers | grep -qx "$victim" && has_workers 3; }
wait_until 5 replaced || fail "worker $victim not replaced"
after=$(workers)
new=$(comm -13 <(echo "$before") <(echo "$after"))
[ -n "$new" ] || fail "no new worker pid"
wait_log "worker $victim \(slot [0-9]+\) killed by SIGKILL"
ok "killed worker $victim replaced by $new, pool back to 3"

for _ in 1 2 3 4 5 6; do
    answers "unix:$SOCK" /hello || fail "request after respawn failed"
done
ok "pool serves after the respawn"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"; [ "$STATUS" = 0 ] || fail "fast stop exit status"
[ ! -e "$SOCK" ] || fail "socket file left behind"
ok "TERM stops with status 0 and removes the socket"
done_testing
