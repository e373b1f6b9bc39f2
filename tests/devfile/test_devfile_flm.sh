#!/usr/bin/env bash
# test_devfile_flm.sh - device files with real FLM loaders through the CLI:
#  1. builds examples/loader-template with its own Makefile (arm-none-eabi-gcc)
#     and registers it by its device file (devices show, make check);
#  2. `oflash loader check` on good loaders and on broken ones (sectors not
#     covering the declared size, too big for the work RAM, work RAM over
#     the flash it programs, not an FLM at all);
#  3. a third-party style FLM in a .pack: `oflash pack add`, devices show;
#  4. end to end with `oflash program` on the simulated chip: the example
#     programs OTP under the name ACME-SERIAL-F401, the third-party FLM
#     programs main flash, a hanging loader is stopped at its timeout and
#     reported by name and function.  Part 4 needs the program command; a
#     build without it exits 77 (ctest: skipped) after parts 1-3 passed.
set -euo pipefail
: "${OFLASH:?}" "${OFLASH_SRC:?}" "${ARM_CC:?}" "${DEVFILE_FLMS:?}"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export XDG_CONFIG_HOME="$t/cfg"
unset OFLASH_DEVICES
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_fail() { # expect_fail WHAT TEXT CMD...: exit 1 and TEXT on stderr
  local what=$1 text=$2 rc=0
  shift 2
  "$@" >"$t/out" 2>"$t/err" || rc=$?
  [ $rc -eq 1 ] || fail "$what: exit $rc (expected 1): $(cat "$t/err")"
  grep -qF -- "$text" "$t/err" || fail "$what: expected '$text' in: $(cat "$t/err")"
}
readelf=${ARM_READELF:-$(dirname "$ARM_CC")/arm-none-eabi-readelf}

# 1. The example, built the way its README says.
make -s -C "$OFLASH_SRC/examples/loader-template" O="$t/ex" ARM_CC="$ARM_CC" \
  ARM_READELF="$readelf" >"$t/make.log" 2>&1 || fail "example build: $(cat "$t/make.log")"
[ -f "$t/ex/otp_loader.FLM" ] && [ -f "$t/ex/acme-serial.xml" ] || fail "example outputs"
out=$("$OFLASH" devices show ACME-SERIAL --devices "$t/ex/acme-serial.xml")
grep -q 'ACME-SERIAL-F401 (Example, Cortex-M4)' <<<"$out" || fail "show: $out"
grep -q "serial     0x1FFF7800-0x1FFF79FF    512 B  flash    page 32, erased 0xFF, loader $t/ex/otp_loader.FLM" <<<"$out" || fail "show bank: $out"
grep -q '16 x 32 B at 0x1FFF7800 (sectors 0-15)' <<<"$out" || fail "show sectors: $out"
make -s -C "$OFLASH_SRC/examples/loader-template" O="$t/ex" ARM_CC="$ARM_CC" \
  ARM_READELF="$readelf" OFLASH="$OFLASH" check >"$t/check.log" 2>&1 || fail "make check: $(cat "$t/check.log")"
grep -q '^check:     ok$' "$t/check.log" || fail "make check output: $(cat "$t/check.log")"

