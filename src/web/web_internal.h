/*
 * web_internal.h - what the web server's files share (src/web/).
 *
 *   web.c        the HTTP side: listen address, token, path checks, limits,
 *                routing, assets (libmicrohttpd)
 *   buf.c        growable buffer and JSON writer
 *   mhd_lazy.c   libmicrohttpd loaded on first use
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

struct oflash_web {
    struct MHD_Daemon *daemon;
    char url[96];
    char *token;   /* NULL: no token asked */
    atomic_ulong gen;     /* bumped by oflash_web_notify */
    atomic_bool stopping; /* oflash_web_stop has begun */
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond; /* broadcast at stop */
};

const char *oflash__web_mhd_error(void);
void oflash__web_wait(oflash_web *w, unsigned ms);
enum MHD_Result oflash__web_send_text(struct MHD_Connection *c, unsigned status, const char *fmt,
                                      ...) __attribute__((format(printf, 3, 4)));
/* Queues b's bytes (taken over; b is emptied). */
enum MHD_Result oflash__web_send_buf(struct MHD_Connection *c, unsigned status, const char *type,
                                     wbuf *b, const char *extra_name, const char *extra_value);
int64_t oflash__web_now_ms(void);

#endif
