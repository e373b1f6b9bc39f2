# openocd.sh - the real OpenOCD driving a simulated chip (sourced by the
# OpenOCD tests of every family and bench/openocd.sh, after a lib that
# defines WORK and PIDS and sources ports.sh).
#
# sim_serve CHIP LOG [ARGS...]: `oflash sim serve CHIP --remote-bitbang` on a
#   port the server picks (no race with other tests), log in LOG; sets SPID
#   (also in PIDS) and RB, the port; returns 1 (LOG printed) if it never
#   says where it listens.
# ocd LOG COMMANDS: one OpenOCD session with the config $CFG on the
#   remote-bitbang port $RB that runs COMMANDS, then shuts down.
# ocd_gdb LOG TARGET: OpenOCD with its GDB server (2 connections for
#   TARGET, e.g. stm32f4x.cpu) on a free port; sets G (the port) and OPID
#   (also in PIDS); returns 1 (LOG printed) after 5 tries.
# has FILE PATTERN: FILE holds PATTERN (grep); else shows FILE's tail.
sim_serve() {
    local chip=$1 log=$2
    shift 2
    "$OFLASH" sim serve "$chip" --remote-bitbang 127.0.0.1:0 "$@" >"$log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    RB=
    for _ in $(seq 200); do
        RB=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$log")
        [ -n "$RB" ] && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$log" >&2
    return 1
}

ocd() {
    local log=$1
    shift
    timeout 120 openocd -f "$CFG" -c "remote_bitbang port $RB" \
        -c "gdb_port disabled; telnet_port disabled; tcl_port disabled" -c "$1; shutdown" >"$log" 2>&1
}

ocd_gdb() {
    local log=$1 target=$2
    OPID=
    for _ in 1 2 3 4 5; do
        G=$(pick_port)
        timeout 300 openocd -f "$CFG" -c "remote_bitbang port $RB" \
            -c "gdb_port $G; $target configure -gdb-max-connections 2; telnet_port disabled; tcl_port disabled" >"$log" 2>&1 &
        OPID=$!
        wait_listen "$G" "$OPID" && break # else the picked port was taken meanwhile
        kill "$OPID" 2>/dev/null || true
        wait "$OPID" 2>/dev/null || true
        OPID=
    done
    [ -n "$OPID" ] || { cat "$log" >&2; return 1; }
    PIDS+=("$OPID")
}

has() { grep -q -- "$2" "$1" || { echo "  $1 lacks '$2':"; grep -v "^Info : JTAG tap" "$1" | tail -15; return 1; }; }
