/*
 * web_data.c - the answers of the web page's JSON API (docs/web.md) and
 * its event stream, from the station's snapshot and the ledger.
 *
 * The ledger connection is the server's own (never the station's): one
 * handle, used by one request at a time (w->lock), opened on first use and
 * reopened after an error, so a database restart costs one failed answer.
 * /api/status is built at most every 250 ms whatever the number of pages
 * open, and only when the station said something changed (or once a second
 * without a station: prod serve), so an open page costs the station one
 * snapshot and one count query a second at most.
 */
#include "oflash/error.h"
#include "oflash/prod.h"
#include "oflash/web.h"
#include "web/web_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define STATUS_MIN_MS 250    /* rebuild /api/status at most this often */
#define STATUS_MAX_MS 1000   /* and at least this often while asked */
#define SSE_KEEPALIVE_MS 15000
#define LIVE_STALE_S 5.0     /* prod serve: a station silent this long is shown offline */
#define UNITS_DEFAULT 100
#define UNITS_MAX 1000
#define QUERY_TEXT_MAX 64
#define FAILURE_REASONS_MAX 100

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

void oflash__web_free(oflash_web *w)
{
    if (!w)
        return;
    if (w->ledger)
        oflash_ledger_close(w->ledger);
    wbuf_free(&w->status);
    oflash__web_tls_free(&w->tls);
    free(w->cert_path);
    free(w->token);
    free(w->db_url);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->wait_lock);
    pthread_cond_destroy(&w->wait_cond);
    free(w);
}

/* ------------------------------------------------------------------ */
/* Station snapshot                                                    */
/* ------------------------------------------------------------------ */

void oflash__web_station_json(wbuf *b, const oflash_station_status *s)
{
    bool f = true, g;
    size_t i;
    wbuf_puts(b, "{");
    wjson_kstr(b, &f, "station", s->station);
    wjson_kbool(b, &f, "running", s->running);
    wjson_kstr(b, &f, "device", s->device);
    wjson_key(b, &f, "image");
    g = true;
    wbuf_puts(b, "{");
    wjson_kstr(b, &g, "name", s->image_name);
    wjson_kstr(b, &g, "sha256", s->image_sha256);
    wbuf_puts(b, "}");
    wjson_kstr(b, &f, "scheme", s->scheme);
    wjson_ku64(b, &f, "passed", s->passed);
    wjson_ku64(b, &f, "failed", s->failed);
    wjson_kdbl(b, &f, "units_per_hour", s->units_per_hour);
    wjson_kdbl(b, &f, "elapsed_s", s->elapsed_s);
    wjson_key(b, &f, "ports");
    wbuf_puts(b, "[");
    for (i = 0; i < s->nports && i < OFLASH_STATION_MAX_PORTS; i++) {
        const oflash_port_status *p = &s->ports[i];
        g = true;
        wbuf_puts(b, i ? ",{" : "{");
        wjson_ku64(b, &g, "port", i);
        wjson_kstr(b, &g, "probe", p->probe);
        wjson_kstr(b, &g, "state", oflash_port_state_name(p->state));
        wjson_ku64(b, &g, "percent", p->percent > 100 ? 100 : p->percent);
        wjson_kstr(b, &g, "uid", p->uid);
        wjson_kstr(b, &g, "serial", p->serial);
        wjson_kstr(b, &g, "last_serial", p->last_serial);
        wjson_kstr(b, &g, "last_error", p->last_error);
        wjson_ku64(b, &g, "passed", p->passed);
        wjson_ku64(b, &g, "failed", p->failed);
        wbuf_puts(b, "}");
    }
    wbuf_puts(b, "]}");
}

