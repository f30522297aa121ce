# A PSGI application for Plack's FastCGI handler, as fcgipm's exec mode
# runs it: plackup -s FCGI --manager= hello.psgi (the socket on fd 0). It
# answers "Hello, NAME from plack PID" (NAME from the query's name=, else
# world).
use strict;
use warnings;

sub {
    my ($env) = @_;
    my ($name) = ($env->{QUERY_STRING} // '') =~ /(?:^|&)name=([\w-]+)/;
    return [200, ['Content-Type' => 'text/plain'],
            ["Hello, " . ($name // 'world') . " from plack $$\n"]];
};
