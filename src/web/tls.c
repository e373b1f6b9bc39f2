/*
 * tls.c - the web page's certificate and key: read, checked and handed to
 * libmicrohttpd's own TLS (GnuTLS) as PEM text.
 *
 * Every check runs before anything listens (and, in `oflash prod run`,
 * before the station opens a port), each with a message that names the
 * file and says what to do:
 *   1. each file is a readable regular file of at most 1 MiB holding PEM
 *      text: the certificate file a "CERTIFICATE" block, the key file a
 *      "PRIVATE KEY" block that is not protected by a password (the
 *      station has nobody to ask) -- swapped files are named as such;
 *   2. GnuTLS reads the certificate (the first block: the server's own;
 *      intermediate CA certificates may follow it);
 *   3. GnuTLS loads certificate and key together, the way libmicrohttpd
 *      will: a key that is not the certificate's is refused;
 *   4. validity: a certificate that has expired, or is not valid yet by
 *      this machine's clock, is refused (every browser refuses it too;
 *      a station that starts "fine" with a page nobody can open helps
 *      no one).
 * Warnings (for the caller to show): the HOST the page is served on is
 * not among the certificate's names; the key file is readable by other
 * users of this machine.
 */
#include "oflash/error.h"
#include "web/web_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define PEM_MAX (1024 * 1024)

/* Overwrite a secret before it is freed (the compiler may not drop it). */
static void wipe(char *p, size_t n)
{
    volatile char *v = p;
    while (n--)
        *v++ = 0;
}

void oflash__web_tls_free(oflash__web_tls *t)
{
    if (!t)
        return;
    free(t->cert);
    if (t->key) {
        wipe(t->key, t->key_len);
        free(t->key);
    }
    t->cert = t->key = NULL;
    t->cert_len = t->key_len = 0;
}

/* Read path (what = "certificate" / "key") into a NUL-terminated buffer. */
static int read_pem(char **out, size_t *len, bool *others_read, const char *what,
                    const char *opt, const char *path)
{
    struct stat st;
    FILE *f;
    char *buf;
    size_t n;

    *out = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (!f)
        return oflash_error_set(errno == ENOENT ? OFLASH_ENOTFOUND : OFLASH_EIO,
                                "%s %s: cannot read the %s file: %s", opt, path, what,
                                strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return oflash_error_set(OFLASH_EINVAL, "%s %s: not a file (the %s is a PEM file)", opt,
                                path, what);
    }
    if (st.st_size > PEM_MAX) {
        fclose(f);
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s %s: %lld bytes is too large for a PEM %s file (at most 1 MiB)",
                                opt, path, (long long)st.st_size, what);
    }
    if (others_read)
        *others_read = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    n = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        wipe(buf, (size_t)st.st_size);
        free(buf);
        return oflash_error_set(OFLASH_EIO, "%s %s: cannot read the %s file: %s", opt, path, what,
                                strerror(e));
    }
    fclose(f);
    buf[n] = '\0';
    if (n == 0 || memchr(buf, '\0', n)) {
        bool empty = n == 0;
        wipe(buf, n);
        free(buf);
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s %s: %s, not a PEM %s (text that starts with -----BEGIN ...; "
                                "a DER file converts with openssl x509 -inform der -in FILE)",
                                opt, path, empty ? "the file is empty" : "a binary file", what);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* The first "-----BEGIN X-----" label of text, into label ("" if none). */
static void first_label(char *label, size_t sz, const char *text)
{
    const char *b = strstr(text, "-----BEGIN ");
    const char *e;
    size_t n;
    label[0] = '\0';
    if (!b)
        return;
    b += 11;
    e = strstr(b, "-----");
    if (!e)
        return;
    n = (size_t)(e - b);
    if (n >= sz)
        n = sz - 1;
    memcpy(label, b, n);
    label[n] = '\0';
}

static bool has_key_block(const char *t)
{
    return strstr(t, "PRIVATE KEY-----") != NULL;
}

static bool has_cert_block(const char *t)
{
    return strstr(t, "-----BEGIN CERTIFICATE-----") != NULL ||
           strstr(t, "-----BEGIN X509 CERTIFICATE-----") != NULL;
}

static void fmt_time(char *out, size_t sz, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, sz, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(out, sz, "@%lld", (long long)t);
}

static void append_name(char *names, size_t sz, const char *name)
{
    size_t n = strlen(names), m = strlen(name);
    if (n + 2 + m >= sz)
        return;
    if (n) {
        memcpy(names + n, ", ", 2);
        n += 2;
    }
    memcpy(names + n, name, m + 1);
}

/* The certificate's names: DNS and IP subject alternative names, else the
 * common name. */
static void cert_names(char *names, size_t sz, gnutls_x509_crt_t crt)
{
    unsigned seq;
    names[0] = '\0';
    for (seq = 0; seq < 64; seq++) {
        unsigned char san[256];
        size_t n = sizeof san - 1;
        unsigned crit = 0;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, san, &n, &crit);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (type == GNUTLS_SAN_DNSNAME) {
            san[n < sizeof san ? n : sizeof san - 1] = '\0';
            append_name(names, sz, (const char *)san);
        } else if (type == GNUTLS_SAN_IPADDRESS && (n == 4 || n == 16)) {
            char ip[INET6_ADDRSTRLEN];
            if (inet_ntop(n == 4 ? AF_INET : AF_INET6, san, ip, sizeof ip))
                append_name(names, sz, ip);
        }
    }
    if (!names[0]) {
        size_t n = sz;
        if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, names, &n) < 0)
            names[0] = '\0';
    }
}

