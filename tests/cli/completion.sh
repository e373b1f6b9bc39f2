#!/usr/bin/env bash
# The generated bash completion (build/oflash.bash-completion) completes
# every command of the table and each command's options.
set -euo pipefail
: "${OFLASH_BUILD:?}"
F="$OFLASH_BUILD/oflash.bash-completion"
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
[ -f "$F" ] || { echo "FAIL: $F missing"; exit 1; }
source "$F"
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _oflash; echo "${COMPREPLY[*]}"; }
[ "$(comp oflash comm)" = commander ] && pass "comm<Tab> -> commander" || fail "comm: $(comp oflash comm)"
for c in $("$OFLASH" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
    grep -qw "$c" <<<"$(comp oflash "")" || fail "command $c not completed"
done
pass "every command of the table completes"
r=$(comp oflash program --sk)
[ "$r" = "--skip-otp" ] && pass "program --sk<Tab> -> --skip-otp" || fail "program --sk: $r"
r=$(comp oflash reset --h)
grep -qw -- "--halt" <<<"$r" && pass "reset --h<Tab> offers --halt" || fail "reset: $r"
r=$(comp oflash commander -Com)
[ "$r" = "-CommandFile" ] && pass "commander -Com<Tab> -> -CommandFile" || fail "commander: $r"
r=$(comp oflash help er)
[ "$r" = erase ] && pass "help er<Tab> -> erase" || fail "help: $r"
[ "$FAILS" = 0 ] || exit 1
echo "all passed"
