#!/usr/bin/env bash
# Issue 13 finding 5: progress that fits the terminal.  In a real tmux
# terminal of 60 and of 120 columns: every bar line is shorter than the
# width (tmux capture-pane -J joins wrapped rows, so a wrapped bar would
# show as a longer line), each phase is one line redrawn in place, and the
# bar is wider at 120 columns.  On sim: the rate is the simulated target's.
# Erase moves within a long sector by time against the typical erase time
# (strace slows each simulated flash operation by 0.6 s; the bar shows steps
# between 0 % and the end of a single 128 KiB sector).  Through a pipe:
# plain lines, no escape sequences.
source "$(dirname "$0")/../flash/lib.sh"
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (scripts/install-deps.sh)"; exit 1; }
command -v strace >/dev/null || { echo "FAIL: strace is missing"; exit 1; }
command -v script >/dev/null || { echo "FAIL: script (util-linux) is missing"; exit 1; }
CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
# one tmux server per width, each on its own socket, stopped by it
tm() { tmux -S "$WORK/tmux.$cols.sock" "$@"; }
trap 'for cols in 60 120; do tm kill-server 2>/dev/null || true; done; cleanup' EXIT

head -c 300000 /dev/urandom >"$WORK/pre.bin"
"$OFLASH" program "$WORK/pre.bin@0x08000000" --probe "sim:$CHIP" -q   # so that every run erases
for cols in 60 120; do
    head -c 300000 /dev/urandom >"$WORK/a$cols.bin"
    tm new-session -d -x "$cols" -y 40 "bash"
    tm resize-window -x "$cols" -y 40 2>/dev/null || true
    tm send-keys "'$OFLASH' program '$WORK/a$cols.bin@0x08000000' --probe 'sim:$CHIP'; echo DONE-\$?" Enter
    for _ in $(seq 200); do tm capture-pane -p -J | grep -q "^DONE-[0-9]" && break; sleep 0.1; done
    screen=$(tm capture-pane -p -J)
    grep -q "DONE-0" <<<"$screen" || fail "$cols columns: program did not finish: $screen"
    bars=$(grep -E "^(erase|program|verify) +\[" <<<"$screen" || true)
    [ "$(grep -c . <<<"$bars")" = 3 ] && pass "$cols columns: one line per phase (erase, program, verify), redrawn in place" \
        || fail "$cols columns: bar lines: $bars (screen: $screen)"
    long=$(awk -v w="$cols" 'length($0) >= w' <<<"$bars")
    [ -z "$long" ] && pass "$cols columns: no bar line reaches the width (no wrap)" || fail "$cols columns: too long: $long"
    w=$(grep -E "^program +\[" <<<"$screen" | head -1 | sed -E 's/^[a-z]+ +\[([# ]*)\].*/\1/' | awk '{print length($0)}')
    eval "bar$cols=\$w"
    [ "$cols" = 120 ] && { grep -E "^program +\[" <<<"$screen" | grep -q "KiB/s target" \
        && pass "120 columns: the rate is the simulated target's (KiB/s target)" || fail "no target rate: $screen"; }
    tm kill-server 2>/dev/null || true
done
[ "${bar120:-0}" -gt "${bar60:-0}" ] && pass "the bar adapts: $bar60 columns of bar at 60, $bar120 at 120" || fail "bar width $bar60 / $bar120"

# Erase of one 128 KiB sector (typical 1 s), slowed down (the write of its
# result into the chip file waits 600 ms): the bar moves
# inside the sector by elapsed time (intermediate percentages).
"$OFLASH" program "$WORK/a60.bin@0x08000000" --probe "sim:$CHIP" -q
env ASAN_OPTIONS=detect_leaks=0 COLUMNS=100 script -qec "strace -f -qq -o /dev/null -e trace=pwrite64 -e inject=pwrite64:delay_enter=600000 '$OFLASH' erase --sector 5 --probe 'sim:$CHIP'" "$WORK/typescript" >/dev/null 2>&1 || true
steps=$(tr '\r' '\n' <"$WORK/typescript" | grep -oE "^erase +\[[# ]*\] +[0-9]+%" | grep -oE "[0-9]+%$" | sort -un | tr '\n' ' ')
inner=$(tr '\r' '\n' <"$WORK/typescript" | grep -oE "^erase +\[[# ]*\] +[0-9]+%" | grep -oE "[0-9]+%$" | tr -d % | awk '$1 > 0 && $1 < 100' | wc -l)
[ "$inner" -ge 2 ] && pass "erase moves within one sector by time (steps: $steps)" || fail "erase steps: $steps"
grep -q "100%" "$WORK/typescript" && pass "erase ends at 100 %" || fail "no 100 %: $(tr '\r' '\n' <"$WORK/typescript" | tail -3)"

# A pipe: plain lines, no bars, no escape sequences, target time on sim.
head -c 20000 /dev/urandom >"$WORK/p.bin"
out=$("$OFLASH" program "$WORK/p.bin@0x08000000" --probe "sim:$CHIP" 2>&1 | cat)
! grep -q $'\r\|\033\|\[#' <<<"$out" && pass "pipe: no bars, no escape sequences" || fail "pipe: $out"
grep -qE "^program: [0-9]+ bytes in [0-9.]+ s target time \([0-9.]+ KiB/s\)$" <<<"$out" \
    && pass "pipe: one plain line per phase with the target's time and rate" || fail "pipe lines: $out"
finish
