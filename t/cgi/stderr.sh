#!/bin/sh
# Writes to stderr; the gateway logs each line tagged with the script.
echo "first stderr line from $$" >&2
printf 'Content-Type: text/plain\n\nok\n'
printf 'second stderr line\r\n' >&2
