#!/usr/bin/env bash
# e2e_openocd.sh - the real OpenOCD 0.12 drives a simulated STM32F401RE
# through `oflash sim serve --remote-bitbang` (JTAG), as if it were silicon:
#   1. OpenOCD alone: the scan chain and IDs, reset halt, reg, step, bp,
#      resume/halt, mdw/mww, flash probe, write_image + verify_image (its own
#      RAM loader on the simulated core), read_bank, the OTP bank, reset run;
#   2. gdb-multiarch through OpenOCD's GDB server: load, compare-sections,
#      monitor reset halt;
#   3. oflash through OpenOCD's GDB server (--probe gdb:...): program of one
#      ELF with code + OTP serial + lock byte (exact contents, a rerun writes
#      nothing, with bounded probe traffic: one halt, a tenth of the first
#      run's TCK cycles; a conflicting serial is refused with the chip
#      unchanged, --plan), verify by the CRC unit (one halt, under half the
#      TCK cycles of --verify loader), run of a RAM routine ending in BKPT,
#      read, otp; the part found from DBGMCU_IDCODE without --device;
#   4. the server stops cleanly on SIGTERM and the chip file holds the result.
# Every process is started here on free loopback ports and stopped by PID.
source "$(dirname "$0")/../flash/lib.sh"
source "$(dirname "$0")/../lib/openocd.sh"
CFG="$(cd "$(dirname "$0")" && pwd)/oflash-sim-stm32f4.cfg"
command -v openocd >/dev/null || { echo "FAIL: openocd is not installed (scripts/install-deps.sh)"; exit 1; }
command -v gdb-multiarch >/dev/null || { echo "FAIL: gdb-multiarch is not installed"; exit 1; }
cd "$WORK"
if [ -n "${KEEP_WORK:-}" ]; then # debugging: keep the logs
    trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; echo "kept $WORK"' EXIT
fi

# ---- firmware: 20 KiB of code/data, serial "SN-000001234" in OTP block 0, lock byte 0x00
build_fw fw -DBIGDATA_KB=20
build_fw conflict -DBIGDATA_KB=20 '-DSERIAL="SN-000009999"'
"$ARM_OBJCOPY" -R .otp -R .otp_lock fw.elf fwflash.elf 2>/dev/null
"$ARM_OBJCOPY" -O binary -j .isr_vector -j .text -j .bigdata -j .data fw.elf fw.bin
ENTRY=$(printf '0x%08x' "$(arm-none-eabi-nm fw.elf | awk '/ reset_handler$/ {print "0x" $1}')")
# the loop head: target of the backward branch that ends reset_handler
LOOP=$(arm-none-eabi-objdump -d fw.elf | awk '/<reset_handler>:/,0' |
    sed -nE 's/.*\sb(\.n|\.w)?\s+([0-9a-f]+) <reset_handler.*/\2/p' | head -1)
LOOP=$(printf '0x%08x' "0x$LOOP")
FWSIZE=$(stat -c %s fw.bin)

CHIP=$WORK/chip.sim
"$OFLASH" sim create "$CHIP" --device STM32F401RE --uid 00112233445566778899aabb >/dev/null
sim_serve "$CHIP" serve.log || { echo "FAIL: sim serve did not listen"; exit 1; }
check "sim serve says where it listens" grep -q "listening on 127.0.0.1:$RB" serve.log


# ---- 1. OpenOCD alone
ocd init.log "init"
check "init: JTAG-DP 0x4ba00477 found" has init.log "tap/device found: 0x4ba00477"
check "init: boundary-scan TAP 0x06433041 (F401xD/E) found" has init.log "tap/device found: 0x06433041"
check "init: target examined" has init.log "Cortex-M4 r0p1 processor detected"
check "init: FPB 6 + DWT 4 comparators" has init.log "target has 6 breakpoints, 4 watchpoints"
# An erased chip has no reset vector: the core locks up, OpenOCD says so.
check "init: blank chip locked up, OpenOCD halts it" has init.log "clearing lockup after double fault"

ocd flash.log 'init; reset halt; echo "PROBE:[capture {flash probe 0}]";
  echo "WRITE:[capture {flash write_image erase fwflash.elf}]";
  echo "VERIFY:[capture {verify_image fwflash.elf}]";
  flash read_bank 0 rb.bin 0 '"$FWSIZE"';
  echo "OTP:[capture {stm32f2x otp 1 show}]"; echo "INFO1:[capture {flash info 1}]"'
