#!/usr/bin/env bash
# Options are parsed with getopt_long (src/cli/common.c cli_args): "--" ends
# the options, short options take attached values (-oOUT) and cluster
# (-qo OUT), --opt=value works for every option, long options must be
# spelled in full, and every bad option is a usage error (exit 2) that
# names it.
source "$(dirname "$0")/../flash/lib.sh"
cd "$WORK"
printf ':020000040800F2\n:0400000001020304F2\n:00000001FF\n' >fw.hex
cp fw.hex ./-fw.hex

# "--" ends the options: a file whose name starts with '-'
out=$("$OFLASH" info -- -fw.hex 2>&1) && grep -q "0x08000000" <<<"$out" \
    && pass "info -- -fw.hex reads the file" || fail "--: $out"
rc=0; out=$("$OFLASH" info -fw.hex 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q "unknown option '-fw.hex'" <<<"$out" \
    && pass "without --, -fw.hex is an unknown option (exit 2)" || fail "-fw.hex: $rc $out"

# attached and clustered short option values, --opt=value
"$OFLASH" convert fw.hex -oa.bin && cmp -s a.bin <(printf '\x01\x02\x03\x04') \
    && pass "convert -oOUT (attached value)" || fail "-oOUT"
"$OFLASH" convert fw.hex -qo b.srec && grep -q '^S3' b.srec \
    && pass "convert -qo OUT (clustered)" || fail "-qo"
"$OFLASH" convert fw.hex --output=c.hex --record-size=2 && [ "$(grep -c '^:02[0-9A-F]\{4\}00' c.hex)" = 2 ] \
    && pass "--output=OUT --record-size=2" || fail "--opt=value: $(cat c.hex)"
# options after the positional arguments
"$OFLASH" info fw.hex --json | python3 -c 'import json,sys; json.load(sys.stdin)' \
    && pass "options after positionals" || fail "info fw.hex --json"

# usage errors, exit 2, named
bad() { # bad WHAT EXPECTED-TEXT ARGS...
    local what=$1 want=$2 rc=0 out; shift 2
    out=$("$OFLASH" "$@" 2>&1) || rc=$?
    if [ "$rc" = 2 ] && grep -qF -- "$want" <<<"$out"; then pass "$what"; else fail "$what: rc=$rc $out"; fi
}
bad "abbreviation refused (--out is not --output)" "unknown option '--out'" convert fw.hex --out x.hex
bad "abbreviation refused (--dev)" "unknown option '--dev'" erase --all --dev STM32F401RE --probe sim:x
bad "flag given a value" "option --all takes no value" erase --all=1 --probe sim:x
bad "missing value at the end" "option --probe needs a value" program fw.hex --probe
bad "missing short value" "option -o needs a value" read 0 4 --probe sim:x -o
bad "unknown short option" "unknown option '-x'" read 0 4 -x
bad "sim create: prefix kept" "sim create: unknown option '--frob'" sim create x.sim --frob
bad "loader check: unknown option" "unknown option '--nope'" loader check x.flm --nope
bad "pack add: unknown option" "unknown option '--nope'" pack add --nope x.pack
bad "run: unknown option" "unknown option '--lod'" run --lod a@0x20000000
bad "sim serve: abbreviation refused" "sim serve: unknown option '--remote-bit'" sim serve x.sim --remote-bit 0
bad "gdbserver: stray argument" "unexpected argument 'extra'" gdbserver --probe sim:x extra
finish
