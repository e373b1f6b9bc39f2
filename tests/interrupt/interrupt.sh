#!/usr/bin/env bash
# A real SIGINT (timeout --preserve-status -s INT) in the middle of `oflash erase --all`,
# `oflash program` and `oflash run` on a simulated chip.  The simulated chip
# is fast, so strace slows the process down: every write into the chip file
# (the simulator stores each flash operation's result there when the
# operation's run ends) waits 300 ms, which puts the signal in the middle of
# the operation.  Checks: exit 130, the message says what was done
# and what not, every sector is either untouched or complete (never half
# erased / half programmed), OTP untouched, and a rerun completes the work.
source "$(dirname "$0")/../flash/lib.sh"
command -v strace >/dev/null || { echo "FAIL: strace is missing (scripts/install-deps.sh)"; exit 1; }
# LeakSanitizer cannot run under ptrace: no leak check for the traced runs
# (in a sanitizer build; every other run keeps it).
NOLEAK="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
writes() { grep -c 'pwrite64(' "$WORK/trace" 2>/dev/null || true; }
# sigint_after WHAT N CMD...: run CMD slowed down; SIGINT to it (by PID)
# after its Nth write into the chip file (WHAT = writes: flash changed),
# i.e. at a known point of its work; sets OUT and RC.
sigint_after() {
    local what=$1 n=$2 sp op; shift 2
    : >"$WORK/trace"
    env "$NOLEAK" strace -f -qq -o "$WORK/trace" -e trace=pwrite64 -e inject=pwrite64:delay_enter=300000 "$@" \
        >"$WORK/out" 2>&1 &
    sp=$!
    for _ in $(seq 1200); do [ "$($what)" -ge "$n" ] && break; sleep 0.05; done
    op=$(pgrep -P "$sp" | head -1)   # oflash, the child of strace
    [ -n "$op" ] && kill -INT "$op"
    RC=0; wait "$sp" || RC=$?
    OUT=$(cat "$WORK/out")
}
# sectors of an F401xE: 4x16K, 64K, 3x128K
SECT=(0:16384 16384:16384 32768:16384 49152:16384 65536:65536 131072:131072 262144:131072 393216:131072)

CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
T=(--probe "sim:$CHIP")
build_fw big -DBIGDATA_KB=300
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/big.elf" "$WORK/big.hex"
"$ARM_OBJCOPY" -O binary -R .otp -R .otp_lock "$WORK/big.elf" "$WORK/big.bin"
"$OFLASH" program "$WORK/big.hex" "${T[@]}" -q || { echo "FAIL: first program"; exit 1; }
"$OFLASH" read 0x08000000 0x80000 -o "$WORK/full.bin" "${T[@]}" -q

# each sector of FILE is either all 0xFF or equal to the same sector of REF
consistent() { # consistent FILE REF -> prints "B" (blank) or "D" (data) per sector
    python3 - "$1" "$2" <<'PY'
import sys
a = open(sys.argv[1], "rb").read(); r = open(sys.argv[2], "rb").read()
out = ""
for off, size in [(0,16384),(16384,16384),(32768,16384),(49152,16384),(65536,65536),(131072,131072),(262144,131072),(393216,131072)]:
    s = a[off:off+size]
    if s == b"\xff" * size: out += "B"
    elif s == r[off:off+size]: out += "D"
    else: out += "X"
print(out)
PY
}

# ---- erase --all, SIGINT after the 4th sector's erase is stored
sigint_after writes 4 "$OFLASH" erase --all "${T[@]}"; rc=$RC; out=$OUT
echo "$out" | tail -4
[ "$rc" = 130 ] && pass "erase: SIGINT -> exit 130" || fail "erase: exit $rc: $out"
grep -q "interrupted: [1-7] of 8 sectors erased; not erased:" <<<"$out" && pass "erase says what was erased and what not" || fail "erase message: $out"
grep -q "run the same command again" <<<"$out" && pass "erase says a rerun completes it" || fail "rerun hint"
"$OFLASH" read 0x08000000 0x80000 -o "$WORK/e1.bin" "${T[@]}" -q
st=$(consistent "$WORK/e1.bin" "$WORK/full.bin")
[[ $st =~ ^B[BD]*$ && $st != *X* ]] && pass "erase: sectors erased in order, none half erased ($st)" || fail "erase state $st"
"$OFLASH" erase --all "${T[@]}" -q && "$OFLASH" read 0x08000000 0x80000 -o "$WORK/e2.bin" "${T[@]}" -q
[ "$(consistent "$WORK/e2.bin" "$WORK/full.bin")" = BBBBBBBB ] && pass "erase rerun completes: all blank" || fail "erase rerun"

# ---- program, SIGINT while writing (between sectors)
"$OFLASH" program "$WORK/big.hex" "${T[@]}" -q
"$OFLASH" erase --sector 0,1,2,3,4,5 "${T[@]}" -q   # 6 sectors to write again
# the signal lands once the first block of flash is written
sigint_after writes 1 "$OFLASH" program "$WORK/big.hex" "${T[@]}"; rc=$RC; out=$OUT
echo "$out" | tail -3
[ "$rc" = 130 ] && pass "program: SIGINT -> exit 130" || fail "program: exit $rc: $out"
grep -q "interrupted: [0-9]* sectors\? written, [1-9][0-9]* sectors\? and 0 OTP bytes and 0 locks not written" <<<"$out" \
    && pass "program says what was written and what not" || fail "program message: $out"
