# The Debian package: `make deb` builds fcgipm_VERSION-1_ARCH.deb in a
# scratch copy of the tree, lintian finds no error in it, and unpacked in
# a scratch root it holds the programs, man pages and module header, the
# default configuration (which the unpacked `fcgipm -t` accepts and which
# runs no worker), the systemd units and the logrotate snippet, with
# their modes, conffiles and key lines. The units' ExecStart and
# ExecReload and the snippet's postrotate work on the unpacked tree.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
need dpkg-buildpackage
need dh
need lintian
need systemd-analyze
need logrotate

version=$(sed -n 's/^VERSION := //p' "$SRC/Makefile")
debversion=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
[ "${debversion%-*}" = "$version" ] \
    || fail "debian/changelog is at $debversion, the Makefile at $version"
DEB=$TMP/build/fcgipm_${debversion}_$(dpkg --print-architecture).deb

# BUILD keeps the result out of the tree's own build/; the MAKEFLAGS of a
# make check-integration (or asan's SAN=1) are not the package's.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    make -s -C "$SRC" deb BUILD="$TMP/build" >"$TMP/build.log" 2>&1 \
    || fail "make deb: $(tail -n 20 "$TMP/build.log")"
[ -f "$DEB" ] || fail "no ${DEB##*/}: $(ls "$TMP/build")"
ok "make deb builds ${DEB##*/}"

lintian "$DEB" >"$TMP/lintian.out" 2>&1
rc=$?
grep '^[WI]:' "$TMP/lintian.out" | sed 's/^/# lintian: /'
errors=$(grep '^E:' "$TMP/lintian.out")
[ -z "$errors" ] && [ "$rc" -eq 0 ] \
    || fail "lintian (exit $rc): $(cat "$TMP/lintian.out")"
ok "lintian reports no error"

ROOT=$TMP/root
dpkg-deb -x "$DEB" "$ROOT" || fail "dpkg-deb -x"
dpkg-deb -e "$DEB" "$TMP/control" || fail "dpkg-deb -e"
LISTING=$(dpkg-deb -c "$DEB")
# packaged MODE PATH: PATH is in the package, owned by root, with MODE.
packaged() {
    echo "$LISTING" | awk -v m="$1" -v p="./$2" \
        '$1 == m && $2 == "root/root" && $NF == p { f = 1 } END { exit !f }'
}
UNITS=lib/systemd/system
packaged drwxr-xr-x "usr/$UNITS/" && UNITS=usr/$UNITS
for f in usr/sbin/fcgipm usr/bin/fcgi-request; do
    packaged -rwxr-xr-x "$f" || fail "$f is not 0755 root: $(echo "$LISTING" \
        | grep -F "./$f")"
done
for f in usr/share/man/man8/fcgipm.8.gz usr/share/man/man5/fcgipm.conf.5.gz \
         usr/share/man/man1/fcgi-request.1.gz usr/include/fcgipm_module.h \
         etc/fcgipm/fcgipm.conf etc/logrotate.d/fcgipm \
         "$UNITS/fcgipm.service" "$UNITS/fcgipm@.service" \
         "$UNITS/fcgipm@.socket" usr/share/doc/fcgipm/README.Debian \
         usr/share/doc/fcgipm/copyright; do
    packaged -rw-r--r-- "$f" || fail "$f is not 0644 root: $(echo "$LISTING" \
        | grep -F "./$f")"
done
cmp -s "$ROOT/usr/include/fcgipm_module.h" "$SRC/worker/fcgipm_module.h" \
    || fail "the packaged header differs from worker/fcgipm_module.h"
ok "programs 0755, man pages, header, config, units, logrotate 0644"

for f in /etc/fcgipm/fcgipm.conf /etc/logrotate.d/fcgipm; do
    grep -qxF "$f" "$TMP/control/conffiles" \
        || fail "$f is not a conffile: $(cat "$TMP/control/conffiles")"
done
depends=$(dpkg-deb -f "$DEB" Depends)
case $depends in
    *libfcgi*libconfuse*|*libconfuse*libfcgi*) ;;
    *) fail "Depends lacks the shared libraries: $depends" ;;
