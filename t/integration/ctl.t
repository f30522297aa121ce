# fcgipm ctl and the control socket (control_listen): a clear error with
# no master; the key's checks; a symlink planted at its path is never
# followed; then against a running master: -c finds the socket, which is
# 0600; an idle master stays quiet; scale is exact (+20 is 20 more
# workers) and bounded by max_workers; top shows a busy worker's
# request; reload waits and exits 78 with file:line, changing nothing,
# or 0; hostile clients do not block the master; a non-root non-owner
# is refused (at the file, and by SO_PEERCRED past it); reopen follows a
# rotated log; upgrade returns once the new master serves; and stop
# --graceful ends it with status 0.
. "$(dirname "$0")/lib.sh"

need perl
need setpriv
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
chmod 711 "$TMP"
MOD=$TEST_APPS/testmod.so
APP=$TMP/app.sock
MODS=$TMP/mod.sock
SSOCK=$TMP/status.sock
CSOCK=$TMP/ctl.sock
CONF=$TMP/fcgipm.conf
ctl() { "$FCGIPM" ctl "$@"; }

# --- no master ---------------------------------------------------------------
ctl -S "$TMP/none.sock" status >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" = 1 ] || fail "no master: exit $rc, not 1"
grep -qF "fcgipm ctl: cannot connect to $TMP/none.sock: No such file or directory (is fcgipm running? is control_listen set?)" \
    "$TMP/err" || fail "no master: $(cat "$TMP/err")"
ctl -S "$TMP/none.sock" frobnicate 2>/dev/null
[ $? = 64 ] || fail "an unknown command is not a usage error"
ok "no master: exit 1 and says where it looked and why"

# --- the key's checks --------------------------------------------------------
check_conf() {
    printf '%s\n' "$1" "listen = \"unix:$APP\"" "command = {\"$HELLO\"}" \
        >"$TMP/check.conf"
    "$FCGIPM" -t -c "$TMP/check.conf" >/dev/null 2>"$TMP/err"
}
check_conf "control_listen = \"unix:$CSOCK\"
status_listen = \"unix:$CSOCK\"" && fail "control_listen = status_listen taken"
[ $? = 78 ] && grep -q "check.conf:1: control_listen: .*status_listen" \
    "$TMP/err" || fail "same as status_listen: $(cat "$TMP/err")"
check_conf "control_listen = \"$APP\"" && fail "a pool's socket taken"
grep -q "control_listen: .*used by pool" "$TMP/err" \
    || fail "same as listen: $(cat "$TMP/err")"
check_conf 'control_listen = "127.0.0.1:9000"' && fail "TCP taken"
grep -q "control_listen: .*Unix socket" "$TMP/err" \
    || fail "TCP: $(cat "$TMP/err")"
check_conf "control_listen = \"unix:$CSOCK\"" \
    || fail "a good control_listen refused: $(cat "$TMP/err")"
ok "control_listen: never the status socket or a pool's, a Unix path (78)"

# --- a symlink planted by nobody ------------------------------------------
RUN=$TMP/run
mkdir "$RUN"
chown nobody:nogroup "$RUN"
VICTIM=$TMP/victim
echo secret >"$VICTIM"
chmod 640 "$VICTIM"
as_nobody ln -s "$VICTIM" "$RUN/ctl.sock" || fail "nobody cannot plant"
as_nobody ln -s "$TMP/created" "$RUN/dangling.sock" || fail "nobody cannot plant"
for name in ctl dangling; do
    printf '%s\n' "control_listen = \"unix:$RUN/$name.sock\"" \
        "listen = \"unix:$TMP/sym.sock\"" "command = {\"$HELLO\"}" \
        >"$TMP/sym.conf"
    timeout 10 "$FCGIPM" -c "$TMP/sym.conf" >"$TMP/sym.log" 2>&1
    rc=$?
    [ "$rc" = 1 ] || fail "$name: a master started on a planted symlink ($rc)"
    grep -q "control unix:$RUN/$name.sock: .* exists and is not a socket" \
        "$TMP/sym.log" || fail "$name: $(cat "$TMP/sym.log")"
    [ -L "$RUN/$name.sock" ] || fail "$name: the symlink was removed"
done
[ "$(stat -c '%a %U' "$VICTIM")" = "640 root" ] \
    || fail "the symlink's target changed: $(stat -c '%a %U' "$VICTIM")"
[ ! -e "$TMP/created" ] || fail "a file was created through the symlink"
ok "a symlink nobody planted at control_listen: refused, never followed"

