# The Ruby recipe: a ruby-fcgi app (FCGI.each: the socket on fd 0) from
# t/apps/fw/hello.rb as an exec pool answers through fcgi-request, and
# QUIT ends it within graceful_timeout + kill_timeout (ruby-fcgi's pure
# Ruby loop leaves on SIGUSR1 only after one more request).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fw.sh"
need ruby
ruby -rfcgi -e 1 2>/dev/null || skip "ruby's fcgi library is not installed"

fw_pool ruby "" "{\"ruby\", \"$FW_APPS/hello.rb\"}" >"$CONF"
fw_start 2
fw_answers ruby ruby
ok "a ruby-fcgi pool answers from its workers, the query read"

fw_quit 10
echo "# QUIT took $FW_QUIT_MS ms"
ok "QUIT ends the Ruby pool and the master with status 0"
done_testing