esac
ok "conffiles: fcgipm.conf and the logrotate snippet; Depends: $depends"

# unit_has FILE LINE...: each LINE is a line of the packaged unit FILE.
unit_has() {
    local file=$ROOT/$UNITS/$1 line
    shift
    for line in "$@"; do
        grep -qxF -- "$line" "$file" || fail "${file##*/} lacks '$line'"
    done
}
unit_has fcgipm.service Type=notify NotifyAccess=all KillSignal=SIGQUIT \
    'ExecStart=/usr/sbin/fcgipm -c /etc/fcgipm/fcgipm.conf' \
    'ExecReload=/usr/sbin/fcgipm ctl -c /etc/fcgipm/fcgipm.conf -p $MAINPID reload'
unit_has fcgipm@.service Type=notify NotifyAccess=all KillSignal=SIGQUIT \
    'ExecStart=/usr/sbin/fcgipm -c /etc/fcgipm/%i.conf' \
    'ExecReload=/usr/sbin/fcgipm ctl -c /etc/fcgipm/%i.conf -p $MAINPID reload'
unit_has fcgipm@.socket 'ListenStream=/run/fcgipm/%i.sock' SocketMode=0660
ok "units: notify, ExecStart and ExecReload through fcgipm ctl, QUIT," \
    "the socket under /run/fcgipm"

# Units systemd would refuse or half-read: only the missing /usr/sbin
# binary (outside this scratch root) may be reported.
mkdir "$TMP/units"
cp "$ROOT/$UNITS"/fcgipm* "$TMP/units/"
(cd "$TMP/units" && systemd-analyze verify --man=no ./fcgipm.service \
    ./fcgipm@app.service ./fcgipm@app.socket) >"$TMP/verify.out" 2>&1
bad=$(grep -v 'Command /usr/sbin/fcgipm is not executable' "$TMP/verify.out")
[ -z "$bad" ] || fail "systemd-analyze verify: $bad"
ok "systemd-analyze verify accepts the units"

"$ROOT/usr/sbin/fcgipm" -t -c "$ROOT/etc/fcgipm/fcgipm.conf" \
    >"$TMP/t.out" 2>&1 || fail "fcgipm -t on the default: $(cat "$TMP/t.out")"
grep -qx 'workers = 0' "$TMP/t.out" \
    || fail "the default configuration runs workers: $(cat "$TMP/t.out")"
ok "the unpacked fcgipm -t accepts the unpacked default, which runs nothing"

# A graceful stop must end before systemd's SIGKILL: a worker may take
# graceful_timeout, then kill_timeout more.
seconds() {
    case $1 in
        *ms) echo 0 ;;
        *s) echo "${1%s}" ;;
        *m) echo $(( ${1%m} * 60 )) ;;
        *) echo "$1" ;;
    esac
}
graceful=$(seconds "$(sed -n 's/^graceful_timeout = //p' "$TMP/t.out")")
kill_after=$(seconds "$(sed -n 's/^kill_timeout = //p' "$TMP/t.out")")
for unit in fcgipm.service fcgipm@.service; do
    stop=$(sed -n 's/^TimeoutStopSec=//p' "$ROOT/$UNITS/$unit")
    [ -n "$stop" ] && [ "$stop" -gt $(( graceful + kill_after )) ] \
        || fail "$unit: TimeoutStopSec=$stop is not above" \
                "graceful_timeout + kill_timeout ($graceful + $kill_after)"
done
ok "TimeoutStopSec=$stop is above graceful_timeout + kill_timeout" \
    "($graceful + $kill_after s)"

# logrotate -d exits 0 past an unknown option: read its errors.
logrotate -d -s "$TMP/logrotate.state" "$ROOT/etc/logrotate.d/fcgipm" \
    >"$TMP/logrotate.out" 2>&1 || fail "logrotate: $(cat "$TMP/logrotate.out")"