# --- a running master --------------------------------------------------------
# The app pool's line 7 is where the broken config puts its error.
write_conf() {
    cat >"$CONF" <<CONF
control_listen = "unix:$CSOCK"
status_listen = "unix:$SSOCK"
pid_file = "$TMP/fcgipm.pid"
log = "$LOG"
log_level = debug
pool "app" {
    workers = $1
    max_workers = 24
    listen = "unix:$APP"
    command = {"$HELLO"}
}
pool "mod" {
    listen = "unix:$MODS"
    mode = module
    module = "$MOD"
    workers = 1
}
CONF
}
write_conf 2
start_fcgipm -c "$CONF"
M1=$FCGIPM_PID
wait_workers 3
wait_until 10 test -S "$CSOCK" || fail "no control socket"
[ "$(stat -c '%a %U' "$CSOCK")" = "600 root" ] \
    || fail "control socket is $(stat -c '%a %U' "$CSOCK")"
ctl -c "$CONF" status >"$TMP/out" || fail "status through -c failed"
grep -Eq '^app +exec +static +2 +2 ' "$TMP/out" \
    || fail "no app row: $(cat "$TMP/out")"
diff <(workers) <(awk '$1 ~ /^(app|mod)$/ && $2 ~ /^[0-9]+$/ { print $2 }' \
                      "$TMP/out" | sort) >/dev/null \
    || fail "status pids are not the workers: $(cat "$TMP/out")"
awk '$1 == "app" && $2 ~ /^[0-9]+$/ && $5 !~ /^[0-9]+$/ { exit 1 }' \
    "$TMP/out" || fail "a worker without its RSS: $(cat "$TMP/out")"
ctl -S "unix:$CSOCK" --json status mod >"$TMP/json" || fail "status --json"
perl -MJSON::PP -e '
    local $/; my $j = JSON::PP->new->decode(<STDIN>);
    die "pools\n" unless @{$j->{pools}} == 1 && $j->{pools}[0]{name} eq "mod";
    my $w = $j->{pools}[0]{workers}[0];
    die "worker\n" unless $w->{state} eq "idle" && $w->{rss_kb} > 0;
' <"$TMP/json" || fail "JSON: $(cat "$TMP/json")"
ok "-c finds the socket (mode 0600); status: a row per pool and worker, RSS"

quiet_master
ok "an idle master with control_listen makes no system call"

# --- scale -------------------------------------------------------------------
ctl -S "$CSOCK" scale app +20 >"$TMP/out" || fail "scale +20 failed"
grep -qx "pool app: target 22" "$TMP/out" || fail "scale: $(cat "$TMP/out")"
wait_workers 23
# Exactly: nothing more comes.
has_workers 23 || fail "scale +20: $(worker_count) workers"
ok "scale app +20: exactly 20 more workers (23)"
ctl -S "$CSOCK" --json scale app 100 >"$TMP/json" || fail "scale 100 failed"
grep -q '"target": 24, "max_workers": 24' "$TMP/json" \
    && grep -q 'bounded by max_workers 24' "$TMP/json" \
    || fail "scale beyond max_workers: $(cat "$TMP/json")"
wait_workers 25
ctl -S "$CSOCK" scale app 2 >/dev/null || fail "scale 2 failed"
wait_workers 3
ctl -S "$CSOCK" scale nope +1 2>"$TMP/err"
[ $? = 2 ] && grep -q "no pool nope" "$TMP/err" \
    || fail "unknown pool: $(cat "$TMP/err")"
ctl -S "$CSOCK" scale app x 2>/dev/null
[ $? = 64 ] || fail "scale app x is not a usage error"
ok "scale beyond max_workers answers the bound; back to 2; unknown pool: 2"

# --- top ---------------------------------------------------------------------
"$FCGI_REQUEST" -t 30 "unix:$MODS" "/top-probe?sleep=8000" >/dev/null 2>&1 &
SLOW=$!
mod_busy() { ctl -S "$CSOCK" status mod 2>/dev/null | grep -q "busy.*/top-probe"; }
wait_until 10 mod_busy || fail "the slow request never showed"
ctl -S "$CSOCK" top -n 2 >"$TMP/top" || fail "top -n 2 failed"
[ "$(grep -c '^fcgipm top ' "$TMP/top")" = 2 ] || fail "frames: $(cat "$TMP/top")"
[ "$(grep -Ec '^mod +[0-9]+ busy +[0-9]+ +[0-9]+ +[0-9.]+s GET +/top-probe\?sleep=8000$' \
    "$TMP/top")" = 2 ] || fail "top lacks the busy request: $(cat "$TMP/top")"
