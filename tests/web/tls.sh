#!/usr/bin/env bash
# HTTPS for the station's web page (libmicrohttpd's TLS), with a throwaway
# CA and certificates made here by openssl (tests/web/certs.sh) and real
# curl trusting only that CA (--cacert):
#  - the page and /api/status over https://; the URL printed is https://;
#    curl without the CA refuses the certificate; plain HTTP to the TLS
#    port gets no HTTP answer; TLS 1.1 is refused; 20 connections that
#    never start the handshake do not stall the page and are closed after
#    the idle timeout;
#  - `oflash prod run` refuses every bad certificate/key input with its own
#    message and exit code before any port is opened (the sim-feed folder
#    stays empty, no ledger file is made): missing/unreadable files, a key
#    of another certificate, an expired or not-yet-valid certificate, a
#    certificate without a key (and the reverse), swapped files, a key
#    under a password, a DER file, plain HTTP on a non-loopback address
#    without --http-insecure, --http-insecure with a certificate; warnings
#    for a certificate expiring within 30 days, made for another host;
#    a real prod run serves https and passes its units;
#  - on a non-loopback address (198.18.0.1 in a network namespace of our
#    own): every path, assets included, 401 over TLS without the token or
#    with a wrong one; ?token= sets an HttpOnly SameSite=Strict Secure
#    cookie; the cookie and the Bearer token then work; --http-insecure
#    serves plain HTTP with a loud warning.
source "$(dirname "$0")/../flash/lib.sh"
source "$HERE/../web/certs.sh"
: "${OFLASH_BUILD:?OFLASH_BUILD must point at the build directory}"
SERVE="$OFLASH_BUILD/tests/web/web_serve"
C="$WORK/certs"
make_certs "$C"

