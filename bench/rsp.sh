#!/usr/bin/env bash
# rsp.sh BUILD_DIR - GDB remote protocol cost of moving 64 KiB of RAM:
# oflash's gdb: client vs gdb-multiarch (restore / dump binary memory),
# both against `oflash gdbserver` on a simulated STM32F401RE, same run.
# Round trips = request packets the server received; wire bytes = every
# byte both ways (framing, acks, escapes).  The server counts per client;
# gdb's connect/detach overhead is measured alone and subtracted.
# Targets: oflash <= gdb in round trips, <= 1.1 wire bytes per payload byte
# for writes (X packets).  Exit 1 if a target is missed.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
OFLASH="$build/oflash"
BENCH="$build/tests/gdb/gdb_rsp_bench"
LEN=65536
ADDR=0x20000000
W=$(mktemp -d)
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT

"$OFLASH" sim create "$W/chip.sim" --device STM32F401RE >/dev/null
"$OFLASH" gdbserver --device STM32F401RE --probe "sim:$W/chip.sim" --listen 127.0.0.1:0 2>"$W/log" &
SPID=$!
for _ in $(seq 100); do grep -q "listening on" "$W/log" && break; sleep 0.05; done
PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$W/log" | cut -d: -f2)
head -c $LEN /dev/urandom >"$W/data.bin"

# client N: packets, bytes received, bytes sent of the Nth client
client() {
    for _ in $(seq 100); do grep -q "client #$1: " "$W/log" && break; sleep 0.05; done
    grep "client #$1: " "$W/log" | sed -E 's/.*: ([0-9]+) packets, ([0-9]+) bytes received, ([0-9]+) bytes sent/\1 \2 \3/'
}
G="timeout 120 gdb-multiarch -batch -nx -ex 'set architecture armv7e-m' -ex 'target remote 127.0.0.1:$PORT'"
eval "$G -ex detach" >/dev/null 2>&1
eval "$G -ex 'restore $W/data.bin binary $ADDR' -ex detach" >/dev/null 2>&1
eval "$G -ex 'dump binary memory $W/back.bin $ADDR $((ADDR + LEN))' -ex detach" >/dev/null 2>&1
cmp -s "$W/data.bin" "$W/back.bin" || { echo "rsp.sh: gdb read back differs" >&2; exit 1; }
read -r b_p b_rx b_tx <<<"$(client 1)"
read -r w_p w_rx w_tx <<<"$(client 2)"
read -r r_p r_rx r_tx <<<"$(client 3)"
gw_rt=$((w_p - b_p)); gw_bytes=$((w_rx + w_tx - b_rx - b_tx))
gr_rt=$((r_p - b_p)); gr_bytes=$((r_rx + r_tx - b_rx - b_tx))

read -r _ ow_rt ow_tx ow_rx <<<"$("$BENCH" "gdb:127.0.0.1:$PORT" $ADDR $LEN | grep ^write)"
read -r _ or_rt or_tx or_rx <<<"$("$BENCH" "gdb:127.0.0.1:$PORT" $ADDR $LEN | grep ^read)"
ow_bytes=$((ow_tx + ow_rx)); or_bytes=$((or_tx + or_rx))

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf '%-34s %12s %12s %14s\n' "64 KiB RAM via oflash gdbserver" "round trips" "wire bytes" "bytes/payload"
printf '%-34s %12d %12d %14s\n' "write: oflash gdb: client (X)" "$ow_rt" "$ow_bytes" "$(ratio $ow_bytes $LEN)"
printf '%-34s %12d %12d %14s\n' "write: gdb-multiarch restore" "$gw_rt" "$gw_bytes" "$(ratio $gw_bytes $LEN)"
printf '%-34s %12d %12d %14s\n' "read:  oflash gdb: client (m)" "$or_rt" "$or_bytes" "$(ratio $or_bytes $LEN)"
printf '%-34s %12d %12d %14s\n' "read:  gdb-multiarch dump" "$gr_rt" "$gr_bytes" "$(ratio $gr_bytes $LEN)"
ok=0
[ "$ow_rt" -le "$gw_rt" ] && [ "$or_rt" -le "$gr_rt" ] || { echo "rsp.sh: more round trips than gdb" >&2; ok=1; }
awk -v a="$ow_bytes" -v b="$LEN" 'BEGIN { exit !(a / b <= 1.1) }' || { echo "rsp.sh: write > 1.1 wire bytes per payload byte" >&2; ok=1; }
exit $ok
