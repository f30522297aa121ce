# A master killed with SIGKILL leaves no worker behind: each gets its
# death signal and exits within a second.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock
start_fcgipm -s "$SOCK" -w 3 -- "$HELLO"
wait_workers 3
pids=$(workers)
kill -KILL "$FCGIPM_PID"
all_gone() {
    local p
    for p in $pids; do pid_alive "$p" && return 1; done
    return 0
}
wait_until 1 all_gone || fail "workers still alive: $(for p in $pids; do pid_alive "$p" && echo "$p"; done)"
ok "all workers exited within a second of the master's SIGKILL"
done_testing
