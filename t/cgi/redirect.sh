#!/bin/sh
# Location without Status: the gateway adds "Status: 302 Found".
printf 'Location: /cgi-bin/hello.sh\n\n'
