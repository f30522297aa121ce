# pm = dynamic (module mode): idle workers kept between min_spare and
# max_spare while a load of slow requests comes and goes, within
# min_workers..max_workers; TTIN/TTOU move the minimum; an idle master
# with every worker idle within its spares makes no system calls.
. "$(dirname "$0")/lib.sh"

need strace
MOD=$TEST_APPS/testmod.so
SOCK=$TMP/dyn.sock


# The sizes the pool was set to, one a line.
sizes() { grep -oE -- '-> [0-9]+ workers' "$LOG" | awk '{ print $2 }'; }
most_workers() { sizes | sort -n | tail -1; }
at_least_workers() { [ "$(worker_count)" -ge "$1" ]; }
at_most_workers() { [ "$(worker_count)" -le "$1" ]; }

cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
mode = module
module = "$MOD"
pm = dynamic
workers = 2
min_workers = 1
max_workers = 12
min_spare = 2
max_spare = 3
status_listen = "unix:$TMP/status.sock"
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 2
# Both idle before any request: a request to a pool whose other worker
# is still starting rightly adds a spare (min_spare counts idle ones).
both_idle() {
    req "unix:$TMP/status.sock" /status 2>/dev/null \
        | grep -qE '^idle processes: +2$'
}
wait_until 5 both_idle || fail "the two workers never showed idle"
quiet_master
has_workers 2 || fail "$(worker_count) workers, want the 2 idle spares"
ok "two idle workers (min_spare 2, max_spare 3): no change, master asleep"
wait_until 5 answers "unix:$SOCK" || fail "pool does not answer"

# Six clients, each sending slow requests back to back: six busy, and
# min_spare..max_spare idle beside them.
LOAD_ARGS=()
load_start "unix:$SOCK" "/slow?sleep=400" 6
wait_load 12
wait_until 10 at_least_workers 8 \
    || fail "$(worker_count) workers for 6 busy + 2 spares"
wait_load 12
n=$(worker_count)
[ "$n" -ge 8 ] && [ "$n" -le 9 ] || fail "$n workers under a load of 6"
[ "$(most_workers)" -le 9 ] \
    || fail "grew to $(most_workers) (6 busy + max_spare 3 is 9)"
ok "under a load of 6 slow clients: $n workers (6 busy, 2..3 spare)"
load_stop
[ "$LOAD_BAD" = 0 ] || fail "$LOAD_BAD requests failed: $(load_errors)"
ok "no request failed while the pool grew ($LOAD_GOOD answered)"

# The load has gone: surplus idle workers stop, down to max_spare.
wait_until 15 at_most_workers 3 || fail "$(worker_count) workers once idle"
wait_log "more than max_spare 3 idle for 1000ms, [0-9]+ -> 3 workers"
quiet_master
has_workers 3 || fail "$(worker_count) workers, want max_spare 3"
ok "load gone: back to max_spare 3 idle workers, master asleep"

# A second wave, then quiet again: the same both ways.
before=$(sizes | wc -l)
load_start "unix:$SOCK" "/slow?sleep=400" 4
wait_until 10 at_least_workers 6 || fail "$(worker_count) workers for 4 busy"
wait_load 8
load_stop
[ "$LOAD_BAD" = 0 ] || fail "$LOAD_BAD requests failed: $(load_errors)"
wait_until 15 at_most_workers 3 || fail "$(worker_count) workers once idle"
# However many steps the machine's speed makes of it, the pool only grows
# and then only shrinks: it never flaps.
wave=$(sizes | tail -n "+$((before + 1))" | tr '\n' ' ')
turns=$(echo "3 $wave" | awk '{ for (i = 2; i <= NF; i++) {
    d = $i > $(i - 1) ? 1 : -1; if (i > 2 && d != last) t++; last = d }
    print t + 0 }')
[ "$turns" -le 1 ] || fail "the pool flapped in one wave: 3 $wave"
ok "a second wave grows, then shrinks the pool (3 $wave)"

