#!/usr/bin/env bash
# test_otp_vendor_layout.sh - the OTP rules are the family's and apply by
# address, whatever bank a device file declares over the OTP area.
#
# F401-VENDOR-OTP inherits the built-in STM32F401RE (its family, main flash
# and loader) and replaces the OTP and lock-byte banks by ONE plain flash
# bank of 0x210 bytes served by a vendor-layout loader (vendor_otp.c: one
# sector over the 512 data bytes and the 16 lock bytes).  On the simulated
# chip, through `oflash program`:
#  1. a lock byte other than 0x00/0xFF is refused (plan and run), chip unchanged;
#  2. locks go last: an OTP data write that fails leaves the lock byte open;
#  3. flash + OTP data + lock from one image (the 528-byte sector is only a
#     transfer unit), then a rerun writes nothing;
#  4. a locked block is a conflict: refused, chip unchanged;
#  5. a failure the plan can foresee (the loader's 2-byte page is smaller
#     than the 4-byte words OTP data is written in) is refused by --plan and
#     by program before main flash is touched: whole-chip dump unchanged.
source "$(dirname "$0")/../flash/lib.sh"
: "${OTP_FLMS:?OTP_FLMS must point at the built test loaders}"

devfile() { # devfile FILE FLM: the device file, the loader beside it
    cp "$2" "$(dirname "$1")/"
    cat >"$1" <<X
<DataBase>
  <Device>
    <ChipInfo Name="F401-VENDOR-OTP" InheritFrom="STM32F401RE" WorkRAMAddr="0x20000000"
              WorkRAMSize="0x10000"/>
    <FlashBankInfo Name="otp" BaseAddr="0x1FFF7800" MaxSize="0x210" Loader="$(basename "$2")"
                   LoaderType="FLASH_ALGO_TYPE_OPEN" AlwaysPresent="1"/>
  </Device>
</DataBase>
X
}

hexfile() { # hexfile OUT LOCKBYTE [EXTRA_ADDR]: 1 KiB flash + 12 OTP bytes + lock of block 0
    python3 - "$@" <<'P'
import sys
out, lock = sys.argv[1], int(sys.argv[2], 0)
extra = int(sys.argv[3], 0) if len(sys.argv) > 3 else None
def rec(addr, data, kind=0):
    b = [len(data), (addr >> 8) & 0xFF, addr & 0xFF, kind] + list(data)
    return ":" + "".join("%02X" % x for x in b) + "%02X" % ((-sum(b)) & 0xFF)
lines = []
def put(addr, data):
    lines.append(rec(0, [(addr >> 24) & 0xFF, (addr >> 16) & 0xFF], 4))
    for i in range(0, len(data), 16):
        lines.append(rec((addr + i) & 0xFFFF, data[i:i + 16]))
put(0x08000000, bytes((i * 7 + 3) & 0xFF for i in range(1024)))
put(0x1FFF7800, b"SERIAL-00042")
put(0x1FFF7A00, bytes([lock]))
if extra is not None:
    put(extra, b"\x00")
lines.append(":00000001FF")
open(out, "w").write("\n".join(lines) + "\n")
P
}

mkdir -p "$WORK/d1" "$WORK/d2"
devfile "$WORK/d1/vendor.xml" "$OTP_FLMS/vendor_otp.flm"
devfile "$WORK/d2/vendor.xml" "$OTP_FLMS/vendor_otp_page2.flm"
"$OFLASH" sim create "$WORK/chip.sim" --device STM32F401RE --uid 000102030405060708090A0B
T=(--devices "$WORK/d1/vendor.xml" --device F401-VENDOR-OTP --probe "sim:$WORK/chip.sim")
hexfile "$WORK/bad.hex" 0x5A
hexfile "$WORK/good.hex" 0x00
hexfile "$WORK/more.hex" 0x00 0x1FFF7810

# The device file really declares one 528-byte flash bank over the OTP area.
out=$("$OFLASH" devices show F401-VENDOR-OTP --devices "$WORK/d1/vendor.xml")
check "one 0x210 bank over data and lock bytes" \
    grep -q 'otp  *0x1FFF7800-0x1FFF7A0F  *528 B  flash' <<<"$out"

