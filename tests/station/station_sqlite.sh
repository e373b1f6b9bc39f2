#!/usr/bin/env bash
# The station suite on SQLite.
exec bash "$(dirname "$0")/station.sh" sqlite
