# What fcgipm's own workers (module mode here; cgi shares the loop) do
# around each request: recycling after max_requests, the access log and
# its reopening on USR1, the slow log, request_timeout and max_rss, all
# explained in the master's log; an idle master still sleeps.
. "$(dirname "$0")/lib.sh"

MOD=$TEST_APPS/testmod.so
SOCK=$TMP/mod.sock
cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
mode = module
module = "$MOD"
workers = 2
max_requests = 5
access_log = "$TMP/access.log"
slow_request_time = "200ms"
slowlog = "$TMP/slow.log"
request_timeout = "1s"
max_rss = "64m"
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2
wait_until 5 answers "unix:$SOCK" || fail "module pool does not answer"

pids=()
for i in $(seq 12); do
    out=$(req "unix:$SOCK" "/count?i=$i") || fail "request $i failed"
    read -r pid n <<<"$out"
    [ "$n" -le 5 ] || fail "worker $pid served $n requests (max_requests 5)"
    pids+=("$pid")
done
distinct=$(printf '%s\n' "${pids[@]}" | sort -u | wc -l)
[ "$distinct" -ge 3 ] || fail "only $distinct worker pids over 13 requests"
wait_log "recycled after 5 requests"
log_has "respawn in|crash loop" && fail "recycling was taken for a crash"
ok "max_requests = 5 recycles workers ($distinct pids over 13 requests), no backoff"

access_lines() { [ "$(wc -l <"$TMP/access.log")" -ge "$1" ]; }
wait_until 5 access_lines 13 || fail "access log has $(wc -l <"$TMP/access.log") lines"
grep -q '"GET /count?i=7" 200 ' "$TMP/access.log" \
    || fail "no access line for /count?i=7: $(tail -2 "$TMP/access.log")"
ok "one access log line per request, in the default format"

mv "$TMP/access.log" "$TMP/access.log.1"
kill -USR1 "$FCGIPM_PID"
wait_log "log file reopened"
for i in 1 2 3 4; do answers "unix:$SOCK" "/after-rotate"; done
wait_until 5 test -s "$TMP/access.log" || fail "access log not reopened after USR1"
grep -q "after-rotate" "$TMP/access.log" || fail "new access log lacks the new requests"
ok "USR1 makes workers reopen the access log"

req "unix:$SOCK" "/slow?sleep=300" >/dev/null || fail "slow request failed"
wait_until 5 grep -q "GET /slow?sleep=300 took 0.3" "$TMP/slow.log" \
    || fail "no slowlog line: $(cat "$TMP/slow.log" 2>/dev/null)"
ok "a 300ms request lands in the slowlog (slow_request_time 200ms)"

# A client's URI with a newline and a C1 control (CSI): one line, escaped.
req "unix:$SOCK" "/slow?sleep=300" \
    -p "REQUEST_URI=/forged"$'\n'"2026 fake line "$'\302\233'"31m" \
    >/dev/null || fail "slow request with a hostile URI failed"
wait_until 5 grep -q 'forged\\x0a2026 fake line \\xc2\\x9b31m took' "$TMP/slow.log" \
    || fail "hostile URI not escaped in the slowlog: $(cat -v "$TMP/slow.log")"
! grep -q '^2026 fake line' "$TMP/slow.log" || fail "a slowlog line was forged"
! LC_ALL=C grep -q $'\302\233' "$TMP/slow.log" \
    || fail "a raw C1 control in the slowlog"
ok "the slowlog escapes a client's newline and C1 control"

before=$(workers)
req "unix:$SOCK" "/stuck?sleep=5000" >/dev/null 2>&1 && fail "a stuck request got an answer"
wait_log "killed: request_timeout \(1000ms\) serving GET /stuck\?sleep=5000 for 1\.[0-9]s"
wait_workers 2
answers "unix:$SOCK" "/" || fail "pool does not answer after the timeout"
ok "request_timeout kills the stuck worker, logs the request, pool restored"

req "unix:$SOCK" "/big?alloc=100" >/dev/null || fail "alloc request failed"
wait_log "recycling: resident memory [0-9]+ KiB above max_rss 65536 KiB"
wait_workers 2
ok "a worker above max_rss is recycled after its request"

quiet_master
ok "with request_timeout and max_requests set, an idle master still sleeps"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
done_testing
