#!/bin/sh
# Headers without Content-Type, Location or Status: a 500, not passed on.
printf 'X-Whatever: 1\n\nbody nobody should see\n'
