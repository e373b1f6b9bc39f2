# lib.sh - helpers of the end-to-end programming tests: a scratch
# directory, the test firmware built with arm-none-eabi-gcc, JSON fields,
# oflash gdbserver on a free port, killing exactly what we started (by PID).
set -euo pipefail
: "${OFLASH:?OFLASH must point at the oflash CLI}"
: "${ARM_CC:=arm-none-eabi-gcc}"
: "${ARM_OBJCOPY:=arm-none-eabi-objcopy}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
check() { # check DESCRIPTION COMMAND...: the command must succeed
    local d=$1; shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}
finish() {
    if [ "$FAILS" -ne 0 ]; then echo "$FAILS failed" >&2; exit 1; fi
    echo "all passed"
}

# jget JSON KEY: the value of "KEY" (number, string without quotes, null).
# A number may have an exponent (docs/json.md: a time below 1e-4 s is
# written 4.312e-6).
jget() {
    local re="\"$2\": (\"[a-z]*\"|-?[0-9.]+([eE][-+]?[0-9]+)?|null)"
    if [[ $1 =~ $re ]]; then local v=${BASH_REMATCH[1]}; echo "${v//\"/}"; else echo "MISSING"; fi
}

# build_fw NAME [CFLAGS...]: $WORK/NAME.elf, .hex, .srec from fw/fw.c
build_fw() {
    local n=$1; shift
    "$ARM_CC" -mcpu=cortex-m4 -mthumb -Os -nostdlib -T "$HERE/fw/fw.ld" "$@" \
        -o "$WORK/$n.elf" "$HERE/fw/fw.c"
    "$ARM_OBJCOPY" -O ihex "$WORK/$n.elf" "$WORK/$n.hex"
    "$ARM_OBJCOPY" -O srec "$WORK/$n.elf" "$WORK/$n.srec"
}

# CMD_LIMIT: the hang guard of one oflash command in these tests, in
# seconds.  A command takes milliseconds to a few seconds on an idle
# machine, 20-40x that on a loaded one (CI: 2 cores, ctest -j2, then ASan
# 2-5x slower; here: other suites beside) -- and a command that writes a
# file waits for the disk (sim create fsyncs a 1-3 MB chip file, which
# waits behind every other writer's data).  The guard only turns a hang
# into a message; the test's CTest TIMEOUT (~40x its idle time) bounds the
# whole test.
CMD_LIMIT=${OFLASH_TEST_CMD_LIMIT:-120}

# run_oflash OUTVAR RCVAR ARGS...: run the CLI with a timeout, keep stdout+stderr
run_oflash() {
    local __out=$1 __rc=$2; shift 2
    local o r=0
    o=$(timeout "$CMD_LIMIT" "$OFLASH" "$@" 2>&1) || r=$?
    printf -v "$__out" '%s' "$o"
    printf -v "$__rc" '%s' "$r"
}

# sim_create PATH DEVICE [ARGS...]: `oflash sim create`; on failure a
# FAIL line that says why (its exit code and output, or no answer within
# CMD_LIMIT s).
sim_create() {
    local out rc=0 path=$1 dev=$2
    shift 2
    out=$(timeout "$CMD_LIMIT" "$OFLASH" sim create "$path" --device "$dev" "$@" 2>&1) || rc=$?
    [ "$rc" = 0 ] && return 0
    if [ "$rc" = 124 ]; then
        fail "sim create $dev: no answer within $CMD_LIMIT s"
    else
        fail "sim create $dev: exit $rc: $out"
    fi
    return 1
}

# dump FILE: the whole flash + OTP + lock bytes of an F401xE to FILE,
# through the target options in the array T (--probe, --device)
dump() {
    timeout "$CMD_LIMIT" "$OFLASH" read 0x08000000 0x80000 -o "$1.flash.bin" "${T[@]}" --quiet &&
        timeout "$CMD_LIMIT" "$OFLASH" read 0x1FFF7800 0x210 -o "$1.otp.bin" "${T[@]}" --quiet &&
        cat "$1.flash.bin" "$1.otp.bin" >"$1"
}

# ctrl_c PID [SECONDS]: SIGINT to PID once it has its handler (default: wait
# up to 30 s).  A command started with & by a script inherits SIGINT
# *ignored* (bash, no job control) until oflash installs its handler a few
# milliseconds after exec: a SIGINT sent before that is lost, and the
# command never stops.  /proc/PID/status SigCgt bit 1 is the handler.
ctrl_c() {
    local t=$((SECONDS + ${2:-30})) cgt
    while [ $SECONDS -lt $t ]; do
        cgt=$(sed -n 's/^SigCgt:\s*//p' "/proc/$1/status" 2>/dev/null) || break
        [ -n "$cgt" ] && (( 0x$cgt & 2 )) && break
        sleep 0.05
    done
    kill -INT "$1" 2>/dev/null || true
}

source "$(dirname "${BASH_SOURCE[0]}")/../lib/ports.sh"

# start_gdbserver CHIP DEVICE: oflash gdbserver for sim:CHIP; sets GPORT, GPID.
# With --otp: the client programs OTP through the server (a server without
# it makes the simulated chip refuse OTP programming for the session).
# The server picks the port (--listen 127.0.0.1:0) and says which.
start_gdbserver() {
    "$OFLASH" gdbserver --probe "sim:$1" --device "$2" --listen 127.0.0.1:0 --otp \
        >"$WORK/gdbserver.log" 2>&1 &
    GPID=$!
    PIDS+=("$GPID")
    GPORT=$(listen_port "$WORK/gdbserver.log" "$GPID") && wait_port "$GPORT" "$GPID" && return 0
    echo "cannot start oflash gdbserver" >&2
    cat "$WORK/gdbserver.log" >&2 || true
    return 1
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# check_serial OTP LOCK: the OTP at OTP holds the firmware's serial
# SN-000001234 and, of the 16 lock bytes at LOCK, byte 0 is 0x00 (locked)
# and the others 0xFF (through the target options in T).
check_serial() {
    timeout "$CMD_LIMIT" "$OFLASH" read "$1" 12 -o "$WORK/serial.bin" "${T[@]}" --quiet
    [ "$(cat "$WORK/serial.bin")" = "SN-000001234" ] && pass "serial in OTP block 0 ($1)" ||
        fail "serial: $(od -c "$WORK/serial.bin")"
    timeout "$CMD_LIMIT" "$OFLASH" read "$2" 16 -o "$WORK/locks.bin" "${T[@]}" --quiet
    [ "$(od -An -tx1 "$WORK/locks.bin" | tr -d ' \n')" = "00ffffffffffffffffffffffffffffff" ] &&
        pass "lock byte 0 set, the others untouched" || fail "locks: $(od -An -tx1 "$WORK/locks.bin")"
}

# check_reruns FILE...: `program $WORK/FILE --otp` again writes nothing
# (the 2 sectors of the firmware skipped, no OTP byte, no lock).
check_reruns() {
    local f out rc
    for f in "$@"; do
        run_oflash out rc program "$WORK/$f" "${T[@]}" --otp --json
        [ "$rc" = 0 ] && [ "$(jget "$out" sectors_erased)" = 0 ] &&
            [ "$(jget "$out" bytes_programmed)" = 0 ] &&
            [ "$(jget "$out" otp_bytes_programmed)" = 0 ] &&
            [ "$(jget "$out" otp_blocks_locked)" = 0 ] &&
            [ "$(jget "$out" sectors_skipped)" = 2 ] && pass "rerun with $f writes nothing" ||
            fail "rerun with $f: rc $rc: $out"
    done
}
