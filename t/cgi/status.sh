#!/bin/sh
# A script that chooses its own status: it must reach the client as is.
printf 'Status: 404 Not Here\nContent-Type: text/plain\n\n'
echo "no such thing"
