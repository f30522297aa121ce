# SIGHUP: a valid config replaces every worker (new ones first) and keeps
# the socket; the size set by TTIN survives when workers is unchanged; a
# changed workers applies; a broken file is logged with file:line:key and
# changes nothing; under load a reload fails no request; a changed listen
# is bound anew; a removed pool drains; a kept socket takes a new mode,
# group and backlog in place; a new listen on a path where a server with
# a full accept queue listens fails the reload without stalling the
# master; an abstract socket adopted on fd 0 survives a reload.
. "$(dirname "$0")/lib.sh"
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)

SOCK=$TMP/app.sock
CONF=$TMP/fcgipm.conf
# write_conf PATH WORKERS [MORE]: MORE, lines added at the top level.
write_conf() {
    cat >"$CONF" <<CONF
listen = "unix:$1"
workers = $2
command = {"$HELLO"}
CONF
    [ -z "${3:-}" ] || echo "$3" >>"$CONF"
}
write_conf "$SOCK" 2
start_fcgipm -c "$CONF"
wait_workers 2
kill -TTIN "$FCGIPM_PID"
wait_workers 3
before=$(workers)
inode=$(stat -c %i "$SOCK")

kill -HUP "$FCGIPM_PID"
wait_log "reload: done"
all_replaced() {
    has_workers 3 && [ -z "$(comm -12 <(echo "$before") <(workers))" ]
}
wait_until 10 all_replaced || fail "workers not all replaced: $(workers)"
log_has "keeping size 3 set by TTIN/TTOU" || fail "no size-kept line"
[ "$(stat -c %i "$SOCK")" = "$inode" ] || fail "socket was recreated"
answers "unix:$SOCK" || fail "no answer after reload"
ok "HUP replaces all 3 workers, keeps the TTIN size and the socket"

write_conf "$SOCK" 4
before=$(workers)
kill -HUP "$FCGIPM_PID"
# Not just any 4: on the way from 3 old to 4 new there are 3 old and 1 new.
all_4_new() {
    has_workers 4 && [ -z "$(comm -12 <(echo "$before") <(workers))" ]
}
wait_until 10 all_4_new || fail "expected 4 new workers, have $(workers)"
ok "HUP with workers = 4 gives 4 workers"

stable=$(workers)
printf 'workers = 2\nbogus_key = 1\n' >>"$CONF"
kill -HUP "$FCGIPM_PID"
wait_log "reload: .*fcgipm.conf:5: bogus_key: .*keeping the running configuration"
[ "$(workers)" = "$stable" ] || fail "workers changed after a bad reload"
answers "unix:$SOCK" || fail "no answer after a bad reload"
ok "a broken config is reported with file:line:key and changes nothing"

reloads_done() { [ "$(log_count 'reload: done')" -ge "$1" ]; }
write_conf "$SOCK" 3
load_start "unix:$SOCK" "/?sleep=5" 4
wait_load 20
for i in $(seq 10); do
    kill -HUP "$FCGIPM_PID"
    wait_until 10 reloads_done $((i + 2)) || fail "reload $i did not finish"
    wait_load 20
done
load_stop
[ "$LOAD_BAD" -eq 0 ] || fail "$LOAD_BAD of $((LOAD_GOOD + LOAD_BAD)) requests failed during reloads: $(load_errors)"
ok "10 reloads under load: $LOAD_GOOD requests, 0 failed"

NEW=$TMP/moved.sock
write_conf "$NEW" 2
kill -HUP "$FCGIPM_PID"
wait_until 10 answers "unix:$NEW" || fail "new address does not answer"
wait_until 5 [ ! -e "$SOCK" ] || fail "old socket file left behind"
ok "a changed listen is bound anew and the old socket file removed"

cat >>"$CONF" <<CONF
pool "extra" {
    listen = "unix:$TMP/extra.sock"
    workers = 1
    command = {"$HELLO"}
}
CONF
kill -HUP "$FCGIPM_PID"
wait_until 10 answers "unix:$TMP/extra.sock" || fail "added pool does not answer"
wait_workers 3
write_conf "$NEW" 2
kill -HUP "$FCGIPM_PID"
wait_log "pool extra: retired pool drained"
wait_workers 2
[ ! -e "$TMP/extra.sock" ] || fail "removed pool's socket left behind"
answers "unix:$NEW" || fail "remaining pool does not answer"
ok "a pool added by reload serves; removed again, it drains and goes"

# hup_done: HUP the master, wait until it says the reload is done.
hup_done() {
    local n
    n=$(log_count 'reload: done')
    kill -HUP "$FCGIPM_PID"
    wait_until 10 reloads_done $((n + 1)) || fail "reload did not finish"
}

# A kept socket takes the new settings in place: same inode, new mode.
backlog_of() { ss -xlH src "$1" 2>/dev/null | awk '{ print $4; exit }'; }
write_conf "$NEW" 2 'socket_mode = 0666'
hup_done
[ "$(stat -c %a "$NEW")" = 666 ] \
    || fail "mode $(stat -c %a "$NEW") after socket_mode = 0666"
