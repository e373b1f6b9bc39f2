#!/bin/bash
# test_sim_cli.sh - `oflash sim create|show|fault`: output, exit codes, errors.
set -u
fail=0
check() { # check DESC EXPECTED_RC CMD...
    local desc=$1 want=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" != "$want" ]; then echo "FAIL: $desc: exit $rc, expected $want: $out"; fail=1; fi
}
contains() { # contains DESC TEXT
    if ! grep -qF -- "$2" <<<"$out"; then echo "FAIL: $1: output lacks '$2':"; echo "$out"; fail=1; fi
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chip=$dir/a.sim

check "create" 0 "$OFLASH" sim create "$chip" --device STM32F401RE --uid 0102030405060708090a0b0c
contains "create prints uid" "0102030405060708090a0b0c"
check "show" 0 "$OFLASH" sim show "$chip"
contains "part" "STM32F401xE"
contains "uid" "0102030405060708090a0b0c"
contains "sector 7 blank" "0x08060000   128 KiB  blank"
contains "otp" "0x1FFF79E0  blank    open"
contains "rdp" "RDP level 0 (0xAA)"
contains "wrp" "write-protected sectors: none"
contains "faults" "faults:       none"
check "show json" 0 "$OFLASH" sim show "$chip" --json
contains "json uid" '"uid": "0102030405060708090a0b0c"'
contains "json blank" '"blank_sectors": [0, 1, 2, 3, 4, 5, 6, 7]'
check "create again refuses" 1 "$OFLASH" sim create "$chip" --device STM32F401RE
contains "already" "already exists"
check "unknown device" 1 "$OFLASH" sim create "$dir/b.sim" --device STM32F999XX
contains "unknown device named" "STM32F999XX"
[ -e "$dir/b.sim" ] && { echo "FAIL: b.sim created for an unknown device"; fail=1; }
check "bad uid" 1 "$OFLASH" sim create "$dir/b.sim" --device STM32F401RE --uid 12345
contains "bad uid" "24 hex digits"
check "missing device" 2 "$OFLASH" sim create "$dir/b.sim"
check "missing path" 2 "$OFLASH" sim show
check "no such chip" 1 "$OFLASH" sim show "$dir/nope.sim"
check "not a chip" 1 "$OFLASH" sim show /dev/null
check "random uid" 0 "$OFLASH" sim create "$dir/r.sim" --device STM32F429ZI
contains "F429" "STM32F429xI"
check "fault arm" 0 "$OFLASH" sim fault "$chip" --power-loss-after 3 --fail-at 0x08004000
check "show faults" 0 "$OFLASH" sim show "$chip"
contains "power loss" "power loss after 3 flash operations"
contains "fail at" "program/erase fails at 0x08004000"
check "fault link" 0 "$OFLASH" sim fault "$chip" --link-drop-after 10
check "show faults 2" 0 "$OFLASH" sim show "$chip"
contains "kept" "power loss after 3"
contains "link" "link drop after 10 transactions"
check "fault bad count" 2 "$OFLASH" sim fault "$chip" --power-loss-after x
check "fault nothing" 2 "$OFLASH" sim fault "$chip"
check "fault clear" 0 "$OFLASH" sim fault "$chip" --clear
check "show cleared" 0 "$OFLASH" sim show "$chip"
contains "cleared" "faults:       none"
check "unknown sub" 2 "$OFLASH" sim frobnicate
exit $fail
