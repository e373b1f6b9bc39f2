#!/usr/bin/env bash
# Faults and BKPT caught by `oflash run` on sim: and on real QEMU
# (netduinoplus2).  The same checks on both; QEMU has no halting debug:
# without a guard a BKPT escalates to HardFault through an empty vector table,
# the core locks up and QEMU exits.  oflash run --guard-ram installs its own
# vector table for the call.  Checked: BKPT with r0-r12 as the code left
# them; a load from an unmapped address (BusFault escalated to HardFault:
# HFSR.FORCED, CFSR.PRECISERR+BFARVALID, BFAR = the address); an undefined
# instruction (CFSR.UNDEFINSTR); the PC of the faulting instruction; VTOR
# restored; and a normal run afterwards on the same QEMU.
source "$(dirname "$0")/lib.sh"

cat >"$WORK/f.S" <<'ASM'
    .syntax unified
    .thumb
    .global _start
_start:                     @ r0..r12 = seeds + 0x100
    adds r0, r0, #0x100
    ldr  r1, =0x11111111
    ldr  r2, =0x22222222
    ldr  r3, =0x33333333
    ldr  r4, =0x44444444
    ldr  r5, =0x55555555
    ldr  r6, =0x66666666
    ldr  r7, =0x77777777
    ldr  r8, =0x88888888
    ldr  r9, =0x99999999
    ldr  r10, =0xAAAAAAAA
    ldr  r11, =0xBBBBBBBB
    ldr  r12, =0xCCCCCCCC
bkpt_at:
    bkpt #0x42
spin:
    b    spin
buserr:                     @ r1 = an unmapped address
    ldr  r5, =0x5A5A5A5A
load_at:
    ldr  r2, [r1]
    b    spin
undef:
    ldr  r6, =0x6B6B6B6B
