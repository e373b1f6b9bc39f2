#!/usr/bin/env bash
# bench/images.sh BUILD_DIR - image reader/writer speed and memory.
#
# Generates its inputs deterministically (fixed-seed pseudo-random data) in
# a temporary directory, then times `oflash convert` against `objcopy`
# (binutils) and `srec_cat` (srecord) on the same files in the same run,
# checks that all three produce identical bytes (cmp for binaries, srec_cmp
# for HEX output), and prints a table: wall time (best of N), MB/s of input
# text, peak RSS (/usr/bin/time -f %M), and how many times faster oflash is.
# This is a benchmark, not a test: it fails only when outputs differ.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
oflash="$build/oflash"
for t in objcopy srec_cat srec_cmp python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "images.sh: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# ---- inputs
python3 - <<'PY'
import random
open("m1.bin", "wb").write(random.Random(1).randbytes(1 << 20))
open("m16.bin", "wb").write(random.Random(16).randbytes(16 << 20))
# sparse: 64 scattered 4 KiB blocks in the first MiB of flash, plus OTP
# (512 bytes) and its lock bytes (16) at 0x1FFF7800: 528 bytes.
r = random.Random(64)
def rec(addr, typ, data):
    b = bytes([len(data), (addr >> 8) & 255, addr & 255, typ]) + data
    return ":" + b.hex().upper() + "%02X\n" % ((-sum(b)) & 255)
out, upper = [], None
blocks = [(0x08000000 + s * 4096, r.randbytes(4096)) for s in sorted(r.sample(range(256), 64))]
blocks.append((0x1FFF7800, r.randbytes(512) + bytes(16)))
for base, data in blocks:
    for off in range(0, len(data), 16):
        a = base + off
        if a >> 16 != upper:
            upper = a >> 16
            out.append(rec(0, 4, bytes([upper >> 8, upper & 255])))
        out.append(rec(a & 0xFFFF, 0, data[off:off + 16]))
out.append(":00000001FF\n")
open("sparse.hex", "w").write("".join(out))
PY
objcopy -I binary -O ihex --change-addresses 0x08000000 m1.bin m1_16.hex
srec_cat m1.bin -binary -offset 0x08000000 -o m1_32.hex -intel -Output_Block_Size 32
objcopy -I binary -O srec --srec-forceS3 --change-addresses 0x08000000 m1.bin m1.s37
objcopy -I binary -O ihex --change-addresses 0x08000000 m16.bin m16.hex

# ---- timing helpers
# best_ms REPS cmd... -> best wall time in ms (bash EPOCHREALTIME, no extra processes)
best_ms() {
  local reps=$1 best="" t0 t1 ms
  shift
  for ((k = 0; k < reps; k++)); do
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1
    t1=$EPOCHREALTIME
    ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
    if [ -z "$best" ] || awk -v m="$ms" -v b="$best" 'BEGIN { exit !(m < b) }'; then best=$ms; fi
  done
  echo "$best"
}
# rss_cpu cmd... -> "peak-RSS-KiB cpu-ms" of one run (/usr/bin/time: %M, %U + %S)
rss_cpu() {
  /usr/bin/time -f '%M %U %S' -o rss.txt "$@" >/dev/null 2>&1
  awk '{ printf "%d %.0f\n", $1, ($2 + $3) * 1000 }' rss.txt
}

