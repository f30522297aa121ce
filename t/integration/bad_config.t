# Broken configuration files through the real binary, run and checked
# (-t): each exits 78 with "FILE:LINE:" and the key on stderr, prints no
# configuration and starts nothing: no socket file, no worker ever spawned.
# Then a missing file, directories as -c, and a good file that does start.
. "$(dirname "$0")/lib.sh"

SOCK=$TMP/app.sock
SOCK2=$TMP/b.sock
SPAWNED=$TMP/spawned
# The command of every case: it leaves a mark when a worker ever runs.
APP=$TMP/app.sh
cat >"$APP" <<APP
#!/bin/sh
: >"$SPAWNED"
exec "$HELLO" "\$@"
APP
chmod +x "$APP"

# run_fcgipm ARGS...: fcgipm to completion (killed after 10 s, which a
# broken case that starts serving would reach): status in RC, stdout in
# $TMP/out, stderr in $TMP/err.
run_fcgipm() {
    RC=0
    timeout -k 2 10 "$FCGIPM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" \
        || RC=$?
}

# started_something: why, if anything was started (else false).
started_something() {
    local p
    for p in "$SOCK" "$SOCK2"; do
        [ -e "$p" ] && { echo "$p exists"; return 0; }
    done
    [ -e "$SPAWNED" ] && { echo "a worker was spawned"; return 0; }
    grep -E 'listening on|worker [0-9]+ started|started: pid' "$TMP/err" \
        && return 0
    pgrep -af -- "$TMP/" && return 0
    return 1
}

