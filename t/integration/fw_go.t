# The Go recipe: a net/http/fcgi app (fcgi.Serve(nil, h): the socket on
# fd 0) compiled here from t/apps/fw/hello.go with the standard library
# only (GOCACHE and GOPATH in the temp dir, no network), run as an exec
# pool: it answers through fcgi-request, a killed worker is replaced, and
# QUIT ends it within graceful_timeout + kill_timeout (Go never waits in
# accept() on fd 0 where fcgipm looks for an idle worker).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fw.sh"
need go

start=${EPOCHREALTIME/./}
mkdir -p "$TMP/go"
(cd "$TMP/go" && env GOCACHE="$TMP/go/cache" GOPATH="$TMP/go/path" \
     GO111MODULE=off GOPROXY=off GOTOOLCHAIN=local GOFLAGS= \
     go build -o "$TMP/hello-go" "$FW_APPS/hello.go") >"$TMP/go.out" 2>&1 \
    || fail "go build: $(cat "$TMP/go.out")"
echo "# compiled in $(( (${EPOCHREALTIME/./} - start) / 1000 )) ms"
ok "go build of t/apps/fw/hello.go, standard library only"

fw_pool go "" "{\"$TMP/hello-go\"}" >"$CONF"
fw_start 2
fw_answers go go
ok "a net/http/fcgi pool answers from its workers, the query read"

victim=$(workers | head -1)
kill -KILL "$victim"
replaced() { ! workers | grep -qx "$victim" && has_workers 2; }
wait_until 5 replaced || fail "worker $victim not replaced"
fw_answers go go
ok "a killed Go worker is replaced and the pool answers"

# 2 s graceful_timeout + 1 s kill_timeout, and room for a slow machine.
fw_quit 10
echo "# QUIT took $FW_QUIT_MS ms"
ok "QUIT ends the Go pool and the master with status 0"
done_testing