rows=()
declare -A speed
# bench CASE INPUT OUTPUT_KIND REPS
bench() {
  local case=$1 in=$2 kind=$3 reps=$4 fmt ext out tool ms rss mbps
  local size
  size=$(stat -c %s "$in")
  case $in in *.s37) fmt=srec; sc=-motorola ;; *) fmt=ihex; sc=-intel ;; esac
  [ "$kind" = bin ] && ext=bin || ext=hex
  for tool in oflash objcopy srec_cat; do
    out="out-$tool.$ext"
    rm -f "$out"
    local cmd
    case $tool/$kind in
      oflash/*) cmd=("$oflash" convert -q "$in" -o "$out") ;;
      objcopy/bin) cmd=(objcopy -I "$fmt" -O binary "$in" "$out") ;;
      objcopy/hex) cmd=(objcopy -I "$fmt" -O ihex "$in" "$out") ;;
      srec_cat/bin) cmd=(srec_cat "$in" "$sc" -offset -0x08000000 -o "$out" -binary) ;;
      srec_cat/hex) cmd=(srec_cat "$in" "$sc" -o "$out" -intel) ;;
    esac
    local r=$reps
    [ "$tool" = srec_cat ] && [ "$size" -gt 10000000 ] && r=1 # slow: once
    ms=$(best_ms "$r" "${cmd[@]}")
    read -r rss cpu < <(rss_cpu "${cmd[@]}")
    mbps=$(awk -v s="$size" -v m="$ms" 'BEGIN { printf "%.0f", s / 1e6 / (m / 1000) }')
    speed[$tool]=$mbps
    rows+=("$(printf '%-24s %8.1f  %-8s %8s %8s %7s %8.1f' "$case" "$(awk -v s="$size" 'BEGIN{print s/1e6}')" "$tool" "$ms" "$cpu" "$mbps" "$(awk -v k="$rss" 'BEGIN{print k/1024}')")")
    last_ms[$tool]=$ms
    last_rss[$tool]=$rss
  done
  # identical output bytes
  if [ "$kind" = bin ]; then
    cmp -s out-oflash.bin out-objcopy.bin && cmp -s out-oflash.bin out-srec_cat.bin \
      || { echo "images.sh: $case: outputs differ" >&2; exit 1; }
  else
    srec_cmp out-oflash.hex -intel out-objcopy.hex -intel >/dev/null \
      && srec_cmp out-oflash.hex -intel out-srec_cat.hex -intel >/dev/null \
      && srec_cmp out-oflash.hex -intel "$in" "$sc" >/dev/null \
      || { echo "images.sh: $case: outputs differ" >&2; exit 1; }
  fi
  rows+=("$(printf '%-26s %8s  %-8s %9s %8s %9s   oflash %.1fx objcopy, %.1fx srec_cat' "" "" "" "" "" "" \
    "$(awk -v a="${speed[oflash]}" -v b="${speed[objcopy]}" 'BEGIN{print a/b}')" \
    "$(awk -v a="${speed[oflash]}" -v b="${speed[srec_cat]}" 'BEGIN{print a/b}')")")
}
declare -A last_ms last_rss

# The process alone: dynamic loading of every library liboflash links.
base_ms=$(best_ms 7 "$oflash" --version)
read -r base_rss base_cpu < <(rss_cpu "$oflash" --version)

bench "1 MiB HEX16 -> bin" m1_16.hex bin 7
t1m=${last_ms[oflash]}
bench "1 MiB HEX32 -> bin" m1_32.hex bin 7
bench "1 MiB S3 -> bin" m1.s37 bin 7
bench "sparse HEX -> HEX" sparse.hex hex 7
bench "16 MiB HEX16 -> bin" m16.hex bin 3
t16=${last_ms[oflash]} rss16=${last_rss[oflash]} v16=${speed[oflash]} oc16=${speed[objcopy]} sc16=${speed[srec_cat]}
bench "16 MiB HEX16 -> HEX16" m16.hex hex 3

echo "oflash $("$oflash" --version | cut -d' ' -f2), $(objcopy --version | head -1), $(srec_cat --version | head -1)"
echo "$(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-24s %8s  %-8s %8s %8s %7s %8s\n' "case" "input MB" "tool" "wall ms" "cpu ms" "MB/s" "RSS MiB"
printf '%s\n' "${rows[@]}"
echo
echo "baseline: 'oflash --version' takes ${base_ms} ms wall, ${base_cpu} ms cpu, $(awk -v k="$base_rss" 'BEGIN{printf "%.1f", k/1024}') MiB RSS"
echo "targets:"
awk -v v="$v16" 'BEGIN { printf "  16 MiB HEX -> bin: %d MB/s of HEX text (target >= 400)\n", v }'
awk -v a="$v16" -v b="$oc16" -v c="$sc16" 'BEGIN { printf "  vs objcopy %.1fx (target >= 3), vs srec_cat %.1fx (target >= 10)\n", a/b, a/c }'
echo "  1 MiB HEX -> bin: ${t1m} ms whole process (target < 15)"
awk -v r="$rss16" -v b="$base_rss" 'BEGIN { printf "  16 MiB HEX -> bin peak RSS: %.1f MiB = data 16 MiB + %.1f MiB (target <= 2); above the %.1f MiB baseline: data + %.1f MiB\n", r/1024, r/1024-16, b/1024, (r-b)/1024-16 }'