bad=$(grep '^error:' "$TMP/logrotate.out")
[ -z "$bad" ] || fail "logrotate: $bad"
sed -n '/postrotate/,/endscript/p' "$ROOT/etc/logrotate.d/fcgipm" \
    | grep -q '/usr/sbin/fcgipm ctl -c "$conf" ${pid:+-p "$pid"} reopen' \
    || fail "postrotate does not reopen through fcgipm ctl"
ok "logrotate reads the snippet; postrotate runs fcgipm ctl reopen"

"$ROOT/usr/sbin/fcgipm" -V >"$TMP/V.out" 2>&1 || fail "fcgipm -V failed"
grep -qx "fcgipm $version" "$TMP/V.out" \
    || fail "fcgipm -V says $(cat "$TMP/V.out"), not $version"
ok "the unpacked fcgipm -V says $version"

# What systemd and logrotate would run, on the unpacked tree: instance
# "app" of fcgipm@.service, its file in $ETC instead of /etc/fcgipm.
ETC=$TMP/etc/fcgipm
mkdir -p "$ETC" "$TMP/log"
LOG=$TMP/log/app.log
cat >"$ETC/app.conf" <<CONF
log = "$LOG"
control_listen = "unix:$TMP/app.ctl"
listen = "unix:$TMP/app.sock"
workers = 1
command = {"$HELLO"}
CONF
# unpacked TEXT: TEXT with the paths of the unpacked tree.
unpacked() {
    local text=${1//%i/app}
    text=${text//\$MAINPID/${FCGIPM_PID:-}}
    text=${text//\/usr\/sbin\/fcgipm/$ROOT/usr/sbin/fcgipm}
    echo "${text//\/etc\/fcgipm\//$ETC/}"
}
# unit_cmd KEY: fcgipm@app's KEY= command line, unpacked, in CMD.
unit_cmd() {
    local line
    line=$(sed -n "s/^$1=//p" "$ROOT/$UNITS/fcgipm@.service")
    read -ra CMD <<<"$(unpacked "$line")"
    [ "${#CMD[@]}" -gt 0 ] || fail "fcgipm@.service has no $1"
}
unit_cmd ExecStart
"${CMD[@]}" >>"$TMP/stderr.log" 2>&1 &
FCGIPM_PID=$!
STARTED_PIDS+=("$FCGIPM_PID")
wait_workers 1
body=$("$ROOT/usr/bin/fcgi-request" -t 10 "unix:$TMP/app.sock" /hello) \
    || fail "no answer from the unpacked fcgipm: $(cat "$TMP/stderr.log")"
[[ $body == "Hello from fcgipm worker "* ]] || fail "answer: $body"
ok "fcgipm@app's ExecStart serves through the unpacked fcgi-request"

unit_cmd ExecReload
"${CMD[@]}" >"$TMP/reload.out" 2>&1 \
    || fail "ExecReload exited $?: $(cat "$TMP/reload.out")"
wait_log 'reload: done'
echo 'workers = -1' >>"$ETC/app.conf"
"${CMD[@]}" >"$TMP/reload.out" 2>&1
rc=$?
[ "$rc" = 78 ] || fail "ExecReload on a broken file exited $rc:" \
    "$(cat "$TMP/reload.out")"
sed -i '$d' "$ETC/app.conf"
ok "fcgipm@app's ExecReload (fcgipm ctl reload) exits 0, and 78 on a" \
    "broken file"

# logrotate moves the file, then runs postrotate.
mv "$LOG" "$LOG.1"
postrotate=$(sed -n '/postrotate/,/endscript/{/postrotate\|endscript/d;p}' \
    "$ROOT/etc/logrotate.d/fcgipm")
sh -c "$(unpacked "$postrotate")" || fail "postrotate exited $?"
wait_until 10 log_has 'log file reopened' \
    || fail "postrotate did not reopen the log: $(tail -n 3 "$LOG.1")"
ok "logrotate's postrotate has the master reopen its log (fcgipm ctl)"

kill -QUIT "$FCGIPM_PID"
wait_status "$FCGIPM_PID"
[ "$STATUS" = 0 ] || fail "the unpacked fcgipm exited $STATUS on QUIT"
ok "the unpacked fcgipm stops on QUIT (KillSignal), exit 0"
done_testing
