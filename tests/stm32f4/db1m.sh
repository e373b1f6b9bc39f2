#!/usr/bin/env bash
# Option-byte layouts of the F2/F4 family on the simulated chip, set the
# way firmware sets them (a RAM routine on the core: OPTKEYR, OPTCR,
# OPTSTRT):
#  - a 1 MiB STM32F429xG switched to dual-bank mode (OPTCR.DB1M = 1,
#    RM0090 §3.4 Table 9, §3.9.10): the simulated chip takes the dual-bank
#    layout (an erase of sector 8 is "not performed", sector 12 is the 16 KiB
#    at 0x08080000); `oflash program` and `oflash erase` refuse it before
#    anything is written, in words (the register only with -v); once DB1M is
#    cleared again the same program works;
#  - an STM32F413xH: nWRP14 (OPTCR bit 30, RM0430) protects sectors 14
#    and 15 together, nWRP12 (bit 28) sector 12.
source "$(dirname "$0")/../flash/lib.sh"

# opt.bin: OPTCR = (OPTCR & ~r1) | r0, programmed; r0 = OPTCR after.
cat >"$WORK/opt.S" <<'EOF'
    .syntax unified
    .thumb
    ldr r2, =0x40023C00
    ldr r3, =0x08192A3B
    str r3, [r2, #8]
    ldr r3, =0x4C5D6E7F
    str r3, [r2, #8]
    ldr r3, [r2, #0x14]
    bic r3, r3, r1
    orr r3, r3, r0
    bic r3, r3, #3
    str r3, [r2, #0x14]
    orr r3, r3, #2
    str r3, [r2, #0x14]
1:  ldr r3, [r2, #0xC]
    tst r3, #0x10000
    bne 1b
    ldr r0, [r2, #0x14]
    bkpt #0
    .ltorg
EOF
# erase.bin: sector erase with FLASH_CR.SNB = r0 (x32); r0 = FLASH_SR after.
cat >"$WORK/erase.S" <<'EOF'
    .syntax unified
    .thumb
    ldr r2, =0x40023C00
    ldr r3, =0x45670123
    str r3, [r2, #4]
    ldr r3, =0xCDEF89AB
    str r3, [r2, #4]
    lsl r0, r0, #3
    orr r0, r0, #0x200
    orr r0, r0, #2
    str r0, [r2, #0x10]
    orr r0, r0, #0x10000
    str r0, [r2, #0x10]
1:  ldr r3, [r2, #0xC]
    tst r3, #0x10000
    bne 1b
    ldr r0, [r2, #0xC]
    bkpt #0
    .ltorg
EOF
for r in opt erase; do
    "$ARM_CC" -c -mcpu=cortex-m3 -mthumb "$WORK/$r.S" -o "$WORK/$r.o"
    "$ARM_OBJCOPY" -O binary "$WORK/$r.o" "$WORK/$r.bin"
done
# on_core CHIP ROUTINE REGS...: run a routine, print its r0
on_core() {
    local chip=$1 r=$2 o; shift 2
    o=$("$OFLASH" run --probe "sim:$chip" --load "$WORK/$r.bin@0x20000000" --pc 0x20000001 \
        --sp 0x20001000 "$@" 2>&1) || { echo "run failed: $o" >&2; return 1; }
    sed -nE 's/^r0 +(0x[0-9A-F]{8}).*/\1/p' <<<"$o"
}
# state CHIP OUT: all of flash + OTP and its lock bytes
state() {
    "$OFLASH" read 0x08000000 0x100000 -o "$2.flash.bin" --probe "sim:$1" -q &&
        "$OFLASH" read 0x1FFF7800 0x210 -o "$2.otp.bin" --probe "sim:$1" -q &&
        cat "$2.flash.bin" "$2.otp.bin" >"$2"
}

# ---- 1 MiB F429 in dual-bank mode ----
C="$WORK/f429.sim"
"$OFLASH" sim create "$C" --device STM32F429xG >/dev/null
head -c 4096 /dev/urandom >"$WORK/a.bin"
head -c 4096 /dev/urandom >"$WORK/b.bin"
head -c 4096 /dev/urandom >"$WORK/c.bin"
head -c 4096 /dev/urandom >"$WORK/new.bin"
"$OFLASH" program "$WORK/a.bin@0x08000000" "$WORK/b.bin@0x08080000" "$WORK/c.bin@0x08084000" --probe "sim:$C" -q
optcr=$(on_core "$C" opt --reg r0=0x40000000 --reg r1=0)
[ $((optcr & 0x40000000)) != 0 ] && "$OFLASH" sim show "$C" | grep -q "DB1M = 1 (two banks of 512 KiB" &&
    pass "DB1M set by a routine on the core: OPTCR $optcr, sim show names the dual-bank layout" ||
    fail "DB1M not set: OPTCR '$optcr' $("$OFLASH" sim show "$C")"

# The simulated chip has the dual-bank layout (RM0090 Table 7/9).
cp "$C" "$WORK/layout.sim"
sr=$(on_core "$WORK/layout.sim" erase --reg r0=8)
"$OFLASH" verify "$WORK/b.bin@0x08080000" --probe "sim:$WORK/layout.sim" -q &&
    pass "DB1M = 1: an erase of sector 8 is not performed (SR $sr), 0x08080000 keeps its data" ||
    fail "DB1M: sector 8 erase changed 0x08080000 (SR $sr)"
sr=$(on_core "$WORK/layout.sim" erase --reg r0=0x10)
"$OFLASH" read 0x08080000 0x4000 -o "$WORK/s12.bin" --probe "sim:$WORK/layout.sim" -q
[ "$(tr -d '\377' <"$WORK/s12.bin" | wc -c)" = 0 ] &&
    "$OFLASH" verify "$WORK/c.bin@0x08084000" --probe "sim:$WORK/layout.sim" -q &&
    pass "DB1M = 1: SNB 0x10 (sector 12) erases the 16 KiB at 0x08080000, 0x08084000 (sector 13) kept (SR $sr)" ||
    fail "DB1M: sector 12 erase (SR $sr)"

state "$C" "$WORK/before"
printf 'SN-0001' >"$WORK/sn.bin"
rc=0; out=$("$OFLASH" program "$WORK/new.bin@0x08080000" "$WORK/sn.bin@0x1FFF7800" --otp --probe "sim:$C" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "is set to dual-bank mode by its option bytes (DB1M = 1)" <<<"$out" &&
    grep -q "nothing was written" <<<"$out" && grep -q "clear the DB1M option bit" <<<"$out" &&
    ! grep -q "FLASH_OPTCR\|0x[0-9A-F]\{8\}" <<<"$out" &&
    pass "program refused in words, no register names: $(grep -m1 oflash: <<<"$out")" || fail "program: rc=$rc $out"
ops=$("$OFLASH" sim show "$C" --json | grep -oE '"(program|erase)_ops": [0-9]+' | tr '\n' ' ')
[ "$ops" = '"program_ops": 0 "erase_ops": 0 ' ] && pass "no flash operation in the refused run ($ops)" ||
    fail "flash operations: $ops"
rc=0; out=$("$OFLASH" -v program "$WORK/new.bin@0x08080000" --probe "sim:$C" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -qE "detail: FLASH_OPTCR 0x4[0-9A-F]{7}: bit 30 \(DB1M\) set" <<<"$out" &&
    pass "-v names the register: $(grep -m1 detail: <<<"$out")" || fail "-v: rc=$rc $out"
rc=0; out=$("$OFLASH" erase --sector 8 --probe "sim:$C" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "DB1M = 1" <<<"$out" && pass "erase --sector 8 refused too" || fail "erase: rc=$rc $out"
state "$C" "$WORK/after"
cmp -s "$WORK/before" "$WORK/after" && pass "the chip is unchanged: flash, OTP and lock bytes" ||
    fail "the refused chip changed"

optcr=$(on_core "$C" opt --reg r0=0 --reg r1=0x40000000)
rc=0; out=$("$OFLASH" program "$WORK/new.bin@0x08080000" --probe "sim:$C" 2>&1) || rc=$?
[ $((optcr & 0x40000000)) = 0 ] && [ "$rc" = 0 ] && "$OFLASH" verify "$WORK/new.bin@0x08080000" "$WORK/a.bin@0x08000000" --probe "sim:$C" -q &&
    pass "DB1M cleared (OPTCR $optcr): the same program works, sector 8 rewritten" || fail "after clearing: rc=$rc $out"

# A 1 MiB F407 (no DB1M, RM0090 §3.9.9: bits 31:28 reserved): bit 30 stays 0.
"$OFLASH" sim create "$WORK/f407.sim" --device STM32F407xG >/dev/null
optcr=$(on_core "$WORK/f407.sim" opt --reg r0=0x40000000 --reg r1=0)
[ $((optcr & 0x40000000)) = 0 ] && pass "STM32F407xG: OPTCR bit 30 is reserved, stays 0 ($optcr)" ||
    fail "F407 took DB1M: $optcr"

# ---- F413: nWRP12..14 in OPTCR bits 28..30, nWRP14 = sectors 14 and 15 ----
C="$WORK/f413.sim"
"$OFLASH" sim create "$C" --device STM32F413xH >/dev/null
optcr=$(on_core "$C" opt --reg r0=0 --reg r1=0x40000000)
rc=0; out=$("$OFLASH" program "$WORK/a.bin@0x08160000" --probe "sim:$C" 2>&1) || rc=$?
[ $((optcr & 0x70000000)) = $((0x30000000)) ] && [ "$rc" = 1 ] && grep -q "sector 15 .*nWRP14 = 0" <<<"$out" &&
    pass "F413: nWRP14 (OPTCR bit 30) = 0 protects sector 15: $(grep -m1 oflash: <<<"$out")" || fail "F413 sector 15: optcr $optcr rc=$rc $out"
rc=0; out=$("$OFLASH" program "$WORK/a.bin@0x08140000" --probe "sim:$C" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "sector 14 .*nWRP14 = 0" <<<"$out" && pass "F413: ... and sector 14" || fail "F413 sector 14: rc=$rc $out"
rc=0; out=$("$OFLASH" program "$WORK/a.bin@0x08100000" --probe "sim:$C" 2>&1) || rc=$?
[ "$rc" = 0 ] && pass "F413: sector 12 (nWRP12 = 1) still programs" || fail "F413 sector 12: rc=$rc $out"
optcr=$(on_core "$C" opt --reg r0=0x40000000 --reg r1=0x10000000)
rc=0; out=$("$OFLASH" program "$WORK/b.bin@0x08100000" --probe "sim:$C" 2>&1) || rc=$?
[ $((optcr & 0x70000000)) = $((0x60000000)) ] && [ "$rc" = 1 ] && grep -q "sector 12 .*nWRP12 = 0" <<<"$out" &&
    "$OFLASH" program "$WORK/b.bin@0x08160000" --probe "sim:$C" -q &&
    pass "F413: nWRP12 (bit 28) = 0 protects sector 12; nWRP14 back to 1 frees sector 15" || fail "F413 nWRP12: optcr $optcr rc=$rc $out"
finish
