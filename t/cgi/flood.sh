#!/bin/sh
# Writes its pid next to cgi_root, then a response body of BYTES bytes
# (QUERY_STRING), default 100 MiB: more than a client that never reads
# lets through.
echo $$ >../flood.pid
printf 'Content-Type: application/octet-stream\n\n'
head -c "${QUERY_STRING:-104857600}" /dev/zero
