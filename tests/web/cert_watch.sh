#!/usr/bin/env bash
# The web page's HTTPS certificate watched while a station runs for weeks,
# and the web keys of a job file.
#  - prod serve with a certificate that has 30 days + 15 s left: no warning
#    at start; once it has less than 30 days (checked every second here:
#    OFLASH_TEST_CERT_CHECK_S=1) one warning line, /api/status "tls" says
#    expiring with 29 days left; a second server without the variable
#    (hourly checks) has said nothing by then;
#  - a certificate with 15 s left: the start warning (within a day), then
#    once expired one "expired" line and /api/status "expired";
#  - prod run whose job file gives http, http_cert, http_key (paths
#    relative to the job file): served over HTTPS, and the expiry is
#    logged while the units run;
#  - every bad web key of a job file refused with file and line, exit 1 or
#    2, before any chip or ledger is touched; flags override the file.
source "$(dirname "$0")/../flash/lib.sh"
source "$HERE/../web/certs.sh"
C="$WORK/certs"
make_certs "$C"
build_fw fw
"$ARM_OBJCOPY" -O ihex -R .otp -R .otp_lock "$WORK/fw.elf" "$WORK/fw.hex"
FEED="$WORK/feed"
mkdir -p "$FEED"
DB="sqlite:$WORK/ledger.db"

