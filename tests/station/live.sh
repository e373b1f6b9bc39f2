#!/usr/bin/env bash
# The live lines of `oflash prod run` in a real terminal (tmux) of 60 and of
# 120 columns: a gang of 4 sim-feed ports, port 3 losing power on every
# board (retries=1: a board is set aside, with a warning, after 2 fails).
# strace slows every write into a chip file by 20 ms (the simulator's
# journal of each flash operation) so the run can be watched while it goes.
#  - mid-run (every snapshot): one line per port in the whole scrollback
#    (redrawn in place, no scrolled copies), each with its state, its
#    pass/fail counts and its last serial; one summary line (units, yield,
#    units per hour); no line as wide as the terminal (no wrap: capture-pane
#    -J joins wrapped rows); the library's warnings whole, with nothing of
#    an old drawing behind them;
#  - over the run: a phase's progress in %, a last serial, port 3 failing
#    while the others pass;
#  - at the end: the 4 port lines once, the live summary replaced by the
#    summary with units, yield and units per hour (simulated target time);
#  - through a pipe (8 ports): plain lines, no escape sequences, every
#    line whole, one line per finished unit, the counts.
source "$(dirname "$0")/../flash/lib.sh"
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (scripts/install-deps.sh)"; exit 1; }
command -v strace >/dev/null || { echo "FAIL: strace is missing"; exit 1; }
DEV=STM32F401RE
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"
tm() { tmux -S "$WORK/tmux.$cols.sock" "$@"; }
trap 'for cols in 60 120; do tm kill-server 2>/dev/null || true; done; cleanup' EXIT

STATES='idle|connecting|erasing|programming|verifying|locking|protecting|pass|fail|stopped'
PORT_RE="^ ?[1-4] ($STATES) "
# a port line: number, state, progress (blank or N%), counts, last serial
FULL_RE="^ ?[1-4] ($STATES) +([0-9]+%)? +[0-9]+ ok +[0-9]+ fail  last ([0-9]{8}|-)( |\$)"
SUM_RE='^ +[0-9]+ units?: [0-9]+ ok, [0-9]+ fail, yield [0-9.]+ %, [0-9]+ units/h'
WARN_RE='^oflash: warning: sim-feed '

line_job() { # line_job DIR: the prod run command line of the gang in DIR
    local d=$1
    printf "%s " "'$OFLASH'" prod run --image "'$WORK/fw.hex'" --device $DEV --serial-at 0x1FFF7800 \
        --station live --db "'sqlite:$d/line.db'" --units 8 --probe "'sim-feed:$d/f1'" \
        --probe "'sim-feed:$d/f2'" --probe "'sim-feed:$d/f3?power-loss=1&power-loss-ops=6&retries=1'" \
        --probe "'sim-feed:$d/f4'"
}

