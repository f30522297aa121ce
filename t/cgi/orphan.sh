#!/bin/sh
# Leaves a child behind that keeps stdout open: the request must still
# end soon after the script, and the child must be killed.
printf 'Content-Type: text/plain\n\nbye\n'
sleep 30 &
echo $! >../orphan.child
