#!/usr/bin/env bash
# e2e_program.sh [sim|gdb] - oflash program/verify/read/erase/otp end to end
# on a simulated STM32F401RE, directly (sim:) or through `oflash gdbserver`
# with the gdb: backend.  Issue 5's Tests section: an ELF from
# arm-none-eabi-gcc with a .otp section; the same content as HEX and
# S-record; a second run changes nothing; a conflicting serial is refused
# with nothing written; a bad lock byte value is refused; a partially
# covered sector keeps its other bytes; a byte outside the memory map is
# refused.  (Power loss and write protection: test_flash_e2e.c.)
source "$(dirname "$0")/lib.sh"
MODE=${1:-sim}
DEV=STM32F401RE
CHIP=$WORK/chip.sim

build_fw fw
build_fw fw2 -DSERIAL='"SN-000009999"' -DVERSION=2
build_fw badlock -DLOCK0=0x5A

if [ "$MODE" = gdb ]; then
    # Create the chip, then serve it.
    sim_create "$CHIP" $DEV
    start_gdbserver "$CHIP" $DEV
    P="gdb:127.0.0.1:$GPORT"
else
    P="sim:$CHIP"
fi
T=(--probe "$P" --device $DEV)

head -c $((0x80000 + 0x210)) /dev/zero | tr '\0' '\377' >"$WORK/blank.bin"

# 1. OTP bytes without --otp: refused before touching the chip, blocks named.
run_oflash out rc program "$WORK/fw.elf" "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"block 0"* ]] && [[ $out == *"--otp"* ]] &&
    [[ $out == *"lock byte of block 0"* ]] && pass "OTP without --otp refused" ||
    fail "OTP without --otp: rc $rc: $out"
dump "$WORK/d1"
check "nothing written without --otp" cmp -s "$WORK/d1" "$WORK/blank.bin"

# 2. --plan shows the work and touches nothing.
run_oflash out rc program "$WORK/fw.elf" "${T[@]}" --otp --plan
[ "$rc" = 0 ] && [[ $out == *"sector  0"* ]] && [[ $out == *"lock: OTP block 0"* ]] &&
    [[ $out == *"otp: 12 bytes to program"* ]] && pass "--plan" || fail "--plan: rc $rc: $out"
dump "$WORK/d2"
check "--plan wrote nothing" cmp -s "$WORK/d2" "$WORK/blank.bin"

# 3. The ELF with --otp: code and serial in one pass.
run_oflash out rc program "$WORK/fw.elf" "${T[@]}" --otp --json
echo "$out"
[ "$rc" = 0 ] || fail "program --otp: rc $rc: $out"
[ "$(jget "$out" otp_bytes_programmed)" = 12 ] && [ "$(jget "$out" otp_blocks_locked)" = 1 ] &&
    [ "$(jget "$out" verify)" = ok ] && [ "$(jget "$out" sectors_erased)" = 0 ] &&
    [ "$(jget "$out" bytes_programmed)" -gt 20000 ] && pass "first run programs flash + OTP" ||
    fail "first run figures: $out"
for k in sectors_skipped round_trips wire_bytes elapsed_s sim_time_s; do
    [ "$(jget "$out" $k)" != MISSING ] || fail "JSON field $k missing"
done
if [ "$MODE" = sim ]; then
    [[ $(jget "$out" sim_time_s) =~ ^[0-9.]+([eE]-?[0-9]+)?$ ]] || fail "sim_time_s is not a number on sim:"
else
    [ "$(jget "$out" sim_time_s)" = null ] || fail "sim_time_s should be null over gdb:"
fi
run_oflash out rc verify "$WORK/fw.elf" "${T[@]}"
[ "$rc" = 0 ] && pass "verify after program" || fail "verify: $out"
check_serial 0x1FFF7800 0x1FFF7A00
dump "$WORK/after1"

# 4. Second run (ELF, HEX, S-record): nothing changes.
check_reruns fw.elf fw.hex fw.srec
dump "$WORK/after2"
check "contents unchanged by the reruns" cmp -s "$WORK/after1" "$WORK/after2"

# 5. oflash otp: the table and JSON.
run_oflash out rc otp "${T[@]}" --json
[ "$rc" = 0 ] && [[ $out == *'"block": 0, "address": 536836096, "locked": true'* ]] &&
    [[ $out == *'"data": "534e2d303030303031323334ffff'* ]] && pass "otp --json" ||
    fail "otp --json: $out"
