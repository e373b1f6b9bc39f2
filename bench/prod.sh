#!/bin/bash
# bench/prod.sh [BUILD] [--http [HOST:]PORT] - the production line's figures:
#  1. serial reservations per second (reserve + started + finish of a unit)
#     on SQLite and on PostgreSQL, with 1 and 8 concurrent stations
#     (build/ledger_bench, one connection per station);
#  2. gang scaling: 1, 2, 4 and 8 sim-feed ports on one station (SQLite and
#     PostgreSQL ledger), the simulated cores on idle-priority threads
#     (cpu=spare: chips that take none of the station's CPU, as on a line)
#     and, for comparison, on the port threads (cpu=shared); GANG_RUNS (3)
#     runs each, medians; units per hour by simulated target time against N x the
#     single-port rate (goal >= 0.9), the station's time per unit outside
#     the chip's own work -- its own overhead and the ledger's waits on the
#     port's critical path, shown apart and added up (goal < 5 ms) -- and
#     database round trips per unit (goal <= 3).
#  3. the web page's cost: 4 ports with and without `--http` (plain HTTP,
#     and HTTPS with a throwaway certificate) and a client doing what an
#     open page does (docs/web.md), and with 20 idle connections open (slow
#     clients), 3 runs each, alternated (goal < 1 % of the units per hour).
#  4. the live-state publisher's cost (every `prod run` publishes; docs/web.md):
#     4 ports with and without `--no-publish`, on SQLite and PostgreSQL,
#     PUB_RUNS (5) runs of PUB_UNITS (128) units each, alternated, medians.
# --publish-only runs section 4 alone.
# --http [HOST:]PORT runs the gang part with the station's web page open
# (`prod run --http`), for the page's cost; PROD_RUN_ARGS adds any other
# `prod run` arguments.  UNITS (default 16 per port) sets the units per port;
# PARTS (default 1234) the sections to run, e.g. PARTS=2 for the gang only.
# A `prod run` that fails does not stop the bench: its result, its ports'
# last errors and the failed or void units of its ledger (serial, UID, error
# text) are printed, its folder (ledger, boards, journals; a PostgreSQL
# ledger dumped as ledger.sql) is kept and named at the end, the other runs
# go on, and the bench exits 1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
http=()
publish_only=
while [ $# -gt 0 ]; do
    case $1 in
    --http) http=(--http "$2"); shift 2 ;;
    --publish-only) publish_only=1; shift ;;
    *) build=$1; shift ;;
    esac
