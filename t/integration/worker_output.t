# Workers' stdout and stderr reach the master's log line by line, tagged
# with pool and pid: long lines whole up to 16 KiB and cut with markers
# beyond, two writers never mixed in one line, and a flooding worker
# neither stalls the master nor swells its memory.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock

# run_pool NAME WORKERS: start a master logging to $TMP/NAME.log whose
# workers run the script $TMP/NAME.sh.
run_pool() {
    LOG=$TMP/$1.log
    chmod +x "$TMP/$1.sh"
    cat >"$TMP/$1.conf" <<CONF
listen = "unix:$SOCK"
workers = $2
env = {"PATH=/usr/bin:/bin"}
command = {"$TMP/$1.sh"}
CONF
    start_fcgipm -c "$TMP/$1.conf"
    wait_workers "$2"
}

stop_pool() {
    kill -TERM "$FCGIPM_PID"
    wait_status "$FCGIPM_PID"
    [ "$STATUS" = 0 ] || fail "exit status $STATUS"
}

# The text of worker $1's output lines, one a line, without the tag.
output_of() {
    sed -n "s/^.* warn fcgipm\[[0-9]*\]: pool default: worker $1: //p" "$LOG"
}

# --- stdout and stderr, tagged with the worker's pid ($$ survives exec)
cat >"$TMP/talk.sh" <<SH
#!/bin/sh
echo "out \$\$"
echo "err \$\$" >&2
exec "$HELLO"
SH
run_pool talk 2
for pid in $(workers); do
    wait_log "pool default: worker $pid: out $pid\$"
    wait_log "pool default: worker $pid: err $pid\$"
done
ok "stdout and stderr lines are logged tagged with pool and worker pid"
fds=$(req "unix:$SOCK" /fds | sort -n | tr '\n' ' ')
[ "$fds" = "0 1 2 " ] || fail "worker holds fds: $fds"
ok "the pipe is the worker's fds 1 and 2, and nothing else is left open"
stop_pool

# --- an 8 KiB line whole, a 40 KiB line cut with markers, nothing lost
cat >"$TMP/long.sh" <<SH
#!/bin/sh
head -c 8192 /dev/zero | tr '\\0' b; echo
head -c 40960 /dev/zero | tr '\\0' a; echo
echo "done \$\$"
exec "$HELLO"
SH
run_pool long 1
pid=$(workers)
wait_log "worker $pid: done $pid\$"
[ "$(output_of "$pid" | grep -cx 'b\{8192\}')" = 1 ] \
    || fail "no 8192-byte line: $(output_of "$pid" | awk '{print length}')"
ok "an 8 KiB line arrives whole in one log line"
pieces=$(output_of "$pid" | grep a)
[ "$(echo "$pieces" | wc -l)" = 3 ] \
    || fail "not 3 pieces: $(echo "$pieces" | awk '{print length}')"
M='\[\.\.\.\]'
piece() { echo "$pieces" | sed -n "$1p" | grep -qx "$2" || fail "piece $1"; }
piece 1 "a\{16384\} $M"
piece 2 "$M a\{16384\} $M"
piece 3 "$M a\{8192\}"
total=$(echo "$pieces" | sed 's/ *\[\.\.\.\] *//g' | tr -d '\n' | wc -c)
[ "$total" = 40960 ] || fail "40960 bytes written, $total logged"
ok "a 40 KiB line arrives in 3 pieces with [...] markers, all 40960 bytes"
stop_pool

# --- two workers writing 2000 lines each at the same time
cat >"$TMP/many.sh" <<SH
#!/bin/sh
pay=\$(printf "%060d" 0 | sed "s/0/<\$\$>/g")
touch "$TMP/ready.\$\$"
while [ ! -e "$TMP/go" ]; do sleep 0.01; done
i=0
while [ \$i -lt 2000 ]; do
    echo "L \$\$ \$i \$pay E"
    i=\$((i + 1))