# serve ARGS...: start web_serve in the background; URL, SPID
serve() {
    local out="$WORK/url.$RANDOM"
    "$SERVE" "$@" >"$out" 2>"$out.err" &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
    URL=$(cat "$out")
    [[ $URL =~ ^https?://[0-9.]+:[0-9]+/$ ]] || { echo "web_serve: $(cat "$out.err")" >&2; exit 1; }
}
stop() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }
code() { curl --max-time 10 -s -o /dev/null -w "%{http_code}" "$@" || true; }

ASSETS=(/ /index.html /app.js /app.css /favicon.svg)
PATHS=("${ASSETS[@]}" /api/status /api/events /api/units /api/failures /api/export.csv
       /api/export.json /nosuch "/../etc/passwd" "/%2e%2e/etc/passwd" /api/nosuch)

if [ "${1:-}" = --in-netns ]; then
    ip link set lo up
    ip addr add 198.18.0.1/32 dev lo
    TOKEN=station-7f3a9c21
    # Plain HTTP on a non-loopback address: refused unless asked for.
    rc=0; err=$("$SERVE" --listen 198.18.0.1:0 --token "$TOKEN" 2>&1) || rc=$?
    [ "$rc" = 1 ] && grep -q "in clear text: give --http-cert FILE --http-key FILE" <<<"$err" &&
        pass "198.18.0.1 with a token but no certificate: refused ($err)" || fail "plain on 198.18.0.1: rc=$rc $err"

    serve --listen 198.18.0.1:0 --token "$TOKEN" --cert "$C/srv.pem" --key "$C/srv.key"
    [[ $URL == https://198.18.0.1:* ]] && pass "URL $URL" || fail "URL $URL"
    CURL=(curl --max-time 10 -s --path-as-is --cacert "$C/ca.pem")
    n=0; bad=""
    for p in "${PATHS[@]}"; do
        for h in "" "Authorization: Bearer wrong-token-123" "Cookie: oflash_token=${TOKEN}x"; do
            s=$("${CURL[@]}" -o /dev/null -w "%{http_code}" ${h:+-H "$h"} "${URL%/}$p" || true)
            n=$((n + 1)); [ "$s" = 401 ] || bad+=" $p[$h]=$s"
        done
        s=$("${CURL[@]}" -o /dev/null -w "%{http_code}" "${URL%/}$p?token=${TOKEN:0:8}" || true)
        n=$((n + 1)); [ "$s" = 401 ] || bad+=" $p?short=$s"
    done
    [ -z "$bad" ] && pass "over TLS without, with a wrong or a short token: all $n requests on ${#PATHS[@]} paths 401" ||
        fail "not 401:$bad"
    body=$("${CURL[@]}" "${URL}app.js" || true)
    grep -q EventSource <<<"$body" && fail "401 body holds the script" || pass "401 gives no page content"
    hdr=$("${CURL[@]}" -D - -o /dev/null "${URL}?token=$TOKEN")
    grep -q "^HTTP/1.1 303" <<<"$hdr" &&
        grep -qi "^Set-Cookie: oflash_token=$TOKEN; Path=/; HttpOnly; SameSite=Strict; Secure" <<<"$hdr" &&
        pass "?token= over HTTPS: 303 with an HttpOnly SameSite=Strict Secure cookie" || fail "first visit: $hdr"
    jar="$WORK/jar"
    body=$("${CURL[@]}" -fL -c "$jar" -b "$jar" "${URL}?token=$TOKEN") &&
        grep -q '<script src="/app.js"' <<<"$body" &&
        js=$("${CURL[@]}" -f -b "$jar" "${URL}app.js") && grep -q EventSource <<<"$js" &&
        st=$("${CURL[@]}" -f -H "Authorization: Bearer $TOKEN" "${URL}api/status") &&
        grep -q '"stations":' <<<"$st" &&
        pass "with the token: first visit, the cookie, then Bearer on /api/status" || fail "token flow over TLS"
    stop

    # --http-insecure: served as plain HTTP, and prod serve says so loudly.
    serve --listen 198.18.0.1:0 --token "$TOKEN" --insecure
    [[ $URL == http://198.18.0.1:* ]] && [ "$(code -H "Authorization: Bearer $TOKEN" "$URL")" = 200 ] &&
        pass "allow_plain_http: plain HTTP on 198.18.0.1 ($URL)" || fail "insecure serve $URL"
    stop
    "$OFLASH" prod serve --db "sqlite:$WORK/serve.db" --http 198.18.0.1:0 --http-token "$TOKEN" \
        --http-insecure 2>"$WORK/serve.err" &
    PIDS+=($!); SPID=$!
    for _ in $(seq 100); do grep -q "web page:" "$WORK/serve.err" && break; sleep 0.05; done
    grep -q "warning: --http-insecure: the web page is served as plain HTTP on 198.18.0.1:0: the token and every serial and chip ID it shows cross the network in clear text" "$WORK/serve.err" &&
        grep -q "web page: http://198.18.0.1:" "$WORK/serve.err" &&
        pass "prod serve --http-insecure: served, with the clear-text warning" || fail "prod serve insecure: $(cat "$WORK/serve.err")"
    kill -INT "$SPID"; wait "$SPID" 2>/dev/null || true
    finish
    exit 0
fi

# ---- loopback: the page and the API over HTTPS, with the test CA ----------
serve --listen 127.0.0.1:0 --cert "$C/srv.pem" --key "$C/srv.key"
[[ $URL == https://127.0.0.1:* ]] && pass "URL printed as $URL" || fail "URL $URL"
body=$(curl --max-time 10 -sf --cacert "$C/ca.pem" "$URL") && grep -q '<script src="/app.js"' <<<"$body" &&
    pass "curl --cacert: the page over HTTPS" || fail "page over HTTPS"
st=$(curl --max-time 10 -sf --cacert "$C/ca.pem" "${URL}api/status") && grep -q '"stations":' <<<"$st" &&
    pass "curl --cacert: /api/status over HTTPS ($(head -c 60 <<<"$st")...)" || fail "/api/status over HTTPS"
info=$(curl --max-time 10 -sv --cacert "$C/ca.pem" -o /dev/null "$URL" 2>&1 || true)
grep -q "issuer: CN=oflash test CA" <<<"$info" && grep -q "TLSv1.3" <<<"$info" &&
    pass "TLS 1.3, certificate issued by the test CA" || fail "handshake: $info"
rc=0; curl --max-time 10 -s -o /dev/null "$URL" || rc=$?
[ "$rc" = 60 ] && pass "curl without the test CA refuses the certificate (exit 60)" || fail "no CA: curl exit $rc"
rc=0; out=$(curl --max-time 10 -s -i "http://${URL#https://}" 2>&1) || rc=$?
[ "$rc" != 0 ] && ! grep -q "^HTTP/" <<<"$out" && ! grep -q "<script" <<<"$out" &&
    pass "plain HTTP to the HTTPS port: no HTTP answer, no page (curl exit $rc)" || fail "plain HTTP: rc=$rc $out"
rc=0; curl --max-time 10 -s -o /dev/null --cacert "$C/ca.pem" --tls-max 1.1 "$URL" || rc=$?
[ "$rc" != 0 ] && pass "TLS 1.1 refused (curl exit $rc)" || fail "TLS 1.1 accepted"
[ "$(code --cacert "$C/ca.pem" "$URL")" = 200 ] && pass "still serving" || fail "server died"
stop

# 20 connections that never start the TLS handshake: the page is still
# served at once, and the server closes them after its idle timeout.
serve --listen 127.0.0.1:0 --cert "$C/srv.pem" --key "$C/srv.key" --idle-timeout 4
HP=${URL#https://}; HP=${HP%/}
python3 "$HERE/../web/rawhttp.py" idle "${HP%:*}" "${HP#*:}" 20 15 >"$WORK/idle" &
IPID=$!; PIDS+=("$IPID")
for _ in $(seq 100); do grep -q "^open" "$WORK/idle" && break; sleep 0.05; done
t0=$(date +%s%N); okn=0
for _ in 1 2 3 4 5; do curl --max-time 10 -sf --cacert "$C/ca.pem" -o /dev/null "${URL}app.js" && okn=$((okn + 1)); done
ms=$((($(date +%s%N) - t0) / 1000000))
# Before the 4 s idle timeout freed any of them (a bound on waiting, not speed).
[ "$okn" = 5 ] && [ "$ms" -lt 4000 ] && pass "20 idle connections before the handshake: 5 HTTPS requests served in $ms ms (< the 4 s idle timeout)" ||
    fail "with 20 idle connections: $okn of 5 in $ms ms"
wait "$IPID" || true
[ "$(tail -1 "$WORK/idle")" = 20 ] && pass "the 20 idle connections were closed by the server's idle timeout" ||
    fail "idle connections closed: $(tail -1 "$WORK/idle") of 20"
stop

# ---- prod run: every bad input refused before a port is opened ------------
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex" # the serial goes there
FEED="$WORK/feed"
mkdir -p "$FEED"
RUN=(prod run --image "$WORK/fw.hex" --device STM32F401RE --serial-at 0x1FFF7800 --station tls
     --db "sqlite:$WORK/ledger.db" --probe "sim-feed:$FEED" --units 3)
mkdir "$WORK/adir"
# refused RC TEXT ARGS...: prod run exits RC, says TEXT, touched nothing
refused() {
    local want=$1 text=$2; shift 2
    local out rc
    run_oflash out rc "${RUN[@]}" "$@"
    if [ "$rc" = "$want" ] && grep -qF -- "$text" <<<"$out" && [ -z "$(ls -A "$FEED")" ] &&
        [ ! -e "$WORK/ledger.db" ]; then
        pass "refused (exit $rc), nothing touched: $(head -1 <<<"$out")"
    else
        fail "$* -> exit $rc (want $want), feed: $(ls -A "$FEED" | tr '\n' ' '), db: $(ls "$WORK"/ledger.db* 2>/dev/null): $out"
    fi
}
H=(--http 127.0.0.1:0)
refused 1 "--http-cert $WORK/nosuch.pem: cannot read the certificate file: No such file or directory" \
    "${H[@]}" --http-cert "$WORK/nosuch.pem" --http-key "$C/srv.key"
refused 1 "--http-key $WORK/nosuch.key: cannot read the key file: No such file or directory" \
    "${H[@]}" --http-cert "$C/srv.pem" --http-key "$WORK/nosuch.key"
refused 1 "--http-key $WORK/adir: not a file" "${H[@]}" --http-cert "$C/srv.pem" --http-key "$WORK/adir"
refused 1 "--http-key $C/other.key is not the key of the certificate in $C/srv.pem" \
    "${H[@]}" --http-cert "$C/srv.pem" --http-key "$C/other.key"
refused 1 "--http-cert $C/expired.pem expired on 2025-02-01 00:00 UTC (this machine's clock says" \
    "${H[@]}" --http-cert "$C/expired.pem" --http-key "$C/srv.key"
refused 1 "--http-cert $C/future.pem is valid only from 2030-01-01 00:00 UTC" \
    "${H[@]}" --http-cert "$C/future.pem" --http-key "$C/srv.key"
refused 2 "--http-cert without --http-key: HTTPS needs the certificate's private key" \
    "${H[@]}" --http-cert "$C/srv.pem"
refused 2 "--http-key without --http-cert" "${H[@]}" --http-key "$C/srv.key"
refused 1 "--http-cert $C/srv.key holds a private key, not a certificate: are --http-cert and --http-key swapped?" \
    "${H[@]}" --http-cert "$C/srv.key" --http-key "$C/srv.pem"
refused 1 "--http-key $C/enc.key is protected by a password" \
    "${H[@]}" --http-cert "$C/srv.pem" --http-key "$C/enc.key"
refused 1 "--http-cert $C/srv.der: a binary file, not a PEM certificate" \
    "${H[@]}" --http-cert "$C/srv.der" --http-key "$C/srv.key"
refused 1 "--http 0.0.0.0:0 is reachable from other machines, and over plain HTTP the token and the ledger's data cross the network in clear text" \
    --http 0.0.0.0:0 --http-token station-7f3a9c21
refused 2 "--http-insecure and --http-cert together" \
    "${H[@]}" --http-insecure --http-cert "$C/srv.pem" --http-key "$C/srv.key"
refused 2 "prod run: --http-cert without --http [HOST:]PORT" --http-cert "$C/srv.pem" --http-key "$C/srv.key"

# A real run over HTTPS: warnings for a certificate expiring soon and made
# for another host; the units pass; the page answered while it ran.
run_oflash out rc "${RUN[@]}" "${H[@]}" --http-cert "$C/soon.pem" --http-key "$C/srv.key"
grep -q "warning: the web page's certificate $C/soon.pem expires on .* (within a day): make a new one" <<<"$out" &&
    grep -q "web page: https://127.0.0.1:" <<<"$out" && [ "$rc" = 0 ] && grep -q "^3 units: 3 passed, 0 failed" <<<"$out" &&
    pass "prod run over HTTPS: 3 units passed, expiry warning given" || fail "prod run https: rc=$rc $out"
rm -rf "$WORK/ledger.db"* "$FEED"/*
run_oflash out rc "${RUN[@]}" "${H[@]}" --http-cert "$C/other-host.pem" --http-key "$C/srv.key" --plan
grep -q "warning: the web page's certificate $C/other-host.pem is made for station-9.lan, not for the address of --http 127.0.0.1:0" <<<"$out" &&
    [ "$rc" = 0 ] && pass "certificate for another host: warned (browsers will warn)" || fail "host mismatch: rc=$rc $out"

# A station serving HTTPS while it works: /api/status shows it live.
rm -rf "$WORK/ledger.db"* "$FEED"/*
"$OFLASH" "${RUN[@]}" --units 100000 --http 127.0.0.1:0 --http-cert "$C/srv.pem" \
    --http-key "$C/srv.key" --quiet >"$WORK/run.out" 2>"$WORK/run.err" &
RPID=$!; PIDS+=("$RPID")
# Port 0: the station picks a free port and prints its URL (no race).
P=$(listen_port "$WORK/run.err" "$RPID" 'web page: https://127\.0\.0\.1:([0-9]+)') || P=0
live=""
for _ in $(seq 200); do
    st=$(curl --max-time 5 -sf --cacert "$C/ca.pem" "https://127.0.0.1:$P/api/status" || true)
    if [[ $st =~ \"station\":\"tls\" ]] && [[ $st =~ \"running\":true ]]; then live=$st; break; fi
    sleep 0.1
done
[ -n "$live" ] && pass "prod run --http-cert: /api/status over HTTPS shows the running station" ||
    fail "live status over HTTPS: $(cat "$WORK/run.err")"
kill -INT "$RPID" 2>/dev/null || true; rc=0; wait "$RPID" || rc=$?
[ "$rc" = 130 ] && pass "stopped with Ctrl-C (exit 130)" || fail "station exit $rc"

# ---- non-loopback, in a network namespace of our own ------------------------
if unshare -n true 2>/dev/null; then
    unshare -n bash "$0" --in-netns || FAILS=$((FAILS + 1))
else
    fail "cannot create a network namespace (unshare -n; run as root) for the non-loopback tests"
fi
finish