int oflash_web_station_json(char **out, size_t *len, oflash_station *st)
{
    oflash_station_status *s = malloc(sizeof *s);
    wbuf b = {0};
    *out = NULL;
    if (len)
        *len = 0;
    if (!s)
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    oflash_station_status_get(s, st);
    oflash__web_station_json(&b, s);
    free(s);
    if (b.oom) {
        wbuf_free(&b);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    *out = b.data;
    if (len)
        *len = b.len;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Ledger                                                              */
/* ------------------------------------------------------------------ */

/* Under w->lock: the ledger, opened if needed; NULL with *err set. */
static oflash_ledger *ledger_get(oflash_web *w, char *err, size_t errsz)
{
    int rc;
    err[0] = '\0';
    if (!w->db_url) {
        snprintf(err, errsz, "no ledger");
        return NULL;
    }
    if (!w->ledger) {
        /* prod serve (no pool of its own) only reads: a missing ledger
         * is said on the page (and looked for again next time), an older
         * schema is left for the next run to upgrade. */
        oflash_ledger_open_opts lo = OFLASH_LEDGER_OPEN_OPTS_INIT;
        lo.read_only = !w->pool;
        rc = oflash_ledger_open_ext(&w->ledger, w->db_url, &lo);
        if (rc) {
            w->ledger = NULL;
            snprintf(err, errsz, "ledger: %s", oflash_error_last());
            return NULL;
        }
        w->pool_used = false;
    }
    if (w->pool && !w->pool_used) {
        rc = oflash_ledger_use_pool(w->ledger, w->pool);
        if (rc) {
            snprintf(err, errsz, "ledger: %s", oflash_error_last());
            return NULL;
        }
        w->pool_used = true;
    } else if (!w->pool && !w->pool_used) {
        /* prod serve: the pool the ledger keeps (its only one, or
         * "default"), so the counters spell the next serial as it will be
         * written; none yet or several: the counts of every pool (and a
         * look again next time). */
        if (oflash_ledger_use_stored_pool(w->ledger, NULL) == 0)
            w->pool_used = true;
    }
    return w->ledger;
}

/* Under w->lock: a query failed; drop the connection so that the next
 * request opens a new one (the database may have restarted). */
static void ledger_failed(oflash_web *w, char *err, size_t errsz)
{
    snprintf(err, errsz, "ledger: %s", oflash_error_last());
    if (w->ledger)
        oflash_ledger_close(w->ledger);
    w->ledger = NULL;
}

static void counts_json(wbuf *b, const oflash_ledger_counts *c)
{
    bool f = true;
    uint64_t done = c->pass + c->fail + c->voided;
    wbuf_puts(b, "{");
    wjson_ku64(b, &f, "pass", c->pass);
    wjson_ku64(b, &f, "fail", c->fail);
    wjson_ku64(b, &f, "void", c->voided);
    wjson_ku64(b, &f, "reserved", c->reserved);
    wjson_ku64(b, &f, "writing", c->writing);
    wjson_ku64(b, &f, "released", c->released);
    wjson_ku64(b, &f, "issued", c->issued);
    wjson_key(b, &f, "left");
    if (c->left == UINT64_MAX)
        wbuf_puts(b, "null");
    else
        wbuf_printf(b, "%" PRIu64, c->left);
    wjson_kstr(b, &f, "next_serial", c->next_serial);
    wjson_key(b, &f, "yield");
    if (done)
        wbuf_printf(b, "%.4f", (double)c->pass / (double)done);
    else
        wbuf_puts(b, "null");
    wbuf_puts(b, "}");
}

/* ------------------------------------------------------------------ */
/* /api/status                                                         */
/* ------------------------------------------------------------------ */

/* One serial pool of the ledger (oflash_ledger_pools), as `prod status
 * --db URL --json` shows it. */
struct pools_ctx {
    wbuf *b;
    size_t n;
};

static int pool_row(void *ctx, const oflash_ledger_pool_info *p)
{
    struct pools_ctx *pc = ctx;
    bool f = true;
    wbuf_puts(pc->b, pc->n++ ? ",{" : "{");
    wjson_kstr(pc->b, &f, "name", p->name);
    wjson_kstr(pc->b, &f, "scheme", p->scheme);
    wjson_kbool(pc->b, &f, "scheme_known", p->scheme_known);
    wjson_kbool(pc->b, &f, "in_use", p->in_use);
    wjson_ku64(pc->b, &f, "size", p->size);
    wjson_ku64(pc->b, &f, "issued", p->issued);
    wjson_key(pc->b, &f, "left");
    if (p->left == UINT64_MAX)
        wbuf_puts(pc->b, "null");
    else
        wbuf_printf(pc->b, "%" PRIu64, p->left);
    wjson_kstr(pc->b, &f, "next_serial", p->next_serial);
    wbuf_puts(pc->b, "}");
    return 0;
}

struct live_ctx {
    wbuf *b;
    int64_t now;
    size_t n;
};

/* prod serve: one station's published snapshot, with its age. */
static int live_row(void *ctx, const char *station, int64_t updated_us, const char *json)
{
    struct live_ctx *lc = ctx;
    size_t len = strlen(json);
    double age = (double)(lc->now - updated_us) / 1e6;
    bool f = true;
    /* Our own writer's output (oflash_web_station_json), checked before it
     * is put into the answer as it is. */
    if (len < 12 || strncmp(json, "{\"station\":", 11) != 0 || json[len - 1] != '}' ||
        !wutf8_valid(json, len)) {
        wbuf_puts(lc->b, lc->n++ ? ",{" : "{");
        wjson_kstr(lc->b, &f, "station", station);
        wjson_kstr(lc->b, &f, "error", "the live record of this station is unreadable");
        wbuf_puts(lc->b, "}");
        return 0;
    }
    wbuf_puts(lc->b, lc->n++ ? ",{" : "{");
    wjson_ki64(lc->b, &f, "updated_us", updated_us);
    wjson_kdbl(lc->b, &f, "age_s", age < 0 ? 0 : age);
    wjson_kbool(lc->b, &f, "online", age < LIVE_STALE_S);
    /* A station that ended its run says so in its last put ("running":
     * false); one that was killed, crashed or lost its database just stops
     * putting: its heartbeat goes stale. */
    wjson_kstr(lc->b, &f, "liveness",
               strstr(json, "\"running\":false") ? "stopped"
               : age < LIVE_STALE_S               ? "running"
                                                  : "lost");
    wbuf_puts(lc->b, ",");
    wbuf_add(lc->b, json + 1, len - 1);
    return 0;
}

/* Under w->lock. */
static void build_status(oflash_web *w, wbuf *b)
{
    char err[384];
    oflash_ledger *l;
    oflash_ledger_counts counts;
    bool f = true;
    int64_t t = now_us();

    wbuf_puts(b, "{");
    wjson_ku64(b, &f, "version", 1);
    wjson_kstr(b, &f, "mode", w->station ? "run" : "serve");
    wjson_ki64(b, &f, "time_us", t);
    wjson_key(b, &f, "stations");
    wbuf_puts(b, "[");
    l = ledger_get(w, err, sizeof err);
    if (w->station) {
        oflash_station_status *s = malloc(sizeof *s);
        if (!s) {
            b->oom = true;
            return;
        }
        oflash_station_status_get(s, w->station);
        wbuf_printf(b, "{\"updated_us\":%" PRId64 ",\"age_s\":0,\"online\":true,\"liveness\":\"%s\",",
                    t, s->running ? "running" : "stopped");
        {
            wbuf one = {0};
            oflash__web_station_json(&one, s);
            if (one.oom)
                b->oom = true;
            else
                wbuf_add(b, one.data + 1, one.len - 1);
            wbuf_free(&one);
        }
        free(s);
    } else if (l) {
        struct live_ctx lc = {b, t, 0};
        if (oflash_ledger_live_list(l, live_row, &lc) < 0)
            ledger_failed(w, err, sizeof err), l = NULL;
    }
    wbuf_puts(b, "]");
    wjson_key(b, &f, "counts");
    if (l && oflash_ledger_counts_get(&counts, l) == 0)
        counts_json(b, &counts);
    else {
        if (l)
            ledger_failed(w, err, sizeof err), l = NULL;
        wbuf_puts(b, "null");
    }
    wjson_key(b, &f, "pools");
    {
        /* Every pool the ledger keeps (several jobs with their own schemes
         * on one database): scheme in words, serials left, next serial. */
        struct pools_ctx pc = {b, 0};
        size_t mark = b->len;
        wbuf_puts(b, "[");
        if (l && oflash_ledger_pools(l, pool_row, &pc) < 0) {
            b->len = mark;
            ledger_failed(w, err, sizeof err), l = NULL;
            wbuf_puts(b, "null");
        } else if (!l) {
            b->len = mark;
            wbuf_puts(b, "null");
        } else {
            wbuf_puts(b, "]");
        }
    }
    wjson_key(b, &f, "ledger");
    {
        bool g = true;
        wbuf_puts(b, "{");
        wjson_kstr(b, &g, "backend", w->ledger ? oflash_ledger_backend(w->ledger) : "");
        wjson_kstr(b, &g, "error", w->db_url ? err : "");
        wbuf_puts(b, "}");
    }
    /* HTTPS: the certificate's end of validity as of the last check
     * (oflash_web_opts.cert_check_s); null over plain HTTP. */
    wjson_key(b, &f, "tls");
    if (w->tls.cert) {
        static const char *const states[] = {"ok", "expiring", "expired"};
        int st = atomic_load(&w->cert_state);
        char day[40];
        bool g = true;
        oflash__web_fmt_utc(day, sizeof day, w->cert_not_after);
        wbuf_puts(b, "{");
        wjson_kstr(b, &g, "cert_state", states[st >= 0 && st <= 2 ? st : 0]);
        wjson_ki64(b, &g, "cert_not_after", w->cert_not_after);
        wjson_kstr(b, &g, "cert_not_after_text", day);
        wjson_ki64(b, &g, "cert_days_left", (int64_t)atomic_load(&w->cert_days_left));
        wjson_ku64(b, &g, "cert_warn_days", OFLASH__CERT_WARN_DAYS);
        wbuf_puts(b, "}");
    } else {
        wbuf_puts(b, "null");
    }
    wbuf_puts(b, "}");
}

/* A copy of the current /api/status answer (malloc'ed), rebuilt if due. */
static char *status_copy(oflash_web *w, size_t *len)
{
    char *copy = NULL;
    int64_t t = oflash__web_now_ms();
    unsigned long gen = atomic_load_explicit(&w->gen, memory_order_relaxed);
    pthread_mutex_lock(&w->lock);
    if (!w->status_ms || t - w->status_ms >= STATUS_MAX_MS ||
        (gen != w->status_gen && t - w->status_ms >= STATUS_MIN_MS)) {
        w->status.len = 0;
        w->status.oom = false;
        build_status(w, &w->status);
        w->status_gen = gen;
        w->status_ms = t;
    }
    if (!w->status.oom && w->status.data) {
        copy = malloc(w->status.len + 1);
        if (copy) {
            memcpy(copy, w->status.data, w->status.len + 1);
            *len = w->status.len;
        }
    }
    if (w->status.oom)
        w->status_ms = 0;
    pthread_mutex_unlock(&w->lock);
    return copy;
}

/* ------------------------------------------------------------------ */
/* /api/events: Server-Sent Events                                     */
/* ------------------------------------------------------------------ */

typedef struct sse {
    oflash_web *w;
    wbuf out;      /* what is being sent */
    size_t pos;    /* bytes of out already sent */
    char *last;    /* the last status sent */
    int64_t last_write_ms;
} sse;

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    sse *s = cls;
    (void)pos;
    for (;;) {
        size_t len = 0, n;
        char *now;
        if (s->pos < s->out.len) {
            n = s->out.len - s->pos;
            if (n > max)
                n = max;
            memcpy(buf, s->out.data + s->pos, n);
            s->pos += n;
            s->last_write_ms = oflash__web_now_ms();
            return (ssize_t)n;
        }
        if (atomic_load(&s->w->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        s->out.len = 0;
        s->pos = 0;
        now = status_copy(s->w, &len);
        if (!now)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (!s->last || strcmp(now, s->last) != 0) {
            wbuf_puts(&s->out, "event: status\ndata: ");
            wbuf_add(&s->out, now, len);
            wbuf_puts(&s->out, "\n\n");
            free(s->last);
            s->last = now;
        } else {
            free(now);
            if (oflash__web_now_ms() - s->last_write_ms >= SSE_KEEPALIVE_MS)
                wbuf_puts(&s->out, ": keep-alive\n\n");
            else
                oflash__web_wait(s->w, STATUS_MIN_MS);
        }
        if (s->out.oom)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void sse_free(void *cls)
{
    sse *s = cls;
    wbuf_free(&s->out);
    free(s->last);
    free(s);
}

static enum MHD_Result send_events(oflash_web *w, struct MHD_Connection *c)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    sse *s = calloc(1, sizeof *s);
    if (!s)
        return MHD_NO;
    s->w = w;
    /* The browser reconnects 2 s after the station went away. */
    wbuf_puts(&s->out, "retry: 2000\n\n");
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
    if (!r) {
        sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------------ */
/* /api/units, /api/failures, /api/export.*                            */
/* ------------------------------------------------------------------ */

static void record_json(wbuf *b, const oflash_unit_record *r)
{
    bool f = true;
    wbuf_puts(b, "{");
    wjson_ki64(b, &f, "id", r->id);
    wjson_ku64(b, &f, "seq", r->seq);
    wjson_kstr(b, &f, "serial", r->serial);
    wjson_kstr(b, &f, "uid", r->uid);
    wjson_kstr(b, &f, "state", oflash_unit_state_name(r->state));
    wjson_kstr(b, &f, "image_sha256", r->image_sha256);
    wjson_kstr(b, &f, "device", r->device);
    wjson_kstr(b, &f, "station", r->station);
    wjson_ki64(b, &f, "port", r->port);
    wjson_kstr(b, &f, "error", r->error);
    wjson_ki64(b, &f, "start_us", r->start_us);
    wjson_ki64(b, &f, "end_us", r->end_us);
    wjson_ku64(b, &f, "duration_ms", r->duration_ms);
    wjson_ku64(b, &f, "sectors_erased", r->sectors_erased);
    wjson_ku64(b, &f, "bytes_written", r->bytes_written);
    wjson_ku64(b, &f, "otp_bytes_written", r->otp_bytes_written);
    wjson_ku64(b, &f, "sim_time_ns", r->sim_time_ns);
    wbuf_puts(b, "}");
}

struct units_ctx {
    wbuf *b;
    size_t n;
};

static int unit_row(void *ctx, const oflash_unit_record *r)
{
    struct units_ctx *uc = ctx;
    if (uc->n++)
        wbuf_puts(uc->b, ",");
    record_json(uc->b, r);
    return uc->b->oom ? OFLASH_ENOMEM : 0;
}

/* The query the arguments ask for: serial, uid, limit, since_us. */
static enum MHD_Result parse_query(oflash_ledger_query *q, struct MHD_Connection *c,
                                   size_t default_limit, bool *refused)
{
    const char *serial = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "serial");
    const char *uid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "uid");
    const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since_us");
    char *end;
    *refused = true;
    q->serial = serial && *serial ? serial : NULL;
    q->uid = uid && *uid ? uid : NULL;
    q->limit = default_limit;
    if ((q->serial && strlen(q->serial) > QUERY_TEXT_MAX) || (q->uid && strlen(q->uid) > QUERY_TEXT_MAX))
        return oflash__web_send_text(c, MHD_HTTP_BAD_REQUEST,
                                     "serial and uid searches are at most %d characters",
                                     QUERY_TEXT_MAX);
    if (limit && *limit) {
        unsigned long v = strtoul(limit, &end, 10);
        if (*end || v < 1 || v > UNITS_MAX || *limit == '-')
            return oflash__web_send_text(c, MHD_HTTP_BAD_REQUEST, "limit must be 1 to %d",
                                         UNITS_MAX);
        q->limit = v;
    }
    if (since && *since) {
        long long v = strtoll(since, &end, 10);
        if (*end || v < 0)
            return oflash__web_send_text(c, MHD_HTTP_BAD_REQUEST,
                                         "since_us must be a Unix time in microseconds");
        q->since_us = v;
    }
    *refused = false;
    return MHD_YES;
}

static enum MHD_Result send_units(oflash_web *w, struct MHD_Connection *c)
{
    oflash_ledger_query q = OFLASH_LEDGER_QUERY_INIT;
    char err[384];
    bool refused;
    enum MHD_Result ret = parse_query(&q, c, UNITS_DEFAULT, &refused);
    wbuf b = {0};
    struct units_ctx uc = {&b, 0};
    oflash_ledger *l;
    if (refused)
        return ret;
    pthread_mutex_lock(&w->lock);
    l = ledger_get(w, err, sizeof err);
    if (l) {
        wbuf_puts(&b, "{\"units\":[");
        if (oflash_ledger_units(l, &q, unit_row, &uc) < 0 && !b.oom)
            ledger_failed(w, err, sizeof err), l = NULL;
        wbuf_puts(&b, "]}");
    }
    pthread_mutex_unlock(&w->lock);
    if (!l) {
        wbuf_free(&b);
        return oflash__web_send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
    }
    return oflash__web_send_buf(c, MHD_HTTP_OK, "application/json", &b, NULL, NULL);
}

typedef struct reason {
    char text[256];    /* the reason: the error's cause, numbers as N */
    char example[256]; /* the latest full error text of this reason */
    uint64_t count, voided;
    char last_serial[OFLASH_SERIAL_TEXT_MAX];
    int64_t last_us;
} reason;

struct failures_ctx {
    reason *r;
    size_t n;
    uint64_t other;
};

/* The reason of an error text: its last part (after the last ": ", where
 * the cause is: "target power lost (simulated fault after 28 flash
 * operations)"), with every run of digits written N, so that the same
 * cause on other chips, addresses or counts is one group. */
static void reason_of(char out[256], const char *error)
{
    const char *p = error, *q;
    size_t n = 0;
    for (q = strstr(error, ": "); q; q = strstr(q + 2, ": "))
        if (strlen(q + 2) >= 8)
            p = q + 2;
    if (!*error)
        p = "(no reason recorded)";
    for (; *p && n < 255; p++) {
        if (*p >= '0' && *p <= '9') {
            while (p[1] >= '0' && p[1] <= '9')
                p++;
            out[n++] = 'N';
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static int failure_row(void *ctx, const oflash_unit_record *rec)
{
    struct failures_ctx *fc = ctx;
    char key[256];
    size_t i;
    if (rec->state != OFLASH_UNIT_FAIL && rec->state != OFLASH_UNIT_VOID &&
        !(rec->state == OFLASH_UNIT_RELEASED && rec->error[0]))
        return 0;
    reason_of(key, rec->error);
    for (i = 0; i < fc->n; i++)
        if (strcmp(fc->r[i].text, key) == 0)
            break;
    if (i == fc->n) {
        if (fc->n == FAILURE_REASONS_MAX) {
            fc->other++;
            return 0;
        }
        memset(&fc->r[i], 0, sizeof fc->r[i]);
        memcpy(fc->r[i].text, key, sizeof key);
        fc->n++;
    }
    fc->r[i].count++;
    if (rec->state == OFLASH_UNIT_VOID)
        fc->r[i].voided++;
    if (rec->start_us >= fc->r[i].last_us) {
        fc->r[i].last_us = rec->start_us;
        snprintf(fc->r[i].last_serial, sizeof fc->r[i].last_serial, "%s", rec->serial);
        snprintf(fc->r[i].example, sizeof fc->r[i].example, "%s", rec->error);
    }
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const reason *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->text, y->text);
}

static enum MHD_Result send_failures(oflash_web *w, struct MHD_Connection *c)
{
    oflash_ledger_query q = OFLASH_LEDGER_QUERY_INIT;
    struct failures_ctx fc = {0};
    char err[384];
    oflash_ledger *l;
    wbuf b = {0};
    size_t i;
    bool ok = false;
    fc.r = calloc(FAILURE_REASONS_MAX, sizeof *fc.r);
    if (!fc.r)
        return MHD_NO;
    pthread_mutex_lock(&w->lock);
    l = ledger_get(w, err, sizeof err);
    if (l) {
        ok = oflash_ledger_units(l, &q, failure_row, &fc) >= 0;
        if (!ok)
            ledger_failed(w, err, sizeof err);
    }
    pthread_mutex_unlock(&w->lock);
    if (!ok) {
        free(fc.r);
        return oflash__web_send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
    }
    qsort(fc.r, fc.n, sizeof *fc.r, by_count);
    wbuf_puts(&b, "{\"failures\":[");
    for (i = 0; i < fc.n; i++) {
        bool f = true;
        wbuf_puts(&b, i ? ",{" : "{");
        wjson_kstr(&b, &f, "reason", fc.r[i].text);
        wjson_kstr(&b, &f, "example", fc.r[i].example);
        wjson_ku64(&b, &f, "count", fc.r[i].count);
        wjson_ku64(&b, &f, "void", fc.r[i].voided);
        wjson_kstr(&b, &f, "last_serial", fc.r[i].last_serial);
        wjson_ki64(&b, &f, "last_us", fc.r[i].last_us);
        wbuf_puts(&b, "}");
    }
    wbuf_printf(&b, "],\"other\":%" PRIu64 "}", fc.other);
    free(fc.r);
    return oflash__web_send_buf(c, MHD_HTTP_OK, "application/json", &b, NULL, NULL);
}

static enum MHD_Result send_export(oflash_web *w, struct MHD_Connection *c, oflash_export_format fmt)
{
    oflash_ledger_query q = OFLASH_LEDGER_QUERY_INIT;
    char err[384];
    bool refused;
    enum MHD_Result ret = parse_query(&q, c, 0, &refused);
    oflash_ledger *l;
    wbuf b = {0};
    int rc = 0;
    if (refused)
        return ret;
    pthread_mutex_lock(&w->lock);
    l = ledger_get(w, err, sizeof err);
    if (l) {
        rc = oflash_ledger_export(l, &q, fmt, wbuf_write_cb, &b);
        if (rc < 0 && !b.oom)
            ledger_failed(w, err, sizeof err), l = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    if (!l) {
        wbuf_free(&b);
        return oflash__web_send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
    }
    if (fmt == OFLASH_EXPORT_CSV)
        return oflash__web_send_buf(c, MHD_HTTP_OK, "text/csv; charset=utf-8", &b,
                                    "Content-Disposition", "attachment; filename=\"oflash-units.csv\"");
    return oflash__web_send_buf(c, MHD_HTTP_OK, "application/json", &b, "Content-Disposition",
                                "attachment; filename=\"oflash-units.json\"");
}

enum MHD_Result oflash__web_api(oflash_web *w, struct MHD_Connection *c, const char *path)
{
    if (strcmp(path, "status") == 0) {
        size_t len = 0;
        char *s = status_copy(w, &len);
        wbuf b = {s, len, len + 1, s == NULL};
        return oflash__web_send_buf(c, MHD_HTTP_OK, "application/json", &b, NULL, NULL);
    }
    if (strcmp(path, "events") == 0)
        return send_events(w, c);
    if (strcmp(path, "units") == 0)
        return send_units(w, c);
    if (strcmp(path, "failures") == 0)
        return send_failures(w, c);
    if (strcmp(path, "export.csv") == 0)
        return send_export(w, c, OFLASH_EXPORT_CSV);
    if (strcmp(path, "export.json") == 0)
        return send_export(w, c, OFLASH_EXPORT_JSON);
    return oflash__web_send_text(c, MHD_HTTP_NOT_FOUND, "no such API (see docs/web.md)");
}
