#!/bin/sh
# Hangs: writes its pid and its child's pid next to cgi_root, then waits.
echo $$ >../sleep.pid
sleep 30 &
echo $! >../sleep.child
wait