# 2. loader check.
out=$("$OFLASH" loader check "$t/ex/otp_loader.FLM")
grep -q 'device:    "STM32F401 OTP (oflash example loader)"' <<<"$out" || fail "check name: $out"
grep -q 'address:   0x1FFF7800-0x1FFF79FF (512 B)' <<<"$out" || fail "check address"
grep -q 'timeouts:  program 100 ms, erase 100 ms' <<<"$out" || fail "check timeouts"
grep -q 'sectors:   16 x 32 B at +0x0' <<<"$out" || fail "check sectors"
grep -q 'functions: Init UnInit EraseSector ProgramPage BlankCheck Verify' <<<"$out" || fail "check functions: $out"
grep -q 'SEGGER:    none' <<<"$out" || fail "check segger"
grep -q 'check:     ok (FLM only' <<<"$out" || fail "check verdict"
out=$("$OFLASH" loader check "$OFLASH_BUILD/loaders/stm32f4.flm" --device STM32F401RE)
grep -q 'SEGGER:    SEGGER_OPEN_Program SEGGER_OPEN_Erase SEGGER_OPEN_Read SEGGER_OPEN_CalcCRC' <<<"$out" || fail "stm32f4 segger: $out"
grep -q 'target:    STM32F401xE flash 0x08000000-0x0807FFFF (512 KiB), work RAM 0x20000000 (96 KiB)' <<<"$out" || fail "stm32f4 target: $out"
grep -q '^check:     ok$' <<<"$out" || fail "stm32f4 verdict"
out=$("$OFLASH" loader check "$DEVFILE_FLMS/tp_plain.flm" --device STM32F401RE --bank flash)
grep -q 'RAM:       code [0-9]* B, data 4108 B, BSS 0 B' <<<"$out" || fail "tp RAM: $out"
grep -q 'page:      512 B' <<<"$out" || fail "tp page"
expect_fail "bad cover" "sectors do not cover its declared size" \
  "$OFLASH" loader check "$DEVFILE_FLMS/tp_BAD_COVER.flm"
grep -q '^check:     REFUSED' "$t/out" || fail "bad cover verdict"
expect_fail "huge" "loader does not fit the device's work RAM" \
  "$OFLASH" loader check "$DEVFILE_FLMS/tp_HUGE.flm" --device STM32F401RE
cat >"$t/ov.xml" <<'X'
<DataBase><Device><ChipInfo Name="OVERLAP" WorkRAMAddr="0x08070000" WorkRAMSize="0x18000"/></Device></DataBase>
X
expect_fail "overlap" "work RAM 0x08070000-0x08087FFF overlaps the flash it programs 0x08000000-0x0807FFFF" \
  "$OFLASH" loader check "$DEVFILE_FLMS/tp_plain.flm" --device OVERLAP --devices "$t/ov.xml"
printf 'not an elf at all' >"$t/junk.FLM"
expect_fail "junk" "junk.FLM" "$OFLASH" loader check "$t/junk.FLM"
set +e
"$OFLASH" loader check >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "loader check without file: exit $rc"

# 3. A third-party pack: pdsc + FLM, zipped with zip(1), imported.
mkdir -p "$t/pk/Flash"
cp "$DEVFILE_FLMS/tp_plain.flm" "$t/pk/Flash/TP_512.FLM"
cat >"$t/pk/Third.TP_DFP.pdsc" <<'X'
<?xml version="1.0" encoding="UTF-8"?>
<package schemaVersion="1.7">
  <vendor>Third</vendor><name>TP_DFP</name>
  <devices>
    <family Dfamily="TP F4" Dvendor="Third Party:1">
      <processor Dcore="Cortex-M4"/>
      <memory name="Flash" access="rx" start="0x08000000" size="0x80000" default="1" startup="1"/>
      <memory name="SRAM" access="rwx" start="0x20000000" size="0x18000" default="1"/>
      <algorithm name="Flash/TP_512.FLM" start="0x08000000" size="0x80000" RAMstart="0x20000000" RAMsize="0x8000" default="1"/>
      <subFamily DsubFamily="TP401"><device Dname="TP-F401RE"/></subFamily>
    </family>
  </devices>
</package>
X
(cd "$t/pk" && zip -q -r "$t/Third.TP_DFP.1.0.0.pack" .)
"$OFLASH" pack add "$t/Third.TP_DFP.1.0.0.pack" >"$t/out" || fail "pack add"
grep -q 'imported 1 device from' "$t/out" || fail "pack add output: $(cat "$t/out")"
out=$("$OFLASH" devices show TP-F401RE)
grep -q "Flash      0x08000000-0x0807FFFF  512 KiB  flash    page 512, erased 0xFF, loader $t/cfg/oflash/devices/Third.TP_DFP.1.0.0.pack:Flash/TP_512.FLM" <<<"$out" || fail "pack show: $out"
grep -q 'work RAM: 0x20000000-0x20007FFF (32 KiB)' <<<"$out" || fail "pack RAMstart/RAMsize: $out"
grep -q '3 x 128 KiB at 0x08020000 (sectors 5-7)' <<<"$out" || fail "pack sectors: $out"

