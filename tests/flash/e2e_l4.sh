#!/usr/bin/env bash
# e2e_l4.sh - oflash program/verify/read/erase end to end on a simulated
# STM32L476RG (RM0351: 2 KB pages, 64-bit double words, OTP written once
# per double word, no lock bytes), the tests the F4 has: flash + OTP from
# one ELF (and the same as HEX / S-record), a rerun with zero writes, a
# conflicting serial refused with the chip unchanged, an OTP double word
# covered in part refused (in --plan too) with the chip unchanged, a
# partial double word in main flash padded with 0xFF, a power loss then a
# rerun, pages write-protected through the option bytes; then the main
# cases again through `oflash gdbserver` (gdb: probe).
source "$(dirname "$0")/lib.sh"
DEV=STM32L476RG
CHIP=$WORK/chip.sim
P="sim:$CHIP"
T=(--probe "$P" --device $DEV)

build_l4() { # build_l4 NAME [CFLAGS...]
    local n=$1; shift
    "$ARM_CC" -mcpu=cortex-m4 -mthumb -Os -nostdlib -T "$HERE/fw/fw_l4.ld" "$@" \
        -o "$WORK/$n.elf" "$HERE/fw/fw_l4.c"
    "$ARM_OBJCOPY" -O ihex "$WORK/$n.elf" "$WORK/$n.hex"
    "$ARM_OBJCOPY" -O srec "$WORK/$n.elf" "$WORK/$n.srec"
}
build_l4 fw
build_l4 fw2 -DSERIAL='"SN-0000000009999"' -DVERSION=2
build_l4 half -DSERIAL='"SN-000000012"' -DSERIAL_LEN=12
# dump_l4 FILE: all 1 MB of flash and the 1 KB of OTP
dump_l4() {
    timeout "$CMD_LIMIT" "$OFLASH" read 0x08000000 0x100000 -o "$1.flash.bin" "${T[@]}" --quiet &&
        timeout "$CMD_LIMIT" "$OFLASH" read 0x1FFF7000 0x400 -o "$1.otp.bin" "${T[@]}" --quiet &&
        cat "$1.flash.bin" "$1.otp.bin" >"$1"
}
head -c $((0x100000 + 0x400)) /dev/zero | tr '\0' '\377' >"$WORK/blank.bin"

run_oflash out rc sim create "$CHIP" --device $DEV
[ "$rc" = 0 ] && [[ $out == *STM32L476xG* ]] && pass "sim create --device $DEV" ||
    fail "sim create: rc $rc: $out"
run_oflash out rc sim show "$CHIP"
[[ $out == *STM32L476xG* ]] && pass "sim show names the part" || fail "sim show: $out"

# 1. OTP bytes without --otp: refused, nothing written.
run_oflash out rc program "$WORK/fw.elf" "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"--otp"* ]] && pass "OTP without --otp refused" ||
    fail "OTP without --otp: rc $rc: $out"
dump_l4 "$WORK/d1"
check "nothing written without --otp" cmp -s "$WORK/d1" "$WORK/blank.bin"

# 2. Half an OTP double word: refused by --plan and by program, nothing written.
for plan in --plan ""; do
    run_oflash out rc program "$WORK/half.elf" "${T[@]}" --otp $plan
    [ "$rc" = 1 ] && [[ $out == *"OTP 0x1FFF7008-0x1FFF700F: the image covers only 4 of its 8 bytes"* ]] &&
        pass "partial OTP double word refused ${plan:-by program}" ||
        fail "partial OTP double word ${plan:-program}: rc $rc: $out"
done
dump_l4 "$WORK/d2"
check "partial OTP double word: nothing written" cmp -s "$WORK/d2" "$WORK/blank.bin"

# 3. The ELF with --otp: code and serial in one pass.
run_oflash out rc program "$WORK/fw.elf" "${T[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" otp_bytes_programmed)" = 16 ] &&
    [ "$(jget "$out" verify)" = ok ] && [ "$(jget "$out" sectors_erased)" = 0 ] &&
    [ "$(jget "$out" bytes_programmed)" -gt 9000 ] && pass "first run programs flash + OTP" ||
    fail "first run: rc $rc: $out"
