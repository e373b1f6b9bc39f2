#!/usr/bin/env bash
# tls_page.sh - the station's web page over HTTPS in a real headless
# Chromium (Debian's /usr/bin/chromium, puppeteer-core: tests/web/npm.sh).
# The browser trusts the test's own CA (tests/web/certs.sh) through an NSS
# database in its HOME, as a supervisor's machine trusts the line's CA --
# no --ignore-certificate-errors.  What it asserts: tls_page_test.mjs.
source "$(dirname "$0")/../flash/lib.sh"
: "${OFLASH_BUILD:?OFLASH_BUILD must point at the build directory}"
for t in node npm /usr/bin/chromium certutil openssl; do
    command -v "$t" >/dev/null || { echo "FAIL: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
source "$HERE/../web/npm.sh"
source "$HERE/../web/certs.sh"
web_npm_setup
cp "$HERE/../web/tls_page_test.mjs" "$HERE/../web/lib.mjs" "$NPM/"
make_certs "$WORK/certs"
sign_until "$WORK/certs" soon20.pem "+20 days"
# A HOME whose NSS database trusts the test CA, and one that trusts nothing.
mkdir -p "$WORK/home-trusted/.pki/nssdb" "$WORK/home-untrusted"
certutil -N -d "sql:$WORK/home-trusted/.pki/nssdb" --empty-password
certutil -A -d "sql:$WORK/home-trusted/.pki/nssdb" -n "oflash test CA" -t "C,," -i "$WORK/certs/ca.pem"
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"
OFLASH="$OFLASH" WORK="$WORK" FW="$WORK/fw.hex" CERTS="$WORK/certs" \
    TRUSTED_HOME="$WORK/home-trusted" UNTRUSTED_HOME="$WORK/home-untrusted" \
    timeout 200 node "$NPM/tls_page_test.mjs"
