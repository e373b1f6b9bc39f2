#!/usr/bin/env bash
# The seed's workaround (a) as a J-Link Commander command file, unchanged in
# form: load a RAMCode and its data, set PC and SP, set a breakpoint at the
# end, go, wait for the halt, read the result.  The RAMCode programs a serial
# into OTP block 0 through the flash registers.  Run by `oflash commander -f`
# on sim: and through `oflash gdbserver`; then loadfile/plan/program/verifybin/
# savebin on the same chip, and -ExitOnError.
source "$(dirname "$0")/../flash/lib.sh"

"$ARM_CC" -mcpu=cortex-m4 -mthumb -Os -ffreestanding -nostdlib -Wl,-e,ramcode \
    -Wl,--section-start=.entry=0x20000000 -o "$WORK/ramcode.elf" "$HERE/../commander/ramcode.c"
"$ARM_OBJCOPY" -O binary -j .entry -j .text "$WORK/ramcode.elf" "$WORK/ramcode.bin"
END=$(arm-none-eabi-nm "$WORK/ramcode.elf" | awk '$3 == "ram_end" {print $1}')
[ -n "$END" ] || { echo "no ram_end"; exit 1; }

# job: dst = OTP block 0 (0x1FFF7800), len = 16, the serial text.
job() { # job FILE SERIAL
    python3 - "$1" "$2" <<'PY'
import struct, sys
s = sys.argv[2].encode()
open(sys.argv[1], "wb").write(struct.pack("<II", 0x1FFF7800, len(s)) + s)
PY
}

cmdfile() { # cmdfile FILE JOB
    cat >"$1" <<CMD
h
loadbin $WORK/ramcode.bin, 0x20000000
loadbin $2, 0x20001000
w4 0x20001800, 0xFFFFFFFF
setpc 0x20000000
wreg SP, 0x20008000
setbp 0x$END
g
waithalt 2000
mem32 0x20001800, 1
mem 0x1FFF7800, 10
q
CMD
}

run_case() { # run_case NAME PROBE SERIAL
    local name=$1 probe=$2 serial=$3 out rc=0
    job "$WORK/job-$name.bin" "$serial"
    cmdfile "$WORK/$name.jlink" "$WORK/job-$name.bin"
    out=$(timeout 60 "$OFLASH" commander --probe "$probe" -CommandFile "$WORK/$name.jlink" 2>&1) || rc=$?
    echo "$out" | sed "s/^/  [$name] /"
    [ "$rc" = 0 ] && pass "$name: command file runs to the end (exit 0)" || fail "$name: exit $rc"
    grep -q "Core halted: breakpoint at $(printf '%08X' "0x$END")" <<<"$out" \
        && pass "$name: go stops at the breakpoint at the RAMCode's end" || fail "$name: breakpoint"
    grep -q "^20001800 = 00000000" <<<"$out" \
        && pass "$name: result word = FLASH_SR 0 (no error)" || fail "$name: result"
    grep -q "^1FFF7800 = .*|\?$serial" <<<"$out" || grep -q "$serial" <<<"$out" \
        && pass "$name: OTP block 0 holds '$serial' (mem)" || fail "$name: OTP contents"
}

CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
run_case sim "sim:$CHIP" "ACME-SN-000001"
T=(--probe "sim:$CHIP")
o=$("$OFLASH" otp "${T[@]}")
grep -q "0x1FFF7800  open    0xFF  41434D45" <<<"$o" && pass "oflash otp: block 0 programmed by the RAMCode" || fail "otp: $o"

# Through oflash gdbserver (a second chip, serving with --otp).
CHIP2="$WORK/chip2.sim"
"$OFLASH" sim create "$CHIP2" --device STM32F401RE >/dev/null
start_gdbserver "$CHIP2" STM32F401RE
run_case gdb "gdb:127.0.0.1:$GPORT" "ACME-SN-000002"
stop_pid "$GPID"
o=$("$OFLASH" otp --probe "sim:$CHIP2")
grep -q "ACME-SN-000002" <<<"$o" && pass "gdb: the chip behind the server holds the serial" || fail "gdb otp: $o"