run_oflash out rc otp "${T[@]}"
[ "$rc" = 0 ] && [[ $out == *"SN-000001234"* ]] && [[ $out == *"locked"* ]] && pass "otp table" ||
    fail "otp table: $out"

# 6. A conflicting serial (and new code): refused, nothing written anywhere.
run_oflash out rc program "$WORK/fw2.elf" "${T[@]}" --otp
[ "$rc" = 1 ] && [[ $out == *"block"*"address"*"chip"*"image"* ]] &&
    [[ $out == *"0x1FFF7808  0x31  0x39"* ]] && pass "conflicting serial refused with a table" ||
    fail "conflict: rc $rc: $out"
dump "$WORK/after3"
check "nothing written on conflict" cmp -s "$WORK/after1" "$WORK/after3"

# 7. A lock byte of 0x5A: refused, nothing written.
run_oflash out rc program "$WORK/badlock.elf" "${T[@]}" --otp
[ "$rc" = 1 ] && [[ $out == *"0x1FFF7A00"*"0x5A"* ]] && pass "bad lock byte value refused" ||
    fail "bad lock byte: rc $rc: $out"
dump "$WORK/after4"
check "nothing written on a bad lock byte" cmp -s "$WORK/after1" "$WORK/after4"

# 8. A byte outside the memory map: refused with the map, nothing written.
head -c 64 /dev/urandom >"$WORK/patch64.bin"
run_oflash out rc program "$WORK/patch64.bin@0x20000000" "$WORK/fw.hex" "${T[@]}" --skip-otp
[ "$rc" = 1 ] && [[ $out == *"0x20000000-0x2000003F"* ]] && [[ $out == *"memory map"* ]] &&
    pass "byte outside the memory map refused" || fail "outside map: rc $rc: $out"
run_oflash out rc program "$WORK/patch64.bin@0x08080000" "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"0x08080000-0x0808003F"* ]] && pass "byte past the end of flash refused" ||
    fail "past end: rc $rc: $out"
dump "$WORK/after5"
check "nothing written on range errors" cmp -s "$WORK/after1" "$WORK/after5"

# 9. A partially covered sector keeps its other bytes.
head -c 256 /dev/urandom >"$WORK/patch.bin"
run_oflash out rc program "$WORK/patch.bin@0x08000100" "${T[@]}" --json
[ "$rc" = 0 ] && [ "$(jget "$out" sectors_erased)" = 1 ] && pass "patch programmed" ||
    fail "patch: rc $rc: $out"
cp "$WORK/after1" "$WORK/expect"
dd if="$WORK/patch.bin" of="$WORK/expect" bs=1 seek=256 conv=notrunc status=none
dump "$WORK/after6"
check "partially covered sector keeps its other bytes" cmp -s "$WORK/expect" "$WORK/after6"

# 10. --erase-untouched: the rest of the sector becomes 0xFF.
run_oflash out rc program "$WORK/patch.bin@0x08004100" "${T[@]}" --erase-untouched --json
[ "$rc" = 0 ] || fail "erase-untouched: $out"
head -c 16384 /dev/zero | tr '\0' '\377' >"$WORK/s1"
dd if="$WORK/patch.bin" of="$WORK/s1" bs=1 seek=256 conv=notrunc status=none
dd if="$WORK/s1" of="$WORK/expect" bs=1 seek=16384 conv=notrunc status=none
dump "$WORK/after7"
check "--erase-untouched erases the rest of the sector" cmp -s "$WORK/expect" "$WORK/after7"

# 11. verify names the first differing address.
run_oflash out rc verify "$WORK/fw.elf" "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"failed at 0x080001"* ]] && pass "verify finds the difference" ||
    fail "verify mismatch: rc $rc: $out"
run_oflash out rc verify "$WORK/fw.hex" "${T[@]}" --verify readback --json
[ "$rc" = 1 ] && [ "$(jget "$out" verify)" = failed ] && pass "verify --verify readback --json" ||
    fail "verify readback: rc $rc: $out"

# 12. erase --sector / --all; read formats.
run_oflash out rc erase --sector 1 "${T[@]}"
[ "$rc" = 0 ] || fail "erase --sector 1: $out"
timeout "$CMD_LIMIT" "$OFLASH" read 0x08004000 0x4000 -o "$WORK/s1.bin" "${T[@]}" --quiet
head -c 16384 /dev/zero | tr '\0' '\377' >"$WORK/ff16k"
check "erase --sector 1 blanks sector 1" cmp -s "$WORK/s1.bin" "$WORK/ff16k"
run_oflash out rc erase --sector 99 "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"no flash sector 99"* ]] && pass "erase of a missing sector refused" ||
    fail "erase 99: $out"
