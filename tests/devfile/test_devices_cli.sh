#!/usr/bin/env bash
# test_devices_cli.sh - `oflash devices` (list, PATTERN, show, --paths,
# --json, --devices) and `oflash pack add` through the CLI.
set -euo pipefail
: "${OFLASH:?}"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export XDG_CONFIG_HOME="$t/cfg"
unset OFLASH_DEVICES
fail() { echo "FAIL: $*" >&2; exit 1; }

# Built-ins, filtered by substring and by glob.
out=$("$OFLASH" devices)
grep -q '^STM32F401xE .*built-in' <<<"$out" || fail "list: $out"
# Every built-in part is listed once: as many lines as `devices --paths` counts.
n=$("$OFLASH" devices --paths | sed -n 's/.*built-in.*(\([0-9][0-9]*\) devices).*/\1/p')
[ -n "$n" ] && [ "$n" -ge 10 ] && [ "$(grep -c built-in <<<"$out")" -eq "$n" ] ||
    fail "expected $n built-ins: $out"
out=$("$OFLASH" devices f401)
[ "$(tail -n +2 <<<"$out" | wc -l)" -eq 4 ] || fail "pattern f401: $out"
out=$("$OFLASH" devices 'STM32F4?7*')
grep -q STM32F407xG <<<"$out" && ! grep -q STM32F401 <<<"$out" || fail "glob: $out"
if "$OFLASH" devices NOSUCHPART >/dev/null 2>"$t/err"; then fail "no match should fail"; fi
grep -q "no device matches 'NOSUCHPART'" "$t/err" || fail "no-match message"

# show: the memory map.
out=$("$OFLASH" devices show stm32f401re)
grep -q '^STM32F401xE (STMicroelectronics, Cortex-M4)' <<<"$out" || fail "show header: $out"
grep -q 'flash      0x08000000-0x0807FFFF  512 KiB' <<<"$out" || fail "show flash: $out"
grep -q '3 x 128 KiB at 0x08020000 (sectors 5-7)' <<<"$out" || fail "show sectors: $out"
grep -q 'otp        0x1FFF7800-0x1FFF79FF' <<<"$out" || fail "show otp: $out"
grep -q 'DEV_ID 0x433' <<<"$out" || fail "show id: $out"
"$OFLASH" devices show STM32F429ZI --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
f=[b for b in d["banks"] if b["name"]=="flash"][0]
assert d["name"]=="STM32F429xI" and f["size"]==2*1024*1024 and len(f["sectors"])==24, d
assert f["sectors"][12]==[0x08100000,16384]
' || fail "show --json"
set +e
"$OFLASH" devices show NOPE 2>"$t/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "unknown device 'NOPE'" "$t/err" || fail "show unknown: rc $rc"
set +e
"$OFLASH" devices show 2>/dev/null; rc=$?
set -e
[ $rc -eq 2 ] || fail "show without name: rc $rc"

# A device file extending a built-in and adding a new part.
cat >"$t/mine.xml" <<'X'
<DataBase>
  <Device><ChipInfo Name="STM32F401RE" Aliases="MYBOARD"/></Device>
  <Device><ChipInfo Vendor="Me" Name="MYPART" Core="JLINK_CORE_CORTEX_M33"
    WorkRAMAddr="0x20000000" WorkRAMSize="0x4000"/></Device>
</DataBase>
X
out=$("$OFLASH" devices --devices "$t/mine.xml" MYBOARD)
grep -q "^STM32F401xE .*mine.xml extends STM32F401xE" <<<"$out" || fail "extends: $out"
[ "$(tail -n +2 <<<"$out" | wc -l)" -eq 1 ] || fail "extended part listed once: $out"
out=$("$OFLASH" devices show myPart --devices "$t/mine.xml")
grep -q 'MYPART (Me, Cortex-M33)' <<<"$out" || fail "new part: $out"
grep -q 'id check: none declared' <<<"$out" || fail "no id: $out"

# --paths: --devices, $OFLASH_DEVICES, the store, built-in, in that order.
mkdir -p "$t/envdir"
cp "$t/mine.xml" "$t/envdir/"
OFLASH_DEVICES="$t/envdir" "$OFLASH" devices --paths --devices "$t/mine.xml" >"$t/paths"
sed -n 1p "$t/paths" | grep -q -- "--devices .*mine.xml (2 devices)" || fail "paths 1: $(cat "$t/paths")"
sed -n 2p "$t/paths" | grep -q '\$OFLASH_DEVICES .*envdir (2 devices)' || fail "paths 2"
sed -n 3p "$t/paths" | grep -q "config .*cfg/oflash/devices \[missing\]" || fail "paths 3"
sed -n 4p "$t/paths" | grep -q "built-in .*($n devices)" || fail "paths 4"

# Bad device file: clear error with file:line, exit 1.
printf '<DataBase>\n<Device>\n<ChipInfo Name="X" WorkRAMSize="lots"/>\n</Device>\n</DataBase>\n' >"$t/bad.xml"
set +e
"$OFLASH" devices --devices "$t/bad.xml" 2>"$t/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'bad.xml:3: device .X.: <ChipInfo WorkRAMSize="lots">' "$t/err" || fail "bad file: $(cat "$t/err")"

# pack add: a .pack made with zip(1) lands in the store and is listed from there.
mkdir -p "$t/pk"
cat >"$t/pk/Acme.Mini_DFP.pdsc" <<'X'
<package><vendor>Acme</vendor><name>Mini_DFP</name><devices>
<family Dfamily="Mini" Dvendor="Acme:1"><processor Dcore="Cortex-M0"/>
<memory name="RAM" access="rw" start="0x20000000" size="0x2000"/>
<device Dname="MINI1"/></family></devices></package>
X
(cd "$t/pk" && zip -q "$t/Acme.Mini_DFP.1.0.0.pack" Acme.Mini_DFP.pdsc)
"$OFLASH" pack add "$t/Acme.Mini_DFP.1.0.0.pack" >"$t/out"
grep -q "imported 1 device" "$t/out" || fail "pack add: $(cat "$t/out")"
[ -f "$t/cfg/oflash/devices/Acme.Mini_DFP.1.0.0.pack" ] || fail "pack not in store"
out=$("$OFLASH" devices MINI)
grep -q "^MINI1 .*cfg/oflash/devices/Acme.Mini_DFP.1.0.0.pack" <<<"$out" || fail "store: $out"
printf 'PK\003\004junk' >"$t/junk.pack"
set +e
"$OFLASH" pack add "$t/junk.pack" 2>"$t/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "not a readable CMSIS-Pack" "$t/err" || fail "junk pack"
[ "$(ls -A "$t/cfg/oflash/devices" | wc -l)" -eq 1 ] || fail "junk pack touched the store"
echo "test_devices_cli: ok"