# 4. End to end through `oflash program` on the simulated chip.
if ! "$OFLASH" program --help >/dev/null 2>&1; then
  echo "test_devfile_flm: parts 1-3 ok; 'oflash program' is not in this build: end to end skipped"
  exit 77
fi
"$OFLASH" sim create "$t/chip.sim" --device STM32F401RE >/dev/null
export OFLASH_DEVICES="$t/ex/acme-serial.xml"
# The serial: 40 bytes at OTP block 0 and 1, as Intel HEX.
python3 - "$t/serial.bin" <<'P'
import sys
open(sys.argv[1], "wb").write(bytes((0xA0 + i) & 0xFF for i in range(40)))
P
"$OFLASH" convert "$t/serial.bin@0x1FFF7800" -o "$t/serial.hex"
"$OFLASH" program "$t/serial.hex" --device ACME-SERIAL-F401 --probe "sim:$t/chip.sim" \
  >"$t/prog.out" 2>"$t/prog.err" || fail "program via example loader: $(cat "$t/prog.err")"
"$OFLASH" sim show "$t/chip.sim" --json >"$t/show.json"
python3 - "$t/show.json" <<'P' || fail "OTP blocks after program: $(cat "$t/show.json")"
import json, sys
s = json.load(open(sys.argv[1]))
blank = [b["blank"] for b in s["otp"]]
assert blank == [False, False] + [True] * 14, blank
assert s["blank_sectors"] == list(range(8)), s["blank_sectors"]  # main flash untouched
P
# The bytes themselves, read back by oflash's own means.
"$OFLASH" verify "$t/serial.hex" --device ACME-SERIAL-F401 --probe "sim:$t/chip.sim" \
  >/dev/null 2>"$t/verify.err" || fail "verify OTP: $(cat "$t/verify.err")"
if "$OFLASH" read --help >/dev/null 2>&1; then
  "$OFLASH" read 0x1FFF7800 64 -o "$t/otp.bin" --device STM32F401RE --probe "sim:$t/chip.sim" \
    2>"$t/read.err" || fail "read OTP: $(cat "$t/read.err")"
  python3 - "$t/otp.bin" <<'P' || fail "OTP contents"
import sys
raw = open(sys.argv[1], "rb").read()
assert raw == bytes((0xA0 + i) & 0xFF for i in range(40)) + b"\xff" * 24, raw.hex()
P
fi
# Again: nothing to do, nothing changes.
"$OFLASH" program "$t/serial.hex" --device ACME-SERIAL --probe "sim:$t/chip.sim" \
  >"$t/prog2.out" 2>"$t/prog2.err" || fail "second program: $(cat "$t/prog2.err")"

# Kind="otp" (oflash extension): the same loader, but the bank gets the OTP
# rules of `oflash program`: nothing without --otp, then written once.
"$OFLASH" sim create "$t/chip2.sim" --device STM32F401RE >/dev/null
sed 's/AlwaysPresent="1"/AlwaysPresent="1" Kind="otp"/' "$t/ex/acme-serial.xml" >"$t/ex/acme-otp.xml"
grep -q 'Kind="otp"' "$t/ex/acme-otp.xml" || fail "Kind edit"
expect_fail "otp kind without --otp" "--otp" env OFLASH_DEVICES="$t/ex/acme-otp.xml" \
  "$OFLASH" program "$t/serial.hex" --device ACME-SERIAL --probe "sim:$t/chip2.sim"
