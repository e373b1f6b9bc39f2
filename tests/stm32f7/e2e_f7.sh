#!/usr/bin/env bash
# e2e_f7.sh - oflash program / verify / otp end to end on simulated STM32F7
# parts through the CLI, as tests/flash/e2e_program.sh does for the F4:
# an ELF from arm-none-eabi-gcc with code and an OTP serial + lock byte
# (64-byte OTP blocks at 0x1FF0F000, lock bytes at 0x1FF0F400: RM0385
# §3.3.8), the same content as HEX; a rerun writes nothing; a conflicting
# serial is refused with the chip unchanged; a power loss in the middle of
# a run, then a rerun, ends with exact contents; the F76x in dual bank mode
# (STM32F767ZI-DB) and a chip whose bank mode does not match the device.
# e2e_f7.sh gdb: steps 1-5 through `oflash gdbserver` serving the chip
# (the gdb: backend); the rest needs the chip file itself.
source "$(dirname "$0")/../flash/lib.sh"
MODE=${1:-sim}
F7=$(cd "$(dirname "$0")" && pwd)
DEV=STM32F746ZG
CHIP=$WORK/chip.sim

# build_f7 NAME [CFLAGS...]: $WORK/NAME.elf/.hex from tests/flash/fw/fw.c,
# 40 KiB of data so that the image spans sectors 0 and 1 (32 KiB each).
build_f7() {
    local n=$1; shift
    "$ARM_CC" -mcpu=cortex-m7 -mthumb -Os -nostdlib -T "$F7/fw_f7.ld" -DBIGDATA_KB=40 "$@" \
        -o "$WORK/$n.elf" "$HERE/fw/fw.c"
    "$ARM_OBJCOPY" -O ihex "$WORK/$n.elf" "$WORK/$n.hex"
}
# dump FILE: the whole 1 MiB flash + OTP + lock bytes of the F746xG
dump() {
    timeout "$CMD_LIMIT" "$OFLASH" read 0x08000000 0x100000 -o "$1.flash.bin" "${T[@]}" --quiet &&
        timeout "$CMD_LIMIT" "$OFLASH" read 0x1FF0F000 0x410 -o "$1.otp.bin" "${T[@]}" --quiet &&
        cat "$1.flash.bin" "$1.otp.bin" >"$1"
}

build_f7 fw
build_f7 fw2 -DSERIAL='"SN-000009999"' -DVERSION=2
sim_create "$CHIP" $DEV
run_oflash out rc sim show "$CHIP"
[ "$rc" = 0 ] && [[ $out == *"STM32F746xG"* ]] && pass "sim create --device $DEV (order code)" ||
    fail "sim show: $out"
if [ "$MODE" = gdb ]; then
    start_gdbserver "$CHIP" $DEV
    T=(--probe "gdb:127.0.0.1:$GPORT" --device $DEV)
else
    T=(--probe "sim:$CHIP" --device $DEV)
fi
head -c $((0x100000 + 0x410)) /dev/zero | tr '\0' '\377' >"$WORK/blank.bin"

# 1. --plan: sectors 0 and 1 (32 KiB each), OTP block 0 and its lock; nothing written.
run_oflash out rc program "$WORK/fw.elf" "${T[@]}" --otp --plan
[ "$rc" = 0 ] && [[ $out == *"sector  0"* ]] && [[ $out == *"sector  1"* ]] &&
    [[ $out == *"lock: OTP block 0"* ]] && [[ $out == *"otp: 12 bytes to program"* ]] &&
    pass "--plan" || fail "--plan: rc $rc: $out"
dump "$WORK/d0"
check "--plan wrote nothing" cmp -s "$WORK/d0" "$WORK/blank.bin"

# 2. Code and serial from one ELF in one pass.
run_oflash out rc program "$WORK/fw.elf" "${T[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" otp_bytes_programmed)" = 12 ] &&
    [ "$(jget "$out" otp_blocks_locked)" = 1 ] && [ "$(jget "$out" verify)" = ok ] &&
    [ "$(jget "$out" bytes_programmed)" -gt 40000 ] && pass "ELF programs flash + OTP" ||
    fail "first run: rc $rc: $out"
