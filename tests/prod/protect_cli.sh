#!/usr/bin/env bash
# oflash protect: shows the level; a change is a plan without --yes; level 2
# needs --allow-rdp2 (refused before connecting); level 1 makes `oflash
# read` of flash fail as on silicon; 1 -> 0 needs --allow-mass-erase and
# erases main flash.
source "$(dirname "$0")/../flash/lib.sh"
CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
T=(--probe "sim:$CHIP")
head -c 4096 /dev/urandom >"$WORK/fw.bin"
"$OFLASH" program "$WORK/fw.bin@0x08000000" "${T[@]}" -q
level() { "$OFLASH" protect "${T[@]}" | sed -n 's/^readout protection: level \([0-9]\).*/\1/p'; }

[ "$(level)" = 0 ] && pass "a new chip is at level 0" || fail "level: $(level)"

rc=0; out=$("$OFLASH" protect "${T[@]}" --rdp 1 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "plan: readout protection level 0 .* -> level 1" <<<"$out" &&
    grep -q "nothing was changed (a plan only); add --yes" <<<"$out" &&
    [ "$(level)" = 0 ] && pass "--rdp 1 without --yes: plan only, exit 1, level 0" || fail "plan: $rc $out"

rc=0; out=$("$OFLASH" protect "${T[@]}" --rdp 2 --yes 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q "add --allow-rdp2" <<<"$out" && [ "$(level)" = 0 ] &&
    pass "--rdp 2 --yes without --allow-rdp2: usage error, nothing written" || fail "rdp2: $rc $out"

out=$("$OFLASH" protect "${T[@]}" --rdp 1 --yes 2>&1)
grep -q "readout protection is now level 1" <<<"$out" && [ "$(level)" = 1 ] &&
    pass "--rdp 1 --yes sets level 1" || fail "rdp1: $out"

rc=0; out=$("$OFLASH" read 0x08000000 16 -o "$WORK/out.bin" "${T[@]}" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "read protection level 1 is active" <<<"$out" && [ ! -e "$WORK/out.bin" ] &&
    pass "oflash read of flash fails at level 1, no file written" || fail "read: $rc $out"
"$OFLASH" read 0x1FFF7800 32 -o "$WORK/otp.bin" "${T[@]}" -q &&
    pass "OTP still reads at level 1" || fail "OTP read"

rc=0; out=$("$OFLASH" protect "${T[@]}" --rdp 0 --yes 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "ERASES ALL OF MAIN FLASH" <<<"$out" && grep -q "add --allow-mass-erase" <<<"$out" &&
    [ "$(level)" = 1 ] && pass "--rdp 0 without --allow-mass-erase: refused, still level 1" || fail "rdp0: $rc $out"

"$OFLASH" protect "${T[@]}" --rdp 0 --yes --allow-mass-erase -q
[ "$(level)" = 0 ] && pass "--rdp 0 --allow-mass-erase --yes: level 0" || fail "level after 0: $(level)"
"$OFLASH" read 0x08000000 4096 -o "$WORK/back.bin" "${T[@]}" -q
if cmp -s "$WORK/back.bin" <(head -c 4096 /dev/zero | tr '\0' '\377'); then
    pass "lowering to level 0 mass-erased the flash"
else
    fail "flash not erased"
fi
rc=0; "$OFLASH" protect "${T[@]}" --rdp 3 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass "--rdp 3: usage error" || fail "rdp 3 rc=$rc"
finish