"$OFLASH" sim show "$t/chip2.sim" --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["otp"][0]["blank"]' || fail "OTP written without --otp"
OFLASH_DEVICES="$t/ex/acme-otp.xml" "$OFLASH" program "$t/serial.hex" --device ACME-SERIAL \
  --probe "sim:$t/chip2.sim" --otp --json >"$t/otp1.json" 2>"$t/err" || fail "otp kind: $(cat "$t/err")"
OFLASH_DEVICES="$t/ex/acme-otp.xml" "$OFLASH" program "$t/serial.hex" --device ACME-SERIAL \
  --probe "sim:$t/chip2.sim" --otp --json >"$t/otp2.json" 2>"$t/err" || fail "otp kind rerun: $(cat "$t/err")"
python3 - "$t/otp1.json" "$t/otp2.json" <<'P' || fail "otp kind counts: $(cat "$t/otp1.json" "$t/otp2.json")"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["otp_bytes_programmed"] == 40 and a["verify"] == "ok", a
assert b["otp_bytes_programmed"] == 0 and b["sectors_erased"] == 0, b
P

# The third-party FLM from the imported pack programs main flash.
python3 - "$t/app.bin" <<'P'
import sys
open(sys.argv[1], "wb").write(bytes((i * 7 + 3) & 0xFF for i in range(3000)))
P
unset OFLASH_DEVICES
"$OFLASH" convert "$t/app.bin@0x08004000" -o "$t/app.hex"
"$OFLASH" program "$t/app.hex" --device TP-F401RE --probe "sim:$t/chip.sim" \
  >"$t/prog3.out" 2>"$t/prog3.err" || fail "program via third-party FLM: $(cat "$t/prog3.err")"
"$OFLASH" verify "$t/app.hex" --device TP-F401RE --probe "sim:$t/chip.sim" >/dev/null 2>"$t/verify.err" \
  || fail "verify after third-party program: $(cat "$t/verify.err")"

# A loader that hangs: stopped at its timeout, named with its function.
cat >"$t/hang.xml" <<X
<DataBase><Device>
  <ChipInfo Name="HANG-F401" WorkRAMAddr="0x20000000" WorkRAMSize="0x18000"/>
  <FlashBankInfo Name="flash" BaseAddr="0x08000000" MaxSize="0x80000" Loader="$DEVFILE_FLMS/tp_HANG.flm"/>
</Device></DataBase>
X
# Sector 5 gets data through the built-in loader first, so that new data
# there needs an erase (blank sectors are not erased).
python3 - "$t/one.bin" "$t/two.bin" <<'P'
import sys
open(sys.argv[1], "wb").write(b"\x5a" * 64)
open(sys.argv[2], "wb").write(b"\xa5" * 64)
P
"$OFLASH" convert "$t/one.bin@0x08020000" -o "$t/one.hex"
"$OFLASH" convert "$t/two.bin@0x08020000" -o "$t/two.hex"
"$OFLASH" program "$t/one.hex" --device STM32F401RE --probe "sim:$t/chip.sim" >/dev/null 2>"$t/err" \
  || fail "program sector 5: $(cat "$t/err")"
expect_fail "hanging loader" "erasing the sector at 0x08020000 did not finish" env OFLASH_DEVICES="$t/hang.xml" timeout 60 \
  "$OFLASH" program "$t/two.hex" --device HANG-F401 --probe "sim:$t/chip.sim"
grep -q "EraseSector" "$t/err" && fail "hang: the loader's function name without -v: $(cat "$t/err")"
# -v adds the internal detail: the loader call
expect_fail "hanging loader, -v" "detail: EraseSector(0x8020000) did not return" env OFLASH_DEVICES="$t/hang.xml" timeout 60 \
  "$OFLASH" -v program "$t/two.hex" --device HANG-F401 --probe "sim:$t/chip.sim"
grep -qF "tp_HANG.flm" "$t/err" || fail "hang: loader not named: $(cat "$t/err")"
grep -qiE "did not return|time" "$t/err" || fail "hang: no timeout: $(cat "$t/err")"
echo "test_devfile_flm: ok"