check_serial 0x1FF0F000 0x1FF0F400
run_oflash out rc verify "$WORK/fw.hex" "${T[@]}"
[ "$rc" = 0 ] && pass "verify the HEX after programming the ELF" || fail "verify: $out"
dump "$WORK/after1"

# 3. Reruns with the ELF and the HEX: zero writes.
check_reruns fw.elf fw.hex
dump "$WORK/after2"
check "contents unchanged by the reruns" cmp -s "$WORK/after1" "$WORK/after2"

# 4. oflash otp shows 64-byte blocks (0x1FF0F000 = 535883776, + 64).
run_oflash out rc otp "${T[@]}" --json
ff52=$(printf 'ff%.0s' $(seq 52))
[ "$rc" = 0 ] && [[ $out == *'"block": 0, "address": 535883776, "locked": true'* ]] &&
    [[ $out == *"\"data\": \"534e2d303030303031323334${ff52}\""* ]] &&
    [[ $out == *'"block": 1, "address": 535883840, "locked": false'* ]] &&
    [[ $out == *'"block": 15, "address": 535884736'* ]] && pass "otp --json: 16 blocks of 64 bytes" ||
    fail "otp --json: $out"

# 5. A conflicting serial (and new code): refused, nothing written anywhere.
run_oflash out rc program "$WORK/fw2.elf" "${T[@]}" --otp
[ "$rc" = 1 ] && [[ $out == *"0x1FF0F008  0x31  0x39"* ]] && pass "conflicting serial refused" ||
    fail "conflict: rc $rc: $out"
dump "$WORK/after3"
check "chip unchanged after the refusal" cmp -s "$WORK/after1" "$WORK/after3"

# 5b. Data only in the second half of a 64-byte block: the block is not blank.
printf 'F7!!' >"$WORK/half.bin"
run_oflash out rc program "$WORK/half.bin@0x1FF0F0A0" "${T[@]}" --otp
[ "$rc" = 0 ] || fail "program OTP block 2 byte 32: $out"
run_oflash out rc otp "${T[@]}" --json
[[ $out == *'"block": 2, "address": 535883904, "locked": false, "lock_byte": 255, "blank": false'* ]] &&
    pass "a block written in bytes 32..35 only is not blank" || fail "otp block 2: $out"
[ "$MODE" = gdb ] && finish && exit 0
timeout "$CMD_LIMIT" "$OFLASH" read 0x1FF0F000 0x410 -o "$WORK/otp_before.bin" "${T[@]}" --quiet

# 6. Power loss in the middle of a run (new code, same serial), then a rerun.
build_f7 fw3 -DVERSION=3
"$ARM_OBJCOPY" -O binary -j .isr_vector -j .text -j .bigdata "$WORK/fw3.elf" "$WORK/fw3.bin"
for n in 1 40; do
    timeout "$CMD_LIMIT" "$OFLASH" sim fault "$CHIP" --power-loss-after $n >/dev/null ||
        fail "sim fault --power-loss-after $n"
    run_oflash out rc program "$WORK/fw3.elf" "${T[@]}" --otp
    [ "$rc" = 1 ] && [[ $out == *"power"* ]] && pass "power loss after $n flash operations" ||
        fail "power loss $n: rc $rc: $out"
    run_oflash out rc program "$WORK/fw3.elf" "${T[@]}" --otp --json
    [ "$rc" = 0 ] && [ "$(jget "$out" verify)" = ok ] && pass "rerun after the power loss" ||
        fail "rerun after power loss $n: rc $rc: $out"
    timeout "$CMD_LIMIT" "$OFLASH" read 0x08000000 "$(stat -c %s "$WORK/fw3.bin")" -o "$WORK/back3.bin" \
        "${T[@]}" --quiet
    check "exact code after power loss $n + rerun" cmp -s "$WORK/fw3.bin" "$WORK/back3.bin"
    timeout "$CMD_LIMIT" "$OFLASH" read 0x1FF0F000 0x410 -o "$WORK/otp3.bin" "${T[@]}" --quiet
    check "OTP unchanged by power loss $n" cmp -s "$WORK/otp3.bin" "$WORK/otp_before.bin"
    # back to fw for the next round
    run_oflash out rc program "$WORK/fw.elf" "${T[@]}" --otp
