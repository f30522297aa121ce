#!/bin/sh
# The smallest CGI script: a header block, a blank line, a body.
printf 'Content-Type: text/plain\r\n\r\n'
echo "Hello from CGI $SCRIPT_NAME"
