#!/usr/bin/env bash
# static_program.sh - examples/sdk/program_otp.c linked in the tree with
# liboflash.a (the archive, public headers only: tests/sdk/CMakeLists.txt)
# programs flash + OTP + a lock byte into a simulated chip; the CLI then
# finds exactly that on the chip; a rerun writes nothing; a conflicting
# serial is refused with the chip unchanged.
. "$(dirname "$0")/lib.sh"
prog=$OFLASH_BUILD/tests/sdk/sdk_program_otp_static
check "program_otp does not load liboflash.so" \
    bash -c "! readelf -d '$prog' | grep -q 'liboflash'"
program_checks "$OFLASH" "$prog" static
finish
