#!/bin/sh
# Runs ./suid-id (a setuid copy of id(1) next to it): the real and the
# effective user it gets, and its own $0.
printf 'Content-Type: text/plain\n\n'
echo "ruid=$(./suid-id -ru) euid=$(./suid-id -u)"
echo "argv0=$0"
