# Large bodies through nginx and Caddy. Both send the whole request body
# before they read a response: nginx stops sending it once it has the
# response's header, Caddy reads nothing until it has sent it. So a
# handler that answers while its body still arrives must hold its answer
# until the body is in. A 1 MiB POST, one a few bytes over what the
# socket buffers hold and one of 3 MiB (over what a worker holds in
# memory) come back whole through a private nginx and a private Caddy
# from the demo app (exec mode, /echo), builtin:echo (module mode) and a
# cgi script that is cat. A body over max_body is still a 413; while a
# worker takes a slow body, another one serves; without a temporary
# file, a cgi worker holds 1 MiB and then lets the output go, in order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"
need caddy
need md5sum

EXEC=$TMP/exec.sock
MODULE=$TMP/module.sock
CGI=$TMP/cgi.sock
LIMITS=$TMP/limits.sock
NOFILE=$TMP/nofile.sock
mkdir -p "$TMP/cgi-bin"
cat >"$TMP/cgi-bin/cat.sh" <<'SH'
#!/bin/sh
printf 'Content-Type: application/octet-stream\n\n'
exec cat
SH
chmod 755 "$TMP/cgi-bin/cat.sh"

cat >"$TMP/fcgipm.conf" <<CONF
pool "exec" {
    listen = "unix:$EXEC"
    command = "$HELLO"
    workers = 2
}
pool "module" {
    listen = "unix:$MODULE"
    mode = module
    module = "builtin:echo"
    workers = 2
}
pool "cgi" {
    listen = "unix:$CGI"
    mode = cgi
    cgi_root = "$TMP/cgi-bin"
    workers = 2
}
pool "nofile" {
    listen = "unix:$NOFILE"
    mode = cgi
    cgi_root = "$TMP/cgi-bin"
    workers = 1
    env = {"TMPDIR=$TMP/none"}
}
pool "limits" {
    listen = "unix:$LIMITS"
    mode = cgi
    cgi_root = "$TMP/cgi-bin"
    workers = 1
    max_body = "512k"
}
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_workers 8
for s in "$EXEC" "$MODULE"; do
    wait_until 10 answers "unix:$s" || fail "$s does not answer"
done

# The sizes: 1 MiB, and a few bytes over a socket's send and receive
# buffers together (what a front-end and a worker can have in flight
# before one of them blocks).
wmem=$(cat /proc/sys/net/core/wmem_default 2>/dev/null || echo 212992)
rmem=$(cat /proc/sys/net/core/rmem_default 2>/dev/null || echo 212992)
EDGE=$((wmem + rmem + 7))
head -c 1048576 /dev/urandom >"$TMP/body.1m"
head -c "$EDGE" /dev/urandom >"$TMP/body.edge"
# Over what a worker holds in memory (1 MiB): the rest waits in a file.
head -c 3145728 /dev/urandom >"$TMP/body.3m"

# strip_echo FILE: builtin:echo's answer without its method, URI and
# params (everything to the first empty line), in place.
strip_echo() {
    local off
    off=$(grep -abn -m1 '^$' "$1" | cut -d: -f2)
    [ -n "$off" ] || fail "no empty line in builtin:echo's answer"
    tail -c +$((off + 2)) "$1" >"$1.body" && mv "$1.body" "$1"
}

