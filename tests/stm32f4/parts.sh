#!/usr/bin/env bash
# The built-in STM32F2/F4 table on the simulated chip, one part per layout:
# F410x8 (64 KiB: only the four 16 KiB sectors, 32 KiB RAM), F205xF (768 KiB,
# Cortex-M3), F446xE, F413xH (1.5 MiB in ONE bank: sectors 12..15 are 128 KiB
# from 0x08100000, SNB 12..15, not bank 2), F469xI (2 MiB, dual bank).  Per
# part: `devices show` gives the layout, the chip's ID registers match the
# table (part detected with no --device), first and last sector and the
# 1 MiB boundary programmed and verified with an OTP serial, the last sector
# erased alone, and a RAM routine run on the core.  The core is the part's:
# an M4-only (DSP) instruction is UNDEFINED on the Cortex-M3 of an F2 (a
# usage fault) and runs on an F4; the one flash loader of the family is
# built for the Cortex-M3 (ARMv7-M, without the M4's DSP extension).
source "$(dirname "$0")/../flash/lib.sh"

# part  KiB  sectors  last-sector-address  DEV_ID  RAM-KiB  core
PARTS=(
    "STM32F410x8 64 4 0x0800C000 0x458 32 Cortex-M4"
    "STM32F205xF 768 10 0x080A0000 0x411 128 Cortex-M3"
    "STM32F446xE 512 8 0x08060000 0x421 128 Cortex-M4"
    "STM32F413xH 1536 16 0x08160000 0x463 320 Cortex-M4"
    "STM32F469xI 2048 24 0x081E0000 0x434 320 Cortex-M4"
)
out=$("$OFLASH" devices f2)
n=$(grep -c "^STM32F2[01][57]x" <<<"$out" || true)
[ "$n" = 13 ] && pass "devices f2: the 13 F205/F207/F215/F217 parts" || fail "devices f2: $n: $out"
for p in F401xB F401xE F405xG F407xE F410xB F411xE F412xG F413xG F423xH F415xG F417xG F427xG F429xI F437xI F439xG F446xC F469xE F479xI; do
    "$OFLASH" devices show "STM32$p" >/dev/null 2>&1 || fail "devices show STM32$p"
done
pass "devices show: every F4 line of the table"

# The F2/F4 loader: built for the Cortex-M3, so no M4-only instruction
# can be in it (the assembler refuses one for that core).
attrs=$("${ARM_OBJCOPY%objcopy}readelf" -A "$OFLASH_BUILD/loaders/stm32f4.flm")
grep -qE 'Tag_CPU_arch: v7$' <<<"$attrs" && grep -q 'Tag_CPU_arch_profile: Microcontroller' <<<"$attrs" &&
    pass "the F2/F4 flash loader is built for the Cortex-M3 (ARMv7-M, no DSP extension)" ||
    fail "stm32f4.flm attributes: $attrs"
printf '.syntax unified\n.thumb\nqadd r0, r0, r1\nbkpt #0\n' >"$WORK/qadd.s"
! "$ARM_CC" -c -mcpu=cortex-m3 -mthumb "$WORK/qadd.s" -o "$WORK/qadd3.o" 2>/dev/null &&
    pass "the assembler refuses qadd (DSP) for the Cortex-M3" || fail "qadd assembled for cortex-m3"
"$ARM_CC" -c -mcpu=cortex-m4 -mthumb "$WORK/qadd.s" -o "$WORK/qadd.o"
"$ARM_OBJCOPY" -O binary "$WORK/qadd.o" "$WORK/qadd.bin"