for cols in 60 120; do
    d="$WORK/w$cols"
    mkdir -p "$d/f1" "$d/f2" "$d/f3" "$d/f4"
    tm new-session -d -x "$cols" -y 24 "bash --norc --noprofile"
    tm resize-window -x "$cols" -y 24 2>/dev/null || true
    tm send-keys "ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=pwrite64 -e inject=pwrite64:delay_enter=20000 $(line_job "$d"); echo DONE-\$?" Enter
    snaps=0 bad="" pct="" lastser="" p3fail="" done_screen=""
    for _ in $(seq 600); do
        all=$(tm capture-pane -p -J -S -)
        if grep -q "^DONE-[0-9]" <<<"$all"; then done_screen=$all; break; fi
        if grep -qE "$SUM_RE" <<<"$all"; then
            snaps=$((snaps + 1))
            ports=$(grep -E "$PORT_RE" <<<"$all" || true)
            for n in 1 2 3 4; do
                c=$(grep -cE "^ ?$n ($STATES) " <<<"$ports" || true)
                [ "$c" = 1 ] || bad+="port $n has $c lines; "
                grep -E "^ ?$n ($STATES) " <<<"$ports" | grep -qE "$FULL_RE" || bad+="port $n line lacks state/counts/last serial: $(grep -E "^ ?$n " <<<"$ports"); "
            done
            [ "$(grep -cE "$SUM_RE" <<<"$all")" = 1 ] || bad+="summary lines: $(grep -E "$SUM_RE" <<<"$all"); "
            long=$(tm capture-pane -p -J | grep -E "$PORT_RE|$SUM_RE" | awk -v w="$cols" 'length($0) >= w' || true)
            [ -z "$long" ] || bad+="as wide as the terminal: $long; "
            w=$(grep -E "$WARN_RE" <<<"$all" | grep -vE "${WARN_RE}.*: board chip-[0-9]+\.sim failed [0-9]+ times?, set aside\$" || true)
            [ -z "$w" ] || bad+="warning with something behind it: $w; "
            grep -qE "^ ?[1-4] (erasing|programming|verifying|locking) +[0-9]+% " <<<"$ports" && pct=1
            grep -qE "last [0-9]{8}" <<<"$ports" && lastser=1
            grep -qE "^ 3 ($STATES) +([0-9]+%)? +0 ok +[1-9][0-9]* fail" <<<"$ports" &&
                grep -qE "^ ?[124] ($STATES) +([0-9]+%)? +[1-9][0-9]* ok" <<<"$ports" && p3fail=1
            [ -z "$bad" ] || break
        fi
        sleep 0.2
    done
    [ -n "$done_screen" ] || fail "$cols columns: the run did not end ($bad): $(tm capture-pane -p -J)"
    [ -z "$bad" ] && [ "$snaps" -ge 3 ] &&
        pass "$cols columns: $snaps mid-run snapshots: one line per port (no scrolled copies), state, counts and last serial on each, one summary line, no wrap, warnings whole" ||
        fail "$cols columns ($snaps snapshots): $bad $(tm capture-pane -p -J -S -)"
    [ -n "$pct" ] && pass "$cols columns: a phase's progress in % was shown" || fail "$cols columns: no progress %"
    [ -n "$lastser" ] && pass "$cols columns: a port showed its last serial" || fail "$cols columns: no last serial"
    [ -n "$p3fail" ] && pass "$cols columns: port 3 failing (0 ok) while the others passed" ||
        fail "$cols columns: port 3 never seen failing beside passing ports"
    grep -q "^DONE-1" <<<"$done_screen" &&
        pass "$cols columns: exit 1 (units failed; $(grep -c "set aside" <<<"$done_screen") board(s) of port 3 set aside with a warning)" ||
        fail "$cols columns: end: $done_screen"
    ports=$(grep -E "$PORT_RE" <<<"$done_screen" || true)
    [ "$(grep -c . <<<"$ports")" = 4 ] && [ "$(grep -cE "$FULL_RE" <<<"$ports")" = 4 ] &&
        ! grep -qE "$SUM_RE" <<<"$done_screen" &&
        pass "$cols columns: at the end the 4 port lines once, the live summary line gone" ||
        fail "$cols columns: end lines: $ports / $(grep -E "$SUM_RE" <<<"$done_screen")"
    grep -qE "^[0-9]+ units: 8 passed, [1-9][0-9]* failed, yield [0-9.]+ %; [1-9][0-9]* units per hour \(simulated target time\); [0-9.]+ s$" <<<"$done_screen" &&
        pass "$cols columns: summary: $(grep -E "^[0-9]+ units: " <<<"$done_screen")" ||
        fail "$cols columns: no summary: $done_screen"
    tm kill-server 2>/dev/null || true
done

# Through a pipe, 8 ports (port 3 losing power on every board): plain
# lines, no escape sequences, the same summary; every line whole and of a
# known kind, one line per finished unit (each port's pass and fail counts
# go up by exactly 1 from line to line: two units of a port ending within
# a few ms used to share one line), 24 passes with 24 different serials.
d="$WORK/pipe"
P8=()
for n in 1 2 3 4 5 6 7 8; do
    mkdir -p "$d/f$n"
    if [ $n = 3 ]; then P8+=(--probe "sim-feed:$d/f3?power-loss=1&power-loss-ops=6&retries=1"); else P8+=(--probe "sim-feed:$d/f$n"); fi