# 1. A lock byte other than 0x00/0xFF.
dump "$WORK/before1"
run_oflash out rc program "$WORK/bad.hex" "${T[@]}" --otp --plan
check "lock byte 0x5A refused by --plan (rc $rc)" test "$rc" = 1
check "... naming the lock byte" grep -q 'lock byte 0x1FFF7A00 (OTP block 0) is 0x5A' <<<"$out"
run_oflash out rc program "$WORK/bad.hex" "${T[@]}" --otp
check "lock byte 0x5A refused by program (rc $rc)" test "$rc" = 1
check "... naming the lock byte" grep -q 'lock byte 0x1FFF7A00 (OTP block 0) is 0x5A' <<<"$out"
dump "$WORK/after1"
check "chip unchanged after the refused lock byte" cmp -s "$WORK/before1" "$WORK/after1"

# 2. Locks go last: the second OTP data word does not program.
"$OFLASH" sim fault "$WORK/chip.sim" --fail-at 0x1FFF7804 >/dev/null
run_oflash out rc program "$WORK/good.hex" "${T[@]}" --otp
check "a failing OTP data write fails the run (rc $rc)" test "$rc" = 1
"$OFLASH" sim fault "$WORK/chip.sim" --clear >/dev/null
"$OFLASH" read 0x1FFF7A00 1 -o "$WORK/lock.bin" "${T[@]}" --quiet
check "the lock byte is still open after the failed data write" \
    test "$(od -An -tx1 "$WORK/lock.bin" | tr -d ' ')" = ff

# 3. Flash + OTP + lock through the 528-byte vendor sector, then a rerun.
run_oflash out rc program "$WORK/good.hex" "${T[@]}" --otp --json
check "program flash + OTP + lock (rc $rc: $out)" test "$rc" = 0
check "the block is locked" test "$(jget "$out" otp_blocks_locked)" = 1
"$OFLASH" read 0x1FFF7800 12 -o "$WORK/otp.bin" "${T[@]}" --quiet
check "OTP block 0 holds the serial" test "$(cat "$WORK/otp.bin")" = SERIAL-00042
"$OFLASH" read 0x1FFF7A00 2 -o "$WORK/lock.bin" "${T[@]}" --quiet
check "lock byte 0 is 0x00, lock byte 1 untouched" \
    test "$(od -An -tx1 "$WORK/lock.bin" | tr -d ' ')" = 00ff
run_oflash out rc program "$WORK/good.hex" "${T[@]}" --otp --json
check "rerun: nothing written (rc $rc)" test "$rc" = 0 -a "$(jget "$out" otp_bytes_programmed)" = 0 \
    -a "$(jget "$out" otp_blocks_locked)" = 0 -a "$(jget "$out" bytes_programmed)" = 0

# 4. A locked block is a conflict, even where its byte is still 0xFF.
dump "$WORK/before4"
run_oflash out rc program "$WORK/more.hex" "${T[@]}" --otp
check "new byte in a locked block refused (rc $rc)" test "$rc" = 1
check "... as a locked-block conflict" grep -q 'OTP conflict.*0x1FFF7810.*block locked' <<<"$out"
dump "$WORK/after4"
check "chip unchanged after the conflict" cmp -s "$WORK/before4" "$WORK/after4"

# 5. A refusal the plan foresees, before main flash is touched.
"$OFLASH" sim create "$WORK/chip2.sim" --device STM32F401RE
T=(--devices "$WORK/d2/vendor.xml" --device F401-VENDOR-OTP --probe "sim:$WORK/chip2.sim")
dump "$WORK/before5"
run_oflash out rc program "$WORK/good.hex" "${T[@]}" --otp --plan
check "loader page smaller than the OTP write unit: --plan refuses (rc $rc)" test "$rc" = 1
check "... naming the bank and the sizes" grep -q "bank 'otp'.*programs 2-byte pages.*4-byte units" <<<"$out"
run_oflash out rc program "$WORK/good.hex" "${T[@]}" --otp
check "... and program refuses (rc $rc)" test "$rc" = 1
check "... with the same message" grep -q "programs 2-byte pages.*nothing was written" <<<"$out"
dump "$WORK/after5"
check "whole chip unchanged (main flash not written)" cmp -s "$WORK/before5" "$WORK/after5"
finish