run_oflash out rc verify "$WORK/fw.elf" "${T[@]}"
[ "$rc" = 0 ] && pass "verify after program" || fail "verify: $out"
timeout "$CMD_LIMIT" "$OFLASH" read 0x1FFF7000 16 -o "$WORK/serial.bin" "${T[@]}" --quiet
[ "$(cat "$WORK/serial.bin")" = "SN-0000000001234" ] && pass "serial in the OTP" ||
    fail "serial: $(od -c "$WORK/serial.bin")"
dump_l4 "$WORK/after1"
run_oflash out rc sim show "$CHIP"
[[ $out == *"written: 0 (0x1FFF7000), 1 (0x1FFF7008)"* ]] &&
    [[ $out == *"OPTR 0xFFEFF8AA: RDP level 0 (0xAA)"* ]] && pass "sim show: OTP double words, OPTR" ||
    fail "sim show after program: $out"

# 4. Second run (ELF, HEX, S-record): nothing written.
for f in fw.elf fw.hex fw.srec; do
    run_oflash out rc program "$WORK/$f" "${T[@]}" --otp --json
    [ "$rc" = 0 ] && [ "$(jget "$out" sectors_erased)" = 0 ] &&
        [ "$(jget "$out" bytes_programmed)" = 0 ] &&
        [ "$(jget "$out" otp_bytes_programmed)" = 0 ] && pass "second run with $f writes nothing" ||
        fail "second run with $f: rc $rc: $out"
done

# 5. A different serial: conflict, the chip is unchanged (code included).
run_oflash out rc program "$WORK/fw2.elf" "${T[@]}" --otp
[ "$rc" = 1 ] && [[ $out == *"conflict"* ]] && [[ $out == *"0x1FFF700"* ]] &&
    pass "conflicting serial refused" || fail "conflict: rc $rc: $out"
dump_l4 "$WORK/after2"
check "conflict: whole chip unchanged" cmp -s "$WORK/after1" "$WORK/after2"

# 6. Main flash: 5 bytes in the middle of a double word are padded with 0xFF.
printf '\x11\x22\x33\x44\x55' >"$WORK/patch.bin"
run_oflash out rc program "$WORK/patch.bin@0x08020003" "${T[@]}"
[ "$rc" = 0 ] || fail "partial double word in flash: rc $rc: $out"
timeout "$CMD_LIMIT" "$OFLASH" read 0x08020000 16 -o "$WORK/p.bin" "${T[@]}" --quiet
[ "$(od -An -tx1 "$WORK/p.bin" | tr -d ' \n')" = "ffffff1122334455ffffffffffffffff" ] &&
    pass "partial double word in flash padded with 0xFF" || fail "padding: $(od -An -tx1 "$WORK/p.bin")"
run_oflash out rc verify "$WORK/patch.bin@0x08020003" "${T[@]}"
[ "$rc" = 0 ] && pass "verify of the padded double word" || fail "verify patch: $out"

# 7. Power loss in the middle of a run, then a rerun ends with exact contents.
CHIP2=$WORK/chip2.sim
T2=(--probe "sim:$CHIP2" --device $DEV)
sim_create "$CHIP2" $DEV
timeout "$CMD_LIMIT" "$OFLASH" sim fault "$CHIP2" --power-loss-after 300 >/dev/null
run_oflash out rc program "$WORK/fw.elf" "${T2[@]}" --otp
[ "$rc" = 1 ] && [[ $out == *"power lost"* ]] && pass "power loss stops the run" ||
    fail "power loss: rc $rc: $out"
run_oflash out rc program "$WORK/fw.elf" "${T2[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" verify)" = ok ] && pass "rerun after power loss" ||
    fail "rerun after power loss: rc $rc: $out"
run_oflash out rc program "$WORK/fw.elf" "${T2[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" bytes_programmed)" = 0 ] &&
    [ "$(jget "$out" otp_bytes_programmed)" = 0 ] && pass "third run writes nothing" ||
    fail "third run: $out"

