# Helpers for the framework recipes (fw_*.t): one fcgipm master runs a
# pool per recipe, each program from t/apps/fw/ with the socket on fd 0.
# Source after lib.sh. Each app answers "Hello, NAME from RUNTIME PID".
FW_APPS=$(cd "$(dirname "$0")/../apps/fw" && pwd)
CONF=$TMP/fcgipm.conf

# fw_pool NAME EXTRA COMMAND: a pool section for the config (COMMAND is
# the config's list, EXTRA more keys, one a line): two workers, and a
# graceful_timeout and kill_timeout that bound a QUIT to 3 s.
fw_pool() {
    printf 'pool "%s" {\n    listen = "unix:%s/%s.sock"\n    workers = 2\n' \
        "$1" "$TMP" "$1"
    printf '    graceful_timeout = "2s"\n    kill_timeout = "1s"\n'
    printf '    command = %s\n%s\n}\n' "$3" "$2"
}

# fw_start N: start fcgipm on $CONF (the pools; the log line is added
# here), wait for N workers.
fw_start() {
    echo "log = \"$LOG\"" >>"$CONF"
    start_fcgipm -c "$CONF"
    wait_workers "$1" 20
}

# fw_answers POOL RUNTIME: the pool's app greets the name in the query
# from one of the master's workers, three times in a row.
fw_answers() {
    local pool=$1 runtime=$2 i body
    for i in 1 2 3; do
        wait_until 10 answers "unix:$TMP/$pool.sock" \
            || fail "$pool: no answer: $(req "unix:$TMP/$pool.sock" / -t 5 2>&1)"
        body=$(req "unix:$TMP/$pool.sock" "/fw/$i?name=fcgipm$i" 2>&1) \
            || fail "$pool: request $i: $body"
        [[ $body =~ ^Hello,\ fcgipm$i\ from\ $runtime\ ([0-9]+)$ ]] \
            || fail "$pool: request $i: unexpected answer: $body"
        workers | grep -qx "${BASH_REMATCH[1]}" \
            || fail "$pool: answered by ${BASH_REMATCH[1]}, not a worker"
    done
}

# fw_quit SECONDS: QUIT ends the master (status 0) within SECONDS.
fw_quit() {
    local start=${EPOCHREALTIME/./} ms
    kill -QUIT "$FCGIPM_PID"
    wait_until "$1" pid_gone "$FCGIPM_PID" \
        || fail "master still runs $1 s after QUIT"
    ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
    wait_status "$FCGIPM_PID"
    [ "$STATUS" = 0 ] || fail "master exited $STATUS after QUIT"
    FW_QUIT_MS=$ms
}
