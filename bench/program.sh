#!/usr/bin/env bash
# bench/program.sh BUILD_DIR - programming speed on the simulated
# STM32F401xE (figures for README "Programming flash and OTP" and
# docs/programming.md).
#
#  (1) full 512 KiB + OTP over a chip holding other contents: simulated
#      target time against the datasheet floor (typical sector erase of the
#      touched sectors + typical x32 word program time; DS10086 rev 11
#      "Flash memory programming": t_ERASE16KB 250 ms, t_ERASE64KB 550 ms,
#      t_ERASE128KB 1 s, t_prog 16 us per word, typical at x32); target <= 1.05x.
#  (2) the same image again: < 2 % of (1)'s simulated time and < 1 % of the
#      image size on the wire.
#  (3) oflash verify of the same 512 KiB + OTP: the chip's CRC unit in one
#      run on the core (default) against the flash loader's CRC (--verify
#      loader, the path before): simulated time, host time, wire bytes,
#      round trips; < 1 % of the image size on the wire.
#  (4) over gdb: to `oflash gdbserver`: packets and bytes for the full
#      program, oflash's program vs gdb-multiarch's own `load` of the same
#      ELF, measured by the server in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
oflash="$(pwd)/$build/oflash"
ARM_OBJCOPY=${ARM_OBJCOPY:-arm-none-eabi-objcopy}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
dev=STM32F401RE
status=0

source bench/lib/json.sh
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
verdict() { # verdict NAME VALUE LIMIT
    if le "$2" "$3"; then echo "   -> $1 = $2 (limit $3): PASS"; else
        echo "   -> $1 = $2 (limit $3): FAIL"; status=1; fi
}

# Images: 512 KiB of pseudo-random code, a serial number in OTP block 0 and
# its lock byte; and "old" contents to program over.
head -c $((512 * 1024)) /dev/urandom >"$work/new.bin"
head -c $((512 * 1024)) /dev/urandom >"$work/old.bin"
printf 'SN-BENCH-00000001' >"$work/serial.bin"
printf '\000' >"$work/lock.bin"
# One linked ELF (for gdb's load as well) with the three parts as sections,
# and the same content as Intel HEX.
ARM_LD=${ARM_LD:-${ARM_OBJCOPY%objcopy}ld}
for part in new:.flash serial:.otp lock:.otp_lock; do
    (cd "$work" && "$ARM_OBJCOPY" -I binary -O elf32-littlearm -B arm \
        --rename-section ".data=${part#*:},alloc,load,readonly,data,contents" \
        "${part%%:*}.bin" "${part%%:*}.o")
done
cat >"$work/bench.ld" <<'LD'
SECTIONS
{
    .flash 0x08000000 : { *(.flash) }
    .otp 0x1FFF7800 : { *(.otp) }
    .otp_lock 0x1FFF7A00 : { *(.otp_lock) }
}
LD
"$ARM_LD" -T "$work/bench.ld" -o "$work/new.elf" "$work/new.o" "$work/serial.o" "$work/lock.o"
"$ARM_OBJCOPY" -O ihex "$work/new.elf" "$work/new.hex"
img_bytes=$(( 512 * 1024 + 17 + 1 ))

chip="$work/chip.sim"
"$oflash" sim create "$chip" --device $dev >/dev/null
"$oflash" program "$work/old.bin@0x08000000" --device $dev --probe "sim:$chip" --quiet

echo "== (1) full 512 KiB + OTP over other contents (simulated $dev)"
out1=$("$oflash" program "$work/new.hex" --device $dev --probe "sim:$chip" --otp --json)
echo "   $out1"
t1=$(jget "$out1" sim_time_s)
erased=$(jget "$out1" sectors_erased)
progb=$(jget "$out1" bytes_programmed)
otpb=$(jget "$out1" otp_bytes_programmed)
locks=$(jget "$out1" otp_blocks_locked)
# Floor: typical erase of the 8 sectors (4 x 16K, 64K, 3 x 128K) + one
# x32 program access per word of main flash and OTP data + one per lock byte.
floor=$(awk -v p="$progb" -v o="$otpb" -v l="$locks" -v e="$erased" 'BEGIN {
    er = (e == 8) ? 4 * 0.250 + 0.550 + 3 * 1.000 : -1;
    printf "%.4f", er + (p / 4) * 16e-6 + int((o + 3) / 4) * 16e-6 + l * 16e-6 }')
echo "   simulated time $t1 s, datasheet floor $floor s (erase 4.550 s + program $(awk -v p="$progb" 'BEGIN{printf "%.3f", p/4*16e-6}') s)"
verdict "simulated time / floor" "$(ratio "$t1" "$floor")" 1.05

echo "== (2) the same image again"
out2=$("$oflash" program "$work/new.hex" --device $dev --probe "sim:$chip" --otp --json)
echo "   $out2"
t2=$(jget "$out2" sim_time_s)
w2=$(jget "$out2" wire_bytes)
verdict "simulated time / first run" "$(ratio "$t2" "$t1")" 0.02
verdict "wire bytes / image size" "$(ratio "$w2" "$img_bytes")" 0.01

