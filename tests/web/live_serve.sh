#!/usr/bin/env bash
# live_serve.sh sqlite|pg - every `oflash prod run` publishes its live state
# into its ledger, page or not, and `oflash prod serve` shows it:
#  - two stations without --http on one database (a real SQLite file, or a
#    real PostgreSQL server: tests/lib/pg.sh) both show in /api/status of
#    `prod serve`, running, with their ports and counts;
#  - a station killed with kill -9 shows as "lost" (no heartbeat) within
#    seconds, the other one stays "running";
#  - pg: with the live-state table locked by another session, the station
#    keeps programming units (publishing is never on a port's path), and a
#    Ctrl-C then still ends it within seconds (the final put gives up);
#  - a station stopped with Ctrl-C exits 130 and shows as "stopped";
#  - --no-publish: a station that does not show at all;
#  - prod serve before the first run: a note and the page say there is no
#    ledger yet, and none is created (a missing SQLite file, an empty PG DB);
#  - the next serial on the page of prod serve (no job file) is the one
#    `prod status --db` gives, spelled from the scheme the ledger keeps.
source "$(dirname "$0")/../flash/lib.sh"
BACKEND=${1:?sqlite or pg}
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"
if [ "$BACKEND" = pg ]; then
    source "$(dirname "$0")/../lib/pg.sh"
    trap 'pg_cleanup; cleanup' EXIT
    pg_start
    DB=$PG_URL
else
    DB="sqlite:$WORK/line.db"
fi
JOB=(--image "$WORK/fw.hex" --device STM32F401RE --serial-at 0x1FFF7800 --db "$DB" --quiet)

# station NAME [ARGS...]: a station of one sim-feed port, in the background
station() {
    local n=$1; shift
    mkdir -p "$WORK/$n"
    "$OFLASH" prod run "${JOB[@]}" --station "$n" --probe "sim-feed:$WORK/$n" \
        --journal-dir "$WORK/journal-$n" "$@" >"$WORK/$n.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$n=$!"
}
# exits_within PID SECONDS: PID ends within SECONDS; rc = its exit code
# or "timeout" (not in $(...): wait needs this shell, the parent)
exits_within() {
    local t=$((SECONDS + $2))
    rc=0
    while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $t ]; do sleep 0.1; done
    if kill -0 "$1" 2>/dev/null; then rc=timeout; return; fi
    wait "$1" || rc=$?
}
# live STATION FIELD: a field of the station's entry in /api/status
# ("absent" when it is not listed)
live() {
    curl -s --max-time 5 "${URL}api/status" | python3 -c '
import json, sys
st, field = sys.argv[1], sys.argv[2]
for s in json.load(sys.stdin)["stations"]:
    if s.get("station") == st:
        v = s.get(field)
        if field == "ports": v = len(v)
        print(str(v).lower()); break
else:
    print("absent")' "$1" "$2" 2>/dev/null || echo "no-answer"
}
# wait_live STATION FIELD VALUE SECONDS: until the field has the value
wait_live() {
    local t=$((SECONDS + $4))
    while [ $SECONDS -lt $t ]; do
        [ "$(live "$1" "$2")" = "$3" ] && return 0
        sleep 0.2
    done
    return 1
}

# prod serve before the first run: it starts, says there is no ledger yet
# (note and page) and creates none (read-only open).
if [ "$BACKEND" = pg ]; then
    NONE=$(pg_newdb none)
    created() { [ "$("$PG_BIN/psql" -X -q -t -A -h 127.0.0.1 -p "$PG_PORT" -U oflash -d none \
        -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" != 0 ]; }
else
    NONE="sqlite:$WORK/none.db"
    created() { ls "$WORK"/none.db* >/dev/null 2>&1; }
