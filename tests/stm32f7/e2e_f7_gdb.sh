#!/usr/bin/env bash
# e2e_f7_gdb.sh - e2e_f7.sh through `oflash gdbserver` (gdb:).
exec bash "$(dirname "$0")/e2e_f7.sh" gdb
