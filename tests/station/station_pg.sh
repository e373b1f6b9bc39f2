#!/usr/bin/env bash
# The station suite on a real PostgreSQL server (tests/lib/pg.sh).
exec bash "$(dirname "$0")/station.sh" pg