fi
"$OFLASH" prod serve --db "$NONE" --http 127.0.0.1:0 >"$WORK/serve0.out" 2>"$WORK/serve0.err" &
SERVE0=$!
for _ in $(seq 100); do grep -q "^web page: " "$WORK/serve0.err" && break; sleep 0.1; done
URL0=$(sed -n 's/^web page: \(http[^ ]*\).*/\1/p' "$WORK/serve0.err")
ERR0=$(curl -s --max-time 5 "${URL0}api/status" | python3 -c 'import json, sys; print(json.load(sys.stdin)["ledger"]["error"])' 2>&1)
kill "$SERVE0"
wait "$SERVE0" 2>/dev/null || true
[ -n "$URL0" ] && grep -q "note: no ledger .* yet.*: the first 'oflash prod run' creates it; the page shows it from then on" "$WORK/serve0.err" &&
    grep -q "no ledger .* yet" <<<"$ERR0" && ! created &&
    pass "prod serve before the first run: a note, the page says 'no ledger yet', nothing created" ||
    fail "serve of a missing ledger: url '$URL0' page '$ERR0' $(cat "$WORK/serve0.err") created: $(created && echo yes)"

station s1
station s2
station s3 --no-publish
# prod serve on a free port of its choosing; its URL from stderr
"$OFLASH" prod serve --db "$DB" --http 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE=$!
PIDS+=($SERVE)
for _ in $(seq 100); do grep -q "^web page: " "$WORK/serve.err" && break; sleep 0.1; done
URL=$(sed -n 's/^web page: \(http[^ ]*\).*/\1/p' "$WORK/serve.err")
[ -n "$URL" ] || { cat "$WORK/serve.err" >&2; fail "prod serve did not start"; finish; }

if wait_live s1 liveness running 30 && wait_live s2 liveness running 30; then
    pass "prod serve shows both stations without --http live (liveness running)"
else
    fail "not both running: s1=$(live s1 liveness) s2=$(live s2 liveness)"; tail -3 "$WORK"/s?.log >&2
fi
[ "$(live s1 ports)" = 1 ] && [ "$(live s2 online)" = true ] &&
    pass "their entries hold the ports and online = true" ||
    fail "s1 ports $(live s1 ports), s2 online $(live s2 online)"
