# chip.sh - a simulated chip as bytes, and test firmware with OTP data
# (sourced by shell tests of every family, after a lib that defines WORK,
# pass and fail; OFLASH and ARM_CC set).
#
# The part under test, set before use:
#   CHIP                        the chip file (read as --probe sim:$CHIP)
#   FLASH_LEN                   main flash bytes from 0x08000000
#   OTP_BASE OTP_LEN            OTP data and lock bytes
#   OPT_BASE OPT_LEN            option bytes
#   FW_CPU FW_SP FW_FILL FW_OTP for fw_elf: -mcpu, initial SP, code bytes,
#                               default OTP address of the serial
#
# chip_dump OUT: main flash, OTP + lock bytes and option bytes into OUT.
# same_chip BEFORE WHAT: pass if the chip now dumps equal to BEFORE.
# fw_elf NAME FILL [SERIAL [OTP_ADDR]]: $WORK/NAME.elf, a vector table and
#   FW_FILL bytes of FILL from 0x08000000; with SERIAL, 32 bytes of it at
#   OTP_ADDR (default FW_OTP) in the same ELF.
chip_dump() {
    "$OFLASH" read 0x08000000 "$FLASH_LEN" -o "$WORK/d.flash.bin" --probe "sim:$CHIP" --quiet
    "$OFLASH" read "$OTP_BASE" "$OTP_LEN" -o "$WORK/d.otp.bin" --probe "sim:$CHIP" --quiet
    "$OFLASH" read "$OPT_BASE" "$OPT_LEN" -o "$WORK/d.opt.bin" --probe "sim:$CHIP" --quiet
    cat "$WORK/d.flash.bin" "$WORK/d.otp.bin" "$WORK/d.opt.bin" >"$1"
}

same_chip() {
    chip_dump "$WORK/after.bin"
    if cmp -s "$1" "$WORK/after.bin"; then
        pass "$2: whole chip (flash, OTP, lock and option bytes) byte-identical"
    else
        fail "$2: chip changed: $(cmp "$1" "$WORK/after.bin" | head -1)"
    fi
}

fw_elf() {
    {
        printf '    .syntax unified\n    .thumb\n    .section .isr_vector,"a"\n'
        printf '    .word %s\n    .word 0x08000009\n    .text\n    b .\n' "$FW_SP"
        printf '    .fill %s, 1, %s\n' "$FW_FILL" "$2"
        [ -n "${3:-}" ] && printf '    .section .otp,"a"\n    .ascii "%s"\n' "$3"
    } >"$WORK/$1.S"
    "$ARM_CC" -mcpu="$FW_CPU" -mthumb -nostdlib -Wl,-e0x08000009 -Ttext=0x08000008 \
        -Wl,--section-start=.isr_vector=0x08000000 -Wl,--section-start=.otp="${4:-$FW_OTP}" \
        -o "$WORK/$1.elf" "$WORK/$1.S"
}

# f2x_guard_code NAME OTP_WORD [CPU]: $WORK/NAME.bin, tests/lib/f2x_guard.S
#   for an STM32F2/F4/F7 (CPU default cortex-m4) at 0x20000000.
# f2x_guard_check NAME WHAT: run it through oflash gdbserver on $SPORT
#   (tests/gdb/lib.sh): both FLASH_SR results hold WRPERR, OPTCR's nWRP7
#   is still 1.
f2x_guard_code() {
    "$ARM_CC" -mcpu="${3:-cortex-m4}" -mthumb -nostdlib -Ttext=0x20000000 -DOTP_WORD="$2" \
        -o "$WORK/$1.elf" "$(dirname "${BASH_SOURCE[0]}")/f2x_guard.S"
    "$ARM_OBJCOPY" -O binary "$WORK/$1.elf" "$WORK/$1.bin"
}

f2x_guard_check() {
    local out r0 r1 r2
    out=$("$OFLASH" run --probe "gdb:127.0.0.1:$SPORT" --load "$WORK/$1.bin@0x20000000" \
        --pc 0x20000001 --sp 0x20008000 --json) || fail "$2: run via gdbserver: $out"
    r0=$(json_get "$out" r0) || r0=0
    r1=$(json_get "$out" r1) || r1=0
    r2=$(json_get "$out" r2) || r2=0
    if [ $((r0 & 0x10)) != 0 ] && [ $((r1 & 0x10)) != 0 ] && [ $((r2 & 0x800000)) != 0 ]; then
        pass "$2: OTP program and option bytes refused (SR 0x$(printf %x "$r0"), 0x$(printf %x "$r1"))"
    else
        fail "$2: sim guard: r0=$r0 r1=$r1 r2=$r2"
    fi
}
