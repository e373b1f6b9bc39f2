#!/usr/bin/env bash
# test_pack_import.sh - vendor packs import as shipped (issue 9): a pack
# with inconsistencies, as real ones have, is imported; each bad bank or
# device gets a warning naming its line and is clipped or left out; the
# import ends with a summary; a part that is also built in keeps its name
# and the pack's algorithms are chosen with --device PACK::PART; pack
# devices of a known family get the family (OTP banks, ID check).
# The pack is built here: a .pdsc plus two real FLMs (tests/devfile/thirdparty
# and examples/loader-template), zipped with zip(1).
set -uo pipefail
: "${OFLASH:?}" "${DEVFILE_FLMS:?}"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export XDG_CONFIG_HOME="$t/cfg"
unset OFLASH_DEVICES
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
has() { grep -qF -- "$2" "$1" && ok || bad "$3: expected '$2' in: $(cat "$1")"; }

mkdir -p "$t/pk/Flash"
cp "$DEVFILE_FLMS/tp_plain.flm" "$t/pk/Flash/TP_512.FLM"       # covers 0x80000 (F401 sectors)
cp "$DEVFILE_FLMS/example/otp_loader.FLM" "$t/pk/Flash/OTP.FLM"  # 0x1FFF7800, 16 x 32 B
cat >"$t/pk/Vend.Mixed_DFP.pdsc" <<'X'
<?xml version="1.0" encoding="UTF-8"?>
<package schemaVersion="1.7">
  <vendor>Vend</vendor><name>Mixed_DFP</name>
  <devices>
    <family Dfamily="STM32F4 Series" Dvendor="STMicroelectronics:13">
      <processor Dcore="Cortex-M4"/>
      <memory name="Flash" access="rx" start="0x08000000" size="0x80000" default="1"/>
      <memory name="SRAM" access="rwx" start="0x20000000" size="0x18000" default="1"/>
      <algorithm name="Flash/TP_512.FLM" start="0x08000000" size="0x80000" RAMstart="0x20000000" RAMsize="0x8000" default="1"/>
      <algorithm name="Flash/OTP.FLM" start="0x1FFF7800" size="0x200" RAMstart="0x20000000" RAMsize="0x8000"/>
      <device Dname="STM32F401RE"/>
      <device Dname="STM32F4-BOARD"/>
    </family>
    <family Dfamily="Ext Series" Dvendor="Vend:1">
      <processor Dcore="Cortex-M4"/>
      <memory name="SRAM" access="rwx" start="0x20000000" size="0x18000" default="1"/>
      <device Dname="EXT1">
        <algorithm name="Flash/TP_512.FLM" start="0x90000000" size="0x1000000" RAMstart="0x20000000" RAMsize="0x8000" default="1"/>
      </device>
      <device Dname="EXT2">
        <algorithm name="Flash/TP_512.FLM" start="0x08000000" size="0x81000" RAMstart="0x20000000" RAMsize="0x8000" default="1"/>
      </device>
      <device Dname="EXT4">
        <algorithm name="Flash/TP_512.FLM" start="0x08000000" size="0x70000" RAMstart="0x20000000" RAMsize="0x8000" default="1"/>
      </device>
      <device Dname="EXT3">
        <algorithm name="Flash/TP_512.FLM" start="0x08000000" size="0x80000" RAMstart="0x20000000" RAMsize="0x8000" default="1"/>
        <algorithm name="Flash/NOPE.FLM" start="0x90000000" size="0x10000" RAMstart="0x20000000" RAMsize="0x8000"/>
      </device>
    </family>
    <family Dfamily="No RAM" Dvendor="Vend:1">
      <device Dname="NORAM">
        <algorithm name="Flash/TP_512.FLM" start="0x08000000" size="0x80000"/>
      </device>
    </family>
  </devices>
</package>
X
(cd "$t/pk" && zip -q -r "$t/Vend.Mixed_DFP.1.0.0.pack" .)

# 1. The import: exit 0, a warning per problem with its line, the summary.
"$OFLASH" pack add "$t/Vend.Mixed_DFP.1.0.0.pack" >"$t/out" 2>"$t/err"
rc=$?
[ $rc = 0 ] && ok || bad "pack add: exit $rc: $(cat "$t/err")"
has "$t/err" "Vend.Mixed_DFP.pdsc:18: device 'EXT1': bank 'TP_512' at 0x90000000: the pack gives it 0x1000000 bytes but its loader" "clip EXT1"
has "$t/err" "covers 0x80000: clipped to 0x80000 bytes (0x90000000-0x9007FFFF)" "clip EXT1 range"
has "$t/err" "Vend.Mixed_DFP.pdsc:21: device 'EXT2': bank 'TP_512' at 0x08000000: the pack gives it 0x81000 bytes" "clip EXT2"
has "$t/err" "Vend.Mixed_DFP.pdsc:28: device 'EXT3': bank at 0x90000000 (algorithm Flash/NOPE.FLM) left out: algorithm Flash/NOPE.FLM is not in the pack" "skip EXT3 bank"
has "$t/err" "Vend.Mixed_DFP.pdsc:32: device 'NORAM': left out: flash algorithms but no RAM to run them in" "skip NORAM"
has "$t/err" "device 'EXT4': bank 'TP_512' at 0x08000000: the pack gives it 0x70000 bytes but its loader Flash/TP_512.FLM covers 0x80000 (the bank ends inside a sector): clipped to 0x60000 bytes (0x08000000-0x0805FFFF)" "clip EXT4 to a sector boundary"
has "$t/out" "imported 6 devices from $t/Vend.Mixed_DFP.1.0.0.pack" "imported"
[ "$(grep -c "device 'EXT1': bank" "$t/err")" = 1 ] && ok || bad "warning given more than once: $(cat "$t/err")"
has "$t/out" "summary: 6 devices imported, 1 device left out, 3 banks clipped, 1 bank left out, 5 warnings" "summary"
has "$t/out" "1 part is also built in" "built-in note"
[ -f "$t/cfg/oflash/devices/Vend.Mixed_DFP.1.0.0.pack" ] && ok || bad "pack not in the store"

