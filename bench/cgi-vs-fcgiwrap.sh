#!/usr/bin/env bash
# fcgipm's CGI gateway side by side with fcgiwrap: the same hello.sh
# (t/cgi/hello.sh), the same number of workers (fcgiwrap runs as fcgipm
# exec-mode workers, each accepting on the shared socket like spawn-fcgi
# would start it), the same clients. Rounds alternate which one goes
# first; each prints requests/s, and the end the totals and the ratio.
# Not part of make test. Knobs (environment): WORKERS, CLIENTS (parallel
# request loops), DURATION (seconds per run), ROUNDS, FCGIPM,
# FCGI_REQUEST, FCGIWRAP.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
FCGIPM=${FCGIPM:-$top/build/fcgipm}
FCGI_REQUEST=${FCGI_REQUEST:-$top/build/fcgi-request}
FCGIWRAP=${FCGIWRAP:-/usr/sbin/fcgiwrap}
WORKERS=${WORKERS:-$(nproc)}
CLIENTS=${CLIENTS:-$(nproc)}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}

for f in "$FCGIPM" "$FCGI_REQUEST" "$FCGIWRAP"; do
    [ -x "$f" ] || { echo "missing $f (make all; apt-get install fcgiwrap)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/fcgipm-bench.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

mkdir "$TMP/cgi-bin"
cp -p "$top/t/cgi/hello.sh" "$TMP/cgi-bin/hello.sh"
SCRIPT=$TMP/cgi-bin/hello.sh
cat >"$TMP/cgi.conf" <<CONF
listen = "unix:$TMP/cgi.sock"
mode = cgi
cgi_root = "$TMP/cgi-bin"
workers = $WORKERS
CONF

"$FCGIPM" -s "$TMP/wrap.sock" -w "$WORKERS" -- "$FCGIWRAP" \
    >>"$TMP/wrap.log" 2>&1 &
PIDS+=("$!")
"$FCGIPM" -c "$TMP/cgi.conf" >>"$TMP/cgi.log" 2>&1 &
PIDS+=("$!")

hello() {
    "$FCGI_REQUEST" -p "SCRIPT_FILENAME=$SCRIPT" "unix:$1" /hello.sh
}

# ready SOCKET: poll (10 s at most) until hello.sh answers there.
ready() {
    for _ in $(seq 1000); do
        hello "$1" >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    echo "no answer on $1; logs:" >&2
    cat "$TMP"/*.log >&2
    exit 1
}
ready "$TMP/wrap.sock"
ready "$TMP/cgi.sock"
[ "$(hello "$TMP/wrap.sock")" = "$(hello "$TMP/cgi.sock")" ] \
    || { echo "the two answer differently" >&2; exit 1; }

# run SOCKET: CLIENTS loops of one request after another for DURATION
# seconds; prints "requests errors".
run() {
    local sock=$1 i end pids=()
    end=$(( ${EPOCHREALTIME/./} + DURATION * 1000000 ))
    for i in $(seq "$CLIENTS"); do
        (
            good=0 bad=0
            while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
                if hello "$sock" >/dev/null 2>&1; then
                    good=$((good + 1))
                else
                    bad=$((bad + 1))
                fi
            done
            echo "$good $bad" >"$TMP/run.$i"
        ) &
        pids+=("$!")
    done
    wait "${pids[@]}"
    cat "$TMP"/run.* | awk '{g += $1; b += $2} END {print g, b}'
    rm -f "$TMP"/run.*
}

echo "hello.sh, $WORKERS workers, $CLIENTS clients, ${DURATION}s runs," \
     "$ROUNDS rounds ($(nproc) CPUs)"
total_wrap=0 total_cgi=0
for round in $(seq "$ROUNDS"); do
    order="wrap cgi"
    [ $((round % 2)) -eq 0 ] && order="cgi wrap"
    for which in $order; do
        read -r good bad < <(run "$TMP/$which.sock")
        rps=$(awk -v n="$good" -v d="$DURATION" 'BEGIN {printf "%.1f", n / d}')
        name=$([ "$which" = wrap ] && echo "fcgiwrap  " || echo "fcgipm cgi")
        echo "round $round: $name $rps req/s ($bad errors)"
        if [ "$which" = wrap ]; then
            total_wrap=$((total_wrap + good))
        else
            total_cgi=$((total_cgi + good))
        fi
    done
done
awk -v w="$total_wrap" -v c="$total_cgi" -v d="$((DURATION * ROUNDS))" \
    'BEGIN {
        printf "fcgiwrap:   %.1f req/s\nfcgipm cgi: %.1f req/s\n", w / d, c / d
        if (w > 0) printf "ratio fcgipm/fcgiwrap: %.2f\n", c / w
    }'
