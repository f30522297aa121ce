# The command line of the real binary: help, version, usage errors (64),
# -t printing the effective config, CLI over file, and the runtime
# failures of start-up (exit 1): a socket directory that does not exist,
# a socket another server answers on, a regular file in the way, a pid
# file of a running master. Also: a stale socket is replaced, the pid file
# comes and goes, TCP on IPv4 and IPv6 loopback, -M sets the socket mode.
. "$(dirname "$0")/lib.sh"

PATH=$PATH:/usr/sbin:/sbin

# run_fcgipm ARGS...: fcgipm to completion (killed after 10 s, which an
# option silently ignored would reach): status in RC, output in
# $TMP/out and $TMP/err.
run_fcgipm() {
    RC=0
    timeout -k 2 10 "$FCGIPM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" \
        || RC=$?
}
err() { cat "$TMP/err"; }
err_has() { grep -qiE -- "$1" "$TMP/err"; }
out_has() { grep -qE -- "$1" "$TMP/out"; }

# A worker of master $1 answers on $2.
served_by() {
    local p
    p=$(req "$2" /pid 2>/dev/null) && workers "$1" | grep -qx "$p"
}

# --- help, version, usage errors

for h in -h --help; do
    run_fcgipm "$h"
    [ "$RC" = 0 ] || fail "$h: exit $RC"
    out_has '^usage: fcgipm' || out_has '^Usage: fcgipm' \
        || fail "$h: no usage line on stdout: $(head -3 "$TMP/out")"
done
missing=
for opt in -c --config -b --bind -s --socket -w --workers -m --mode \
           -u --user -g --group -M --socket-mode -U --socket-user \
           -G --socket-group -p --pid-file -l --log --log-level \
           -t --test -D --daemon -V --version -h --help; do
    out_has "(^|[[:space:],])$opt([[:space:],=]|$)" || missing+=" $opt"
done
[ -z "$missing" ] || fail "-h does not list:$missing"
ok "-h and --help exit 0 and list every option of DESIGN.md"

run_fcgipm -V
[ "$RC" = 0 ] || fail "-V: exit $RC"
out_has '^fcgipm .*[0-9]+\.[0-9]+' || fail "-V printed: $(cat "$TMP/out")"
ok "-V prints a version: $(cat "$TMP/out")"

run_fcgipm --no-such-option
[ "$RC" = 64 ] || fail "--no-such-option: exit $RC, not 64"
err_has 'no-such-option' || fail "--no-such-option not named: $(err)"
run_fcgipm -x
[ "$RC" = 64 ] || fail "-x: exit $RC, not 64"
[ -s "$TMP/err" ] || fail "-x: nothing on stderr"
ok "an unknown option exits 64 and says which"

run_fcgipm -w abc -s "$TMP/w.sock" -- "$HELLO"
[ "$RC" = 64 ] || fail "-w abc: exit $RC, not 64: $(err)"
err_has 'abc' || fail "-w abc: value not named: $(err)"
[ ! -e "$TMP/w.sock" ] || fail "-w abc created the socket"
ok "-w abc exits 64: $(head -1 "$TMP/err")"

# A negative count must be refused, with -t and for real; -1 too, which
# is what "not given" looks like inside.
for n in -5 -1; do
    for t in -t ""; do
        run_fcgipm $t -w "$n" -s "$TMP/w.sock" -- "$HELLO"
        case $RC in
        64|78) ;;
        0|124) fail "-w $n ${t:-(run)}: silently ignored (exit $RC)" ;;
        *) fail "-w $n ${t:-(run)}: exit $RC, not 64 or 78: $(err)" ;;
        esac
        err_has "-w|workers" || fail "-w $n: message does not say -w: $(err)"
        [ ! -e "$TMP/w.sock" ] || fail "-w $n ${t:-(run)} created the socket"
    done
    ok "-w $n is refused with exit $RC: $(head -1 "$TMP/err")"
done

