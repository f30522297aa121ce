# Shared helpers for integration tests: a temp dir, processes started by
# the test and stopped by pid, bounded polls instead of sleeps.
# Needs: FCGIPM, FCGI_REQUEST, TEST_APPS (set by `make check-integration`).
set -u

: "${FCGIPM:?run through make check-integration}"
: "${FCGI_REQUEST:?}"
: "${TEST_APPS:?}"
# The binary itself, where FCGIPM is a wrapper around it (make valgrind).
FCGIPM_BIN=${FCGIPM_BIN:-$FCGIPM}
HELLO=$TEST_APPS/hello
TMP=$(mktemp -d /tmp/fcgipm-test.XXXXXX)
LOG=$TMP/fcgipm.log
STARTED_PIDS=()
FCGIPM_PID=
TESTS_RUN=0

cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${STARTED_PIDS[@]}"; do
        wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
    done
    if [ -n "${FCGIPM_TEST_KEEP:-}" ]; then
        echo "# kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

# skip REASON: exit 77 on a developer's machine, fail under CI.
skip() {
    echo "skip: $*"
    [ "${CI:-}" = true ] && exit 1
    exit 77
}

need() {
    command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

fail() {
    echo "not ok: $*"
    if [ -f "$LOG" ]; then
        echo "--- last lines of $LOG"
        tail -n 40 "$LOG"
    fi
    exit 1
}

ok() {
    TESTS_RUN=$((TESTS_RUN + 1))
    echo "ok $TESTS_RUN - $*"
}

# wait_until SECONDS CMD...: poll CMD every 10ms until it succeeds.
# TEST_TIME_SCALE stretches every deadline (make valgrind sets it).
wait_until() {
    local limit=$(( $1 * ${TEST_TIME_SCALE:-1} ))
    shift
    local end=$(( ${EPOCHREALTIME/./} + limit * 1000000 ))
    until "$@"; do
        [ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
        sleep 0.01
    done
}

# A zombie counts as gone: in containers PID 1 may never reap orphans.
pid_gone() {
    local st
    st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$st" = Z ] || [ -z "$st" ]
}
pid_alive() { ! pid_gone "$1"; }
wait_gone() { wait_until "$2" pid_gone "$1"; }

log_has() { grep -qE -- "$1" "$LOG" 2>/dev/null; }
log_count() { grep -cE -- "$1" "$LOG" 2>/dev/null || true; }
# wait_log REGEX [SECONDS]
wait_log() {
    wait_until "${2:-10}" log_has "$1" || fail "no log line matching '$1'"
}

# start_fcgipm ARGS...: run fcgipm in the background, logging to $LOG.
start_fcgipm() {
    "$FCGIPM" "$@" >>"$LOG" 2>&1 &
    FCGIPM_PID=$!
    STARTED_PIDS+=("$FCGIPM_PID")
}

# workers [PID]: pids of the master's children, one a line.
# Sorted as text, as comm(1) wants: tests compare pid lists with comm, and
# a numeric sort is out of comm's order once pids wrap (5499 < 15176).
workers() { pgrep -P "${1:-$FCGIPM_PID}" | sort; }
worker_count() { workers "$@" | wc -l; }
has_workers() { [ "$(worker_count)" -eq "$1" ]; }
wait_workers() {
    wait_until "${2:-10}" has_workers "$1" \
        || fail "expected $1 workers, have $(worker_count)"
}

# req ADDR URI [ARGS...]: one request through fcgi-request.
req() {
    local addr=$1 uri=$2
    shift 2
    "$FCGI_REQUEST" "$@" "$addr" "$uri"
}
answers() { req "$1" "${2:-/}" >/dev/null 2>&1; }

# wait_status PID: wait for a child of this shell; its status in STATUS.
# (Not in a $(...) subshell: only this shell can wait for its children.)
wait_status() {
    STATUS=0
    wait "$1" || STATUS=$?
}

done_testing() {
    echo "1..$TESTS_RUN"
    exit 0
}

# load_start ADDR URI [LOOPS]: keep LOOPS clients sending requests one
# after another until load_stop; each counts its successes and failures.
# LOAD_ARGS: extra fcgi-request arguments (params) for every request.
LOAD_PIDS=()
LOAD_ARGS=()
load_start() {
    local addr=$1 uri=$2 loops=${3:-4} i
    rm -f "$TMP/load.stop" "$TMP"/load.*.count "$TMP"/load.*.err \
        "$TMP"/load.*.progress
    for i in $(seq "$loops"); do
        (
            good=0 bad=0
            while [ ! -e "$TMP/load.stop" ]; do
                if "$FCGI_REQUEST" -t 10 "${LOAD_ARGS[@]}" "$addr" "$uri" \
                       >/dev/null \
                       2>>"$TMP/load.$i.err"; then
                    good=$((good + 1))
                    printf . >>"$TMP/load.$i.progress"
                else
                    bad=$((bad + 1))
                fi
            done
            echo "$good $bad" >"$TMP/load.$i.count"
        ) &
        LOAD_PIDS+=("$!")
        STARTED_PIDS+=("$!")
    done
}

# load_progress: successes so far (one byte each in load.*.progress).
load_progress() { cat "$TMP"/load.*.progress 2>/dev/null | wc -c; }
load_reached() { [ "$(load_progress)" -ge "$1" ]; }
# wait_load N: poll until the clients have N more successes than now.
wait_load() {
    local want=$(( $(load_progress) + $1 ))
    wait_until "${2:-20}" load_reached "$want" \
        || fail "load stalled at $(load_progress) successes: $(load_errors)"
}

# load_stop: stop the clients; totals in LOAD_GOOD and LOAD_BAD.
load_stop() {
    local pid f good=0 bad=0 g b
    touch "$TMP/load.stop"
    for pid in "${LOAD_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    LOAD_PIDS=()
    for f in "$TMP"/load.*.count; do
        read -r g b <"$f"
        good=$((good + g))
        bad=$((bad + b))
    done
    LOAD_GOOD=$good
    LOAD_BAD=$bad
}

load_errors() { cat "$TMP"/load.*.err 2>/dev/null | sort | uniq -c | head -5; }

# upgrade_master PIDFILE: USR2 to the master, wait until the pid file
# names the new one and the old one has exited 0; FCGIPM_PID is then the
# new master (not our child: stop it by pid).
upgrade_master() {
    local pidfile=$1 old=$FCGIPM_PID
    kill -USR2 "$old"
    pidfile_moved() { [ -s "$pidfile" ] && [ "$(cat "$pidfile")" != "$old" ]; }
    wait_until 10 pidfile_moved || fail "upgrade: pid file still names $old"
    FCGIPM_PID=$(cat "$pidfile")
    STARTED_PIDS+=("$FCGIPM_PID")
    wait_status "$old"
    [ "$STATUS" = 0 ] || fail "upgrade: old master $old exited $STATUS"
}

# quiet_master: strace the master for 1.5 s until it makes no system call
# but the epoll_wait it sleeps in (it may still be settling: a worker's
# exit, a last sample); fail after four tries. Under valgrind
# (TEST_UNDER_VALGRIND) the attach itself interrupts epoll_wait and the
# master goes round its loop once: only calls after its next epoll_wait
# count.
quiet_master() {
    local try calls
    need strace
    for try in 1 2 3 4; do
        timeout -s INT 1.5 strace -p "$FCGIPM_PID" -o "$TMP/strace.out" \
            2>/dev/null
        calls=$(idle_calls "$TMP/strace.out")
        [ "$calls" -eq 0 ] && return 0
    done
    fail "idle master made $calls system calls: $(head -5 "$TMP/strace.out")"
}

# idle_calls FILE: the system calls in strace's FILE but the epoll_wait
# the master sleeps in (under valgrind, those after its next epoll_wait:
# the attach itself wakes it once).
idle_calls() {
    [ -n "${TEST_UNDER_VALGRIND:-}" ] \
        && sed -i '0,/^epoll_wait(/{/^epoll_wait(.*detached/!d}' "$1"
    grep -vc '^epoll_wait(.*<detached \.\.\.>$' "$1"
}

# socket_clients PATH: connections a unix socket holds, accepted by a
# worker or still waiting in its accept queue (the listener's Recv-Q).
socket_clients() {
    local accepted queued
    accepted=$(ss -xH state connected src "$1" 2>/dev/null | wc -l)
    queued=$(ss -xlH src "$1" 2>/dev/null | awk '{ print $3; exit }')
    echo $(( accepted + ${queued:-0} ))
}
clients_at_least() { [ "$(socket_clients "$1")" -ge "$2" ]; }
