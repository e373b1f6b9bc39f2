#!/usr/bin/env bash
# gdb-multiarch against oflash gdbserver serving a simulated STM32F401RE:
# load an ELF built here with arm-none-eabi-gcc into flash (vFlash* through
# the chip's flash interface), x it back, compare-sections, read the OTP
# area and the unique ID, run to a breakpoint, continue and step, monitor
# reset; OTP writes refused without --otp and done with it.  Then oflash's
# own client against the same server: oflash run, and the link-drop cases.
source "$(dirname "$0")/lib.sh"

UID_HEX=$(printf '%04x%04x%04x%04x%04x%04x' $RANDOM $RANDOM $RANDOM $RANDOM $RANDOM $RANDOM)
CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE --uid "$UID_HEX" >/dev/null

# Firmware: vector table, a counting loop, 3 KB of data after a message.
cat >"$WORK/fw.S" <<'ASM'
    .syntax unified
    .thumb
    .section .isr_vector,"a"
    .word 0x20018000
    .word reset_handler
    .text
    .thumb_func
    .global reset_handler
reset_handler:
    ldr  r0, =counter
    movs r1, #0
loop:
    adds r1, #1
    str  r1, [r0]
    .global marker
marker:
    cmp  r1, #100
    bne  loop
done:
    b    done
    .section .rodata
    .global message
message:
    .asciz "oflash gdbserver test image"
    .balign 4
    .fill 20000, 1, 0xA5
    .bss
counter: .word 0
ASM
cat >"$WORK/fw.ld" <<'LD'
MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 512K
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 96K }
SECTIONS {
  .isr_vector : { KEEP(*(.isr_vector)) } > FLASH
  .text : { *(.text*) *(.rodata*) } > FLASH
  .bss (NOLOAD) : { *(.bss*) } > RAM
}
LD
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -T "$WORK/fw.ld" -o "$WORK/fw.elf" "$WORK/fw.S"
# An image with OTP data in block 1 and the lock byte of block 1.
cat >"$WORK/otp.S" <<'ASM'
    .section .otp,"a"
    .ascii "SERIAL-0001-OFLASH-OTP-TEST-0001"
    .section .otplock,"a"
    .byte 0x00
ASM
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -c -o "$WORK/otp.o" "$WORK/otp.S"
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -Wl,--section-start=.otp=0x1FFF7820 \
    -Wl,--section-start=.otplock=0x1FFF7A01 -Wl,-e0 -o "$WORK/otp.elf" "$WORK/otp.o"

MARKER=$(printf '0x%x' "$(sym "$WORK/fw.elf" marker)")

start_server --device STM32F401RE --probe "sim:$CHIP"
g=$(gdbx -ex "target remote 127.0.0.1:$SPORT" -ex "file $WORK/fw.elf" -ex "load" \
    -ex "compare-sections" -ex "x/s &message" -ex "x/4xb message+32" -ex "x/8xb 0x1FFF7800" \
    -ex "x/3xw 0x1FFF7A10" -ex "monitor reset" -ex "maintenance flush register-cache" -ex "p/x \$pc" -ex "p/x \$sp" \
    -ex "break marker" -ex "continue" -ex "continue" -ex "p \$r1" -ex "p *(int*)0x20000000" \
    -ex "stepi" -ex "p/x \$pc" -ex "stepi" -ex "p/x \$pc" -ex "delete" -ex "monitor reset" -ex "maintenance flush register-cache" -ex "p/x \$pc" \
    -ex "p \$r1" -ex "detach")
