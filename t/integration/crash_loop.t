# A command that dies at once is respawned with growing delays, a bounded
# number of forks, and a "crash loop" line in the log; the master stays up.
. "$(dirname "$0")/lib.sh"

cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$TMP/app.sock"
workers = 2
restart_backoff = "50ms"
restart_backoff_max = "400ms"
command = {"$HELLO", "--crash"}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_log "crash loop"
ok "the log reports the crash loop"

# The first quick death is respawned at once (an OOM kill or a kill -9 of
# a young worker is no crash loop); from the second in a row the delays
# for one slot grow: 50, 100, 200, 400, 400...
first=$(grep -m1 -E 'slot 0\) exited with status 3' "$LOG")
[[ $first == *", respawning" ]] || fail "first quick death waited: $first"
ok "the first quick death is respawned at once"

three_capped() { [ "$(log_count 'slot 0\) exited with status 3.*respawn in 4[0-9][0-9]ms')" -ge 2 ]; }
wait_until 10 three_capped || fail "backoff never reached its cap"
delays=$(grep -oE 'slot 0\) exited with status 3 after [0-9.]+s, respawn in [0-9]+ms' "$LOG" \
         | grep -oE '[0-9]+ms$' | tr -d ms | head -5 | tr '\n' ' ')
read -r d1 d2 d3 d4 d5 <<<"$delays"
[ "$d1" -ge 50 ] && [ "$d1" -lt 100 ] || fail "first delay $d1 (all: $delays)"
[ "$d2" -ge 100 ] && [ "$d3" -ge 200 ] && [ "$d4" -ge 400 ] \
    || fail "delays do not double: $delays"
[ "$d5" -le 440 ] || fail "delay above the cap: $delays"
ok "respawn delays grow and are capped: $delays"

# Bounded forks: in any window, each slot forks at most once per 400ms
# once capped; count over a measured interval from here.
n0=$(log_count 'worker [0-9]+ started')
t0=${EPOCHREALTIME/./}
two_seconds_passed() { [ $(( ${EPOCHREALTIME/./} - t0 )) -ge 2000000 ]; }
wait_until 5 two_seconds_passed
n1=$(log_count 'worker [0-9]+ started')
elapsed_ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
max=$(( 2 * (elapsed_ms / 400 + 1) ))
[ $((n1 - n0)) -le "$max" ] || fail "$((n1 - n0)) forks in ${elapsed_ms}ms (max $max)"
ok "$((n1 - n0)) forks in ${elapsed_ms}ms: no fork storm"

kill -0 "$FCGIPM_PID" || fail "master died"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"; [ "$STATUS" = 0 ] || fail "exit status after TERM"
ok "master stops cleanly from a crash loop"
done_testing