# serve_bg LOG [ENV...]: prod serve over HTTPS with $CERT in the background;
# sets SPID and SURL (the https:// URL it prints)
serve_bg() {
    local log=$1
    shift
    env "$@" "$OFLASH" prod serve --db "$DB" --http 127.0.0.1:0 --http-cert "$CERT" \
        --http-key "$C/srv.key" 2>"$log" &
    SPID=$!
    PIDS+=("$SPID")
    SURL=https://127.0.0.1:$(listen_port "$log" "$SPID" 'web page: https://127\.0\.0\.1:([0-9]+)')/
}
# tls_field URL KEY: a field of /api/status's "tls" (curl -k: the point is
# the server's own view, also once the certificate has expired)
tls_field() {
    curl --max-time 10 -sk "${1}api/status" | jq -r ".tls.$2" 2>/dev/null || echo "?"
}
# wait_line LOG TEXT [SECONDS]: until LOG holds TEXT (default 30 s)
wait_line() {
    local t=$((SECONDS + ${3:-30}))
    while [ $SECONDS -lt $t ]; do
        grep -qF -- "$2" "$1" && return 0
        sleep 0.2
    done
    return 1
}
stop_serve() { kill -INT "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# A ledger for prod serve to show.
run_oflash out rc prod run --image "$WORK/fw.hex" --device STM32F401RE --serial-at 0x1FFF7800 \
    --db "$DB" --probe "sim-feed:$FEED" --units 1
[ "$rc" = 0 ] || fail "a first unit for the ledger: $out"

# ---- 30 days and 15 s left: quiet at start, warned once it is within 30 days
sign_until "$C" month.pem "+30 days +15 seconds"
CERT=$C/month.pem
serve_bg "$WORK/month.log" OFLASH_TEST_CERT_CHECK_S=1
M1=$SPID U1=$SURL
serve_bg "$WORK/month-hourly.log"
M2=$SPID U2=$SURL
[ "$(tls_field "$U1" cert_state)" = ok ] && [ "$(tls_field "$U1" cert_days_left)" = 30 ] &&
    ! grep -q "expires on" "$WORK/month.log" &&
    pass "30 days + 15 s left: no warning at start, /api/status tls ok (30 days)" ||
    fail "month at start: $(curl -sk "${U1}api/status" | jq -c .tls) $(cat "$WORK/month.log")"
if wait_line "$WORK/month.log" "warning: the web page's certificate $CERT expires on" 40; then
    pass "once within 30 days: $(grep "expires on" "$WORK/month.log")"
else
    fail "no warning within 30 days: $(cat "$WORK/month.log")"
fi
grep -q "expires on .* (in 29 days): make a new one and restart oflash with it before then" \
    "$WORK/month.log" && pass "the warning gives the date, the days left and what to do" ||
    fail "warning text: $(cat "$WORK/month.log")"
[ "$(tls_field "$U1" cert_state)" = expiring ] && [ "$(tls_field "$U1" cert_days_left)" = 29 ] &&
    [ "$(tls_field "$U1" cert_warn_days)" = 30 ] &&
    pass "/api/status tls: expiring, 29 days left" ||
    fail "month status: $(curl -sk "${U1}api/status" | jq -c .tls)"
sleep 3
[ "$(grep -c "expires on" "$WORK/month.log")" = 1 ] && pass "warned once (checks every second after it)" ||
    fail "warned $(grep -c "expires on" "$WORK/month.log") times"
! grep -q "expires on" "$WORK/month-hourly.log" && [ "$(tls_field "$U2" cert_state)" = ok ] &&
    pass "without OFLASH_TEST_CERT_CHECK_S (hourly checks): nothing said yet" ||
    fail "hourly server: $(cat "$WORK/month-hourly.log") $(curl -sk "${U2}api/status" | jq -c .tls)"
stop_serve "$M1"
stop_serve "$M2"

# ---- 15 s left: warned at start, then once expired
sign_until "$C" brief.pem "+15 seconds"
CERT=$C/brief.pem
serve_bg "$WORK/brief.log" OFLASH_TEST_CERT_CHECK_S=1
B1=$SPID
grep -q "warning: the web page's certificate $CERT expires on .* (within a day)" "$WORK/brief.log" &&
    [ "$(tls_field "$SURL" cert_state)" = expiring ] && [ "$(tls_field "$SURL" cert_days_left)" = 0 ] &&
    pass "15 s left: warned at start, /api/status expiring (0 days)" ||
    fail "brief at start: $(cat "$WORK/brief.log") $(curl -sk "${SURL}api/status" | jq -c .tls)"
if wait_line "$WORK/brief.log" "warning: the web page's certificate $CERT expired on" 40; then
    pass "once expired: $(grep "expired on" "$WORK/brief.log")"
else
    fail "no warning once expired: $(cat "$WORK/brief.log")"
fi
grep -q "expired on .*: browsers now refuse the page; make a new one and restart oflash with it" \
    "$WORK/brief.log" && [ "$(tls_field "$SURL" cert_state)" = expired ] &&
    pass "/api/status tls: expired" || fail "brief status: $(curl -sk "${SURL}api/status" | jq -c .tls)"
rc=0; curl --max-time 10 -s --cacert "$C/ca.pem" -o /dev/null "${SURL}api/status" || rc=$?
[ "$rc" = 60 ] && pass "curl now refuses the expired certificate (exit 60), as browsers do" ||
    fail "curl on the expired certificate: exit $rc"
sleep 2
[ "$(grep -c "expired on" "$WORK/brief.log")" = 1 ] && pass "the expiry is said once" ||
    fail "said $(grep -c "expired on" "$WORK/brief.log") times"
stop_serve "$B1"

# ---- a job file with the web keys: prod run serves HTTPS from them
mkdir -p "$WORK/line/keys"
cp "$WORK/fw.hex" "$WORK/line/"
cp "$C/srv.key" "$WORK/line/keys/"
sign_until "$C" brief2.pem "+15 seconds"
cp "$C/brief2.pem" "$WORK/line/keys/"
rm -rf "${FEED:?}"/*
cat >"$WORK/line/line.ini" <<EOF
[job]
image = fw.hex
device = STM32F401RE
probe = sim-feed:$FEED
db = $DB
station = line-1
http = 127.0.0.1:0
http_cert = keys/brief2.pem
http_key = keys/srv.key

[serial]
at = 0x1FFF7800
EOF
OFLASH_TEST_CERT_CHECK_S=1 "$OFLASH" prod run "$WORK/line/line.ini" --quiet >"$WORK/run.out" \
    2>"$WORK/run.err" &
RPID=$!
PIDS+=("$RPID")
P=$(listen_port "$WORK/run.err" "$RPID" 'web page: https://127\.0\.0\.1:([0-9]+)') &&
    [ "$(tls_field "https://127.0.0.1:$P/" cert_state)" = expiring ] &&
    pass "prod run line.ini: HTTPS from http, http_cert, http_key of the job file (port $P)" ||
    fail "prod run with the job file's web keys: $(cat "$WORK/run.err")"
wait_line "$WORK/run.err" "warning: the web page's certificate $WORK/line/keys/brief2.pem expired on" 40 &&
    pass "prod run: the expiry logged while the units run" || fail "prod run expiry: $(cat "$WORK/run.err")"
[ "$(tls_field "https://127.0.0.1:$P/" cert_state)" = expired ] &&
    pass "prod run: /api/status tls expired" || fail "prod run status: $(curl -sk "https://127.0.0.1:$P/api/status" | jq -c .tls)"
ctrl_c "$RPID"
rc=0; wait "$RPID" || rc=$?
[ "$rc" = 130 ] && pass "stopped with Ctrl-C (exit 130)" || fail "prod run exit $rc: $(tail -3 "$WORK/run.err")"

# ---- bad web keys: file and line, nothing touched
rm -rf "$WORK/ledger.db"* "${FEED:?}"/*
JOB="$WORK/line/bad.ini"
# bad_key RC TEXT LINES...: a job file of the [job] lines above plus LINES
# (from line 7 on) is refused with exit RC and TEXT, nothing touched
bad_key() {
    local want=$1 text=$2 out rc
    shift 2
    {
        printf '[job]\nimage = fw.hex\ndevice = STM32F401RE\nprobe = sim-feed:%s\ndb = %s\n' "$FEED" "$DB"
        printf 'station = line-1\n'
        printf '%s\n' "$@"
    } >"$JOB"
    run_oflash out rc prod run "$JOB" --serial-at 0x1FFF7800 "${FLAGS[@]}"
    if [ "$rc" = "$want" ] && grep -qF -- "$text" <<<"$out" && [ -z "$(ls -A "$FEED")" ] &&
        [ ! -e "$WORK/ledger.db" ]; then
        pass "refused (exit $rc), nothing touched: $(head -1 <<<"$out")"
    else
        fail "$* -> exit $rc (want $want), feed: $(ls -A "$FEED" | tr '\n' ' '): $out"
    fi
}
FLAGS=()
bad_key 1 "$JOB:7: --http '127.0.0.1:99999': port '99999' is not a number 0-65535" "http = 127.0.0.1:99999"
bad_key 1 "$JOB:8: --http-token must be 8 to 200 characters (got 5)" "http = 127.0.0.1:0" "http_token = short"
bad_key 1 "$JOB:8: http_cert: the web page's certificate file 'nope.pem' not found" \
    "http = 127.0.0.1:0" "http_cert = nope.pem" "http_key = keys/srv.key"
bad_key 1 "$JOB:8: http_insecure 'maybe': expected yes or no" "http = 127.0.0.1:0" "http_insecure = maybe"
sign_until "$C" ok.pem "+40 days"
cp "$C/expired.pem" "$C/other.key" "$C/ok.pem" "$WORK/line/keys/"
bad_key 1 "$JOB:8: --http-cert $WORK/line/keys/expired.pem expired on 2025-02-01 00:00 UTC" \
    "http = 127.0.0.1:0" "http_cert = keys/expired.pem" "http_key = keys/srv.key"
bad_key 1 "$JOB:9: --http-key $WORK/line/keys/other.key is not the key of the certificate" \
    "http = 127.0.0.1:0" "http_cert = keys/ok.pem" "http_key = keys/other.key"
bad_key 1 "$JOB:10: http_insecure = yes and http_cert (line 8) together" \
    "http = 127.0.0.1:0" "http_cert = keys/srv.key" "http_key = keys/srv.key" "http_insecure = yes"
bad_key 1 "$JOB:8: 'http' is given twice (first on line 7)" "http = 127.0.0.1:0" "http = 127.0.0.1:1"
bad_key 2 "prod run: http_token ($JOB:7) without --http [HOST:]PORT" "http_token = station-7f3a9c21"
bad_key 1 "the web page (http at $JOB:7): --http 0.0.0.0:0 is reachable from other machines: give --http-token" \
    "http = 0.0.0.0:0"
bad_key 2 "prod run: http_cert ($JOB:8) without --http-key" "http = 127.0.0.1:0" "http_cert = keys/srv.key"
# Flags override the file: the file's certificate is fine, the flag's expired.
FLAGS=(--http-cert "$C/expired.pem")
bad_key 1 "--http-cert $C/expired.pem expired on 2025-02-01" \
    "http = 127.0.0.1:0" "http_cert = keys/ok.pem" "http_key = keys/srv.key"
# ... and a flag supplies what the file lacks.
FLAGS=(--plan --http-key "$WORK/line/keys/srv.key")
{
    printf '[job]\nimage = fw.hex\ndevice = STM32F401RE\nprobe = sim-feed:%s\ndb = %s\n' "$FEED" "$DB"
    printf 'http = 127.0.0.1:0\nhttp_cert = keys/ok.pem\n'
} >"$JOB"
run_oflash out rc prod run "$JOB" --serial-at 0x1FFF7800 "${FLAGS[@]}"
[ "$rc" = 0 ] && ! grep -q "warning" <<<"$out" && pass "http_cert from the file, --http-key from the flags: --plan ok" ||
    fail "file + flag: rc=$rc $out"
run_oflash out rc prod run "$JOB" --serial-at 0x1FFF7800 --plan --http 127.0.0.1:0 --http-cert "$C/soon.pem" \
    --http-key "$C/srv.key"
[ "$rc" = 0 ] && grep -q "certificate $C/soon.pem expires on" <<<"$out" &&
    pass "--http-cert overrides http_cert (the flag's certificate is the one checked)" ||
    fail "override: rc=$rc $out"
finish
