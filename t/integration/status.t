# The status socket: the master answers /ping and /status (text, JSON,
# OpenMetrics, ?full) for an exec and a module pool, also while every
# worker is busy, reports a waiting Unix socket's accept queue, and
# shrugs off garbage, cut records, huge lengths, 200 idle connections
# and a client that never reads; then nginx serves it through the
# shipped etc/examples/nginx-status.conf. After a reload from 2 to 20
# workers, ?full has every worker's scoreboard row and requests. Last,
# the status socket is bound like a pool's (a stale file replaced, a
# live one not) and passes to a new master by descriptor (USR2).
. "$(dirname "$0")/lib.sh"

need perl
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MOD=$TEST_APPS/testmod.so
APP=$TMP/app.sock
MODS=$TMP/mod.sock
SSOCK=$TMP/status.sock
cat >"$TMP/fcgipm.conf" <<CONF
status_listen = "unix:$SSOCK"
pid_file = "$TMP/fcgipm.pid"
log_level = debug
pool "app" {
    listen = "unix:$APP"
    command = {"$HELLO"}
    workers = 2
}
pool "mod" {
    listen = "unix:$MODS"
    mode = module
    module = "$MOD"
    workers = 2
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 4
wait_until 10 answers "unix:$SSOCK" /ping \
    || fail "status socket does not answer"

# st [ARGS...] URI: a request to the status socket.
st() { "$FCGI_REQUEST" "${@:1:$#-1}" "unix:$SSOCK" "${@: -1}"; }

[ "$(st /ping)" = pong ] || fail "/ping did not answer pong"
st -i /ping | grep -q '^Content-Type: text/plain' || fail "/ping content type"
st /nowhere >/dev/null 2>&1
[ $? = 22 ] || fail "/nowhere was not a 404"
st -p DOCUMENT_URI=/ping /status >"$TMP/out" || fail "DOCUMENT_URI route"
[ "$(cat "$TMP/out")" = pong ] || fail "DOCUMENT_URI does not win over the URI"
ok "/ping answers pong; unknown paths 404; DOCUMENT_URI routes"

st /status >"$TMP/text" || fail "/status failed"
for want in "pool:                 app" "pool:                 mod" \
    "process manager:      static" "mode:                 exec" \
    "listen:               unix:$APP" "accepted conn:        -" \
    "listen queue len:     511"; do
    grep -qxF "$want" "$TMP/text" || fail "no '$want' in: $(cat "$TMP/text")"
done
[ "$(grep -c '^total processes:      2$' "$TMP/text")" = 2 ] \
    || fail "total processes: $(grep total "$TMP/text")"
grep -qx 'idle processes:       2' "$TMP/text" || fail "mod idle processes"
grep -Eq '^start time: +[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:' "$TMP/text" \
    || fail "human start time"
grep -vqE '^$|^[a-z A-Z]+: +[^ ]' "$TMP/text" \
    && fail "a line is not 'key: value'"
ok "text: php-fpm's layout, one block per pool, exec counts shown as -"

# json_check FILE: valid JSON, by whatever checker this machine has.
json_check() {
    if command -v python3 >/dev/null; then
        python3 -m json.tool "$1" >/dev/null
    elif command -v jq >/dev/null; then
        jq . "$1" >/dev/null
    else
        perl -MJSON::PP -e 'local $/; JSON::PP->new->decode(<STDIN>)' <"$1"
    fi
}
st '/status?json' >"$TMP/json" || fail "/status?json failed"
json_check "$TMP/json" || fail "invalid JSON: $(cat "$TMP/json")"
st -i '/status?json' | grep -q '^Content-Type: application/json' \
    || fail "JSON content type"
perl -MJSON::PP -e '
    local $/; my $j = JSON::PP->new->decode(<STDIN>);
    my %p = map { $_->{pool} => $_ } @{$j->{pools}};
    die "pools\n" unless keys %p == 2;
    die "exec accepted\n" if defined $p{app}{"accepted conn"};
    die "mod idle\n" unless $p{mod}{"idle processes"} == 2;
    die "listen\n" unless $p{app}{listen}[0] =~ /app\.sock$/;
    die "crash loop\n" unless JSON::PP::is_bool($p{mod}{"crash loop"});
' <"$TMP/json" || fail "JSON content: $(cat "$TMP/json")"
ok "?json: valid, one object per pool, exec counts null"

# om_check FILE: the OpenMetrics text exposition rules.
om_check() {
    perl -e '
        my ($fam, $type, %seen, $eof);
        my $label = q{[a-zA-Z_]\w*="(?:[^"\\\\\n]|\\\\[\\\\"n])*"};
        my $num = q{-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?};
        while (<>) {
            die "line after # EOF: $_" if $eof;
            die "no newline at the end\n" unless chomp;
            if ($_ eq "# EOF") { $eof = 1; next }
            if (/^# TYPE (\S+) (gauge|counter|info)$/) {
                die "family $1 twice\n" if $seen{$1}++;
                ($fam, $type) = ($1, $2);
                next;
            }
            if (/^# HELP (\S+) \S/) {
                die "HELP of $1 in family $fam\n" unless $1 eq $fam;
                next;
            }
            die "not a sample: $_\n"
                unless /^([a-zA-Z_:][\w:]*)(\{$label(,$label)*\})? $num$/;
            my $want = $fam . ($type eq "counter" ? "_total"
                               : $type eq "info" ? "_info" : "");
            die "sample $1 outside its family ($want)\n"
                unless defined $fam && $1 eq $want;
        }
        die "no # EOF\n" unless $eof;
    ' "$1"
}
st '/status?openmetrics' >"$TMP/om" || fail "/status?openmetrics failed"
om_check "$TMP/om" || fail "bad OpenMetrics: $(cat "$TMP/om")"
OM_TYPE='application/openmetrics-text; version=1.0.0; charset=utf-8'
st -i '/status?openmetrics' | grep -qF "Content-Type: $OM_TYPE" \
    || fail "OpenMetrics content type"
grep -qx 'fcgipm_total_processes{pool="app"} 2' "$TMP/om" \
    || fail "no total for app: $(cat "$TMP/om")"
grep -q '^fcgipm_idle_processes{pool="app"}' "$TMP/om" \
    && fail "exec idle count exposed"
ok "?openmetrics: TYPE before samples, _total counters, # EOF last"

st '/status?full' >"$TMP/full" || fail "/status?full failed"
diff <(workers) <(sed -n 's/^pid: *//p' "$TMP/full" | sort) \
    || fail "?full pids are not the workers"
[ "$(grep -c '^state: *running$' "$TMP/full")" = 2 ] || fail "exec states"
[ "$(grep -c '^state: *idle$' "$TMP/full")" = 2 ] || fail "module states"
st '/status?json&full' >"$TMP/jfull" || fail "?json&full failed"
json_check "$TMP/jfull" || fail "invalid ?json&full"
st '/status?openmetrics&full' >"$TMP/omfull" || fail "?openmetrics&full"
om_check "$TMP/omfull" || fail "bad OpenMetrics with full"
[ "$(grep -c '^fcgipm_worker_info{' "$TMP/omfull")" = 4 ] \
    || fail "worker rows in OpenMetrics"
ok "?full: a row per worker with the right pids, in every format"

# --- every worker busy -----------------------------------------------------
BUSY=()
for i in 1 2 3; do
    "$FCGI_REQUEST" -t 20 "unix:$APP" "/?sleep=1500" >/dev/null 2>&1 &
    BUSY+=("$!")
    "$FCGI_REQUEST" -t 20 "unix:$MODS" "/x?sleep=1500" >/dev/null 2>&1 &
    BUSY+=("$!")
done
mod_busy() {
    st '/status?full' >"$TMP/busy" 2>/dev/null \
        && grep -qx 'active processes:     2' "$TMP/busy" \
        && [ "$(grep -c '^request URI: *\/x?sleep=1500$' "$TMP/busy")" = 2 ] \
        && [ "$(grep -c '^listen queue: *1$' "$TMP/busy")" = 2 ]
}
wait_until 5 mod_busy || fail "not every worker busy: $(cat "$TMP/busy")"
start=${EPOCHREALTIME/./}
st -t 2 /status >"$TMP/text" || fail "no status while every worker is busy"
took=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
[ "$took" -lt 1000 ] || fail "status took ${took}ms while workers were busy"
grep -q '^request method: *GET$' "$TMP/busy" || fail "busy method"
grep -Eq '^request duration: +[0-9]+$' "$TMP/busy" || fail "busy duration"
ok "status answers in ${took}ms while every worker of both pools is busy"
ok "a waiting connection shows in each Unix socket's listen queue"
for pid in "${BUSY[@]}"; do wait "$pid" || fail "a slow request failed"; done
st /status >"$TMP/text" || fail "/status after the load"
# Each pool's third client waited; the two before it may have queued
# too, before a worker accepted.
grep -Eqx 'max listen queue: +[1-3]' "$TMP/text" \
    && grep -qx 'max active processes: 2' "$TMP/text" \
    && grep -qx 'active processes:     0' "$TMP/text" \
    || fail "peaks not kept: $(cat "$TMP/text")"
ok "max listen queue and max active processes keep their peaks"

# --- hostile clients ---------------------------------------------------------
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$FCGIPM_PID/status"; }
rss_before=$(rss)
# raw MODE: a client of the status socket, written in perl. Run it in a
# subshell ($(...) or &): it execs, so that its pid is perl's.
raw() {
    exec perl -MIO::Socket::UNIX -MIO::Select -e '
        my ($mode, $path) = @ARGV;
        sub rec {
            my ($type, $id, $c) = @_;
            my $pad = (8 - length($c) % 8) % 8;
            pack("CCnnCx", 1, $type, $id, length $c, $pad) . $c . "\0" x $pad;
        }
        sub pair { chr(length $_[0]) . chr(length $_[1]) . $_[0] . $_[1] }
        sub connect_status {
            IO::Socket::UNIX->new(Peer => $path, Type => SOCK_STREAM)
                or die "connect: $!\n";
        }
        # closed S SECONDS: whether the server closes s within SECONDS.
        sub closed {
            my ($s, $secs) = @_;
            my $sel = IO::Select->new($s);
            my $start = time;
            while (time < $start + $secs) {
                next unless $sel->can_read(0.2);
                my $n = sysread($s, my $buf, 65536);
                return 1 + time - $start if !defined $n || $n == 0;
            }
            return 0;
        }
        my $begin = rec(1, 1, pack("nCx5", 1, 1));
        if ($mode eq "garbage") {
            my $s = connect_status();
            syswrite($s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n" x 20);
            print closed($s, 3) ? "closed\n" : "open\n";
        } elsif ($mode eq "truncated") {
            my $s = connect_status();
            syswrite($s, $begin . substr(rec(4, 1, pair("A", "B")), 0, 5));
            shutdown($s, 1);
            print closed($s, 3) ? "closed\n" : "open\n";
        } elsif ($mode eq "hugepair") {
            my $s = connect_status();
            # A pair whose name claims 2 GiB, in a record of 8 bytes.
            syswrite($s, $begin . rec(4, 1, "\xff\xff\xff\xff\x01abc")
                         . rec(4, 1, ""));
            print closed($s, 3) ? "closed\n" : "open\n";
        } elsif ($mode eq "hugerecord") {
            my $s = connect_status();
            # A record that declares 65535 bytes and sends 100.
            syswrite($s, $begin . pack("CCnnCx", 1, 4, 1, 65535, 0)
                         . "x" x 100);
            my $after = closed($s, 9);
            print $after ? "closed after " . ($after - 1) . "s\n" : "open\n";
        } elsif ($mode eq "hugeparams") {
            my $s = connect_status();
            my $big = rec(4, 1, pair("X", "v" x 100) x 600);
            syswrite($s, $begin . $big x 3);
            print closed($s, 3) ? "closed\n" : "open\n";
        } elsif ($mode eq "idle") {
            my @s = map { connect_status() } 1 .. 200;
            print "open\n";
            $| = 1;
            sleep 30;
        } elsif ($mode eq "noread") {
            my $s = connect_status();
            my $req = rec(1, 1, pack("nCx5", 1, 1)) . rec(4, 1,
                   pair("REQUEST_URI", "/status?full")) . rec(4, 1, "");
            $s->blocking(0);
            my $sent = 0;
            for (1 .. 20000) {
                my $n = syswrite($s, $req);
                last unless defined $n && $n == length $req;
                $sent++;
            }
            print "sent $sent\n";
            $| = 1;
            sleep 6;
            $s->blocking(1);
            print closed($s, 5) ? "closed\n" : "open\n";
        }
    ' "$1" "$SSOCK"
}

for mode in garbage truncated hugepair hugeparams; do
    [ "$(raw $mode)" = closed ] || fail "$mode: the master kept the connection"
    answers "unix:$SSOCK" /ping || fail "no answer after $mode"
done
ok "garbage, a cut record, a 2 GiB pair, 100 KiB of params: closed at once"

raw hugerecord >"$TMP/hugerecord" &
HUGE=$!
raw noread >"$TMP/noread" &
NOREAD=$!
STARTED_PIDS+=("$HUGE" "$NOREAD")
sent_some() { grep -qs sent "$TMP/noread"; }
wait_until 10 sent_some || fail "the non-reading client did not start"
st -t 2 '/status?full' >/dev/null || fail "no status beside a non-reader"
wait_status "$HUGE"
grep -Eqx 'closed after [4-9]s' "$TMP/hugerecord" \
    || fail "a cut 64 KiB record: $(cat "$TMP/hugerecord")"
ok "a record that never completes is closed at the client timeout"
wait_status "$NOREAD"
grep -qx closed "$TMP/noread" || fail "non-reader: $(cat "$TMP/noread")"
rss_after=$(rss)
[ $((rss_after - rss_before)) -lt 20000 ] \
    || fail "master grew from ${rss_before} to ${rss_after} kB"
ok "a client that never reads ($(head -1 "$TMP/noread") requests) is dropped;\
 the master stays at ${rss_after} kB"

raw idle >"$TMP/idle" &
IDLE=$!
STARTED_PIDS+=("$IDLE")
idle_open() { grep -qs open "$TMP/idle"; }
wait_until 10 idle_open || fail "could not open 200 idle connections"
for i in 1 2 3; do
    st -t 2 /status >/dev/null || fail "no status with 200 idle clients"
done
kill -TERM "$IDLE" 2>/dev/null
wait "$IDLE" 2>/dev/null
ok "200 idle connections: the master still answers (oldest closed)"

pid_alive "$FCGIPM_PID" || fail "the master died"
[ "$(st /ping)" = pong ] || fail "no pong after the hostile clients"
log_has 'AddressSanitizer|runtime error|Segmentation|assert' \
    && fail "the log shows a crash"
log_has 'status .*closing a client' || fail "bad clients were not logged"
ok "the master is alive, answers, logged the bad clients at debug"

# --- upgrade and reload ------------------------------------------------------
inode=$(stat -c %i "$SSOCK")
upgrade_master "$TMP/fcgipm.pid"
wait_workers 4
same_pids() {
    diff <(workers) <(st '/status?full' | sed -n 's/^pid: *//p' | sort) \
        >/dev/null
}
wait_until 10 same_pids || fail "after USR2, ?full shows other pids"
log_has "status unix:$SSOCK: adopted fd [0-9]+ from the old master" \
    || fail "the new master did not take the status socket over"
[ "$(stat -c %i "$SSOCK")" = "$inode" ] \
    || fail "the status socket file was recreated, not handed over"
ok "after USR2 the new master answers on the same status socket"
# A status_listen that cannot be bound fails the reload before anything
# is swapped: the log names the key, the old socket answers where it was.
cp "$TMP/fcgipm.conf" "$TMP/good.conf"
sed -i "s|^status_listen = .*|status_listen = \"unix:$TMP/missing/s.sock\"|" \
    "$TMP/fcgipm.conf"
reloads=$(log_count 'reload: done')
kill -HUP "$FCGIPM_PID"
wait_log "error .*reload: status_listen: cannot bind unix:$TMP/missing/s.sock: No such file or directory; keeping the running configuration"
[ "$(log_count 'reload: done')" = "$reloads" ] \
    || fail "a reload whose status_listen cannot be bound said it was done"
answers "unix:$SSOCK" /ping || fail "the old status socket no longer answers"
cp "$TMP/good.conf" "$TMP/fcgipm.conf"
ok "a status_listen that cannot be bound fails the reload (logged with the "\
"key); the old status socket answers"
sed -i "s|^status_listen = .*|status_listen = \"unix:$TMP/status2.sock\"|" \
    "$TMP/fcgipm.conf"
kill -HUP "$FCGIPM_PID"
wait_until 10 answers "unix:$TMP/status2.sock" /ping \
    || fail "a reload did not move the status socket"
[ -e "$SSOCK" ] && fail "the old status socket file is left after a reload"
SSOCK=$TMP/status2.sock
ok "a reload moves the status socket and removes the old file"

# Owner and mode: what lets a front-end in without 0666. They are set
# before the reload says it is done, so that whoever waits for that finds
# them: the log has the one line before the other.
want_perm="640 $(id -un):$(id -gn)"
sed -i "/^status_listen/a status_socket_mode = 0640" "$TMP/fcgipm.conf"
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null \
    && getent group nogroup >/dev/null; then
    sed -i "/^status_socket_mode/a status_socket_user = \"nobody\"\\
status_socket_group = \"nogroup\"" "$TMP/fcgipm.conf"
    want_perm="640 nobody:nogroup"
fi
reloads=$(log_count 'reload: done')
kill -HUP "$FCGIPM_PID"
reloaded() { [ "$(log_count 'reload: done')" -gt "$reloads" ]; }
wait_until 10 reloaded || fail "no reload"
perm=$(stat -c '%a %U:%G' "$SSOCK")
[ "$perm" = "$want_perm" ] || fail "status socket is $perm"
# last_line REGEX: the number of the last log line matching REGEX.
last_line() { grep -nE -- "$1" "$LOG" | tail -1 | cut -d: -f1; }
applied=$(last_line "status unix:$SSOCK: mode 0640 and owner applied")
done_at=$(last_line 'reload: done')
[ -n "$applied" ] && [ "$applied" -lt "$done_at" ] \
    || fail "mode and owner applied at log line ${applied:-none}, after\
 'reload: done' at line $done_at"
[ "$(st /ping)" = pong ] || fail "/ping after the owner changed"
ok "a reload gives the status socket status_socket_mode (${want_perm})" \
    "before it logs 'reload: done'"

# --- through nginx, with the shipped example ---------------------------------
if { command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 \
    && command -v curl >/dev/null 2>&1; then
    . "$(dirname "$0")/nginx.sh"
    NGINX_LOCATIONS=$(sed -e "s|unix:/run/fcgipm-status.sock|unix:$SSOCK|" \
        -e 's|include fastcgi_params;|include /etc/nginx/fastcgi_params;|' \
        "$ROOT/etc/examples/nginx-status.conf")
    start_nginx
    get /ping
    [ "$CODE" = 200 ] && [ "$(cat "$TMP/body")" = pong ] \
        || fail "nginx /ping: $CODE $(cat "$TMP/body")"
    get '/status?json&full'
    [ "$CODE" = 200 ] && json_check "$TMP/body" || fail "nginx /status?json"
    get '/status?openmetrics'
    om_check "$TMP/body" || fail "nginx /status?openmetrics"
    get /other
    [ "$CODE" = 404 ] || fail "nginx /other: $CODE"
    stop_nginx || fail "nginx did not stop"
    ok "etc/examples/nginx-status.conf serves /ping and /status via nginx"
elif [ "${CI:-}" = true ]; then
    fail "nginx or curl is not installed"
fi

# The upgraded master is not our child: wait for it by pid.
kill -QUIT "$FCGIPM_PID"
wait_gone "$FCGIPM_PID" 20 || fail "fcgipm did not exit on QUIT"
log_has "fcgipm $FCGIPM_PID exiting with status 0" || fail "fcgipm failed"
[ -e "$SSOCK" ] && fail "the status socket file was left behind"

# --- a reload that raises max_workers: every worker on the scoreboard -------
# The scoreboard is mapped before the first worker and never again: after
# a reload from 2 to 20 workers, each new one must still have a slot in
# it, where the master reads its state and requests.
LOG=$TMP/grow.log
GROW=$TMP/grow.sock
SSOCK=$TMP/grow-status.sock
grow_conf() {
    cat >"$TMP/grow.conf" <<CONF
status_listen = "unix:$SSOCK"
pool "mod" {
    listen = "unix:$GROW"
    mode = module
    module = "$MOD"
    workers = $1
    max_workers = $1
}
CONF
}
grow_conf 2
start_fcgipm -c "$TMP/grow.conf"
wait_workers 2
wait_until 10 answers "unix:$SSOCK" /ping \
    || fail "status socket does not answer"
before=$(workers)
grow_conf 20
kill -HUP "$FCGIPM_PID"
replaced() {
    has_workers 20 && [ -z "$(comm -12 <(echo "$before") <(workers))" ]
}
wait_until 20 replaced || fail "reload to 20 workers: have $(workers)"
# rows: "pid state requests", a line per ?full row, by pid.
rows() {
    st '/status?full' | awk '/^pid:/ { pid = $2 } /^state:/ { state = $2 }
        /^requests:/ { print pid, state, $2 }' | sort -n
}
all_idle() {
    rows >"$TMP/rows" 2>/dev/null
    [ "$(wc -l <"$TMP/rows")" = 20 ] \
        && [ "$(grep -cE '^[0-9]+ idle [0-9]+$' "$TMP/rows")" = 20 ]
}
wait_until 10 all_idle || fail "not every worker idle with data in ?full:
$(cat "$TMP/rows")"
diff <(workers) <(cut -d' ' -f1 "$TMP/rows") \
    || fail "?full pids are not the workers"
ok "a reload from 2 to 20 workers: ?full shows all 20 idle, none without data"

# Slow requests side by side, so that they spread over the workers; each
# answer names its worker and how many requests that one has served.
GROW_REQS=()
for i in $(seq 20); do
    "$FCGI_REQUEST" -t 20 "unix:$GROW" "/g?sleep=1000" >"$TMP/g.$i" 2>&1 &
    GROW_REQS+=("$!")
done
for pid in "${GROW_REQS[@]}"; do wait "$pid" || fail "a request failed"; done
awk '{ if ($2 > n[$1]) n[$1] = $2 } END { for (p in n) print p, n[p] }' \
    "$TMP"/g.* | sort -n >"$TMP/served"
# Every row idle again with the count its worker answered (0 if none); a
# worker ends a request in the scoreboard after the answer is sent.
counted() {
    rows >"$TMP/rows" 2>/dev/null
    awk 'NR == FNR { n[$1] = $2; next }
         { rows++; if ($2 != "idle" || $3 != n[$1] + 0) bad = 1
           delete n[$1] }
         END { for (p in n) bad = 1; exit bad || rows != 20 }' \
        "$TMP/served" "$TMP/rows" \
        && st /status | grep -qx 'accepted conn:        20'
}
wait_until 10 counted || fail "requests not in the workers' rows:
served (pid count): $(cat "$TMP/served")
rows: $(cat "$TMP/rows")"
ok "requests served by $(wc -l <"$TMP/served") of the new workers show in\
 their rows and in accepted conn"
kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exited $STATUS on QUIT"

# --- what is found at the status socket's path -------------------------------
# It is bound like a pool's socket: a stale file (nothing answers there)
# is replaced; one a master answers on is not, and the second master
# exits 1 without touching it.
STALE=$TMP/stale-status.sock
perl -MSocket -e 'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "$!\n";
    bind($s, pack_sockaddr_un($ARGV[0])) or die "$!\n"' "$STALE" \
    || fail "perl could not make a stale socket"
[ -S "$STALE" ] || fail "no stale socket file to test with"
cat >"$TMP/stale.conf" <<CONF
status_listen = "unix:$STALE"
listen = "unix:$TMP/stale-app.sock"
command = {"$HELLO"}
workers = 1
CONF
start_fcgipm -c "$TMP/stale.conf"
wait_until 10 answers "unix:$STALE" /ping \
    || fail "a stale status socket file was not replaced"
log_has "status unix:$STALE: removed stale socket file" \
    || fail "the stale status socket file was not logged"
sed "s|stale-app.sock|stale-app2.sock|" "$TMP/stale.conf" >"$TMP/busy.conf"
rc=0
timeout -k 2 10 "$FCGIPM" -c "$TMP/busy.conf" </dev/null >"$TMP/busy.err" \
    2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a second master on a live status socket: exit $rc"
grep -qF "status unix:$STALE: another server answers on $STALE" \
    "$TMP/busy.err" || fail "not refused as in use: $(cat "$TMP/busy.err")"
[ "$("$FCGI_REQUEST" "unix:$STALE" /ping)" = pong ] \
    || fail "the first master no longer answers on its status socket"
ok "a stale status socket file is replaced; a live one is not (exit 1)"
kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fcgipm exited $STATUS on QUIT"

# --- an abstract status socket, across an upgrade ----------------------------
ABS="unix:@fcgipm-status-${TMP##*.}"
cat >"$TMP/abs.conf" <<CONF
status_listen = "$ABS"
pid_file = "$TMP/abs.pid"
listen = "unix:$TMP/abs-app.sock"
command = {"$HELLO"}
workers = 1
CONF
start_fcgipm -c "$TMP/abs.conf"
abs_pong() { [ "$("$FCGI_REQUEST" "$ABS" /ping 2>/dev/null)" = pong ]; }
wait_until 10 abs_pong || fail "no pong on the abstract status socket $ABS"
upgrade_master "$TMP/abs.pid"
answered_by_new() {
    abs_pong && "$FCGI_REQUEST" "$ABS" /status 2>/dev/null \
        | grep -q '^pool: *default'
}
wait_until 10 answered_by_new || fail "no answer on $ABS after USR2"
log_has "status $ABS: adopted fd [0-9]+ from the old master" \
    || fail "the new master did not take the abstract name by descriptor"
ok "an abstract status socket (unix:@name) answers, also after USR2"
done_testing