# check_bad FILE LINE KEY [REGEX]: both runs of FILE fail as they should.
# An empty LINE checks no line; REGEX, when given, must match stderr too.
check_bad() {
    local file=$1 line=$2 key=$3 re=${4:-} t why
    for t in run -t; do
        run_fcgipm ${t#run} -c "$file"
        local err
        err=$(cat "$TMP/err")
        [ "$RC" = 78 ] || fail "$file ($t): exit $RC, not 78: $err"
        [ -z "$line" ] || [[ $err == *"$file:$line:"* ]] \
            || fail "$file ($t): no '$file:$line:' in: $err"
        [[ $err == *"$key"* ]] || fail "$file ($t): key '$key' not named: $err"
        [ -z "$re" ] || grep -qE -- "$re" "$TMP/err" \
            || fail "$file ($t): stderr does not match '$re': $err"
        [ ! -s "$TMP/out" ] \
            || fail "$file ($t): printed a configuration: $(head -3 "$TMP/out")"
        why=$(started_something) && fail "$file ($t): started something: $why"
    done
    LAST_ERR=$err
}

# bad NAME LINE KEY [REGEX] <<CONF: a case, its config on stdin.
bad() {
    local name=$1
    cat >"$TMP/$name.conf"
    check_bad "$TMP/$name.conf" "${@:2}"
    ok "$name: exit 78, ${2:+line $2, }key $3: ${LAST_ERR#fcgipm: }"
}

bad unknown_key 3 no_such_key unknown <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
no_such_key = 1
CONF

bad pool_key_typo 4 wrokers unknown <<CONF
pool "www" {
    listen = "unix:$SOCK"
    command = {"$APP"}
    wrokers = 3
}
CONF

bad pool_top_level_key 4 pid_file "top level" <<CONF
pool "www" {
    listen = "unix:$SOCK"
    command = {"$APP"}
    pid_file = "$TMP/pid"
}
CONF

bad workers_negative 3 workers '-1' <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
workers = -1
CONF

bad workers_not_a_number 3 workers "'x'" <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
workers = "x"
CONF

bad workers_above_max 4 workers '\b8\b' <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
max_workers = 4
workers = 8
CONF

# max_workers comes later: workers is checked against it after parsing,
# and the message still points at workers.
bad workers_above_later_max 3 workers '\b8\b' <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
workers = 8
max_workers = 4
CONF

bad bad_duration 3 graceful_timeout parsecs <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
graceful_timeout = "5 parsecs"
CONF

bad bad_signal 3 stop_signal SIGBOGUS <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
stop_signal = "SIGBOGUS"
CONF

bad bad_socket_mode 3 socket_mode 999 <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
socket_mode = "999"
CONF

bad command_no_such_file 2 command no-such-app <<CONF
listen = "unix:$SOCK"
command = {"$TMP/no-such-app"}
CONF

bad command_not_in_path 2 command no-such-program-fcgipm <<CONF
listen = "unix:$SOCK"
command = {"no-such-program-fcgipm"}
CONF

# No command at all: no line has it, the message names pool and key.
bad command_missing "" command "pool default" <<CONF
listen = "unix:$SOCK"
workers = 2
CONF

bad command_missing_in_pool "" command "pool www" <<CONF
log_level = info
pool "www" {
    listen = "unix:$SOCK"
}
CONF

bad unknown_user 3 user no-such-user-fcgipm <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
user = "no-such-user-fcgipm"
CONF

bad listen_unix_empty 2 listen "'unix:'" <<CONF
command = {"$APP"}
listen = "unix:"
CONF

bad listen_port_out_of_range 2 listen 99999 <<CONF
command = {"$APP"}
listen = "127.0.0.1:99999"
CONF

bad listen_in_two_pools 6 listen "pool a" <<CONF
pool "a" {
    listen = "unix:$SOCK"
    command = {"$APP"}
}
pool "b" {
    listen = "unix:$SOCK"
    command = {"$APP"}
}
CONF

# The same socket spelled "/path" and "unix:/path" is still one socket.
bad listen_in_two_pools_spelled 6 listen "pool a" <<CONF
pool "a" {
    listen = "unix:$SOCK"
    command = {"$APP"}
}
pool "b" {
    listen = "$SOCK"
    command = {"$APP"}
}
CONF

bad unterminated_string 3 log unterminated <<CONF
listen = "unix:$SOCK"
command = {"$APP"}
log = "$TMP/fcgipm.log
workers = 2
CONF

# The error is the brace opened on line 3 that nothing closes.
bad missing_closing_brace 3 pool "never closed|'\\{'|brace" <<CONF
log_level = info

pool "www" {
    listen = "unix:$SOCK"
    command = {"$APP"}
CONF

# libconfuse 3.3 counts a one-line comment as three lines: every kind of
# comment before the error, and the line must still be right.
bad comments_before_error 9 workers many <<CONF
# a comment
# another comment
// a C++ comment
/* a block
   comment */
listen = "unix:$SOCK"   # trailing comment
command = {"$APP"}      // trailing comment
# one more
workers = "many"
CONF

bad comments_in_pool 8 stop_signal NOPE <<CONF
pool "www" {
    # comment
    # comment
    listen = "unix:$SOCK"
    /* comment */
    command = {"$APP"}
    # comment
    stop_signal = "NOPE"
}
CONF

# CRLF line endings: if the loader takes them, an error in such a file
# has the right line; if it does not, saying so is itself an error that
# names the file and line 1.
printf '%s\r\n' "listen = \"unix:$SOCK\"" "command = {\"$APP\"}" \
    "# comment" "workers = 2" >"$TMP/crlf_good.conf"
run_fcgipm -t -c "$TMP/crlf_good.conf"
if [ "$RC" = 0 ]; then
    grep -qx 'workers = 2' "$TMP/out" \
        || fail "CRLF file: effective config lacks workers = 2: $(cat "$TMP/out")"
    ok "a CRLF config file is accepted (-t exits 0, workers = 2)"
    printf '%s\r\n' "listen = \"unix:$SOCK\"" "command = {\"$APP\"}" \
        "# comment" "workers = \"z\"" >"$TMP/crlf_bad.conf"
    check_bad "$TMP/crlf_bad.conf" 4 workers "'z'"
    ok "crlf_bad: exit 78, line 4, key workers: ${LAST_ERR#fcgipm: }"
else
    check_bad "$TMP/crlf_good.conf" 1 "" ""
    ok "a CRLF config file is refused with a clear error: ${LAST_ERR#fcgipm: }"
fi

for t in run -t; do
    run_fcgipm ${t#run} -c "$TMP/no-such.conf"
    [ "$RC" = 78 ] || fail "missing file ($t): exit $RC: $(cat "$TMP/err")"
    grep -qF "$TMP/no-such.conf" "$TMP/err" \
        || fail "missing file ($t): path not named: $(cat "$TMP/err")"
    why=$(started_something) && fail "missing file ($t): started: $why"
done
ok "a missing config file: exit 78, names the path: $(cat "$TMP/err")"

mkdir -p "$TMP/confdir" "$TMP/unreadable"
chmod 000 "$TMP/unreadable"
for d in "$TMP/confdir" "$TMP/unreadable"; do
    for t in run -t; do
        run_fcgipm ${t#run} -c "$d"
        [ "$RC" = 78 ] || fail "directory $d ($t): exit $RC: $(cat "$TMP/err")"
        grep -qF "$d" "$TMP/err" \
            || fail "directory $d ($t): path not named: $(cat "$TMP/err")"
        why=$(started_something) && fail "directory $d ($t): started: $why"
    done
    ok "a directory as -c ($(stat -c %a "$d")): exit 78: $(cat "$TMP/err")"
done
chmod 700 "$TMP/unreadable"

# An unreadable file: root reads it anyway, so only as another user.
printf 'listen = "unix:%s"\ncommand = {"%s"}\n' "$SOCK" "$APP" \
    >"$TMP/secret.conf"
chmod 000 "$TMP/secret.conf"
if [ "$(id -u)" != 0 ]; then
    run_fcgipm -c "$TMP/secret.conf"
    [ "$RC" = 78 ] && grep -qF "$TMP/secret.conf" "$TMP/err" \
        || fail "unreadable file: exit $RC: $(cat "$TMP/err")"
    ok "an unreadable file: exit 78: $(cat "$TMP/err")"
else
    echo "# running as root: the unreadable-file case does not apply"
fi

# Sanity: the same harness, a good file, and everything does start.
cat >"$TMP/good.conf" <<CONF
# a good file
listen = "unix:$SOCK"
command = {"$APP"}
workers = 2
CONF
run_fcgipm -t -c "$TMP/good.conf"
[ "$RC" = 0 ] || fail "good config -t: exit $RC: $(cat "$TMP/err")"
grep -qx 'workers = 2' "$TMP/out" || fail "good config -t: $(cat "$TMP/out")"
started_something >/dev/null && fail "-t of a good file started something"
start_fcgipm -c "$TMP/good.conf"
wait_workers 2
wait_until 5 answers "unix:$SOCK" || fail "good config does not answer"
[ -e "$SPAWNED" ] || fail "workers run but left no mark: the checks above prove nothing"
ok "after all this, a good config starts 2 workers and answers"

kill -TERM "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "exit status $STATUS after TERM"
[ ! -e "$SOCK" ] || fail "socket left behind"
ok "and stops with status 0, removing its socket"
done_testing
