#!/usr/bin/env bash
# install-deps.sh - install the Debian packages oflash needs to build, test,
# fuzz and benchmark.  Uses sudo when not root.  With --if-missing it does
# nothing when everything is already there (make calls it that way).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libunicorn-dev libxml2-dev libzip-dev libedit-dev libjansson-dev
  nettle-dev libinih-dev
  libsqlite3-dev libpq-dev libjansson-dev postgresql
  gcc-arm-none-eabi binutils-arm-none-eabi libnewlib-arm-none-eabi
  qemu-system-arm gdb-multiarch openocd
  clang libclang-rt-14-dev
  srecord binutils time python3 zip cppcheck groff-base tmux zsh
  strace bsdutils
  # pgrep (tests); the port helpers read ss -p (iproute2) and /proc
  procps
  # the benches read --json output with jq (bench/lib/json.sh)
  jq
  # the station's web page: HTTP server (dlopen'ed) and its tests (curl,
  # unshare/ip, Debian's Chromium driven by puppeteer-core from npm)
  libmicrohttpd-dev curl iproute2 util-linux chromium
  # HTTPS for the page: GnuTLS headers (libmicrohttpd serves TLS with it),
  # openssl to make the tests' throwaway CA and certificates
  libgnutls28-dev openssl
  # certutil: the HTTPS browser test trusts its CA through an NSS database
  libnss3-tools
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node and npm for the page test (tests/web/page.sh runs `npm ci`): Debian's
# unless a node with npm is there already (a NodeSource node bundles npm and
# conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ "${1:-}" = "--if-missing" ] && [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