check "flash probe 0: 512 KiB" has flash.log "flash size = 512 KiB"
check "flash write_image erase: written" has flash.log "wrote [0-9]* bytes from file fwflash.elf"
check "verify_image (OpenOCD's RAM loader ran on the simulated core)" has flash.log "VERIFY:verified $FWSIZE bytes"
check "flash read_bank matches the image" cmp rb.bin fw.bin
check "stm32f2x otp: the OTP bank (512 bytes)" has flash.log "OTP:flash size = 512 bytes"
check "flash info 1: 16 OTP blocks of 32 bytes" has flash.log "# 15: 0x000001e0 (0x20 0kB)"

ocd debug.log 'init; reset halt; echo "PC0:[capture {reg pc}]"; step; echo "PC1:[capture {reg pc}]";
  bp '"$LOOP"' 2 hw; resume; wait_halt 2000; echo "PC2:[capture {reg pc}]"; rbp all;
  wp 0x20000000 4 w; resume; wait_halt 2000; echo "WP:[capture {reg pc}]"; rwp 0x20000000;
  mww 0x20004000 0xCAFEF00D; echo "MDW:[capture {mdw 0x20004000 1}]";
  reset run; sleep 30; halt; echo "R2:[capture {reg r2}]"; echo "PC3:[capture {reg pc}]"'
check "reset halt: pc at the reset handler $ENTRY" has debug.log "PC0:pc (/32): $ENTRY"
check "step: one 16-bit instruction" has debug.log "PC1:pc (/32): $(printf '0x%08x' $((ENTRY + 2)))"
check "bp + resume: halted due to breakpoint" has debug.log "halted due to breakpoint"
check "bp: pc at the breakpoint $LOOP" has debug.log "PC2:pc (/32): $LOOP"
check "wp: the firmware's store to its counter halts the core (DWT)" has debug.log "halted due to watchpoint"
check "mww/mdw" has debug.log "MDW:0x20004000: cafef00d"
# reset run: r2 = 0 after the reset; the firmware's first instruction loads
# the address of its counter (0x20000000) into r2 and the loop keeps it.
check "reset run starts the firmware (r2 loaded by its code)" has debug.log "R2:r2 (/32): 0x20000000"
pc3=$(sed -nE 's/^PC3:pc \(\/32\): (0x[0-9a-f]+).*/\1/p' debug.log)
check "reset run: the halted core is inside the firmware's loop ($pc3)" \
    test -n "$pc3" -a $((pc3)) -ge $((ENTRY)) -a $((pc3)) -lt $((ENTRY + 0x30))

# WAIT: a flash read while a program operation (16 us) is in progress
# stalls the bus and the JTAG-DP answers WAIT.  At 4 MHz OpenOCD is never
# that fast; at a 1 GHz adapter clock it is, and it has to resend.
"$OFLASH" sim create chip2.sim --device STM32F401RE >/dev/null
"$OFLASH" sim serve chip2.sim --remote-bitbang 127.0.0.1:0 --adapter-khz 1000000 >serve2.log 2>&1 &
SPID2=$!
PIDS+=("$SPID2")
RB2=
for _ in $(seq 200); do
    RB2=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+).*/\1/p' serve2.log)
    [ -n "$RB2" ] && break
    sleep 0.05
done
timeout 120 openocd -f "$CFG" -c "remote_bitbang port $RB2" \
    -c "gdb_port disabled; telnet_port disabled; tcl_port disabled" \
    -c 'init; reset halt; mww 0x40023C04 0x45670123; mww 0x40023C04 0xCDEF89AB;
        mww 0x40023C10 0x201; mww 0x08010000 0x11223344;
        echo "RD:[read_memory 0x08010000 32 1]"; shutdown' >wait.log 2>&1
kill -INT "$SPID2"
rc=0
wait "$SPID2" || rc=$?
check "sim serve exits 0 on SIGINT" test "$rc" = 0
check "WAIT: OpenOCD saw the stall and resent" has wait.log "DAP transaction stalled (WAIT)"
check "WAIT: the read after the stall gives the programmed word" has wait.log "RD:0x11223344"
check "WAIT: the server counted WAIT answers" bash -c "grep -qE 'waits=[1-9]' serve2.log"

# kill -9 of the server in the middle of OpenOCD's flash write: the chip
# file opens again (its journal replayed) and can be programmed again.
"$OFLASH" sim create chip3.sim --device STM32F401RE >/dev/null
"$OFLASH" sim serve chip3.sim --remote-bitbang 127.0.0.1:0 >serve3.log 2>&1 &
SPID3=$!
PIDS+=("$SPID3")
RB3=
for _ in $(seq 200); do
    RB3=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+).*/\1/p' serve3.log)
    [ -n "$RB3" ] && break
    sleep 0.05
done
timeout 120 openocd -f "$CFG" -c "remote_bitbang port $RB3" \
    -c "gdb_port disabled; telnet_port disabled; tcl_port disabled" \
    -c "init; reset halt; flash write_image erase fwflash.elf; shutdown" >kill.log 2>&1 &