echo "$g" | grep -v "^warning\|determining exec" | head -60
grep -q "Start address 0x0800000[89], load size" <<<"$g" && pass "gdb load into flash" || fail "load"
[ "$(grep -c ": matched." <<<"$g")" = 2 ] && pass "compare-sections: 2 sections matched" || fail "compare-sections"
grep -q '"oflash gdbserver test image"' <<<"$g" && pass "x/s message from flash" || fail "x message"
grep -q "0xa5	0xa5	0xa5	0xa5" <<<"$g" && pass "x data" || fail "x data"
grep -q "0x1fff7800:	0xff	0xff	0xff	0xff	0xff	0xff	0xff	0xff" <<<"$g" && pass "OTP reads blank" || fail "OTP read"
u=$(grep "0x1fff7a10" <<<"$g" | awk '{printf "%s%s%s", $2, $3, $4}')
# 0x1FFF7A10 holds the UID bytes in order; gdb prints little-endian words.
exp=$(for w in 0 8 16; do echo -n "0x${UID_HEX:$((w+6)):2}${UID_HEX:$((w+4)):2}${UID_HEX:$((w+2)):2}${UID_HEX:$w:2}"; done)
[ "$u" = "$exp" ] && pass "unique ID $UID_HEX" || fail "UID: got $u expected $exp"
grep -q "core reset and halted" <<<"$g" && pass "monitor reset" || fail "monitor reset"
grep -q '^\$1 = 0x8000008' <<<"$g" && grep -q '^\$2 = 0x20018000' <<<"$g" && pass "reset loads PC and SP from the vector table" || fail "reset vector"
[ "$(grep -c "Breakpoint 1, $(printf '0x%08x' "$MARKER") in marker" <<<"$g")" = 2 ] && pass "continue to breakpoint twice" || fail "breakpoint"
grep -q '^\$3 = 2' <<<"$g" && grep -q '^\$4 = 2' <<<"$g" && pass "second stop after one more loop (r1 = counter = 2)" || fail "loop count"
grep -q "^\$5 = $(printf '0x%x' $((MARKER + 2)))" <<<"$g" && pass "stepi over cmp" || fail "stepi 1"
grep -q '^\$6 = 0x800000c' <<<"$g" && pass "stepi takes the bne back to loop" || fail "stepi 2 (branch)"
grep -q '^\$7 = 0x8000008' <<<"$g" && grep -q '^\$8 = 0' <<<"$g" && pass "monitor reset again: back at the vector, r1 = 0" || fail "reset 2"

# OTP: refused without --otp, nothing written.
g=$(gdbx -ex "target remote 127.0.0.1:$SPORT" -ex "file $WORK/otp.elf" -ex "load" -ex "x/4xb 0x1FFF7820" -ex "detach")
grep -qi "error" <<<"$g" && pass "OTP load refused without --otp" || fail "OTP load not refused: $g"
grep -q "0x1fff7820:	0xff	0xff	0xff	0xff" <<<"$g" && pass "OTP untouched" || fail "OTP changed"
grep -q "vFlashDone refused: the image holds one-time-programmable bytes" "$SLOG" && pass "server says why" || fail "server message"

# oflash's own client against the server: run a routine in RAM.
cat >"$WORK/mul.S" <<'ASM'
    .syntax unified
    .thumb
    .global _start
_start:
    mul  r0, r0, r1
    .global after_mul
after_mul:
    ldr  r2, =0x1FFF7A10
    ldr  r3, [r2]
    bkpt #1
ASM
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -Ttext=0x20000000 -o "$WORK/mul.elf" "$WORK/mul.S"
"$ARM_OBJCOPY" -O binary "$WORK/mul.elf" "$WORK/mul.bin"
A=$((RANDOM + 2)); B=$((RANDOM + 3))
out=$("$OFLASH" run --probe "gdb:127.0.0.1:$SPORT" --load "$WORK/mul.bin@0x20000000" --pc 0x20000001 \
      --sp 0x20008000 --reg "r0=$A" --reg "r1=$B" --json) || fail "oflash run via gdbserver"
[ "$(json_get "$out" stopped)" = bkpt ] && [ "$(json_get "$out" r0)" = $(((A * B) & 0xffffffff)) ] \
    && pass "oflash client -> oflash server: BKPT, r0 = $A * $B" || fail "run: $out"
