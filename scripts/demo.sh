#!/usr/bin/env bash
# demo.sh BUILD_DIR - the main job (make run): one image programs a chip's
# main flash and its OTP area in one pass, safely and idempotently.
#
#  1. create a simulated STM32F401RE;
#  2. build the demo firmware (demo/firmware.c) with arm-none-eabi-gcc: code
#     in flash, a serial number in OTP block 0 and its lock byte, one ELF;
#     also as Intel HEX, the file a factory gets;
#  3. show that without --otp nothing is written, show the plan;
#  4. program it with --otp; show the OTP table;
#  5. run it again: nothing changes (zero erases, zero OTP writes).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
oflash="$build/oflash"
ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
ARM_OBJCOPY=${ARM_OBJCOPY:-arm-none-eabi-objcopy}
work="$build/demo"
chip="$work/chip.sim"
dev=STM32F401RE

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

rm -rf "$work"
mkdir -p "$work"

step "1. a simulated $dev"
show "$oflash" sim create "$chip" --device $dev

step "2. the demo image: code + serial number in OTP block 0 + its lock byte"
"$ARM_CC" -mcpu=cortex-m4 -mthumb -Os -nostdlib -T demo/firmware.ld \
    -o "$work/firmware.elf" demo/firmware.c
"$ARM_OBJCOPY" -O ihex "$work/firmware.elf" "$work/firmware.hex"
show "$oflash" info "$work/firmware.hex"

step "3. OTP is irreversible: without --otp nothing is written"
show "$oflash" program "$work/firmware.hex" --device $dev --probe "sim:$chip" ||
    echo "(refused, exit $?, as it should be)"
show "$oflash" program "$work/firmware.hex" --device $dev --probe "sim:$chip" --otp --plan

step "4. program flash and OTP in one pass"
show "$oflash" program "$work/firmware.hex" --device $dev --probe "sim:$chip" --otp
show "$oflash" otp --device $dev --probe "sim:$chip"

step "5. run it again: nothing changes"
show "$oflash" program "$work/firmware.hex" --device $dev --probe "sim:$chip" --otp --json
show "$oflash" verify "$work/firmware.elf" --device $dev --probe "sim:$chip"

step "6. another unit's serial on this chip is refused, nothing written"
"$ARM_CC" -mcpu=cortex-m4 -mthumb -Os -nostdlib -T demo/firmware.ld \
    -DSERIAL='"SN-2026-000043"' -o "$work/other.elf" demo/firmware.c
show "$oflash" program "$work/other.elf" --device $dev --probe "sim:$chip" --otp ||
    echo "(refused, exit $?, as it should be)"
