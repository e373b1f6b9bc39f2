#!/usr/bin/env bash
# test_robust_sim_write.sh - every write of the simulated chip's state file
# is checked (issue 14, finding 4).  With the file size limited (ulimit -f;
# once with SIGXFSZ ignored by the parent, as Python and many process
# supervisors leave it, once at its default, which oflash ignores itself, so
# write() fails with EFBIG instead of the process being killed), `program` must fail
# with a clear message instead of printing "verify ok"; a rerun without the
# limit then completes the chip exactly.
set -uo pipefail
: "${OFLASH:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# 1 KiB of flash data, a 32-byte serial in OTP block 0 and its lock byte.
head -c 1024 /dev/urandom > fw.bin
printf 'ACME-SN-000001\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' > sn.bin
printf '\0' > lock.bin
"$OFLASH" convert fw.bin@0x08000000 sn.bin@0x1FFF7800 lock.bin@0x1FFF7A00 -o all.hex || exit 1

for sig in ignore default; do
  rm -f chip.sim
  "$OFLASH" sim create chip.sim --device STM32F401RE --uid 000102030405060708090A0B >/dev/null || exit 1
  size=$(stat -c %s chip.sim)
  # Room for the base snapshot and a few hundred bytes of journal: the flash
  # data fits, the OTP records do not.
  limit=$(((size + 240) / 1024))
  (
    [ "$sig" = ignore ] && trap '' XFSZ
    ulimit -f "$limit"
    "$OFLASH" program --probe sim:chip.sim --device STM32F401RE --otp all.hex >out 2>err
    echo $? >rc
  )
  rc=$(cat rc)
  if [ "$rc" = 0 ]; then bad "program under ulimit -f exits 0: $(cat out err)"; else ok; fi
  if grep -q "verify ok" out err; then bad "program under ulimit -f reports 'verify ok'"; else ok; fi
  if grep -q "File too large" err && grep -q "was not stored" err; then ok; else
    bad "no clear message about the state file: $(cat err)"; fi
  if grep -q "blocks\? locked" out; then bad "program under ulimit -f reports blocks locked"; else ok; fi

  # The rerun without a limit completes the chip: flash and OTP as in the image.
  if "$OFLASH" program --probe sim:chip.sim --device STM32F401RE --otp all.hex >out 2>err; then ok; else
    bad "rerun failed: $(cat err)"; fi
  "$OFLASH" read --probe sim:chip.sim 0x08000000 1024 -o back.bin 2>err ||
    bad "read: $(cat err)"
  cmp -s fw.bin back.bin && ok || bad "flash after the rerun differs from the image"
  "$OFLASH" sim show chip.sim >show 2>&1
  grep -q "0  0x1FFF7800  data     locked" show && ok || bad "OTP block 0 not data+locked: $(cat show)"
done

echo "test_robust_sim_write: $pass passed, $fail failed"
[ "$fail" = 0 ]
