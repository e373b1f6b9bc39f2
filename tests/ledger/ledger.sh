#!/usr/bin/env bash
# ledger.sh - runs the ledger suite (test_ledger.c) on one backend:
# LEDGER_BACKEND=sqlite (files in a temp dir) or postgresql (a private
# server from tests/lib/pg.sh, which the suite also restarts and stops).
set -euo pipefail
. "$OFLASH_SRC/tests/lib/pg.sh"
LEDGER_TMP=$(mktemp -d)
export LEDGER_TMP
cleanup() {
    pg_cleanup
    rm -rf "$LEDGER_TMP"
}
trap cleanup EXIT
case "$LEDGER_BACKEND" in
sqlite)
    "$TEST_LEDGER" "sqlite:$LEDGER_TMP" ;;
postgresql)
    pg_start
    export OFLASH_PG_CTL="bash $OFLASH_SRC/tests/lib/pg.sh"
    "$TEST_LEDGER" "postgresql://oflash@127.0.0.1:$PG_PORT" ;;
*)
    echo "ledger.sh: LEDGER_BACKEND must be sqlite or postgresql" >&2
    exit 2 ;;
esac
