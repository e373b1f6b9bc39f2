#!/usr/bin/env bash
# station.sh sqlite|pg - the production station on simulated chips, with a
# real SQLite file or a real PostgreSQL server (tests/lib/pg.sh):
#  - one unit: the serial lands in OTP, the ledger record holds the chip's UID;
#  - UID rebinding: the same chip again gets the same serial, zero writes;
#  - a chip holding a serial of another UID is refused, chip byte-identical;
#  - a serial field over image data is refused before any chip is touched;
#  - a serial list running out stops the line with a clear message;
#  - a pool keeps its scheme: another one is refused unless it names a new
#    pool; `prod status --db` alone spells every pool's next serial;
#  - `prod run --plan` and `prod status` of a pool not in the ledger yet say
#    so (and its first serial) and leave the database as it was (dumped);
#  - they open the ledger read-only: a missing SQLite file stays missing
#    (also the default one beside a job file), an empty PostgreSQL database
#    stays empty, a schema-2 ledger stays schema 2 (a real run upgrades it);
#  - a gang of 4 ports with one failing chip: the other 3 pass;
#  - RDP 1 after verify: `oflash read` then fails; RDP 2 needs its second flag;
#  - an unreachable database: refused before any chip is touched.
source "$(dirname "$0")/../flash/lib.sh"
BACKEND=${1:?sqlite or pg}
DEV=STM32F401RE
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"

if [ "$BACKEND" = pg ]; then
    source "$(dirname "$0")/../lib/pg.sh"
    trap 'pg_cleanup; cleanup' EXIT
    pg_start
    newdb() { pg_newdb "$1"; }
else
    newdb() { echo "sqlite:$WORK/$1.db"; }
fi

new_chip() { "$OFLASH" sim create "$WORK/$1" --device $DEV >/dev/null; }
uid_of() { sj "$("$OFLASH" sim show "$WORK/$1" --json)" uid; }
# otp_text CHIP N: the first N bytes of OTP as text
otp_text() {
    "$OFLASH" read 0x1FFF7800 "$2" -o "$WORK/otp.$1.bin" --probe "sim:$WORK/$1" --device $DEV --quiet &&
        tr -d '\377' <"$WORK/otp.$1.bin"
}
# state CHIP: flash + OTP + lock bytes + option bytes, for "unchanged" checks
state() { "$OFLASH" sim show "$WORK/$1" --json | sed 's/"last_run".*//'; dump "$WORK/$1.dump.$2" >/dev/null; }
# sj JSON KEY: a value of compact JSON (oflash sim show --json)
sj() { grep -o "\"$2\": *[^,}]*" <<<"$1" | head -1 | sed -E 's/^"[^"]*": *//; s/"//g'; }
export_json() { "$OFLASH" prod export --db "$1" --format json; }
# db_dump URL: the ledger's schema and every row, from the database's own
# tools (a plan or a status must leave it as it was)
db_dump() {
    case "$1" in
    sqlite:*) python3 -c 'import sqlite3, sys
print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' "${1#sqlite:}" ;;
    *) "$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U oflash "${1##*/}" | grep -v '^--\|^\\\(un\)\?restrict ' ;; # (\restrict: a random key per dump)
    esac
}
count() { grep -o "$2" <<<"$1" | wc -l; }
JOB=(--image "$WORK/fw.hex" --device $DEV --serial-at 0x1FFF7800 --station st1 --quiet)

# --- one unit; the same chip again: same serial, zero writes -------------
DB=$(newdb units)
new_chip c1
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/c1" --db "$DB" --units 1
[ "$rc" = 0 ] && pass "one unit on sim:c1 passes" || fail "one unit: rc=$rc $out"
[ "$(otp_text c1 8)" = 00000001 ] && pass "serial 00000001 is in OTP at 0x1FFF7800" || fail "OTP: $(otp_text c1 8)"
U1=$(uid_of c1)
EX=$(export_json "$DB")
grep -q "\"serial\": *\"00000001\"" <<<"$EX" && grep -q "\"uid\": *\"$U1\"" <<<"$EX" &&
    grep -q '"state": *"pass"' <<<"$EX" && pass "ledger: 00000001 pass, bound to UID $U1" || fail "export: $EX"