ok "top -n 2: two frames, each with the busy worker's request and duration"
kill "$SLOW" 2>/dev/null
wait "$SLOW" 2>/dev/null

# --- reload ------------------------------------------------------------------
before=$(workers)
cp "$CONF" "$TMP/good.conf"
sed -i 's/^    workers = 2$/    workers = two/' "$CONF"
ctl -S "$CSOCK" reload >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" = 78 ] || fail "broken reload: exit $rc"
grep -qF "fcgipm ctl: $CONF:7: workers:" "$TMP/err" \
    || fail "broken reload: $(cat "$TMP/err")"
[ "$(workers)" = "$before" ] || fail "workers changed after a broken reload"
ok "reload of a broken config: exit 78 with file:line: key; workers unchanged"
cp "$TMP/good.conf" "$CONF"
ctl -S "$CSOCK" reload >"$TMP/out" || fail "good reload: $?"
grep -qx "reload done, 2 pools" "$TMP/out" || fail "reload: $(cat "$TMP/out")"
log_has "reload: done" || fail "no 'reload: done' before the answer"
ok "reload of a good config: exit 0 once done"

# --- hostile clients -----------------------------------------------------------
# raw MODE: a client of the control socket, in perl.
raw() {
    perl -MIO::Socket::UNIX -MIO::Select -e '
        my ($mode, $path) = @ARGV;
        sub conn { IO::Socket::UNIX->new(Peer => $path, Type => SOCK_STREAM)
                       or die "connect: $!\n" }
        # answer S SECONDS: what the server sends until it closes.
        sub answer {
            my ($s, $secs) = @_;
            my ($buf, $sel, $end) = ("", IO::Select->new($s), time + $secs);
            while (time < $end) {
                next unless $sel->can_read(0.2);
                my $n = sysread($s, my $chunk, 65536);
                return $buf unless $n;
                $buf .= $chunk;
            }
            die "not closed within $secs s\n";
        }
        $SIG{PIPE} = "IGNORE";
        if ($mode eq "garbage") {
            my $s = conn();
            syswrite($s, join("", map { chr(int rand 256) } 1 .. 600));
            print answer($s, 10);
        } elsif ($mode eq "huge") {
            my $s = conn();
            syswrite($s, "fcgipm-ctl/1 status " . ("a" x 400));
            syswrite($s, "a" x (1 << 20) . "\n");
            print answer($s, 10);
        } elsif ($mode eq "version") {
            my $s = conn();
            syswrite($s, "fcgipm-ctl/9 status\n");
            print answer($s, 10);
        } elsif ($mode eq "silent") {
            my $s = conn();
            open(my $f, ">", "$path.silent") or die; close $f;
            print "closed\n" if answer($s, 15) eq "";
        } elsif ($mode eq "halfclose") {
            # The request line, then our write side shut (as socat and
            # nc -N do): the answer must still come, however long.
            my $s = conn();
            syswrite($s, "fcgipm-ctl/1 $ARGV[2]\n");
            $s->shutdown(1) or die "shutdown: $!\n";
            print answer($s, 60);
        } elsif ($mode eq "hangup") {
            for (1 .. 20) {
                my $s = conn();
                syswrite($s, "fcgipm-ctl/1 status\n");
                close $s;
            }
        }
    ' "$1" "$CSOCK" "${2:-}"
}
raw silent >"$TMP/silent" 2>&1 &
SILENT=$!
wait_until 5 test -e "$CSOCK.silent" || fail "the silent client did not connect"
raw garbage >"$TMP/out" 2>&1 || fail "garbage: $(cat "$TMP/out")"
grep -q "^error 64 " "$TMP/out" || fail "garbage: $(cat "$TMP/out")"
raw huge >"$TMP/out" 2>&1 || fail "huge: $(cat "$TMP/out")"
grep -q "^error 64 request line too long" "$TMP/out" \
    || fail "huge line: $(cat "$TMP/out")"
raw version >"$TMP/out" 2>&1 || fail "version: $(cat "$TMP/out")"
grep -q "^error 64 unsupported protocol version" "$TMP/out" \
    || fail "version: $(cat "$TMP/out")"