undef_at:
    .short 0xde00           @ permanently undefined (UDF #0)
    b    spin
sum:                        @ r0 + r1 -> r0, stop at done
    add  r0, r0, r1
done:
    b    done
vtor:                       @ r0 = VTOR
    ldr  r1, =0xE000ED08
    ldr  r0, [r1]
    b    done
    .ltorg
ASM
"$ARM_CC" -mcpu=cortex-m4 -mthumb -nostdlib -Ttext=0x20000000 -o "$WORK/f.elf" "$WORK/f.S"
"$ARM_OBJCOPY" -O binary "$WORK/f.elf" "$WORK/f.bin"
A() { sym "$WORK/f.elf" "$1"; }
G=0x20010000
BAD=${QEMU_BAD_ADDR:-0x0F000000}   # unmapped on netduinoplus2 and on the sim

# suite NAME PROBE [ARGS...]: BKPT, bus fault, undefined instruction, then a
# normal run, with `oflash run --probe PROBE ARGS...`.
suite() {
local N=$1 P=$2; shift 2
local RUN=("$OFLASH" run --probe "$P" --load "$WORK/f.bin@0x20000000" --sp 0x20002000 --timeout 5 --json "$@")
local out txt rc c cfsr hfsr pc
# 1. BKPT: stopped bkpt at the BKPT, r0-r12 as the code left them.
rc=0; out=$("${RUN[@]}" --pc $(( $(A _start) | 1 )) --reg r0=0x23) || rc=$?
echo "$out"
[ "$rc" -eq 0 ] && pass "$N: bkpt: exit 0" || fail "$N: bkpt: exit $rc"
[ "$(json_get "$out" stopped)" = bkpt ] && pass "$N: stopped: bkpt" || fail "$N: bkpt: $out"
[ "$(json_get "$out" pc)" = "$(A bkpt_at)" ] && pass "$N: pc = the BKPT" || fail "$N: bkpt pc"
[ "$(json_get "$out" r0)" = $((0x123)) ] && pass "$N: r0" || fail "$N: r0"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    h=$(printf '%X' "$i"); want=$((0x$h$h$h$h$h$h$h$h))
    [ "$(json_get "$out" "r$i")" = "$want" ] || fail "$N: r$i = $(json_get "$out" "r$i"), expected $want"
done
pass "$N: r1-r12 checked"
[ "$(json_get "$out" sp)" = $((0x20002000)) ] && pass "$N: sp as before the exception" || fail "$N: sp"

# 2. Bus fault: ldr from an unmapped address.
rc=0; out=$("${RUN[@]}" --pc $(( $(A buserr) | 1 )) --reg r1=$BAD) || rc=$?
echo "$out"
[ "$rc" -eq 1 ] && pass "$N: bus fault: exit 1" || fail "$N: bus fault: exit $rc"
[ "$(json_get "$out" stopped)" = fault ] && pass "$N: stopped: fault" || fail "$N: bus fault: $out"
if [ "$N" = sim ]; then
    # Unicorn reports data faults at the start of the translated block.
    pc=$(json_get "$out" pc)
    [ "$pc" -ge "$(A buserr)" ] && [ "$pc" -le "$(A load_at)" ] && pass "$N: pc in the faulting block" || fail "$N: bus pc $pc"
else
    [ "$(json_get "$out" pc)" = "$(A load_at)" ] && pass "$N: pc = the faulting load" || fail "$N: bus pc $(json_get "$out" pc) != $(A load_at)"
fi
cfsr=$(json_get "$out" cfsr); hfsr=$(json_get "$out" hfsr)
# BusFault disabled in SHCSR -> escalated to HardFault: HFSR.FORCED (bit 30);
# CFSR.PRECISERR (bit 9) + BFARVALID (bit 15); BFAR = the address.
[ $(( hfsr & 0x40000000 )) -ne 0 ] && pass "$N: HFSR.FORCED" || fail "$N: hfsr $hfsr"
[ $(( cfsr & 0x8200 )) -eq $((0x8200)) ] && pass "$N: CFSR.PRECISERR+BFARVALID" || fail "$N: cfsr $cfsr"
[ "$(json_get "$out" bfar)" = $(($BAD)) ] && pass "$N: BFAR = $BAD" || fail "$N: bfar"
[ "$(json_get "$out" exception)" = 3 ] && pass "$N: exception 3 (HardFault)" || fail "$N: exception"
[ "$(json_get "$out" r5)" = $((0x5A5A5A5A)) ] && pass "$N: r5 at the fault" || fail "$N: r5"
[ "$(json_get "$out" sp)" = $((0x20002000)) ] && pass "$N: sp at the fault" || fail "$N: fault sp"

# 3. Undefined instruction: UsageFault, CFSR.UNDEFINSTR (bit 16); text output.
rc=0; txt=$("$OFLASH" run --probe "$P" --load "$WORK/f.bin@0x20000000" --sp 0x20002000 \
    "$@" --pc $(( $(A undef) | 1 )) 2>"$WORK/err") || rc=$?
echo "$txt"; cat "$WORK/err"
[ "$rc" -eq 1 ] && pass "$N: undef: exit 1" || fail "$N: undef: exit $rc"
grep -q "^stopped: fault at $(printf '0x%08X' "$(A undef_at)")" <<<"$txt" && pass "$N: text: fault at the UDF" || fail "$N: text: $txt"
c=$(grep -o '^CFSR 0x[0-9A-F]*' <<<"$txt" | cut -d' ' -f2)
[ -n "$c" ] && [ $(( c & 0x10000 )) -ne 0 ] && pass "$N: CFSR.UNDEFINSTR" || fail "$N: undef cfsr '$c'"
grep -q "faulted" "$WORK/err" && pass "$N: error names the fault" || fail "$N: stderr"

# 4. The target is still usable: a normal run to a breakpoint, VTOR back to 0,
#    CFSR/HFSR cleared.
rc=0; out=$("${RUN[@]}" --pc $(( $(A sum) | 1 )) --reg r0=40 --reg r1=2 --break "$(A done)") || rc=$?
[ "$rc" -eq 0 ] && [ "$(json_get "$out" stopped)" = breakpoint ] && [ "$(json_get "$out" r0)" = 42 ] \
    && pass "$N: second run afterwards: r0 = 42" || fail "$N: second run: exit $rc $out"
# CFSR/HFSR were cleared between runs: the UDF run saw UNDEFINSTR alone.
[ $(( c & 0x8200 )) -eq 0 ] && pass "$N: CFSR cleared after the bus fault" || fail "$N: cfsr not cleared: $c"
}

# sim: the simulated core stops on the faulting instruction (no guard needed).
"$OFLASH" sim create "$WORK/chip.sim" --device STM32F401RE >/dev/null
suite sim "sim:$WORK/chip.sim"

# QEMU, with the guard.
start_qemu
P="gdb:127.0.0.1:$QPORT"
RUN=("$OFLASH" run --probe "$P" --load "$WORK/f.bin@0x20000000" --sp 0x20002000 --guard-ram $G --timeout 5 --json)
suite qemu "$P" --guard-ram $G
kill -0 "$QPID" && pass "QEMU still alive after BKPT and faults" || fail "QEMU died"
# VTOR inside a guarded run is the guard table; after it, 0 again (read by
# code on the core, in a run without the guard).
rc=0; out=$("${RUN[@]}" --pc $(( $(A vtor) | 1 )) --reg r0=0x77 --break "$(A done)") || rc=$?
[ "$rc" -eq 0 ] && [ "$(json_get "$out" r0)" = $(($G)) ] && pass "VTOR = guard table during the run" \
    || fail "VTOR in the run: exit $rc $out"
rc=0; out=$("$OFLASH" run --probe "$P" --load "$WORK/f.bin@0x20000000" --sp 0x20002000 --json \
    --pc $(( $(A vtor) | 1 )) --reg r0=0x77 --break "$(A done)") || rc=$?
[ "$rc" -eq 0 ] && [ "$(json_get "$out" r0)" = 0 ] && pass "VTOR restored to 0 afterwards" \
    || fail "VTOR after the runs: exit $rc $out"
# Without --guard-ram nothing changes for code that does not fault.
rc=0; out=$("$OFLASH" run --probe "$P" --load "$WORK/f.bin@0x20000000" --sp 0x20002000 --json \
    --pc $(( $(A sum) | 1 )) --reg r0=1 --reg r1=2 --break "$(A done)") || rc=$?
[ "$rc" -eq 0 ] && [ "$(json_get "$out" r0)" = 3 ] && pass "run without guard" || fail "no guard: $out"
# Bad --guard-ram: usage error.
rc=0; "${RUN[@]}" --pc 1 --guard-ram 0x20010010 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && pass "unaligned --guard-ram: exit 2" || fail "unaligned guard: exit $rc"
kill -0 "$QPID" && pass "QEMU alive at the end" || fail "QEMU died"
finish
