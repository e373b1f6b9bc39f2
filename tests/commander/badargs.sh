#!/usr/bin/env bash
# Every commander command given a bad argument: a clear message naming the
# command and what was expected, exit 1, and the chip unchanged.
source "$(dirname "$0")/../flash/lib.sh"
CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
T=(--probe "sim:$CHIP")
dump "$WORK/before.bin"

bad() { # bad "COMMAND LINE" "EXPECTED TEXT"
    local out rc=0
    printf '%s\n' "$1" >"$WORK/c.jlink"
    out=$(timeout 30 "$OFLASH" commander --probe "sim:$CHIP" -f "$WORK/c.jlink" 2>&1) || rc=$?
    if [ "$rc" = 1 ] && grep -qF -- "$2" <<<"$out"; then pass "'$1': $2"; else fail "'$1' (rc=$rc): $out"; fi
}
bad "connect foo:bar" "connect: 'foo:bar' is not a probe"
bad "device" "device: missing argument (usage: device NAME)"
bad "h 1" "halt: too many arguments"
bad "g now" "go: too many arguments"
bad "r x" "reset: too many arguments"
bad "s zz" "s: count 'zz' is not a hexadecimal number"
bad "regs all" "regs: too many arguments"
bad "rreg R99" "rreg: unknown register 'R99'"
bad "wreg R0" "wreg: missing argument (usage: wreg REG, VALUE)"
bad "wreg R0, 0xGG" "wreg: value '0xGG' is not a hexadecimal number"
bad "setpc 123456789" "setpc: address '123456789' is not a hexadecimal number"
bad "mem 20000000" "mem: missing argument"
bad "mem8 20000000, 0" "mem8: count must be at least 1"
bad "mem16 20000001, 2" "mem16: address 20000001 is not 2-byte aligned"
bad "mem32 FFFFFFFC, 2" "mem32: range FFFFFFFC + 8 passes the end of the address space"
bad "w1 20000000, 100" "w1: value 100 does not fit in 1 byte"
bad "w2 20000000, 10000" "w2: value 10000 does not fit in 2 bytes"
bad "w4 20000002, 1" "w4: address 20000002 is not 4-byte aligned"
bad "loadfile $WORK/missing.hex" "missing.hex"
bad "loadbin $WORK/x.bin" "loadbin: missing argument (usage: loadbin FILE, ADDR)"
bad "savebin $WORK/s.bin, 08000000, 0" "savebin: length must be at least 1"
bad "verifybin $WORK/missing.bin, 08000000" "verifybin: $WORK/missing.bin: cannot open"
bad "erase 08000000" "erase: give both START and END"
bad "erase 08000100 08004000" "erase: start 08000100 is not the start of a flash sector"
bad "erase 08000000 08004100" "erase: end 08004100 is not the end of a flash sector"
bad "setbp 20000000 A" "setbp: ARM mode breakpoints do not exist on Cortex-M"
bad "clrbp 1" "clrbp: no breakpoint with handle 1"
bad "sleep soon" "sleep: 'soon' is not a number of milliseconds"
bad "otp unlock" "otp: unknown subcommand 'unlock'"
bad "otp lock 16" "otp: block '16': expected a block number 0..15"
bad "otp lock 1" "in a command file write 'otp lock 1 --yes'"
bad "plan" "plan: missing argument"
bad "plan a.hex --force" "plan: unknown option '--force'"
bad "program a.hex --otp --skip-otp" "program: --otp and --skip-otp contradict each other"
bad "help nothing" "help: unknown command 'nothing'"
bad "q now" "exit: too many arguments"
bad "frobnicate" "unknown command 'frobnicate' (type 'help' for the list)"
printf 'setbp 20000000\nsetbp 20000010\n' >"$WORK/c.jlink"
out=$("$OFLASH" commander --probe "sim:$CHIP" -f "$WORK/c.jlink" 2>&1) && fail "second setbp accepted" || true
grep -q "one breakpoint at a time" <<<"$out" && pass "second breakpoint refused with the reason" || fail "setbp 2: $out"
dump "$WORK/after.bin"
cmp -s "$WORK/before.bin" "$WORK/after.bin" && pass "flash and OTP unchanged by all of the above" || fail "chip changed"
# Options of the command itself: usage errors, exit 2.
rc=0; "$OFLASH" commander -ExitOnError 2 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass "-ExitOnError 2: usage error" || fail "ExitOnError rc=$rc"
rc=0; out=$("$OFLASH" commander -f "$WORK/nope.jlink" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "nope.jlink: cannot open" <<<"$out" && pass "missing command file named" || fail "cmdfile: $rc $out"
rc=0; out=$(printf 'regs\n' >"$WORK/n.jlink"; "$OFLASH" commander -f "$WORK/n.jlink" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "not connected" <<<"$out" && pass "no probe: 'not connected' with how to connect" || fail "noprobe: $rc $out"
finish