echo "== (3) oflash verify: the CRC unit (default) vs the flash loader's CRC (the path before)"
vt() { # vt MODE: three verifies; prints "sim_s wall_s cpu_s wire round_trips": wall = the
    # fastest elapsed_s (the command's own time, without process start-up), cpu = the
    # least user + sys of the whole process (bash's time; robust on a loaded machine)
    local o h c best= bestc= TIMEFORMAT='%U %S'
    for _ in 1 2 3; do
        { time "$oflash" verify "$work/new.hex" --device $dev --probe "sim:$chip" --verify "$1" \
            --json >"$work/vt.json"; } 2>"$work/vt.time"
        o=$(cat "$work/vt.json")
        h=$(jget "$o" elapsed_s)
        c=$(awk '{ printf "%.3f", $1 + $2 }' "$work/vt.time")
        if [ -z "$best" ] || le "$h" "$best"; then best=$h; fi
        if [ -z "$bestc" ] || le "$c" "$bestc"; then bestc=$c; fi
    done
    echo "   --verify $1: $o" >&2
    echo "$(jget "$o" sim_time_s) $(awk -v h="$best" 'BEGIN{printf "%.4f", h}') $bestc $(jget "$o" wire_bytes) $(jget "$o" round_trips)"
}
read -r vl_sim vl_host vl_cpu vl_wire vl_rt < <(vt loader)
read -r vc_sim vc_host vc_cpu vc_wire vc_rt < <(vt crc)
printf '   %-26s %12s %10s %9s %8s %11s\n' "" "simulated s" "host s" "host cpu" "wire B" "round trips"
printf '   %-26s %12s %10s %9s %8s %11s\n' "loader CRC (before)" "$vl_sim" "$vl_host" "$vl_cpu" "$vl_wire" "$vl_rt"
printf '   %-26s %12s %10s %9s %8s %11s\n' "CRC unit, one run (now)" "$vc_sim" "$vc_host" "$vc_cpu" "$vc_wire" "$vc_rt"
verdict "wire bytes / image size (CRC unit)" "$(ratio "$vc_wire" "$img_bytes")" 0.01
verdict "simulated time, CRC unit / loader" "$(ratio "$vc_sim" "$vl_sim")" 1.0

echo "== (4) over gdb: to oflash gdbserver: oflash program vs gdb-multiarch load"
serve() { # serve CHIP LOG: sets port and spid once the server listens (port 0: any free)
    "$oflash" gdbserver --probe "sim:$1" --device $dev --listen 127.0.0.1:0 --otp >"$2" 2>&1 &
    spid=$!
    pids+=("$spid")
    port=
    for _ in $(seq 200); do
        port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$2" | head -1)
        [ -n "$port" ] && return 0
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$2"
    return 1
}
# The server prints its statistics when it stops (SIGTERM).
stop_server() { kill -TERM "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; }
stats() { grep -o '[0-9]* packets, [0-9]* bytes received, [0-9]* bytes sent' "$1" | tail -1 || echo "?"; }

"$oflash" sim create "$work/g1.sim" --device $dev >/dev/null
"$oflash" sim create "$work/g2.sim" --device $dev >/dev/null
if ! "$oflash" gdbserver --help >/dev/null 2>&1; then
    echo "   oflash gdbserver is not in this build: skipped"
    exit $status
fi
serve "$work/g1.sim" "$work/s1.log" || { echo "   cannot start oflash gdbserver"; exit 1; }
outg=$("$oflash" program "$work/new.elf" --device $dev --probe "gdb:127.0.0.1:$port" --otp --json)
stop_server
echo "   oflash program:     $(stats "$work/s1.log")  (client: round_trips $(jget "$outg" round_trips), wire_bytes $(jget "$outg" wire_bytes))"
serve "$work/g2.sim" "$work/s2.log" || { echo "   cannot start oflash gdbserver"; exit 1; }
timeout 300 gdb-multiarch -nx -batch -ex "set confirm off" -ex "set pagination off" \
    -ex "target extended-remote 127.0.0.1:$port" -ex "load" -ex "disconnect" \
    "$work/new.elf" >"$work/gdb.log" 2>&1 || { echo "gdb load failed:"; tail -5 "$work/gdb.log"; }
stop_server
echo "   gdb-multiarch load: $(stats "$work/s2.log")"
"$oflash" sim create "$work/g3.sim" --device $dev >/dev/null
serve "$work/g3.sim" "$work/s3.log" || { echo "   cannot start oflash gdbserver"; exit 1; }
outs=$("$oflash" program "$work/new.elf" --device $dev --probe "gdb:127.0.0.1:$port" --otp \
    --use-server-flash --json)
stop_server
echo "   oflash program --use-server-flash: $(stats "$work/s3.log")  (verify $(jget "$outs" verify))"
p1=$(stats "$work/s1.log" | awk '{print $1}'); p2=$(stats "$work/s2.log" | awk '{print $1}')
b1=$(stats "$work/s1.log" | awk '{print $3 + $6}'); b2=$(stats "$work/s2.log" | awk '{print $3 + $6}')
echo "   packets: oflash $p1 vs gdb $p2; bytes both ways: oflash $b1 vs gdb $b2"
"$oflash" verify "$work/new.hex" --device $dev --probe "sim:$work/g1.sim" --quiet &&
    echo "   oflash-programmed chip verifies" || { echo "   oflash-programmed chip differs"; status=1; }
"$oflash" verify "$work/new.bin@0x08000000" --device $dev --probe "sim:$work/g2.sim" --quiet &&
    echo "   gdb-loaded chip verifies (main flash)" || echo "   gdb-loaded chip differs"
exit $status