[ "$(json_get "$out" r3)" = $((16#${UID_HEX:6:2}${UID_HEX:4:2}${UID_HEX:2:2}${UID_HEX:0:2})) ] \
    && pass "routine read the unique ID" || fail "uid via routine"
out=$("$OFLASH" run --probe "gdb:127.0.0.1:$SPORT" --load "$WORK/mul.bin@0x20000000" --pc 0x20000001 \
      --sp 0x20008000 --reg r0=6 --reg r1=7 --reg r2=0 --reg r3=0 --break "$(sym "$WORK/mul.elf" after_mul)" --json) || fail "run to break"
[ "$(json_get "$out" stopped)" = breakpoint ] && [ "$(json_get "$out" r0)" = 42 ] \
    && pass "oflash client -> oflash server: breakpoint" || fail "break: $out"
stop_pid "$SPID"
# The same routine on the sim: probe directly gives the same registers.
out2=$("$OFLASH" run --probe "sim:$CHIP" --load "$WORK/mul.bin@0x20000000" --pc 0x20000001 \
      --sp 0x20008000 --reg r0=6 --reg r1=7 --reg r2=0 --reg r3=0 --break "$(sym "$WORK/mul.elf" after_mul)" --json) || fail "sim run"
[ "$out2" = "$out" ] && pass "oflash run on sim: prints exactly what it prints through gdb:" || fail "sim: $out2 vs gdb: $out"

# With --otp: the OTP image programs block 1 and locks it; loading again
# (same data) is accepted; the lock byte only ever holds 0x00 or 0xFF.
start_server --device STM32F401RE --probe "sim:$CHIP" --otp
g=$(gdbx -ex "target remote 127.0.0.1:$SPORT" -ex "file $WORK/otp.elf" -ex "load" \
    -ex "x/s 0x1FFF7820" -ex "x/4xb 0x1FFF7A00" -ex "compare-sections" -ex "load" -ex "detach")
echo "$g" | grep -v "^warning\|determining exec" | tail -12
grep -q '"SERIAL-0001-OFLASH-OTP-TEST-0001"' <<<"$g" && pass "OTP block 1 programmed with --otp" || fail "OTP write"
grep -q "0x1fff7a00:	0xff	0x00	0xff	0xff" <<<"$g" && pass "lock byte 1 = 0x00, neighbours 0xFF" || fail "lock bytes"
[ "$(grep -c "Start address" <<<"$g")" = 2 ] && pass "second identical load accepted" || fail "reload"
stop_pid "$SPID"
show=$("$OFLASH" sim show "$CHIP")
echo "$show" | grep -i "otp\|lock" | head -5

# ---- links that drop ----
cat >"$WORK/spin.S" <<'ASM'
    .syntax unified
    .thumb
    b .
ASM
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -Ttext=0x20000000 -o "$WORK/spin.elf" "$WORK/spin.S"
"$ARM_OBJCOPY" -O binary "$WORK/spin.elf" "$WORK/spin.bin"
start_server --device STM32F401RE --probe "sim:$CHIP"
# Client killed while the core runs: the server notices, halts, serves the next one.
"$OFLASH" run --probe "gdb:127.0.0.1:$SPORT" --load "$WORK/spin.bin@0x20000000" --pc 0x20000001 \
    --sp 0x20008000 --timeout 30 >/dev/null 2>&1 &
RPID=$!; PIDS+=("$RPID"); sleep 0.5; kill -9 "$RPID"; wait "$RPID" 2>/dev/null || true
# Client cut in the middle of an X packet.
exec 5<>"/dev/tcp/127.0.0.1/$SPORT"; printf '+$X20000000,100:abc' >&5; exec 5>&-
t0=$SECONDS
out=$("$OFLASH" run --probe "gdb:127.0.0.1:$SPORT" --load "$WORK/mul.bin@0x20000000" --pc 0x20000001 \
      --sp 0x20008000 --reg r0=3 --reg r1=5 --json) || fail "client after drops"
[ "$(json_get "$out" r0)" = 15 ] && pass "server serves the next client after two dropped ones ($((SECONDS - t0)) s)" || fail "after drop: $out"
grep -q "disconnected\|dropping client" "$SLOG" && pass "server logged the drops" || fail "drop log"
# Server killed while the client waits for the core: a clear error, no hang.
"$OFLASH" run --probe "gdb:127.0.0.1:$SPORT" --load "$WORK/spin.bin@0x20000000" --pc 0x20000001 \
    --sp 0x20008000 --timeout 30 >/dev/null 2>"$WORK/kill.err" &
RPID=$!; PIDS+=("$RPID"); sleep 0.5; kill -9 "$SPID"; t0=$SECONDS
rc=0; wait "$RPID" || rc=$?
[ "$rc" = 1 ] && grep -q "connection lost" "$WORK/kill.err" && [ $((SECONDS - t0)) -le 3 ] \
    && pass "server killed: client says '$(cat "$WORK/kill.err")'" || fail "server killed: rc $rc $(cat "$WORK/kill.err")"
# The probe's own link drops during a gdb load (simulated fault): gdb gets
# an error, the server stays up.  Sector 0 is erased first so that the load
# has work to do at vFlashDone (an image the chip already holds is a no-op).
"$OFLASH" erase --probe "sim:$CHIP" --sector 0 >/dev/null
"$OFLASH" sim fault "$CHIP" --link-drop-after 40 >/dev/null
start_server --device STM32F401RE --probe "sim:$CHIP"
g=$(gdbx -ex "target remote 127.0.0.1:$SPORT" -ex "file $WORK/fw.elf" -ex "load" -ex "detach")
grep -qi "error" <<<"$g" && pass "probe link drop during load: gdb reports an error" || fail "link drop load: $g"
grep -q "link to the probe dropped" "$SLOG" && pass "server log names the dropped probe link" || fail "no link drop message"
kill -0 "$SPID" && pass "server still up" || fail "server died"
stop_pid "$SPID"
# (head closes the pipe early: under pipefail that is not a failure)
echo "--- server log"; { cat "$WORK"/server.*.log | grep -v "reading memory" | head -40; } || true
finish
