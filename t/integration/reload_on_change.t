# reload_on_change: the exec program replaced with install under load
# replaces the workers (new pids, the new program answers, 0 failed
# requests); a burst of 20 writes and touches makes one replacement; a
# new program that exits at once leaves the old workers serving, logged
# once with why, and a good one after it replaces them; a module .so
# replaced replaces its pool's workers; a symlink swapped in the
# program's place is noticed and never followed by the master; an idle
# master makes no system call in 10 s; a reload watches what the new
# configuration lists (a directory) and a removed pool no longer
# watches. Keys that watch nothing are refused with file:line.
. "$(dirname "$0")/lib.sh"
need strace

APP=$TMP/app                    # the watched directories hold only what
MODDIR=$TMP/mod                 # the test puts there
SOCK=$TMP/app.sock
MSOCK=$TMP/mod.sock
CONF=$TMP/fcgipm.conf
mkdir "$APP" "$MODDIR" "$TMP/templates"

# variant NAME VERSION: a program that runs hello with APP_VERSION set.
variant() {
    printf '#!/bin/sh\nAPP_VERSION=%s exec "%s" "$@"\n' "$2" "$HELLO" \
        >"$TMP/$1"
    chmod 755 "$TMP/$1"
}
variant v1 1
variant v2 2
variant v3 3
printf '#!/bin/sh\necho "bad: cannot start" >&2\nexit 1\n' >"$TMP/bad"
chmod 755 "$TMP/bad"
install -m755 "$TMP/v1" "$APP/app"
install -m644 "$TEST_APPS/testmod.so" "$MODDIR/mod.so"

# --- keys that watch nothing are configuration errors
printf 'listen = "unix:%s"\nmode = cgi\ncgi_root = "%s"\n%s\n' \
    "$SOCK" "$TMP" 'reload_on_change = true' >"$TMP/bad.conf"
out=$("$FCGIPM" -t -c "$TMP/bad.conf" 2>&1) && fail "cgi with true accepted"
echo "$out" | grep -q "bad.conf:4: reload_on_change: nothing to watch" \
    || fail "unexpected error: $out"
printf 'listen = "unix:%s"\ncommand = {"%s"}\nreload_on_change = {"%s"}\n' \
    "$SOCK" "$APP/app" "$TMP/no/such/file" >"$TMP/bad.conf"
out=$("$FCGIPM" -t -c "$TMP/bad.conf" 2>&1) && fail "missing dir accepted"
echo "$out" | grep -q "bad.conf:3: reload_on_change: .*No such file" \
    || fail "unexpected error: $out"
ok "reload_on_change with nothing to watch, or in no directory, is refused"

# write_conf MORE: the app pool watching its program, and MORE (lines).
write_conf() {
    cat >"$CONF" <<CONF
listen = "unix:$SOCK"
workers = 3
command = {"$APP/app"}
$1
CONF
}
write_conf 'reload_on_change = true
pool "mod" {
    listen = "unix:'"$MSOCK"'"
    mode = module
    module = "'"$MODDIR/mod.so"'"
    workers = 2
    reload_on_change = yes
}'
start_fcgipm -c "$CONF"
wait_workers 5
wait_until 10 answers "unix:$SOCK" || fail "app pool does not answer"
wait_until 10 answers "unix:$MSOCK" || fail "module pool does not answer"