done
# strace stretches every sleep by 400 ms: the main thread, which looks at
# the ports every 50 ms, now looks only after several units of each port
# have ended (as on a loaded machine), and each unit still needs its line.
out=$(ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=clock_nanosleep \
    -e inject=clock_nanosleep:delay_exit=400000 "$OFLASH" prod run --image "$WORK/fw.hex" \
    --device $DEV --serial-at 0x1FFF7800 --station pipe --db "sqlite:$d/line.db" --units 24 \
    "${P8[@]}" 2>&1 | cat) || true
! grep -q $'\r\|\033' <<<"$out" && pass "pipe: no escape sequences" || fail "pipe: $out"
PASS_RE='^port [1-8]: pass [0-9]{8} \(pass [0-9]+, fail [0-9]+\)$'
ERR_RE='^port [1-8]: [a-z]+: .+ \(pass [0-9]+, fail [0-9]+\)$'
# the plan first, then: warnings of boards set aside, the result, the summary
PLAN_RE='^(production job on station pipe:|  (device|image|serial|ports|ledger|units|OTP) +.+|irreversible, on every unit:)$'
OTHER_RE='^(oflash: warning: sim-feed .+: board chip-[0-9]+\.sim failed [0-9]+ times?, set aside|oflash: [0-9]+ of [0-9]+ units failed|[0-9]+ units: [0-9]+ passed, [0-9]+ failed, yield [0-9.]+ %; [0-9]+ units per hour \(simulated target time\); [0-9.]+ s|per unit: station overhead [0-9.]+ ms host time, ledger [0-9.]+ ms in [0-9.]+ database round trips)$'
odd=$(grep -vE "$PASS_RE|$ERR_RE|$PLAN_RE|$OTHER_RE" <<<"$out" || true)
[ -z "$odd" ] && pass "pipe: every line whole and of a known kind (plan, unit pass/fail, port error, warning, result, summary)" ||
    fail "pipe: lines of no known kind (mixed or cut): $odd"
# per port: the counts of its pass lines 1, 2, 3...; of its failure lines too
steps=$(grep -E "$PASS_RE|$ERR_RE" <<<"$out" | sed -E 's/^port ([0-9]+): ([a-z]+)[: ].*\(pass ([0-9]+), fail ([0-9]+)\)$/\1 \2 \3 \4/' |
    awk '$2 == "pass" { if ($3 != p[$1] + 1) bad = bad " port " $1 ": pass " p[$1] " -> " $3; p[$1] = $3; n++ }
         $2 != "pass" && $4 != f[$1] { if ($4 != f[$1] + 1) bad = bad " port " $1 ": fail " f[$1] " -> " $4; f[$1] = $4 }
         END { print n + 0, (bad == "" ? "ok" : bad) }')
nser=$(grep -E "$PASS_RE" <<<"$out" | awk '{print $4}' | sort -u | wc -l)
[ "$steps" = "24 ok" ] && [ "$nser" = 24 ] &&
    pass "pipe, 8 ports: one line per unit (24 pass lines, 24 serials, counts step by 1)" ||
    fail "pipe, 8 ports: units and lines ($steps; $nser serials): $out"
grep -qE '^port 3: [a-z]+: .*power lost.* \(pass 0, fail [1-9][0-9]*\)$' <<<"$out" &&
    pass "pipe: port 3's failures in words" || fail "pipe: port 3: $out"
grep -qE "^[0-9]+ units: 24 passed, [1-9][0-9]* failed, yield [0-9.]+ %; [1-9][0-9]* units per hour" <<<"$out" &&
    pass "pipe: the summary" || fail "pipe summary: $out"
finish
