#!/bin/sh
# Reads its whole stdin and prints its md5; leaves a marker file next to
# cgi_root to show that it ran.
: >../body-ran
printf 'Content-Type: text/plain\n\n'
md5sum | cut -d' ' -f1
