#!/usr/bin/env bash
# openocd_f7.sh - the real OpenOCD 0.12 (target/stm32f7x.cfg) drives a
# simulated STM32F746ZG through `oflash sim serve --remote-bitbang` (JTAG):
#   1. OpenOCD alone: the scan chain (Cortex-M7 JTAG-DP 0x5BA00477, ST
#      boundary scan 0x06449041), "Cortex-M7 r0p1", its STM32F7 flash
#      driver's probe (DEV_ID 0x449, 1024 KiB, 4 x 32 + 128 + 3 x 256 KiB)
#      and OTP bank (1024 bytes at 0x1FF0F000), the unique ID;
#   2. oflash through OpenOCD's GDB server (--probe gdb:): one ELF with code,
#      an OTP serial and its lock byte; exact contents; a rerun writes
#      nothing; a conflicting serial is refused with the chip unchanged.
# Every process is started here on free loopback ports and stopped by PID.
source "$(dirname "$0")/../flash/lib.sh"
source "$(dirname "$0")/../lib/openocd.sh"
F7=$(cd "$(dirname "$0")" && pwd)
CFG=$F7/oflash-sim-stm32f7.cfg
command -v openocd >/dev/null || { echo "FAIL: openocd is not installed (scripts/install-deps.sh)"; exit 1; }
cd "$WORK"
build_f7() {
    local n=$1; shift
    "$ARM_CC" -mcpu=cortex-m7 -mthumb -Os -nostdlib -T "$F7/fw_f7.ld" -DBIGDATA_KB=40 "$@" \
        -o "$WORK/$n.elf" "$HERE/fw/fw.c"
}
build_f7 fw
build_f7 conflict '-DSERIAL="SN-000009999"'
"$ARM_OBJCOPY" -O binary -j .isr_vector -j .text -j .bigdata -j .data fw.elf fw.bin

CHIP=$WORK/chip.sim
"$OFLASH" sim create "$CHIP" --device STM32F746ZG --uid 00112233445566778899aabb >/dev/null
sim_serve "$CHIP" serve.log || { echo "FAIL: sim serve did not listen"; exit 1; }

# ---- 1. OpenOCD alone
ocd flash.log 'init; reset halt; echo "PROBE:[capture {flash probe 0}]";
  echo "INFO:[capture {flash info 0}]"; flash probe 1; echo "OTP:[capture {flash info 1}]";
  echo "UID:[capture {mdw 0x1FF0F420 3}]"'
check "JTAG-DP 0x5ba00477 (Cortex-M7)" has flash.log "tap/device found: 0x5ba00477"
check "boundary-scan TAP 0x06449041 (F74x/F75x)" has flash.log "tap/device found: 0x06449041"
check "Cortex-M7 r0p1 examined, 8 breakpoints" has flash.log "Cortex-M7 r0p1 processor detected"
check "OpenOCD's F7 flash driver: device id 0x10000449" has flash.log "device id = 0x10000449"
check "flash probe 0: 1024 KiB" has flash.log "flash size = 1024 KiB"
check "sector 4: 128 KiB at +0x20000" has flash.log "#  4: 0x00020000 (0x20000 128kB)"
check "sector 7: 256 KiB at +0xc0000" has flash.log "#  7: 0x000c0000 (0x40000 256kB)"
check "the part: STM32F7[4|5]x" has flash.log 'STM32F7\[4|5\]x'
check "OTP bank: 1024 bytes at 0x1ff0f000" has flash.log "stm32f2x at 0x1ff0f000, size 0x00000400"
check "unique ID at 0x1FF0F420" has flash.log "UID:0x1ff0f420: 33221100 77665544 bbaa9988"

# ---- 2. oflash through OpenOCD's GDB server
ocd_gdb ocd-gdb.log stm32f7x.cpu || { echo "FAIL: OpenOCD's GDB server did not listen"; exit 1; }
T=(--probe "gdb:127.0.0.1:$G" --device STM32F746ZG)
run_oflash out rc program fw.elf "${T[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" otp_bytes_programmed)" = 12 ] &&
    [ "$(jget "$out" otp_blocks_locked)" = 1 ] && [ "$(jget "$out" verify)" = ok ] &&
    pass "oflash program through OpenOCD: code + OTP serial + lock" || fail "program: rc $rc: $out"
run_oflash out rc read 0x08000000 "$(stat -c %s fw.bin)" -o back.bin "${T[@]}" --quiet
check "main flash holds exactly the firmware" cmp back.bin fw.bin
run_oflash out rc read 0x1FF0F000 12 -o serial.bin "${T[@]}" --quiet
check "OTP block 0 holds the serial" test "$(cat serial.bin)" = SN-000001234
run_oflash out rc program fw.elf "${T[@]}" --otp --json
[ "$rc" = 0 ] && [ "$(jget "$out" sectors_erased)" = 0 ] && [ "$(jget "$out" bytes_programmed)" = 0 ] &&
    [ "$(jget "$out" otp_bytes_programmed)" = 0 ] && pass "rerun through OpenOCD writes nothing" ||
    fail "rerun: rc $rc: $out"
run_oflash out rc read 0x08000000 0x10000 -o before.bin "${T[@]}" --quiet
run_oflash out rc read 0x1FF0F000 0x410 -o before-otp.bin "${T[@]}" --quiet
[ "$rc" = 0 ] || fail "read OTP + lock bytes through OpenOCD: $out"
run_oflash out rc program conflict.elf "${T[@]}" --otp
[ "$rc" = 1 ] && [[ $out == *"0x1FF0F008  0x31  0x39"* ]] && pass "conflicting serial refused" ||
    fail "conflict: rc $rc: $out"
run_oflash out rc read 0x08000000 0x10000 -o after.bin "${T[@]}" --quiet
run_oflash out rc read 0x1FF0F000 0x410 -o after-otp.bin "${T[@]}" --quiet
check "flash unchanged after the refusal" cmp before.bin after.bin
check "OTP and lock bytes unchanged after the refusal" cmp before-otp.bin after-otp.bin
stop_pid "$OPID"
stop_pid "$SPID"
finish