version() { req "unix:$SOCK" /env 2>/dev/null | sed -n 's/^APP_VERSION=//p'; }
# answers_version V: ten answers in a row from version V.
answers_version() {
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        [ "$(version)" = "$1" ] || return 1
    done
}
replaced() { log_count "pool default: .* changed: replacing"; }
done_count() { log_count "pool default: new workers up"; }
# Predicates for wait_until, which runs its arguments again each time.
done_at_least() { [ "$(done_count)" -ge "$1" ]; }
replaced_more_than() { [ "$(replaced)" -gt "$1" ]; }
workers_are() { [ "$(workers)" = "$1" ]; }
reloads_more_than() { [ "$(log_count 'reload: done')" -gt "$1" ]; }
# common A B: the pids in both lists (comm wants them sorted as text).
common() { comm -12 <(echo "$1" | sort) <(echo "$2" | sort); }
# app_workers: the app pool's workers (hello, by the program they run).
app_workers() {
    local w
    for w in $(workers); do
        grep -qF "$HELLO" "/proc/$w/cmdline" 2>/dev/null && echo "$w"
    done
}
# app_replaced OLD N: 3 app workers, none in OLD, N replacements done.
app_replaced() {
    local now
    now=$(app_workers)
    [ "$(echo "$now" | grep -c .)" -eq 3 ] && has_workers 5 \
        && [ -z "$(common "$1" "$now")" ] \
        && [ "$(done_count)" -ge "$2" ]
}

# --- install under load
[ "$(version)" = 1 ] || fail "v1 does not answer: '$(version)'"
before=$(app_workers)
load_start "unix:$SOCK" "/?sleep=5" 4
wait_load 20
install -m755 "$TMP/v2" "$APP/app"
wait_log "pool default: $APP/app changed: replacing 3 workers"
wait_until 15 app_replaced "$before" 1 \
    || fail "workers not replaced: $(workers)"
wait_load 20
load_stop
[ "$LOAD_BAD" -eq 0 ] \
    || fail "$LOAD_BAD of $((LOAD_GOOD + LOAD_BAD)) failed: $(load_errors)"
answers_version 2 || fail "the new program does not answer: '$(version)'"
ok "install -m755 under load replaces the workers, the new program" \
    "answers ($LOAD_GOOD requests, 0 failed)"

# --- a burst of 20 writes and touches is one replacement
n=$(replaced)
content=$(<"$TMP/v3")
start=${EPOCHREALTIME/./}
for i in $(seq 5); do
    printf '%s\n' "$content" >"$APP/app"    # builtin: no fork between
    printf '%s\n' "$content" >"$APP/app"
    printf '%s\n' "$content" >"$APP/app"
    touch "$APP/app"
done
burst_ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
wait_until 15 answers_version 3 || fail "v3 does not answer: '$(version)'"
wait_until 10 done_at_least 2 || fail "burst: replacement not done"
# A second replacement would start within CHANGE_QUIET_MS of the first
# one's end; watch for it well beyond that.
wait_until 3 replaced_more_than $((n + 1)) \
    && fail "burst of 20 changes gave $(( $(replaced) - n )) replacements"
[ "$(replaced)" -eq $((n + 1)) ] || fail "burst gave no replacement"
ok "20 writes and touches in ${burst_ms}ms give one replacement"

# --- a new program that cannot start leaves the old workers serving
old=$(workers)
old_app=$(app_workers)
install -m755 "$TMP/bad" "$APP/app"
why="a new worker \(slot [0-9]+\) exited with status 1, 3 times in a row"
why="$why within 1000ms of starting; the old workers keep serving"
wait_log "pool default: replacing workers failed: $why" 15
wait_until 10 workers_are "$old" \
    || fail "old workers not alone: $(workers) (were $old)"
end=$(( ${EPOCHREALTIME/./} + 3000000 ))
while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
    [ "$(version)" = 3 ] || fail "old workers stopped answering: '$(version)'"
done
[ "$(workers)" = "$old" ] || fail "old workers changed: $(workers) (were $old)"
[ "$(log_count 'replacing workers failed')" -eq 1 ] \
    || fail "the failure was logged $(log_count 'replacing workers failed') times"
ok "a new program that exits 1 is logged once; the old workers serve" \
    "on for 3s"

install -m755 "$TMP/v1" "$APP/app"
wait_until 15 app_replaced "$old_app" 3 \
    || fail "good program not started: $(workers)"
