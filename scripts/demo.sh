#!/usr/bin/env bash
# demo.sh BUILD_DIR - the main job (make run): one image programs a chip's
# main flash and its OTP area in one pass, safely and idempotently.
#
# 1. Build the demo firmware (examples/demo) with arm-none-eabi-gcc into
#    BUILD_DIR/demo: code in flash, a serial number in OTP block 0
#    (0x1FFF7800) and its lock byte (0x1FFF7A00 = 0x00), all in one ELF.
# 2. oflash info / convert: the same image as one Intel HEX file for the
#    factory.
# 3. A simulated STM32F401RE; without --otp nothing is written; the plan.
# 4. oflash program --otp: flash and OTP in one pass; the OTP table.
# 5. The same again: nothing changes (zero erases, zero OTP writes).
# 6. Another unit's serial on this chip: refused, nothing written.
# SERIAL=123 make run builds a unit with another serial number.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
oflash="$build/oflash"
out="$build/demo"
serial=${SERIAL:-42}
cc=${ARM_CC:-arm-none-eabi-gcc}
dev=STM32F401RE
chip="$out/chip.sim"
rm -rf "$out"
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
firmware() { # firmware SERIAL OUT.elf
    "$cc" -mcpu=cortex-m4 -mthumb -Os -g -nostdlib -ffreestanding \
        -DSERIAL_NUMBER="$1" -DSERIAL="\"$(printf 'OFL-%06d' "$1")\"" \
        -T examples/demo/stm32f401re.ld -Wl,--gc-sections \
        -o "$2" examples/demo/demo.c
}

step "build the demo firmware for $dev, serial number $serial ($cc)"
firmware "$serial" "$out/demo.elf"
echo "$out/demo.elf"

step "oflash info $out/demo.elf   (flash + OTP block 0 + its lock byte)"
"$oflash" info "$out/demo.elf"

step "oflash convert $out/demo.elf -o $out/demo.hex   (one file for the factory)"
"$oflash" convert "$out/demo.elf" -o "$out/demo.hex"
"$oflash" info "$out/demo.hex"

step "a simulated $dev"
show "$oflash" sim create "$chip" --device $dev

step "OTP is irreversible: without --otp nothing is written"
show "$oflash" program "$out/demo.hex" --device $dev --probe "sim:$chip" ||
    echo "(refused with exit code $?, as it should be)"
show "$oflash" program "$out/demo.hex" --device $dev --probe "sim:$chip" --otp --plan

step "program flash and OTP in one pass"
show "$oflash" program "$out/demo.hex" --device $dev --probe "sim:$chip" --otp
show "$oflash" otp --device $dev --probe "sim:$chip"

step "the same again: nothing changes"
show "$oflash" program "$out/demo.hex" --device $dev --probe "sim:$chip" --otp --json
show "$oflash" verify "$out/demo.elf" --device $dev --probe "sim:$chip"

step "another unit's serial on this chip: refused, nothing written"
firmware $((serial + 1)) "$out/other.elf"
show "$oflash" program "$out/other.elf" --device $dev --probe "sim:$chip" --otp ||
    echo "(refused with exit code $?, as it should be)"
show "$oflash" verify "$out/demo.hex" --device $dev --probe "sim:$chip"
