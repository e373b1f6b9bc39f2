#!/usr/bin/env bash
# test_robust_fifo.sh - inputs are opened without blocking (issue 14,
# finding 7): a FIFO (or a device, a directory) named as an input is refused
# at once by every command that reads one, instead of hanging in open().
# Each command runs under a 10 s timeout; a hang is a failure.  Also: a
# 2 GiB raw binary with an address range that cannot fit is refused without
# being read (the file is sparse: it costs no disk, and reading it would
# take 2 GiB of memory).
set -uo pipefail
: "${OFLASH:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
export XDG_CONFIG_HOME=$work/config

mkfifo in.fifo
"$OFLASH" sim create chip.sim --device STM32F401RE --uid 000102030405060708090A0B >/dev/null || exit 1

# refuses NAME WHAT CMD...: exit 1 within the timeout, with "is WHAT, not a regular file"
refuses() {
  local name=$1 what=$2
  shift 2
  timeout 10 "$OFLASH" "$@" >out 2>err
  local rc=$?
  if [ "$rc" = 124 ]; then bad "$name: hangs (killed after 10 s)"; return; fi
  if [ "$rc" != 1 ]; then bad "$name: exit $rc, expected 1: $(cat err)"; return; fi
  if ! grep -q "is $what, not a regular file" err; then bad "$name: message: $(cat err)"; return; fi
  ok
}
refuses "info FIFO" "a FIFO (named pipe)" info in.fifo
refuses "convert FIFO" "a FIFO (named pipe)" convert in.fifo -o out.hex
[ -e out.hex ] && bad "convert FIFO wrote out.hex" || ok
refuses "convert FIFO@ADDR" "a FIFO (named pipe)" convert in.fifo@0x08000000 -o out.hex
refuses "program --plan FIFO" "a FIFO (named pipe)" program --plan --probe sim:chip.sim in.fifo
refuses "sim show FIFO" "a FIFO (named pipe)" sim show in.fifo
refuses "devices --devices FIFO" "a FIFO (named pipe)" devices --devices in.fifo
refuses "loader check FIFO" "a FIFO (named pipe)" loader check in.fifo
refuses "pack add FIFO" "a FIFO (named pipe)" pack add in.fifo
refuses "info directory" "a directory" info .
refuses "info /dev/zero" "a character device" info /dev/zero@0x08000000

# A 2 GiB raw binary whose range wraps past 4 GiB: refused before it is read.
truncate -s 2G big.bin
/usr/bin/time -f '%M' -o rss timeout 10 "$OFLASH" info big.bin@0xC0000000 >out 2>err
rc=$?
[ "$rc" = 1 ] && grep -q "wrap past 4 GiB" err && ok || bad "2 GiB at 0xC0000000: exit $rc: $(cat err)"
rss=$(tail -1 rss)
[ "${rss:-999999}" -lt 65536 ] && ok || bad "2 GiB at 0xC0000000: peak RSS $rss KiB (read into memory?)"
# ... and one that fits 4 GiB but not the device's memory map: refused by
# program before it is read.
/usr/bin/time -f '%M' -o rss timeout 20 "$OFLASH" program --plan --probe sim:chip.sim big.bin@0x08000000 >out 2>err
rc=$?
[ "$rc" = 1 ] && grep -q "outside the device's memory map" err && ok || bad "2 GiB at 0x08000000 on program: exit $rc: $(cat err)"
rss=$(tail -1 rss)
[ "${rss:-999999}" -lt 65536 ] && ok || bad "2 GiB on program: peak RSS $rss KiB (read into memory?)"

echo "test_robust_fifo: $pass passed, $fail failed"
[ "$fail" = 0 ]
