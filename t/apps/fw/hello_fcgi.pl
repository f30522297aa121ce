# A Perl FCGI application as fcgipm's exec mode runs it: FCGI::Request()
# takes the listening socket on fd 0. It answers "Hello, NAME from
# perl-fcgi PID" (NAME from the query's name=, else world).
use strict;
use warnings;
use FCGI;

my $req = FCGI::Request();
while ($req->Accept() >= 0) {
    my ($name) = ($ENV{QUERY_STRING} // '') =~ /(?:^|&)name=([\w-]+)/;
    print "Content-Type: text/plain\r\n\r\n";
    print "Hello, ", $name // 'world', " from perl-fcgi $$\n";
}
