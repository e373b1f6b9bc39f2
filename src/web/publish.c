/*
 * publish.c - a station's live state put into its ledger
 * (oflash_ledger_live_put), so that `oflash prod serve` shows every station
 * writing to one database.  Every `oflash prod run` publishes.
 *
 * Cost and safety, by construction:
 *  - a heartbeat every period (1 s), and a change (oflash_web_publish_notify
 *    from the ports' `changed` callback) published within PUBLISH_MIN_MS:
 *    at most 1000 / PUBLISH_MIN_MS = 4 writes a second, whatever the ports
 *    do;
 *  - the ports' side is one atomic increment: no lock, no wake-up call, no
 *    allocation; the thread looks at the counter every PUBLISH_MIN_MS;
 *  - the thread has its own ledger connection, opened for live state
 *    (oflash__ledger_open_live): it never flushes to disk, and every wait
 *    in it is bounded (SQLite's lock, PostgreSQL's connect, statements,
 *    lock waits, a dead peer: about 2 s each), so it neither holds the
 *    database's write lock for long nor hangs on a database that went away;
 *  - stopping waits at most PUBLISH_STOP_MS for the final put; a thread
 *    still inside the database then is left behind (the process is ending)
 *    rather than holding the station up.
 */
#include "oflash/error.h"
#include "oflash/prod.h"
#include "oflash/web.h"
#include "prod/ledger_internal.h"
#include "web/web_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLISH_MIN_MS 250u   /* a change is published within this, and no sooner */
#define PUBLISH_STOP_MS 4000u /* stop: the longest wait for the final put */

struct oflash_web_publisher {
    oflash_station *st;
    char *db_url;
    unsigned period_ms;
    oflash_ledger *l; /* the thread's own */
    bool warned;
    atomic_ulong gen; /* bumped by oflash_web_publish_notify */
    pthread_t th;
    pthread_mutex_t m;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stop;         /* under m */
    bool abandoned;    /* under m: stop gave up waiting; st must not be read */
    bool done;         /* under m: the thread has returned */
    char station[64];
};

/* The station's snapshot as JSON (malloc'ed), or NULL. */
static char *snapshot(oflash_web_publisher *p)
{
    oflash_station_status *s = malloc(sizeof *s);
    wbuf b = {0};
    if (!s) return NULL;
    oflash_station_status_get(s, p->st);
    oflash__web_station_json(&b, s);
    free(s);
    if (b.oom) {
        wbuf_free(&b);
        return NULL;
    }
    return b.data;
}

/* One put, on the thread's own connection (opened again after an error). */
static void put(oflash_web_publisher *p, const char *json)
{
    int rc;
    if (!json) return;
    rc = p->l ? 0 : oflash__ledger_open_live(&p->l, p->db_url);
    if (rc == 0) rc = oflash_ledger_live_put(p->l, p->station, json);
    if (rc < 0) {
        if (!p->warned)
            oflash_log(OFLASH_LOG_WARN,
                       "the station's live state cannot be written to the ledger (the page of "
                       "'oflash prod serve' shows no heartbeat from it; retrying): %s",
                       oflash_error_last());
        p->warned = true;
        if (p->l) oflash_ledger_close(p->l);
        p->l = NULL;
    } else {
        p->warned = false;
    }
}

static void add_ms(struct timespec *ts, unsigned ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int64_t ms_since(const struct timespec *a, const struct timespec *b)
{
    return (int64_t)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* The snapshot is taken under m, the put made outside it: stop never
 * waits for the database, and once stop gave up (abandoned) the station
 * is never read again (it is freed next). */
static void *publish_thread(void *arg)
{
    oflash_web_publisher *p = arg;
    struct timespec last, now, wake;
    unsigned long seen = atomic_load(&p->gen);
    char *json;
    clock_gettime(CLOCK_MONOTONIC, &last);
    pthread_mutex_lock(&p->m);
    while (!p->stop) {
        clock_gettime(CLOCK_MONOTONIC, &wake);
        add_ms(&wake, PUBLISH_MIN_MS);
        /* stop is set under m and broadcast, and checked before every
         * wait: never missed. */
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->m, &wake) != ETIMEDOUT)
            ;
        if (p->stop) break;
        /* A change, else the heartbeat; the first put waits for the first
         * change (the run has begun) or one period. */
        clock_gettime(CLOCK_MONOTONIC, &now);
        unsigned long gen = atomic_load(&p->gen);
        if (gen == seen && ms_since(&last, &now) < (int64_t)p->period_ms) continue;
        seen = gen;
        last = now;
        json = snapshot(p);
        pthread_mutex_unlock(&p->m);
        put(p, json);
        free(json);
        pthread_mutex_lock(&p->m);
    }
    /* The final state ("stopped" on the page). */
    json = p->abandoned ? NULL : snapshot(p);
    pthread_mutex_unlock(&p->m);
    put(p, json);
    free(json);
    pthread_mutex_lock(&p->m);
    p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->m);
    return NULL;
}

int oflash_web_publish_start(oflash_web_publisher **out, oflash_station *st, const char *db_url,
                             unsigned period_ms)
{
    oflash_web_publisher *p;
    pthread_condattr_t ca;
    *out = NULL;
    if (!st || !db_url)
        return oflash_error_set(OFLASH_EINVAL, "oflash_web_publish_start: no station or ledger");
    p = calloc(1, sizeof *p);
    if (!p || !(p->db_url = strdup(db_url))) {
        free(p);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    p->st = st;
    {
        oflash_station_status *s = malloc(sizeof *s);
        if (!s) {
            free(p->db_url);
            free(p);
            return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        }
        oflash_station_status_get(s, st);
        snprintf(p->station, sizeof p->station, "%s", s->station);
        free(s);
    }
    p->period_ms = period_ms ? period_ms : 1000;
    if (p->period_ms < PUBLISH_MIN_MS) p->period_ms = PUBLISH_MIN_MS;
    atomic_init(&p->gen, 0);
    pthread_mutex_init(&p->m, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->th, NULL, publish_thread, p) != 0) {
        pthread_mutex_destroy(&p->m);
        pthread_cond_destroy(&p->cv);
        free(p->db_url);
        free(p);
        return oflash_error_set(OFLASH_ERROR, "cannot start the live-state thread");
    }
    *out = p;
    return 0;
}

void oflash_web_publish_notify(oflash_web_publisher *p)
{
    if (p) atomic_fetch_add_explicit(&p->gen, 1, memory_order_relaxed);
}

void oflash_web_publish_stop(oflash_web_publisher *p)
{
    struct timespec until;
    bool done;
    if (!p) return;
    clock_gettime(CLOCK_MONOTONIC, &until);
    add_ms(&until, PUBLISH_STOP_MS);
    pthread_mutex_lock(&p->m);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    while (!p->done && pthread_cond_timedwait(&p->cv, &p->m, &until) != ETIMEDOUT)
        ;
    done = p->done;
    p->abandoned = !done;
    pthread_mutex_unlock(&p->m);
    if (!done) {
        /* Still inside the database (bounded there too, but the station
         * must not wait for it): left running; its memory is not freed. */
        oflash_log(OFLASH_LOG_WARN, "the station's last live state was not written within %u s "
                                    "(the database is slow or away)",
                   PUBLISH_STOP_MS / 1000);
        pthread_detach(p->th);
        return;
    }
    pthread_join(p->th, NULL);
    if (p->l) oflash_ledger_close(p->l);
    pthread_mutex_destroy(&p->m);
    pthread_cond_destroy(&p->cv);
    free(p->db_url);
    free(p);
}
