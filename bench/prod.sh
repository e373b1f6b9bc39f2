#!/bin/bash
# bench/prod.sh [BUILD] [--http [HOST:]PORT] - the production line's figures:
#  1. serial reservations per second (reserve + started + finish of a unit)
#     on SQLite and on PostgreSQL, with 1 and 8 concurrent stations
#     (build/ledger_bench, one connection per station);
#  2. gang scaling: 1, 2, 4 and 8 sim-feed ports on one station (SQLite
#     ledger), units per hour by simulated target time against N x the
#     single-port rate (goal >= 0.9), station overhead per unit (host time
#     outside the chip's own work; goal < 5 ms) and database round trips per
#     unit (goal <= 3).
# --http [HOST:]PORT runs the gang part with the station's web page open
# (`prod run --http`), for the page's cost; PROD_RUN_ARGS adds any other
# `prod run` arguments.  UNITS (default 16 per port) sets the units per port.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
http=()
while [ $# -gt 0 ]; do
    case $1 in
    --http) http=(--http "$2"); shift 2 ;;
    *) build=$1; shift ;;
    esac
done
build=$(cd "$build" && pwd)
oflash=$build/oflash
units_per_port=${UNITS:-16}
cmake --build "$build" --target oflash_cli ledger_bench -j2 >/dev/null
tmp=$(mktemp -d)
source "$here/../tests/lib/pg.sh"
trap 'pg_cleanup >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

echo "== serial reservations per second (reserve + started + finish per unit)"
pg_start >/dev/null
for st in 1 8; do
    "$build/ledger_bench" --stations $st --units 2000 "sqlite:$tmp/bench$st.db"
    "$build/ledger_bench" --stations $st --units 2000 "$(pg_newdb bench$st)"
done

echo "== gang scaling on one station (sim-feed ports, SQLite ledger, $units_per_port units per port)"
"$ARM_CC" --version >/dev/null 2>&1 || ARM_CC=arm-none-eabi-gcc
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -nostdlib -T "$here/../tests/flash/fw/fw.ld" \
    -o "$tmp/fw.elf" "$here/../tests/flash/fw/fw.c"
arm-none-eabi-objcopy -O ihex -R .otp -R .otp_lock "$tmp/fw.elf" "$tmp/fw.hex"
rate1=
printf '%-6s %8s %14s %10s %12s %14s %10s\n' ports units "units/hour" "x single" "overhead ms" "db trips/unit" "host s"
for n in 1 2 4 8; do
    probes=()
    for k in $(seq $n); do mkdir -p "$tmp/g$n/p$k"; probes+=(--probe "sim-feed:$tmp/g$n/p$k"); done
    out=$(XDG_STATE_HOME=$tmp/state "$oflash" prod run --image "$tmp/fw.hex" --device STM32F401RE \
        --serial-at 0x1FFF7800 --db "sqlite:$tmp/g$n.db" --units $((n * units_per_port)) \
        "${probes[@]}" "${http[@]}" ${PROD_RUN_ARGS:-} --json)
    get() { sed -E "s/.*\"$1\": ([0-9.]+).*/\1/" <<<"$out"; }
    uph=$(get units_per_hour)
    [ -n "$rate1" ] || rate1=$uph
    printf '%-6s %8s %14.0f %10.2f %12.3f %14.2f %10.1f\n' $n "$(get passed)" "$uph" \
        "$(awk -v u="$uph" -v r="$rate1" -v n=$n 'BEGIN {print u / (n * r)}')" \
        "$(get overhead_ms)" "$(get db_round_trips)" "$(get elapsed_s)"
done
