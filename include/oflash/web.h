/*
 * oflash/web.h - the production station's read-only web page.
 *
 * An embedded HTTP server (libmicrohttpd, loaded on first use) that serves
 * one page (HTML, CSS and JS compiled into the library) and the JSON API
 * under /api/ that the page itself uses (docs/web.md).
 *
 * Security: it listens on loopback unless told otherwise; any other address
 * needs a token, and then every request (assets included) must carry it as
 * "Authorization: Bearer TOKEN", as the cookie the page sets, or, on a
 * browser's first visit, as ?token=TOKEN.  Anything else gets 401.  The
 * server has no control actions, touches no file, answers only GET and
 * HEAD, and refuses dot segments, encoded or not, and oversized requests.
 * Each connection has its own thread (a stalled client stalls nothing
 * else), with a connection limit and an idle timeout.
 */
#ifndef OFLASH_WEB_H
#define OFLASH_WEB_H

#include "oflash/common.h"

#include <stdbool.h>
#include <stddef.h>

OFLASH_BEGIN_DECLS

typedef struct oflash_web oflash_web;

typedef struct oflash_web_opts {
    unsigned version;        /* OFLASH_WEB_OPTS_VERSION */
    /* "[HOST:]PORT", "[IPv6]:PORT" or "PORT".  HOST defaults to 127.0.0.1;
     * PORT 0 picks a free port (see oflash_web_url). */
    const char *listen;
    /* Required when HOST is not a loopback address; when set, required on
     * every request whatever the address.  At least 8 characters. */
    const char *token;
    unsigned max_connections; /* 0 = 64 */
    unsigned idle_timeout_s;  /* 0 = 30: an idle connection is closed after this */
} oflash_web_opts;
#define OFLASH_WEB_OPTS_VERSION 1
#define OFLASH_WEB_OPTS_INIT                                                                       \
    {                                                                                              \
        .version = OFLASH_WEB_OPTS_VERSION                                                         \
    }

/* Check the options (a non-loopback address without a token is refused),
 * bind and start serving. */
int oflash_web_start(oflash_web **out, const oflash_web_opts *opts);
/* "http://127.0.0.1:8080/": the address actually bound. */
const char *oflash_web_url(const oflash_web *w);
/* The station's state changed: cheap and lock-free, safe from any thread
 * (call it from oflash_station_opts.changed).  Pushes are coalesced. */
void oflash_web_notify(oflash_web *w);
/* Stop serving: open event streams end, the port is released. */
void oflash_web_stop(oflash_web *w);

OFLASH_END_DECLS

#endif
