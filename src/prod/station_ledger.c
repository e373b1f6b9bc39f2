/*
 * station_ledger.c - the station's ledger lanes (station_ledger.h).
 *
 * Why: a unit's ledger steps are reserve (not flushed), "writing starts"
 * and the commit (each flushed to disk: a few ms).  Run by the port thread
 * itself, every flush is on the port's critical path, and on SQLite the 8
 * connections of an 8-port gang queue for the file's one write lock, each
 * holding it through its own flush.  A lane lets the port thread hand a
 * step over and go on ("writing starts" is awaited only before the
 * serial's own bytes are written; station.c), and a grouping lane runs the
 * durable steps that wait together as one transaction: one flush for all
 * of them.
 *
 * A batch (run_batch): the requests queued when it starts; the lookups
 * (reserve, find) one by one, each answered at once -- a reservation is
 * not flushed, so it need not wait for the others; then the durable steps:
 * alone, as the ledger call itself; grouped, BEGIN IMMEDIATE, each step
 * inside its own SAVEPOINT (a step the ledger refuses -- a reservation
 * given back by a reconcile -- leaves the others untouched), COMMIT.  When
 * the transaction itself fails (COMMIT, or a step whose error ended it),
 * every step of the group that had not failed on its own gets that error:
 * none of them is reported done unless its COMMIT returned, so a step
 * reported done is on disk (synchronous = FULL) exactly as when run alone.
 * Who runs a batch: a thread waiting for its own request when the lane is
 * idle (a lookup's waiter takes only the lookups), else the worker.
 *
 * Locking: lane->lock guards the queue, the busy and closing flags and
 * every request's done flag; only the thread that set busy touches the
 * connection, without the lock.
 */
#include "prod/station_ledger.h"

#include "oflash/error.h"
#include "prod/ledger_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct station_lane {
    oflash_ledger *ledger;
    bool group;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a request was queued, the lane fell idle, or closing */
    pthread_cond_t done; /* a batch is done (the lane fell idle) */
    lane_req *head, *tail;
    bool busy; /* a thread is running a batch */
    bool closing;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Run one request on the lane's connection; the result in r. */
static void run_one(station_lane *l, lane_req *r)
{
    int rc;
    oflash_error_clear();
    switch (r->op) {
    case LANE_RESERVE:
        rc = oflash_ledger_reserve(&r->out, &r->rebind, l->ledger, r->rec.uid, &r->rec);
        break;
    case LANE_FIND_SERIAL:
        rc = oflash_ledger_find_serial(&r->out, l->ledger, r->rec.serial);
        break;
    case LANE_STARTED:
        rc = oflash_ledger_started(l->ledger, &r->rec);
        break;
    case LANE_FINISH:
        rc = oflash_ledger_finish(l->ledger, &r->rec);
        break;
    default:
        rc = oflash_error_set(OFLASH_EINVAL, "ledger lane: unknown step %d", (int)r->op);
        break;
    }
    r->rc = rc;
    r->msg[0] = '\0';
    if (rc < 0) snprintf(r->msg, sizeof r->msg, "%s", oflash_error_last());
}

static void fail_req(lane_req *r, int rc, const char *msg)
{
    r->rc = rc;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
}

/* The durable steps d[0..n) as one transaction (see the header comment). */
static void run_group(station_lane *l, lane_req **d, size_t n)
{
    char why[1024];
    size_t i = 0;
    int rc = oflash__ledger_script(l->ledger, "BEGIN IMMEDIATE");
    if (rc < 0) {
        snprintf(why, sizeof why, "%s", oflash_error_last());
        for (; i < n; i++)
            fail_req(d[i], rc, why);
        return;
    }
    for (; i < n; i++) {
        if ((rc = oflash__ledger_script(l->ledger, "SAVEPOINT lane_step")) < 0) break;
        run_one(l, d[i]);
        if (d[i]->rc == 0) {
            rc = oflash__ledger_script(l->ledger, "RELEASE lane_step");
        } else {
            /* Undo what the refused step may have begun; if that fails
             * the database ended the transaction itself. */
            rc = oflash__ledger_script(l->ledger, "ROLLBACK TO lane_step");
            if (rc == 0) rc = oflash__ledger_script(l->ledger, "RELEASE lane_step");
        }
        if (rc < 0) {
            i++;
            break;
        }
    }
    if (rc == 0) rc = oflash__ledger_script(l->ledger, "COMMIT");
    if (rc < 0) {
        snprintf(why, sizeof why, "%s", oflash_error_last());
        (void)oflash__ledger_script(l->ledger, "ROLLBACK");
        /* Nothing of the group is on disk. */
        for (size_t k = 0; k < n; k++)
            if (k >= i || d[k]->rc == 0) fail_req(d[k], rc, why);
    }
    for (size_t k = 0; k < n; k++)
        d[k]->batch = (unsigned)n;
}

/* How many durable steps one transaction takes at most. */
#define GROUP_MAX 64

static bool durable(const lane_req *r)
{
    return r->op == LANE_STARTED || r->op == LANE_FINISH;
}

/* Mark the requests of list (linked by d_next) done. */
static void mark_done(lane_req *list)
{
    uint64_t t = mono_ns();
    for (lane_req *r = list, *next; r; r = next) {
        next = r->d_next; /* r belongs to its caller again once done */
        r->done_ns = t;
        r->done = true;
    }
}