t=$((SECONDS + 60))
until n=$(live s1 passed) && [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || [ $SECONDS -ge $t ]; do sleep 0.3; done
[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && pass "s1's units show while it runs ($n passed)" || fail "s1 passed: $n"
[ "$(live s3 liveness)" = absent ] && pass "--no-publish: s3 is not shown" ||
    fail "s3 published: $(live s3 liveness)"
ctrl_c "$PID_s3"
exits_within "$PID_s3" 30
[ "$rc" = 130 ] && pass "s3 (--no-publish) stopped with Ctrl-C: exit 130" || fail "s3 after Ctrl-C: $rc"

kill -9 "$PID_s1"
wait "$PID_s1" 2>/dev/null || true
if wait_live s1 liveness lost 15; then
    pass "s1 killed with kill -9: shown lost (no heartbeat for $(live s1 age_s) s, online $(live s1 online))"
else
    fail "s1 after kill -9: liveness $(live s1 liveness)"
fi
[ "$(live s2 liveness)" = running ] && pass "s2 still running" || fail "s2: $(live s2 liveness)"

if [ "$BACKEND" = pg ]; then
    # Another session holds the live-state table: every put of s2 waits on
    # it (and gives up after 2 s); the ports must not notice.
    before=$(live s2 passed)
    pg_psql oflash "BEGIN; LOCK TABLE station_live IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT" \
        >/dev/null 2>&1 &
    LOCKER=$!
    PIDS+=($LOCKER)
    sleep 1
    t0=$(jget "$("$OFLASH" prod status --db "$DB" --json)" pass)
    sleep 6
    t1=$(jget "$("$OFLASH" prod status --db "$DB" --json)" pass)
    [ "$t1" -gt "$t0" ] && pass "live-state table locked: the station programmed $((t1 - t0)) units in 6 s" ||
        fail "no unit while the live-state table was locked ($t0 -> $t1; s2 had $before)"
    ctrl_c "$PID_s2"
    exits_within "$PID_s2" 10
    [ "$rc" = 130 ] && pass "Ctrl-C with the live-state table still locked: s2 stopped within 10 s, exit 130" ||
        { fail "s2 after Ctrl-C with the table locked: $rc"; tail -5 "$WORK/s2.log" >&2; }
    pg_psql oflash "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
                    AND query LIKE '%LOCK TABLE station_live%'" >/dev/null
    wait "$LOCKER" 2>/dev/null || true
    # Its final put could not be written: the page shows the heartbeat
    # going stale, never "running".
    wait_live s2 online false 15 && [ "$(live s2 liveness)" != running ] &&
        pass "s2 after that: $(live s2 liveness), not running" || fail "s2: $(live s2 liveness)"
    station s2
    wait_live s2 liveness running 30 && pass "s2 restarted: running again" ||
        fail "s2 restarted: $(live s2 liveness)"
fi

ctrl_c "$PID_s2"
exits_within "$PID_s2" 30
[ "$rc" = 130 ] && pass "s2 stopped with Ctrl-C: exit 130" || { fail "s2 after Ctrl-C: $rc"; tail -5 "$WORK/s2.log" >&2; }
if wait_live s2 liveness stopped 5; then
    pass "s2 shown stopped at once (its last put: running $(live s2 running))"
else
    fail "s2 after Ctrl-C: liveness $(live s2 liveness)"
fi
[ "$(live s1 liveness)" = lost ] && pass "s1 still shown lost" || fail "s1: $(live s1 liveness)"
# The ledger keeps its pool's scheme: prod serve (no job) spells the next
# serial as prod status --db does, as it will be written.
pyget='import json, sys; d = json.load(sys.stdin); print((d.get("counts") or d).get("next_serial"))'
page_next=$(curl -s --max-time 5 "${URL}api/status" | python3 -c "$pyget")
status_next=$("$OFLASH" prod status --db "$DB" --json | python3 -c "$pyget")
[[ $page_next =~ ^[0-9]{8}$ ]] && [ "$page_next" = "$status_next" ] &&
    pass "prod serve and prod status --db (no job) give the next serial: $page_next" ||
    fail "next serial: page '$page_next', status '$status_next'"
# A second pool (another scheme, its own name) on the same ledger: /api/status
# lists every pool with its scheme in words, serials left and next serial,
# exactly as prod status --db (no job) does; the default pool's next serial
# is still the one the counters show.
"$OFLASH" prod run "${JOB[@]}" --station p2 --probe "sim-feed:$WORK/p2" --journal-dir "$WORK/journal-p2" \
    --serial-pool lot2 --serial-format ascii-hex --serial-len 6 --serial-prefix LOT2- --serial-start 2560 \
    --units 2 --no-publish >"$WORK/p2.log" 2>&1 || fail "the lot2 job: $(tail -3 "$WORK/p2.log")"
pools_of='import json, sys
d = json.load(sys.stdin)
print(json.dumps([[p["name"], p["scheme"], p["issued"], p["left"], p["next_serial"] or None]
                  for p in d["pools"]], sort_keys=True))'
status_pools=$("$OFLASH" prod status --db "$DB" --json | python3 -c "$pools_of")
# prod serve answers from a status up to 1 s old (STATUS_MAX_MS): wait for it.
t=$((SECONDS + 20))
until page_pools=$(curl -s --max-time 5 "${URL}api/status" | python3 -c "$pools_of") &&
    [ "$page_pools" = "$status_pools" ] || [ $SECONDS -ge $t ]; do sleep 0.3; done
echo "pools on the page: $page_pools"
[ -n "$page_pools" ] && [ "$page_pools" = "$status_pools" ] &&
    pass "/api/status lists the ledger's pools as prod status --db does" ||
    fail "pools: page '$page_pools', status '$status_pools'"
python3 - "$page_pools" "$status_next" <<'PY' && pass "pools: default and lot2, lot2's scheme in words, 2 issued, next LOT2-000A02" || fail "pools content: $page_pools"
import json, sys
p = {r[0]: r for r in json.loads(sys.argv[1])}
assert sorted(p) == ["default", "lot2"], p
assert p["lot2"][2] == 2 and p["lot2"][4] == "LOT2-000A02", p["lot2"]
assert "LOT2-" in p["lot2"][1] and "hex" in p["lot2"][1], p["lot2"][1]
assert p["default"][4] == sys.argv[2], (p["default"], sys.argv[2])
PY
grep -h "warning\|error" "$WORK"/s?.log | head -5 || true
finish
