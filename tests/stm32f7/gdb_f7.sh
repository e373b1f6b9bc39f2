#!/usr/bin/env bash
# gdb_f7.sh - oflash gdbserver serving a simulated STM32F746ZG to
# gdb-multiarch and a raw RSP client (tests/gdb/rsp_raw.py): the server
# plans and refuses with the F7's rules (64-byte OTP blocks at 0x1FF0F000,
# lock bytes at 0x1FF0F400, RM0385 §3.3.8) and guards the F7's flash
# interface registers and option bytes (family ops guards):
#  - a gdb 'load' of an ELF with OTP data, without --otp, and a conflicting
#    serial with --otp, leave the whole chip (flash, OTP, lock bytes,
#    option bytes) byte-identical; the same serial loads;
#  - memory writes into OTP, lock bytes, FLASH_KEYR/OPTKEYR/OPTCR/OPTCR1
#    and the option bytes (0x1FFF0000) are refused without the opt-ins;
#  - code run on the core cannot program OTP or option bytes either.
source "$(dirname "$0")/../gdb/lib.sh"
RAW="python3 $(dirname "$0")/../gdb/rsp_raw.py"
DEV=STM32F746ZG
CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device $DEV >/dev/null

dump() {
    "$OFLASH" read 0x08000000 0x100000 -o "$WORK/d.flash.bin" --probe "sim:$CHIP" --quiet
    "$OFLASH" read 0x1FF0F000 0x410 -o "$WORK/d.otp.bin" --probe "sim:$CHIP" --quiet
    "$OFLASH" read 0x1FFF0000 0x20 -o "$WORK/d.opt.bin" --probe "sim:$CHIP" --quiet
    cat "$WORK/d.flash.bin" "$WORK/d.otp.bin" "$WORK/d.opt.bin" >"$1"
}
same_dump() {
    dump "$WORK/after.bin"
    if cmp -s "$1" "$WORK/after.bin"; then
        pass "$2: whole chip (flash, OTP, lock and option bytes) byte-identical"
    else
        fail "$2: chip changed: $(cmp "$1" "$WORK/after.bin" | head -1)"
    fi
}
# fw NAME FILL [SERIAL]: 40000 bytes of FILL (sectors 0 and 1, 32 KiB each);
# with SERIAL, 32 bytes of it in OTP block 1 (0x1FF0F040) of the same ELF.
fw() {
    {
        printf '    .syntax unified\n    .thumb\n    .section .isr_vector,"a"\n'
        printf '    .word 0x20010000\n    .word 0x08000009\n    .text\n    b .\n'
        printf '    .fill 40000, 1, %s\n' "$2"
        [ -n "${3:-}" ] && printf '    .section .otp,"a"\n    .ascii "%s"\n' "$3"
    } >"$WORK/$1.S"
    "$ARM_CC" -mcpu=cortex-m7 -mthumb -nostdlib -Wl,-e0x08000009 -Ttext=0x08000008 \
        -Wl,--section-start=.isr_vector=0x08000000 -Wl,--section-start=.otp=0x1FF0F040 \
        -o "$WORK/$1.elf" "$WORK/$1.S"
}
load() { gdbx -ex "target remote 127.0.0.1:$SPORT" -ex "file $1" -ex "load" "${@:2}" -ex "detach"; }
fw fwA 0xA5
fw fwB_otpB 0x5A "SERIAL-B-0002-OFLASH-F7-OTP-T-02"
fw fwB_otpA 0x5A "SERIAL-A-0001-OFLASH-F7-OTP-T-01"
"$OFLASH" program "$WORK/fwA.elf" --probe "sim:$CHIP" --device $DEV --quiet

# ---- OTP data in the image, server without --otp
dump "$WORK/before.bin"
start_server --device $DEV --probe "sim:$CHIP"
g=$(load "$WORK/fwB_otpB.elf")
grep -q "Error finishing flash operation" <<<"$g" && pass "load with OTP data refused without --otp" ||
    fail "load not refused: $g"
stop_pid "$SPID"
same_dump "$WORK/before.bin" "OTP image refused without --otp"

# ---- a conflicting serial with --otp (64-byte block 1 holds serial A)
"$OFLASH" program "$WORK/fwB_otpA.elf" --probe "sim:$CHIP" --device $DEV --otp --quiet
"$OFLASH" program "$WORK/fwA.elf" --probe "sim:$CHIP" --device $DEV --quiet
dump "$WORK/before.bin"
start_server --device $DEV --probe "sim:$CHIP" --otp
g=$(load "$WORK/fwB_otpB.elf")
grep -q "Error finishing flash operation" <<<"$g" && pass "conflicting serial refused with --otp" ||
    fail "conflict not refused: $g"