done
echo "done \$\$"
exec "$HELLO"
SH
run_pool many 2
pids=$(workers)
all_ready() { for p in $pids; do [ -e "$TMP/ready.$p" ] || return 1; done; }
wait_until 10 all_ready || fail "writers not ready"
touch "$TMP/go"
for pid in $pids; do
    wait_log "worker $pid: done $pid\$" 30
    pay=$(printf "%060d" 0 | sed "s/0/<$pid>/g")
    good=$(output_of "$pid" | grep -cxE "L $pid [0-9]+ $pay E")
    seqs=$(output_of "$pid" | grep -xE "L $pid [0-9]+ $pay E" \
           | cut -d' ' -f3 | sort -un | wc -l)
    [ "$good" = 2000 ] && [ "$seqs" = 2000 ] \
        || fail "worker $pid: $good intact lines, $seqs distinct"
done
lines=$(grep -c ': L [0-9]* [0-9]* <' "$LOG")
[ "$lines" = 4000 ] || fail "$lines output lines in the log, not 4000"
ok "4000 lines from two concurrent writers, each intact and tagged"
stop_pool

# --- a flood of output: the master still reaps, respawns, and its memory
# stays bounded; the pool's other worker keeps answering
cat >"$TMP/flood.sh" <<SH
#!/bin/sh
if mkdir "$TMP/flood.lock" 2>/dev/null; then
    echo \$\$ >"$TMP/flood.tmp" && mv "$TMP/flood.tmp" "$TMP/flood.pid"
    while [ ! -e "$TMP/flood.go" ]; do sleep 0.01; done
    timeout 60 yes xxxxxxxx >&2
fi
exec "$HELLO"
SH
run_pool flood 2
wait_until 10 test -s "$TMP/flood.pid" || fail "no flooding worker"
fpid=$(cat "$TMP/flood.pid")
normal=$(workers | grep -vx "$fpid")
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$FCGIPM_PID/status"; }
rss0=$(rss)
max=$rss0
sample() { local r; r=$(rss); [ "$r" -gt "$max" ] && max=$r; return 0; }
touch "$TMP/flood.go"
flooding() { pgrep -x timeout -P "$fpid" >/dev/null; }
wait_until 10 flooding || fail "flood did not start"
flooder=$(pgrep -x timeout -P "$fpid")
wait_log "worker $fpid: xxxxxxxx\$"
sample
[ "$(req "unix:$SOCK" /pid)" = "$normal" ] \
    || fail "normal worker does not answer"
ok "during the flood the pool's other worker answers"
kill -KILL "$normal"
respawned() {
    local p
    p=$(req "unix:$SOCK" /pid 2>/dev/null) && [ -n "$p" ] \
        && [ "$p" != "$normal" ]
}
sample_until() { sample; "$@"; }
wait_until 10 sample_until respawned \
    || fail "killed worker not replaced during the flood"
for _ in $(seq 20); do sample; answers "unix:$SOCK" || fail "no answer"; done
pid_alive "$flooder" || fail "the flood ended before the checks"
ok "during the flood a killed worker is reaped and respawned"
[ "$max" -lt $((rss0 + 20480)) ] \
    || fail "master RSS grew from ${rss0} kB to ${max} kB"
ok "the master's RSS stays bounded (${rss0} kB, at most ${max} kB)"
# Lines logged so far are whole ones; killing yes may cut the last.
logged=$(wc -l <"$LOG")
kill -TERM "$flooder"
execed() { [ "$(cat "/proc/$fpid/comm" 2>/dev/null)" = hello ]; }
wait_until 10 execed || fail "flooding worker never went on to exec"
wait_until 5 log_has "worker $normal \(slot [0-9]+\) killed by SIGKILL" \
    || fail "death of $normal not logged"
# (The master's own line about lines dropped over output_rate_limit is
# not a flood line.)
bad=$(head -n "$logged" "$LOG" | grep "pool default: worker $fpid: " \
      | grep -v "output over output_rate_limit" \
      | grep -vc "worker $fpid: xxxxxxxx\$")
[ "$bad" = 0 ] || fail "$bad flood lines are not intact"
ok "every flood line is intact and the death was logged"
stop_pool
done_testing
