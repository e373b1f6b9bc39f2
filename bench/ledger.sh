#!/bin/bash
# bench/ledger.sh [BUILD] - serial reservations per second on the ledger:
# SQLite (a file in a temp dir) and a private PostgreSQL server
# (tests/lib/pg.sh, fsync on), with 1 and 8 concurrent stations, each with
# its own connection.  One unit = reserve + started + finish, the ledger's
# whole share of a programmed unit.  UNITS=N changes the units per run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
cmake --build "$build" --target ledger_bench -j2 >/dev/null
PG_FSYNC=on
. "$here/../tests/lib/pg.sh"
tmp=$(mktemp -d)
trap 'pg_cleanup; rm -rf "$tmp"' EXIT
units=${UNITS:-2000}
for n in 1 8; do
    "$build/ledger_bench" --stations $n --units "$units" "sqlite:$tmp/ledger.db"
done
pg_start
for n in 1 8; do
    "$build/ledger_bench" --stations $n --units "$units" "$PG_URL"
done
