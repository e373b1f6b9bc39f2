#!/usr/bin/env bash
# Issue 13 findings 2 and 3 on a simulated STM32F401RE: program --plan shows
# OTP without --otp and marks what a run refuses; a rerun of the same image
# without --otp on a chip whose OTP matches succeeds ("already up to date");
# an OTP conflict says in words what the chip holds and what the image holds;
# --skip-otp names the OTP blocks that differ; plurals are right.
source "$(dirname "$0")/../flash/lib.sh"
CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
T=(--probe "sim:$CHIP")
head -c 1024 /dev/urandom >"$WORK/fw.bin"
head -c 1024 /dev/urandom >"$WORK/fw2.bin"
printf 'ACME-SN-000001' >"$WORK/s1.bin"
printf 'ACME-SN-000002' >"$WORK/s2.bin"
printf '\000' >"$WORK/lock.bin"
IMG1=("$WORK/fw.bin@0x08000000" "$WORK/s1.bin@0x1FFF7800" "$WORK/lock.bin@0x1FFF7A00")
IMG2=("$WORK/fw.bin@0x08000000" "$WORK/s2.bin@0x1FFF7800" "$WORK/lock.bin@0x1FFF7A00")
otp() { "$OFLASH" read 0x1FFF7800 0x210 -o "$WORK/otp.$1.bin" "${T[@]}" --quiet; }

# 1. --plan without --otp: the plan with OTP, marked, exit 1, nothing written.
otp before
rc=0; out=$("$OFLASH" program "${IMG1[@]}" "${T[@]}" --plan 2>"$WORK/err") || rc=$?
err=$(cat "$WORK/err")
[ "$rc" = 1 ] && pass "--plan without --otp: exit 1 (a run would refuse)" || fail "--plan rc $rc: $out $err"
grep -q "OTP block 0 at 0x1FFF7800: chip blank, image ACME-SN-000001 + lock: to program  \[REFUSED without --otp\]" <<<"$out" \
    && pass "--plan shows OTP block 0 in words, marked REFUSED" || fail "plan: $out"
grep -q "otp: 14 bytes to program, 0 already equal  \[REFUSED without --otp" <<<"$out" && grep -q "lock: OTP block 0 .*\[REFUSED without --otp\]" <<<"$out" \
    && pass "--plan: OTP bytes and the lock counted and marked" || fail "plan counts: $out"
grep -q "a run without --otp refuses this image: it programs 14 OTP bytes and 1 lock" <<<"$err" \
    && pass "--plan says what a run refuses (1 lock, singular)" || fail "plan err: $err"
otp after; cmp -s "$WORK/otp.before.bin" "$WORK/otp.after.bin" && pass "--plan wrote nothing" || fail "--plan wrote OTP"
# with --otp the same plan is fine
rc=0; out=$("$OFLASH" program "${IMG1[@]}" "${T[@]}" --plan --otp 2>&1) || rc=$?
[ "$rc" = 0 ] && ! grep -q REFUSED <<<"$out" && pass "--plan --otp: exit 0, nothing marked" || fail "--plan --otp: $rc $out"

# 2. Program it, then rerun without --otp: nothing irreversible left -> success.
"$OFLASH" program "${IMG1[@]}" "${T[@]}" --otp >/dev/null 2>&1 || fail "first program"
rc=0; out=$("$OFLASH" program "${IMG1[@]}" "${T[@]}" 2>&1) || rc=$?
[ "$rc" = 0 ] && grep -q "^STM32F401xE: already up to date (1 sector and 14 OTP bytes already hold the image; nothing erased or programmed)" <<<"$out" \
    && pass "rerun without --otp on a matching chip: already up to date, exit 0" || fail "rerun: $rc $out"
rc=0; out=$("$OFLASH" program "${IMG1[@]}" "${T[@]}" --plan 2>&1) || rc=$?
[ "$rc" = 0 ] && grep -q "OTP block 0 at 0x1FFF7800: chip ACME-SN-000001 (locked), image ACME-SN-000001: already holds the image's bytes" <<<"$out" \
    && pass "--plan on the matching chip: exit 0, block 0 already holds it" || fail "plan rerun: $rc $out"

# 3. Another serial: refused in words, nothing written.
otp before
rc=0; out=$("$OFLASH" program "${IMG2[@]}" "${T[@]}" --otp 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "this chip already holds ACME-SN-000001 (OTP block 0 at 0x1FFF7800, locked); the image has ACME-SN-000002" <<<"$out" \
    && pass "conflict: what the chip holds and what the image holds, as text" || fail "conflict: $rc $out"
grep -q "OTP block 0 at 0x1FFF7800: chip ACME-SN-000001 (locked), image ACME-SN-000002: CONFLICT" <<<"$out" \
    && pass "conflict table starts with the block in words" || fail "conflict table: $out"
rc=0; out=$("$OFLASH" program "${IMG2[@]}" "${T[@]}" 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "this chip already holds ACME-SN-000001" <<<"$out" \
    && pass "without --otp the same conflict is named (not only 'needs --otp')" || fail "conflict w/o --otp: $rc $out"
otp after; cmp -s "$WORK/otp.before.bin" "$WORK/otp.after.bin" && pass "conflicts wrote nothing" || fail "conflict wrote OTP"
rc=0; out=$("$OFLASH" program "${IMG2[@]}" "${T[@]}" --plan 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "image ACME-SN-000002: CONFLICT" <<<"$out" && grep -q "^plan for" <<<"$out" \
    && pass "--plan with a conflict: the plan, the block marked CONFLICT, exit 1" || fail "plan conflict: $rc $out"

# 4. --skip-otp over another serial: success, but the differing block named.
rc=0; out=$("$OFLASH" program "$WORK/fw2.bin@0x08000000" "$WORK/s2.bin@0x1FFF7800" "${T[@]}" --skip-otp 2>&1) || rc=$?
[ "$rc" = 0 ] && grep -q "warning: --skip-otp: 1 OTP block of this chip differs from the image" <<<"$out" \
    && grep -q "OTP block 0 at 0x1FFF7800: chip ACME-SN-000001 (locked), image ACME-SN-000002: left out, DIFFERS" <<<"$out" \
    && pass "--skip-otp names the differing block, the chip's and the image's serial" || fail "skip-otp: $rc $out"
grep -q "1 sector erased," <<<"$out" && ! grep -qE "\b1 (sectors|bytes|blocks)\b" <<<"$out" \
    && pass "plurals: 1 sector erased" || fail "plurals: $out"
rc=0; out=$("$OFLASH" program "$WORK/fw2.bin@0x08000000" "$WORK/s1.bin@0x1FFF7800" "${T[@]}" --skip-otp 2>&1) || rc=$?
[ "$rc" = 0 ] && ! grep -q "differ" <<<"$out" && pass "--skip-otp with the chip's own serial: no warning" || fail "skip same: $out"
finish
