# lib.sh - helpers of the library tests (sourced): a scratch directory,
# pass/fail counting.
set -euo pipefail
: "${OFLASH_SRC:?}" "${OFLASH_BUILD:?}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
check() { # check DESCRIPTION COMMAND...: the command must succeed
    local d=$1; shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}
finish() {
    if [ "$FAILS" -ne 0 ]; then echo "$FAILS failed" >&2; exit 1; fi
    echo "all passed"
}
# The version written in include/oflash/common.h.
hdr_version() {
    sed -n 's/^#define OFLASH_VERSION_STRING "\(.*\)"$/\1/p' "$OFLASH_SRC/include/oflash/common.h"
}

# check_chip OFLASH CHIP SERIAL IMAGE: CHIP holds what examples/sdk/program_otp
# wrote for SERIAL: the image (oflash verify, read back byte for byte), the
# serial in OTP block 0, block 0 locked, block 1 open and blank.
check_chip() {
    local of=$1 chip=$2 serial=$3 image=$4 d
    d=$(mktemp -d "$WORK/chip.XXXXXX")
    check "$chip: oflash verify --verify readback of the image" \
        "$of" verify "$image" --probe "sim:$chip" --verify readback --quiet
    "$of" read 0x1FFF7800 64 -o "$d/otp.bin" --probe "sim:$chip" --quiet
    "$of" read 0x1FFF7A00 2 -o "$d/lock.bin" --probe "sim:$chip" --quiet
    { printf 'SN-%s' "$serial"; head -c $((16 - 3 - ${#serial})) /dev/zero
      head -c 48 /dev/zero | tr '\0' '\377'; } >"$d/otp.want"
    printf '\000\377' >"$d/lock.want"
    check "$chip: OTP block 0 holds SN-$serial, the rest of 0-1 is blank" cmp "$d/otp.bin" "$d/otp.want"
    check "$chip: lock byte 0 is 0x00 (locked), lock byte 1 0xFF" cmp "$d/lock.bin" "$d/lock.want"
}

# dump OFLASH CHIP OUT: flash sector 0, OTP and lock bytes of CHIP into OUT.
dump() {
    local d
    d=$(mktemp -d "$WORK/dump.XXXXXX")
    "$1" read 0x08000000 0x4000 -o "$d/f.bin" --probe "sim:$2" --quiet
    "$1" read 0x1FFF7800 0x210 -o "$d/o.bin" --probe "sim:$2" --quiet
    cat "$d/f.bin" "$d/o.bin" >"$3"
}

# program_checks OFLASH PROGRAM_OTP TAG: a fresh chip programmed by
# PROGRAM_OTP holds the image; a rerun has nothing to do; another unit's
# serial is refused with the chip unchanged.
program_checks() {
    local of=$1 prog=$2 tag=$3 chip="$WORK/$3.sim" out="$WORK/$3.out"
    check "$tag: program_otp programs flash + OTP + lock" \
        "$prog" "sim:$chip" STM32F401RE 4711 "$WORK/$tag.hex"
    check_chip "$of" "$chip" 4711 "$WORK/$tag.hex"
    "$prog" "sim:$chip" STM32F401RE 4711 >"$out" 2>&1 || fail "$tag: rerun failed: $(cat "$out")"
    check "$tag: a rerun plans nothing to write" grep -q "0 sectors to erase, 0 to program, 1 unchanged; 0 OTP bytes, 0 locks" "$out"
    dump "$of" "$chip" "$WORK/$tag.before"
    if "$prog" "sim:$chip" STM32F401RE 4712 >"$out" 2>&1; then
        fail "$tag: another unit's serial was accepted"
    else
        check "$tag: another serial is refused as an OTP conflict" grep -q "refused, nothing written" "$out"
    fi
    dump "$of" "$chip" "$WORK/$tag.after"
    check "$tag: the refused run left flash and OTP byte-identical" cmp "$WORK/$tag.before" "$WORK/$tag.after"
}
