#!/usr/bin/env bash
# oflash gdbserver as a client of the one flash path, guarded and bounded
# (issues 9 and 14).  Against a simulated STM32F401RE, with gdb-multiarch
# and a raw RSP client (rsp_raw.py):
#  - a gdb 'load' the server refuses (OTP data without --otp; a conflicting
#    serial with --otp) leaves the whole chip (flash, OTP, lock bytes, option
#    bytes) byte-identical; an accepted load programs through the plan;
#  - bytes of an erased sector that gdb did not write become 0xFF, other
#    sectors are kept;
#  - memory writes into OTP, lock bytes, option bytes and the flash
#    interface's key registers are refused without the opt-ins; code run on
#    the simulated core cannot program OTP or option bytes either;
#  - 4,000 vFlashWrite packets without vFlashDone do not grow the server;
#  - 50 clients at once: one served, the others told "busy", none hangs;
#    an idle client is disconnected after --idle-timeout.
source "$(dirname "$0")/lib.sh"
RAW="python3 $(dirname "$0")/rsp_raw.py"

CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null

# The whole chip as the sim probe reads it (tests/lib/chip.sh): main flash,
# OTP data + lock bytes, option bytes (F401xE addresses; the F7 section
# sets its own); firmware filling sectors 0-1, a serial in OTP block 1.
source "$(dirname "$0")/../lib/chip.sh"
FLASH_LEN=0x80000 OTP_BASE=0x1FFF7800 OTP_LEN=0x210 OPT_BASE=0x1FFFC000 OPT_LEN=0x10
FW_CPU=cortex-m4 FW_SP=0x20018000 FW_FILL=30000 FW_OTP=0x1FFF7820
fw_elf fwA 0xA5
fw_elf fwB_otpB 0x5A "SERIAL-B-0002-OFLASH-OTP-TEST-02"
fw_elf fwB_otpA 0x5A "SERIAL-A-0001-OFLASH-OTP-TEST-01"
"$OFLASH" program "$WORK/fwA.elf" --probe "sim:$CHIP" --quiet

load() { gdbx -ex "target remote 127.0.0.1:$SPORT" -ex "file $1" -ex "load" "${@:2}" -ex "detach"; }

# ---- (a) OTP data in the image, server without --otp
chip_dump "$WORK/before.bin"
start_server --device STM32F401RE --probe "sim:$CHIP"
g=$(load "$WORK/fwB_otpB.elf")
grep -q "Error finishing flash operation" <<<"$g" && pass "load with OTP data refused without --otp" \
    || fail "load not refused: $g"
grep -q "vFlashDone refused: the image holds one-time-programmable bytes.*nothing was written" "$SLOG" \
    && pass "server log says why" || fail "log: $(cat "$SLOG")"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "OTP image refused without --otp"

