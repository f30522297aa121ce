# What a worker process is given: rlimits, priority, a chroot, and
# allowed_clients for TCP (libfcgi's FCGI_WEB_SERVER_ADDRS: others are
# closed before a byte is read).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "chroot and raising limits need root"

free_port() {
    local p
    for _ in $(seq 50); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        ss -ltnH "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
    fail "no free port"
}
PORT=$(free_port)
# valgrind refuses a worker's setrlimit(RLIMIT_NOFILE) (it keeps fds of
# its own above the limit): under make valgrind rlimit_files is left out.
FILES="rlimit_files = 100"
[ -n "${TEST_UNDER_VALGRIND:-}" ] && FILES=
mkdir -p "$TMP/jail"
cat >"$TMP/fcgipm.conf" <<CONF
pool "limited" {
    listen = "127.0.0.1:$PORT"
    workers = 1
    $FILES
    rlimit_core = 0
    priority = 5
    allowed_clients = {"127.0.0.1"}
    command = {"$HELLO"}
}
pool "jailed" {
    listen = "unix:$TMP/jailed.sock"
    workers = 1
    chroot = "$TMP/jail"
    mode = module
    module = "builtin:hello"
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2
wait_until 5 answers "127.0.0.1:$PORT" || fail "TCP pool does not answer"
limited=$(req "127.0.0.1:$PORT" /pid)
[ -z "$FILES" ] \
    || grep -E '^Max open files +100 +100 ' "/proc/$limited/limits" >/dev/null \
    || fail "limits: $(grep 'open files' "/proc/$limited/limits")"
grep -E '^Max core file size +0 +0 ' "/proc/$limited/limits" >/dev/null \
    || fail "core: $(grep 'core' "/proc/$limited/limits")"
[ "$(ps -o ni= -p "$limited" | tr -d ' ')" = 5 ] || fail "nice $(ps -o ni= -p "$limited")"
ok "rlimit_files, rlimit_core and priority reach the worker"

answers "unix:$TMP/jailed.sock" / || fail "jailed pool does not answer"
jailed=$(workers | grep -vx "$limited")
[ "$(readlink "/proc/$jailed/root")" = "$TMP/jail" ] \
    || fail "worker $jailed root is $(readlink "/proc/$jailed/root")"
ok "a module pool runs chrooted in $TMP/jail and answers"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"

sed -i 's/allowed_clients = {"127.0.0.1"}/allowed_clients = {"192.0.2.7"}/' "$TMP/fcgipm.conf"
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2
req "127.0.0.1:$PORT" / >/dev/null 2>&1 && fail "a client not in allowed_clients got an answer"
answers "unix:$TMP/jailed.sock" / || fail "jailed pool stopped answering"
ok "a TCP client not in allowed_clients is refused"
done_testing
