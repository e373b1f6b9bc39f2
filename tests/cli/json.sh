#!/usr/bin/env bash
# One JSON convention (docs/json.md): every command that reports takes
# --json and prints exactly one JSON document on stdout with the documented
# keys; a failure prints {"error": {"code", "message", "exit_code", ...}} on
# stdout with the same exit code as without --json; plan and result use the
# same key names; an OTP lock is "locked" + "lock_byte" everywhere.
source "$(dirname "$0")/../flash/lib.sh"
cd "$WORK"
CHIP="$WORK/c.sim"
T=(--probe "sim:$CHIP")

# jrun WHAT RC ARGS... : run oflash ARGS, expect exit RC, keep stdout in J
jrun() {
    local what=$1 want=$2 rc=0; shift 2
    "$OFLASH" "$@" >out.json 2>err.txt || rc=$?
    J=$(cat out.json)
    if [ "$rc" != "$want" ]; then fail "$what: exit $rc (expected $want): $J $(cat err.txt)"; return 1; fi
}
# jkeys WHAT PATH... : stdout is one JSON document (one line) holding every
# PATH (a.b.0.c); PATH=VALUE also compares the value (as JSON text)
jkeys() {
    local what=$1; shift
    if python3 - out.json "$@" <<'P'; then pass "$what"; else fail "$what: $(cat out.json)"; fi
import json, sys
text = open(sys.argv[1]).read()
assert text.count("\n") == 1 and text.endswith("\n"), "not exactly one line"
doc = json.loads(text)
for spec in sys.argv[2:]:
    path, _, want = spec.partition("=")
    v = doc
    for k in path.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    if want:
        assert json.dumps(v) == want, f"{path} = {json.dumps(v)}, expected {want}"
P
}

printf ':020000040800F2\n:0400000001020304F2\n:00000001FF\n' >fw.hex
printf ':020000040800F2\n:0400000009020304EA\n:00000001FF\n' >fw2.hex
printf ':020000041FFFDC\n:04780000414243447A\n:00000001FF\n' >sn.hex
printf '\x00\xbe' >bkpt.bin   # BKPT #0

jrun "sim create" 0 sim create "$CHIP" --device STM32F401RE --uid 0102030405060708090a0b0c --json &&
    jkeys "sim create --json" chip part='"STM32F401xE"' uid='"0102030405060708090a0b0c"'
jrun "sim show" 0 sim show "$CHIP" --json &&
    jkeys "sim show --json (lock as locked + lock_byte)" part uid blank_sectors otp.0.block=0 \
        otp.0.locked=false otp.0.lock_byte=255 otp.0.blank=true faults last_run.sim_time_ns
jrun "sim fault" 0 sim fault "$CHIP" --fail-at 0x08060000 --json &&
    jkeys "sim fault --json" chip faults.fail_at=$((0x08060000)) faults.power_loss_after=null
"$OFLASH" sim fault "$CHIP" --clear >/dev/null
jrun "info" 0 info fw.hex sn.hex --json &&
    jkeys "info --json" segments.0.start=$((0x08000000)) segments.1.source segment_count=2 total_size=8 entry=null
jrun "convert" 0 convert fw.hex -o out.srec --json &&
    jkeys "convert --json" output='"out.srec"' format='"srec"' segment_count=1 total_size=4
jrun "devices" 0 devices F401 --json && jkeys "devices --json" devices.0.name devices.0.flash_size
jrun "devices show" 0 devices show STM32F401RE --json && jkeys "devices show --json" name banks.0.sectors regions
jrun "devices --paths" 0 devices --paths --json && jkeys "devices --paths --json" paths.0.origin paths.0.exists
jrun "loader check" 0 loader check "$OFLASH_BUILD/loaders/stm32f4.flm" --device STM32F401RE --json &&
    jkeys "loader check --json" check='"ok"' flash_device.name flash_device.sector_runs.0.size functions ram.needed target.device layout.buffer
jrun "program --plan" 0 program fw.hex sn.hex --otp --plan "${T[@]}" --json &&
    jkeys "program --plan --json: result's key names" device sectors.0.action='"program"' sectors_erased=0 \
        sectors_programmed=1 bytes_programmed=1024 otp_bytes_programmed=4 otp_blocks_locked=0 locks='[]' conflicts='[]'
jrun "program" 0 program fw.hex sn.hex --otp "${T[@]}" --json &&
    jkeys "program --json: same key names as the plan" device sectors_erased=0 bytes_programmed=1024 \
        otp_bytes_programmed=4 otp_blocks_locked=0 locks='[]' verify='"ok"' round_trips elapsed_s sim_time_s
jrun "verify" 0 verify fw.hex "${T[@]}" --json && jkeys "verify --json" verify='"ok"' bytes=4 round_trips
jrun "read" 0 read 0x08000000 4 -o r.bin "${T[@]}" --json &&
    jkeys "read --json" address=$((0x08000000)) length=4 output='"r.bin"' format='"bin"'
jrun "otp" 0 otp "${T[@]}" --json &&
    jkeys "otp --json (lock as locked + lock_byte)" blocks.0.block=0 blocks.0.locked=false blocks.0.lock_byte=255 \
        blocks.0.blank=false blocks.0.data
jrun "otp lock --yes" 0 otp lock 3 --yes "${T[@]}" --json &&
    jkeys "otp lock --json" otp_blocks_locked=1 locks.0.block=3 locks.0.lock_address=$((0x1FFF7A03))
