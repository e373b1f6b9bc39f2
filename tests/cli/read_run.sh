#!/usr/bin/env bash
# Issue 13 finding 7: `read -o -` writes the data to stdout and the status
# to stderr; read checks the output format and directory before it touches
# the target (a listener proves no connection was made); `run --load`
# takes ELF and HEX files (addresses and entry point from the file) as well
# as FILE@ADDR.
source "$(dirname "$0")/../flash/lib.sh"
cd "$WORK"
CHIP="$WORK/c.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
T=(--probe "sim:$CHIP")
printf ':020000040800F2\n:10000000000102030405060708090A0B0C0D0E0F78\n:00000001FF\n' >fw.hex
"$OFLASH" program fw.hex "${T[@]}" --quiet

# read -o -: exactly the bytes on stdout, the message on stderr
"$OFLASH" read 0x08000000 16 -o - "${T[@]}" >out.bin 2>err.txt
python3 -c 'import sys; d=open("out.bin","rb").read(); sys.exit(d != bytes(range(16)))' \
    && pass "read -o -: the 16 bytes on stdout, nothing else" || fail "read -o -: $(od -An -tx1 out.bin)"
grep -q "read 0x08000000-0x0800000F (16 bytes) to standard output" err.txt \
    && pass "read -o -: status message on stderr" || fail "stderr: $(cat err.txt)"
"$OFLASH" read 0x08000000 16 -o - --format ihex "${T[@]}" 2>/dev/null >out.hex
grep -q '^:10000000000102030405060708090A0B0C0D0E0F78' out.hex && ! grep -qv '^:' out.hex \
    && pass "read -o - --format ihex: HEX on stdout" || fail "ihex stdout: $(cat out.hex)"
[ ! -e ./- ] && pass "no file named '-' created" || fail "a file '-' was written"

# The output is checked before the target: a listener counts connections
# (on a port it picks itself and writes down: no race for a port).
python3 - "$WORK/conns" "$WORK/lport" <<'P' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(5)
open(sys.argv[2] + ".tmp", "w").write("listening on 127.0.0.1:%d\n" % s.getsockname()[1])
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
n = 0
while True:
    c, _ = s.accept(); n += 1
    open(sys.argv[1], "w").write(str(n)); c.close()
P
LP=$!; PIDS+=("$LP")
P=$(listen_port "$WORK/lport" "$LP") && wait_port "$P" "$LP" || fail "listener"
sleep 0.3
before=$(cat "$WORK/conns" 2>/dev/null || echo 0)   # wait_port's own connection
rc=0; out=$("$OFLASH" read 0x08000000 16 -o dump.xyz --probe "gdb:127.0.0.1:$P" 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q "dump.xyz: cannot tell the output format" <<<"$out" \
    && pass "bad -o extension: usage error naming the file" || fail "bad ext: rc=$rc $out"
rc=0; out=$("$OFLASH" read 0x08000000 16 -o dump.bin --format elf --probe "gdb:127.0.0.1:$P" 2>&1) || rc=$?
[ "$rc" = 2 ] && pass "--format elf refused before the target" || fail "format elf: rc=$rc $out"
rc=0; out=$("$OFLASH" read 0x08000000 16 -o nosuchdir/d.bin --probe "gdb:127.0.0.1:$P" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "cannot write into directory nosuchdir" <<<"$out" \
    && pass "missing output directory refused before the target" || fail "no dir: rc=$rc $out"
sleep 0.2
after=$(cat "$WORK/conns" 2>/dev/null || echo 0)
[ "$after" = "$before" ] && pass "no connection was made to the probe" || fail "oflash connected $((after - before)) time(s)"
stop_pid "$LP" 2>/dev/null || kill "$LP"

# run --load ELF / HEX: code at 0x20000000 sets r0 = 42 and stops on BKPT
cat >code.s <<'S'
    .syntax unified
    .thumb
    .global _start
    .thumb_func
_start:
    movs r0, #42
    ldr r1, =value
    ldr r1, [r1]
    bkpt #0
    .align 2
value: .word 0x12345678
S
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -Wl,-Ttext=0x20000000 -o code.elf code.s
"$ARM_OBJCOPY" -O ihex code.elf code.hex
"$ARM_OBJCOPY" -O binary code.elf code.bin
rc=0; out=$("$OFLASH" run "${T[@]}" --load code.elf --sp 0x20002000 --json 2>&1) || rc=$?
[ "$rc" = 0 ] && [ "$(jget "$out" r0)" = 42 ] && [ "$(jget "$out" r1)" = $((0x12345678)) ] \
    && pass "run --load ELF: loaded where the ELF says, pc = its entry" || fail "elf: rc=$rc $out"
rc=0; out=$("$OFLASH" run "${T[@]}" --load code.hex --sp 0x20002000 --json 2>&1) || rc=$?
[ "$rc" = 0 ] && [ "$(jget "$out" r0)" = 42 ] && [ "$(jget "$out" r1)" = $((0x12345678)) ] \
    && pass "run --load HEX" || fail "hex: rc=$rc $out"
rc=0; out=$("$OFLASH" run "${T[@]}" --load code.bin@0x20000000 --pc 0x20000001 --sp 0x20002000 --json 2>&1) || rc=$?
[ "$rc" = 0 ] && [ "$(jget "$out" r0)" = 42 ] && pass "run --load FILE@ADDR still works" || fail "bin: rc=$rc $out"
rc=0; out=$("$OFLASH" run "${T[@]}" --load code.bin@zz --pc 1 --sp 2 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q "expected FILE@ADDR" <<<"$out" && pass "--load x@zz: usage error" || fail "x@zz: rc=$rc $out"
rc=0; out=$("$OFLASH" run "${T[@]}" --load code.bin@0x20000000 --sp 0x20002000 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q "pc is required" <<<"$out" && pass "raw binary without --pc: usage error" || fail "no pc: rc=$rc $out"
printf ':0400000001020304F1\n:00000001FF\n' >bad.hex
rc=0; out=$("$OFLASH" run --probe "gdb:127.0.0.1:1" --load bad.hex --sp 0x20002000 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "bad.hex:1: bad checksum" <<<"$out" && ! grep -qi "connect" <<<"$out" \
    && pass "a bad HEX is refused before the probe is opened" || fail "bad hex: rc=$rc $out"
finish