# ---- oflash program --otp through the guarded server: refused before
# anything is written (the server advertises oflash-guard=otp).
chip_dump "$WORK/before.bin"
start_server --device STM32F401RE --probe "sim:$CHIP"
rc=0; out=$("$OFLASH" program "$WORK/fwB_otpB.elf" --otp --probe "gdb:127.0.0.1:$SPORT" \
    --device STM32F401RE --quiet 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "the GDB server refuses OTP programming for this session.*nothing was written" <<<"$out" \
    && pass "oflash program --otp via a server without --otp: refused up front" || fail "program via guard: rc $rc: $out"
rc=0; out=$("$OFLASH" program "$WORK/fwB_otpB.elf" --otp --plan --probe "gdb:127.0.0.1:$SPORT" \
    --device STM32F401RE 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "the GDB server refuses OTP programming for this session" <<<"$out" \
    && pass "... and --plan shows the same refusal" || fail "--plan via guard: rc $rc: $out"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "oflash program --otp through the guarded server"

# ---- (b) a conflicting serial with --otp
"$OFLASH" program "$WORK/fwB_otpA.elf" --probe "sim:$CHIP" --otp --quiet
"$OFLASH" program "$WORK/fwA.elf" --probe "sim:$CHIP" --quiet
chip_dump "$WORK/before.bin"
start_server --device STM32F401RE --probe "sim:$CHIP" --otp
g=$(load "$WORK/fwB_otpB.elf")
grep -q "Error finishing flash operation" <<<"$g" && pass "conflicting serial refused with --otp" \
    || fail "conflict not refused: $g"
grep -q "vFlashDone refused: 3 OTP byte(s) of the image conflict" "$SLOG" &&
    grep -q "OTP block 1, 0x1FFF7827: chip holds 0x41, image wants 0x42 (already programmed)" "$SLOG" \
    && pass "server log names the conflicting OTP bytes" || fail "conflict log: $(cat "$SLOG")"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "conflicting serial refused"

# ---- the same serial with --otp: accepted, main flash programmed through the plan
start_server --device STM32F401RE --probe "sim:$CHIP" --otp
g=$(load "$WORK/fwB_otpA.elf" -ex "compare-sections")
[ "$(grep -c ": matched." <<<"$g")" = 3 ] && pass "same serial + new firmware: loaded, 3 sections match" \
    || fail "accepted load: $g"
g=$(load "$WORK/fwB_otpA.elf")
grep -q "Start address" <<<"$g" && grep -q "the chip already holds the .* bytes loaded: nothing written" "$SLOG" \
    && pass "loading it again writes nothing" || fail "reload: $(cat "$SLOG")"
stop_pid "$SPID"

# ---- erase semantics: gdb erases whole sectors; unwritten bytes of an
# erased sector become 0xFF, other sectors keep their bytes.
printf '    .section .s1,"a"\n    .fill 256, 1, 0x3C\n' >"$WORK/s1.S"
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -c -o "$WORK/s1.o" "$WORK/s1.S"
"$ARM_CC" -nostdlib -Wl,--section-start=.s1=0x08004100 -Wl,-e0 -o "$WORK/s1.elf" "$WORK/s1.o"
"$OFLASH" read 0x08000000 0x4000 -o "$WORK/s0.before.bin" --probe "sim:$CHIP" --quiet
start_server --device STM32F401RE --probe "sim:$CHIP"
load "$WORK/s1.elf" >/dev/null
stop_pid "$SPID"
"$OFLASH" read 0x08000000 0x4000 -o "$WORK/s0.after.bin" --probe "sim:$CHIP" --quiet
"$OFLASH" read 0x08004000 0x4000 -o "$WORK/s1.after.bin" --probe "sim:$CHIP" --quiet
{ head -c 256 /dev/zero | tr '\0' '\377'; head -c 256 /dev/zero | tr '\0' '\074'
  head -c $((0x4000 - 512)) /dev/zero | tr '\0' '\377'; } >"$WORK/s1.want.bin"
cmp -s "$WORK/s0.before.bin" "$WORK/s0.after.bin" && cmp -s "$WORK/s1.after.bin" "$WORK/s1.want.bin" \
    && pass "erased sector 1: 256 bytes loaded, the rest 0xFF; sector 0 kept" || fail "erase semantics"

# ---- memory writes: guarded without the opt-ins
n=0
chip_dump "$WORK/before.bin"
start_server --device STM32F401RE --probe "sim:$CHIP"
r=$($RAW packets "$SPORT" 'M1fff7840,4:00000000' 'X1fff7a02,1:\x00' 'M40023c04,4:23016745' \
    'M40023c08,4:3b2a1908' 'M40023c14,4:edaaff0f' 'M1fffc000,2:aa55' \
    'M20000000,4:01020304')
echo "$r" | tr '\n' ' '; echo
[ "$(echo "$r" | head -6 | grep -c '^E05$')" = 6 ] && pass "M/X into OTP, lock byte, KEYR, OPTKEYR, OPTCR, option bytes: E05" \
    || fail "guard replies: $r"
[ "$(echo "$r" | sed -n 7p)" = OK ] && pass "a RAM write still works" || fail "RAM write: $r"
for w in "OTP area 0x1FFF7800-0x1FFF79FF" "OTP lock-byte area" "FLASH_KEYR (0x40023C04) would unlock OTP programming" \
         "FLASH_OPTKEYR" "FLASH_OPTCR" "option bytes 0x1FFFC000"; do
    grep -q "memory write .* refused: .*$w" "$SLOG" && n=$((n + 1)) || fail "no log line for $w"
done
[ "$n" = 6 ] && pass "each refusal logged with what and which flag"
stop_pid "$SPID"

# Code the client runs on the core: unlock, program an OTP word, then
# unlock the option bytes and write-protect sector 7 (OPTSTRT).  The
# simulated chip refuses both for the session: WRPERR, nothing changes.
f2x_guard_code otpw 0x1FFF7840 # OTP block 2 of the F401
start_server --device STM32F401RE --probe "sim:$CHIP"
f2x_guard_check otpw "code on the core"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "guarded writes and code"

# ---- bounded: 4,000 vFlashWrite packets of 16 KiB (62.5 MiB), no vFlashDone
chip_dump "$WORK/before.bin"
start_server --device STM32F401RE --probe "sim:$CHIP"
r=$(timeout 120 $RAW flood "$SPORT" 4000 16384 0x08000000 0x80000 "$SPID") || true
echo "$r"
before=$(sed -n 's/.*hwm_before_kib=\([0-9]*\).*/\1/p' <<<"$r"); after=$(sed -n 's/.*hwm_after_kib=\([0-9]*\).*/\1/p' <<<"$r")
: "${before:=0}" "${after:=999999}"
grep -q "ok=4000 err=0" <<<"$r" && [ $((after - before)) -lt 8192 ] \
    && pass "4,000 vFlashWrite without vFlashDone: peak RSS grew $((after - before)) KiB (< 8 MiB)" \
    || fail "flood: $r"
r=$($RAW packets "$SPORT" 'vFlashWrite:8080000:abcd' 'vFlashWrite:1fff7a10:ab') || true
[ "$(echo "$r" | tr '\n' ' ')" = "E01 E01 " ] && grep -q "is in no flash or OTP bank (staged data is limited to the device's 524816 bytes" "$SLOG" \
    && pass "data beyond the device's flash + OTP refused" || fail "beyond: $r"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "flood without vFlashDone"

# ---- 50 clients at once; a busy server says so; idle clients are dropped
start_server --device STM32F401RE --probe "sim:$CHIP"
r=$(timeout 60 $RAW crowd "$SPORT" 50 10) || true
echo "$r"
[ "$r" = "served=1 busy=49 other=0 closed=0 hung=0" ] \
    && pass "50 clients at once: 1 served, 49 told busy, none hangs" || fail "crowd: $r"
$RAW hold "$SPORT" 8 >"$WORK/hold.out" &
HPID=$!; PIDS+=("$HPID")
for _ in $(seq 100); do grep -q holding "$WORK/hold.out" && break; sleep 0.05; done
g=$(gdbx -ex "target remote 127.0.0.1:$SPORT") || true
grep -q "Remote failure reply: E.oflash gdbserver is busy: client [0-9]* is connected" <<<"$g" \
    && pass "gdb-multiarch shows: $(grep -o 'E.oflash gdbserver is busy[^;]*' <<<"$g")" || fail "gdb busy: $g"
stop_pid "$HPID"
stop_pid "$SPID"

# With the opt-ins the unlock registers are the client's to use.
start_server --device STM32F401RE --probe "sim:$CHIP" --otp --allow-option-bytes
r=$($RAW packets "$SPORT" 'M40023c04,4:23016745' 'M40023c08,4:3b2a1908')
[ "$(echo "$r" | tr '\n' ' ')" = "OK OK " ] && pass "--otp, --allow-option-bytes: KEYR and OPTKEYR writes accepted" \
    || fail "opt-in: $r"
stop_pid "$SPID"

start_server --device STM32F401RE --probe "sim:$CHIP" --idle-timeout 2
t=$($RAW idle "$SPORT" 10)
awk -v t="$t" 'BEGIN { exit !(t != "open" && t >= 1.5 && t <= 5) }' \
    && pass "client silent for 2 s disconnected after ${t} s" || fail "idle: $t"
grep -q "client #1 sent nothing for 2 s: disconnecting it" "$SLOG" && pass "idle drop logged" || fail "idle log"
out=$("$OFLASH" run --probe "gdb:127.0.0.1:$SPORT" --load "$WORK/otpw.bin@0x20000000" --pc 0x20000001 \
      --sp 0x20008000 --json) && pass "next client served after the idle one" || fail "after idle: $out"
stop_pid "$SPID"
# ---- any family with a loader: a simulated STM32F746ZG (OTP 16 x 64 bytes
# at 0x1FF0F000, lock bytes at 0x1FF0F400, option bytes at 0x1FFF0000).
CHIP="$WORK/f7.sim"
"$OFLASH" sim create "$CHIP" --device STM32F746ZG >/dev/null
FLASH_LEN=0x100000 OTP_BASE=0x1FF0F000 OTP_LEN=0x410 OPT_BASE=0x1FFF0000 OPT_LEN=0x20
fw_elf f7fw 0x6B
fw_elf f7fw_otp 0x6B "SERIAL-F7-0003-OFLASH-OTP-TEST03" 0x1FF0F040
"$OFLASH" program "$WORK/fwA.elf" --probe "sim:$CHIP" --quiet
chip_dump "$WORK/before.bin"
start_server --device STM32F746ZG --probe "sim:$CHIP"
g=$(load "$WORK/f7fw_otp.elf")
grep -q "Error finishing flash operation" <<<"$g" && grep -q "vFlashDone refused: the image holds one-time-programmable bytes" "$SLOG" \
    && pass "F7: load with OTP data refused without --otp" || fail "F7 OTP load: $g"
r=$($RAW packets "$SPORT" 'M1ff0f040,4:00000000' 'M1ff0f401,1:00' 'M40023c04,4:23016745' \
    'M40023c08,4:3b2a1908' 'M1fff0000,4:aa55aa55')
[ "$(echo "$r" | grep -c '^E05$')" = 5 ] && pass "F7: M into OTP, lock byte, KEYR, OPTKEYR, option bytes: E05" \
    || fail "F7 guard replies: $r"
stop_pid "$SPID"
start_server --device STM32F746ZG --probe "sim:$CHIP"
f2x_guard_code otpw7 0x1FF0F040
f2x_guard_check otpw7 "F7: code on the core"
stop_pid "$SPID"
same_chip "$WORK/before.bin" "F7 refusals"
start_server --device STM32F746ZG --probe "sim:$CHIP"
g=$(load "$WORK/f7fw.elf" -ex "compare-sections")
[ "$(grep -c ": matched." <<<"$g")" = 2 ] && grep -q "vFlashDone: .* bytes programmed" "$SLOG" \
    && pass "F7: gdb load through the F7 loader, sections match" || fail "F7 load: $g"
stop_pid "$SPID"

"$OFLASH" gdbserver --probe "sim:$CHIP" --idle-timeout x 2>"$WORK/e" && fail "bad --idle-timeout accepted" \
    || grep -q "idle-timeout 'x': expected seconds" "$WORK/e" && pass "bad --idle-timeout refused"
finish