# Flash through the one flash path: loadfile (HEX), plan, program, verifybin, savebin.
build_fw fw
# main flash only (loadfile never writes OTP); fw.bin = the same bytes
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"
"$ARM_OBJCOPY" -O binary -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.bin"
cat >"$WORK/flash.jlink" <<CMD
loadfile $WORK/fw.hex
verifybin $WORK/fw.bin, 0x08000000
savebin $WORK/back.bin, 0x08000000, $(printf '%X' "$(stat -c %s "$WORK/fw.bin")")
loadfile $WORK/fw.hex
plan $WORK/fw.hex
q
CMD
out=$(timeout 60 "$OFLASH" commander --probe "sim:$CHIP" -f "$WORK/flash.jlink" 2>&1) || fail "flash script: $out"
grep -q "loadfile: [0-9]* sectors\? erased, [1-9]" <<<"$out" && pass "loadfile programs flash via the plan" || fail "loadfile: $out"
grep -q "Verify successful" <<<"$out" && pass "verifybin matches" || fail "verifybin"
cmp -s "$WORK/back.bin" "$WORK/fw.bin" && pass "savebin reads back the firmware" || fail "savebin"
grep -q "loadfile: already up to date" <<<"$out" && pass "second loadfile: already up to date" || fail "rerun: $out"
grep -q "^plan for STM32F401" <<<"$out" && pass "plan prints the plan" || fail "plan"

# OTP through loadfile is refused (opt-in only with program --otp); program --otp
# of a different serial in block 0 names the conflict; nothing written.
printf 'ACME-SN-000009' >"$WORK/otp.bin"
"$OFLASH" convert "$WORK/otp.bin@0x1FFF7800" -o "$WORK/otp.hex" >/dev/null
printf 'loadfile %s\n' "$WORK/otp.hex" >"$WORK/otp1.jlink"
out=$(timeout 60 "$OFLASH" commander --probe "sim:$CHIP" -f "$WORK/otp1.jlink" 2>&1) && fail "OTP via loadfile not refused" || true
grep -q "this chip already holds ACME-SN-000001 (OTP block 0 at 0x1FFF7800); the image has ACME-SN-000009" <<<"$out" \
    && pass "loadfile of another serial: the conflict in words" || fail "loadfile otp: $out"
# Into a blank block: refused, says how (block 5 at 0x1FFF78A0).
"$OFLASH" convert "$WORK/otp.bin@0x1FFF78A0" -o "$WORK/otp5.hex" >/dev/null
printf 'loadfile %s\n' "$WORK/otp5.hex" >"$WORK/otp5.jlink"
out=$(timeout 60 "$OFLASH" commander --probe "sim:$CHIP" -f "$WORK/otp5.jlink" 2>&1) && fail "OTP via loadfile not refused" || true
grep -q "program FILE --otp" <<<"$out" && pass "loadfile refuses OTP bytes and says how" || fail "loadfile otp5: $out"
printf 'program %s --otp\n' "$WORK/otp.hex" >"$WORK/otp2.jlink"
out=$(timeout 60 "$OFLASH" commander --probe "sim:$CHIP" -f "$WORK/otp2.jlink" 2>&1) && fail "OTP conflict not refused" || true
grep -qi "conflict" <<<"$out" && pass "program --otp: conflict with the chip's serial reported" || fail "conflict: $out"
o=$("$OFLASH" otp "${T[@]}")
grep -q "ACME-SN-000001" <<<"$o" && pass "OTP unchanged after the refusal" || fail "otp changed"

# -ExitOnError: stop at the first failure (exit 1) or go on with 0.
printf 'mem32 20000000 1\nbogus\nw4 20000000 12345678\n' >"$WORK/err.jlink"
rc=0; out=$("$OFLASH" commander --probe "sim:$CHIP" -f "$WORK/err.jlink" 2>&1) || rc=$?
[ "$rc" = 1 ] && ! grep -q "Writing 12345678" <<<"$out" && pass "stops at the first failing command, exit 1" || fail "exit on error: rc=$rc $out"
rc=0; out=$("$OFLASH" commander --probe "sim:$CHIP" -ExitOnError 0 -f "$WORK/err.jlink" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "Writing 12345678" <<<"$out" && pass "-ExitOnError 0 runs on, still exit 1" || fail "ExitOnError 0: rc=$rc $out"
finish