run_fcgipm -t -s "$TMP/t.sock" -w 3 -- /bin/true
[ "$RC" = 0 ] || fail "-t -s -w 3 -- /bin/true: exit $RC: $(err)"
out_has "unix:$TMP/t.sock" || fail "-t: listen address missing: $(cat "$TMP/out")"
out_has '^workers = 3$' || fail "-t: no 'workers = 3': $(cat "$TMP/out")"
out_has '^command = .*"/bin/true"' || fail "-t: command missing: $(cat "$TMP/out")"
[ ! -e "$TMP/t.sock" ] || fail "-t created the socket"
ok "-t prints the effective config (listen, workers = 3, command), exit 0"

# --- the command line over the file

cat >"$TMP/two.conf" <<CONF
listen = "unix:$TMP/prec.sock"
workers = 2
command = {"$HELLO"}
CONF
run_fcgipm -t -c "$TMP/two.conf"
out_has '^workers = 2$' || fail "-t -c: file's workers = 2 not shown: $(cat "$TMP/out")"
run_fcgipm -t -c "$TMP/two.conf" -w 4
out_has '^workers = 4$' || fail "-t -c -w 4: $(cat "$TMP/out")"
start_fcgipm -c "$TMP/two.conf" -w 4
wait_workers 4
wait_until 5 answers "unix:$TMP/prec.sock" || fail "precedence pool does not answer"
has_workers 4 || fail "4 workers, then $(worker_count)"
ok "a file with workers = 2 and -w 4: 4 workers actually run"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit $STATUS after TERM"

# --- runtime failures at start-up

run_fcgipm -s "$TMP/no-such-dir/app.sock" -w 1 -- "$HELLO"
[ "$RC" = 1 ] || fail "socket in a missing directory: exit $RC, not 1: $(err)"
grep -qF "$TMP/no-such-dir/app.sock" "$TMP/err" \
    || fail "socket in a missing directory: path not named: $(err)"
err_has 'worker [0-9]+ started' && fail "workers started: $(err)"
ok "-s in a missing directory exits 1: $(grep -F no-such-dir "$TMP/err" | head -1)"

SOCK=$TMP/app.sock
PIDFILE=$TMP/fcgipm.pid
pidfile_is() { [ "$(cat "$PIDFILE" 2>/dev/null)" = "$1" ]; }
start_fcgipm -s "$SOCK" -w 2 -p "$PIDFILE" -M 0600 -- "$HELLO"
first=$FCGIPM_PID
wait_workers 2
wait_until 5 answers "unix:$SOCK" || fail "first master does not answer"
wait_until 5 pidfile_is "$first" \
    || fail "pid file holds '$(cat "$PIDFILE" 2>/dev/null)', not $first"
ok "-p writes the master's pid ($first) to the pid file"

[ "$(stat -c %a "$SOCK")" = 600 ] || fail "-M 0600 gave mode $(stat -c %a "$SOCK")"
ok "-M 0600 gives a 0600 socket"

inode=$(stat -c %i "$SOCK")
before=$(workers "$first")
run_fcgipm -s "$SOCK" -w 1 -- "$HELLO"
[ "$RC" = 1 ] || fail "second master on a live socket: exit $RC, not 1: $(err)"
err_has 'another .*(answers|listening|running|serving)' \
    || fail "second master: no 'another server answers' message: $(err)"
grep -qF "$SOCK" "$TMP/err" || fail "second master: path not named: $(err)"
[ -S "$SOCK" ] && [ "$(stat -c %i "$SOCK")" = "$inode" ] \
    || fail "the second master replaced or removed the live socket"
pid_alive "$first" || fail "the first master died"
[ "$(workers "$first")" = "$before" ] || fail "the first master's workers changed"
served_by "$first" "unix:$SOCK" || fail "the first master no longer serves"
ok "a second master on the live socket exits 1 ($(grep -i another "$TMP/err" | head -1)); the first keeps serving"