# post FRONT PATH FILE: POST FILE through the front-end at 127.0.0.1:
# FRONT's port to PATH; the echoed body must have FILE's checksum.
post() {
    local port=$1 path=$2 file=$3
    CODE=$(curl -sS -m 30 -o "$TMP/echo.out" -w '%{http_code}' \
           -H 'Content-Type: application/octet-stream' \
           --data-binary "@$file" "http://127.0.0.1:$port$path") \
        || CODE="curl failed ($?)"
    [ "$CODE" = 200 ] || return 1
    case $path in /module/*) strip_echo "$TMP/echo.out" ;; esac
    [ "$(md5sum <"$TMP/echo.out")" = "$(md5sum <"$file")" ]
}

# every_echo NAME PORT: the three handlers, the three sizes, through NAME.
every_echo() {
    local name=$1 port=$2 path file
    for path in /exec/echo /module/echo /cgi-bin/cat.sh; do
        for file in "$TMP/body.1m" "$TMP/body.edge" "$TMP/body.3m"; do
            post "$port" "$path" "$file" \
                || fail "$name: POST $(wc -c <"$file") bytes to $path:" \
                        "status $CODE, $(wc -c <"$TMP/echo.out") bytes back"
        done
    done
    ok "$name: 1 MiB, $EDGE bytes and 3 MiB come back whole from the" \
       "demo app, builtin:echo and a cgi cat"
}

# over_max_body NAME PORT: 512 KiB + 1 byte to the limits pool is a 413.
# (Caddy reads the answer only once it has sent the whole body: it gets
# the 413 when the worker's lingering drain, 1 MiB at most, takes what
# is left.)
over_max_body() {
    local code
    head -c $((512 * 1024 + 1)) /dev/zero >"$TMP/body.over"
    code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' \
           --data-binary "@$TMP/body.over" \
           "http://127.0.0.1:$2/limits/cat.sh") || code="curl failed ($?)"
    [ "$code" = 413 ] \
        || fail "$1: a body over max_body gave $code, not 413:" \
                "$(tail -1 "$NGINX_ERR"; tail -1 "$CADDY_LOG" 2>/dev/null)"
    ok "$1: a body over max_body is still a 413"
}

NGINX_LOCATIONS="
        location /exec/ {
            rewrite ^/exec(/.*)\$ \$1 break;
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:$EXEC;
        }
        location /module/ {
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:$MODULE;
        }
        location /cgi-bin/ {
            root $TMP;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$CGI;
        }
        location /limits/ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $TMP/cgi-bin/cat.sh;
            fastcgi_pass unix:$LIMITS;
        }"
start_nginx
ok "nginx started on 127.0.0.1:$PORT"
every_echo nginx "$PORT"
over_max_body nginx "$PORT"

# A private Caddy: admin off, no TLS, its state under $TMP.
CADDY_LOG=$TMP/caddy.log
CADDY_PID=
caddy_conf() {
    cat >"$TMP/Caddyfile" <<CONF
{
    admin off
    auto_https off
    storage file_system $TMP/caddy
}
http://127.0.0.1:$1 {
    handle_path /exec/* {
        reverse_proxy unix/$EXEC {
            transport fastcgi {
                split /echo
            }
        }
    }
    handle /module/* {
        reverse_proxy unix/$MODULE {
            transport fastcgi
        }
    }
    handle /cgi-bin/* {
        reverse_proxy unix/$CGI {
            transport fastcgi {
                root $TMP
                split .sh
            }
        }
    }
    handle_path /limits/* {
        reverse_proxy unix/$LIMITS {
            transport fastcgi {
                root $TMP/cgi-bin
                split .sh
            }
        }
    }
}
CONF
}
caddy_ready() { port_listened "$CPORT"; }
caddy_settled() { caddy_ready || pid_gone "$CADDY_PID"; }
start_caddy() {
    local try
    for try in $(seq 20); do
        CPORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_listened "$CPORT" && continue
        caddy_conf "$CPORT"
        HOME=$TMP XDG_DATA_HOME=$TMP/caddy XDG_CONFIG_HOME=$TMP/caddy \
            caddy run --config "$TMP/Caddyfile" --adapter caddyfile \
            </dev/null >>"$CADDY_LOG" 2>&1 &
        CADDY_PID=$!
        STARTED_PIDS+=("$CADDY_PID")
        wait_until 10 caddy_settled \
            || fail "caddy did not start: $(tail -3 "$CADDY_LOG")"
        caddy_ready && pid_alive "$CADDY_PID" && return 0
        grep -q "address already in use" "$CADDY_LOG" \
            || fail "caddy exited at start: $(tail -3 "$CADDY_LOG")"
    done
    fail "no free port found for caddy in 20 tries"
}
start_caddy
ok "caddy started on 127.0.0.1:$CPORT"
every_echo caddy "$CPORT"
over_max_body caddy "$CPORT"

# While one cgi worker takes a body that comes slowly (Caddy passes it
# on as it arrives), the pool's other worker answers.
curl -sS -m 30 -o "$TMP/slow.out" --limit-rate 200k \
    -H 'Content-Type: application/octet-stream' \
    --data-binary "@$TMP/body.1m" "http://127.0.0.1:$CPORT/cgi-bin/cat.sh" &
SLOW=$!
STARTED_PIDS+=("$SLOW")
busy_cgi() { [ "$(socket_clients "$CGI")" -ge 1 ]; }
wait_until 10 busy_cgi || fail "the slow POST did not reach the cgi pool"
"$FCGI_REQUEST" -t 10 -p "SCRIPT_FILENAME=$TMP/cgi-bin/cat.sh" \
    -d "@$TMP/body.edge" "unix:$CGI" /cgi >"$TMP/fast.out" \
    || fail "no answer while a slow body arrives"
cmp -s "$TMP/fast.out" "$TMP/body.edge" \
    || fail "the other worker's echo differs ($(wc -c <"$TMP/fast.out") bytes)"
pid_alive "$SLOW" || fail "the slow POST ended before the other request"
wait_status "$SLOW"
[ "$STATUS" = 0 ] || fail "the slow POST failed (curl $STATUS)"
cmp -s "$TMP/slow.out" "$TMP/body.1m" || fail "the slow POST's echo differs"
ok "while a worker takes a slow 1 MiB body, another one serves"

# Without a temporary file a worker holds 1 MiB; past that the output
# goes out as it comes, in order: whole for a client that reads while it
# sends.
"$FCGI_REQUEST" -t 30 -p "SCRIPT_FILENAME=$TMP/cgi-bin/cat.sh" \
    -d "@$TMP/body.3m" "unix:$NOFILE" /cgi >"$TMP/nofile.out" \
    || fail "3 MiB to a cgi cat without a temporary file failed"
cmp -s "$TMP/nofile.out" "$TMP/body.3m" \
    || fail "3 MiB without a temporary file: $(wc -c <"$TMP/nofile.out")" \
            "bytes, not the same"
log_has "cat.sh: wrote over 1048576 bytes before its body was read and no \
temporary file holds more: sent as it comes" \
    || fail "no warning that the hold was full"
ok "without a temporary file, output past 1 MiB goes out as it comes, in order"

log_has " error fcgipm" \
    && fail "errors in the log: $(grep " error " "$LOG" | head -3)"
done_testing
