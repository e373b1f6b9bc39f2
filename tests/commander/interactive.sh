#!/usr/bin/env bash
# An interactive commander session in tmux: type a command, complete a
# command name with Tab, recall the previous line with Up, Ctrl-C a running
# go (the core keeps spinning in a 'b .' loop until then), leave with q.
source "$(dirname "$0")/../flash/lib.sh"
command -v tmux >/dev/null || { echo "tmux is missing (scripts/install-deps.sh)"; exit 1; }
CHIP="$WORK/chip.sim"
"$OFLASH" sim create "$CHIP" --device STM32F401RE >/dev/null
SOCK="$WORK/tmux.sock"
tm() { tmux -S "$SOCK" "$@"; }
cleanup_tmux() { tm kill-server 2>/dev/null || true; }
trap 'cleanup_tmux; cleanup' EXIT
tm new-session -d -x 120 -y 50 "'$OFLASH' commander --probe 'sim:$CHIP'; echo EXIT=\$?; sleep 30"
screen() { tm capture-pane -p -S -200; }
waitfor() { # waitfor TEXT: until the pane shows TEXT (10 s)
    for _ in $(seq 100); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
    return 1
}
waitfor "oflash>" && pass "prompt" || fail "no prompt: $(screen)"
tm send-keys "w2 20000000 E7FE" Enter           # b . (a Thumb branch to itself)
waitfor "Writing E7FE -> 20000000" && pass "typed command runs" || fail "w2: $(screen)"
tm send-keys "mem16 20000000 1" Enter
waitfor "20000000 = E7FE" && pass "mem16 shows it" || fail "mem16: $(screen)"
tm send-keys "verif" Tab
sleep 0.3
tm send-keys " x.bin, 0" Enter
waitfor "verifybin: x.bin: cannot open" && pass "Tab completes 'verif' to verifybin" || fail "completion: $(screen)"
tm send-keys Up Up Enter                        # mem16 20000000 1 again
for _ in $(seq 50); do [ "$(screen | grep -c '^20000000 = E7FE')" -ge 2 ] && break; sleep 0.1; done
[ "$(screen | grep -c '^20000000 = E7FE')" -ge 2 ] && pass "Up recalls history" || fail "history: $(screen)"
tm send-keys "setpc 20000000" Enter "g" Enter
sleep 1.5
screen | grep -q "Core halted" && fail "go returned by itself"
tm send-keys C-c
waitfor "Interrupted (Ctrl-C): core halted at 2000000" && pass "Ctrl-C stops a running go" || fail "Ctrl-C: $(screen)"
waitfor "PC = 20000000" && pass "registers shown where it stopped" || fail "regs after ^C"
tm send-keys "rreg PC" Enter
waitfor "PC = 20000000, XPSR" && pass "session goes on after Ctrl-C" || fail "after ^C: $(screen)"
tm send-keys "q" Enter
waitfor "EXIT=" && pass "q leaves" || fail "q: $(screen)"
# The ^C'd go was a failed command; an interactive session ends 1 then.
screen | grep -q "EXIT=1" && pass "exit status 1 after a failed (interrupted) command" || fail "exit: $(screen | grep EXIT)"
finish
