#!/usr/bin/env bash
# verify_cli.sh - `oflash verify` and commander `verifybin` through the one
# verify path (oflash_flash_verify), on the simulated STM32F401RE and on
# real QEMU 7.2 (netduinoplus2, an STM32F405 without a CRC unit):
#  - sim: an image with a hole verifies by the CRC unit (JSON method
#    crc_unit), by the loader (--verify loader) and by read-back; one bit
#    changed names its sector and range, exit 1, the JSON error lists the
#    differing ranges; the same message by every method; a blank chip is
#    reported erased; verifybin (commander) takes the same path;
#  - QEMU: no CRC unit, so the scan fails its self-test and the built-in
#    loader's CRC (which feeds that unit too) is found wrong: verify falls
#    back and still answers right (equal image ok, one bit named).
source "$(dirname "$0")/lib.sh"
DEV=STM32F401RE
CHIP=$WORK/chip.sim

head -c $((0x30000)) /dev/urandom >"$WORK/all.bin"
# The image: 0x08000000-0x08005FFF and 0x08010000-0x0801FFFF (a hole between).
head -c $((0x6000)) "$WORK/all.bin" >"$WORK/a.bin"
dd if="$WORK/all.bin" of="$WORK/b.bin" bs=4096 skip=16 count=16 status=none
IMG=("$WORK/a.bin@0x08000000" "$WORK/b.bin@0x08010000")
# b2: one bit changed at 0x08012345 (sector 4).
cp "$WORK/b.bin" "$WORK/b2.bin"
off=$((0x2345))
byte=$(od -An -tu1 -j$off -N1 "$WORK/b.bin" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 0x10)))" | dd of="$WORK/b2.bin" bs=1 seek=$off conv=notrunc status=none
IMG2=("$WORK/a.bin@0x08000000" "$WORK/b2.bin@0x08010000")
T=(--probe "sim:$CHIP" --device $DEV)

sim_create "$CHIP" $DEV
# Blank chip: every range erased, the first named.
run_oflash out rc verify "${IMG[@]}" "${T[@]}"
[ "$rc" = 1 ] && [[ $out == *"(sector 0, 0x08000000-0x08003FFF, erased on the chip)"* ]] &&
    [[ $out == *"2 more ranges differ: sector 1, 0x08004000-0x08005FFF, erased on the chip; sector 4, 0x08010000-0x0801FFFF, erased on the chip"* ]] &&
    pass "blank chip: each range named as erased" || fail "blank chip: rc $rc: $out"

# The chip gets all of all.bin: the hole holds bytes the image does not have.
timeout "$CMD_LIMIT" "$OFLASH" program "$WORK/all.bin@0x08000000" "${T[@]}" --quiet
for m in crc:crc_unit loader:loader readback:readback; do
    out=$(timeout "$CMD_LIMIT" "$OFLASH" verify "${IMG[@]}" "${T[@]}" --verify "${m%%:*}" --json) || true
    [ "$(jget "$out" verify)" = ok ] && [[ $out == *"\"method\": \"${m#*:}\""* ]] &&
        [ "$(jget "$out" ranges)" = 3 ] && pass "verify --verify ${m%%:*}: ok by ${m#*:}" ||
        fail "verify --verify ${m%%:*}: $out"
done
out=$(timeout "$CMD_LIMIT" "$OFLASH" verify "${IMG[@]}" "${T[@]}")
[[ $out == "verify ok: 90112 bytes match in 3 ranges (CRC unit;"* ]] && pass "verify ok line" ||
    fail "verify ok line: $out"

want="verify failed at 0x08012345 (sector 4, 0x08010000-0x0801FFFF): chip 0x$(printf %02X "$byte"), expected 0x$(printf %02X $((byte ^ 0x10)))"
msgs=()
for m in crc loader readback; do
    run_oflash out rc verify "${IMG2[@]}" "${T[@]}" --verify $m
    [ "$rc" = 1 ] && [[ $out == *"$want"* ]] && pass "one bit, --verify $m: sector 4 and its range named" ||
        fail "one bit, --verify $m: rc $rc: $out (want $want)"
    msgs+=("$(grep '^oflash:' <<<"$out")")
done
[ "${msgs[0]}" = "${msgs[1]}" ] && [ "${msgs[0]}" = "${msgs[2]}" ] &&
    pass "the same message by every method" || fail "messages differ: ${msgs[*]}"
rc=0
out=$(timeout "$CMD_LIMIT" "$OFLASH" verify "${IMG2[@]}" "${T[@]}" --json) || rc=$?
[ "$rc" = 1 ] && [[ $out == *'"code": "verify_failed"'* ]] &&
    [ "$(jget "$out" first_difference)" = $((0x08012345)) ] &&
    [[ $out == *'"differences": [{"bank": "flash", "sector": 4, "start": 134283264, "end": 134348799, "erased": false}]'* ]] &&
    pass "verify --json: the differing range in the error object" || fail "verify --json: rc $rc: $out"

# Commander: verifybin takes the same path.
printf 'verifybin %s, 0x08010000\nverifybin %s, 0x08010000\nq\n' "$WORK/b.bin" "$WORK/b2.bin" \
    >"$WORK/cmds.jlink"
out=$(timeout "$CMD_LIMIT" "$OFLASH" commander "${T[@]}" -f "$WORK/cmds.jlink" 2>&1) || true
[[ $out == *"Verify successful: 65536 bytes at 08010000 match"* ]] &&
    [[ $out == *"verifybin: mismatch at offset 9029 of $WORK/b2.bin: $want"* ]] &&
    pass "commander verifybin: match, and the mismatch names sector 4" ||
    fail "commander verifybin: $out"

# QEMU: an STM32F405 without CRC unit (nor flash interface: the image is
# placed by QEMU's loader device).
cat "$WORK/a.bin" >"$WORK/q.bin"
head -c $((0x10000 - 0x6000)) /dev/zero >>"$WORK/q.bin"
cat "$WORK/b.bin" >>"$WORK/q.bin"
QPID=
for _ in 1 2 3 4 5 6; do
    QPORT=$(pick_port) || break
    qemu-system-arm -M netduinoplus2 -S -gdb "tcp:127.0.0.1:$QPORT" -nographic -monitor none \
        -serial none -device "loader,file=$WORK/q.bin,addr=0x08000000" >"$WORK/qemu.log" 2>&1 &
    QPID=$!
    PIDS+=("$QPID")
    wait_listen "$QPORT" "$QPID" && break # else the picked port was taken meanwhile
    stop_pid "$QPID"
    QPID=
done
if [ -z "$QPID" ]; then
    fail "cannot start QEMU: $(cat "$WORK/qemu.log")"
else
    Q=(--probe "gdb:127.0.0.1:$QPORT" --device STM32F405RG --force-device)
    rc=0
    out=$(timeout "$CMD_LIMIT" "$OFLASH" verify "${IMG[@]}" "${Q[@]}" --json 2>"$WORK/q.err") || rc=$?
    [ "$rc" = 0 ] && [[ $out == *'"method": "loader"'* ]] &&
        grep -q "does not compute zlib's CRC-32; verifying by read-back" "$WORK/q.err" &&
        pass "QEMU (no CRC unit): verify ok through the fallback" ||
        fail "QEMU verify: rc $rc: $out $(cat "$WORK/q.err")"
    run_oflash out rc verify "${IMG2[@]}" "${Q[@]}"
    [ "$rc" = 1 ] && [[ $out == *"$want"* ]] && pass "QEMU: one bit named by the fallback" ||
        fail "QEMU one bit: rc $rc: $out"
fi
finish
