#!/usr/bin/env bash
# bench/openocd.sh [BUILD] - the same simulated STM32F401RE and the same ELF
# (64 KiB of code/data + a 12-byte serial in OTP block 0 + its lock byte),
# programmed three ways in one run:
#   A. OpenOCD 0.12's own `program ELF verify reset` (remote_bitbang JTAG);
#   B. oflash through OpenOCD's GDB server (--probe gdb:...);
#   C. oflash with the simulated chip directly (--probe sim:...).
# Each starts from a blank chip; each is then run again on the programmed
# chip.  B and C then run `oflash verify` twice: --verify loader (the flash
# loader's CRC, the path before) and the default (the chip's CRC unit).  Reported: simulated target time, host wall time, TCK cycles and
# remote_bitbang bytes (A, B), and whether the OTP serial was programmed.
# The server runs with --no-realtime: simulated time is TCK cycles plus the
# core's own run, never the host's idle time.  The OpenOCD figures cover
# the command alone (the server's per-session figures are sampled with
# SIGUSR1 before and after it), not OpenOCD's start-up.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OFLASH=$ROOT/$BUILD/oflash
CFG=$ROOT/tests/openocd/oflash-sim-stm32f4.cfg
[ -x "$OFLASH" ] || { echo "bench/openocd.sh: build first ($OFLASH missing)" >&2; exit 2; }
command -v openocd >/dev/null || { echo "bench/openocd.sh: openocd missing (scripts/install-deps.sh)" >&2; exit 2; }
source "$ROOT/tests/lib/ports.sh"
source "$ROOT/tests/lib/openocd.sh"
source "$ROOT/bench/lib/json.sh"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

now() { date +%s.%N; }

# The firmware of tests/flash: 64 KiB of constant data, serial, lock byte.
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -nostdlib -T "$ROOT/tests/flash/fw/fw.ld" \
    -DBIGDATA_KB=64 -o fw.elf "$ROOT/tests/flash/fw/fw.c"
arm-none-eabi-objcopy -R .otp -R .otp_lock fw.elf fwflash.elf 2>/dev/null
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -nostdlib -T "$ROOT/tests/flash/fw/fw.ld" \
    -DBIGDATA_KB=64 -DVERSION=2 -o fw2.elf "$ROOT/tests/flash/fw/fw.c" # same serial, new code
"$OFLASH" sim create blank.sim --device STM32F401RE --uid 00112233445566778899aabb >/dev/null

# serve CHIP: start the server; sets RB, SPID
serve() {
    sim_serve "$1" "$1.log" --no-realtime || { echo "bench/openocd.sh: sim serve did not listen" >&2; exit 1; }
}
# mark CHIP: the server's figures of the current session so far (one line)
mark() {
    local n
    n=$(grep -c '^progress ' "$1.log" || true)
    kill -USR1 "$SPID"
    for _ in $(seq 100); do
        [ "$(grep -c '^progress ' "$1.log" || true)" -gt "$n" ] && break
        sleep 0.02
    done
    grep '^progress ' "$1.log" | tail -1
}
field() { sed -nE "s/.* $2=([0-9]+).*/\1/p" <<<"$1"; }
# delta LINE1 LINE2 KEY
delta() { echo $(($(field "$2" "$3") - $(field "$1" "$3"))); }
stop_server() {
    kill -TERM "$SPID"
    wait "$SPID" || true
}
# tcl CMD: one command through OpenOCD's Tcl server (port TCL), reply on stdout
tcl() {
    exec 3<>"/dev/tcp/127.0.0.1/$TCL"
    printf '%s\x1a' "$1" >&3
    IFS= read -r -d $'\x1a' -u 3 reply || true
    exec 3>&-
    printf '%s\n' "$reply"
}
otp_state() { # CHIP: "yes" if OTP block 0 holds the serial and is locked
    local b l
    "$OFLASH" read 0x1FFF7800 12 -o "$1.otp.bin" --probe "sim:$1" -q 2>/dev/null || true
    "$OFLASH" read 0x1FFF7A00 1 -o "$1.lock.bin" --probe "sim:$1" -q 2>/dev/null || true
    b=$(tr -d '\0' <"$1.otp.bin")
    l=$(od -An -tx1 "$1.lock.bin" | tr -d ' ')
    if [ "$b" = "SN-000001234" ] && [ "$l" = 00 ]; then echo "yes (serial + lock)"
    elif [ "$b" = "SN-000001234" ]; then echo "serial only"
    else echo "no"; fi
}
row() { # NAME SIM_NS WALL_S TCK BYTES OTP
    printf '| %-44s | %9.4f | %7.2f | %10s | %11s | %-18s |\n' "$1" "$(echo "$2 / 1000000000" | bc -l)" "$3" "$4" "$5" "$6"
}

echo "| run | simulated s | wall s | TCK cycles | bitbang bytes | OTP programmed |"
echo "|---|---|---|---|---|---|"

