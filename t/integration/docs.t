# The manual matches the program: every option `fcgipm -h` and
# `fcgi-request -h` list is in fcgipm(8) / fcgi-request(1), every config
# key, a row of the table in manager/conf_keys.c, has its entry in
# fcgipm.conf(5), and every signal of `fcgipm -h` is in fcgipm(8).
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$SRC/man

# options HELP_TEXT: "-c" and "--config" forms, one a line.
options() { grep -oE '(^|[ ,])--?[a-zA-Z][a-z-]*' | tr -d ' ,' | sort -u; }
# in_man PAGE OPTION: the page writes -c as \-c and --config as \-\-config.
in_man() { grep -qF -- "$(printf '%s' "$2" | sed 's/-/\\-/g')" "$1"; }

check_options() {
    local page=$1 help=$2 opt missing=
    for opt in $(printf '%s\n' "$help" | options); do
        in_man "$page" "$opt" || missing="$missing $opt"
    done
    [ -z "$missing" ] || fail "not in ${page##*/}:$missing"
}

help=$("$FCGIPM" -h) || fail "fcgipm -h exited $?"
[ "$(printf '%s\n' "$help" | options | wc -l)" -ge 30 ] \
    || fail "fcgipm -h lists too few options: $help"
check_options "$MAN/fcgipm.8" "$help"
ok "every option of fcgipm -h is in fcgipm(8)"

for sig in QUIT TERM INT HUP USR1 USR2 TTIN TTOU; do
    printf '%s\n' "$help" | grep -qw "$sig" || fail "fcgipm -h lacks $sig"
    grep -qw "$sig" "$MAN/fcgipm.8" || fail "fcgipm(8) lacks $sig"
done
ok "every signal of fcgipm -h is in fcgipm(8)"

help=$("$FCGI_REQUEST" -h) || fail "fcgi-request -h exited $?"
check_options "$MAN/fcgi-request.1" "$help"
ok "every option of fcgi-request -h is in fcgi-request(1)"

# A row starts with CONF_KEY("name", ...).
keys=$(grep -oE 'CONF_KEY\("[a-z_0-9]+"' "$SRC/manager/conf_keys.c" \
           | sed -E 's/.*\("//; s/"$//' | sort -u)
[ "$(echo "$keys" | wc -l)" -ge 40 ] || fail "too few keys found: $keys"
missing=
for k in $keys; do
    grep -qE "^\.BR? (.*[ \"])?\"?$k\b" "$MAN/fcgipm.conf.5" \
        || missing="$missing $k"
done
[ -z "$missing" ] || fail "keys without an entry in fcgipm.conf(5):$missing"
ok "every config key has its entry in fcgipm.conf(5)"
done_testing
