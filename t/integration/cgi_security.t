# CGI mode as a security boundary (issue 10): what a script starts outside
# its process group (setsid, a double-forked daemon) is killed after the
# request; request_timeout holds while the web server stalls a body half
# way or does not read a large response (504 or a cut response, the script
# killed, the worker free for the next request); a symbolic link swapped
# under cgi_root while requests run never runs a script outside it; a
# setuid program under cgi_root keeps the pool user's rights unless
# cgi_no_new_privs = false; a chroot without /proc runs compiled scripts
# and still refuses fcgipm's own binary.
. "$(dirname "$0")/lib.sh"

FIXTURES=$(cd "$(dirname "$0")/../cgi" && pwd)
ROOT=$TMP/cgi-bin
SOCK=$TMP/main.sock
SLOW=$TMP/slow.sock
RACE=$TMP/race.sock
CONF=$TMP/fcgipm.conf

mkdir -p "$ROOT"
cp -p "$FIXTURES"/*.sh "$ROOT"/

cat >"$CONF" <<CONF
listen = "unix:$SOCK"
mode = cgi
cgi_root = "$ROOT"
workers = 1
pool "slow" {
    listen = "unix:$SLOW"
    mode = cgi
    cgi_root = "$ROOT"
    workers = 1
    request_timeout = "2s"
    kill_timeout = "1s"
}
pool "race" {
    listen = "unix:$RACE"
    mode = cgi
    cgi_root = "$ROOT"
    workers = 4
}
CONF
"$FCGIPM" -t -c "$CONF" >"$TMP/check.out" 2>&1 \
    || skip "this fcgipm cannot run mode = cgi: $(tail -1 "$TMP/check.out")"
start_fcgipm -c "$CONF"
wait_workers 6

# get SOCKET SCRIPT [ARGS...]: one request; the body in $TMP/body and the
# status in CODE (200 when there is no Status line), the time in MS.
get() {
    local addr=$1 file=$2 start
    shift 2
    start=${EPOCHREALTIME/./}
    "$FCGI_REQUEST" -i -t 20 -p "SCRIPT_FILENAME=$file" "$@" \
        "unix:$addr" /cgi >"$TMP/resp" 2>"$TMP/resp.err"
    MS=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
    tr -d '\r' <"$TMP/resp" | sed '1,/^$/d' >"$TMP/body"
    CODE=$(tr -d '\r' <"$TMP/resp" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
    [ -n "$CODE" ] || CODE=200
    [ -s "$TMP/resp" ] || CODE="none: $(cat "$TMP/resp.err")"
}
answers_200() { get "$@" && [ "$CODE" = 200 ]; }
wait_until 5 answers_200 "$SOCK" "$ROOT/hello.sh" || fail "the pool does not answer"

# --- What a script leaves outside its process group ---------------------

for how in plain hold; do
    rm -f "$TMP/escape.setsid" "$TMP/escape.daemon"
    get "$SOCK" "$ROOT/escape.sh" -p "QUERY_STRING=$how"
    [ "$CODE" = 200 ] || fail "escape.sh ($how): $CODE $(cat "$TMP/resp")"
    grep -qx escaped "$TMP/body" || fail "escape.sh ($how): $(cat "$TMP/body")"
    [ "$MS" -lt 5000 ] || fail "escape.sh ($how) took ${MS}ms"
    for f in escape.setsid escape.daemon; do
        pid=$(cat "$TMP/$f") || fail "escape.sh ($how) wrote no $f"
        wait_gone "$pid" 5 \
            || fail "$f $pid ($(ps -o sid=,pgid=,ppid=,args= -p "$pid")) \
outlives the request ($how)"
    done
    ok "escape.sh ($how): a setsid process and a double-forked daemon are" \
       "killed after the request (${MS}ms)"
done
wait_log "escape\.sh: reaped [0-9]+ processes it left behind"
ok "the log says what the worker reaped"

# --- request_timeout while the web server blocks the worker -------------

# A FastCGI client that misbehaves, in Perl (no module beyond the core):
#   stall SOCK SCRIPT: a POST of 100000 bytes that sends 50000 in a whole
#     record, then 10 bytes of a 1000-byte record, and nothing more; reads
#     what comes back and prints "eof=1 secs=S status=N" once the worker
#     closes (or eof=0 after 20 s).
#   noread SOCK SCRIPT: a request whose response it never reads; sleeps.
cat >"$TMP/client.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
use Time::HiRes qw(time sleep);

my ($mode, $path, $script) = @ARGV;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
    or die "connect $path: $!\n";
$s->autoflush(1);
sub record {
    my ($type, $content, $len) = @_;
    $len //= length $content;
    my $pad = (8 - $len % 8) % 8;
    my $rec = pack('CCnnCC', 1, $type, 1, $len, $pad, 0) . $content;
    return length $content == $len ? $rec . ("\0" x $pad) : $rec;
}
sub pair {
    my ($n, $v) = @_;
    my $l = sub { $_[0] < 128 ? pack('C', $_[0])
                              : pack('N', $_[0] | 0x80000000) };
    return $l->(length $n) . $l->(length $v) . $n . $v;
}
my %p = (SCRIPT_FILENAME => $script, REQUEST_METHOD => 'GET',
         SCRIPT_NAME => '/cgi', SERVER_PROTOCOL => 'HTTP/1.1');
@p{qw(REQUEST_METHOD CONTENT_LENGTH)} = ('POST', 100000) if $mode eq 'stall';
print $s record(1, pack('nCx5', 1, 0));
print $s record(4, join('', map { pair($_, $p{$_}) } sort keys %p));
print $s record(4, '');
if ($mode eq 'noread') {
    sleep 30;
    exit 0;
}
print $s record(5, 'x' x 50000);
print $s record(5, 'y' x 10, 1000);
my ($start, $got, $eof) = (time, '', 0);
while (time - $start < 20) {
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    next unless select(my $rout = $rin, undef, undef, 0.1);
    my $n = sysread($s, my $buf, 65536);
    if (!$n) {
        $eof = 1;
        last;
    }
    $got .= $buf;
}
my ($status) = $got =~ /Status: (\d+)/;
printf "eof=%d secs=%.1f status=%s\n", $eof, time - $start, $status // 'none';
PERL

rm -f "$TMP/slurp.pid"
perl "$TMP/client.pl" stall "$SLOW" "$ROOT/slurp.sh" >"$TMP/stall.out" 2>&1 &
client=$!
STARTED_PIDS+=("$client")
wait_until 10 test -s "$TMP/slurp.pid" || fail "slurp.sh did not start"
script=$(cat "$TMP/slurp.pid")
wait_status "$client"
read -r stall <"$TMP/stall.out"
case $stall in
eof=1\ secs=[0-4].*\ status=504) ;;
*) fail "a body stalled half way: '$stall' (want eof within 5 s and a 504)" ;;
esac
wait_gone "$script" 3 || fail "slurp.sh $script outlived request_timeout"
wait_log "pool slow: worker [0-9]+: $ROOT/slurp\.sh: pid $script timed out \
after 2\.[0-9]s"
answers_200 "$SLOW" "$ROOT/hello.sh" && [ "$MS" -lt 2000 ] \
    || fail "the worker does not serve after a stalled body: $CODE in ${MS}ms"
ok "a body stalled half way: $stall, script killed, logged, worker free"

rm -f "$TMP/flood.pid"
start=${EPOCHREALTIME/./}
perl "$TMP/client.pl" noread "$SLOW" "$ROOT/flood.sh" >"$TMP/noread.out" 2>&1 &
client=$!
STARTED_PIDS+=("$client")
wait_until 10 test -s "$TMP/flood.pid" || fail "flood.sh did not start"
script=$(cat "$TMP/flood.pid")
wait_log "pool slow: worker [0-9]+: $ROOT/flood\.sh: pid $script timed out \
after 2\.[0-9]s" 6
wait_gone "$script" 3 || fail "flood.sh $script outlived request_timeout"
answers_200 "$SLOW" "$ROOT/hello.sh" \
    || fail "the worker does not serve while a client does not read: $CODE"
ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
[ "$ms" -lt 6000 ] || fail "the next request was answered ${ms}ms later"
pid_alive "$client" || fail "the client that does not read has gone: test broken"
kill "$client"
ok "a response nobody reads: script killed at request_timeout, logged," \
   "worker free ${ms}ms after the request began"

# --- A symbolic link swapped under cgi_root while it is checked ---------

# valgrind (make valgrind) runs a worker's execveat as an execve of the
# path its descriptor had: the race would be valgrind's, so it is not run.
VG=${TEST_UNDER_VALGRIND:-}
if [ -z "$VG" ]; then

printf '#!/bin/sh\necho x >>"%s"\nprintf "Content-Type: text/plain\\n\\noutside\\n"\n' \
    "$TMP/outside-ran" >"$TMP/outside.sh"
chmod 755 "$TMP/outside.sh"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\ninside\\n"\n' \
    >"$ROOT/inside.sh"
chmod 755 "$ROOT/inside.sh"
cp -p "$ROOT/inside.sh" "$ROOT/race.sh"
# race.sh flips between a hard link of inside.sh and a link out of the
# root, each by one rename, as fast as Perl goes.
perl -e '
    my ($d, $out, $stop) = @ARGV;
    until (-e $stop) {
        unlink "$d/.f";
        link("$d/inside.sh", "$d/.f") and rename("$d/.f", "$d/race.sh");
        unlink "$d/.l";
        symlink($out, "$d/.l") and rename("$d/.l", "$d/race.sh");
    }' "$ROOT" "$TMP/outside.sh" "$TMP/race.stop" &
flipper=$!
STARTED_PIDS+=("$flipper")
"$FCGI_REQUEST" -c 4 -d 4 -t 10 -p "SCRIPT_FILENAME=$ROOT/race.sh" \
    "unix:$RACE" /cgi >"$TMP/race.out" 2>&1
touch "$TMP/race.stop"
wait "$flipper"
summary=$(grep -o 'requests=[0-9]* errors=[0-9]*' "$TMP/race.out") \
    || fail "load: $(tail -3 "$TMP/race.out")"
set -- ${summary//[a-z=]/ }
[ "$1" -gt "$2" ] || fail "no request ran inside.sh: $summary"
[ "$2" -gt 0 ] || fail "no request was refused: the race did not happen: $summary"
[ -e "$TMP/outside-ran" ] \
    && fail "outside.sh ran $(wc -l <"$TMP/outside-ran") times: $summary"
ok "a link flipped in and out of cgi_root under load: $summary," \
   "outside.sh never ran"
fi

# --- As a pool user: setuid programs, and a chroot ----------------------

[ "$(id -u)" = 0 ] || skip "pool users, setuid programs and chroot need root"
# Under make valgrind a worker running as nobody cannot create the log
# file valgrind opens for each process it forks: no script would run.
[ -n "$VG" ] && done_testing
chmod 755 "$TMP"
PRIV=$TMP/priv-bin
JAIL=$TMP/jail
mkdir -p "$PRIV" "$JAIL/cgi-bin"
cp -p "$ROOT/euid.sh" "$PRIV/"
cp "$(command -v id)" "$PRIV/suid-id"
chown root:root "$PRIV/suid-id"
chmod 4755 "$PRIV/suid-id"
# A compiled CGI program of its own: the test apps of make asan need /proc.
need "${CC:-cc}"
printf '#include <stdio.h>\nint main(void) { printf("%s"); return 0; }\n' \
    'Content-Type: text/plain\r\n\r\ncompiled CGI\n' >"$TMP/tiny.c"
"${CC:-cc}" -o "$JAIL/cgi-bin/tiny" "$TMP/tiny.c" || fail "cannot build tiny.c"
# The jail holds what it needs to run, and no /proc.
for lib in $(ldd "$JAIL/cgi-bin/tiny" | grep -o '/[^ ]*'); do
    mkdir -p "$JAIL$(dirname "$lib")"
    cp -L "$lib" "$JAIL$lib"
done
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\n' \
    >"$JAIL/cgi-bin/shell.sh"
chmod 755 "$JAIL/cgi-bin/shell.sh"
ln "$FCGIPM_BIN" "$JAIL/cgi-bin/fcgipm" 2>/dev/null || true

NNP=$TMP/nnp.sock
SUID=$TMP/suid.sock
JSOCK=$TMP/jail.sock
pool() {
    printf 'pool "%s" {\n    mode = cgi\n    user = nobody\n' "$1"
    printf '    group = nogroup\n    workers = 1\n    listen = "unix:%s"\n' "$2"
    printf '    %s\n' "${@:3}"
    printf '}\n'
}
{
    pool nnp "$NNP" "cgi_root = \"$PRIV\""
    pool suid "$SUID" "cgi_root = \"$PRIV\"" "cgi_no_new_privs = false"
        pool jail "$JSOCK" "chroot = \"$JAIL\"" "cgi_root = \"/cgi-bin\""
} >"$TMP/priv.conf"
"$FCGIPM" -c "$TMP/priv.conf" >>"$LOG" 2>&1 &
priv_master=$!
STARTED_PIDS+=("$priv_master")
wait_until 10 answers_200 "$NNP" "$PRIV/euid.sh" \
    || fail "the nnp pool does not answer: $CODE $(cat "$TMP/body")"
nobody=$(id -u nobody)
grep -qx "ruid=$nobody euid=$nobody" "$TMP/body" \
    || fail "a setuid program with cgi_no_new_privs: $(cat "$TMP/body")"
grep -q "^argv0=/dev/fd/[0-9]*$" "$TMP/body" \
    || fail "a #! script's \$0 is not /dev/fd/N: $(cat "$TMP/body")"
ok "cgi_no_new_privs (default): a setuid-root program runs as nobody;" \
   "a script's \$0 is /dev/fd/N"
wait_until 10 answers_200 "$SUID" "$PRIV/euid.sh" \
    || fail "the suid pool does not answer: $CODE $(cat "$TMP/body")"
grep -qx "ruid=$nobody euid=0" "$TMP/body" \
    || fail "a setuid program with cgi_no_new_privs = false: $(cat "$TMP/body")"
ok "cgi_no_new_privs = false: the setuid-root program gets euid 0"

wait_until 10 answers_200 "$JSOCK" /cgi-bin/tiny \
    || fail "a compiled script in a chroot without /proc: $CODE $(cat "$TMP/body")"
grep -qx "compiled CGI" "$TMP/body" || fail "tiny in the jail: $(cat "$TMP/body")"
ok "chroot without /proc: a compiled script runs"
wait_log "pool jail: worker [0-9]+: cannot list its children in /proc"
ok "chroot without /proc: the log says what leaves a script's group survives"
if [ -e "$JAIL/cgi-bin/fcgipm" ]; then
    get "$JSOCK" /cgi-bin/fcgipm
    [ "$CODE" = 403 ] || fail "fcgipm in the jail: $CODE $(cat "$TMP/body")"
    wait_log "pool jail: worker [0-9]+: refused /cgi-bin/fcgipm: is fcgipm itself: 403"
    ok "chroot without /proc: fcgipm's binary, hard-linked there, is refused"
fi
done_testing
