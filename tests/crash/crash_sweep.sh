#!/usr/bin/env bash
# crash_sweep.sh - crash tests in the manner of SQLite's: a crash at EVERY
# point of a run, one run per crash point, then a rerun, then the whole chip
# (flash, OTP, lock bytes) compared with the result of an uninterrupted run.
#
#   kill sweep:  `oflash program` is killed with SIGKILL at the Nth call of
#                each state-changing system call (strace -e inject=SYSCALL:
#                signal=SIGKILL:when=N, for every SYSCALL and every N up to
#                the count a first strace pass measured);
#   power sweep: the simulated chip loses power during flash operation N+1
#                (`oflash sim fault --power-loss-after N`) for every N of
#                the run.
# After each crash the same command runs again (and once more with
# --otp-resume when that rerun says the journal allows it); it must exit 0,
# and the chip must equal the uninterrupted run's byte for byte.
#
# Scenarios (each on the simulated STM32F401RE):
#   blank    full 512 KiB image on a blank chip                     (kill)
#   over     full image over another full image                     (kill)
#   keep     8 KiB at 0x08000000 over a full image: 0x08002000-
#            0x08003FFF of sector 0 must be kept (issue 14 finding 1) (kill, power:
#            every one of its 4,097 operations with --full)
#   keepsm   256 bytes inside 1 KiB of old data in sector 1          (power)
#   otp      1 KiB of code + 16 OTP bytes + the lock byte of block 0 (kill, power)
#
# usage: crash_sweep.sh [--full | --sample] [--jobs N] [SCENARIO[:kill|:power]...]
#   --sample (default; what `make check` runs) every kill point of keep and
#            otp, every third of blank and over, and about eight power-loss
#            points per scenario; --full every point (`make crashtest`).
# Needs OFLASH (the CLI), strace and python3.  Prints per scenario the crash
# points tried and how many ended exact, and the time taken; exits 1 on any
# failure.
set -euo pipefail
: "${OFLASH:?OFLASH must point at the oflash CLI}"

MODE=sample
JOBS=2
SEL=()
while [ $# -gt 0 ]; do
    case $1 in
    --full) MODE=full ;;
    --sample) MODE=sample ;;
    --jobs) JOBS=$2; shift ;;
    --point) shift; break ;; # internal: one crash point (see run_point)
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) SEL+=("$1") ;;
    esac
    shift
done

# LeakSanitizer cannot run under ptrace: an ASan build runs under strace
# without it (the other runs keep it).
TRACED_ASAN=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
SYSCALLS=write,pwrite64,pwritev,writev,fsync,fdatasync,ftruncate,rename,renameat,renameat2,unlink,unlinkat,mkdir

# ---- one crash point (runs in a worker: crash_sweep.sh --point ...) ----
# args: WORK SCENARIO KIND SYSCALL N
run_point() {
    local work=$1 sc=$2 kind=$3 sys=$4 n=$5
    local d chip jd out rc args
    d=$(mktemp -d "$work/pt.XXXXXX")
    chip=$d/chip.sim
    jd=$d/journal
    cp "$work/$sc.pre.sim" "$chip"
    # shellcheck disable=SC2046
    read -r -a args <"$work/$sc.args"
    if [ "$kind" = kill ]; then
        rc=0
        # (in a subshell: the shell's "Killed" notice goes to the log)
        (ASAN_OPTIONS=$TRACED_ASAN strace -f -qq -o /dev/null -e trace="$sys" -e inject="$sys":signal=SIGKILL:when="$n" \
            "$OFLASH" program "${args[@]}" --probe "sim:$chip" --journal-dir "$jd" -q; exit $?) \
            >"$d/crash.log" 2>&1 || rc=$?
        if [ "$rc" -ne 137 ]; then
            echo "FAIL $sc kill $sys#$n: the run was not killed there (exit $rc)"
            rm -rf "$d"
            return 0
        fi
    else
        "$OFLASH" sim fault "$chip" --power-loss-after "$n" >/dev/null
        rc=0
        "$OFLASH" program "${args[@]}" --probe "sim:$chip" --journal-dir "$jd" -q \
            >"$d/crash.log" 2>&1 || rc=$?
        if [ "$rc" -ne 1 ] || ! grep -q "power lost" "$d/crash.log"; then
            echo "FAIL $sc power $n: the run did not stop with a power loss (exit $rc)"
            rm -rf "$d"
            return 0
        fi
    fi
    # The rerun: plain first; with --otp-resume only when it says the
    # journal shows a started OTP write.
    rc=0
    out=$("$OFLASH" program "${args[@]}" --probe "sim:$chip" --journal-dir "$jd" -q 2>&1) || rc=$?
    local how=rerun
    if [ "$rc" -ne 0 ] && grep -q -- "--otp-resume finishes it" <<<"$out"; then
        how="rerun+resume"
        rc=0
        out=$("$OFLASH" program "${args[@]}" --probe "sim:$chip" --journal-dir "$jd" -q \
            --otp-resume 2>&1) || rc=$?
    fi
    local what="$sc $kind $([ "$kind" = kill ] && echo "$sys#$n" || echo "$n")"
    if [ "$rc" -ne 0 ]; then
        echo "FAIL $what: $how exited $rc: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
        rm -rf "$d"
        return 0
    fi
    "$OFLASH" read 0x08000000 0x80000 -o "$d/flash.bin" --probe "sim:$chip" -q &&
        "$OFLASH" read 0x1FFF7800 0x210 -o "$d/otp.bin" --probe "sim:$chip" -q
    if ! cmp -s "$d/flash.bin" "$work/$sc.gold.flash.bin" || ! cmp -s "$d/otp.bin" "$work/$sc.gold.otp.bin"; then
        local first
        first=$(cmp "$d/flash.bin" "$work/$sc.gold.flash.bin" 2>/dev/null | head -1 || true)
        [ -n "$first" ] || first="OTP/lock: $(cmp "$d/otp.bin" "$work/$sc.gold.otp.bin" | head -1)"
        echo "FAIL $what: chip differs after the $how ($first)"
        rm -rf "$d"
        return 0
    fi
    if [ -n "$(ls -A "$jd" 2>/dev/null)" ]; then
        echo "FAIL $what: recovery journal left behind: $(ls "$jd")"
        rm -rf "$d"
        return 0
    fi
    echo "ok $what ($how)"
    rm -rf "$d"
}

