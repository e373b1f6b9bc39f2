#!/usr/bin/env bash
# oflash run over the GDB client against real QEMU (netduinoplus2, an
# STM32F405 with RAM at 0x20000000): a Thumb routine built here with
# arm-none-eabi-gcc sums words of a data block; QEMU needs target.xml before
# p/P, has xPSR at 25 and no X packet (so M is used).  Also: timeout halts
# the core and reports where; a QEMU killed mid-run gives a clear error fast.
source "$(dirname "$0")/lib.sh"

cat >"$WORK/sum.S" <<'ASM'
    .syntax unified
    .thumb
    .global _start
_start:                     @ r0 = words, r1 = count -> r0 = sum, r4 = count
    movs r2, #0
    mov  r4, r1
1:  cbz  r1, done
    ldr  r3, [r0], #4
    add  r2, r2, r3
    subs r1, r1, #1
    b    1b
done:
    mov  r0, r2
end:
    bkpt #0x42
spin:
    b    spin
ASM
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -Ttext=0x20000000 -o "$WORK/sum.elf" "$WORK/sum.S"
"$ARM_OBJCOPY" -O binary "$WORK/sum.elf" "$WORK/sum.bin"
END=$(sym "$WORK/sum.elf" end)
SPIN=$(sym "$WORK/sum.elf" spin)

# Random data, expected sum computed here.
N=$((20 + RANDOM % 40)); SUM=0; : >"$WORK/data.bin"
for _ in $(seq "$N"); do
    v=$(( (RANDOM << 15 | RANDOM) & 0x7fffffff ))
    SUM=$(( (SUM + v) & 0xffffffff ))
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $((v >> 8 & 255)) $((v >> 16 & 255)) $((v >> 24 & 255)))" >>"$WORK/data.bin"
done

start_qemu
P="gdb:127.0.0.1:$QPORT"
out=$("$OFLASH" run --probe "$P" --load "$WORK/sum.bin@0x20000000" --load "$WORK/data.bin@0x20001000" \
      --pc 0x20000001 --sp 0x20002000 --reg r0=0x20001000 --reg "r1=$N" --reg r7=0xCAFE \
      --break "$END" --json) || fail "run to breakpoint: exit $?"
echo "$out"
[ "$(json_get "$out" stopped)" = breakpoint ] && pass "stopped at breakpoint" || fail "stopped: $out"
[ "$(json_get "$out" pc)" = "$END" ] && pass "pc = end" || fail "pc != $END"
[ "$(json_get "$out" r0)" = "$SUM" ] && pass "r0 = sum of $N words ($SUM)" || fail "r0 != $SUM"
[ "$(json_get "$out" r4)" = "$N" ] && pass "r4 = count" || fail "r4 != $N"
[ "$(json_get "$out" r7)" = $((0xCAFE)) ] && pass "--reg r7 kept" || fail "r7"
[ "$(json_get "$out" sp)" = $((0x20002000)) ] && pass "sp" || fail "sp"
x=$(json_get "$out" xpsr); [ $(( x & 0x01000000 )) -ne 0 ] && pass "xpsr (reg 25) has the Thumb bit" || fail "xpsr $x"

# Text output, same run again on the same QEMU (state reused).
txt=$("$OFLASH" run --probe "$P" --load "$WORK/sum.bin@0x20000000" --pc 0x20000001 \
      --sp 0x20002000 --reg r0=0x20001000 --reg r1=2 --break "$END") || fail "text run"
grep -q "^stopped: breakpoint at $(printf '0x%08X' "$END")" <<<"$txt" && pass "text output" || fail "text: $txt"

# Timeout: start in the endless loop; the core is halted and reported.
t0=$SECONDS
rc=0; out=$("$OFLASH" run --probe "$P" --load "$WORK/sum.bin@0x20000000" --pc $((SPIN | 1)) \
      --sp 0x20002000 --break "$END" --timeout 0.5 --json) || rc=$?
[ "$rc" -eq 1 ] && pass "timeout: exit 1" || fail "timeout: exit $rc"
[ "$(json_get "$out" stopped)" = timeout ] && pass "timeout reported" || fail "timeout: $out"
[ "$(json_get "$out" pc)" = "$SPIN" ] && pass "halted in the loop" || fail "pc $(json_get "$out" pc) != $SPIN"
[ $((SECONDS - t0)) -le 5 ] && pass "timeout took $((SECONDS - t0)) s" || fail "timeout too slow"

# Bad usage: exit 2.
rc=0; "$OFLASH" run --probe "$P" --load x@zz --pc 1 --sp 2 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && pass "usage error" || fail "usage: exit $rc"

# Link drop: QEMU killed while the routine runs -> clear error, no hang.
"$OFLASH" run --probe "$P" --load "$WORK/sum.bin@0x20000000" --pc $((SPIN | 1)) --sp 0x20002000 \
    --timeout 30 --json >"$WORK/drop.out" 2>"$WORK/drop.err" &
RPID=$!; PIDS+=("$RPID")
sleep 0.7; kill -9 "$QPID"; t0=$SECONDS
rc=0; wait "$RPID" || rc=$?
[ "$rc" -eq 1 ] && pass "link drop: exit 1" || fail "link drop: exit $rc"
grep -q "connection lost" "$WORK/drop.err" && pass "link drop: $(cat "$WORK/drop.err")" || fail "link drop message: $(cat "$WORK/drop.err")"
[ $((SECONDS - t0)) -le 3 ] && pass "link drop noticed at once" || fail "link drop slow"

# Nothing listening: clear error.  QEMU reaped first: kill -9 only starts
# its exit, and until every descriptor is closed its listening socket may
# still take a connection (seen under load: no "cannot connect").
wait "$QPID" 2>/dev/null || true
"$OFLASH" run --probe "gdb:127.0.0.1:$QPORT" --load "$WORK/sum.bin@0x20000000" --pc 1 --sp 2 2>"$WORK/e" && fail "no server" || true
grep -q "cannot connect" "$WORK/e" && pass "no server: $(cat "$WORK/e")" || fail "no server msg"
finish