/* Run one batch: the lookups queued when it starts, and unless
 * lookups_only the durable steps too.  Called with l->lock held and
 * l->busy set by the caller; returns with the lock held, the batch done,
 * l->busy clear. */
static void run_batch(station_lane *l, bool lookups_only)
{
    lane_req *looks = NULL, **lt = &looks, *durs = NULL, **dt = &durs, *keep = NULL, *kt = NULL;
    /* Split the queue (linked by next) into two lists linked by d_next;
     * what this batch does not take stays queued. */
    for (lane_req *r = l->head, *next; r; r = next) {
        next = r->next;
        if (!durable(r)) {
            *lt = r;
            lt = &r->d_next;
        } else if (!lookups_only) {
            *dt = r;
            dt = &r->d_next;
        } else {
            r->next = NULL;
            if (kt)
                kt->next = r;
            else
                keep = r;
            kt = r;
        }
    }
    *lt = NULL;
    *dt = NULL;
    l->head = keep;
    l->tail = kt;
    pthread_mutex_unlock(&l->lock);
    /* Lookups first, answered at once: a reservation is not flushed and
     * need not wait for the others. */
    for (lane_req *r = looks; r; r = r->d_next) {
        run_one(l, r);
        r->batch = 1;
    }
    if (looks) {
        pthread_mutex_lock(&l->lock);
        mark_done(looks);
        pthread_cond_broadcast(&l->done);
        pthread_mutex_unlock(&l->lock);
    }
    /* The durable steps, in arrival order, grouped. */
    for (lane_req *r = durs; r;) {
        lane_req *d[GROUP_MAX];
        size_t n = 0;
        for (; r && n < (l->group ? GROUP_MAX : 1); r = r->d_next)
            d[n++] = r;
        if (n > 1) {
            run_group(l, d, n);
        } else {
            run_one(l, d[0]);
            d[0]->batch = 1;
        }
    }
    pthread_mutex_lock(&l->lock);
    mark_done(durs);
    l->busy = false;
    pthread_cond_broadcast(&l->done);
    pthread_cond_signal(&l->work);
}

/* The worker runs what nobody waits for yet ("writing starts" sent ahead);
 * a thread waiting for its own request runs the lane itself (no hand-over
 * to another thread on a port's critical path). */
static void *lane_main(void *arg)
{
    station_lane *l = arg;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while ((!l->head || l->busy) && !(l->closing && !l->head && !l->busy))
            pthread_cond_wait(&l->work, &l->lock);
        if (!l->head) break; /* closing, and nothing left */
        l->busy = true;
        run_batch(l, false);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int oflash__lane_open(station_lane **out, const char *url, const oflash_serial_pool *pool,
                      unsigned flags)
{
    station_lane *l;
    int rc;
    *out = NULL;
    if (!(l = calloc(1, sizeof *l))) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    l->group = (flags & LANE_GROUP) != 0;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->done, NULL);
    if ((rc = oflash_ledger_open(&l->ledger, url)) < 0 ||
        (rc = oflash_ledger_use_pool(l->ledger, pool)) < 0) {
        oflash__lane_close(l);
        return rc;
    }
    /* PostgreSQL compiles oflash_reserve() and loads the tables' catalog
     * entries on a session's first call (tens of ms): done here, at the
     * station's start, rather than in a port's first unit.  Pool 0 does not
     * exist: the call changes nothing and returns no row. */
    if (!strcmp(oflash_ledger_backend(l->ledger), "postgresql"))
        (void)oflash__ledger_script(l->ledger,
                                    "SELECT id FROM oflash_reserve(0, '', '', '', '', 0, 0)");
    if (flags & LANE_NO_WORKER) {
        *out = l;
        return 0;
    }
    if (pthread_create(&l->thread, NULL, lane_main, l) != 0) {
        oflash__lane_close(l);
        return oflash_error_set(OFLASH_ENOMEM, "cannot start the ledger thread");
    }
    l->thread_started = true;
    *out = l;
    return 0;
}

void oflash__lane_submit(station_lane *l, lane_req *r)
{
    r->next = NULL;
    r->done = false;
    r->rc = 0;
    r->msg[0] = '\0';
    r->batch = 0;
    pthread_mutex_lock(&l->lock);
    r->submit_ns = mono_ns();
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    if (!l->busy) pthread_cond_signal(&l->work);
    pthread_mutex_unlock(&l->lock);
}

int oflash__lane_wait(station_lane *l, lane_req *r)
{
    pthread_mutex_lock(&l->lock);
    while (!r->done) {
        if (!l->busy) {
            /* r is queued: this batch takes it (a lookup waits for no
             * one else's flush). */
            l->busy = true;
            run_batch(l, !durable(r));
        } else {
            pthread_cond_wait(&l->done, &l->lock);
        }
    }
    pthread_mutex_unlock(&l->lock);
    if (r->rc < 0) return oflash_error_set(r->rc, "%s", r->msg);
    return r->rc;
}

int oflash__lane_call(station_lane *l, lane_req *r)
{
    oflash__lane_submit(l, r);
    return oflash__lane_wait(l, r);
}

void oflash__lane_close(station_lane *l)
{
    if (!l) return;
    if (l->thread_started) {
        pthread_mutex_lock(&l->lock);
        l->closing = true;
        pthread_cond_broadcast(&l->work);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
    }
    oflash_ledger_close(l->ledger);
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->done);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
