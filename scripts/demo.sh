#!/usr/bin/env bash
# demo.sh BUILD_DIR - the main job (make run).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
oflash="$build/oflash"
"$oflash" --help