timeout "$CMD_LIMIT" "$OFLASH" read 0x08000000 32 -o "$WORK/r.hex" "${T[@]}" --quiet
timeout "$CMD_LIMIT" "$OFLASH" read 0x08000000 32 -o "$WORK/r.srec" "${T[@]}" --quiet
[ "$(head -c 1 "$WORK/r.hex")" = ":" ] && [ "$(head -c 1 "$WORK/r.srec")" = "S" ] &&
    pass "read writes HEX and S-record by extension" || fail "read formats"

# 13. Back to the firmware: restores sector 0 and 1; OTP untouched (equal).
run_oflash out rc program "$WORK/fw.srec" "${T[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" otp_bytes_programmed)" = 0 ] && pass "reprogram" ||
    fail "reprogram: $out"
run_oflash out rc verify "$WORK/fw.elf" "${T[@]}"
[ "$rc" = 0 ] && pass "verify after reprogram" || fail "verify after reprogram: $out"

# 14. otp lock: plan first, --yes needed.
run_oflash out rc otp lock 3 "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"lock OTP block 3"* ]] && [[ $out == *"--yes"* ]] &&
    pass "otp lock without --yes shows the plan only" || fail "otp lock plan: $out"
timeout "$CMD_LIMIT" "$OFLASH" read 0x1FFF7A03 1 -o "$WORK/l3.bin" "${T[@]}" --quiet
[ "$(od -An -tx1 "$WORK/l3.bin" | tr -d ' ')" = ff ] || fail "lock 3 written without --yes"
run_oflash out rc otp lock 3 --yes "${T[@]}"
[ "$rc" = 0 ] && [[ $out == *"locked 1 block"* ]] && pass "otp lock 3 --yes" || fail "lock: $out"
timeout "$CMD_LIMIT" "$OFLASH" read 0x1FFF7A00 16 -o "$WORK/locks.bin" "${T[@]}" --quiet
[ "$(od -An -tx1 "$WORK/locks.bin" | tr -d ' \n')" = "00ffff00ffffffffffffffffffffffff" ] &&
    pass "only lock byte 3 was added" || fail "locks after lock 3: $(od -An -tx1 "$WORK/locks.bin")"

# 15. Wrong device: the ID check names what was found.
run_oflash out rc otp --probe "$P" --device STM32F407VG
[ "$rc" = 1 ] && [[ $out == *"DEV_ID 0x433"* ]] && [[ $out == *"STM32F401xE"* ]] &&
    pass "ID check names the chip found" || fail "ID check: $out"
run_oflash out rc otp --probe "$P" --device STM32F407VG --force-device
[ "$rc" = 0 ] && pass "--force-device skips the check" || fail "--force-device: $out"

# 16. --voltage-range: x8, x16 and x64 programming (RM0368 Table 5) give the same bytes.
for v in 1 2 4; do
    head -c 2048 /dev/urandom >"$WORK/vr$v.bin"
    run_oflash out rc program "$WORK/vr$v.bin@0x0800C000" "${T[@]}" --voltage-range $v --json
    [ "$rc" = 0 ] && [ "$(jget "$out" verify)" = ok ] && pass "--voltage-range $v" ||
        fail "--voltage-range $v: $out"
    timeout "$CMD_LIMIT" "$OFLASH" read 0x0800C000 2048 -o "$WORK/vrback.bin" "${T[@]}" --quiet
    check "--voltage-range $v wrote the bytes" cmp -s "$WORK/vr$v.bin" "$WORK/vrback.bin"
done
run_oflash out rc program "$WORK/vr1.bin@0x0800C000" "${T[@]}" --voltage-range 7
[ "$rc" = 2 ] && pass "bad --voltage-range is a usage error" || fail "--voltage-range 7: $rc"

if [ "$MODE" = gdb ]; then
    # 17. --use-server-flash: main flash through the server's vFlash commands.
    run_oflash out rc program "$WORK/fw2.elf" "${T[@]}" --skip-otp --use-server-flash --json
    [ "$rc" = 0 ] && [ "$(jget "$out" verify)" = ok ] && pass "--use-server-flash" ||
        fail "--use-server-flash: rc $rc: $out"
    run_oflash out rc verify "$WORK/fw2.hex" "${T[@]}" --verify readback
    [ "$rc" = 1 ] && [[ $out == *"0x1FFF78"* ]] && pass "server flash wrote main flash only" ||
        fail "after server flash: $out"
fi
finish