answers_version 1 || fail "v1 does not answer after the failure: '$(version)'"
ok "a good program after the failed one replaces the workers"

# --- a module .so replaced replaces its pool's workers
mod_pid() { req "unix:$MSOCK" / 2>/dev/null | awk '{ print $1; exit }'; }
app_before=$(for i in 1 2 3 4 5 6; do req "unix:$SOCK" /pid; done | sort -u)
before=$(workers)
install -m644 "$TEST_APPS/testmod.so" "$MODDIR/mod.so"
wait_log "pool mod: $MODDIR/mod.so changed: replacing 2 workers"
wait_log "pool mod: new workers up"
mod_replaced() {
    has_workers 5 \
        && [ "$(common "$before" "$(workers)" | wc -l)" -eq 3 ]
}
wait_until 10 mod_replaced \
    || fail "module workers not replaced: $(workers | tr '\n' ' ')(were $(echo $before))"
p=$(mod_pid)
[ -n "$p" ] && ! echo "$before" | grep -qx "$p" \
    || fail "module answered from an old worker: '$p'"
for w in $app_before; do
    workers | grep -qx "$w" || fail "app worker $w replaced with the module"
done
ok "a module .so replaced replaces that pool's workers only"

# --- a symlink swapped in the program's place: noticed, never followed
ln -s "$TMP/v1" "$APP/app.new"
mv -T "$APP/app.new" "$APP/app"
wait_until 15 done_at_least 4 || fail "symlink put in place: no replacement"
strace -p "$FCGIPM_PID" -e trace=%file -o "$TMP/strace.swap" \
    2>"$TMP/strace.err" &
STRACE=$!
STARTED_PIDS+=("$STRACE")
wait_until 5 grep -q attached "$TMP/strace.err" || fail "strace did not attach"
ln -s "$TMP/v2" "$APP/app.new"
mv -T "$APP/app.new" "$APP/app"
wait_until 15 done_at_least 5 || fail "symlink swap not noticed"
answers_version 2 || fail "swapped program does not answer: '$(version)'"
kill -INT "$STRACE"
wait "$STRACE" 2>/dev/null
looked=$(grep -F "$TMP" "$TMP/strace.swap" | head -3)
[ -z "$looked" ] || fail "the master looked at a path of the test: $looked"
ok "a symlink swap is noticed, and the master makes no file call on it"

# --- idle: nothing but the epoll_wait it sleeps in, for 10 s
quiet_master
timeout -s INT 10 strace -p "$FCGIPM_PID" -o "$TMP/strace.idle" 2>/dev/null
calls=$(grep -vc '^epoll_wait(.*<detached \.\.\.>$' "$TMP/strace.idle")
[ "$calls" -eq 0 ] \
    || fail "idle master made $calls system calls: $(head -5 "$TMP/strace.idle")"
ok "an idle master watching files makes no system call in 10 s"

# --- a reload watches the new list (a directory); a removed pool stops
write_conf "reload_on_change = {\"$TMP/templates\"}"
n=$(log_count 'reload: done')
kill -HUP "$FCGIPM_PID"
wait_until 10 reloads_more_than "$n" || fail "no reload"
wait_log "pool mod: retired pool drained"
wait_workers 3
n=$(replaced)
echo '<p>new</p>' >"$TMP/templates/index.html"
wait_log "pool default: $TMP/templates changed: replacing 3 workers"
install -m644 "$TEST_APPS/testmod.so" "$MODDIR/mod.so"
# The module's change would be due CHANGE_QUIET_MS after it, sooner than
# the new workers are up (min_uptime).
wait_until 10 done_at_least 6 || fail "templates: not replaced"
[ "$(log_count 'pool mod: .* changed')" -eq 1 ] \
    || fail "the removed pool still watches its module"
ok "a reload watches a listed directory; a removed pool's files are" \
    "not watched"
done_testing
