#!/bin/sh
# Starts two processes that leave its process group, as daemons do: one
# in a session of its own (setsid), one double-forked; writes their pids
# next to cgi_root, then answers and exits. With QUERY_STRING=hold, the
# first keeps the script's stdout open.
rm -f ../escape.setsid ../escape.daemon
if [ "$QUERY_STRING" = hold ]; then
    setsid sh -c 'echo $$ >../escape.setsid; exec sleep 300' \
        </dev/null 2>/dev/null &
else
    setsid sh -c 'echo $$ >../escape.setsid; exec sleep 300' \
        </dev/null >/dev/null 2>&1 &
fi
(setsid sh -c 'sleep 300 & echo $! >../escape.daemon' \
    </dev/null >/dev/null 2>&1 &)
i=0
while { [ ! -s ../escape.setsid ] || [ ! -s ../escape.daemon ]; } \
    && [ "$i" -lt 500 ]; do
    sleep 0.01
    i=$((i + 1))
done
printf 'Content-Type: text/plain\n\nescaped\n'
