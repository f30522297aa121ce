#!/bin/sh
# A response body of BYTES bytes (QUERY_STRING), default 50 MiB.
printf 'Content-Type: application/octet-stream\n\n'
exec head -c "${QUERY_STRING:-52428800}" /dev/zero
