#!/usr/bin/env bash
# oflash help CMD, --version in the help, --listen PORT is loopback,
# otp lock 16 is a usage error, full order codes resolve to their part,
# oflash reset [--halt], program --run.
source "$(dirname "$0")/../flash/lib.sh"
CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
T=(--probe "sim:$CHIP")

a=$("$OFLASH" help program); b=$("$OFLASH" program --help)
[ -n "$a" ] && [ "$a" = "$b" ] && pass "oflash help program = oflash program --help" || fail "help CMD"
rc=0; "$OFLASH" help nosuch >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass "oflash help nosuch: usage error" || fail "help nosuch rc=$rc"
# Here-strings, not `cmd | grep -q` (pipefail: grep leaving at its match
# can make cmd's next write fail with SIGPIPE, exit 141).
grep -q -- "--version" <<<"$("$OFLASH" --help)" && pass "--version is listed in the help" || fail "--version not listed"

# --listen PORT: loopback only.  The port is picked, so another test may
# take it before the server binds it: wait_listen sees whether THIS server
# listens there (not another test's), else a fresh port is tried.
GP=
for _ in 1 2 3 4 5; do
    P=$(pick_port)
    "$OFLASH" gdbserver "${T[@]}" --listen "$P" >"$WORK/gs.log" 2>&1 &
    GP=$!
    wait_listen "$P" "$GP" && break
    stop_pid "$GP"; GP=
done
[ -n "$GP" ] && PIDS+=("$GP") && pass "gdbserver --listen $P listens" || fail "no listen: $(cat "$WORK/gs.log")"
grep -q "listening on 127.0.0.1:$P " "$WORK/gs.log" && pass "--listen PORT means 127.0.0.1:PORT" || fail "listen: $(cat "$WORK/gs.log")"
SS=$(ss -ltn)
grep -q "127.0.0.1:$P " <<<"$SS" && ! grep -q "0.0.0.0:$P " <<<"$SS" && pass "bound to loopback only (ss)" || fail "bound: $(ss -ltn | grep ":$P ")"
stop_pid "$GP"

# otp lock 16 on a part with blocks 0..15: usage error, nothing written
rc=0; out=$("$OFLASH" otp lock 16 --yes "${T[@]}" 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q "otp lock 16: STM32F401xE has OTP blocks 0..15" <<<"$out" && pass "otp lock 16: exit 2, names the range" || fail "otp lock 16: $rc $out"
! grep -q locked <<<"$("$OFLASH" otp "${T[@]}")" && pass "nothing locked" || fail "locked"

# full order code
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"
out=$("$OFLASH" program "$WORK/fw.hex" "${T[@]}" --device STM32F401RET6 2>&1) && grep -q "^STM32F401xE:" <<<"$out" \
    && pass "--device STM32F401RET6 resolves to STM32F401xE" || fail "order code: $out"
rc=0; out=$("$OFLASH" program "$WORK/fw.hex" "${T[@]}" --device STM32F401RETX 2>&1) || rc=$?
[ "$rc" != 0 ] && pass "a non-order-code name is still refused" || fail "STM32F401RETX accepted"

# reset --halt: SP and PC from the firmware's vector table; reset: runs
SP0=$(arm-none-eabi-objdump -s -j .isr_vector "$WORK/fw.elf" | awk '/ 8000000 /{print $2}')
SPX=$(printf '0x%s%s%s%s' "${SP0:6:2}" "${SP0:4:2}" "${SP0:2:2}" "${SP0:0:2}")
out=$("$OFLASH" reset --halt "${T[@]}")
grep -qi "halted at the reset vector: SP $SPX" <<<"$out" && pass "reset --halt: SP from the vector table ($SPX)" || fail "reset --halt: $out (want $SPX)"
out=$("$OFLASH" reset "${T[@]}")
grep -q "reset: running from 0x0800" <<<"$out" && pass "reset: the firmware runs" || fail "reset: $out"
out=$("$OFLASH" program "$WORK/fw.hex" "${T[@]}" --run 2>&1)
grep -q "reset: running from 0x0800" <<<"$out" && pass "program --run resets and starts the firmware" || fail "program --run: $out"
rc=0; "$OFLASH" reset --bogus "${T[@]}" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass "reset --bogus: usage error" || fail "reset bogus rc=$rc"
finish
