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

# The whole chip and the firmware: tests/lib/chip.sh with the F746xG's
# layout; 40000 bytes of FILL (sectors 0 and 1, 32 KiB each), a serial in
# OTP block 1 (0x1FF0F040).
source "$(dirname "$0")/../lib/chip.sh"
FLASH_LEN=0x100000 OTP_BASE=0x1FF0F000 OTP_LEN=0x410 OPT_BASE=0x1FFF0000 OPT_LEN=0x20
FW_CPU=cortex-m7 FW_SP=0x20010000 FW_FILL=40000 FW_OTP=0x1FF0F040
load() { gdbx -ex "target remote 127.0.0.1:$SPORT" -ex "file $1" -ex "load" "${@:2}" -ex "detach"; }
fw_elf fwA 0xA5
fw_elf fwB_otpB 0x5A "SERIAL-B-0002-OFLASH-F7-OTP-T-02"
fw_elf fwB_otpA 0x5A "SERIAL-A-0001-OFLASH-F7-OTP-T-01"
"$OFLASH" program "$WORK/fwA.elf" --probe "sim:$CHIP" --device $DEV --quiet

# ---- OTP data in the image, server without --otp
chip_dump "$WORK/before.bin"
start_server --device $DEV --probe "sim:$CHIP"
g=$(load "$WORK/fwB_otpB.elf")
grep -q "Error finishing flash operation" <<<"$g" && pass "load with OTP data refused without --otp" ||
    fail "load not refused: $g"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "OTP image refused without --otp"

# ---- a conflicting serial with --otp (64-byte block 1 holds serial A)
"$OFLASH" program "$WORK/fwB_otpA.elf" --probe "sim:$CHIP" --device $DEV --otp --quiet
"$OFLASH" program "$WORK/fwA.elf" --probe "sim:$CHIP" --device $DEV --quiet
chip_dump "$WORK/before.bin"
start_server --device $DEV --probe "sim:$CHIP" --otp
g=$(load "$WORK/fwB_otpB.elf")
grep -q "Error finishing flash operation" <<<"$g" && pass "conflicting serial refused with --otp" ||
    fail "conflict not refused: $g"
grep -q "OTP block 1, 0x1FF0F047: chip holds 0x41, image wants 0x42" "$SLOG" &&
    pass "server log names the byte in 64-byte block 1" || fail "conflict log: $(cat "$SLOG")"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "conflicting serial refused"

# ---- the same serial with --otp: accepted, flash programmed through the plan
start_server --device $DEV --probe "sim:$CHIP" --otp
g=$(load "$WORK/fwB_otpA.elf" -ex "compare-sections")
[ "$(grep -c ": matched." <<<"$g")" = 3 ] && pass "same serial + new firmware: loaded, 3 sections match" ||
    fail "accepted load: $g"
stop_pid "$SPID"

# ---- memory writes: guarded without the opt-ins
chip_dump "$WORK/before.bin"
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

# Code on the core (tests/lib/f2x_guard.S): program an OTP word (block 2),
# write-protect sector 7: WRPERR, nothing changes.
f2x_guard_code otpw 0x1FF0F080 cortex-m7
start_server --device $DEV --probe "sim:$CHIP"
f2x_guard_check otpw "code on the core"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "guarded writes and code"
finish
