# preload runs a module's code as root in the master, so the master loads
# only a module no one but root could have written. Playing a pool user
# who planted a module (owned by nobody, whose constructor and fcgipm_init
# leave a line in a marker file): fcgipm -t, a start and a reload each
# refuse it naming the file and why, the reload keeping the running pool,
# and its code never runs. So are a root's module in a directory nobody
# owns, one in a group-writable directory, and a root's symlink to
# nobody's module. The control: root's copy of the same module, in root's
# directories, loads, and its constructor marks the master as uid 0.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root, to give files to another user"
SO=$TEST_APPS/marker.so
[ -f "$SO" ] || fail "$SO is not built"
export FCGIPM_TEST_MARKER=$TMP/marker
SOCK=$TMP/app.sock
CSOCK=$TMP/ctl.sock
NOBODY=65534

# plant DIR FILE MODE OWNER: a copy of the marker module as DIR/FILE.
plant() {
    mkdir -p -m 0755 "$TMP/$1"
    cp "$SO" "$TMP/$1/$2"
    chmod "$3" "$TMP/$1/$2"
    chown "$4" "$TMP/$1/$2"
}
plant lib good.so 0644 0            # root's, in root's 0755 directories
plant app app.so 0644 "$NOBODY"     # the audit's: app/app.so, nobody's
plant theirs root.so 0644 0         # root's file, in nobody's directory
chown "$NOBODY" "$TMP/theirs"
plant shared root.so 0644 0         # root's file, group-writable directory
chmod 0775 "$TMP/shared"
ln -s ../app/app.so "$TMP/lib/link.so"     # root's link, nobody's file
GOOD=$TMP/lib/good.so
BAD=$TMP/app/app.so

# conf FILE MODULE [PRELOAD]: a control socket and one pool of MODULE.
conf() {
    cat >"$1" <<CONF
control_listen = "$CSOCK"
pool "app" {
    listen = "unix:$SOCK"
    mode = "module"
    module = "$2"
    preload = ${3:-true}
    workers = 1
}
CONF
}

# run_fcgipm ARGS...: fcgipm to completion (killed after 10 s, which a
# start that went on to serve would reach): status in RC, stderr in
# $TMP/err.
run_fcgipm() {
    RC=0
    timeout -k 2 10 "$FCGIPM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" \
        || RC=$?
}

# no_marker WHEN: the planted code has not run.
no_marker() {
    [ ! -e "$FCGIPM_TEST_MARKER" ] \
        || fail "$1: the module's code ran: $(cat "$FCGIPM_TEST_MARKER")"
}

# --- the control: root's module loads, and the marker shows it; a second
# pool preloads another module (each is loaded through a descriptor kept
# open: a number used again would get the first module back)
LOG=$TMP/good.log
SOCK2=$TMP/other.sock
cp "$TEST_APPS/testmod.so" "$TMP/lib/other.so"
chmod 0644 "$TMP/lib/other.so"
conf "$TMP/good.conf" "$GOOD"
cat >>"$TMP/good.conf" <<CONF
pool "other" {
    listen = "unix:$SOCK2"
    mode = "module"
    module = "$TMP/lib/other.so"
    preload = true
    workers = 1
}
CONF
start_fcgipm -c "$TMP/good.conf"
wait_until 10 answers "unix:$SOCK" || fail "root's preloaded module: no answer"
wait_until 10 answers "unix:$SOCK2" || fail "the second module: no answer"
grep -qx "constructor ran as uid 0 in pid $FCGIPM_PID" "$FCGIPM_TEST_MARKER" \
    || fail "no constructor line from the master: $(cat "$TMP/marker")"
grep -qx "fcgipm_init ran as uid 0 in pid $FCGIPM_PID" "$FCGIPM_TEST_MARKER" \
    || fail "no fcgipm_init line from the master: $(cat "$TMP/marker")"
body=$(req "unix:$SOCK" /) || fail "request to the marker pool failed"
[[ $body == "marker module in pid "* ]] || fail "marker pool said: $body"
body=$(req "unix:$SOCK2" /) || fail "request to the other pool failed"
[[ $body =~ ^[0-9]+\ [0-9]+$ ]] || fail "the other pool said: $body"
kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fast stop exit status $STATUS"
rm -f "$FCGIPM_TEST_MARKER" "$SOCK2"
ok "control: root's modules in root's directories are preloaded, as uid 0"

