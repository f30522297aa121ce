# A CGI::Fast application as fcgipm's exec mode runs it: CGI::Fast->new
# accepts on the listening socket on fd 0. It answers "Hello, NAME from
# perl-cgi-fast PID" (NAME from the query's name=, else world).
use strict;
use warnings;
use CGI::Fast;

while (my $q = CGI::Fast->new) {
    my $name = $q->url_param('name');
    $name = 'world' unless defined $name && $name =~ /^[\w-]+$/;
    print $q->header(-type => 'text/plain');
    print "Hello, $name from perl-cgi-fast $$\n";
}
