#!/usr/bin/env bash
# The gdbserver keeps the recovery journal as `oflash program` does
# (docs/recovery.md): a client that writes part of a sector without erasing
# it makes the server keep the sector's other bytes; a power cut during that
# sector's erase must not lose them.  The journal written by the server
# restores them on the next run (here `oflash program` with the same
# --journal-dir), and the chip ends exact.
source "$(dirname "$0")/lib.sh"
RAW="python3 $(dirname "$0")/rsp_raw.py"

CHIP="$WORK/chip.sim"
J="$WORK/journal"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null

# A full first sector of old data.
python3 -c "import sys; sys.stdout.buffer.write(bytes((i * 7 + 3) & 0xFF for i in range(16384)))" \
    >"$WORK/old.bin"
"$OFLASH" program "$WORK/old.bin@0x08000000" --probe "sim:$CHIP" --journal-dir "$J" --quiet ||
    fail "first program"

# The power fails at the first flash operation of the next run: the erase
# of sector 0, which the server plans because 4 KiB of new data go into it.
"$OFLASH" sim fault "$CHIP" --power-loss-after 1 >/dev/null || fail "sim fault"
start_server --device STM32F401RE --probe "sim:$CHIP" --journal-dir "$J"
NEW=$(python3 -c "print(''.join('\\\\x%02x' % 0x42 for _ in range(4096)))")
out=$($RAW packets "$SPORT" "X08000000,0:" "vFlashWrite:8000000:$NEW" "vFlashDone" 2>&1)
last=$(echo "$out" | tail -1)
case "$last" in E*) pass "vFlashDone failed at the power cut ($last)" ;;
*) fail "vFlashDone answered '$last' across a power cut" ;; esac
stop_pid "$SPID"
if ls "$J"/*.journal >/dev/null 2>&1 || ls "$J"/* >/dev/null 2>&1; then
    pass "the server left a recovery journal in --journal-dir"
else
    fail "no journal written by the server before the erase"
fi

# The sector is erased now (the cut landed in its erase)...
"$OFLASH" sim fault "$CHIP" --clear >/dev/null
"$OFLASH" read 0x08001000 0x3000 -o "$WORK/mid.bin" --probe "sim:$CHIP" --quiet
if cmp -s "$WORK/mid.bin" <(tail -c +4097 "$WORK/old.bin"); then
    fail "the power cut did not reach the erase (test set-up)"
else
    pass "the kept bytes are gone from the chip after the cut"
fi

# ... and the next run restores them from the server's journal.
python3 -c "import sys; sys.stdout.buffer.write(bytes([0x42]) * 4096)" >"$WORK/new.bin"
out=$("$OFLASH" program "$WORK/new.bin@0x08000000" --probe "sim:$CHIP" --journal-dir "$J" 2>&1) ||
    fail "rerun: $out"
# (a here-string: with pipefail, `echo | grep -q` fails when grep exits at
# its match before echo's last write -- SIGPIPE, exit 141)
grep -qi 'restor' <<<"$out" && pass "rerun says it restored from the journal" ||
    fail "rerun did not mention the restore: $out"
"$OFLASH" read 0x08000000 0x4000 -o "$WORK/after.bin" --probe "sim:$CHIP" --quiet
{ cat "$WORK/new.bin"; tail -c +4097 "$WORK/old.bin"; } >"$WORK/expect.bin"
if cmp -s "$WORK/after.bin" "$WORK/expect.bin"; then
    pass "sector 0 holds the new 4 KiB and the 12 KiB the server kept"
else
    fail "sector 0 differs: $(cmp "$WORK/after.bin" "$WORK/expect.bin" | head -1)"
fi
finish
