#!/usr/bin/env bash
# journal_cli.sh - the recovery journal through `oflash program` / `otp lock`
# on the simulated STM32F401RE (issue 14, findings 1 and 2):
#  - finding 1: 8 KiB over a full image, power cut during the erase of
#    sector 0: the rerun says it restores and the kept bytes
#    0x08002000-0x08003FFF are back; the journal is gone afterwards;
#  - the journal's place: $XDG_STATE_HOME/oflash, --journal-dir;
#  - a journal that does not check out (bad CRC, truncated, another chip's
#    journal under this chip's name) is refused, named, left as it is, and
#    nothing is written to the chip;
#  - a journal of another chip is left alone and reported;
#  - an unfinished journal write (.tmp) is removed;
#  - no place to write the journal: refused before the erase, chip intact;
#  - --plan reports a pending restore and writes nothing;
#  - finding 2: "SN-0005" is not overwritten by "SN-0001", with and without
#    --otp-resume, and the message does not suggest --otp-resume;
#  - an OTP write cut short: the plain rerun names --otp-resume, which
#    finishes it; on a chip without unique ID --otp-resume is refused;
#  - otp lock cut short, finished with otp lock --otp-resume;
#  - oflash erase drops the journal's contents of the sectors it erases.
set -euo pipefail
: "${OFLASH:?OFLASH must point at the oflash CLI}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
expect() { # expect DESC RC WANT_RC OUTPUT PATTERN: exit code and a line matching
    if [ "$2" -eq "$3" ] && grep -q -- "$5" <<<"$4"; then pass "$1"; else
        fail "$1 (exit $2, expected $3; '$5' in: $4)"
    fi
}
run() { # run VAR ARGS...: output and exit code of the CLI in OUT / RC
    RC=0
    OUT=$("$OFLASH" "$@" 2>&1) || RC=$?
}
sum() { "$OFLASH" read 0x08000000 0x80000 -o "$WORK/d.bin" --probe "sim:$1" -q &&
    "$OFLASH" read 0x1FFF7800 0x210 -o "$WORK/o.bin" --probe "sim:$1" -q &&
    cat "$WORK/d.bin" "$WORK/o.bin" | md5sum | cut -d' ' -f1; }

python3 - "$WORK" <<'EOF'
import random, sys
w = sys.argv[1]
r = random.Random(9)
open(f"{w}/full.bin", "wb").write(bytes(r.randrange(256) for _ in range(512 * 1024)))
open(f"{w}/small.bin", "wb").write(bytes(r.randrange(256) for _ in range(8 * 1024)))
open(f"{w}/sn5.bin", "wb").write(b"SN-0005-2026-11A")
open(f"{w}/sn1.bin", "wb").write(b"SN-0001-2026-11A")
open(f"{w}/lock.bin", "wb").write(b"\x00")
full = open(f"{w}/full.bin", "rb").read()
small = open(f"{w}/small.bin", "rb").read()
open(f"{w}/want.bin", "wb").write(small + full[len(small):])
EOF
export XDG_STATE_HOME=$WORK/state
JD=$WORK/state/oflash
UID_A=0102030405060708090a0b0c
UID_B=a1a2a3a4a5a6a7a8a9aaabac

# A chip holding the full image, cut during the erase of sector 0 by an 8 KiB image.
cut_chip() { # cut_chip PATH UID [JOURNAL ARGS...]
    local c=$1 u=$2
    shift 2
    "$OFLASH" sim create "$c" --device STM32F401RE --uid "$u" >/dev/null
    "$OFLASH" program "$WORK/full.bin@0x08000000" --probe "sim:$c" -q "$@"
    "$OFLASH" sim fault "$c" --power-loss-after 0 >/dev/null
    if "$OFLASH" program "$WORK/small.bin@0x08000000" --probe "sim:$c" -q "$@" 2>/dev/null; then
        fail "the run with a power cut during the erase succeeded"
    fi
}

# ---- finding 1 ----
cut_chip "$WORK/a.sim" $UID_A
[ -f "$JD/$UID_A.journal" ] && pass "journal in \$XDG_STATE_HOME/oflash, named by the unique ID" ||
    fail "no journal at $JD/$UID_A.journal: $(ls -R "$WORK/state" 2>&1)"
before=$(sum "$WORK/a.sim")
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/a.sim" --plan
expect "--plan names the pending restore" "$RC" 0 "$OUT" "holds 1 sector an interrupted run left"
[ "$(sum "$WORK/a.sim")" = "$before" ] && [ -f "$JD/$UID_A.journal" ] &&
    pass "--plan wrote nothing (chip and journal as they were)" || fail "--plan changed something"
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/a.sim"
expect "rerun says it restores sector 0 with its kept bytes" "$RC" 0 "$OUT" \
    "restoring sector 0 (0x08000000-0x08003FFF, 8192 kept bytes)"
"$OFLASH" read 0x08000000 0x80000 -o "$WORK/back.bin" --probe "sim:$WORK/a.sim" -q
cmp -s "$WORK/back.bin" "$WORK/want.bin" && pass "kept bytes 0x08002000-0x08003FFF kept, whole flash exact" ||
    fail "flash differs: $(cmp "$WORK/back.bin" "$WORK/want.bin" | head -1)"
