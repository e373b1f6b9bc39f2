#!/usr/bin/env bash
# test_robust_output.sh - every write of an output file is checked (issue
# 14, "every write checked"): with the file size limited (ulimit -f) the
# command fails with a clear message, exits 1, and leaves neither a partial
# output file nor a temporary file; an existing output stays as it was.
# Covered: convert -o (HEX and binary), read -o, pack add (the device
# store).  Runs once with SIGXFSZ at its default (oflash ignores it itself,
# so write() fails with EFBIG instead of the process being killed) and once
# with SIGXFSZ ignored by the parent.
set -uo pipefail
: "${OFLASH:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
export XDG_CONFIG_HOME=$work/config

head -c 300000 /dev/urandom > fw.bin
"$OFLASH" convert fw.bin@0x08000000 -o fw.hex || exit 1   # ~850 KB of HEX
mkdir out

# limited KIB SIGNAL CMD...: run with ulimit -f KIB (1 KiB blocks); SIGNAL
# "ignore" ignores SIGXFSZ in the parent first.  Sets rc.
limited() {
  local kib=$1 sig=$2
  shift 2
  (
    [ "$sig" = ignore ] && trap '' XFSZ
    ulimit -f "$kib"
    "$OFLASH" "$@" >stdout 2>err
  )
  rc=$?
}

for sig in default ignore; do
  # convert -o: a HEX output larger than the limit
  echo keep > out/keep.hex
  limited 200 $sig convert fw.hex -o out/keep.hex
  [ "$rc" = 1 ] && ok || bad "convert HEX ($sig): exit $rc: $(cat err)"
  grep -q "out/keep.hex: write failed: File too large (nothing was written" err && ok ||
    bad "convert HEX ($sig): message: $(cat err)"
  [ "$(cat out/keep.hex)" = keep ] && ok || bad "convert HEX ($sig): the existing output changed"
  [ "$(ls out)" = keep.hex ] && ok || bad "convert HEX ($sig): files left behind: $(ls out)"
  limited 200 $sig convert fw.hex -o out/new.bin
  [ "$rc" = 1 ] && grep -q "File too large" err && ok || bad "convert bin ($sig): exit $rc: $(cat err)"
  [ ! -e out/new.bin ] && [ "$(ls out)" = keep.hex ] && ok || bad "convert bin ($sig): left: $(ls out)"

  # read -o: 512 KiB of flash from a simulated chip into a file limited to 200 KiB
  rm -f chip.sim
  "$OFLASH" sim create chip.sim --device STM32F401RE --uid 000102030405060708090A0B >/dev/null
  limited 200 $sig read --probe sim:chip.sim 0x08000000 0x80000 -o out/flash.bin
  [ "$rc" = 1 ] && grep -q "out/flash.bin: write failed: File too large" err && ok ||
    bad "read -o ($sig): exit $rc: $(cat err)"
  [ "$(ls out)" = keep.hex ] && ok || bad "read -o ($sig): files left behind: $(ls out)"

  # pack add: a pack larger than the limit is not left half-copied in the store
  rm -rf pk config
  mkdir pk
  cat > pk/Acme.Big_DFP.pdsc <<'X'
<package><vendor>Acme</vendor><name>Big_DFP</name><devices>
<family Dfamily="Big" Dvendor="Acme:1"><processor Dcore="Cortex-M0"/>
<memory name="RAM" access="rw" start="0x20000000" size="0x2000"/>
<device Dname="BIG1"/></family></devices></package>
X
  head -c 300000 /dev/urandom > pk/blob.bin
  (cd pk && zip -q -0 ../Acme.Big_DFP.1.0.0.pack Acme.Big_DFP.pdsc blob.bin)
  limited 200 $sig pack add Acme.Big_DFP.1.0.0.pack
  [ "$rc" = 1 ] && grep -q "cannot write Acme.Big_DFP.1.0.0.pack into the device store .*File too large (nothing was imported)" err &&
    ok || bad "pack add ($sig): exit $rc: $(cat err)"
  [ -z "$(ls -A config/oflash/devices 2>/dev/null)" ] && ok ||
    bad "pack add ($sig): store holds: $(ls -A config/oflash/devices)"
done

# Without the limit the same commands work (the failures above were the limit).
"$OFLASH" convert fw.hex -o out/keep.hex && cmp -s out/keep.hex fw.hex && ok || bad "convert without limit"
"$OFLASH" pack add Acme.Big_DFP.1.0.0.pack >/dev/null && [ -f config/oflash/devices/Acme.Big_DFP.1.0.0.pack ] &&
  ok || bad "pack add without limit"

echo "test_robust_output: $pass passed, $fail failed"
[ "$fail" = 0 ]