T=(--probe "sim:$WORK/c1" --device $DEV)
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/c1" --db "$DB" --units 1 --json
[ "$rc" = 0 ] && [ "$(jget "$out" passed)" = 1 ] && pass "the same chip again passes" || fail "rerun: rc=$rc $out"
S=$("$OFLASH" sim show "$WORK/c1" --json)
[ "$(sj "$S" program_ops)" = 0 ] && [ "$(sj "$S" erase_ops)" = 0 ] &&
    pass "rerun: zero program and erase operations on the chip" || fail "rerun wrote: $S"
EX2=$(export_json "$DB")
[ "$(count "$EX2" '"serial"')" = 1 ] && grep -q '"00000001"' <<<"$EX2" &&
    pass "rerun: still one record, serial 00000001 (no second serial)" || fail "rerun export: $EX2"

CSV=$("$OFLASH" prod export --db "$DB" --format csv --since 2000-01-01T00:00Z)
[ "$(wc -l <<<"$CSV")" = 2 ] && head -1 <<<"$CSV" | grep -q '^id,serial,' && grep -q ",00000001," <<<"$CSV" &&
    [ -z "$("$OFLASH" prod export --db "$DB" --format csv --since @4102444800 | tail -n +2)" ] &&
    pass "prod export --since: a header + 1 record since 2000, none since 2100" || fail "export --since: $CSV"
run_oflash out rc prod export --db "$DB" --since yesterday
[ "$rc" = 2 ] && grep -q "expected 2026-11-30" <<<"$out" && pass "--since yesterday: usage error naming the forms" || fail "since: rc=$rc $out"

# --- a job file; flags override its keys; the default ledger beside it --
mkdir -p "$WORK/job"
cp "$WORK/fw.hex" "$WORK/job/app.hex"
new_chip j1
cat >"$WORK/job/line.ini" <<EOF
; a line of one port
[job]
image = app.hex
device = $DEV
probe = sim:$WORK/j1
station = st-job

[serial]
at = 0x1FFF7800
prefix = AB-
len = 4
EOF
if [ "$BACKEND" = pg ]; then DBJ=(--db "$(newdb job)"); else DBJ=(); fi
run_oflash out rc prod run "$WORK/job/line.ini" "${DBJ[@]}" --serial-prefix XY- --units 1 --quiet
[ "$rc" = 0 ] && [ "$(otp_text j1 7)" = XY-0001 ] && pass "job file + --serial-prefix over its prefix: XY-0001 in OTP" ||
    fail "job file: rc=$rc $out / $(otp_text j1 7)"
if [ "$BACKEND" = sqlite ]; then
    [ -s "$WORK/job/line.db" ] && "$OFLASH" prod status "$WORK/job/line.ini" --serial-prefix XY- | grep -q "pass 1" &&
        pass "no db in the job: sqlite:line.db beside line.ini; prod status reads it" || fail "default db: $(ls "$WORK/job")"
fi
# The job file's own prefix (AB-) on the ledger whose pool 'default' has
# XY- now: refused, the plan too; a new pool name for it: the plan.
run_oflash out rc prod run "$WORK/job/line.ini" --plan "${DBJ[@]}"
[ "$rc" = 1 ] && grep -q "keeps serial pool 'default' with another scheme (ascii-dec, 4 digits, prefix \"XY-\"" <<<"$out" &&
    pass "--plan of another scheme on the same pool: refused" || fail "--plan, other scheme: rc=$rc $out"
run_oflash out rc prod run "$WORK/job/line.ini" --plan --serial-pool ab "${DBJ[@]}"
[ "$rc" = 0 ] && grep -q "serial *ascii-dec, 4 bytes, first AB-0001" <<<"$out" && grep -q "OTP .*can never be erased" <<<"$out" &&
    pass "--plan prints the plan with the irreversible steps" || fail "--plan: rc=$rc $out"

ST=$("$OFLASH" prod status --db "$DB" --serial-at 0x1FFF7800 --json)
[ "$(sj "$ST" pass)" = 1 ] && [ "$(sj "$ST" next_serial)" = 00000002 ] &&
    pass "prod status --db: 1 pass, next serial 00000002" || fail "status: $ST"

# --- a plan and a status write nothing: a new pool is the first run's ---
D0=$(db_dump "$DB")
grep -q "INSERT INTO \"\?pools\"\? \|^COPY public.pools " <<<"$D0" && pass "dump: the ledger's pools are in the dump" || fail "dump: $D0"
NEW=(--serial-pool lot3 --serial-prefix P3-)
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/c1" --db "$DB" --plan "${NEW[@]}"
[ "$rc" = 0 ] && grep -q "pool *'lot3' is not in the ledger yet: the first 'oflash prod run' creates it, starting at P3-00000001" <<<"$out" &&
    pass "--plan, new pool: 'not in the ledger yet', first serial P3-00000001" || fail "--plan new pool: rc=$rc $out"
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/c1" --db "$DB" --plan
[ "$rc" = 0 ] && grep -q "pool *'default', next serial 00000002" <<<"$out" &&
    pass "--plan, existing pool: its next serial 00000002" || fail "--plan pool: rc=$rc $out"