# --- fcgipm -t and a start refuse each untrusted module, naming why
# refused NAME MODULE REASON: both runs exit 78 with
# "module: 'MODULE' cannot be preloaded: REASON" and start nothing.
refused() {
    local t
    conf "$TMP/$1.conf" "$2"
    for t in -t run; do
        run_fcgipm ${t#run} -c "$TMP/$1.conf"
        [ "$RC" = 78 ] || fail "$1 ($t): exit $RC, not 78: $(cat "$TMP/err")"
        grep -qF "module: '$2' cannot be preloaded: $3" "$TMP/err" \
            || fail "$1 ($t): no '$3' in: $(cat "$TMP/err")"
        [ ! -e "$SOCK" ] || fail "$1 ($t): $SOCK was made"
        no_marker "$1 ($t)"
    done
    ok "$1: -t and a start exit 78: $(head -c 150 "$TMP/err")..."
}
refused nobody_file "$BAD" \
    "$BAD belongs to uid $NOBODY, not to root (the file and every directory"
refused nobody_dir "$TMP/theirs/root.so" \
    "$TMP/theirs belongs to uid $NOBODY, not to root"
refused group_dir "$TMP/shared/root.so" \
    "directory $TMP/shared is writable by its group"
refused link_to_nobody "$TMP/lib/link.so" \
    "$BAD belongs to uid $NOBODY, not to root"

# Without preload the workers load it themselves, as the pool user: the
# configuration holds.
conf "$TMP/nopreload.conf" "$BAD" false
run_fcgipm -t -c "$TMP/nopreload.conf"
[ "$RC" = 0 ] || fail "without preload: -t exit $RC: $(cat "$TMP/err")"
ok "without preload the same module passes -t (workers load it)"

# --- a reload to it fails, keeping the running pool
LOG=$TMP/reload.log
conf "$TMP/run.conf" "builtin:hello"
start_fcgipm -c "$TMP/run.conf"
wait_until 10 answers "unix:$SOCK" || fail "builtin pool does not answer"
before=$(workers)
conf "$TMP/run.conf" "$BAD"
RC=0
"$FCGIPM" ctl -S "$CSOCK" reload >"$TMP/out" 2>"$TMP/err" || RC=$?
[ "$RC" = 78 ] || fail "reload: exit $RC, not 78: $(cat "$TMP/err")"
grep -qF "module: '$BAD' cannot be preloaded: $BAD belongs to uid $NOBODY" \
    "$TMP/err" || fail "reload: $(cat "$TMP/err")"
wait_log "reload: .*cannot be preloaded: $BAD belongs to uid $NOBODY.*; \
keeping the running configuration"
body=$(req "unix:$SOCK" /still) || fail "no answer after the failed reload"
[ "$body" = "Hello from fcgipm" ] || fail "after the reload: $body"
[ "$(workers)" = "$before" ] || fail "workers changed on a failed reload"
no_marker "reload"
ok "reload to nobody's module: exit 78 naming it, the pool serves on"

# A reload to root's modules loads them. Pool app keeps its socket, so
# nothing is opened between its module and the next pool's: a descriptor
# closed after loading would give its number, and so the first module,
# back to the second (which would then answer and init as the marker).
conf "$TMP/run.conf" "$GOOD"
cat >>"$TMP/run.conf" <<CONF
pool "other" {
    listen = "unix:$SOCK2"
    mode = "module"
    module = "$TMP/lib/other.so"
    preload = true
    workers = 1
}
CONF
"$FCGIPM" ctl -S "$CSOCK" reload >"$TMP/out" 2>"$TMP/err" \
    || fail "good reload: $(cat "$TMP/err")"
wait_until 10 answers "unix:$SOCK2" || fail "the second module: no answer"
body=$(req "unix:$SOCK" /) || fail "request to the marker pool failed"
[[ $body == "marker module in pid "* ]] || fail "marker pool said: $body"
body=$(req "unix:$SOCK2" /) || fail "request to the other pool failed"
[[ $body =~ ^[0-9]+\ [0-9]+$ ]] || fail "the other pool said: $body"
[ "$(grep -c "ran as uid 0 in pid $FCGIPM_PID" "$FCGIPM_TEST_MARKER")" = 2 ] \
    || fail "the marker module ran other than once: $(cat "$TMP/marker")"
ok "a reload to root's modules loads each, once"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "fast stop exit status $STATUS"
done_testing
