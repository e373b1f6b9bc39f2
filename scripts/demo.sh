#!/usr/bin/env bash
# demo.sh BUILD_DIR - the main job (make run).
#
# 1. Build the demo firmware (examples/demo) with arm-none-eabi-gcc into
#    BUILD_DIR/demo: code in flash, a serial number in OTP block 0
#    (0x1FFF7800) and its lock byte (0x1FFF7A00 = 0x00), all in one ELF.
# 2. oflash info: the image has a flash segment and two OTP segments.
# 3. oflash convert: the same image as one Intel HEX file for the factory,
#    read back with oflash info.
# SERIAL=123 make run builds a unit with another serial number.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
oflash="$build/oflash"
out="$build/demo"
serial=${SERIAL:-42}
cc=${ARM_CC:-arm-none-eabi-gcc}
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "build the demo firmware for STM32F401RE, serial number $serial ($cc)"
"$cc" -mcpu=cortex-m4 -mthumb -Os -g -nostdlib -ffreestanding \
  -DSERIAL_NUMBER="$serial" -DSERIAL="\"$(printf 'OFL-%06d' "$serial")\"" \
  -T examples/demo/stm32f401re.ld -Wl,--gc-sections \
  -o "$out/demo.elf" examples/demo/demo.c
echo "$out/demo.elf"

step "oflash info $out/demo.elf   (flash + OTP block 0 + its lock byte)"
"$oflash" info "$out/demo.elf"

step "oflash convert $out/demo.elf -o $out/demo.hex   (one file for the factory)"
"$oflash" convert "$out/demo.elf" -o "$out/demo.hex"
"$oflash" info "$out/demo.hex"
echo "OTP block 0 in the HEX file:"
grep -A3 '^:020000041FFF' "$out/demo.hex"