run_fcgipm -s "$TMP/other.sock" -p "$PIDFILE" -w 1 -- "$HELLO"
[ "$RC" = 1 ] || fail "second master with the same pid file: exit $RC, not 1: $(err)"
grep -qF "$PIDFILE" "$TMP/err" || fail "pid file not named: $(err)"
err_has "$first|running" || fail "message does not say a master runs: $(err)"
err_has 'worker [0-9]+ started' && fail "the second master started workers: $(err)"
[ ! -e "$TMP/other.sock" ] || fail "the second master left its socket"
pidfile_is "$first" || fail "pid file now holds '$(cat "$PIDFILE" 2>/dev/null)'"
pid_alive "$first" || fail "the first master died"
served_by "$first" "unix:$SOCK" || fail "the first master no longer serves"
ok "a second master with the same pid file exits 1 ($(grep -F "$PIDFILE" "$TMP/err" | head -1)); the first is unaffected"

kill -TERM "$first"
wait_status "$first"
[ "$STATUS" = 0 ] || fail "first master: exit $STATUS after TERM"
[ ! -e "$PIDFILE" ] || fail "pid file left behind"
[ ! -e "$SOCK" ] || fail "socket left behind"
ok "the pid file and the socket are removed at exit"

# --- what is found at the socket path

STALE=$TMP/stale.sock
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$STALE" \
        || fail "python3 could not make a stale socket"
else
    # Without python3: a master killed with SIGKILL leaves its socket.
    start_fcgipm -s "$STALE" -w 1 -- "$HELLO"
    wait_until 5 answers "unix:$STALE" || fail "stale maker does not answer"
    kill -KILL "$FCGIPM_PID"
    wait_status "$FCGIPM_PID"
fi
[ -S "$STALE" ] || fail "no stale socket file to test with"
wait_until 5 eval '! answers "unix:$STALE"' || fail "the stale socket still answers"
start_fcgipm -s "$STALE" -w 1 -- "$HELLO"
wait_until 5 answers "unix:$STALE" || fail "stale socket file not replaced"
served_by "$FCGIPM_PID" "unix:$STALE" || fail "not served by the new master"
ok "a stale socket file is replaced and served"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"

echo "precious" >"$TMP/regular"
run_fcgipm -s "$TMP/regular" -w 1 -- "$HELLO"
[ "$RC" = 1 ] || fail "regular file at the socket path: exit $RC, not 1: $(err)"
grep -qF "$TMP/regular" "$TMP/err" || fail "path not named: $(err)"
[ -f "$TMP/regular" ] && [ "$(cat "$TMP/regular")" = precious ] \
    || fail "the regular file was touched"
ok "a regular file at the socket path: exit 1, file untouched ($(grep -F "$TMP/regular" "$TMP/err" | head -1))"

# --- TCP

port_listened() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
# start_tcp HOST: a master on HOST:PORT with a free port, PORT set; a port
# taken between the check and the bind means another try.
start_tcp() {
    local host=$1 try
    for try in $(seq 20); do
        PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_listened "$PORT" && continue
        start_fcgipm -b "$host:$PORT" -w 1 -- "$HELLO"
        settled() { answers "$host:$PORT" || pid_gone "$FCGIPM_PID"; }
        wait_until 5 settled || fail "$host:$PORT neither answers nor fails"
        pid_alive "$FCGIPM_PID" && return 0
        wait_status "$FCGIPM_PID"
        log_has "$PORT.*in use" || fail "-b $host:$PORT: exit $STATUS"
    done
    fail "no free port in 20 tries"
}

start_tcp 127.0.0.1
served_by "$FCGIPM_PID" "127.0.0.1:$PORT" || fail "127.0.0.1:$PORT not served"
ok "-b 127.0.0.1:$PORT serves"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"

if ip -6 addr show lo 2>/dev/null | grep -q 'inet6 ::1/'; then
    start_tcp '[::1]'
    served_by "$FCGIPM_PID" "[::1]:$PORT" || fail "[::1]:$PORT not served"
    ok "-b [::1]:$PORT serves"
    kill -TERM "$FCGIPM_PID"
    wait_status "$FCGIPM_PID"
else
    echo "# no ::1 on lo: the IPv6 check is skipped"
fi
done_testing
