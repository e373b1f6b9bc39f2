/*
 * web_internal.h - what the web server's files share (src/web/).
 *
 *   web.c        the HTTP side: listen address, token, path checks, limits,
 *                routing, assets (libmicrohttpd)
 *   web_data.c   the /api/ answers and the event stream: station snapshot,
 *                ledger counts, units, failures, export (prod.h)
 *   publish.c    a station's live state put into its ledger every second
 *   buf.c        growable buffer and JSON writer
 *   tls.c        HTTPS: the certificate and key read and checked (GnuTLS)
 *   mhd_lazy.c   libmicrohttpd loaded on first use
 *   gnutls_lazy.c  GnuTLS loaded on first use (tls.c's checks)
 *   web_assets.c generated at build time by cmake/embed-assets.cmake from
 *                src/web/assets/
 */
#ifndef OFLASH_WEB_INTERNAL_H
#define OFLASH_WEB_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "oflash/prod.h"
#include "oflash/web.h"
#include "web/buf.h"

typedef struct oflash__web_asset {
    const char *path; /* "/app.js" */
    const char *type; /* Content-Type */
    const char *etag; /* "\"<16 hex of the SHA-256>\"" */
    const unsigned char *data;
    size_t len;
} oflash__web_asset;

extern const oflash__web_asset oflash__web_assets[];
extern const size_t oflash__web_asset_count;

/* The certificate and key as PEM text, NUL-terminated (tls.c). */
typedef struct oflash__web_tls {
    char *cert;
    size_t cert_len;
    char *key; /* wiped when freed */
    size_t key_len;
} oflash__web_tls;

/* Read and check cert_path and key_path (tls.c's header comment); fills
 * info's cert_* and key_* fields when info is not NULL.  host: the name or
 * address the page is served on (for cert_host_mismatch), or NULL. */
int oflash__web_tls_load(oflash__web_tls *out, oflash_web_check_info *info, const char *cert_path,
                         const char *key_path, const char *host);
void oflash__web_tls_free(oflash__web_tls *t);
const char *oflash__web_gnutls_error(void);

/* The served certificate's state (oflash_web_opts.cert_check_s). */
enum { OFLASH__CERT_OK = 0, OFLASH__CERT_EXPIRING = 1, OFLASH__CERT_EXPIRED = 2 };
#define OFLASH__CERT_WARN_DAYS 30

struct oflash_web {
    struct MHD_Daemon *daemon;
    char url[96];
    oflash__web_tls tls; /* cert == NULL: plain HTTP */
    /* With tls: the certificate's file (for the log), its end of validity,
     * the state and whole days left at the last check, and the thread that
     * checks every cert_check_s seconds. */
    char *cert_path;
    int64_t cert_not_after;
    unsigned cert_check_s;
    atomic_int cert_state;
    atomic_llong cert_days_left;
    pthread_t cert_watch;
    bool cert_watching;
    char *token;   /* NULL: no token asked */
    char *db_url;  /* NULL: no ledger */
    oflash_station *station;
    const oflash_serial_pool *pool;
    atomic_ulong gen;     /* bumped by oflash_web_notify */
    atomic_bool stopping; /* oflash_web_stop has begun */
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond; /* broadcast at stop */

    /* Under lock: the ledger connection (opened on first use, reopened
     * after an error) and the /api/status answer, rebuilt at most every
     * 250 ms and only when something may have changed. */
    pthread_mutex_t lock;
    oflash_ledger *ledger;
    bool pool_used;
    wbuf status;
    unsigned long status_gen;
    int64_t status_ms; /* 0: never built */
};

const char *oflash__web_mhd_error(void);
void oflash__web_free(oflash_web *w);
void oflash__web_wait(oflash_web *w, unsigned ms);
/* path is what follows "/api/". */
enum MHD_Result oflash__web_api(oflash_web *w, struct MHD_Connection *c, const char *path);
enum MHD_Result oflash__web_send_text(struct MHD_Connection *c, unsigned status, const char *fmt,
                                      ...) __attribute__((format(printf, 3, 4)));
/* Queues b's bytes (taken over; b is emptied). */
enum MHD_Result oflash__web_send_buf(struct MHD_Connection *c, unsigned status, const char *type,
                                     wbuf *b, const char *extra_name, const char *extra_value);
int64_t oflash__web_now_ms(void);
/* t (Unix time) as "2026-12-30 14:00 UTC". */
void oflash__web_fmt_utc(char *out, size_t sz, int64_t t);
/* The JSON of one station's snapshot (web_data.c). */
void oflash__web_station_json(wbuf *b, const oflash_station_status *s);

#endif
