#!/usr/bin/env bash
# late_stop.sh - a GDB server whose stop notice comes after the client's
# time is up.  That is what made test_openocd / test_f7_openocd fail now
# and then on a loaded host ("flash loader ...: SEGGER_OPEN_Program ... did
# not finish within 400 ms"): the loader call ends in microseconds on the
# core, but OpenOCD only notices the halt at its next poll, and its poll
# (JTAG over remote-bitbang to a starved simulator) took longer than the
# 400 ms the call was allowed.  Here the real `oflash gdbserver` on a
# simulated chip sends every packet 0.5 s late (strace delays its sendto),
# so the stop reply of a 0.3 s run always comes after the client's time is
# up.  The client then halts the core, and:
#  - a routine that reached its BKPT is a BKPT stop (exit 0, registers),
#    not a timeout: its code got there, only the notice was late;
#  - an endless loop is still a timeout (the core stands inside the loop).
source "$(dirname "$0")/../flash/lib.sh"
command -v strace >/dev/null || { echo "FAIL: strace is missing (scripts/install-deps.sh)"; exit 1; }
cd "$WORK"
CHIP=$WORK/chip.sim
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=sendto \
    -e inject=sendto:delay_enter=500000 "$OFLASH" gdbserver --probe "sim:$CHIP" \
    --listen 127.0.0.1:0 >gs.log 2>&1 &
STRACE=$!
PIDS+=("$STRACE")
PORT=
for _ in $(seq 300); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' gs.log 2>/dev/null | head -1)
    [ -n "$PORT" ] && break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "FAIL: gdbserver did not listen: $(cat gs.log)"; exit 1; }
# strace does not take its tracee down when it is killed: stop the server
# itself (by PID) first.
SERVER=$(pgrep -P "$STRACE" | head -1)
[ -n "$SERVER" ] && PIDS=("$SERVER" "${PIDS[@]}")
T=(--probe "gdb:127.0.0.1:$PORT" --device STM32F401RE)

printf '\x01\x30\x00\xbe' >bkpt.bin # adds r0,#1; bkpt
s0=$(date +%s%N)
run_oflash out rc run "${T[@]}" --load bkpt.bin@0x20001000 --pc 0x20001001 --sp 0x20002000 \
    --reg r0=41 --timeout 0.3
ms=$((($(date +%s%N) - s0) / 1000000))
[ "$rc" = 0 ] && grep -q "stopped: bkpt at 0x20001002" <<<"$out" && grep -qE "^r0 +0x0000002A" <<<"$out" &&
    pass "stop reply 0.5 s late, --timeout 0.3: the BKPT reached is a BKPT stop, r0 = 42 (${ms} ms)" ||
    fail "late stop reply: rc=$rc $out"
printf '\xfe\xe7' >loop.bin # b .
run_oflash out rc run "${T[@]}" --load loop.bin@0x20001000 --pc 0x20001001 --sp 0x20002000 --timeout 0.3
[ "$rc" = 1 ] && grep -q "timeout" <<<"$out" && grep -q "0x20001000" <<<"$out" &&
    pass "an endless loop is still a timeout, the core halted inside it" || fail "loop: rc=$rc $out"
finish