grep -q "core halted; run the same command again" <<<"$out" && pass "program: core halted, rerun hint" || fail "program hint"
"$OFLASH" read 0x08000000 0x80000 -o "$WORK/p1.bin" "${T[@]}" -q
st=$(consistent "$WORK/p1.bin" "$WORK/full.bin")
[[ $st == D* && $st != *X* ]] && pass "program: every sector untouched-blank or complete ($st)" || fail "program state $st"
out=$("$OFLASH" program "$WORK/big.hex" "${T[@]}" 2>&1) || fail "program rerun: $out"
"$OFLASH" read 0x08000000 0x80000 -o "$WORK/p2.bin" "${T[@]}" -q
cmp -s "$WORK/p2.bin" "$WORK/full.bin" && pass "program rerun completes: flash equals the image" || fail "program rerun contents"
o=$("$OFLASH" otp "${T[@]}")
! grep -q "locked" <<<"$o" && pass "OTP untouched" || fail "OTP changed"

# ---- run: a routine that never ends, SIGINT -> registers where it stopped
printf '\x01\x30\xfd\xe7' >"$WORK/spin.bin"   # adds r0, #1; b.n back
rc=0
out=$(timeout --preserve-status -s INT 1.5 "$OFLASH" run "${T[@]}" --load "$WORK/spin.bin@0x20000000" --pc 0x20000001 \
      --sp 0x20008000 --timeout 30 2>&1) || rc=$?
echo "$out" | head -3
[ "$rc" = 130 ] && pass "run: SIGINT -> exit 130" || fail "run: exit $rc: $out"
grep -q "stopped: interrupted at 0x2000000[02]" <<<"$out" && grep -q "^r0   0x" <<<"$out" \
    && pass "run prints the registers where it stopped" || fail "run regs: $out"
r0=$(sed -nE 's/^r0   0x([0-9A-F]+).*/\1/p' <<<"$out")
[ -n "$r0" ] && [ $((16#$r0)) -gt 1000 ] && pass "the routine ran until the signal (r0 = 0x$r0)" || fail "r0 $r0"
# ---- gdbserver: SIGINT in the middle of a GDB load's vFlashDone.  The load
# runs to its end (never cut inside its erase/program/OTP/lock writes),
# then the server stops, halts the core, says so and exits 130.
source "$(dirname "$0")/../lib/ports.sh"
"$ARM_OBJCOPY" -R .otp -R .otp_lock "$WORK/big.elf" "$WORK/big-flash.elf" 2>/dev/null
"$OFLASH" erase --sector 0,1,2,3,4,5 "${T[@]}" -q
: >"$WORK/trace"
env "$NOLEAK" strace -f -qq -o "$WORK/trace" -e trace=pwrite64 -e inject=pwrite64:delay_enter=300000 \
    "$OFLASH" gdbserver "${T[@]}" --listen 127.0.0.1:0 >"$WORK/gs.out" 2>&1 &
sp=$!; PIDS+=("$sp")
GP=$(listen_port "$WORK/gs.out" "$sp") || fail "gdbserver did not listen: $(cat "$WORK/gs.out")"
timeout 120 gdb-multiarch -batch -nx -ex "target remote 127.0.0.1:$GP" -ex "load" "$WORK/big-flash.elf" \
    >"$WORK/gdb.out" 2>&1 &
gp=$!
n0=$(writes)
for _ in $(seq 1200); do [ "$(writes)" -gt "$n0" ] && break; sleep 0.05; done   # flash is changing
op=$(pgrep -P "$sp" | head -1)
[ -n "$op" ] && kill -INT "$op"
wait "$gp" || true   # gdb may report the connection closed after the load
RC=0; wait "$sp" || RC=$?
out=$(cat "$WORK/gs.out")
echo "$out" | tail -3; tail -3 "$WORK/gdb.out"
[ "$RC" = 130 ] && pass "gdbserver: SIGINT -> exit 130" || fail "gdbserver: exit $RC: $out"
grep -q "interrupted (SIGINT): stopped at a safe point" <<<"$out" && grep -q "core halted" <<<"$out" \
    && pass "gdbserver says it stopped at a safe point with the core halted" || fail "gdbserver message: $out"
grep -q "vFlashDone: [0-9]* sectors\? erased, .* bytes programmed" <<<"$out" && pass "the load finished before the stop (vFlashDone logged)" || fail "no vFlashDone: $out"
# the signal was sent after the first write into the chip file, i.e. inside vFlashDone
[ "$(writes)" -gt "$((n0 + 1))" ] && pass "more flash writes followed the signal: the load went on" || fail "writes $(writes)"
"$OFLASH" read 0x08000000 0x80000 -o "$WORK/g1.bin" "${T[@]}" -q
cmp -s "$WORK/g1.bin" "$WORK/full.bin" && pass "gdbserver: the load in progress ran to its end (flash = image)" \
    || fail "gdbserver: flash after the interrupted load: $(consistent "$WORK/g1.bin" "$WORK/full.bin")"
finish