if [ $# -gt 0 ]; then
    run_point "$@"
    exit 0
fi

command -v strace >/dev/null || { echo "crash_sweep: strace is missing (scripts/install-deps.sh)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# ---- inputs ----
python3 - "$WORK" <<'EOF'
import random, sys
w = sys.argv[1]
r = random.Random(14)
def blob(n): return bytes(r.randrange(256) for _ in range(n))
open(f"{w}/full_a.bin", "wb").write(blob(512 * 1024))
open(f"{w}/full_b.bin", "wb").write(blob(512 * 1024))
open(f"{w}/small8k.bin", "wb").write(blob(8 * 1024))
open(f"{w}/old1k.bin", "wb").write(blob(1024))
open(f"{w}/new256.bin", "wb").write(blob(256))
open(f"{w}/code1k.bin", "wb").write(blob(1024))
open(f"{w}/serial.bin", "wb").write(b"SN-0001-2026-11A")
open(f"{w}/lock.bin", "wb").write(b"\x00")
EOF
"$OFLASH" convert "$WORK/code1k.bin@0x08000000" "$WORK/serial.bin@0x1FFF7800" \
    "$WORK/lock.bin@0x1FFF7A00" -o "$WORK/otp.hex" >/dev/null

# scenario: prerequisite image (or -) and the program arguments
declare -A PRE ARGS KINDS STRIDE
PRE[blank]=-;                          ARGS[blank]="$WORK/full_a.bin@0x08000000";  KINDS[blank]=kill
PRE[over]="$WORK/full_b.bin@0x08000000"; ARGS[over]="$WORK/full_a.bin@0x08000000"; KINDS[over]=kill
PRE[keep]="$WORK/full_b.bin@0x08000000"; ARGS[keep]="$WORK/small8k.bin@0x08000000"; KINDS[keep]="kill power"
STRIDE[keep]=1 # 4,097 operations (an erase, 4,096 word programs): every one (a STRIDE > 1 would sample)
PRE[keepsm]="$WORK/old1k.bin@0x08004000"; ARGS[keepsm]="$WORK/new256.bin@0x08004100"; KINDS[keepsm]=power
PRE[otp]=-;                            ARGS[otp]="$WORK/otp.hex --otp";            KINDS[otp]="kill power"
ORDER=(blank over keep keepsm otp)

want() { # want SCENARIO KIND: selected on the command line (or nothing selected)
    [ ${#SEL[@]} -eq 0 ] && return 0
    local s
    for s in "${SEL[@]}"; do
        [ "$s" = "$1" ] || [ "$s" = "$1:$2" ] && return 0
    done
    return 1
}

POINTS=$WORK/points
: >"$POINTS"
t_setup0=$(date +%s.%N)
for sc in "${ORDER[@]}"; do
    sel=0
    for k in ${KINDS[$sc]}; do want "$sc" "$k" && sel=1; done
    [ $sel -eq 1 ] || continue
    uid=$(printf "%02x" $((RANDOM % 256)))0b0c0d0e0f101112131415
    "$OFLASH" sim create "$WORK/$sc.pre.sim" --device STM32F401RE --uid "$uid" >/dev/null
    if [ "${PRE[$sc]}" != - ]; then
        "$OFLASH" program "${PRE[$sc]}" --probe "sim:$WORK/$sc.pre.sim" --journal-dir "$WORK/j0" -q >/dev/null
    fi
    echo "${ARGS[$sc]}" >"$WORK/$sc.args"
    read -r -a args <"$WORK/$sc.args"
    # The uninterrupted run: the expected chip, the operation count.
    cp "$WORK/$sc.pre.sim" "$WORK/$sc.gold.sim"
    "$OFLASH" program "${args[@]}" --probe "sim:$WORK/$sc.gold.sim" --journal-dir "$WORK/j1" -q >/dev/null
    "$OFLASH" sim show "$WORK/$sc.gold.sim" --json |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["last_run"]; print(r["program_ops"]+r["erase_ops"]+r["option_ops"])' \
            >"$WORK/$sc.ops"
    "$OFLASH" read 0x08000000 0x80000 -o "$WORK/$sc.gold.flash.bin" --probe "sim:$WORK/$sc.gold.sim" -q
    "$OFLASH" read 0x1FFF7800 0x210 -o "$WORK/$sc.gold.otp.bin" --probe "sim:$WORK/$sc.gold.sim" -q
    for k in ${KINDS[$sc]}; do
        want "$sc" "$k" || continue
        if [ "$k" = kill ]; then
            # First pass: how many times the run makes each state-changing call.
            cp "$WORK/$sc.pre.sim" "$WORK/$sc.count.sim"
            ASAN_OPTIONS=$TRACED_ASAN strace -f -qq -o "$WORK/$sc.trace" -e trace="$SYSCALLS" \
                "$OFLASH" program "${args[@]}" --probe "sim:$WORK/$sc.count.sim" \
                --journal-dir "$WORK/j2.$sc" -q >/dev/null 2>&1
            # --sample: every point of the runs that journal (keep, otp),
            # every third of the others.
            step=1
            [ "$MODE" = sample ] && [ "$sc" != keep ] && [ "$sc" != otp ] && step=3
            sed -E 's/^[0-9]+ +//; s/\(.*//' "$WORK/$sc.trace" | sort | uniq -c |
                while read -r cnt name; do
                    echo "$name x$cnt" >>"$WORK/$sc.calls"
                    for n in $(seq 1 "$step" "$cnt"); do echo "$sc kill $name $n"; done
                done >>"$POINTS"
        else
            total=$(cat "$WORK/$sc.ops")
            if [ "$MODE" = full ] && [ "${STRIDE[$sc]:-1}" -gt 1 ]; then
                # too many operations for every one: the first ones, every
                # STRIDEth, the last ones
                { seq 0 3; seq 4 "${STRIDE[$sc]}" $((total - 5)); seq $((total - 4)) $((total - 1)); } |
                    sort -n -u
            elif [ "$MODE" = full ]; then
                seq 0 $((total - 1))
            else
                # the first operations (erase), a spread, the last ones (OTP, lock)
                { seq 0 1; seq 2 $(((total + 3) / 4)) $((total - 4)); seq $((total - 3)) $((total - 1)); } |
                    awk '$1 >= 0' | sort -n -u
            fi | sed "s/^/$sc power - /" >>"$POINTS"
        fi
    done
done
t_setup=$(awk -v a="$t_setup0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')

t0=$(date +%s.%N)
xargs -P "$JOBS" -L 1 bash "$SELF" --point "$WORK" <"$POINTS" >"$WORK/results"
t_run=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')

fails=0
printf '%-8s %-6s %8s %8s  %s\n' scenario kind points exact "detail"
for sc in "${ORDER[@]}"; do
    for k in ${KINDS[$sc]}; do
        n=$(awk -v s="$sc" -v k="$k" '$1 == s && $2 == k' "$POINTS" | wc -l)
        [ "$n" -gt 0 ] || continue
        ok=$(awk -v s="$sc" -v k="$k" '$1 == "ok" && $2 == s && $3 == k' "$WORK/results" | wc -l)
        if [ "$k" = kill ]; then
            detail="calls: $(tr '\n' ' ' <"$WORK/$sc.calls")"
        else
            detail="flash operations in the run: $(cat "$WORK/$sc.ops")"
            resumed=$(awk -v s="$sc" '$1 == "ok" && $2 == s && $3 == "power" && /resume/' "$WORK/results" | wc -l)
            [ "$resumed" -gt 0 ] && detail="$detail; $resumed finished with --otp-resume"
        fi
        printf '%-8s %-6s %8d %8d  %s\n' "$sc" "$k" "$n" "$ok" "$detail"
        fails=$((fails + n - ok))
    done
done
grep '^FAIL' "$WORK/results" | head -20 || true
total=$(wc -l <"$POINTS")
printf 'mode %s, %d jobs: %d crash points, %d exact, %d failed; setup %.1f s, sweep %.1f s\n' \
    "$MODE" "$JOBS" "$total" $((total - fails)) "$fails" "$t_setup" "$t_run"
[ "$fails" -eq 0 ]
