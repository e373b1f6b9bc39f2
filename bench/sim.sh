#!/bin/bash
# bench/sim.sh [BUILD] - the simulated chip's benchmark: a Thumb-2 loop
# programs all 512 KiB of an STM32F401xE at x32 through the flash interface.
# Prints host wall time (target < 0.5 s) and simulated time against the
# datasheet figure (131072 x 16 us, must agree within 1%).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
cmake --build "$build" --target sim_bench -j2 >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/tests/sim/sim_bench" "$tmp/bench.sim"