# 2. What was imported.
"$OFLASH" devices show EXT1 >"$t/show" 2>&1 || bad "show EXT1: $(cat "$t/show")"
has "$t/show" "0x90000000-0x9007FFFF  512 KiB  flash" "EXT1 clipped bank"
"$OFLASH" devices show EXT3 >"$t/show" 2>&1 || bad "show EXT3: $(cat "$t/show")"
has "$t/show" "0x08000000-0x0807FFFF  512 KiB  flash" "EXT3 keeps its good bank"
grep -q "0x90000000" "$t/show" && bad "EXT3 has the skipped bank" || ok
"$OFLASH" devices show NORAM >"$t/show" 2>&1 && bad "NORAM imported" || ok
"$OFLASH" devices show Vend.Mixed_DFP::EXT2 >"$t/show" 2>&1 && ok || bad "PACK::NAME alias: $(cat "$t/show")"
# A built-in part keeps its name; the pack's description is PACK::PART.
"$OFLASH" devices show STM32F401RE >"$t/show" 2>&1
has "$t/show" "source:   built-in" "STM32F401RE stays built in"
"$OFLASH" devices show Vend.Mixed_DFP::STM32F401RE >"$t/show" 2>&1 || bad "show PACK::PART: $(cat "$t/show")"
has "$t/show" "source:   $t/cfg/oflash/devices/Vend.Mixed_DFP.1.0.0.pack" "PACK::PART source"
has "$t/show" "family:   stm32f4" "PACK::PART family"
has "$t/show" "DEV_ID 0x433" "PACK::PART ID check of the built-in part"
has "$t/show" "loader $t/cfg/oflash/devices/Vend.Mixed_DFP.1.0.0.pack:Flash/TP_512.FLM" "PACK::PART uses the pack's FLM"
# A pack device of a known family that is not a built-in part: the family's
# OTP area becomes an OTP bank; no ID check (no part to take it from).
"$OFLASH" devices show STM32F4-BOARD >"$t/show" 2>&1 || bad "show STM32F4-BOARD: $(cat "$t/show")"
has "$t/show" "family:   stm32f4" "F4 family from the pack's Dfamily/Dvendor"
has "$t/show" "0x1FFF7800-0x1FFF79FF    512 B  otp" "OTP bank of the family"
has "$t/show" "id check: none declared" "no part, no ID check"

# 3. --device PACK::PART programs a built-in part with the pack's algorithm.
"$OFLASH" sim create "$t/chip.sim" --device STM32F401RE >/dev/null || exit 1
head -c 4096 /dev/urandom >"$t/fw.bin"
"$OFLASH" program "$t/fw.bin@0x08004000" --device Vend.Mixed_DFP::STM32F401RE \
  --probe "sim:$t/chip.sim" >"$t/prog" 2>&1 && ok || bad "program with PACK::PART: $(cat "$t/prog")"
"$OFLASH" read 0x08004000 4096 -o "$t/back.bin" --probe "sim:$t/chip.sim" 2>"$t/err" || bad "read: $(cat "$t/err")"
cmp -s "$t/fw.bin" "$t/back.bin" && ok || bad "flash after program with PACK::PART"

# ... and the built-in part's ID check comes with it: another part is refused.
"$OFLASH" sim create "$t/f411.sim" --device STM32F411RE >/dev/null || exit 1
"$OFLASH" program "$t/fw.bin@0x08004000" --device Vend.Mixed_DFP::STM32F401RE \
  --probe "sim:$t/f411.sim" >"$t/prog" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "the connected chip is not a Vend.Mixed_DFP::STM32F401RE: found DEV_ID 0x431" "$t/prog" && ok ||
  bad "PACK::PART on another part: exit $rc: $(cat "$t/prog")"
"$OFLASH" sim show "$t/f411.sim" | grep -q "0x08004000    16 KiB  blank" && ok || bad "F411 chip changed"

# 4. Commands other than the import warn too; files of the store do not
#    repeat their warnings on every command.
"$OFLASH" devices EXT >"$t/out" 2>"$t/err"
[ -s "$t/err" ] && bad "store pack warns again: $(cat "$t/err")" || ok
"$OFLASH" devices --devices "$t/Vend.Mixed_DFP.1.0.0.pack" EXT >"$t/out" 2>"$t/err"
has "$t/err" "left out" "--devices warns"

echo "test_pack_import: $pass passed, $fail failed"
[ "$fail" = 0 ]