# 8. Pages 2-3 of bank 1 write-protected (FLASH_WRP1AR through RAM code).
"$ARM_CC" -mcpu=cortex-m4 -mthumb -Os -nostdlib -ffreestanding -Wl,-Ttext=0x20000000 \
    -Wl,-e,entry -o "$WORK/wrp.elf" "$HERE/fw/l4_wrp.c"
"$ARM_OBJCOPY" -O binary "$WORK/wrp.elf" "$WORK/wrp.bin"
ENTRY=0x$(arm-none-eabi-nm "$WORK/wrp.elf" | awk '$3 == "entry" {print $1}')
run_oflash out rc run "${T[@]}" --load "$WORK/wrp.bin@0x20000000" --pc "$ENTRY" \
    --sp 0x20004000 --reg r0=2 --reg r1=3
[ "$rc" = 0 ] || fail "setting WRP1AR: rc $rc: $out"
dump_l4 "$WORK/before_wrp"
head -c 4096 /dev/zero >"$WORK/zeros.bin"
run_oflash out rc program "$WORK/zeros.bin@0x08000800" "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"page 2 (0x08001000-0x080017FF) is write-protected"* ]] &&
    [[ $out == *"FLASH_WRP1AR"* ]] && pass "program into a WRP page refused" ||
    fail "WRP program: rc $rc: $out"
run_oflash out rc erase --sector 3 "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"write-protected"* ]] && pass "erase of a WRP page refused" ||
    fail "WRP erase: rc $rc: $out"
dump_l4 "$WORK/after_wrp"
check "write protection: nothing written" cmp -s "$WORK/before_wrp" "$WORK/after_wrp"
run_oflash out rc sim show "$CHIP"
[[ $out == *"write-protected sectors: 2 3"* ]] && [[ $out == *"WRP1AR 0xFF03FF02"* ]] &&
    pass "sim show: WRP area" || fail "sim show after WRP: $out"
run_oflash out rc program "$WORK/zeros.bin@0x08002000" "${T[@]}"
[ "$rc" = 0 ] && pass "pages outside the WRP area still program" || fail "outside WRP: $out"

# 9. The same through `oflash gdbserver` serving a fresh chip (gdb: probe).
CHIP3=$WORK/chip3.sim
sim_create "$CHIP3" $DEV
start_gdbserver "$CHIP3" $DEV
TG=(--probe "gdb:127.0.0.1:$GPORT" --device $DEV)
run_oflash out rc program "$WORK/fw.elf" "${TG[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" otp_bytes_programmed)" = 16 ] &&
    [ "$(jget "$out" verify)" = ok ] && pass "over gdb: flash + OTP" || fail "over gdb: rc $rc: $out"
run_oflash out rc program "$WORK/fw.hex" "${TG[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" bytes_programmed)" = 0 ] &&
    [ "$(jget "$out" otp_bytes_programmed)" = 0 ] && pass "over gdb: rerun writes nothing" ||
    fail "over gdb rerun: rc $rc: $out"
run_oflash out rc program "$WORK/half.elf" "${TG[@]}" --otp
[ "$rc" = 1 ] && [[ $out == *"covers only 4 of its 8 bytes"* ]] &&
    pass "over gdb: partial OTP double word refused" || fail "over gdb partial: rc $rc: $out"
run_oflash out rc program "$WORK/fw2.elf" "${TG[@]}" --otp
[ "$rc" = 1 ] && [[ $out == *"conflict"* ]] && pass "over gdb: conflict refused" ||
    fail "over gdb conflict: rc $rc: $out"
stop_pid "$GPID"
T=(--probe "sim:$CHIP3" --device $DEV)
dump_l4 "$WORK/gdb_after"
cmp -s <(head -c 16 "$WORK/gdb_after.otp.bin") <(printf 'SN-0000000001234') &&
    cmp -s "$WORK/gdb_after.flash.bin" "$WORK/after1.flash.bin" &&
    pass "over gdb: the chip holds exactly the first image" || fail "over gdb: chip contents"

finish