inode=$(stat -c %i "$NEW")
group=$(id -gn)
[ "$(id -u)" = 0 ] && group=daemon
write_conf "$NEW" 2 "socket_mode = 0600
socket_group = \"$group\"
backlog = 7"
hup_done
[ "$(stat -c %a "$NEW")" = 600 ] || fail "mode $(stat -c %a "$NEW"), not 600"
[ "$(stat -c %G "$NEW")" = "$group" ] \
    || fail "group $(stat -c %G "$NEW"), not $group"
[ "$(backlog_of "$NEW")" = 7 ] || fail "backlog $(backlog_of "$NEW"), not 7"
[ "$(stat -c %i "$NEW")" = "$inode" ] || fail "socket was recreated"
answers "unix:$NEW" || fail "no answer after the mode change"
ok "HUP applies socket_mode 0666 -> 0600, socket_group $group and" \
    "backlog 7 to the kept socket"

# A server that never accepts, its queue filled: a blocking connect to it
# would wait for ever.
BUSY=$TMP/busy.sock
perl -MSocket=:all -e '
    my ($path, $ready) = @ARGV;
    socket(my $l, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
    bind($l, pack_sockaddr_un($path)) or die "bind: $!\n";
    listen($l, 0) or die "listen: $!\n";
    my @held;
    for (1 .. 16) {
        socket(my $c, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)
            or die "socket: $!\n";
        if (!connect($c, pack_sockaddr_un($path))) {
            die "connect: $!\n" unless $!{EAGAIN};
            open(my $f, ">", $ready) or die "$ready: $!\n";
            close($f);
            sleep;
        }
        push @held, $c;
    }
    die "the queue never filled\n";' "$BUSY" "$TMP/busy.ready" \
    2>>"$TMP/busy.err" &
STARTED_PIDS+=("$!")
wait_until 10 test -e "$TMP/busy.ready" \
    || fail "busy server not ready: $(cat "$TMP/busy.err")"
write_conf "$NEW" 2 "socket_mode = 0644
pool \"busy\" {
    listen = \"unix:$BUSY\"
    workers = 1
    command = {\"$HELLO\"}
}"
wait_workers 2
kept_before=$(log_count 'reload: keeping the running configuration')
kill -HUP "$FCGIPM_PID"
wait_log "listen unix:$BUSY: another server answers on $BUSY"
reload_failed() {
    [ "$(log_count 'reload: keeping the running configuration')" \
        -gt "$kept_before" ]
}
wait_until 10 reload_failed || fail "the reload did not fail"
# The default pool's new settings were applied before the busy pool
# failed: they must be undone.
[ "$(stat -c %a "$NEW")" = 600 ] \
    || fail "mode $(stat -c %a "$NEW") after a failed reload, not 600"
[ "$(backlog_of "$NEW")" = 7 ] \
    || fail "backlog $(backlog_of "$NEW") after a failed reload, not 7"
kill -TTIN "$FCGIPM_PID"
wait_workers 3 5
victim=$(workers | head -1)
kill -KILL "$victim"
replaced() { has_workers 3 && ! workers | grep -qx "$victim"; }
wait_until 5 replaced || fail "killed worker $victim not replaced: $(workers)"
answers "unix:$NEW" || fail "no answer after the failed reload"
ok "a new listen where a server's queue is full fails the reload;" \
    "the master still acts on TTIN and respawns"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"

# Started by a web server with an abstract socket on fd 0 and no listen:
# a reload keeps that very socket, so the new workers serve on it. The
# space in its name is written \x20 in an address.
ABSTRACT="@${TMP##*/} fd0"
ADDR="unix:${ABSTRACT// /\\x20}"
cat >"$CONF" <<CONF
workers = 2
command = {"$HELLO"}
CONF
"$TOOLS/socket-activate" --fd0 "$ABSTRACT" "$FCGIPM" -c "$CONF" \
    >>"$LOG" 2>&1 &
FCGIPM_PID=$!
STARTED_PIDS+=("$FCGIPM_PID")
wait_log "adopted fd 0 from fd 0"
wait_workers 2
wait_until 5 answers "$ADDR" || fail "abstract socket does not answer"
fd0=$(readlink "/proc/$FCGIPM_PID/fd/0")
before=$(workers)
respawns=$(log_count 'respawn')
hup_done
replaced_2() {
    has_workers 2 && [ -z "$(comm -12 <(echo "$before") <(workers))" ]
}
wait_until 10 replaced_2 || fail "workers not all replaced: $(workers)"
answers "$ADDR" || fail "no answer after the reload"
[ "$(readlink "/proc/$FCGIPM_PID/fd/0")" = "$fd0" ] \
    || fail "fd 0 is $(readlink "/proc/$FCGIPM_PID/fd/0"), was $fd0"
[ "$(log_count 'respawn')" = "$respawns" ] \
    || fail "workers died after the reload: $(grep respawn "$LOG" | tail -3)"
ok "HUP keeps the abstract socket adopted on fd 0 ($fd0); new workers serve"
log_has "listen unix:@${TMP##*/}.x20fd0: adopted fd 0" \
    || fail "the socket's name is not logged as $ADDR"
ok "the adopted socket is logged as $ADDR"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS"
log_has 'close: Bad file descriptor' && fail "a socket was closed twice"
done_testing
