# The Perl recipes, one exec pool each in one master: FCGI
# (t/apps/fw/hello_fcgi.pl), CGI::Fast (hello_cgi_fast.pl) and Plack
# (plackup -s FCGI --manager= hello.psgi; without --manager= plackup
# loads FCGI::ProcManager). Each answers through fcgi-request, and the
# Plack app through nginx too; all three wait in accept() on fd 0, so a
# QUIT stops every worker at once with status 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fw.sh"
need perl
need plackup
perl -MFCGI -e 1 2>/dev/null || skip "perl's FCGI module is not installed"
perl -MCGI::Fast -e 1 2>/dev/null || skip "perl's CGI::Fast is not installed"
. "$(dirname "$0")/nginx.sh"

{
    fw_pool fcgi "" "{\"perl\", \"$FW_APPS/hello_fcgi.pl\"}"
    fw_pool cgifast "" "{\"perl\", \"$FW_APPS/hello_cgi_fast.pl\"}"
    fw_pool plack "" "{\"plackup\", \"-E\", \"deployment\", \"-s\", \"FCGI\",
                \"--manager=\", \"$FW_APPS/hello.psgi\"}"
} >"$CONF"
fw_start 6
fw_answers fcgi perl-fcgi
ok "an FCGI pool answers from its workers, the query read"
fw_answers cgifast perl-cgi-fast
ok "a CGI::Fast pool answers from its workers, the query read"
fw_answers plack plack
ok "a Plack pool (plackup -s FCGI --manager=) answers from its workers"

NGINX_LOCATIONS="
        location /plack/ {
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:$TMP/plack.sock;
        }"
start_nginx
get '/plack/x?name=nginx'
[ "$CODE" = 200 ] || fail "GET /plack/x through nginx: $CODE: $(cat "$TMP/body")"
[[ $(cat "$TMP/body") =~ ^Hello,\ nginx\ from\ plack\ ([0-9]+)$ ]] \
    || fail "through nginx: $(cat "$TMP/body")"
ok "the Plack app answers through nginx"
stop_nginx || fail "nginx did not stop"

log_has "crash loop|killed by" && fail "a worker crashed"
fw_quit 10
[ "$(log_count 'stopped: exited with status 0')" -eq 6 ] \
    || fail "not every worker ended with status 0 at QUIT:" \
            "$(grep 'stopped:' "$LOG")"
log_has "not seen idle in accept" \
    && fail "a Perl worker was not seen idle in accept(): $(grep 'not seen' "$LOG")"
echo "# QUIT took $FW_QUIT_MS ms"
ok "QUIT stops all six Perl workers at once, each with status 0"
done_testing
