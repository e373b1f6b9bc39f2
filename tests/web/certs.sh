# certs.sh - throwaway certificates for the HTTPS tests (source it; bash).
# make_certs DIR: with openssl, a test CA and what the tests serve or refuse:
#   DIR/ca.pem, ca.key        the CA ("oflash test CA"), 60 days
#   DIR/srv.pem, srv.key      server certificate for 127.0.0.1, 198.18.0.1 and
#                             localhost, signed by the CA, 40 days
#   DIR/other.key             a key of no certificate here
#   DIR/expired.pem           srv.key's certificate, valid 2025-01-01..2025-02-01
#   DIR/future.pem            srv.key's certificate, valid from 2030-01-01
#   DIR/soon.pem              srv.key's certificate, expires within 2 days
#   DIR/other-host.pem        srv.key's certificate for station-9.lan only
#   DIR/enc.key               srv.key under a password
#   DIR/srv.der               srv.pem as DER
# sign_until DIR NAME END: DIR/NAME, srv.key's certificate for 127.0.0.1,
#   valid from an hour ago until END (anything `date -d` reads: "+8
#   seconds", "+30 days 8 seconds"); after make_certs DIR.
make_certs() {
    local d=$1 ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc)
    mkdir -p "$d/ca"
    (
        cd "$d"
        openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 60 \
            -subj "/CN=oflash test CA" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req "${ec[@]}" -keyout srv.key -out srv.csr -subj "/CN=oflash test station"
        openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out other.key
        openssl pkey -in srv.key -aes256 -passout pass:secret -out enc.key
        : >ca/index.txt
        openssl rand -hex 8 >ca/serial
        cat >ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
database = ca/index.txt
new_certs_dir = ca
serial = ca/serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[srv]
subjectAltName = IP:127.0.0.1, IP:198.18.0.1, DNS:localhost
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
[other]
subjectAltName = DNS:station-9.lan
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
CNF
        sign() { # sign OUT EXT START END
            openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -in srv.csr \
                -out "$1" -extensions "$2" -startdate "$3" -enddate "$4"
        }
        local now day2 day1
        now=$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)
        day2=$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)
        day1=$(date -u -d '+1 day' +%Y%m%d%H%M%SZ)
        sign srv.pem srv "$now" "$(date -u -d '+40 days' +%Y%m%d%H%M%SZ)"
        sign expired.pem srv 20250101000000Z 20250201000000Z
        sign future.pem srv 20300101000000Z 20300201000000Z
        sign soon.pem srv "$now" "$day1"
        sign other-host.pem other "$now" "$day2"
        openssl x509 -in srv.pem -outform der -out srv.der
        chmod 600 srv.key other.key enc.key
    ) >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; return 1; }
}

sign_until() {
    local d=$1 name=$2 end
    end=$(date -u -d "$3" +%Y%m%d%H%M%SZ)
    (
        cd "$d"
        openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -in srv.csr \
            -out "$name" -extensions srv -startdate "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)" \
            -enddate "$end"
    ) >>"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; return 1; }
}
