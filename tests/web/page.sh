#!/usr/bin/env bash
# page.sh - the station's web page in a real headless Chromium (Debian's
# /usr/bin/chromium driven by puppeteer-core, version pinned in
# tests/web/package.json + package-lock.json, installed with `npm ci` into
# the build tree).  What it asserts: tests/web/page_test.mjs.
source "$(dirname "$0")/../flash/lib.sh"
: "${OFLASH_BUILD:?OFLASH_BUILD must point at the build directory}"
for t in node npm /usr/bin/chromium; do
    command -v "$t" >/dev/null || { echo "FAIL: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
# puppeteer-core from the npm registry, once per lock file (npm ci).
NPM="$OFLASH_BUILD/tests/web/npm"
mkdir -p "$NPM"
if ! cmp -s "$HERE/../web/package-lock.json" "$NPM/package-lock.json" || [ ! -d "$NPM/node_modules" ]; then
    cp "$HERE/../web/package.json" "$HERE/../web/package-lock.json" "$NPM/"
    (cd "$NPM" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2
fi
cp "$HERE/../web/page_test.mjs" "$NPM/"
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"
SHOT="${WEB_SCREENSHOT:-$OFLASH_BUILD/web-page.png}"
OFLASH="$OFLASH" WORK="$WORK" FW="$WORK/fw.hex" SHOT="$SHOT" timeout 400 node "$NPM/page_test.mjs"