# TTIN: a worker more, kept even above max_spare (the minimum rises to
# the size it set); TTOU: one fewer, and a lower minimum.
quiet_master
kill -TTIN "$FCGIPM_PID"
wait_log "at least 4 workers from now on \(by signal\)"
wait_workers 4
quiet_master
has_workers 4 || fail "$(worker_count) workers: TTIN's worker not kept"
ok "TTIN adds a worker the spare rule keeps"
kill -TTOU "$FCGIPM_PID"
wait_log "at least 3 workers from now on \(by signal\)"
kill -TTOU "$FCGIPM_PID"
wait_log "at least 2 workers from now on \(by signal\)"
wait_workers 2
ok "TTOU removes one at a time"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"

# A worker goes busy with no connection arriving (the request comes on a
# kept connection, FCGI_KEEP_CONN, opened while the pool settled): the
# master sleeps with no timer, so the worker itself must wake it, and
# the pool gets its second spare back (min_spare 2).
cat >"$TMP/kept.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
$| = 1;
my ($path, $go, $script) = @ARGV;
my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
sub rec { pack('CCnnCC', 1, $_[0], 1, length $_[1], 0, 0) . $_[1] }
sub nv { pack('CC', length $_[0], length $_[1]) . $_[0] . $_[1] }
sub ask {
    my ($qs) = @_;
    print $s rec(1, pack('nCx5', 1, 1)),
        rec(4, nv('REQUEST_METHOD', 'GET') . nv('QUERY_STRING', $qs)
            . nv('REQUEST_URI', "/kept?$qs")
            . nv('SCRIPT_FILENAME', $script)),
        rec(4, ''), rec(5, '');
    $s->flush;
    while (1) {             # until END_REQUEST
        read($s, my $h, 8) == 8 or die "short header";
        my (undef, $type, undef, $len, $pad) = unpack('CCnnC', $h);
        read($s, my $body, $len + $pad) == $len + $pad or die "short body";
        return if $type == 3;
    }
}
ask('now');
print "kept\n";
select(undef, undef, undef, 0.01) until -e $go;
ask('slow');
print "done\n";
PERL
# A master of its own with min_spare = max_spare = 2: however the
# kept connection's first request was seen, the pool settles at 2. A cgi
# pool: the gateway reads each request to its end, so the connection is
# kept (a module that leaves the body unread has it closed).
mkdir -p "$TMP/cgi"
printf '#!/bin/sh\n[ "$QUERY_STRING" = slow ] && sleep 3\nprintf "Content-Type: text/plain\\r\\n\\r\\nok\\n"\n' \
    >"$TMP/cgi/kept.sh"
chmod 755 "$TMP/cgi/kept.sh"
cat >"$TMP/kept.conf" <<CONF
listen = "unix:$TMP/kept.sock"
mode = cgi
cgi_root = "$TMP/cgi"
pm = dynamic
workers = 2
min_workers = 1
max_workers = 6
min_spare = 2
max_spare = 2
CONF
start_fcgipm -c "$TMP/kept.conf"
wait_workers 2
rm -f "$TMP/go"
perl "$TMP/kept.pl" "$TMP/kept.sock" "$TMP/go" "$TMP/cgi/kept.sh" \
    >"$TMP/kept.out" 2>&1 &
KEPT=$!
STARTED_PIDS+=("$KEPT")
kept_open() { grep -qx kept "$TMP/kept.out"; }
wait_until 5 kept_open || fail "kept connection: $(cat "$TMP/kept.out")"
wait_workers 2 10
quiet_master
has_workers 2 || fail "$(worker_count) workers before the kept request"
touch "$TMP/go"
wait_until 5 at_least_workers 3 \
    || fail "$(worker_count) workers with a spare busy and no connection"
wait "$KEPT" || fail "the kept connection's request failed: $(cat "$TMP/kept.out")"
ok "a spare going busy on a kept connection wakes the master: a new spare"
kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
done_testing
