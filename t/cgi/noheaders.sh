#!/bin/sh
# Exits before the end of its header block: a 502.
printf 'Content-Type: text/plain\n'
exit 3