done
build=$(cd "$build" && pwd)
oflash=$build/oflash
units_per_port=${UNITS:-16}
parts=${PARTS:-1234}
cmake --build "$build" --target oflash_cli ledger_bench -j2 >/dev/null
tmp=$(mktemp -d)
source "$here/../tests/lib/pg.sh"
source "$here/lib/json.sh"
# Failed runs are listed in $tmp/failed-runs (a file: some runs are made
# in a command substitution's subshell).
cleanup() {
    pg_cleanup >/dev/null 2>&1 || true
    if [ -s "$tmp/failed-runs" ]; then
        echo "bench/prod.sh: kept $tmp for the failed runs:" >&2
        sed 's/^/  /' "$tmp/failed-runs" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

# run_failed DIR URL RC: the evidence of a failed `prod run` whose stdout
# and stderr are DIR/out and DIR/err -- printed on stderr, and kept in DIR.
run_failed() {
    local d=$1 url=$2 rc=$3
    echo "$d (exit $rc, ledger $url)" >>"$tmp/failed-runs"
    {
        echo "== prod run failed (exit $rc); its folder is kept: $d"
        echo "-- its result ($d/out):"
        python3 - "$d/out" <<'PY' || true
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("  no JSON result (%s)" % e)
err = s.get("error")
if isinstance(err, dict):
    err = err.get("message")
if err:
    print("  error: %s" % err)
for i, p in enumerate(s.get("ports", [])):
    if p["failed"] or p["last_error"]:
        print("  port %d (%s): %s passed, %s failed, %s; last error: %s"
              % (i + 1, p["probe"], p["passed"], p["failed"], p["state"], p["last_error"] or "none"))
PY
        echo "-- its error output (the last 40 lines of $d/err):"
        tail -n 40 "$d/err"
        echo "-- failed and void units in its ledger ($url):"
        if "$oflash" prod export --db "$url" --format json >"$d/export.json" 2>"$d/export.err"; then
            python3 - "$d/export.json" <<'PY' || true
import json, sys
bad = [r for r in json.load(open(sys.argv[1])) if r["state"] in ("fail", "void")]
for r in bad:
    print("  port %s serial %s UID %s %s: %s" % (r["port"], r["serial"], r["uid"], r["state"], r["error"]))
print("  (%d failed or void unit%s; all records in %s)" % (len(bad), "" if len(bad) == 1 else "s", sys.argv[1]))
PY
        else
            echo "  cannot export the ledger: $(cat "$d/export.err")"
        fi
        case $url in
        postgresql://*) "$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U oflash -d "${url##*/}" \
                            -f "$d/ledger.sql" 2>/dev/null && echo "-- the ledger dumped to $d/ledger.sql" ;;
        esac
    } >&2
}

pg_start >/dev/null
ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -nostdlib -T "$here/../tests/flash/fw/fw.ld" \
    -o "$tmp/fw.elf" "$here/../tests/flash/fw/fw.c"
arm-none-eabi-objcopy -O ihex -R .otp -R .otp_lock "$tmp/fw.elf" "$tmp/fw.hex"

# pub_run TAG sqlite|postgresql yes|no -> "units_per_hour elapsed_s db_ms"
pub_run() {
    local d=$tmp/pub-$1 extra=() out url rc=0
    mkdir -p "$d/p1" "$d/p2" "$d/p3" "$d/p4"
    [ "$3" = no ] && extra=(--no-publish)
    if [ "$2" = sqlite ]; then url=sqlite:$d/l.db; else url=$(pg_newdb "pub_$1"); fi
    XDG_STATE_HOME=$d/state "$oflash" prod run --image "$tmp/fw.hex" --device STM32F401RE \
        --serial-at 0x1FFF7800 --db "$url" --units "$pub_units" --probe "sim-feed:$d/p1" \
        --probe "sim-feed:$d/p2" --probe "sim-feed:$d/p3" --probe "sim-feed:$d/p4" \
        "${extra[@]}" --json >"$d/out" 2>"$d/err" || rc=$?
    [ $rc -eq 0 ] || run_failed "$d" "$url" $rc
    out=$(cat "$d/out")
    echo "$(jget "$out" units_per_hour) $(jget "$out" elapsed_s) $(jget "$out" db_ms)"
}
# PUB_UNITS (default 128) units a run, PUB_RUNS (default 5) runs each way.
pub_units=${PUB_UNITS:-128}
pub_runs=${PUB_RUNS:-5}
publish_cost() {
    local db i without with
    echo "== the live-state publisher's cost (4 sim-feed ports, $pub_units units; $pub_runs runs each, alternated, medians)"
    printf '%-12s %-18s %12s %8s %10s\n' ledger "" "units/hour" "host s" "ledger ms"
    for db in sqlite postgresql; do
        without=() with=()
        for i in $(seq "$pub_runs"); do
            without+=("$(pub_run ${db}n$i $db no)")
            with+=("$(pub_run ${db}y$i $db yes)")
        done
        med() { printf '%s\n' "${@:2}" | awk -v c="$1" '{print $c}' | sort -g | sed -n "$(((pub_runs + 1) / 2))p"; }
        local u0 u1
        u0=$(med 1 "${without[@]}"); u1=$(med 1 "${with[@]}")
        printf '%-12s %-18s %12.0f %8.2f %10.2f\n' $db "--no-publish" "$u0" "$(med 2 "${without[@]}")" "$(med 3 "${without[@]}")"
        printf '%-12s %-18s %12.0f %8.2f %10.2f\n' $db "publishing" "$u1" "$(med 2 "${with[@]}")" "$(med 3 "${with[@]}")"
        echo "  runs without: $(printf '%s\n' "${without[@]}" | awk '{printf "%.0f ", $1}')units/hour; with: $(printf '%s\n' "${with[@]}" | awk '{printf "%.0f ", $1}')"
        awk -v a="$u0" -v b="$u1" -v d=$db 'BEGIN {printf "  %s: publishing costs %.2f %% of the units per hour (negative: below the run-to-run spread)\n", d, 100 * (a - b) / a}'
    done
}
if [ -n "$publish_only" ]; then
    publish_cost
    exit 0
fi

if [[ $parts == *1* ]]; then
    echo "== serial reservations per second (reserve + started + finish per unit)"
    for st in 1 8; do
        "$build/ledger_bench" --stations $st --units 1000 "sqlite:$tmp/bench$st.db"
        "$build/ledger_bench" --stations $st --units 1000 "$(pg_newdb bench$st)"
    done
fi

# get KEY: a top-level number of the summary
get() { jget "$out" "$1"; }
# gang_run DB N CPU REP -> one line "passed units/hour overhead_ms db_ms trips host_s", or
# "FAILED RC" (the evidence printed by run_failed).
gang_run() {
    local db=$1 n=$2 cpu=$3 d=$tmp/$1-$2-$3-$4 probes=() k url rc=0
    for k in $(seq "$n"); do mkdir -p "$d/p$k"; probes+=(--probe "sim-feed:$d/p$k?cpu=$cpu"); done
    if [ "$db" = sqlite ]; then url=sqlite:$d/ledger.db; else url=$(pg_newdb "g_$2_$3_$4"); fi
    XDG_STATE_HOME=$d/state "$oflash" prod run --image "$tmp/fw.hex" --device STM32F401RE \
        --serial-at 0x1FFF7800 --db "$url" --units $((n * units_per_port)) \
        "${probes[@]}" "${http[@]}" ${PROD_RUN_ARGS:-} --json >"$d/out" 2>"$d/err" || rc=$?
    if [ $rc -ne 0 ]; then
        run_failed "$d" "$url" $rc
        echo "FAILED $rc"
        return
    fi
    local out
    out=$(cat "$d/out")
    echo "$(jget "$out" passed) $(jget "$out" units_per_hour) $(jget "$out" overhead_ms)" \
        "$(jget "$out" db_ms) $(jget "$out" db_round_trips) $(jget "$out" elapsed_s)"
}
# GANG_RUNS (default 3) runs of each case, the two CPU modes alternated;
# each row shows the run with the median station time.
gang_runs=${GANG_RUNS:-3}
for db in sqlite postgresql; do
    [[ $parts == *2* ]] || break
    echo "== gang scaling on one station ($db ledger, sim-feed ports, $units_per_port units per port, median of $gang_runs runs)"
    printf '%-6s %-7s %6s %12s %9s %12s %9s %10s %9s %7s\n' ports cores units "units/hour" \
        "x single" "overhead ms" "ledger ms" "station ms" "db trips" "host s"
    declare -A rate1=()
    for n in 1 2 4 8; do
        declare -A runs=()
        for r in $(seq "$gang_runs"); do
            for cpu in spare shared; do runs[$cpu]+="$(gang_run $db $n $cpu $r)"$'\n'; done
        done
        for cpu in spare shared; do
            if grep -q FAILED <<<"${runs[$cpu]}"; then
                printf '%-6s %-7s FAILED (see above)\n' $n $cpu
                continue
            fi
            # the median run by station ms (overhead + ledger)
            line=$(awk 'NF {print $3 + $4, $0}' <<<"${runs[$cpu]}" | sort -g |
                sed -n "$(((gang_runs + 1) / 2))p" | cut -d' ' -f2-)
            read -r passed uph over dbms trips hosts <<<"$line"
            [ -n "${rate1[$cpu]:-}" ] || rate1[$cpu]=$uph
            printf '%-6s %-7s %6s %12.0f %9.2f %12.3f %9.2f %10.2f %9.2f %7.1f\n' $n $cpu "$passed" \
                "$uph" "$(awk -v u="$uph" -v r="${rate1[$cpu]}" -v n=$n 'BEGIN {print u / (n * r)}')" \
                "$over" "$dbms" "$(awk -v a="$over" -v b="$dbms" 'BEGIN {print a + b}')" \
                "$trips" "$hosts"
        done
        unset runs
    done
    unset rate1
done
if [[ $parts == *2* ]]; then
    echo "units/hour: the sum of the ports' rates, a unit's time = its simulated target time + the"
    echo "station's host time outside the chip (ledger waits included); x single = units/hour"
    echo "/ (ports x the 1-port rate of the same cores mode), goal >= 0.9; overhead = the station's"
    echo "own host time per unit, ledger ms = the ledger's time on the port's critical path"
    echo "(docs/production.md), station ms = both: everything but the chip's own work (goal < 5 ms);"
    echo "db trips: goal <= 3.  cores: where the simulated cores run -- spare: each on a thread at"
    echo "idle CPU priority (sim-feed:DIR?cpu=spare), the way chips on a line take none of the"
    echo "station's CPU (the goal's case); shared: on the port threads, competing with the station"
    echo "for the host's 2 cores (shown for comparison)."
fi
if [[ $parts == *3* ]]; then
    echo "== the web page's cost (4 sim-feed ports, SQLite; 3 runs each, alternated, medians)"
    # With the page open and live: `prod run --http` plus a client that does
    # what an open page does -- the event stream (/api/events) held open, and
    # the last 50 units and the failures fetched every second (the page fetches
    # them at most when the counters change).
    page_client() {
        local url=$1 ca=(--cacert "$tmp/web.pem")
        curl -sN "${ca[@]}" --max-time 300 "${url}api/events" >/dev/null &
        local sse=$!
        while kill -0 "$sse" 2>/dev/null; do
            curl -s "${ca[@]}" --max-time 5 -o /dev/null "${url}api/units?limit=50" || break
            curl -s "${ca[@]}" --max-time 5 -o /dev/null "${url}api/failures" || break
            sleep 1
        done
        kill "$sse" 2>/dev/null || true
    }
    # Slow clients: 20 connections that never send a byte (what the page's
    # test holds open to check that they do not stall the station).
    idle_client() {
        local hp=${1#http://}
        hp=${hp%/}
        local fds=() fd
        for _ in $(seq 20); do exec {fd}<>"/dev/tcp/${hp%:*}/${hp#*:}" && fds+=("$fd"); done
        sleep 300
    }
    # HTTPS: a self-signed certificate for 127.0.0.1 (the client trusts it).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -keyout "$tmp/web.key" \
        -out "$tmp/web.pem" -days 2 -subj "/CN=bench" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
    web_run() { # web_run TAG no|yes|tls -> "units_per_hour elapsed_s"
        local d=$tmp/web-$1 extra=() out url cp=
        mkdir -p "$d/p1" "$d/p2" "$d/p3" "$d/p4"
        [ "$2" = yes ] || [ "$2" = idle ] && extra=(--http 127.0.0.1:0)
        [ "$2" = tls ] && extra=(--http 127.0.0.1:0 --http-cert "$tmp/web.pem" --http-key "$tmp/web.key")
        XDG_STATE_HOME=$d/state "$oflash" prod run --image "$tmp/fw.hex" --device STM32F401RE \
            --serial-at 0x1FFF7800 --db "sqlite:$d/l.db" --units 64 --probe "sim-feed:$d/p1" \
            --probe "sim-feed:$d/p2" --probe "sim-feed:$d/p3" --probe "sim-feed:$d/p4" \
            "${extra[@]}" --json >"$d/out" 2>"$d/err" &
        local pid=$! rc=0
        if [ "$2" != no ]; then
            for _ in $(seq 200); do url=$(grep -Eo 'https?://[^ ]*/' "$d/err" 2>/dev/null | head -1) && [ -n "$url" ] && break; sleep 0.02; done
            if [ "$2" = idle ]; then
                [ -n "$url" ] && { idle_client "$url" & cp=$!; }
            else
                [ -n "$url" ] && { page_client "$url" & cp=$!; }
            fi
        fi
        wait "$pid" || rc=$?
        [ -n "$cp" ] && { kill "$cp" 2>/dev/null; wait "$cp" 2>/dev/null || true; }
        [ $rc -eq 0 ] || run_failed "$d" "sqlite:$d/l.db" $rc
        out=$(cat "$d/out")
        echo "$(jget "$out" units_per_hour) $(jget "$out" elapsed_s)"
    }
    without=() with=() withtls=() withidle=()
    for i in 1 2 3; do
        without+=("$(web_run a$i no)")
        with+=("$(web_run b$i yes)")
        withtls+=("$(web_run c$i tls)")
        withidle+=("$(web_run d$i idle)")
    done
    uph0=$(printf '%s\n' "${without[@]}" | awk '{print $1}' | sort -g | sed -n 2p)
    uph1=$(printf '%s\n' "${with[@]}" | awk '{print $1}' | sort -g | sed -n 2p)
    uph2=$(printf '%s\n' "${withtls[@]}" | awk '{print $1}' | sort -g | sed -n 2p)
    host0=$(printf '%s\n' "${without[@]}" | awk '{print $2}' | sort -g | sed -n 2p)
    host1=$(printf '%s\n' "${with[@]}" | awk '{print $2}' | sort -g | sed -n 2p)
    host2=$(printf '%s\n' "${withtls[@]}" | awk '{print $2}' | sort -g | sed -n 2p)
    uph3=$(printf '%s\n' "${withidle[@]}" | awk '{print $1}' | sort -g | sed -n 2p)
    host3=$(printf '%s\n' "${withidle[@]}" | awk '{print $2}' | sort -g | sed -n 2p)
    printf '%-22s %14s %10s\n' "" "units/hour" "host s"
    printf '%-22s %14.0f %10.2f\n' "without the page" "$uph0" "$host0"
    printf '%-22s %14.0f %10.2f\n' "page open and live" "$uph1" "$host1"
    printf '%-22s %14.0f %10.2f\n' "the same over HTTPS" "$uph2" "$host2"
    printf '%-22s %14.0f %10.2f\n' "20 idle connections" "$uph3" "$host3"
    runs() { printf '%s ' "$@" | awk '{for (i = 1; i <= NF; i += 2) printf "%.0f ", $i}'; }
    echo "runs without: $(runs "${without[@]}")units/hour; with: $(runs "${with[@]}")units/hour;" \
        "HTTPS: $(runs "${withtls[@]}")units/hour"
    awk -v a="$uph0" -v b="$uph1" 'BEGIN {printf "the page costs %.2f %% of the units per hour (goal < 1 %%; a negative figure: no cost above the run-to-run spread)\n", 100 * (a - b) / a}'
    awk -v a="$uph0" -v b="$uph2" 'BEGIN {printf "over HTTPS: %.2f %%\n", 100 * (a - b) / a}'
    awk -v a="$uph0" -v b="$uph3" 'BEGIN {printf "with 20 idle connections open: %.2f %%\n", 100 * (a - b) / a}'
fi

[[ $parts != *4* ]] || publish_cost
if [ -s "$tmp/failed-runs" ]; then
    echo "bench/prod.sh: $(wc -l <"$tmp/failed-runs") prod run(s) failed (their results and failed units above)" >&2
    exit 1
fi