[ ! -e "$JD/$UID_A.journal" ] && pass "journal removed after the sector verified" || fail "journal left behind"

# ---- oflash erase: the sectors it erases lose what the journal saved ----
cut_chip "$WORK/e.sim" 0e0e0e0e0e0e0e0e0e0e0e0e
run erase --sector 1,0 --probe "sim:$WORK/e.sim"
expect "erase drops the journal's entry for sector 0" "$RC" 0 "$OUT" \
    "0x08000000-0x08003FFF was erased on request; the contents an interrupted run saved for it are dropped"
[ ! -e "$JD/0e0e0e0e0e0e0e0e0e0e0e0e.journal" ] && pass "journal removed by the erase" ||
    fail "journal still there after the erase"
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/e.sim"
grep -q restoring <<<"$OUT" && fail "erased sector restored: $OUT" || pass "nothing restored after the erase"
"$OFLASH" read 0x08000000 0x80000 -o "$WORK/back.bin" --probe "sim:$WORK/e.sim" -q
python3 - "$WORK" <<'EOF2' && pass "erased sectors stay erased around the new image" || fail "flash after erase + program differs"
import sys
w = sys.argv[1]
full = open(f"{w}/full.bin", "rb").read()
small = open(f"{w}/small.bin", "rb").read()
want = small + b"\xff" * (0x8000 - len(small)) + full[0x8000:]
sys.exit(0 if open(f"{w}/back.bin", "rb").read() == want else 1)
EOF2

# ---- --journal-dir ----
cut_chip "$WORK/b.sim" $UID_B --journal-dir "$WORK/station"
[ -f "$WORK/station/$UID_B.journal" ] && [ ! -e "$JD/$UID_B.journal" ] &&
    pass "--journal-dir puts the journal there" || fail "--journal-dir not used"
cp "$WORK/station/$UID_B.journal" "$WORK/b.journal.orig"

# A journal that does not check out is never applied: bad CRC ...
python3 - "$WORK/station/$UID_B.journal" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[200] ^= 0x40
open(p, "wb").write(b)
EOF
bad_sum=$(sum "$WORK/b.sim")
cp "$WORK/station/$UID_B.journal" "$WORK/b.journal.bad"
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/b.sim" --journal-dir "$WORK/station"
expect "journal with a bad CRC refused, named" "$RC" 1 "$OUT" "$UID_B.journal does not check out.*CRC mismatch"
cmp -s "$WORK/station/$UID_B.journal" "$WORK/b.journal.bad" && [ "$(sum "$WORK/b.sim")" = "$bad_sum" ] &&
    pass "bad journal left as it was, chip untouched" || fail "bad journal or chip changed"
# ... truncated ...
head -c 9000 "$WORK/b.journal.orig" >"$WORK/station/$UID_B.journal"
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/b.sim" --journal-dir "$WORK/station"
expect "truncated journal refused" "$RC" 1 "$OUT" "does not check out.*truncated"
# ... another chip's journal under this chip's name.
cut_chip "$WORK/c.sim" 0c0b0a090807060504030201 --journal-dir "$WORK/other"
cp "$WORK/other/0c0b0a090807060504030201.journal" "$WORK/station/$UID_B.journal"
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/b.sim" --journal-dir "$WORK/station"
expect "another chip's journal refused" "$RC" 1 "$OUT" "belongs to another chip (unique ID 0c0b0a090807060504030201)"
[ "$(sum "$WORK/b.sim")" = "$bad_sum" ] && pass "chip untouched by refused journals" || fail "chip changed"

# The real journal back, and a journal of another chip beside it, and an
# unfinished write of this chip's journal.
cp "$WORK/b.journal.orig" "$WORK/station/$UID_B.journal"
cp "$WORK/other/0c0b0a090807060504030201.journal" "$WORK/station/"
echo partial >"$WORK/station/$UID_B.journal.tmp"
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/b.sim" --journal-dir "$WORK/station"
expect "restored from --journal-dir" "$RC" 0 "$OUT" "1 sector restored and verified (8192 kept bytes back)"
grep -q "recovery journal of another chip (unique ID 0c0b0a090807060504030201) left alone" <<<"$OUT" &&
    [ -f "$WORK/station/0c0b0a090807060504030201.journal" ] &&
    pass "another chip's journal reported and left alone" || fail "other chip's journal: $OUT"
grep -q "removed .*$UID_B.journal.tmp: an unfinished recovery journal write" <<<"$OUT" &&
    [ ! -e "$WORK/station/$UID_B.journal.tmp" ] && pass "unfinished journal write removed" ||
    fail "stale .tmp: $OUT"
"$OFLASH" read 0x08000000 0x80000 -o "$WORK/back.bin" --probe "sim:$WORK/b.sim" -q
cmp -s "$WORK/back.bin" "$WORK/want.bin" && pass "chip B exact after the restore" || fail "chip B differs"