OPID3=$!
sleep 1.5
kill -9 "$SPID3"
wait "$SPID3" 2>/dev/null || true
wait "$OPID3" 2>/dev/null || true
check "kill -9 mid-write: the chip file opens again" "$OFLASH" sim show chip3.sim
run_oflash out rc program fwflash.elf --probe sim:chip3.sim
check "kill -9 mid-write: the chip programs again" test "$rc" = 0

# ---- 2. gdb-multiarch through OpenOCD's GDB server
# OpenOCD's GDB server on a free port (retried if another test takes it first)
ocd_gdb ocd-gdb.log stm32f4x.cpu || { echo "FAIL: OpenOCD's GDB server did not listen"; exit 1; }
"$OFLASH" erase --all --probe "gdb:127.0.0.1:$G" --device STM32F401RE -q >erase.log 2>&1 ||
    fail "oflash erase --all through OpenOCD: $(cat erase.log)"
timeout 120 gdb-multiarch -batch -nx fwflash.elf -ex "target extended-remote 127.0.0.1:$G" \
    -ex "monitor reset halt" -ex load -ex compare-sections -ex "monitor reset halt" \
    -ex 'p/x $pc' >gdb.log 2>&1 || true
check "gdb load through OpenOCD" has gdb.log "Start address $ENTRY"
check "gdb compare-sections: .bigdata matched" has gdb.log "Section .bigdata, range .*: matched"
check "gdb compare-sections: nothing mismatched" bash -c "! grep -q MIS-MATCHED gdb.log"
check "gdb monitor reset halt: pc at the entry" has gdb.log "= 0x$(printf %x "$ENTRY")"

# ---- 3. oflash through OpenOCD's GDB server
T=(--probe "gdb:127.0.0.1:$G" --device STM32F401RE)
# dump FILE: the sectors the image covers (0-4, 128 KiB) + OTP and lock bytes
dump() {
    timeout 300 "$OFLASH" read 0x08000000 0x20000 -o "$1.flash.bin" "${T[@]}" --quiet &&
        timeout 60 "$OFLASH" read 0x1FFF7800 0x210 -o "$1.otp.bin" "${T[@]}" --quiet &&
        cat "$1.flash.bin" "$1.otp.bin" >"$1"
}
run_oflash out rc erase --all "${T[@]}"
check "oflash erase --all through OpenOCD" test "$rc" = 0
run_oflash out rc program fw.elf --probe "gdb:127.0.0.1:$G" --otp --plan
[ "$rc" = 0 ] || echo "$out"
check "--plan exits 0" test "$rc" = 0
check "--plan lists the OTP bytes and the lock" bash -c "grep -q 'otp: 12 bytes to program' <<<\"\$0\" && grep -q 'lock' <<<\"\$0\"" "$out"
# mark: the server's figures of this session so far (SIGUSR1 prints one line)
mark() {
    local n
    n=$(grep -c '^progress ' serve.log || true)
    kill -USR1 "$SPID"
    for _ in $(seq 200); do
        [ "$(grep -c '^progress ' serve.log || true)" -gt "$n" ] && break
        sleep 0.02
    done
    grep '^progress ' serve.log | tail -1
}
fig() { sed -nE "s/.* $2=([0-9]+).*/\1/p" <<<"$1"; }
m0=$(mark)
run_oflash out rc program fw.elf --probe "gdb:127.0.0.1:$G" --otp --json
m1=$(mark)
first_rt=$(jget "$out" round_trips)
check "program without --device: part detected from DBGMCU_IDCODE" bash -c "grep -q 'STM32F401xE detected from DBGMCU_IDCODE 0x10000433' <<<\"\$0\"" "$out"
check "program: exit 0" test "$rc" = 0
check "program: 12 OTP bytes" test "$(jget "$out" otp_bytes_programmed)" = 12
check "program: block 0 locked" test "$(jget "$out" otp_blocks_locked)" = 1
check "program: verify ok" test "$(jget "$out" verify)" = ok
"$OFLASH" read 0x08000000 "$FWSIZE" -o back.bin "${T[@]}" -q
check "oflash read: flash holds exactly the image" cmp back.bin fw.bin
"$OFLASH" read 0x1FFF7800 0x210 -o otp.bin "${T[@]}" -q
printf 'SN-000001234' >otp.want
head -c 500 /dev/zero | tr '\0' '\377' >>otp.want
printf '\000' >>otp.want
head -c 15 /dev/zero | tr '\0' '\377' >>otp.want
check "oflash read: OTP = serial + 0xFF, lock byte 0 = 0x00, others 0xFF" cmp otp.bin otp.want
m2=$(mark)
run_oflash out rc program fw.elf --probe "gdb:127.0.0.1:$G" --otp --json
m3=$(mark)
check "rerun: nothing erased, programmed or locked" \
    test "$(jget "$out" sectors_erased)/$(jget "$out" bytes_programmed)/$(jget "$out" otp_bytes_programmed)/$(jget "$out" otp_blocks_locked)" = 0/0/0/0
