#!/usr/bin/env bash
# The generated bash and zsh completions (build/oflash.bash-completion,
# build/_oflash) complete
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
# zsh: the generated function file, run with stand-ins for zsh's completion
# builtins that print what would be offered.
Z="$OFLASH_BUILD/_oflash"
[ -f "$Z" ] || fail "$Z missing"
zcomp() { # zcomp "WORDS" CURRENT PREFIX
    zsh -c '
        _describe() { print -l -- ${(P)${@[-1]}}; }
        compadd() { if [[ $1 == -a ]]; then print -l -- ${(P)2}; else shift; print -l -- "$@"; fi }
        _files() { print FILES; }
        eval "$(sed "\$d" "$1")"   # the function, without its trailing call
        words=(${=2}); CURRENT=$3; PREFIX=$4
        _oflash' zcomp "$Z" "$@"
}
zsh -n "$Z" && pass "zsh: _oflash parses (zsh -n)" || fail "zsh -n"
r=$(zcomp "oflash " 2 "")
for c in $("$OFLASH" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
    grep -q "^$c:" <<<"$r" || fail "zsh: command $c not offered"
done
grep -q "^program:program main flash" <<<"$r" && pass "zsh: every command, with its description" || fail "zsh commands: $r"
r=$(zcomp "oflash program --sk" 3 --sk)
grep -qx -- "--skip-otp" <<<"$r" && grep -qx -- "--json" <<<"$r" && pass "zsh: program options" || fail "zsh program: $r"
r=$(zcomp "oflash read 0 4 -" 5 -)
grep -qx -- "--output" <<<"$r" && grep -qx -- "-o" <<<"$r" && pass "zsh: read options (-o, --output)" || fail "zsh read: $r"
r=$(zcomp "oflash info f" 3 f)
[ "$r" = FILES ] && pass "zsh: files after a command" || fail "zsh files: $r"
[ "$FAILS" = 0 ] || exit 1
echo "all passed"
