# reload_on_change: the exec program replaced with install under load
# replaces the workers (new pids, the new program answers, 0 failed
# requests); a burst of 20 writes and touches makes one replacement; a
# new program that exits at once leaves the old workers serving, logged
# once with why, and a good one after it replaces them; a module .so
# replaced replaces its pool's workers; a symlink swapped in the
# program's place is noticed and never followed by the master; an idle
# master makes no system call in 10 s; a reload watches what the new
# configuration lists (a directory) and a removed pool no longer
# watches. Keys that watch nothing are refused with file:line. A queue
# overflow in one pool's directory leaves another pool's workers; a
# directory removed and created again is watched again; a pool user's
# symlink anywhere on a watched path is refused, its target unwatched.
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
wait_until 30 app_replaced "$before" 1 \
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
wait_until 30 app_replaced "$old_app" 3 \
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
calls=$(idle_calls "$TMP/strace.idle")
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
# stop_master, cont_master: the master is stopped (kill -STOP) by the test; the exit trap
# lets it run again, so that a failing test never leaves it stopped.
stop_master() {
    trap 'kill -CONT "$FCGIPM_PID" 2>/dev/null; cleanup' EXIT
    kill -STOP "$FCGIPM_PID"
}
cont_master() {
    kill -CONT "$FCGIPM_PID"
    trap cleanup EXIT
}
# b_workers: pool b's workers (not running hello).
b_workers() { comm -23 <(workers) <(app_workers | sort); }

# --- an inotify queue overflow in one pool's directory: that pool only
write_conf 'reload_on_change = true
pool "b" {
    listen = "unix:'"$MSOCK"'"
    mode = module
    module = "'"$MODDIR/mod.so"'"
    workers = 2
    reload_on_change = yes
}'
n=$(log_count 'reload: done')
kill -HUP "$FCGIPM_PID"
wait_until 10 reloads_more_than "$n" || fail "no reload"
wait_workers 5
wait_until 10 answers "unix:$MSOCK" || fail "pool b does not answer"
b_before=$(b_workers)
[ "$(echo "$b_before" | grep -c .)" -eq 2 ] || fail "pool b: $b_before"
n=$(replaced)
d=$(done_count)
files=$(( $(cat /proc/sys/fs/inotify/max_queued_events) + 100 ))
[ "$files" -ge 20000 ] || files=20000
stop_master
(cd "$APP" && seq -f 'flood%.0f' "$files" | xargs touch)
cont_master
# The overflow notes every file of the pool whose queue overflowed.
wait_until 15 replaced_more_than "$n" \
    || fail "overflow: pool default not replaced"
wait_until 3 log_has "pool b: .* changed" \
    && fail "pool b replaced by an overflow in pool default's directory"
[ "$(b_workers)" = "$b_before" ] \
    || fail "pool b's workers changed: $(b_workers) (were $b_before)"
find "$APP" -name 'flood*' -delete
wait_until 15 done_at_least $((d + 1)) || fail "overflow: not done"
ok "$files files created in pool default's directory overflow its queue" \
    "alone: pool b's workers stay"

# --- a watched directory removed and created again is watched again
n=$(done_count)
old_app=$(app_workers)
rm -rf "$APP"
sleep 1     # the deploy's pause, longer than the quiet period
mkdir "$APP"
install -m755 "$TMP/v3" "$APP/app"
wait_until 20 answers_version 3 \
    || fail "new directory not watched: '$(version)'"
wait_until 10 app_replaced "$old_app" $((n + 1)) \
    || fail "workers not replaced: $(workers)"
ok "a watched directory removed, then created again 1 s later with a" \
    "new program, is watched again: the new program replaces the workers"

# --- a symlink put anywhere on a watched path is never followed
if [ "$(id -u)" -eq 0 ]; then
    OWN=$TMP/own                # the pool user's tree
    SECRET=$TMP/secret          # what it must not make the master watch
    mkdir -p "$OWN/bin/app" "$SECRET/app"
    chown -R nobody:nogroup "$OWN"
    chmod 711 "$TMP"
    write_conf 'reload_on_change = true
pool "c" {
    listen = "unix:'"$TMP/c.sock"'"
    command = {"'"$TMP/v1"'"}
    workers = 1
    reload_on_change = {"'"$OWN/bin/app"'"}
}'
    n=$(log_count 'reload: done')
    kill -HUP "$FCGIPM_PID"
    wait_until 10 reloads_more_than "$n" || fail "no reload"
    wait_log "pool b: retired pool drained"
    wait_workers 4
    # The watch goes with app (moved), and bin is a symlink by the time
    # the master watches the path again.
    stop_master
    setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c \
        "mv '$OWN/bin/app' '$OWN/bin/app.old' && mv '$OWN/bin' '$OWN/bin.old' \
         && ln -s '$SECRET' '$OWN/bin'" || fail "the attack did not run"
    cont_master
    wait_log "pool c: $OWN/bin/app changed: replacing 1 workers"
    wait_log "pool c: reload_on_change: cannot watch $OWN/bin/app: a symlink"
    wait_log "pool c: new workers up" 15
    n=$(log_count 'pool c: .* changed')
    touch "$SECRET/app/x"
    wait_until 3 eval '[ "$(log_count "pool c: .* changed")" -gt "$n" ]' \
        && fail "a change in the symlink's target replaced the workers"
    # inotify_fds: the master's inotify descriptors' fdinfo files.
    inotify_fds() {
        local fd
        for fd in /proc/"$FCGIPM_PID"/fd/*; do
            [ "$(readlink "$fd")" = "anon_inode:inotify" ] \
                && echo "/proc/$FCGIPM_PID/fdinfo/${fd##*/}"
        done
    }
    # watched DIR: an inotify watch of the master is on DIR's inode.
    watched() {
        local ino
        ino=$(printf %x "$(stat -c %i "$1")")
        cat $(inotify_fds) | grep -qE " ino:$ino "
    }
    watched "$TMP" || fail "fdinfo does not list the directory of v1"
    watched "$SECRET/app" && fail "the master watches the symlink's target"
    printf 'listen = "unix:%s"\ncommand = {"%s"}\nreload_on_change = {"%s"}\n' \
        "$SOCK" "$APP/app" "$OWN/bin/app" >"$TMP/bad.conf"
    out=$("$FCGIPM" -t -c "$TMP/bad.conf" 2>&1) && fail "symlink path accepted"
    echo "$out" | grep -q "bad.conf:3: reload_on_change: .*symlink on its way" \
        || fail "unexpected error: $out"
    ok "a pool user's symlink on a watched path is refused and logged;" \
        "its target is not watched; the configuration check refuses it"
fi
done_testing
