# A chrooted worker's supplementary groups come from the host's group
# database, never from the chroot's: a pool user who can write inside its
# chroot plants an /etc/group there that lists it in root, disk and shadow,
# and its workers (exec, cgi and module modes) must still have exactly the
# groups the host gives it. A pool with group but no user has none, and
# none keeps the master's.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "chroot and pool users need root"
# Under make valgrind a worker running as nobody cannot create the log
# file valgrind opens for each process it forks (as in cgi_security.t).
[ -n "${TEST_UNDER_VALGRIND:-}" ] && done_testing
id nobody >/dev/null 2>&1 || skip "no user nobody"
need "${CC:-cc}"
need setpriv

NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
# What the host gives nobody, as a sorted list on one line.
HOST_GROUPS=$(id -G nobody | tr ' ' '\n' | sort -n | paste -sd ' ')
for g in 0 6 42; do
    case " $HOST_GROUPS " in
        *" $g "*) skip "the host itself lists nobody in group $g" ;;
    esac
done

chmod 755 "$TMP"
JAIL=$TMP/jail
mkdir -p "$JAIL/etc" "$JAIL/cgi-bin" "$JAIL/bin"
# An exec pool's program: it only has to stay alive, in the jail with the
# libraries it needs.
printf '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n' \
    >"$TMP/sleeper.c"
"${CC:-cc}" -o "$JAIL/bin/sleeper" "$TMP/sleeper.c" \
    || fail "cannot build sleeper.c"
for lib in $(ldd "$JAIL/bin/sleeper" | grep -o '/[^ ]*'); do
    mkdir -p "$JAIL$(dirname "$lib")"
    cp -L "$lib" "$JAIL$lib"
done
# The jail belongs to the pool user, who writes its own user database.
cat >"$JAIL/etc/group" <<GROUP
root:x:0:nobody
disk:x:6:nobody
shadow:x:42:nobody
nogroup:x:$NOGROUP:
GROUP
cat >"$JAIL/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
nobody:x:$NOBODY:$NOGROUP:nobody:/:/bin/sh
PASSWD
chown -R nobody "$JAIL"

# field PID NAME: the first value of a /proc/PID/status line.
field() { sed -n "s/^$2:[[:space:]]*\([0-9]*\).*/\1/p" "/proc/$1/status"; }
# groups_of PID: its supplementary groups, sorted, on one line.
groups_of() {
    sed -n 's/^Groups:[[:space:]]*//p' "/proc/$1/status" \
        | tr -s ' \t' '\n' | grep . | sort -n | paste -sd ' '
}
# settled UID GID [COMM]: the master's only worker runs as UID and GID
# (it set its groups before them), and has become COMM if given; its pid
# in WORKER.
WORKER=
settled() {
    local w
    w=$(workers)
    [ -n "$w" ] && [ "$(echo "$w" | wc -l)" = 1 ] || return 1
    [ "$(field "$w" Uid)" = "$1" ] && [ "$(field "$w" Gid)" = "$2" ] \
        || return 1
    [ -z "${3:-}" ] || [ "$(cat "/proc/$w/comm" 2>/dev/null)" = "$3" ] \
        || return 1
    WORKER=$w
}

# run_pool WHAT UID GID EXPECTED KEYS...: a master with one chrooted pool;
# its worker must run as UID/GID in the jail with groups EXPECTED (and be
# the program COMM names, when set).
run_pool() {
    local what=$1 uid=$2 gid=$3 expected=$4
    shift 4
    {
        printf 'pool "jailed" {\n    listen = "unix:%s/%s.sock"\n' \
            "$TMP" "${what%% *}"
        printf '    workers = 1\n    chroot = "%s"\n' "$JAIL"
        printf '    %s\n' "$@"
        printf '}\n'
    } >"$TMP/fcgipm.conf"
    # The master has a supplementary group of its own, which no worker
    # may keep.
    setpriv --groups 4242 "$FCGIPM" -c "$TMP/fcgipm.conf" >>"$LOG" 2>&1 &
    FCGIPM_PID=$!
    STARTED_PIDS+=("$FCGIPM_PID")
    wait_until 10 settled "$uid" "$gid" "${COMM:-}" \
        || fail "$what: no worker running as $uid:$gid: $(workers)"
    [ "$(readlink "/proc/$WORKER/root")" = "$JAIL" ] \
        || fail "$what: worker $WORKER root is" \
                "$(readlink "/proc/$WORKER/root")"
    local got
    got=$(groups_of "$WORKER")
    [ "$got" = "$expected" ] \
        || fail "$what: worker $WORKER has groups '$got', not '$expected'" \
                "($(grep '^Groups:' "/proc/$WORKER/status"))"
    ok "$what: a chrooted worker has groups '$got'"
    kill -TERM "$FCGIPM_PID"
    wait_status "$FCGIPM_PID"
    [ "$STATUS" = 0 ] || fail "$what: master exited $STATUS"
}

COMM=sleeper run_pool "exec mode, user = nobody" \
    "$NOBODY" "$NOGROUP" "$HOST_GROUPS" \
    'user = "nobody"' 'command = {"/bin/sleeper"}'
run_pool "cgi mode, user = nobody" "$NOBODY" "$NOGROUP" "$HOST_GROUPS" \
    'user = "nobody"' 'mode = cgi' 'cgi_root = "/cgi-bin"'
run_pool "module mode, user = nobody" "$NOBODY" "$NOGROUP" "$HOST_GROUPS" \
    'user = "nobody"' 'mode = module' 'module = "builtin:hello"'
run_pool "module mode, group only" 0 "$NOGROUP" "" \
    "group = \"$NOGROUP\"" 'mode = module' 'module = "builtin:hello"'
done_testing
