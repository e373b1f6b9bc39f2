# npm.sh - puppeteer-core for the browser tests (source it; bash), from the
# npm registry with `npm ci`, the version pinned in tests/web/package.json +
# package-lock.json, once per lock file, into the build tree.  The tests
# that call it share ctest's RESOURCE_LOCK web_npm (one npm ci at a time).
# web_npm_setup: sets NPM (the folder holding node_modules).
web_npm_setup() {
    local src
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    NPM="$OFLASH_BUILD/tests/web/npm"
    mkdir -p "$NPM"
    if ! cmp -s "$src/package-lock.json" "$NPM/package-lock.json" || [ ! -d "$NPM/node_modules" ]; then
        cp "$src/package.json" "$src/package-lock.json" "$NPM/"
        (cd "$NPM" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2
    fi
}
