#!/usr/bin/env bash
# e2e_gdb.sh - e2e_program.sh through oflash gdbserver with the gdb: backend.
exec bash "$(dirname "$0")/e2e_program.sh" gdb
