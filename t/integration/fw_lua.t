# The Lua recipe: a WSAPI app (wsapi.fastcgi: the socket on fd 0) from
# t/apps/fw/hello.lua as an exec pool, with one variable in its
# environment (lua-wsapi-fcgi's lfcgi crashes on an empty one, which
# clear_env gives): it answers through fcgi-request, and QUIT stops its
# workers at once (they wait in accept() on fd 0) with status 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fw.sh"
need lua5.1
lua5.1 -e 'require "wsapi.fastcgi"' 2>/dev/null \
    || skip "lua-wsapi-fcgi is not installed"

fw_pool lua '    env = {"PATH=/usr/bin:/bin"}' \
    "{\"lua5.1\", \"$FW_APPS/hello.lua\"}" >"$CONF"
fw_start 2
fw_answers lua lua
ok "a WSAPI pool answers from its workers, the query read"
log_has "crash loop|killed by" && fail "a worker crashed: $(grep killed "$LOG")"

fw_quit 10
[ "$(log_count 'stopped: exited with status 0')" -eq 2 ] \
    || fail "not every worker ended with status 0: $(grep 'stopped:' "$LOG")"
echo "# QUIT took $FW_QUIT_MS ms"
ok "QUIT stops both Lua workers at once, each with status 0"
done_testing
