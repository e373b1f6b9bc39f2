/*
 * gnutls_lazy.c - the GnuTLS functions the web server's certificate checks
 * use (src/web/tls.c), loaded on first use (src/common/lazylib.h): the same
 * libgnutls.so.30 libmicrohttpd serves HTTPS with, so what the checks accept
 * is what the server will load.  Prototypes come from GnuTLS's headers.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/lazylib.h"
#include "web/web_internal.h"

static oflash_lazylib gnutls = OFLASH_LAZYLIB_INIT("libgnutls.so.30", "libgnutls30");

const char *oflash__web_gnutls_error(void)
{
    return oflash__lazylib_error(&gnutls);
}

/* The error code when GnuTLS cannot be loaded (not a GnuTLS code). */
#define NOLIB GNUTLS_E_INTERNAL_ERROR

OFLASH_LAZY_FN(gnutls, int, NOLIB, gnutls_x509_crt_init, (gnutls_x509_crt_t * cert), (cert))
OFLASH_LAZY_VOID(gnutls, gnutls_x509_crt_deinit, (gnutls_x509_crt_t cert), (cert))
OFLASH_LAZY_FN(gnutls, int, NOLIB, gnutls_x509_crt_import,
               (gnutls_x509_crt_t cert, const gnutls_datum_t *data, gnutls_x509_crt_fmt_t format),
               (cert, data, format))
OFLASH_LAZY_FN(gnutls, time_t, (time_t)-1, gnutls_x509_crt_get_activation_time,
               (gnutls_x509_crt_t cert), (cert))
OFLASH_LAZY_FN(gnutls, time_t, (time_t)-1, gnutls_x509_crt_get_expiration_time,
               (gnutls_x509_crt_t cert), (cert))
OFLASH_LAZY_FN(gnutls, int, NOLIB, gnutls_x509_crt_get_subject_alt_name,
               (gnutls_x509_crt_t cert, unsigned int seq, void *san, size_t *san_size,
                unsigned int *critical),
               (cert, seq, san, san_size, critical))
OFLASH_LAZY_FN(gnutls, int, NOLIB, gnutls_x509_crt_get_dn_by_oid,
               (gnutls_x509_crt_t cert, const char *oid, unsigned indx, unsigned int raw_flag,
                void *buf, size_t *buf_size),
               (cert, oid, indx, raw_flag, buf, buf_size))
OFLASH_LAZY_FN(gnutls, int, NOLIB, gnutls_x509_crt_get_issuer_dn,
               (gnutls_x509_crt_t cert, char *buf, size_t *buf_size), (cert, buf, buf_size))
OFLASH_LAZY_FN(gnutls, unsigned, 0, gnutls_x509_crt_check_hostname,
               (gnutls_x509_crt_t cert, const char *hostname), (cert, hostname))
OFLASH_LAZY_FN(gnutls, int, NOLIB, gnutls_certificate_allocate_credentials,
               (gnutls_certificate_credentials_t * res), (res))
OFLASH_LAZY_VOID(gnutls, gnutls_certificate_free_credentials,
                 (gnutls_certificate_credentials_t sc), (sc))
OFLASH_LAZY_FN(gnutls, int, NOLIB, gnutls_certificate_set_x509_key_mem2,
               (gnutls_certificate_credentials_t res, const gnutls_datum_t *cert,
                const gnutls_datum_t *key, gnutls_x509_crt_fmt_t type, const char *pass,
                unsigned int flags),
               (res, cert, key, type, pass, flags))
OFLASH_LAZY_FN(gnutls, const char *, "GnuTLS could not be loaded", gnutls_strerror, (int error),
               (error))
