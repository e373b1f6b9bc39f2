#!/usr/bin/env bash
# page.sh - the station's web page in a real headless Chromium (Debian's
# /usr/bin/chromium driven by puppeteer-core, version pinned in
# tests/web/package.json + package-lock.json, installed with `npm ci` into
# the build tree: tests/web/npm.sh).  What it asserts: tests/web/page_test.mjs.
source "$(dirname "$0")/../flash/lib.sh"
: "${OFLASH_BUILD:?OFLASH_BUILD must point at the build directory}"
for t in node npm /usr/bin/chromium; do
    command -v "$t" >/dev/null || { echo "FAIL: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
source "$HERE/../web/npm.sh"
web_npm_setup
cp "$HERE/../web/page_test.mjs" "$HERE/../web/lib.mjs" "$NPM/"
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"
SHOT="${WEB_SCREENSHOT:-$OFLASH_BUILD/web-page.png}"
OFLASH="$OFLASH" WORK="$WORK" FW="$WORK/fw.hex" SHOT="$SHOT" timeout 400 node "$NPM/page_test.mjs"