for line in "${PARTS[@]}"; do
    read -r dev kb nsect last devid ramkb core <<<"$line"
    show=$("$OFLASH" devices show "$dev")
    grep -q "DEV_ID $devid, flash size $kb KiB" <<<"$show" && grep -q "($ramkb KiB)" <<<"$show" \
        && grep -q "$dev (STMicroelectronics, $core)" <<<"$show" \
        && pass "$dev: DEV_ID $devid, $kb KiB, $ramkb KiB RAM, $core" || fail "$dev show: $show"
    top=$(grep -oE "sectors? [0-9-]+\)$" <<<"$show" | grep -oE "[0-9]+\)$" | tail -1 | tr -d ')')
    [ "$top" = $((nsect - 1)) ] && pass "$dev: sectors 0-$((nsect - 1))" || fail "$dev: last sector $top"
    CHIP="$WORK/$dev.sim"
    "$OFLASH" sim create "$CHIP" --device "$dev" >/dev/null
    T=(--probe "sim:$CHIP")
    # the part from its ID registers (no --device): info names it
    head -c 4096 /dev/urandom >"$WORK/a.bin"
    head -c 4096 /dev/urandom >"$WORK/b.bin"
    printf 'SN-%s' "$dev" >"$WORK/sn.bin"
    IMG=("$WORK/a.bin@0x08000000" "$WORK/b.bin@$last" "$WORK/sn.bin@0x1FFF7800")
    if [ "$kb" -gt 1024 ]; then
        head -c 4096 /dev/urandom >"$WORK/c.bin"
        IMG+=("$WORK/c.bin@0x08100000")
    fi
    rc=0; o=$("$OFLASH" program "${IMG[@]}" "${T[@]}" --otp 2>&1) || rc=$?
    [ "$rc" = 0 ] && pass "$dev: program first/last sector (+1 MiB) and OTP" || { fail "$dev program: $o"; continue; }
    rc=0; o=$("$OFLASH" verify "${IMG[@]}" "${T[@]}" --verify readback 2>&1) || rc=$?
    [ "$rc" = 0 ] && pass "$dev: verify (read back)" || fail "$dev verify: $o"
    "$OFLASH" read "$last" 4096 -o "$WORK/r.bin" "${T[@]}" -q && cmp -s "$WORK/r.bin" "$WORK/b.bin" \
        && pass "$dev: last sector holds the image" || fail "$dev: last sector contents"
    if [ "$kb" -gt 1024 ]; then
        "$OFLASH" read 0x08100000 4096 -o "$WORK/r.bin" "${T[@]}" -q && cmp -s "$WORK/r.bin" "$WORK/c.bin" \
            && pass "$dev: the sector at 1 MiB holds the image" || fail "$dev: 1 MiB contents"
    fi
    o=$("$OFLASH" erase --sector $((nsect - 1)) "${T[@]}" 2>&1) || fail "$dev erase: $o"
    "$OFLASH" read "$last" 4096 -o "$WORK/r.bin" "${T[@]}" -q
    [ "$(tr -d '\377' <"$WORK/r.bin" | wc -c)" = 0 ] && "$OFLASH" verify "$WORK/a.bin@0x08000000" "${T[@]}" -q \
        && pass "$dev: erase of sector $((nsect - 1)) alone" || fail "$dev: erase of the last sector"
    # Again, with new data in sector 0 (or at 1 MiB: sector 12 of an
    # F413, SNB 12 in its single bank; sector 12 = bank 2 of an F469):
    # exactly that sector erased, the blank last one programmed, OTP
    # already there (no --otp needed).
    head -c 4096 /dev/urandom >"$WORK/d.bin"
    at=0x08000000; [ "$kb" -gt 1024 ] && at=0x08100000
    IMG2=("$WORK/d.bin@$at" "$WORK/b.bin@$last" "$WORK/sn.bin@0x1FFF7800")
    rc=0; o=$("$OFLASH" program "${IMG2[@]}" "${T[@]}" 2>&1) || rc=$?
    [ "$rc" = 0 ] && grep -q ": 1 sector erased, 0 skipped, 8192 bytes programmed, 0 OTP bytes" <<<"$o" \
        && "$OFLASH" verify "${IMG2[@]}" "${T[@]}" -q \
        && pass "$dev: sector at $at erased and rewritten, last sector programmed, OTP kept" || fail "$dev rerun: $o"
    printf '\x01\x30\x00\xbe' >"$WORK/inc.bin"   # adds r0, #1; bkpt
    o=$("$OFLASH" run "${T[@]}" --load "$WORK/inc.bin@0x20000000" --pc 0x20000001 --sp 0x20001000 --reg r0=41 2>&1) || true
    grep -qE "^r0 +0x0000002A" <<<"$o" && pass "$dev: a RAM routine runs on the core" || fail "$dev run: $o"
    # qadd r0, r0, r1 (Cortex-M4 DSP); bkpt
    rc=0; o=$("$OFLASH" run "${T[@]}" --load "$WORK/qadd.bin@0x20000000" --pc 0x20000001 --sp 0x20001000 \
        --reg r0=41 --reg r1=1 2>&1) || rc=$?
    if [ "$core" = Cortex-M3 ]; then
        [ "$rc" = 1 ] && grep -q "usage fault: undefined instruction at 0x20000000" <<<"$o" &&
            pass "$dev: an M4-only instruction (qadd) faults on its Cortex-M3 (usage fault)" || fail "$dev qadd: rc=$rc $o"
    else
        [ "$rc" = 0 ] && grep -qE "^r0 +0x0000002A" <<<"$o" &&
            pass "$dev: qadd runs on its Cortex-M4" || fail "$dev qadd: rc=$rc $o"
    fi
done
finish