# ---- A. OpenOCD's own program
cp blank.sim a.sim
serve a.sim
TCL=$(pick_port)
openocd -f "$CFG" -c "remote_bitbang port $RB" \
    -c "gdb_port disabled; telnet_port disabled; tcl_port $TCL" >a.ocd.log 2>&1 &
OPID=$!
PIDS+=("$OPID")
wait_port "$TCL" "$OPID"
m0=$(mark a.sim)
t0=$(now)
tcl "program fw.elf verify reset" >a.full.reply
t1=$(now)
m1=$(mark a.sim)
grep -E "Error|error|wrote|Verified|verified" a.ocd.log | tail -3 >a.full.summary || true
m2=$(mark a.sim)
t2=$(now)
tcl "program fwflash.elf verify reset" >a.flash.reply
t3=$(now)
m3=$(mark a.sim)
t4=$(now)
tcl "program fwflash.elf verify reset" >a.rerun.reply
t5=$(now)
m4=$(mark a.sim)
tcl "shutdown" >/dev/null || true
wait "$OPID" || true
stop_server
row "A. OpenOCD program fw.elf (with OTP data)" "$(delta "$m0" "$m1" sim_ns)" "$(echo "$t1 - $t0" | bc)" \
    "$(delta "$m0" "$m1" tck)" "$(delta "$m0" "$m1" bytes_in)" "$(otp_state a.sim)"
row "A. OpenOCD program fwflash.elf (code only)" "$(delta "$m2" "$m3" sim_ns)" "$(echo "$t3 - $t2" | bc)" \
    "$(delta "$m2" "$m3" tck)" "$(delta "$m2" "$m3" bytes_in)" "n/a"
row "A. same again (OpenOCD always erases)" "$(delta "$m3" "$m4" sim_ns)" "$(echo "$t5 - $t4" | bc)" \
    "$(delta "$m3" "$m4" tck)" "$(delta "$m3" "$m4" bytes_in)" "n/a"
A_SIM=$(delta "$m2" "$m3" sim_ns)
A_TCK=$(delta "$m2" "$m3" tck)

# ---- B. oflash through OpenOCD's GDB server
cp blank.sim b.sim
serve b.sim
G=$(pick_port)
openocd -f "$CFG" -c "remote_bitbang port $RB" \
    -c "gdb_port $G; stm32f4x.cpu configure -gdb-max-connections 2; telnet_port disabled; tcl_port disabled" >b.ocd.log 2>&1 &
OPID=$!
PIDS+=("$OPID")
wait_port "$G" "$OPID"
n0=$(mark b.sim)
t0=$(now)
"$OFLASH" program fw.elf --probe "gdb:127.0.0.1:$G" --otp --json >b.first.json 2>b.first.err
t1=$(now)
n1=$(mark b.sim)
"$OFLASH" program fw.elf --probe "gdb:127.0.0.1:$G" --otp --json >b.rerun.json 2>b.rerun.err
t2=$(now)
n2=$(mark b.sim)
"$OFLASH" program fw2.elf --probe "gdb:127.0.0.1:$G" --otp --json >b.v2.json 2>b.v2.err
t3=$(now)
n3=$(mark b.sim)
# oflash verify of the chip (version 2): the flash loader's CRC (the path
# before), then the CRC unit in one run (now).
"$OFLASH" verify fw2.elf --probe "gdb:127.0.0.1:$G" --verify loader --json >b.vl.json 2>b.vl.err
t4=$(now)
n4=$(mark b.sim)
"$OFLASH" verify fw2.elf --probe "gdb:127.0.0.1:$G" --json >b.vc.json 2>b.vc.err
t5=$(now)
n5=$(mark b.sim)
kill "$OPID"
wait "$OPID" || true
stop_server
row "B. oflash via OpenOCD gdb: program --otp" "$(delta "$n0" "$n1" sim_ns)" "$(echo "$t1 - $t0" | bc)" \
    "$(delta "$n0" "$n1" tck)" "$(delta "$n0" "$n1" bytes_in)" "$(otp_state b.sim)"
row "B. same again (rerun)" "$(delta "$n1" "$n2" sim_ns)" "$(echo "$t2 - $t1" | bc)" \
    "$(delta "$n1" "$n2" tck)" "$(delta "$n1" "$n2" bytes_in)" "(unchanged)"
v2="$(jget "$(cat b.v2.json)" sectors_erased) erased, $(jget "$(cat b.v2.json)" bytes_programmed) B"
row "B. then version 2 ($v2)" "$(delta "$n2" "$n3" sim_ns)" "$(echo "$t3 - $t2" | bc)" \
    "$(delta "$n2" "$n3" tck)" "$(delta "$n2" "$n3" bytes_in)" "(unchanged)"