done

# 6b. --voltage-range 1/2/4: the loader programs at x8, x16 and x64 (two
# word stores per double word) and gives the same bytes.
for v in 1 2 4; do
    head -c 3072 /dev/urandom >"$WORK/vr$v.bin"
    run_oflash out rc program "$WORK/vr$v.bin@0x08040000" "${T[@]}" --voltage-range $v --json
    [ "$rc" = 0 ] && [ "$(jget "$out" verify)" = ok ] && pass "--voltage-range $v" ||
        fail "--voltage-range $v: $out"
    timeout "$CMD_LIMIT" "$OFLASH" read 0x08040000 3072 -o "$WORK/vrback.bin" "${T[@]}" --quiet
    check "--voltage-range $v wrote the bytes" cmp -s "$WORK/vr$v.bin" "$WORK/vrback.bin"
done

# 7. STM32F767ZI: single bank by default; the -DB entry refuses it before
# writing, and after nDBANK = 0 the -DB entry programs bank 2.
C2=$WORK/f767.sim
sim_create "$C2" STM32F767ZI
head -c 4096 /dev/urandom >"$WORK/r4k.bin"
run_oflash out rc program "$WORK/r4k.bin@0x081C0000" --probe "sim:$C2" --device STM32F767ZI --json
[ "$rc" = 0 ] && [ "$(jget "$out" verify)" = ok ] && pass "F767ZI single bank: sector 11 (256 KiB)" ||
    fail "F767ZI: rc $rc: $out"
run_oflash out rc program "$WORK/r4k.bin@0x08100000" --probe "sim:$C2" --device STM32F767ZI-DB
[ "$rc" = 1 ] && [[ $out == *"single bank mode"* ]] && [[ $out == *"nothing was written"* ]] &&
    [[ $out == *"use --device STM32F767xI"* ]] && [[ $out != *"use --device STM32F767xI-DB"* ]] &&
    pass "bank mode mismatch refused" || fail "mismatch: rc $rc: $out"
timeout "$CMD_LIMIT" "$OFLASH" read 0x08100000 4096 -o "$WORK/b2.bin" --probe "sim:$C2" \
    --device STM32F767ZI --quiet
head -c 4096 /dev/zero | tr '\0' '\377' >"$WORK/ff4k"
check "nothing written on the mismatch" cmp -s "$WORK/b2.bin" "$WORK/ff4k"
C3=$WORK/f767db.sim
sim_create "$C3" STM32F767ZI-DB
run_oflash out rc program "$WORK/r4k.bin@0x08100000" --probe "sim:$C3" --device STM32F767ZI-DB --json
[ "$rc" = 0 ] && [ "$(jget "$out" sectors_erased)" = 0 ] && [ "$(jget "$out" verify)" = ok ] &&
    pass "F767ZI-DB: bank 2 sector 12" || fail "F767ZI-DB: rc $rc: $out"
run_oflash out rc erase --sector 12 --probe "sim:$C3" --device STM32F767ZI-DB
[ "$rc" = 0 ] || fail "erase --sector 12 (dual bank): $out"
timeout "$CMD_LIMIT" "$OFLASH" read 0x08100000 4096 -o "$WORK/b2.bin" --probe "sim:$C3" \
    --device STM32F767ZI-DB --quiet
check "erase --sector 12 blanks bank 2's first 16 KiB" cmp -s "$WORK/b2.bin" "$WORK/ff4k"
finish
