#!/usr/bin/env bash
# The targets of bench/rsp.sh hold: no more round trips than gdb-multiarch,
# at most 1.1 wire bytes per payload byte for X writes.
set -euo pipefail
bash "$OFLASH_SRC/bench/rsp.sh" "$OFLASH_BUILD"