row "B. oflash verify --verify loader (before)" "$(delta "$n3" "$n4" sim_ns)" "$(echo "$t4 - $t3" | bc)" \
    "$(delta "$n3" "$n4" tck)" "$(delta "$n3" "$n4" bytes_in)" "verify $(jget "$(cat b.vl.json)" verify)"
row "B. oflash verify (CRC unit, now)" "$(delta "$n4" "$n5" sim_ns)" "$(echo "$t5 - $t4" | bc)" \
    "$(delta "$n4" "$n5" tck)" "$(delta "$n4" "$n5" bytes_in)" "verify $(jget "$(cat b.vc.json)" verify)"
B_SIM=$(delta "$n0" "$n1" sim_ns)
B_TCK=$(delta "$n0" "$n1" tck)
B_RSIM=$(delta "$n1" "$n2" sim_ns)
B_RTCK=$(delta "$n1" "$n2" tck)

# ---- C. oflash with sim: directly
cp blank.sim c.sim
t0=$(now)
"$OFLASH" program fw.elf --probe sim:c.sim --otp --json >c.first.json 2>c.first.err
t1=$(now)
"$OFLASH" program fw.elf --probe sim:c.sim --otp --json >c.rerun.json 2>c.rerun.err
t2=$(now)
"$OFLASH" verify fw.elf --probe sim:c.sim --verify loader --json >c.vl.json 2>c.vl.err
t3=$(now)
"$OFLASH" verify fw.elf --probe sim:c.sim --json >c.vc.json 2>c.vc.err
t4=$(now)
simC=$(jget "$(cat c.first.json)" sim_time_s)
simCr=$(jget "$(cat c.rerun.json)" sim_time_s)
ns() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1e9 }'; }
row "C. oflash sim: program --otp" "$(ns "$simC")" "$(echo "$t1 - $t0" | bc)" "-" "-" "$(otp_state c.sim)"
row "C. same again (rerun)" "$(ns "$simCr")" "$(echo "$t2 - $t1" | bc)" "-" "-" "(unchanged)"
for v in "vl|C. oflash sim: verify --verify loader|$t2|$t3" "vc|C. oflash sim: verify (CRC unit)|$t3|$t4"; do
    IFS='|' read -r f name ta tb <<<"$v"
    s=$(jget "$(cat "c.$f.json")" sim_time_s)
    row "$name" "$(ns "$s")" "$(echo "$tb - $ta" | bc)" "-" "-" "verify $(jget "$(cat "c.$f.json")" verify)"
done

echo
echo "What OpenOCD did with the OTP data in fw.elf (program fw.elf verify reset):"
sed 's/^/  /' a.full.reply | head -5
grep -E "^Error" a.ocd.log | sort -u | head -4 | sed 's/^/  /'
echo
echo "targets:"
printf '  oflash via OpenOCD vs OpenOCD program (code only): simulated time %.4f s vs %.4f s (%s)\n' \
    "$(echo "$B_SIM / 1000000000" | bc -l)" "$(echo "$A_SIM / 1000000000" | bc -l)" \
    "$([ "$B_SIM" -le "$A_SIM" ] && echo met || echo NOT met)"
printf '  TCK cycles %s vs %s (%s), OTP in the same pass: %s\n' "$B_TCK" "$A_TCK" \
    "$([ "$B_TCK" -le "$A_TCK" ] && echo met || echo NOT met)" "$(otp_state b.sim)"
printf '  rerun / first through OpenOCD: simulated time %.2f %%, TCK cycles %.2f %% (target < 2 %%: %s)\n' \
    "$(echo "100 * $B_RSIM / $B_SIM" | bc -l)" "$(echo "100 * $B_RTCK / $B_TCK" | bc -l)" \
    "$([ $((B_RTCK * 50)) -lt "$B_TCK" ] && [ $((B_RSIM * 50)) -lt "$B_SIM" ] && echo met || echo NOT met)"
rt() { jget "$(cat "$1")" round_trips; }
echo "  oflash verify through OpenOCD: loader CRC $(delta "$n3" "$n4" halts) halts, $(rt b.vl.json) GDB round trips," \
    "$(delta "$n3" "$n4" tck) TCK; CRC unit $(delta "$n4" "$n5" halts) halt(s), $(rt b.vc.json) GDB round trips," \
    "$(delta "$n4" "$n5" tck) TCK ($(echo "100 * $(delta "$n4" "$n5" tck) / $(delta "$n3" "$n4" tck)" | bc -l | cut -c1-5) % of the loader's)"
echo "  the rerun through OpenOCD: $(delta "$n1" "$n2" halts) halt(s), $(delta "$n1" "$n2" ap_reads) AP reads," \
    "$(delta "$n1" "$n2" ap_writes) AP writes, $(jget "$(cat b.rerun.json)" round_trips) GDB round trips" \
    "(first run: $(delta "$n0" "$n1" halts) halts, $(jget "$(cat b.first.json)" round_trips) round trips)"