run_oflash out rc prod status --db "$DB" --serial-at 0x1FFF7800 "${NEW[@]}"
[ "$rc" = 0 ] && grep -q "pool lot3: not in the ledger yet; the first 'oflash prod run' creates it, starting at P3-00000001" <<<"$out" &&
    ! grep -q "pool lot3: ascii" <<<"$out" && pass "prod status --serial-pool lot3 (new): not in the ledger yet" || fail "status new pool: rc=$rc $out"
ST=$("$OFLASH" prod status --db "$DB" --serial-at 0x1FFF7800 "${NEW[@]}" --json)
grep -q '"new_pool": *{"name": *"lot3", *"first_serial": *"P3-00000001"}' <<<"$ST" && ! grep -q '"name": *"lot3", *"scheme"' <<<"$ST" &&
    pass "prod status --json: new_pool lot3, not among the pools" || fail "status json new pool: $ST"
D1=$(db_dump "$DB")
[ "$D0" = "$D1" ] && pass "plan + status of a new pool: the ledger is unchanged (schema and rows dumped before and after)" ||
    fail "plan/status wrote to the ledger: $(diff <(echo "$D0") <(echo "$D1") | head -20)"

# --- a plan, a status, an export open the ledger read-only --------------
# No ledger yet (a typo, or before the first run): nothing is created.
if [ "$BACKEND" = pg ]; then
    MISS=$(newdb empty)
    tables() { "$PG_BIN/psql" -X -q -t -A -h 127.0.0.1 -p "$PG_PORT" -U oflash -d empty \
        -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"; }
    absent() { [ "$(tables)" = 0 ]; }
    MISS_RE="no ledger in .*/empty yet (the database is empty): the first 'oflash prod run' creates it"
else
    MISS="sqlite:$WORK/typo.db"
    absent() { ! ls "$WORK"/typo.db* >/dev/null 2>&1; }
    MISS_RE="no ledger at $WORK/typo.db yet: the first 'oflash prod run' creates it"
fi
run_oflash out rc prod status --db "$MISS"
[ "$rc" = 1 ] && grep -q "$MISS_RE" <<<"$out" && absent &&
    pass "prod status, no ledger yet: exit 1, '$(tail -1 <<<"$out")'; nothing created" || fail "status of a missing ledger: rc=$rc $out"
run_oflash out rc prod status --db "$MISS" --serial-at 0x1FFF7800 --json
[ "$rc" = 1 ] && grep -q "no ledger" <<<"$out" && absent && pass "prod status --json, no ledger yet: exit 1, nothing created" ||
    fail "status --json of a missing ledger: rc=$rc $out"
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/c1" --db "$MISS" --plan
[ "$rc" = 0 ] && grep -q "the ledger $MISS does not exist yet; the first 'oflash prod run' creates it, with pool 'default' starting at 00000001" <<<"$out" &&
    grep -q "OTP .*can never be erased" <<<"$out" && absent &&
    pass "--plan, no ledger yet: the plan, 'does not exist yet', first serial 00000001; nothing created" || fail "--plan of a missing ledger: rc=$rc $out"
run_oflash out rc prod export --db "$MISS"
[ "$rc" = 1 ] && grep -q "no ledger" <<<"$out" && absent && pass "prod export, no ledger yet: exit 1, nothing created" ||
    fail "export of a missing ledger: rc=$rc $out"
if [ "$BACKEND" = sqlite ]; then
    # The default ledger beside a job file, before its first run.
    mkdir -p "$WORK/job0"
    cp "$WORK/job/line.ini" "$WORK/job/app.hex" "$WORK/job0/"
    run_oflash out rc prod run "$WORK/job0/line.ini" --plan
    run_oflash out2 rc2 prod status "$WORK/job0/line.ini"
    [ "$rc" = 0 ] && grep -q "the ledger sqlite:.*job0/line.db does not exist yet" <<<"$out" && grep -q "starting at AB-0001" <<<"$out" &&
        [ "$rc2" = 1 ] && grep -q "no ledger at .*job0/line.db yet" <<<"$out2" && [ -z "$(ls "$WORK/job0" | grep '\.db')" ] &&
        pass "a first --plan and status with the default ledger beside the job file: no line.db created" ||
        fail "default ledger plan: rc=$rc $out / rc=$rc2 $out2 / $(ls "$WORK/job0")"
fi

# A schema-2 ledger (as an older oflash left it): a plan, a status and an
# export leave it at schema 2; a real run upgrades it and goes on.
printf '[job]\nimage = %s\ndevice = %s\nprobe = sim:%s\n[serial]\nat = 0x1FFF7800\n' "$WORK/fw.hex" $DEV "$WORK/v1" >"$WORK/v2.ini"
DB2=$(newdb v2)
"$OFLASH_BUILD/tests/station/ledger_v2" "$WORK/v2.ini" "$DB2" || fail "ledger_v2 could not make a schema-2 ledger"
D0=$(db_dump "$DB2")
grep -q "INSERT INTO \"\?oflash_schema\"\? VALUES('oflash-ledger',2)\|^oflash-ledger	2$" <<<"$D0" && pass "dump: a schema-2 ledger" || fail "v2 dump: $D0"
run_oflash out rc prod status --db "$DB2"
[ "$rc" = 1 ] && grep -q "has schema version 2, older than this oflash's 3: the next 'oflash prod run' upgrades it" <<<"$out" &&
    pass "prod status of a schema-2 ledger: exit 1, 'the next oflash prod run upgrades it'" || fail "status v2: rc=$rc $out"
new_chip v1
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/v1" --db "$DB2" --plan
[ "$rc" = 0 ] && grep -q "the ledger has schema version 2: the first 'oflash prod run' upgrades it to version 3" <<<"$out" &&
    pass "--plan on a schema-2 ledger: the plan, 'the first run upgrades it'" || fail "--plan v2: rc=$rc $out"
EX=$(export_json "$DB2")
grep -q '"uid": *"C0FFEE"' <<<"$EX" && pass "prod export reads the schema-2 records as they are" || fail "export v2: $EX"
D1=$(db_dump "$DB2")
[ "$D0" = "$D1" ] && pass "status + plan + export: the schema-2 ledger is unchanged (still schema 2, same rows)" ||
    fail "read-only opens changed the schema-2 ledger: $(diff <(echo "$D0") <(echo "$D1") | head -20)"
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/v1" --db "$DB2" --units 1
ST=$("$OFLASH" prod status --db "$DB2" --serial-at 0x1FFF7800 --json)
[ "$rc" = 0 ] && [ "$(otp_text v1 8)" = 00000002 ] && [ "$(sj "$ST" schema_version)" = 3 ] && [ "$(sj "$ST" next_serial)" = 00000003 ] &&
    pass "a real run upgrades the schema-2 ledger to 3 and goes on: 00000002 in OTP, next 00000003" ||
    fail "run on v2: rc=$rc $out / $(otp_text v1 8) / $ST"

# --- a chip holding a serial the ledger gives to another UID: refused -----
new_chip c2
printf '00000001' >"$WORK/sn.bin"
"$OFLASH" program "$WORK/sn.bin@0x1FFF7800" --otp --probe "sim:$WORK/c2" --device $DEV --quiet
dump "$WORK/c2.before"
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/c2" --db "$DB" --units 1
[ "$rc" = 1 ] && grep -q "already holds serial 00000001" <<<"$out" && grep -q "$U1" <<<"$out" &&
    pass "foreign serial refused, naming the serial and its owner UID" || fail "foreign: rc=$rc $out"
dump "$WORK/c2.after"
cmp -s "$WORK/c2.before" "$WORK/c2.after" && pass "refused chip byte-identical (flash, OTP, locks)" || fail "refused chip changed"
EX3=$(export_json "$DB")
[ "$(count "$EX3" '"state": *"pass"')" = 1 ] && pass "ledger: no pass for the refused chip" || fail "export: $EX3"

# --- a pool keeps its scheme: another scheme needs a new pool name ------
run_oflash out rc prod run "${JOB[@]}" --serial-len 6 --serial-prefix L2- --probe "sim:$WORK/c5" --db "$DB" --units 1
[ "$rc" = 1 ] && grep -q "keeps serial pool 'default' with another scheme (ascii-dec, 8 digits" <<<"$out" &&
    grep -q "this job gives ascii-dec, 6 digits, prefix \"L2-\"" <<<"$out" && grep -q -- "--serial-pool NAME" <<<"$out" &&
    [ ! -e "$WORK/c5" ] && pass "another scheme on pool 'default': refused before any chip, naming both" ||
    fail "scheme change: rc=$rc $out"
new_chip c5
run_oflash out rc prod run "${JOB[@]}" --serial-len 6 --serial-prefix L2- --serial-pool lot2 --probe "sim:$WORK/c5" --db "$DB" --units 1
[ "$rc" = 0 ] && [ "$(otp_text c5 9)" = L2-000001 ] && pass "--serial-pool lot2: a new pool, L2-000001 in OTP" ||
    fail "new pool: rc=$rc $out"
# No job, no serial flags: the ledger's own schemes spell the next serials.
ST=$("$OFLASH" prod status --db "$DB" --json)
[ "$(sj "$ST" pool)" = default ] && [ "$(sj "$ST" next_serial)" = 00000002 ] && grep -q '"next_serial": *"L2-000002"' <<<"$ST" &&
    grep -q '"name": *"lot2"' <<<"$ST" && pass "prod status --db alone: pool default next 00000002, pool lot2 next L2-000002" ||
    fail "status without a job: $ST"
ST=$("$OFLASH" prod status --db "$DB" --serial-pool lot2)
grep -q "pool lot2: ascii-dec, 6 digits, prefix \"L2-\", counter from 1 step 1" <<<"$ST" &&
    grep -q "serials issued 1, 999998 of 999999 left, next L2-000002" <<<"$ST" &&
    pass "prod status --serial-pool lot2: scheme in words, 999998 of 999999 left, next L2-000002" || fail "status lot2: $ST"

# --- serial field over image data: refused before any chip is touched ----
printf 'ABCDEFGHIJKLMNOP' >"$WORK/otpdata.bin"
run_oflash out rc prod run --image "$WORK/fw.hex" --image "$WORK/otpdata.bin@0x1FFF7800" --device $DEV \
    --serial-at 0x1FFF7804 --probe "sim:$WORK/c3" --db "$DB" --units 1 --quiet
[ "$rc" != 0 ] && grep -qi "0x1FFF7804" <<<"$out" && pass "serial field over image data refused: $(tail -1 <<<"$out")" ||
    fail "overlap: rc=$rc $out"
[ ! -e "$WORK/c3" ] && pass "no chip was touched (sim:c3 never created)" || fail "c3 exists"
run_oflash out rc prod run "${JOB[@]}" --serial-at 0x08000000 --probe "sim:$WORK/c3" --db "$DB" --units 1
[ "$rc" != 0 ] && grep -q "0x08000000" <<<"$out" && [ ! -e "$WORK/c3" ] &&
    pass "serial field over the firmware's vector table refused" || fail "overlap flash: rc=$rc $out"

# --- list running out --------------------------------------------------
printf 'A1\nA2\n' >"$WORK/list.txt"
DBL=$(newdb list)
for c in l1 l2 l3; do new_chip $c; done
run_oflash out rc prod run "${JOB[@]}" --serial-format ascii-hex --serial-len 2 --serial-prefix SN- --serial-list "$WORK/list.txt" \
    --probe "sim:$WORK/l1" --probe "sim:$WORK/l2" --probe "sim:$WORK/l3" --db "$DBL" --units 3
[ "$rc" = 1 ] && grep -qi "no serials left" <<<"$out" && pass "list of 2 for 3 units: stops, 'no serials left'" ||
    fail "list out: rc=$rc $out"
got=$(for c in l1 l2 l3; do otp_text $c 5; echo; done | sort | tr '\n' ' ')
[ "$got" = " SN-A1 SN-A2 " ] && pass "two chips got SN-A1 and SN-A2, the third stays blank" || fail "list chips: '$got'"
ST=$("$OFLASH" prod status --db "$DBL")
grep -q "pool default: ascii-hex, 2 digits, prefix \"SN-\", list .*list.txt (2 serials, first SN-A1)" <<<"$ST" &&
    grep -q "serials issued 2, 0 of 2 left, next (none left)" <<<"$ST" &&
    pass "prod status --db of the list: its scheme and '0 of 2 left' without the list file" || fail "list status: $ST"

# --- gang of 4 with one failing chip ----------------------------------
DBG=$(newdb gang)
for c in g1 g2 g3 g4; do new_chip $c; done
"$OFLASH" sim fault "$WORK/g3" --fail-at 0x08000000 >/dev/null
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/g1" --probe "sim:$WORK/g2" --probe "sim:$WORK/g3" \
    --probe "sim:$WORK/g4" --db "$DBG" --json
[ "$rc" = 1 ] && [ "$(jget "$out" passed)" = 3 ] && [ "$(jget "$out" failed)" = 1 ] &&
    pass "gang of 4, one chip failing: 3 passed, 1 failed" || fail "gang: rc=$rc $out"
for c in g1 g2 g4; do [ -n "$(otp_text $c 8)" ] || fail "$c has no serial"; done
EXG=$(export_json "$DBG")
[ "$(count "$EXG" '"state": *"pass"')" = 3 ] && [ "$(count "$EXG" '"state": *"void"')" = 1 ] &&
    grep -q '"error": *"[^"]' <<<"$EXG" && pass "ledger: 3 pass, the failed unit void with its reason" || fail "gang export: $EXG"

# --- a gang of 4 sim-feed ports, one cutting every board's power --------
# Ports 2 and 3 run their cores on idle-priority threads (cpu=spare): the
# power loss in port 3's runs must come back to the station the same way.
DBF=$(newdb feed)
mkdir -p "$WORK/f1" "$WORK/f2" "$WORK/f3" "$WORK/f4"
run_oflash out rc prod run "${JOB[@]}" --probe "sim-feed:$WORK/f1" --probe "sim-feed:$WORK/f2?cpu=spare" \
    --probe "sim-feed:$WORK/f3?power-loss=1&power-loss-ops=6&cpu=spare" --probe "sim-feed:$WORK/f4" --db "$DBF" --units 9 --json
ports=$(grep -o '"ports": \[.*' <<<"$out")
p3=$(sed -E 's#.*"probe": "sim-feed:[^"]*/f3[?][^"]*", "state": "[a-z]*", "passed": ([0-9]+), "failed": ([0-9]+).*#\1 \2#' <<<"$ports")
[ "$rc" = 1 ] && [ "$(jget "$out" passed)" = 9 ] && [ "${p3% *}" = 0 ] && [ "${p3#* }" -ge 1 ] &&
    pass "sim-feed gang: 9 units passed on 3 ports while port 3 lost power on every board (${p3#* } failed)" ||
    fail "feed gang: rc=$rc p3='$p3' $out"
EXF=$(export_json "$DBF")
[ "$(count "$EXF" '"state": *"pass"')" = 9 ] && grep -q '"state": *"void"' <<<"$EXF" &&
    ! grep -A12 '"state": *"void"' <<<"$EXF" | grep -q '"error": *""' &&
    pass "ledger: 9 pass, every void has its reason ($(grep -m1 -o '"error": *"[^"]*power[^"]*"' <<<"$EXF"))" || fail "feed export: $EXF"

# --- readout protection -----------------------------------------------
new_chip r1
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/r1" --db "$DB" --units 1 --rdp 2
[ "$rc" = 2 ] && grep -q -- "--rdp2-permanent" <<<"$out" && [ "$(sj "$("$OFLASH" sim show "$WORK/r1" --json)" rdp_level)" = 0 ] &&
    pass "--rdp 2 without --rdp2-permanent: usage error, chip untouched" || fail "rdp2: rc=$rc $out"
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/r1" --db "$DB" --units 1 --rdp 1
[ "$rc" = 0 ] && [ "$(sj "$("$OFLASH" sim show "$WORK/r1" --json)" rdp_level)" = 1 ] &&
    pass "--rdp 1: unit passes, chip at RDP level 1" || fail "rdp1: rc=$rc $out"
EXR=$(export_json "$DB")
grep -q "\"uid\": *\"$(uid_of r1)\"" <<<"$EXR" && pass "RDP unit committed in the ledger" || fail "rdp export: $EXR"
run_oflash out rc read 0x08000000 16 -o "$WORK/r1.bin" --probe "sim:$WORK/r1" --device $DEV
[ "$rc" != 0 ] && pass "oflash read of the protected chip fails: $(tail -1 <<<"$out")" || fail "read after RDP 1 worked"

# --- the database unreachable: nothing touched ------------------------
run_oflash out rc prod run "${JOB[@]}" --probe "sim:$WORK/d1" --db "postgresql://oflash@127.0.0.1:1/none?connect_timeout=2" --units 1
[ "$rc" = 1 ] && grep -qi "database" <<<"$out" && [ ! -e "$WORK/d1" ] &&
    pass "unreachable database: refused before any chip ($(tail -1 <<<"$out"))" || fail "db down: rc=$rc $out"

finish