# No place to write the journal: refused before anything is erased.
"$OFLASH" sim create "$WORK/n.sim" --device STM32F401RE >/dev/null
"$OFLASH" program "$WORK/full.bin@0x08000000" --probe "sim:$WORK/n.sim" -q
before=$(sum "$WORK/n.sim")
: >"$WORK/afile"
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/n.sim" --journal-dir "$WORK/afile/j"
expect "journal directory impossible: refused" "$RC" 1 "$OUT" "nothing was erased"
[ "$(sum "$WORK/n.sim")" = "$before" ] && pass "chip untouched when the journal cannot be written" ||
    fail "chip changed although the journal could not be written"

# ---- finding 2: a complete different serial is not overwritten ----
"$OFLASH" sim create "$WORK/s.sim" --device STM32F401RE >/dev/null
"$OFLASH" program "$WORK/sn5.bin@0x1FFF7800" --probe "sim:$WORK/s.sim" --otp -q
before=$(sum "$WORK/s.sim")
for resume in "" --otp-resume; do
    run program "$WORK/sn1.bin@0x1FFF7800" --probe "sim:$WORK/s.sim" --otp $resume
    expect "SN-0005 -> SN-0001 refused ${resume:-without --otp-resume}" "$RC" 1 "$OUT" \
        "0x1FFF7806  0x35  0x31   OTP byte already programmed to another value"
    grep -q -- "--otp-resume finishes it" <<<"$OUT" && fail "message suggests --otp-resume: $OUT" ||
        pass "message does not suggest --otp-resume ${resume:+(with it)}"
done
[ "$(sum "$WORK/s.sim")" = "$before" ] && pass "SN-0005 still there, nothing written" || fail "serial changed"

# ---- an OTP write cut short: the journal makes --otp-resume true ----
"$OFLASH" sim create "$WORK/p.sim" --device STM32F401RE >/dev/null
"$OFLASH" sim fault "$WORK/p.sim" --power-loss-after 1 >/dev/null
run program "$WORK/sn1.bin@0x1FFF7800" --probe "sim:$WORK/p.sim" --otp
expect "OTP write cut by a power loss" "$RC" 1 "$OUT" "power lost"
run program "$WORK/sn1.bin@0x1FFF7800" --probe "sim:$WORK/p.sim" --otp
expect "plain rerun: partly programmed, names --otp-resume" "$RC" 1 "$OUT" \
    "partly programmed by an interrupted run (journal): --otp-resume finishes it"
run program "$WORK/sn1.bin@0x1FFF7800" --probe "sim:$WORK/p.sim" --otp --otp-resume
expect "--otp-resume finishes the journaled write" "$RC" 0 "$OUT" "verify ok"
"$OFLASH" read 0x1FFF7800 16 -o "$WORK/sn.bin" --probe "sim:$WORK/p.sim" -q
cmp -s "$WORK/sn.bin" "$WORK/sn1.bin" && pass "serial complete" || fail "serial wrong: $(xxd "$WORK/sn.bin")"
[ -z "$(ls -A "$JD" 2>/dev/null | grep -v 0c0b || true)" ] && pass "no journal left" || fail "journal left: $(ls "$JD")"

# ---- a chip without a readable unique ID ----
"$OFLASH" sim create "$WORK/u.sim" --device STM32F401RE --uid ffffffffffffffffffffffff >/dev/null
run program "$WORK/sn1.bin@0x1FFF7800" --probe "sim:$WORK/u.sim" --otp --otp-resume
expect "--otp-resume refused without a unique ID" "$RC" 1 "$OUT" "--otp-resume refused: the connected STM32F401xE has no readable unique ID"
"$OFLASH" program "$WORK/full.bin@0x08000000" --probe "sim:$WORK/u.sim" -q
run program "$WORK/small.bin@0x08000000" --probe "sim:$WORK/u.sim"
expect "kept bytes without a unique ID: warned" "$RC" 0 "$OUT" "no readable unique ID, so the 8192 old bytes kept in 1 sector are not in a recovery journal"

# ---- otp lock cut short ----
"$OFLASH" sim create "$WORK/l.sim" --device STM32F401RE >/dev/null
"$OFLASH" sim fault "$WORK/l.sim" --power-loss-after 0 >/dev/null
run otp lock 3 --yes --probe "sim:$WORK/l.sim"
expect "otp lock cut by a power loss" "$RC" 1 "$OUT" "power lost"
run otp lock 3 --yes --probe "sim:$WORK/l.sim"
if [ "$RC" -eq 0 ]; then
    pass "otp lock rerun (the cut left the byte untouched)"
else
    expect "otp lock rerun names --otp-resume" "$RC" 1 "$OUT" "--otp-resume finishes it"
    run otp lock 3 --yes --otp-resume --probe "sim:$WORK/l.sim"
    expect "otp lock --otp-resume finishes it" "$RC" 0 "$OUT" "locked 1 block"
fi
run otp --probe "sim:$WORK/l.sim"
grep -q "^    3  0x1FFF7860  locked  0x00" <<<"$OUT" && pass "block 3 locked" || fail "block 3: $OUT"

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS failed" >&2
    exit 1
fi
echo "all passed"