# The rerun's probe traffic, relative to the first run of this same test:
# one run of code on the core (the CRC scan: one halt, no flash loader),
# under a tenth of the first run's TCK cycles (20 KiB image; the 64 KiB
# benchmark's rerun is under 2 %) and a quarter of its round trips.
first_tck=$(($(fig "$m1" tck) - $(fig "$m0" tck)))
rerun_tck=$(($(fig "$m3" tck) - $(fig "$m2" tck)))
rerun_halts=$(($(fig "$m3" halts) - $(fig "$m2" halts)))
rerun_rt=$(jget "$out" round_trips)
echo "first run: $first_tck TCK, $first_rt round trips; rerun: $rerun_tck TCK, $rerun_rt round trips, $rerun_halts halts"
check "rerun: one halt (one CRC scan, no loader calls)" test "$rerun_halts" -le 1
check "rerun: TCK cycles under 10 % of the first run's" test $((rerun_tck * 10)) -lt "$first_tck"
check "rerun: round trips under a quarter of the first run's" test $((rerun_rt * 4)) -lt "$first_rt"
# oflash verify through OpenOCD: the CRC unit in one run (one halt, no
# loader) against the loader's CRC (--verify loader: download + calls).
m4=$(mark)
run_oflash outl rc verify fw.elf --probe "gdb:127.0.0.1:$G" --verify loader --json
m5=$(mark)
run_oflash out rc verify fw.elf --probe "gdb:127.0.0.1:$G" --json
m6=$(mark)
vl_tck=$(($(fig "$m5" tck) - $(fig "$m4" tck)))
vc_tck=$(($(fig "$m6" tck) - $(fig "$m5" tck)))
vc_halts=$(($(fig "$m6" halts) - $(fig "$m5" halts)))
echo "verify: loader CRC $vl_tck TCK; CRC unit $vc_tck TCK, $vc_halts halts"
check "verify --verify loader through OpenOCD: ok by the loader" \
    bash -c "grep -q '\"verify\": \"ok\".*\"method\": \"loader\"' <<<\"\$0\"" "$outl"
check "verify through OpenOCD: ok by the CRC unit" \
    bash -c "grep -q '\"verify\": \"ok\".*\"method\": \"crc_unit\"' <<<\"\$0\"" "$out"
check "verify by the CRC unit: one halt" test "$vc_halts" -le 1
check "verify by the CRC unit: under half the loader path's TCK cycles" test $((vc_tck * 2)) -lt "$vl_tck"
dump before.dump
run_oflash out rc program conflict.elf --probe "gdb:127.0.0.1:$G" --otp
check "conflicting serial refused (exit 1)" test "$rc" = 1
check "conflict names OTP block 0" bash -c "grep -q 'OTP conflicts, nothing written' <<<\"\$0\"" "$out"
dump after.dump
check "conflict: whole chip unchanged" cmp before.dump after.dump
run_oflash out rc otp "${T[@]}"
check "oflash otp: block 0 locked with the serial" bash -c "grep -qE '^ +0 +0x1FFF7800 +locked +0x00 +534E2D303030303031323334' <<<\"\$0\"" "$out"
printf '\x01\x30\x02\x31\x00\xbe' >routine.bin # adds r0,#1; adds r1,#2; bkpt
run_oflash out rc run "${T[@]}" --load routine.bin@0x20001000 --pc 0x20001001 --sp 0x20002000 \
    --reg r0=41 --reg r1=5
check "oflash run: RAM routine stops at its BKPT" bash -c "grep -q 'stopped: bkpt at 0x20001004' <<<\"\$0\"" "$out"
check "oflash run: r0 = 42, r1 = 7" bash -c "grep -qE 'r0 +0x0000002A +r1 +0x00000007' <<<\"\$0\"" "$out"

kill "$OPID" 2>/dev/null || true
wait "$OPID" 2>/dev/null || true

# ---- 4. the server stops cleanly; the chip file holds the result
kill -TERM "$SPID"
rc=0
wait "$SPID" || rc=$?
check "sim serve exits 0 on SIGTERM" test "$rc" = 0
check "sim serve reported each session" test "$(grep -c '^session ' serve.log)" -ge 4
"$OFLASH" read 0x1FFF7800 12 -o otp2.bin --probe "sim:$CHIP" -q
check "the chip file holds the serial after the server stopped" cmp otp2.bin <(printf 'SN-000001234')
finish
