/*
 * publish.c - a station's live state put into its ledger about once a
 * second (oflash_ledger_live_put), so that `oflash prod serve` shows every
 * station writing to one database.  The thread has its own ledger
 * connection: the ports' connections never wait for it beyond the
 * database's own locking (one small upsert a second).
 */
#include "oflash/error.h"
#include "oflash/prod.h"
#include "oflash/web.h"
#include "web/web_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct oflash_web_publisher {
    oflash_station *st;
    char *db_url;
    unsigned period_ms;
    oflash_ledger *l;
    bool warned;
    pthread_t th;
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool stop;
};

static void publish_once(oflash_web_publisher *p)
{
    oflash_station_status *s = malloc(sizeof *s);
    wbuf b = {0};
    int rc;
    if (!s)
        return;
    oflash_station_status_get(s, p->st);
    oflash__web_station_json(&b, s);
    if (!b.oom) {
        rc = p->l ? 0 : oflash_ledger_open(&p->l, p->db_url);
        if (rc == 0)
            rc = oflash_ledger_live_put(p->l, s->station, b.data);
        if (rc < 0) {
            if (!p->warned)
                oflash_log(OFLASH_LOG_WARN,
                           "the station's live state cannot be written to the ledger (the web "
                           "page of 'oflash prod serve' shows it stale; retrying): %s",
                           oflash_error_last());
            p->warned = true;
            if (p->l)
                oflash_ledger_close(p->l);
            p->l = NULL;
        } else {
            p->warned = false;
        }
    }
    wbuf_free(&b);
    free(s);
}

static void *publish_thread(void *arg)
{
    oflash_web_publisher *p = arg;
    struct timespec ts;
    pthread_mutex_lock(&p->m);
    while (!p->stop) {
        pthread_mutex_unlock(&p->m);
        publish_once(p);
        pthread_mutex_lock(&p->m);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += p->period_ms / 1000;
        ts.tv_nsec += (long)(p->period_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->m, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->m);
    publish_once(p); /* the final state */
    return NULL;
}

int oflash_web_publish_start(oflash_web_publisher **out, oflash_station *st, const char *db_url,
                             unsigned period_ms)
{
    oflash_web_publisher *p;
    *out = NULL;
    if (!st || !db_url)
        return oflash_error_set(OFLASH_EINVAL, "oflash_web_publish_start: no station or ledger");
    p = calloc(1, sizeof *p);
    if (!p || !(p->db_url = strdup(db_url))) {
        free(p);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    p->st = st;
    p->period_ms = period_ms ? period_ms : 1000;
    pthread_mutex_init(&p->m, NULL);
    pthread_cond_init(&p->cv, NULL);
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

void oflash_web_publish_stop(oflash_web_publisher *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->m);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->m);
    pthread_join(p->th, NULL);
    if (p->l)
        oflash_ledger_close(p->l);
    pthread_mutex_destroy(&p->m);
    pthread_cond_destroy(&p->cv);
    free(p->db_url);
    free(p);
}
