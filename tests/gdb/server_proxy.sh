#!/usr/bin/env bash
# oflash gdbserver in front of another GDB server (real QEMU) through the
# gdb: probe: oflash run and gdb-multiarch through the chain; a client that
# drops mid-packet does not take the server down; SIGTERM stops it cleanly.
source "$(dirname "$0")/lib.sh"

cat >"$WORK/sum.S" <<'ASM'
    .syntax unified
    .thumb
    .global _start
_start:
    movs r2, #0
1:  cbz  r1, 2f
    ldr  r3, [r0], #4
    add  r2, r2, r3
    subs r1, r1, #1
    b    1b
2:  mov  r0, r2
end:
    bkpt #0
ASM
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -Ttext=0x20000000 -o "$WORK/sum.elf" "$WORK/sum.S"
"$ARM_OBJCOPY" -O binary "$WORK/sum.elf" "$WORK/sum.bin"
END=$(sym "$WORK/sum.elf" end)
printf '\x05\x00\x00\x00\x07\x00\x00\x00\x0b\x00\x00\x00' >"$WORK/data.bin"

start_qemu
start_server --device STM32F405xG --probe "gdb:127.0.0.1:$QPORT"
P="gdb:127.0.0.1:$SPORT"

out=$("$OFLASH" run --probe "$P" --load "$WORK/sum.bin@0x20000000" --load "$WORK/data.bin@0x20001000" \
      --pc 0x20000001 --sp 0x20002000 --reg r0=0x20001000 --reg r1=3 --break "$END" --json) \
      || fail "run through the chain"
[ "$(json_get "$out" stopped)" = breakpoint ] && [ "$(json_get "$out" r0)" = 23 ] \
    && pass "oflash run via oflash gdbserver via QEMU: r0 = 23" || fail "chain: $out"

# A client that sends half a packet and disconnects.
exec 5<>"/dev/tcp/127.0.0.1/$SPORT"; printf '$qSupported:xmlRegis' >&5; exec 5>&-
# One that sends garbage and a bad checksum.
exec 5<>"/dev/tcp/127.0.0.1/$SPORT"; printf '+++\x01\x02$m0,4#00' >&5; sleep 0.2; exec 5>&-
sleep 0.3
kill -0 "$SPID" && pass "server survived dropped clients" || fail "server died"

# gdb-multiarch through the chain.
g=$(gdbx -ex "set architecture armv7e-m" -ex "target remote 127.0.0.1:$SPORT" \
    -ex "x/3wx 0x20001000" -ex "set \$sp = 0x20002000" -ex "set \$pc = 0x20000001" \
    -ex "set \$r0 = 0x20001000" -ex "set \$r1 = 2" -ex "break *$END" -ex "continue" \
    -ex "p/x \$r0" -ex "monitor help" -ex "detach")
echo "$g" | tail -12
grep -q "0x00000005	0x00000007	0x0000000b" <<<"$g" && pass "gdb x via chain" || fail "gdb x"
grep -q '\$1 = 0xc' <<<"$g" && pass "gdb continue to breakpoint: r0 = 12" || fail "gdb run"
grep -q "monitor commands" <<<"$g" && pass "monitor help" || fail "monitor help"

# Clean stop on SIGTERM.
kill -TERM "$SPID"; rc=0; timeout 5 tail --pid="$SPID" -f /dev/null || rc=$?
src=0; wait "$SPID" || src=$?
[ "$rc" -eq 0 ] && [ "$src" -eq 130 ] && pass "SIGTERM: exit 130 (interrupted)" || fail "SIGTERM: rc $rc exit $src"
grep -q "stopped;" "$SLOG" && pass "server reported its totals" || fail "no totals"
grep -q "warning" "$SLOG" && echo "(server warnings:)" && grep warning "$SLOG" | head -5
finish