jrun "otp after lock" 0 otp "${T[@]}" --json && jkeys "otp --json: block 3 locked" blocks.3.locked=true blocks.3.lock_byte=0
jrun "sim show after lock" 0 sim show "$CHIP" --json && jkeys "sim show --json: block 3 locked, same keys" otp.3.locked=true otp.3.lock_byte=0
jrun "protect" 0 protect "${T[@]}" --json && jkeys "protect --json" device rdp_level=0
jrun "protect plan" 1 protect --rdp 1 "${T[@]}" --json &&
    jkeys "protect --rdp 1 without --yes: the plan in the error" error.code='"confirmation_needed"' \
        error.plan.rdp_level=0 error.plan.rdp_level_planned=1 error.plan.mass_erase=false
jrun "reset" 0 reset --halt "${T[@]}" --json && jkeys "reset --json" reset.state='"halted"' reset.sp reset.pc
jrun "run" 0 run --probe "sim:$CHIP" --load bkpt.bin@0x20000000 --pc 0x20000001 --sp 0x20002000 --reg r0=7 --json &&
    jkeys "run --json" stopped='"bkpt"' pc=$((0x20000000)) registers.r0=7
jrun "erase" 0 erase --sector 1,2 "${T[@]}" --json && jkeys "erase --json" sectors_erased=2 sectors='[1, 2]'

# errors: {"error": {...}} on stdout, same exit codes
jrun "usage error" 2 erase "${T[@]}" --json &&
    jkeys "usage error: code usage, exit 2" error.code='"usage"' error.exit_code=2 error.message
jrun "unknown option" 2 info --frob fw.hex --json &&
    jkeys "unknown option before --json: still JSON" error.code='"usage"' error.exit_code=2
jrun "missing file" 1 info nosuch.hex --json && jkeys "missing file: exit 1" error.code error.exit_code=1 error.message
jrun "verify failed" 1 verify fw2.hex "${T[@]}" --json &&
    jkeys "verify failed: error object keeps the verify fields" error.code='"verify_failed"' error.verify='"failed"' \
        error.first_difference=$((0x08000000))
printf ':020000041FFFDC\n:047800005A5A5A5A1C\n:00000001FF\n' >sn2.hex
jrun "conflict" 1 program fw.hex sn2.hex --otp "${T[@]}" --json &&
    jkeys "OTP conflict: code conflict + the plan" error.code='"conflict"' error.plan.conflicts.0.block=0 \
        error.plan.conflicts.0.reason='"otp_value"'
jrun "program over it --plan" 0 program fw2.hex --plan "${T[@]}" --json &&
    jkeys "program --plan --json: an erase planned" sectors.0.action='"erase_program"' sectors_erased=1
jrun "program over it" 0 program fw2.hex "${T[@]}" --json &&
    jkeys "program --json: the erase done, same key" sectors_erased=1 verify='"ok"'
jrun "otp lock without --yes" 1 otp lock 4 "${T[@]}" --json &&
    jkeys "otp lock without --yes: the plan in the error" error.code='"confirmation_needed"' error.plan.locks.0.block=4
jrun "no device" 1 devices NOSUCHPART --json && jkeys "devices without a match" error.code='"not_found"'
jrun "pack missing" 1 pack add nosuch.pack --json && jkeys "pack add: error object" error.code error.exit_code=1

printf '\xfe\xe7' >loop.bin   # b .
jrun "run timeout" 1 run --probe "sim:$CHIP" --load loop.bin@0x20000000 --pc 0x20000001 --sp 0x20002000 --json --timeout 0.2 &&
    jkeys "run timeout: error object with stopped and registers" error.code='"timeout"' error.stopped='"timeout"' error.registers.pc
jrun "read stdout with json" 2 read 0x08000000 4 -o - "${T[@]}" --json &&
    jkeys "read -o - --json: usage error" error.code='"usage"'
# Times are JSON numbers; one below 1e-4 s has an exponent (jansson's
# shortest form, docs/json.md): the verify of 4 bytes takes a few us of
# target time.  The readers in our scripts read it as a JSON parser does:
# jget of tests/flash/lib.sh and bench/lib/json.sh (jq, the benches).
jrun "verify of 4 bytes" 0 verify fw2.hex "${T[@]}" --json && {
    want=$(python3 -c 'import json; print(repr(json.load(open("out.json"))["sim_time_s"]))')
    raw=$(grep -oE '"sim_time_s": [^,}]*' out.json)
    same() { python3 -c 'import sys; sys.exit(float(sys.argv[1]) != float(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
    python3 -c 'import sys; sys.exit(not 0 < float(sys.argv[1]) < 1e-4)' "$want" && [[ $raw =~ [eE] ]] &&
        pass "a time below 1e-4 s is written with an exponent ($raw)" || fail "tiny time: $raw ($want)"
    got=$(jget "$J" sim_time_s)
    same "$got" "$want" && pass "tests' jget reads it as JSON does ($got)" || fail "tests' jget: '$got', JSON says $want"
    got=$(source "$OFLASH_SRC/bench/lib/json.sh" && jget "$J" sim_time_s)
    same "$got" "$want" && pass "the benches' jget (jq) reads it as JSON does ($got)" || fail "bench jget: '$got', JSON says $want"
}
# the human messages still go to stderr
jrun "stderr" 1 info nosuch.hex --json && grep -q "oflash: " err.txt && pass "message also on stderr" || fail "stderr: $(cat err.txt)"
finish
