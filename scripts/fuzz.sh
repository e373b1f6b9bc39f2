#!/usr/bin/env bash
# fuzz.sh BUILD_DIR SECONDS - build the libFuzzer targets with clang under
# ASan + UBSan and run each for SECONDS on a copy of its seed corpus
# (fuzz/corpus/<target without the fuzz_ prefix>/).  Any crash fails.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${2:-60}
bash scripts/install-deps.sh --if-missing
cmake -S . -B "$build" -DOFLASH_FUZZ=ON -DOFLASH_TESTS=OFF -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets built" >&2
  exit 1
fi
for t in "${targets[@]}"; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  corpus="fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  echo "fuzz: $name for ${secs}s (seeds: $(ls "$work" | wc -l))"
  mkdir -p "$build/artifacts"
  "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/artifacts/$name-" -print_final_stats=1 "$work" 2>"$build/$name.log" \
    || { tail -50 "$build/$name.log"; rm -rf "$work"; echo "fuzz: $name FAILED" >&2; exit 1; }
  grep -E "stat::number_of_executed_units" "$build/$name.log" || true
  rm -rf "$work"
done
echo "fuzz: all targets ran ${secs}s without a crash"
