/*
 * oflash/web.h - the production station's read-only web page.
 *
 * An embedded HTTP server (libmicrohttpd, loaded on first use) that serves
 * one page (HTML, CSS and JS compiled into the library) and a JSON API
 * under /api/ that the page itself uses (docs/web.md):
 *
 *   /api/status        live state of the station(s), the ledger's counts and,
 *                      with HTTPS, the certificate's expiry ("tls")
 *   /api/events        the same, pushed as Server-Sent Events on change
 *   /api/units         records; ?serial=TEXT ?uid=HEX (substring), ?limit=N
 *   /api/failures      failed and void units grouped by reason
 *   /api/export.csv    the export `oflash prod export` writes (also .json)
 *
 * Security: it listens on loopback unless told otherwise; any other address
 * needs a token and HTTPS (a certificate and its key, served with
 * libmicrohttpd's own TLS: GnuTLS), or an explicit allow_plain_http; with a
 * token every request (assets included) must carry it as
 * "Authorization: Bearer TOKEN", as the cookie the page sets, or, on a
 * browser's first visit, as ?token=TOKEN.  Anything else gets 401.  The
 * server has no control actions, reads no file but the certificate and key
 * at start, answers only GET and HEAD, and refuses dot segments, encoded or not, and oversized requests.
 * Each connection has its own thread (a stalled client stalls nothing
 * else), with a connection limit and an idle timeout.
 */
#ifndef OFLASH_WEB_H
#define OFLASH_WEB_H

#include "oflash/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

OFLASH_BEGIN_DECLS

struct oflash_station;
struct oflash_ledger;
struct oflash_serial_pool;

typedef struct oflash_web oflash_web;

typedef struct oflash_web_opts {
    unsigned version;        /* OFLASH_WEB_OPTS_VERSION */
    /* "[HOST:]PORT", "[IPv6]:PORT" or "PORT".  HOST defaults to 127.0.0.1;
     * PORT 0 picks a free port (see oflash_web_url). */
    const char *listen;
    /* Required when HOST is not a loopback address; when set, required on
     * every request whatever the address.  At least 8 characters. */
    const char *token;
    /* The station whose live state the page shows (oflash prod run), or
     * NULL.  Must outlive the server. */
    struct oflash_station *station;
    /* The ledger the page reads history from (and, without a station, the
     * live state every station publishes there: oflash prod serve), or
     * NULL.  The server opens its own connection. */
    const char *db_url;
    /* The pool whose counters (serials left, next serial) the page shows,
     * or NULL.  Must outlive the server. */
    const struct oflash_serial_pool *pool;
    unsigned max_connections; /* 0 = 64 */
    unsigned idle_timeout_s;  /* 0 = 30: an idle connection is closed after this */

    /* Version 2: HTTPS.  tls_cert is a PEM file holding the server's
     * certificate (then any intermediate CA certificates), tls_key a PEM
     * file holding its private key, not protected by a password.  Both or
     * neither.  Refused before anything listens: a missing, unreadable or
     * non-PEM file, a key that is not the certificate's, a certificate
     * that has expired or is not valid yet (by this machine's clock). */
    const char *tls_cert;
    const char *tls_key;
    /* A non-loopback address without tls_cert is refused (the token and
     * the ledger's data would cross the network in clear text) unless
     * this is set. */
    bool allow_plain_http;

    /* Version 3: the certificate's watch.  A station runs for weeks, and
     * the certificate served is the one read at start: with HTTPS the
     * server checks every cert_check_s seconds (0 = 3600, hourly) how long
     * it has left.  When that falls within 30 days, and again when it has
     * expired, it logs a warning (oflash_log, OFLASH_LOG_WARN: the file,
     * the date, what to do) and /api/status says so under "tls" (the page
     * shows it).  The state at start is not logged (oflash_web_check's
     * cert_not_after is there for the caller's own warning). */
    unsigned cert_check_s;
} oflash_web_opts;
#define OFLASH_WEB_OPTS_VERSION 3
#define OFLASH_WEB_OPTS_INIT                                                                       \
    {                                                                                              \
        .version = OFLASH_WEB_OPTS_VERSION                                                         \
    }

/* What oflash_web_check found. */
typedef struct oflash_web_check_info {
    bool loopback;              /* the address is a loopback one */
    bool tls;                   /* HTTPS (tls_cert and tls_key given) */
    /* With tls only: */
    int64_t cert_not_before;    /* validity, Unix time (UTC) */
    int64_t cert_not_after;
    char cert_names[256];       /* the names and addresses it is made for
                                 * ("station-7.lan, 10.1.2.7"): its subject
                                 * alternative names, else its common name */
    char cert_issuer[256];      /* who signed it (distinguished name) */
    bool cert_host_mismatch;    /* the HOST of listen is a name or address the
                                 * certificate is not made for (browsers warn) */
    bool key_readable_by_others; /* the key file's mode lets other users read it */
} oflash_web_check_info;

/* Check the options without binding anything: the listen address, the
 * token, the certificate and key (read and verified as described above),
 * the policy (non-loopback: token, and TLS or allow_plain_http).  info may
 * be NULL.  oflash_web_start runs the same checks. */
int oflash_web_check(oflash_web_check_info *info, const oflash_web_opts *opts);

/* Check the options (oflash_web_check), bind and start serving.  Accepts
 * version 1 options (no TLS fields: plain HTTP, as before) and version 2
 * (no cert_check_s: hourly). */
int oflash_web_start(oflash_web **out, const oflash_web_opts *opts);
/* "http://127.0.0.1:8080/" or "https://...": the address actually bound. */
const char *oflash_web_url(const oflash_web *w);
/* The station's state changed: cheap and lock-free, safe from any thread
 * (call it from oflash_station_opts.changed).  Pushes are coalesced. */
void oflash_web_notify(oflash_web *w);
/* Stop serving: open event streams end, the port is released. */
void oflash_web_stop(oflash_web *w);

/* Publishing a station's live state into its ledger, for the page of
 * `oflash prod serve` (every station writing to one database shows there):
 * a thread that puts the snapshot (oflash_web_station_json) through its
 * own ledger connection -- a heartbeat every period_ms (0 = 1000), and a
 * change (oflash_web_publish_notify) within 250 ms, so at most 4 puts a
 * second.  Every wait of that connection is bounded (about 2 s) and its
 * commits are not flushed to disk.  A failing put is logged (warning) and
 * retried; it never stops or slows the station's ports. */
typedef struct oflash_web_publisher oflash_web_publisher;
int oflash_web_publish_start(oflash_web_publisher **out, struct oflash_station *st,
                             const char *db_url, unsigned period_ms);
/* The station's state changed: one atomic increment, no lock, safe from
 * any thread (call it from oflash_station_opts.changed).  NULL is fine. */
void oflash_web_publish_notify(oflash_web_publisher *p);
/* Publishes the final state once more (running false: "stopped" on the
 * page), then stops the thread.  Waits at most 4 s: a thread still inside
 * the database then is left behind (warning) and never reads the station
 * again, so the station may be freed right after. */
void oflash_web_publish_stop(oflash_web_publisher *p);

/* The station's snapshot as the JSON object /api/status lists under
 * "stations" (and `prod serve` reads back from the ledger).  *out is
 * malloc'ed, NUL-terminated; free() it. */
int oflash_web_station_json(char **out, size_t *len, struct oflash_station *st);

OFLASH_END_DECLS

#endif
