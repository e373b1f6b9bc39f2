# lib.sh - helpers for the GDB tests: free ports, starting QEMU and
# oflash gdbserver, and killing exactly what we started (by PID).
set -euo pipefail
: "${OFLASH:?OFLASH must point at the oflash CLI}"
: "${ARM_CC:=arm-none-eabi-gcc}"
: "${ARM_OBJCOPY:=arm-none-eabi-objcopy}"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# port_free, wait_port, wait_listen, pick_port, listen_port
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ports.sh"

# start_qemu: sets QPORT and QPID (QEMU halted, gdb stub on QPORT).  QEMU
# needs its port on the command line: a picked port another test took in
# the meantime makes QEMU exit (wait_listen fails) -> a fresh port.
start_qemu() {
    for _ in 1 2 3 4 5 6 7 8; do
        QPORT=$(pick_port) || continue
        qemu-system-arm -M netduinoplus2 -S -gdb "tcp:127.0.0.1:$QPORT" -nographic \
            -monitor none -serial none >"$WORK/qemu.log" 2>&1 &
        QPID=$!
        PIDS+=("$QPID")
        wait_listen "$QPORT" "$QPID" && return 0
        stop_pid "$QPID"
    done
    echo "cannot start QEMU" >&2
    return 1
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# json_get JSON KEY: integer or string value of "KEY" (first match)
json_get() {
    local re="\"$2\": (\"[a-z]*\"|[0-9]+)"
    [[ $1 =~ $re ]] && { local v=${BASH_REMATCH[1]}; echo "${v//\"/}"; }
}

# sym ELF NAME: symbol value as a decimal number
sym() { printf '%d' "0x$("${ARM_CC%gcc}nm" "$1" | awk -v n="$2" '$3 == n {print $1}')"; }

finish() {
    if [ "$FAILS" -ne 0 ]; then echo "$FAILS failed" >&2; exit 1; fi
    echo "all passed"
}

# start_server ARGS...: oflash gdbserver on a free port; sets SPORT, SPID, SLOG
start_server() {
    SLOG="$WORK/server.$RANDOM.log"
    "$OFLASH" gdbserver --listen 127.0.0.1:0 "$@" 2>"$SLOG" &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 100); do
        SPORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$SLOG" | head -1 | cut -d: -f2) || true
        [ -n "$SPORT" ] && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    echo "cannot start oflash gdbserver:" >&2; cat "$SLOG" >&2
    return 1
}

# gdbx ARGS...: gdb-multiarch in batch mode with a time limit
gdbx() { timeout 60 gdb-multiarch -batch -nx "$@" 2>&1; }
