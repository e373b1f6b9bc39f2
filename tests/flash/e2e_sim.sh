#!/usr/bin/env bash
# e2e_sim.sh - e2e_program.sh on the simulated chip directly (sim:).
exec bash "$(dirname "$0")/e2e_program.sh" sim