raw hangup || fail "hangup clients"
# Meanwhile, with the silent client still connected:
[ "$("$FCGI_REQUEST" -t 2 "unix:$SSOCK" /ping)" = pong ] \
    || fail "status does not answer while a control client is silent"
pid_alive "$SILENT" || fail "the silent client was dropped too early"
ctl -S "$CSOCK" status >/dev/null || fail "ctl does not answer meanwhile"
wait "$SILENT"
grep -qx closed "$TMP/silent" || fail "silent client: $(cat "$TMP/silent")"
log_has "control unix:$CSOCK: closing a client: timed out" \
    || fail "the silent client's end is not logged"
pid_alive "$M1" || fail "the master died"
ok "garbage, a huge line, a wrong version, hang-ups, a silent client: "\
"answered or closed, and the master serves meanwhile"

# --- peer check ----------------------------------------------------------------
# The client runs as nobody: under t/run-valgrind not through its wrapper,
# whose logs nobody may not write (the master is what valgrind checks).
CLIENT=${FCGIPM_BIN:-$FCGIPM}
as_nobody "$CLIENT" ctl -S "$CSOCK" status >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" = 77 ] || fail "nobody: exit $rc, not 77"
grep -q "cannot connect to $CSOCK: Permission denied" "$TMP/err" \
    || fail "nobody: $(cat "$TMP/err")"
# Past the file's mode (CAP_DAC_OVERRIDE), the master itself refuses.
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    --inh-caps=+dac_override --ambient-caps=+dac_override \
    "$CLIENT" ctl -S "$CSOCK" reload >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" = 77 ] || fail "nobody past the mode: exit $rc, not 77: $(cat "$TMP/err")"
grep -q "permission denied: uid 65534 may not control this master" \
    "$TMP/err" || fail "nobody past the mode: $(cat "$TMP/err")"
wait_log "warn .*control unix:$CSOCK: refused a client running as uid 65534"
[ "$(log_count "reload: reading")" = 2 ] \
    || fail "nobody's reload ran"
ctl -S "$CSOCK" status >/dev/null || fail "the master stopped serving"
ok "a non-root non-owner caller: refused by the file (77), and by the "\
"peer check past it (77, logged with the uid); the master serves on"

# --- a reload whose status or control socket cannot be bound -----------------
# Bound before the swap, like a pool's: the reload fails (2, as a pool's
# socket would; 78 is for the file's errors), names the key, and the old
# sockets answer where they were.
reloads=$(log_count "reload: done")
for key in status_listen control_listen; do
    cp "$CONF" "$TMP/good.conf"
    sed -i "s|^$key = .*|$key = \"unix:$TMP/missing/x.sock\"|" "$CONF"
    ctl -S "$CSOCK" reload >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ "$rc" = 2 ] || fail "$key unbindable: exit $rc: $(cat "$TMP/err")"
    grep -qF "fcgipm ctl: $key: cannot bind unix:$TMP/missing/x.sock: No such file or directory" \
        "$TMP/err" || fail "$key unbindable: $(cat "$TMP/err")"
    log_has "error .*reload: $key: cannot bind unix:$TMP/missing/x.sock" \
        || fail "the log does not name $key"
    [ "$("$FCGI_REQUEST" -t 2 "unix:$SSOCK" /ping)" = pong ] \
        || fail "after a failed $key, no status at $SSOCK"
    ctl -S "$CSOCK" status >/dev/null \
        || fail "after a failed $key, no control at $CSOCK"
    cp "$TMP/good.conf" "$CONF"
done
[ "$(log_count "reload: done")" = "$reloads" ] \
    || fail "a reload that could not bind said it was done"
sed -i -e "s|^status_listen = .*|status_listen = \"unix:$TMP/status2.sock\"|" \
    -e "s|^control_listen = .*|control_listen = \"unix:$TMP/ctl2.sock\"|" \
    "$CONF"
ctl -S "$CSOCK" reload >"$TMP/out" 2>"$TMP/err" \
    || fail "moving reload: $(cat "$TMP/err")"
[ "$("$FCGI_REQUEST" -t 2 "unix:$TMP/status2.sock" /ping)" = pong ] \
    || fail "status did not move"
ctl -S "$TMP/ctl2.sock" status >/dev/null || fail "control did not move"
[ -e "$SSOCK" ] || [ -e "$CSOCK" ] && fail "an old socket file is left"
SSOCK=$TMP/status2.sock
CSOCK=$TMP/ctl2.sock
ok "a status_listen or control_listen that cannot be bound fails the reload "\
"(2, the key logged), the old sockets answer; a good reload moves both"

