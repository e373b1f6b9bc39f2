#!/usr/bin/env bash
# test_image_cli.sh - oflash info / convert through the CLI: round trips
# through every format (checked against objcopy and srec_cat), merging,
# and every bad input of issue 2: exit code, "FILE:LINE: what (expected"
# message, and no output file left behind.
set -uo pipefail
: "${OFLASH:?}" "${ARM_CC:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# rec LEN ADDR TYPE DATAHEX -> an Intel HEX record with a correct checksum
rec() {
  local b i sum=0
  b=$(printf '%02X%04X%02X%s' "$1" "$(($2))" "$3" "$4")
  for ((i = 0; i < ${#b}; i += 2)); do sum=$((sum + 16#${b:i:2})); done
  printf ':%s%02X\n' "$b" $(((256 - sum % 256) % 256))
}
# srec TYPE ADDR DATAHEX -> an S-record with correct count and checksum
srec() {
  local al b i sum=0
  case $1 in 0 | 1 | 5 | 9) al=2 ;; 2 | 6 | 8) al=3 ;; *) al=4 ;; esac
  b=$(printf "%02X%0$((2 * al))X%s" $((al + ${#3} / 2 + 1)) "$(($2))" "$3")
  for ((i = 0; i < ${#b}; i += 2)); do sum=$((sum + 16#${b:i:2})); done
  printf 'S%s%s%02X\n' "$1" "$b" $((255 - sum % 256))
}

# expect_fail NAME EXIT "message substring" oflash-args...  (output file: out.*)
expect_fail() {
  local name=$1 code=$2 msg=$3
  shift 3
  rm -f out.* err
  "$OFLASH" "$@" 2>err >/dev/null
  local rc=$?
  if [ "$rc" != "$code" ]; then bad "$name: exit $rc, expected $code ($(cat err))"; return; fi
  if ! grep -qF -- "$msg" err; then bad "$name: message '$(cat err)' lacks '$msg'"; return; fi
  if ls out.* >/dev/null 2>&1; then bad "$name: output written: $(ls out.*)"; return; fi
  ok
}

# ---- good inputs: 1000 pseudo-random bytes + a serial number in OTP
python3 -c 'import random; r=random.Random(7); open("fw.bin","wb").write(bytes(r.randrange(256) for _ in range(1000)))'
printf 'SN-000042\0\0\0\0\0\0\0' > sn.bin
objcopy -I binary -O ihex --change-addresses 0x08000000 fw.bin fw.hex
objcopy -I binary -O srec --change-addresses 0x08000000 fw.bin fw.s37
objcopy -I binary -O ihex --change-addresses 0x1FFF7800 sn.bin sn.hex

"$OFLASH" info fw.hex sn.hex >info.txt 2>err && ok || bad "info fw.hex sn.hex: $(cat err)"
grep -q "0x08000000  0x080003E7        1000" info.txt && ok || bad "info segment 0: $(cat info.txt)"
grep -q "0x1FFF7800  0x1FFF780F          16" info.txt && ok || bad "info segment 1: $(cat info.txt)"
grep -q "total: 2 segments, 1016 bytes" info.txt && ok || bad "info total"
crc=$(python3 -c 'import zlib; print("0x%08X" % zlib.crc32(open("fw.bin","rb").read()))')
grep -q "$crc" info.txt && ok || bad "info crc $crc: $(cat info.txt)"
"$OFLASH" info --json fw.hex sn.hex >info.json && python3 -c '
import json,sys; j=json.load(open("info.json"))
assert j["segment_count"]==2 and j["segments"][1]["start"]==0x1FFF7800 and j["total_size"]==1016
' && ok || bad "info --json"

# hex -> bin equals the input; srec -> hex -> bin too; bin@addr -> srec read by srec_cat
"$OFLASH" convert fw.hex -o a.bin && cmp -s a.bin fw.bin && ok || bad "hex->bin"
"$OFLASH" convert fw.s37 -o b.hex && "$OFLASH" convert b.hex -o b.bin && cmp -s b.bin fw.bin \
  && ok || bad "srec->hex->bin"
objcopy -I ihex -O binary b.hex c.bin && cmp -s c.bin fw.bin && ok || bad "objcopy reads our hex"
"$OFLASH" convert fw.bin@0x08000000 -o d.srec && srec_cat d.srec -o d.bin -binary \
  && cmp -s <(tail -c 1000 d.bin) fw.bin && ok || bad "bin->srec read by srec_cat"
grep -q '^S3' d.srec && ok || bad "S3 for 0x08000000"
"$OFLASH" convert fw.bin@0x100 -o e.srec && grep -q '^S1' e.srec && ok || bad "S1 for 0x100"
"$OFLASH" convert fw.bin@0x100 --srec-type 3 -o f.srec && grep -q '^S3' f.srec && ok || bad "forced S3"
"$OFLASH" convert fw.hex --record-size 32 -o g.hex && [ "$(sed -n 2p g.hex | cut -c2-3)" = 20 ] \
  && "$OFLASH" convert g.hex -o g.bin && cmp -s g.bin fw.bin && ok || bad "record size 32"
# the merged sparse image keeps both segments in every text format
"$OFLASH" convert fw.hex sn.hex -o m.hex && "$OFLASH" info m.hex | grep -q "total: 2 segments, 1016" \
  && ok || bad "merged hex"
"$OFLASH" convert fw.hex sn.hex -o m.srec && srec_cat m.srec -o m2.hex -intel 2>/dev/null \
  && "$OFLASH" info m2.hex | grep -q "total: 2 segments, 1016" && ok || bad "merged srec via srec_cat"
# bin of a sparse image only with --fill and --range
rec 1 0x7A00 0 00 > lock.hex.tmp && { rec 2 0 4 1FFF; cat lock.hex.tmp; echo ':00000001FF'; } > lock.hex
"$OFLASH" convert sn.hex lock.hex --fill 0xFF --range 0x1FFF7800:0x1FFF7A10 -o fill.bin 2>err \
  && [ "$(stat -c %s fill.bin)" = 528 ] && [ "$(od -An -tx1 -j512 -N2 fill.bin)" = " 00 ff" ] \
  && cmp -s <(head -c 16 fill.bin) sn.bin && ok || bad "fill range: $(cat err)"
expect_fail "sparse bin" 1 "the image is sparse" convert fw.hex sn.hex -o out.bin
expect_fail "gap without fill" 1 "expected --fill BYTE for gaps" convert sn.hex lock.hex --range 0x1FFF7800:0x1FFF7A10 -o out.bin
expect_fail "range too small" 1 "outside the range" convert fw.hex --range 0x08000000+16 -o out.bin
expect_fail "fill without range" 2 "--fill needs an explicit --range" convert fw.hex --fill 0xFF -o out.bin
expect_fail "no output" 2 "no output file" convert fw.hex
expect_fail "unknown option" 2 "unknown option" info --frobnicate fw.hex
expect_fail "unknown out ext" 2 "cannot tell the output format" convert fw.hex -o out.xyz

# ---- overlaps name both sources
cp fw.hex fw2.hex
expect_fail "identical overlap" 1 "fw2.hex:2: data at 0x08000000-0x080003E7 overlaps fw.hex:2 (same bytes" \
  convert fw.hex fw2.hex -o out.hex
"$OFLASH" convert --allow-identical-overlap fw.hex fw2.hex -o ok.hex 2>err && ok || bad "allow identical: $(cat err)"
{ rec 4 0x0000 0 01020304; rec 4 0x0010 0 05060708; rec 2 0x0012 0 AAAA; rec 0 0 1 ""; } > ov.hex
expect_fail "overlap in a file" 1 "ov.hex:3: data at 0x00000012-0x00000013 overlaps different data from ov.hex:2" \
  convert ov.hex -o out.hex

# ---- bad Intel HEX: each names file, line and what was expected
good=$(rec 4 0 0 01020304)
printf '%s\n:0400100001020304E3\n' "$good" > cks.hex
expect_fail "ihex checksum" 1 "cks.hex:2: bad checksum 0xE3 (expected 0xE2)" convert cks.hex -o out.hex
printf '%s\n:04001000010Z0304E2\n' "$good" > dig.hex
expect_fail "ihex digit" 1 "dig.hex:2: bad hex digit 'Z' in column 13 (expected 0-9, A-F or a-f)" convert dig.hex -o out.hex
printf '%s\n:0400100001020304E\n' "$good" > odd.hex
expect_fail "ihex odd" 1 "odd.hex:2: odd number of hex digits (17; expected pairs" convert odd.hex -o out.hex
printf '%s\n:0300100001020304E2\n' "$good" > len.hex
expect_fail "ihex length" 1 "len.hex:2: record length mismatch: the length field says 3 data bytes, so 16 hex digits, but the record has 18 (expected 16)" convert len.hex -o out.hex
printf '%s\n:00000007F9\n' "$good" > typ.hex
expect_fail "ihex type" 1 "typ.hex:2: unknown record type 07 (expected 00-05)" convert typ.hex -o out.hex
printf '%s\n:00000001FF\n%s\n' "$good" "$good" > after.hex
expect_fail "ihex after eof" 1 "after.hex:3: data after the end-of-file record of line 2 (expected nothing after it; two HEX files joined with cat? merge them with 'oflash convert a.hex b.hex -o all.hex' instead" convert after.hex -o out.hex
printf '%s\r\n:0400100001' "$good" > trunc.hex
expect_fail "ihex truncated" 1 "trunc.hex:2: truncated file: the last record has 10 hex digits (expected 18" convert trunc.hex -o out.hex
{ rec 2 0 4 FFFF; rec 16 0xFFF8 0 000102030405060708090A0B0C0D0E0F; } > wrap.hex
expect_fail "ihex wrap" 1 "wrap.hex:2: 16 bytes at 0xFFFFFFF8 wrap past 4 GiB (expected addresses up to 0xFFFFFFFF)" convert wrap.hex -o out.hex
: > empty.hex
expect_fail "empty" 1 "empty.hex: empty file (expected Intel HEX, S-record, ELF or binary data)" convert empty.hex -o out.hex
expect_fail "missing file" 1 "nosuch.hex: cannot open" convert nosuch.hex -o out.hex
# ---- issue 13, finding 1: the end-of-file record, on every command that reads images
# A file cut before its EOF record (a factory file missing its serial) is an error.
printf '%s\n' "$good" > noeof.hex
for cmd in info convert; do
  args=(noeof.hex); [ $cmd = convert ] && args+=(-o out.bin)
  expect_fail "$cmd missing EOF" 1 "noeof.hex:1: no end-of-file record after the last record: the file may have been cut short (expected ':00000001FF' as the last record; --allow-missing-eof accepts" $cmd "${args[@]}"
done
# --allow-missing-eof accepts it with a warning naming the line
"$OFLASH" convert --allow-missing-eof noeof.hex -o out.bin 2>err && [ -s out.bin ] \
  && grep -qF "warning: noeof.hex:1: no end-of-file record (expected ':00000001FF'" err && ok \
  || bad "--allow-missing-eof: $(cat err)"
"$OFLASH" info --allow-missing-eof noeof.hex | grep -q "total: 1 segment, 4 bytes" && ok || bad "info --allow-missing-eof"
rm -f out.bin
# cat a.hex b.hex: refused by default; --ignore-after-eof reads up to the EOF record
{ cat fw.hex; cat sn.hex; } > catted.hex
expect_fail "cat of two files" 1 "catted.hex:$(($(wc -l < fw.hex) + 1)): data after the end-of-file record of line $(wc -l < fw.hex)" info catted.hex
"$OFLASH" info --ignore-after-eof catted.hex | grep -q "total: 1 segment, 1000 bytes" && ok || bad "--ignore-after-eof"
{ cat fw.hex; printf 'MakeCode appends this \x01\x02\n'; } > mk.hex
"$OFLASH" convert --ignore-after-eof mk.hex -o mk.bin 2>err && cmp -s mk.bin fw.bin && ok || bad "--ignore-after-eof with text after EOF: $(cat err)"
# program and verify read images the same way (checked before connecting)
"$OFLASH" sim create chip.sim --device STM32F401RE >/dev/null
expect_fail "program missing EOF" 1 "noeof.hex:1: no end-of-file record after the last record" program --plan --probe sim:chip.sim noeof.hex
expect_fail "verify missing EOF" 1 "noeof.hex:1: no end-of-file record" verify --probe sim:chip.sim noeof.hex
{ rec 2 0 4 0800; rec 4 0 0 01020304; } > flash_noeof.hex
"$OFLASH" program --plan --allow-missing-eof --probe sim:chip.sim flash_noeof.hex >out.plan 2>err && ok || bad "program --allow-missing-eof: $(cat err)"
rm -f out.plan
expect_fail "program after EOF" 1 "catted.hex:$(($(wc -l < fw.hex) + 1)): data after the end-of-file record" program --plan --probe sim:chip.sim catted.hex
"$OFLASH" program --plan --ignore-after-eof --probe sim:chip.sim catted.hex >/dev/null 2>err && ok || bad "program --ignore-after-eof: $(cat err)"
# the merge the message suggests works
"$OFLASH" convert fw.hex sn.hex -o merged.hex && "$OFLASH" info merged.hex | grep -q "total: 2 segments" && ok || bad "merge"
# records 02-05 whose address field is not 0000
{ rec 2 0x0010 4 0800; rec 4 0 0 01020304; echo ':00000001FF'; } > ela.hex
expect_fail "type 04 address" 1 "ela.hex:1: extended linear address record (type 04) with address field 0010 (expected 0000)" info ela.hex
{ rec 2 0x0001 2 1000; rec 4 0 0 01020304; echo ':00000001FF'; } > esa.hex
expect_fail "type 02 address" 1 "esa.hex:1: extended segment address record (type 02) with address field 0001 (expected 0000)" info esa.hex
{ rec 4 0 0 01020304; rec 4 0x0100 5 08000101; echo ':00000001FF'; } > sla.hex
expect_fail "type 05 address" 1 "sla.hex:2: start linear address record (type 05) with address field 0100 (expected 0000)" info sla.hex
{ rec 4 0 0 01020304; rec 4 0x0002 3 00000000; echo ':00000001FF'; } > ssa.hex
expect_fail "type 03 address" 1 "ssa.hex:2: start segment address record (type 03) with address field 0002 (expected 0000)" info ssa.hex
# FILE@08000000 without 0x: refused with a hint, not "No such file"
expect_fail "@ without 0x" 1 "fw.bin@08000000: address '08000000' has no 0x: is it hex? (expected fw.bin@0x08000000" info fw.bin@08000000
grep -q "No such file" err && bad "@ without 0x says No such file" || ok
expect_fail "@ hex letters without 0x" 1 "has no 0x" convert fw.bin@800A000 -o out.hex

# ---- bad S-records
{ srec 0 0 6869; srec 1 0x100 01020304; srec 1 0x104 05060708; srec 5 3 ""; srec 9 0x100 ""; } > cnt.s19
expect_fail "srec count" 1 "cnt.s19:4: record count mismatch: S5 says 3 data records, the file has 2 before it (expected 2)" convert cnt.s19 -o out.hex
{ srec 1 0x100 01020304; echo "S1070104050607089A"; } > scks.s19
expect_fail "srec checksum" 1 "scks.s19:2: bad checksum 0x9A (expected 0x" convert scks.s19 -o out.hex
{ srec 1 0x100 01020304; echo "S40701040506070898"; } > styp.s19
expect_fail "srec type" 1 "styp.s19:2: unknown record type '4' (expected S0-S3 or S5-S9)" convert styp.s19 -o out.hex
{ srec 1 0x100 01020304; srec 9 0 ""; srec 1 0x104 01020304; } > safter.s19
expect_fail "srec after end" 1 "safter.s19:3: data after the termination record of line 2" convert safter.s19 -o out.hex
{ srec 1 0x100 01020304; printf 'S1070104050'; } > strunc.s19
expect_fail "srec truncated" 1 "strunc.s19:2: truncated file" convert strunc.s19 -o out.hex
{ srec 3 0xFFFFFFFE 01020304; } > swrap.s37
expect_fail "srec wrap" 1 "swrap.s37:1: 4 bytes at 0xFFFFFFFE wrap past 4 GiB" convert swrap.s37 -o out.hex
{ srec 1 0x100 01020304; srec 1 0x104 05060708; srec 5 2 ""; srec 9 0x100 ""; } > sok.s19
"$OFLASH" info sok.s19 | grep -q "0x00000100  0x00000107           8" && ok || bad "srec S5 ok"

# ---- ELF: a real Cortex-M image from arm-none-eabi-gcc
cat > t.c <<'C'
const unsigned char table[64] = {1, 2, 3, 4};
unsigned int counter = 0x12345678; /* .data: loaded from flash, runs in RAM */
unsigned int zeros[256];            /* .bss: not part of the image */
void Reset_Handler(void) { for (;;) counter++; }
__attribute__((section(".vectors"))) const void *vectors[2] = {(void *)0x20001000, (void *)Reset_Handler};
C
cat > t.ld <<'LD'
MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 64K
         RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 16K }
ENTRY(Reset_Handler)
SECTIONS {
  .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) } > FLASH
  .data : { *(.data*) } > RAM AT > FLASH
  .bss : { *(.bss*) *(COMMON) } > RAM
}
LD
"$ARM_CC" -mcpu=cortex-m4 -mthumb -Os -nostdlib -T t.ld -o t.elf t.c || bad "arm-none-eabi-gcc"
"$ARM_OBJCOPY" -O binary t.elf t.ref.bin
"$OFLASH" convert t.elf -o t.bin 2>err && cmp -s t.bin t.ref.bin && ok || bad "elf->bin equals objcopy: $(cat err)"
"$OFLASH" info t.elf > t.info && grep -q "^entry: 0x0800" t.info && ok || bad "elf entry: $(cat t.info)"
grep -q "0x20000000" t.info && bad "elf: RAM address in image" || ok
"$OFLASH" convert t.elf -o t.hex && "$ARM_OBJCOPY" -I ihex -O binary t.hex t2.bin && cmp -s t2.bin t.ref.bin \
  && ok || bad "elf->hex"
# bad ELFs
python3 - <<'PY'
import struct
e = bytearray(open("t.elf", "rb").read())
b = bytearray(e); b[4] = 2; open("c64.elf", "wb").write(b)      # ELFCLASS64
b = bytearray(e); b[5] = 2; open("be.elf", "wb").write(b)       # big-endian
b = bytearray(e); b[18:20] = struct.pack("<H", 62); open("x86.elf", "wb").write(b)
phoff = struct.unpack_from("<I", e, 28)[0]
b = bytearray(e)
struct.pack_into("<I", b, phoff + 4, len(e) - 4)                 # segment 0 runs past the end
open("past.elf", "wb").write(b)
open("cut.elf", "wb").write(e[:40])
PY
expect_fail "elf 64" 1 "c64.elf:ELF header: class 2 is not 32-bit (expected ELFCLASS32" convert c64.elf -o out.hex
expect_fail "elf be" 1 "be.elf:ELF header: data encoding 2 is not little-endian (expected ELFDATA2LSB" convert be.elf -o out.hex
expect_fail "elf machine" 1 "x86.elf:ELF header: machine 62 is not ARM (expected EM_ARM" convert x86.elf -o out.hex
expect_fail "elf beyond" 1 "past.elf:segment 0: file bytes" convert past.elf -o out.hex
grep -qF "beyond the end of the file" err && ok || bad "elf beyond message: $(cat err)"
expect_fail "elf truncated" 1 "cut.elf:ELF header: file has 40 bytes (expected at least 52" convert cut.elf -o out.hex

# ---- binaries need an address
expect_fail "bin no address" 1 "fw.bin: not Intel HEX, S-record or ELF, and a raw binary needs its load address (expected fw.bin@0x08000000" convert fw.bin -o out.hex
expect_fail "bin format no address" 1 "fw.bin: binary without an address (expected fw.bin@ADDRESS" convert --input-format bin fw.bin -o out.hex
expect_fail "bin wrap" 1 "fw.bin: 1000 bytes at 0xFFFFFF00 wrap past 4 GiB" convert fw.bin@0xFFFFFF00 -o out.hex

# --format overrides content recognition: a HEX file read as binary
"$OFLASH" info --format bin fw.hex@0x0 | grep -q "total: 1 segment, $(stat -c %s fw.hex) bytes" && ok || bad "--format bin"

# ---- an existing output is untouched when the input is bad
echo keep > out.keep.hex
"$OFLASH" convert cks.hex -o out.keep.hex 2>/dev/null; [ "$(cat out.keep.hex)" = keep ] && ok || bad "existing output changed"
[ -z "$(ls | grep 'out.keep.hex.')" ] && ok || bad "temporary file left behind"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