int oflash__web_tls_load(oflash__web_tls *out, oflash_web_check_info *info, const char *cert_path,
                         const char *key_path, const char *host)
{
    oflash__web_tls t = {0};
    gnutls_x509_crt_t crt = NULL;
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_datum_t cd, kd;
    char label[64], when[40], now_s[40];
    int64_t now = (int64_t)time(NULL);
    bool others = false;
    int rc, g;

    memset(out, 0, sizeof *out);
    rc = read_pem(&t.cert, &t.cert_len, NULL, "certificate", "--http-cert", cert_path);
    if (rc)
        return rc;
    if (!has_cert_block(t.cert)) {
        first_label(label, sizeof label, t.cert);
        if (has_key_block(t.cert))
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "--http-cert %s holds a private key, not a certificate: are "
                                  "--http-cert and --http-key swapped?",
                                  cert_path);
        else if (label[0])
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "--http-cert %s holds a %s, not a certificate "
                                  "(-----BEGIN CERTIFICATE-----)",
                                  cert_path, label);
        else
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "--http-cert %s is not a PEM certificate (text that starts with "
                                  "-----BEGIN CERTIFICATE-----; a DER file converts with openssl "
                                  "x509 -inform der -in FILE -out FILE.pem)",
                                  cert_path);
        goto fail;
    }
    rc = read_pem(&t.key, &t.key_len, &others, "key", "--http-key", key_path);
    if (rc)
        goto fail;
    if (!has_key_block(t.key)) {
        first_label(label, sizeof label, t.key);
        if (has_cert_block(t.key))
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "--http-key %s holds a certificate, not a private key: are "
                                  "--http-cert and --http-key swapped?",
                                  key_path);
        else
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "--http-key %s is not a PEM private key (text that starts with "
                                  "-----BEGIN PRIVATE KEY-----)%s%s",
                                  key_path, label[0] ? "; it holds a " : "", label);
        goto fail;
    }
    if (strstr(t.key, "ENCRYPTED PRIVATE KEY-----") || strstr(t.key, "Proc-Type: 4,ENCRYPTED")) {
        rc = oflash_error_set(OFLASH_EINVAL,
                              "--http-key %s is protected by a password, and the station has "
                              "nobody to ask for it: write the key without one (openssl pkey -in "
                              "%s -out station-key.pem) and keep that file readable by this user "
                              "only",
                              key_path, key_path);
        goto fail;
    }

    g = gnutls_x509_crt_init(&crt);
    if (g < 0) {
        const char *why = oflash__web_gnutls_error();
        rc = oflash_error_set(OFLASH_EUNSUPPORTED, "HTTPS needs GnuTLS: %s",
                              *why ? why : gnutls_strerror(g));
        goto fail;
    }
    cd.data = (unsigned char *)t.cert;
    cd.size = (unsigned)t.cert_len;
    kd.data = (unsigned char *)t.key;
    kd.size = (unsigned)t.key_len;
    g = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM);
    if (g < 0) {
        rc = oflash_error_set(OFLASH_EFORMAT, "--http-cert %s: the certificate cannot be read: %s",
                              cert_path, gnutls_strerror(g));
        goto fail;
    }
    /* Certificate and key together, as libmicrohttpd will load them. */
    g = gnutls_certificate_allocate_credentials(&cred);
    if (g >= 0)
        g = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
        rc = oflash_error_set(OFLASH_EMISMATCH,
                              "--http-key %s is not the key of the certificate in %s (a "
                              "certificate works only with the private key it was made for): give "
                              "the key file made together with that certificate",
                              key_path, cert_path);
        goto fail;
    }
    if (g < 0) {
        rc = oflash_error_set(OFLASH_EFORMAT, "--http-cert %s with --http-key %s: cannot be used: %s",
                              cert_path, key_path, gnutls_strerror(g));
        goto fail;
    }
    if (info) {
        size_t n = sizeof info->cert_issuer;
        info->cert_not_before = (int64_t)gnutls_x509_crt_get_activation_time(crt);
        info->cert_not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
        cert_names(info->cert_names, sizeof info->cert_names, crt);
        if (gnutls_x509_crt_get_issuer_dn(crt, info->cert_issuer, &n) < 0)
            info->cert_issuer[0] = '\0';
        info->key_readable_by_others = others;
        info->cert_host_mismatch = host && !gnutls_x509_crt_check_hostname(crt, host);
    }
    {
        int64_t nb = (int64_t)gnutls_x509_crt_get_activation_time(crt);
        int64_t na = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
        fmt_time(now_s, sizeof now_s, now);
        if (na != -1 && na < now) {
            fmt_time(when, sizeof when, na);
            rc = oflash_error_set(OFLASH_EINVAL,
                                  "--http-cert %s expired on %s (this machine's clock says %s): "
                                  "browsers refuse it; make a new certificate (docs/web.md)",
                                  cert_path, when, now_s);
            goto fail;
        }
        if (nb != -1 && nb > now) {
            fmt_time(when, sizeof when, nb);
            rc = oflash_error_set(OFLASH_EINVAL,
                                  "--http-cert %s is valid only from %s, and this machine's clock "
                                  "says %s: check the clock, or make a new certificate "
                                  "(docs/web.md)",
                                  cert_path, when, now_s);
            goto fail;
        }
    }
    gnutls_certificate_free_credentials(cred);
    gnutls_x509_crt_deinit(crt);
    *out = t;
    return 0;

fail:
    if (cred)
        gnutls_certificate_free_credentials(cred);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    oflash__web_tls_free(&t);
    return rc;
}
