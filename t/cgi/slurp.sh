#!/bin/sh
# Writes its pid next to cgi_root, reads its whole stdin, then answers
# with how many bytes it read.
echo $$ >../slurp.pid
n=$(wc -c)
printf 'Content-Type: text/plain\n\n%s\n' "$n"
