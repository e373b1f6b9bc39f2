#!/usr/bin/env bash
# The web page's HTTP side, attacked with raw requests (tests/web/rawhttp.py):
#  - loopback without a token serves; a non-loopback address without
#    --http-token is refused before anything listens;
#  - on a non-loopback address (198.18.0.1 on the loopback device of a
#    network namespace of our own; plain HTTP there needs --insecure,
#    HTTPS is tests/web/tls.sh) every path, assets included, is 401
#    without the token or with a wrong one; Bearer, the cookie and
#    ?token= (303 + HttpOnly SameSite=Strict cookie) work;
#  - dot segments, plain and encoded (%2e, %2f, %252e, backslash), are 400
#    and never a file; oversized headers and paths are refused; only GET
#    and HEAD; the server still answers afterwards;
#  - 20 idle connections do not block the page, and are closed after the
#    idle timeout.
set -euo pipefail
: "${OFLASH_BUILD:?OFLASH_BUILD must point at the build directory}"
HERE=$(cd "$(dirname "$0")" && pwd)
SERVE="$OFLASH_BUILD/tests/web/web_serve"
RAW=(python3 "$HERE/rawhttp.py")
WORK=$(mktemp -d)
PIDS=()
FAILS=0
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# serve ARGS...: start web_serve, set URL, HOST, PORT, SPID
serve() {
    local out="$WORK/url.$RANDOM"
    "$SERVE" "$@" >"$out" 2>"$out.err" &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
    URL=$(cat "$out")
    [[ $URL =~ ^http://([0-9.]+):([0-9]+)/$ ]] || { echo "web_serve: $(cat "$out.err")" >&2; exit 1; }
    HOST=${BASH_REMATCH[1]}
    PORT=${BASH_REMATCH[2]}
}
stop() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }
status_of() { local o; o=$("${RAW[@]}" get "$HOST" "$PORT" "$@"); head -1 <<<"$o"; }

ASSETS=(/ /index.html /app.js /app.css /favicon.svg)
PATHS=("${ASSETS[@]}" /api/status /api/events /api/units /api/failures /api/export.csv
       /api/export.json /nosuch "/../etc/passwd" "/%2e%2e/etc/passwd" /api/nosuch)

if [ "${1:-}" = --in-netns ]; then
    # A network namespace of our own: 198.18.0.1 is not a loopback address,
    # and no packet leaves this namespace.
    ip link set lo up
    ip addr add 198.18.0.1/32 dev lo
    rc=0; err=$("$SERVE" --listen 198.18.0.1:0 2>&1) || rc=$?
    [ "$rc" = 1 ] && grep -q "reachable from other machines: give --http-token" <<<"$err" &&
        pass "198.18.0.1 without a token: refused ($err)" || fail "no token on 198.18.0.1: rc=$rc $err"
    rc=0; err=$("$SERVE" --listen 0.0.0.0:0 2>&1) || rc=$?
    [ "$rc" = 1 ] && pass "0.0.0.0 without a token: refused" || fail "0.0.0.0 without token: rc=$rc"

    TOKEN=station-7f3a9c21
    serve --listen 198.18.0.1:0 --token "$TOKEN" --insecure
    for p in "${PATHS[@]}"; do
        printf '%s\n' "$p" "$p"$'\t'"Authorization: Bearer wrong-token-123" \
            "$p"$'\t'"Cookie: oflash_token=${TOKEN}x" "$p?token=${TOKEN:0:8}"
    done >"$WORK/req"
    "${RAW[@]}" batch "$HOST" "$PORT" <"$WORK/req" >"$WORK/res"
    bad=$(grep -v '^401 ' "$WORK/res" || true)
    [ "$(grep -c '^401 ' "$WORK/res")" = $((4 * ${#PATHS[@]})) ] &&
        pass "no, wrong, wrong-cookie or short ?token=: all ${#PATHS[@]} paths (assets included) 401" ||
        fail "not 401: $bad"
    o=$("${RAW[@]}" get "$HOST" "$PORT" /app.js); grep -q "EventSource" <<<"$o" &&
        fail "401 body holds the script" || pass "401 gives no page content"
    for p in "${ASSETS[@]}"; do
        printf '%s\n' "$p"$'\t'"Authorization: Bearer $TOKEN" "$p"$'\t'"Cookie: oflash_token=$TOKEN"
    done >"$WORK/req"
    "${RAW[@]}" batch "$HOST" "$PORT" <"$WORK/req" >"$WORK/res"
    [ "$(grep -c '^200 ' "$WORK/res")" = $((2 * ${#ASSETS[@]})) ] &&
        pass "Bearer token and cookie: every asset 200" || fail "with token: $(grep -v '^200' "$WORK/res")"
    hdr=$(curl --max-time 10 -s -D - -o /dev/null "http://$HOST:$PORT/?token=$TOKEN")
    grep -q "^HTTP/1.1 303" <<<"$hdr" && grep -qi "^Location: /\s*$" <<<"$hdr" &&
        grep -qi "^Set-Cookie: oflash_token=$TOKEN; Path=/; HttpOnly; SameSite=Strict" <<<"$hdr" &&
        pass "?token= on first visit: 303 to / with an HttpOnly SameSite=Strict cookie" ||
        fail "first visit: $hdr"
    jar="$WORK/jar"
    body=$(curl -sfL -c "$jar" -b "$jar" "http://$HOST:$PORT/?token=$TOKEN") &&
        grep -q '<script src="/app.js"' <<<"$body" &&
        js=$(curl -sf -b "$jar" "http://$HOST:$PORT/app.js") && grep -q EventSource <<<"$js" &&
        pass "a browser-like client: first visit, then the cookie alone" || fail "cookie flow"
    stop
    [ "$FAILS" -eq 0 ] || exit 1
    exit 0
fi

# ---- loopback ---------------------------------------------------------------
serve --listen 127.0.0.1:0 --idle-timeout 4
[ "$(status_of /)" = 200 ] && [ "$(status_of /app.js)" = 200 ] && [ "$(status_of /app.css)" = 200 ] &&
    pass "loopback without a token: page, script and style served" || fail "loopback serve"
s=$(curl --max-time 10 -s -o /dev/null -w "%{http_code}" "http://$HOST:$PORT/app.js?token=anything")
[ "$s" = 200 ] && pass "loopback: a stray ?token= is ignored" || fail "loopback stray token: $s"
hdr=$(curl --max-time 10 -s -D - -o /dev/null "$URL")
grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'self'" <<<"$hdr" &&
    grep -qi "^X-Content-Type-Options: nosniff" <<<"$hdr" && pass "CSP (no inline script) and nosniff" ||
    fail "security headers: $hdr"

# Traversal: raw paths (no client normalises them).  Everything 400 and no
# byte of a file.
printf '%s\n' "/../etc/passwd" "/%2e%2e/etc/passwd" "/%2E%2E/%2E%2E/etc/passwd" "/..%2fetc%2fpasswd" \
    "/%2e%2e%2fetc%2fpasswd" "/api/../../etc/passwd" "/api/%2e%2e/status" "/%252e%252e/etc/passwd" \
    "/..%5c..%5cetc%5cpasswd" "/.%2e/etc/passwd" "/./app.js" "//etc/passwd" "/app.js/.." \
    "/%00/etc/passwd" "/app.js%00.html" >"$WORK/req"
"${RAW[@]}" batch "$HOST" "$PORT" <"$WORK/req" >"$WORK/res"
bad=$(grep -Ev '^(400|404) ' "$WORK/res" || true)
bad+=$(grep ' LEAK$' "$WORK/res" || true)
[ -z "$bad" ] && [ "$(wc -l <"$WORK/res")" = 15 ] &&
    pass "15 traversal paths (plain, %2e, %2f, %5c, %252e, %00): refused, nothing leaked" ||
    fail "traversal: $bad"
o1=$("${RAW[@]}" get "$HOST" "$PORT" "/../x"); o2=$("${RAW[@]}" get "$HOST" "$PORT" "/%2e%2e/x")
grep -q "'.' or '..' segment" <<<"$o1" && grep -q "'%' in the path" <<<"$o2" &&
    pass "the 400 names what was refused (dot segment, encoded path)" || fail "400 text"

# Oversized: headers beyond the 16 KiB per connection, a long path, a body.
s=$("${RAW[@]}" bigheader "$HOST" "$PORT" 65536)
case "$s" in 413|431|reset) pass "64 KiB header: refused ($s)" ;; *) fail "64 KiB header: $s" ;; esac
s=$("${RAW[@]}" bigheader "$HOST" "$PORT" 1048576)
case "$s" in 413|431|reset|none) pass "1 MiB header: refused ($s)" ;; *) fail "1 MiB header: $s" ;; esac
long="/$(printf 'a%.0s' $(seq 300))"
[ "$(status_of "$long")" = 414 ] && pass "300-byte path: 414" || fail "long path: $(status_of "$long")"
s=$(curl --max-time 10 -s -o /dev/null -w "%{http_code}" -X POST --data-binary @<(head -c 1000000 /dev/zero) "$URL")
[ "$s" = 405 ] && pass "POST (1 MB body): 405, read-only" || fail "POST: $s"
for m in PUT DELETE OPTIONS; do
    s=$(curl --max-time 10 -s -o /dev/null -w "%{http_code}" -X "$m" "${URL}api/status")
    [ "$s" = 405 ] || fail "$m: $s"
done
[ "$(status_of /)" = 200 ] && pass "still serving after the attacks" || fail "server died"

# 20 idle connections (nothing sent): the page still loads at once; the
# server closes them after its idle timeout (30 s; 4 s here).
"${RAW[@]}" idle "$HOST" "$PORT" 20 15 >"$WORK/idle" &
IPID=$!
PIDS+=("$IPID")
for _ in $(seq 100); do grep -q "^open" "$WORK/idle" && break; sleep 0.05; done
t0=$(date +%s%N)
ok=1
for _ in 1 2 3 4 5; do curl -sf -o /dev/null "${URL}app.js" || ok=0; done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
# Served before the idle timeout (4 s) freed any of them: a server waiting
# on an idle client would answer only after it (a bound on load, not speed).
[ "$ok" = 1 ] && [ "$ms" -lt 4000 ] && pass "20 idle connections open: 5 requests served in $ms ms (< the 4 s idle timeout)" ||
    fail "with 20 idle connections: ok=$ok $ms ms"
wait "$IPID" || true
closed=$(tail -1 "$WORK/idle")
[ "$closed" = 20 ] && pass "the 20 idle connections were closed by the server's idle timeout" ||
    fail "idle connections closed: $closed of 20"
stop

# ---- non-loopback, in a network namespace of our own --------------------------
if unshare -n true 2>/dev/null; then
    unshare -n bash "$0" --in-netns || FAILS=$((FAILS + 1))
else
    fail "cannot create a network namespace (unshare -n; run as root) for the non-loopback tests"
fi

if [ "$FAILS" -ne 0 ]; then echo "$FAILS failed" >&2; exit 1; fi
echo "all passed"
