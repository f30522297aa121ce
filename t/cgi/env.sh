#!/bin/sh
# The environment the script was started with, one variable a line
# (read from /proc: the shell's own variables are not in it).
printf 'Content-Type: text/plain\n\n'
tr '\0' '\n' </proc/$$/environ