grep -q "OTP block 1, 0x1FF0F047: chip holds 0x41, image wants 0x42" "$SLOG" &&
    pass "server log names the byte in 64-byte block 1" || fail "conflict log: $(cat "$SLOG")"
stop_pid "$SPID"
same_dump "$WORK/before.bin" "conflicting serial refused"

# ---- the same serial with --otp: accepted, flash programmed through the plan
start_server --device $DEV --probe "sim:$CHIP" --otp
g=$(load "$WORK/fwB_otpA.elf" -ex "compare-sections")
[ "$(grep -c ": matched." <<<"$g")" = 3 ] && pass "same serial + new firmware: loaded, 3 sections match" ||
    fail "accepted load: $g"
stop_pid "$SPID"

# ---- memory writes: guarded without the opt-ins
dump "$WORK/before.bin"
start_server --device $DEV --probe "sim:$CHIP"
r=$($RAW packets "$SPORT" 'M1ff0f080,4:00000000' 'X1ff0f402,1:\x00' 'M40023c04,4:23016745' \
    'M40023c08,4:3b2a1908' 'M40023c14,4:fdaaffc0' 'M40023c18,4:80004000' 'M1fff0000,2:aa55' \
    'M20000000,4:01020304')
echo "$r" | tr '\n' ' '; echo
[ "$(echo "$r" | head -7 | grep -c '^E05$')" = 7 ] &&
    pass "M/X into OTP, lock byte, KEYR, OPTKEYR, OPTCR, OPTCR1, option bytes: E05" ||
    fail "guard replies: $r"
[ "$(echo "$r" | sed -n 8p)" = OK ] && pass "a RAM write still works" || fail "RAM write: $r"
stop_pid "$SPID"

# Code on the core: unlock, program an OTP word (block 2), then unlock the
# option bytes and write-protect sector 7 (OPTSTRT): WRPERR, nothing changes.
cat >"$WORK/otpw.S" <<'ASM'
    .syntax unified
    .thumb
    .global _start
_start:
    ldr  r4, =0x40023C00
    ldr  r7, =0x10000        @ FLASH_SR.BSY
    ldr  r5, =0x45670123
    str  r5, [r4, #4]        @ FLASH_KEYR
    ldr  r5, =0xCDEF89AB
    str  r5, [r4, #4]
    ldr  r5, =0x201          @ FLASH_CR: PG, PSIZE x32
    str  r5, [r4, #0x10]
    ldr  r6, =0x1FF0F080     @ OTP block 2
    ldr  r5, =0x12345678
    str  r5, [r6]
1:  ldr  r0, [r4, #0x0C]
    tst  r0, r7
    bne  1b
    str  r0, [r4, #0x0C]     @ clear the error bits
    movs r5, #0
    str  r5, [r4, #0x10]
    ldr  r5, =0x08192A3B
    str  r5, [r4, #8]        @ FLASH_OPTKEYR
    ldr  r5, =0x4C5D6E7F
    str  r5, [r4, #8]
    ldr  r5, [r4, #0x14]
    bic  r5, r5, #0x800000   @ nWRP7 = 0
    orr  r5, r5, #2          @ OPTSTRT
    str  r5, [r4, #0x14]
2:  ldr  r1, [r4, #0x0C]
    tst  r1, r7
    bne  2b
    ldr  r2, [r4, #0x14]
    bkpt #1
ASM
"$ARM_CC" -mcpu=cortex-m7 -mthumb -nostdlib -Ttext=0x20000000 -o "$WORK/otpw.elf" "$WORK/otpw.S"
"$ARM_OBJCOPY" -O binary "$WORK/otpw.elf" "$WORK/otpw.bin"
start_server --device $DEV --probe "sim:$CHIP"
out=$("$OFLASH" run --probe "gdb:127.0.0.1:$SPORT" --load "$WORK/otpw.bin@0x20000000" --pc 0x20000001 \
    --sp 0x20008000 --json) || fail "run via gdbserver: $out"
r0=$(json_get "$out" r0) || r0=0; r1=$(json_get "$out" r1) || r1=0; r2=$(json_get "$out" r2) || r2=0
[ $((r0 & 0x10)) != 0 ] && [ $((r1 & 0x10)) != 0 ] && [ $((r2 & 0x800000)) != 0 ] &&
    pass "code on the core: OTP program and option bytes refused (SR 0x$(printf %x "$r0"), 0x$(printf %x "$r1"))" ||
    fail "sim guard: r0=$r0 r1=$r1 r2=$r2"
stop_pid "$SPID"
same_dump "$WORK/before.bin" "guarded writes and code"
finish