# --- reopen --------------------------------------------------------------------
mv "$LOG" "$LOG.1"
ctl -S "$CSOCK" reopen >"$TMP/out" || fail "reopen failed"
grep -qx "log reopened" "$TMP/out" || fail "reopen: $(cat "$TMP/out")"
wait_until 5 log_has "log file reopened" || fail "no new log file"
ctl -S "$CSOCK" scale app 3 >/dev/null || fail "scale after reopen"
wait_log "pool app: size 2 -> 3 \(by control\)"
grep -q "size 2 -> 3" "$LOG.1" && fail "a new line went to the old log"
ok "reopen: the rotated log's new lines go to the new file"

# --- upgrade, stop -------------------------------------------------------------
ctl -S "$CSOCK" upgrade >"$TMP/out" 2>"$TMP/err" \
    || fail "upgrade failed: $(cat "$TMP/err")"
M2=$(sed -n 's/^new master \([0-9]*\) is ready; master .* drains and exits$/\1/p' \
    "$TMP/out")
[ -n "$M2" ] && [ "$M2" != "$M1" ] || fail "upgrade: $(cat "$TMP/out")"
[ "$(cat "$TMP/fcgipm.pid")" = "$M2" ] || fail "pid file: $(cat "$TMP/fcgipm.pid")"
pid_alive "$M2" || fail "the new master is not running"
STARTED_PIDS+=("$M2")
wait_status "$M1"
[ "$STATUS" = 0 ] || fail "the old master exited $STATUS"
[ "$(stat -c '%a %U' "$CSOCK")" = "600 root" ] || fail "socket after upgrade"
# A client that half-closes after its request line (socat, nc -N) still
# gets the whole answer of the upgrade it waits for.
raw halfclose upgrade >"$TMP/out" 2>&1 || fail "halfclose: $(cat "$TMP/out")"
M3=$(sed -n 's/^ok new master \([0-9]*\) is ready; .*/\1/p' "$TMP/out")
[ -n "$M3" ] || fail "upgrade after a half-close: '$(cat "$TMP/out")'"
STARTED_PIDS+=("$M3")
wait_gone "$M2" 20 || fail "master $M2 did not exit after the upgrade"
M2=$M3
ctl -S "$CSOCK" stop --graceful >"$TMP/out" || fail "stop failed"
grep -qx "master $M2 stops gracefully" "$TMP/out" \
    || fail "stop: $(cat "$TMP/out")"
wait_gone "$M2" 20 || fail "the master did not stop"
log_has "fcgipm $M2 exiting with status 0" || fail "the master's exit status"
[ ! -e "$CSOCK" ] || fail "the control socket file was left behind"
ok "upgrade returns once the new master is ready (also to a client that "\
"half-closed); stop --graceful: exit 0"

# --- no control socket, but the master's pid (systemd's $MAINPID) ------------
cat >"$TMP/nosock.conf" <<CONF
listen = "unix:$TMP/nosock.sock"
log = "$LOG"
mode = module
module = "builtin:hello"
workers = 1
CONF
start_fcgipm -c "$TMP/nosock.conf"
wait_workers 1
ctl -c "$TMP/nosock.conf" reload 2>"$TMP/err"
rc=$?
[ "$rc" = 78 ] && grep -q 'control_listen is not set' "$TMP/err" \
    || fail "reload without a socket nor -p: exit $rc: $(cat "$TMP/err")"
done_before=$(log_count 'reload: done')
ctl -c "$TMP/nosock.conf" -p "$FCGIPM_PID" reload 2>"$TMP/err" \
    || fail "reload -p without a socket: exit $?: $(cat "$TMP/err")"
grep -q "sent SIGHUP to $FCGIPM_PID" "$TMP/err" || fail "-p: $(cat "$TMP/err")"
more_done() { [ "$(log_count 'reload: done')" -gt "$done_before" ]; }
wait_until 10 more_done || fail "the HUP sent by ctl -p did not reload"
ctl -S "$TMP/none.sock" -p "$FCGIPM_PID" reopen 2>"$TMP/err" \
    || fail "reopen -p, socket gone: exit $?: $(cat "$TMP/err")"
wait_log 'log file reopened'
ctl -c "$TMP/nosock.conf" -p 1 reload 2>/dev/null
[ $? = 64 ] || fail "-p 1 is not refused"
ok "without a control socket, ctl -p PID reloads and reopens by signal"

done_testing
