# The tree keeps the shape doc/architecture.md gives it: no C file over
# 700 lines outside t/, worker/ includes no manager/ header, and at link
# level worker/, common/ and protocol/ use nothing of manager/ (nor
# common/ and protocol/ anything of worker/), so no object cycle joins the
# master to the worker.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
# Under t/run-valgrind FCGIPM is a wrapper; FCGIPM_BIN is the binary.
OBJ=$(dirname "${FCGIPM_BIN:-$FCGIPM}")
need nm

long=$(cd "$SRC" && find common protocol client manager worker bench fuzz \
           -name '*.[ch]' -exec wc -l {} + | awk '$2 != "total" && $1 > 700')
[ -z "$long" ] || fail "over 700 lines (split by role): $long"
ok "no C file outside t/ is over 700 lines"

# headers DIR: the names of the headers in DIR.
headers() { (cd "$SRC/$1" && ls -- *.h); }
# includes DIR: every local header the files of DIR include.
includes() {
    cat "$SRC/$1"/*.[ch] | sed -nE 's/^#include "([^"]+)".*/\1/p' | sort -u
}
bad=$(comm -12 <(headers manager | sort) <(includes worker))
[ -z "$bad" ] || fail "worker/ includes manager/ headers: $bad"
for dir in common protocol; do
    bad=$(comm -12 <({ headers manager; headers worker; } | sort) \
              <(includes $dir) | sort -u)
    [ -z "$bad" ] || fail "$dir/ includes manager/ or worker/ headers: $bad"
done
ok "worker/ includes no manager/ header; common/ and protocol/ neither"

# defined DIR: "symbol object" for every global symbol DIR's objects define.
defined() {
    nm --defined-only -o "$OBJ/$1"/*.o \
        | awk '$2 ~ /^[TDBRC]$/ { sub(/:.*/, "", $1); print $3, $1 }' \
        | sort -u
}
# undefined DIR: every symbol DIR's objects use from elsewhere.
undefined() { nm -u "$OBJ/$1"/*.o | awk 'NF == 2 { print $2 }' | sort -u; }

for o in manager worker common protocol; do
    ls "$OBJ/$o"/*.o >/dev/null 2>&1 || fail "no objects in $OBJ/$o"
done
# check USER PROVIDER: USER's objects call nothing PROVIDER's define.
check() {
    local edges
    edges=$(join <(undefined "$1") <(defined "$2"))
    [ -z "$edges" ] || fail "$1/ uses $2/: $(printf '%s\n' "$edges" | head)"
}
check worker manager
check common manager
check common worker
check protocol manager
check protocol worker
check protocol common
ok "objects: worker/, common/ and protocol/ use nothing of manager/"

done_testing
