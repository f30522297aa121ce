# Runtimes that do not wait in accept() on fd 0 are stopped as soon as
# they are idle: a Go net/http/fcgi program (it accepts through epoll and
# ignores SIGUSR1) and a Ruby fcgi one (it waits in accept(), but exits
# on SIGUSR1 only after one more request). An idle Go pool stops on QUIT
# at once; Go and Ruby pools take a HUP under load with no failed
# request and their old workers gone within a few seconds, not
# graceful_timeout; a Go worker busy with a slow request at a HUP
# finishes it first. The apps are written here, into the temp dir.
. "$(dirname "$0")/lib.sh"
need go
need ruby
ruby -e 'require "fcgi"' 2>/dev/null || skip "ruby's fcgi is not installed"

cat >"$TMP/app.go" <<'GO'
package main

import (
	"fmt"
	"net/http"
	"net/http/fcgi"
	"os"
	"strconv"
	"time"
)

func main() {
	h := func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("sleep"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(w, "Hello from go %d\n", os.Getpid())
	}
	if err := fcgi.Serve(nil, http.HandlerFunc(h)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
GO
cat >"$TMP/app.rb" <<'RUBY'
require 'fcgi'
FCGI.each do |req|
  ms = req.env['QUERY_STRING'].to_s[/sleep=(\d+)/, 1].to_i
  sleep(ms / 1000.0)
  req.out.print "Content-Type: text/plain\r\n\r\nHello from ruby #{Process.pid}\n"
  req.finish
end
RUBY
# Go keeps its build cache under HOME, which may be unset or read-only.
[ -w "${HOME:-/nonexistent}" ] || export GOCACHE=$TMP/gocache
(cd "$TMP" && GO111MODULE=off go build -o app-go app.go) \
    >"$TMP/go-build.log" 2>&1 || fail "go build: $(tail -3 "$TMP/go-build.log")"

# run_pool NAME COMMAND...: a pool of 2 workers running COMMAND on
# $TMP/NAME.sock, its log in $TMP/NAME.log.
run_pool() {
    local name=$1
    shift
    SOCK=$TMP/$name.sock
    LOG=$TMP/$name.log
    local args
    args=$(printf '"%s", ' "$@")
    printf 'listen = "unix:%s"\nworkers = 2\ncommand = {%s}\n' \
        "$SOCK" "${args%, }" >"$TMP/$name.conf"
    start_fcgipm -c "$TMP/$name.conf"
    wait_workers 2
    wait_until 10 answers "unix:$SOCK" || fail "$name pool does not answer"
}

# Gone within a few seconds of being idle, where they were stopped at
# graceful_timeout + kill_timeout (35 s) before.
all_gone() {
    local pid
    for pid in "$@"; do pid_gone "$pid" || return 1; done
}

# hup_under_load NAME: HUP while 4 clients send requests; every request
# succeeds and the old workers are gone soon after.
hup_under_load() {
    local name=$1 old
    old=$(workers)
    load_start "unix:$SOCK" /
    wait_load 50
    kill -HUP "$FCGIPM_PID"
    wait_log "reload: done"
    wait_until 5 all_gone $old || fail "$name: old workers still there: $old"
    wait_load 50
    load_stop
    [ "$LOAD_BAD" = 0 ] \
        || fail "$name: $LOAD_BAD of $((LOAD_GOOD + LOAD_BAD)) requests failed"
    log_has "not seen idle within graceful_timeout" \
        && fail "$name: a worker waited for graceful_timeout"
    ok "$name: HUP under load: $LOAD_GOOD requests, none failed; old workers gone"
}

run_pool go "$TMP/app-go"
req "unix:$SOCK" / | grep -q "Hello from go" || fail "go pool: wrong answer"
hup_under_load go

# A slow request in flight at the HUP completes before its worker stops.
req "unix:$SOCK" "/?sleep=1500" >"$TMP/slow.out" 2>&1 &
slow=$!
connected() { [ "$(ss -xH state connected src "$SOCK" 2>/dev/null | wc -l)" -ge 1 ]; }
wait_until 5 connected || fail "slow request never connected"
old=$(workers)
kill -HUP "$FCGIPM_PID"
reloaded_twice() { [ "$(log_count 'reload: done')" -ge 2 ]; }
wait_until 10 reloaded_twice || fail "no second reload"
wait_status "$slow"
[ "$STATUS" = 0 ] || fail "slow request failed ($STATUS): $(cat "$TMP/slow.out")"
grep -q "Hello from go" "$TMP/slow.out" || fail "slow request: $(cat "$TMP/slow.out")"
wait_until 5 all_gone $old || fail "go: old workers still there: $old"
ok "go: a request in flight at a HUP completes, then its worker stops"

kill -QUIT "$FCGIPM_PID"
wait_until 2 pid_gone "$FCGIPM_PID" || fail "go pool still running after QUIT"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "go: master exit status $STATUS"
ok "go: an idle pool stops on QUIT at once"

run_pool ruby ruby "$TMP/app.rb"
req "unix:$SOCK" / | grep -q "Hello from ruby" || fail "ruby pool: wrong answer"
hup_under_load ruby
kill -QUIT "$FCGIPM_PID"
wait_until 2 pid_gone "$FCGIPM_PID" || fail "ruby pool still running after QUIT"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "ruby: master exit status $STATUS"
ok "ruby: an idle pool stops on QUIT at once"
done_testing
