# The fast close (issue 11): once a request's input has been read to its
# end, a module or cgi worker closes the connection at once, rather than
# shutting its side and waiting for the client to close (libfcgi's
# lingering close, up to 2 s with the worker unable to accept). Seen from
# a client that holds its connection open after the answer: a write after
# end of file fails (the worker closed) instead of being swallowed.
. "$(dirname "$0")/lib.sh"
need perl

SOCK=$TMP/app.sock
cat >"$TMP/hold.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
$SIG{PIPE} = 'IGNORE';
my ($path, $body) = @ARGV;
my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
sub rec { pack('CCnnCC', 1, $_[0], 1, length $_[1], 0, 0) . $_[1] }
sub nv { pack('CC', length $_[0], length $_[1]) . $_[0] . $_[1] }
my $len = length $body;
print $s rec(1, pack('nCx5', 1, 0)),
    rec(4, nv('REQUEST_METHOD', $len ? 'POST' : 'GET')
        . nv('CONTENT_LENGTH', $len) . nv('REQUEST_URI', '/')),
    rec(4, ''), ($len ? rec(5, $body) : ''), rec(5, '');
$s->flush;
my $end = 0;
while (!$end) {
    read($s, my $h, 8) == 8 or die "short header";
    my (undef, $type, undef, $n, $pad) = unpack('CCnnC', $h);
    read($s, my $b, $n + $pad) == $n + $pad or die "short body";
    $end = $type == 3;
}
1 while sysread($s, my $rest, 4096);     # to end of file
my $w = syswrite($s, rec(5, 'x'));
print defined $w ? "lingering\n" : "closed\n";
PERL

cat >"$TMP/fcgipm.conf" <<CONF
listen = "unix:$SOCK"
mode = module
module = "builtin:echo"
workers = 1
CONF
start_fcgipm -c "$TMP/fcgipm.conf"
wait_until 10 answers "unix:$SOCK" / || fail "no answer"

out=$(timeout 10 perl "$TMP/hold.pl" "$SOCK" "") || fail "client: $out"
[ "$out" = closed ] || fail "a GET's connection was not closed at once: $out"
ok "a GET: the worker closes at once"
out=$(timeout 10 perl "$TMP/hold.pl" "$SOCK" "some body") || fail "client: $out"
[ "$out" = closed ] || fail "a POST read to its end was not closed at once: $out"
ok "a POST whose body was read: the worker closes at once"
answers "unix:$SOCK" / || fail "the worker stopped answering"
done_testing
