/*
 * station_ledger.h - the station's ledger lanes (station_ledger.c): the
 * ports' ledger steps run by worker threads, so that a port can go on with
 * its chip while "writing starts" reaches the disk, and so that one SQLite
 * station commits several ports' steps with one flush.
 *
 * A lane is one ledger connection, a FIFO of requests and a worker thread.
 * A request lives in its caller's memory from submit until wait returned.
 * A thread that waits for its request runs the lane itself when no one
 * else is (no hand-over to another thread on a port's critical path); the
 * worker runs what is queued and not waited for yet ("writing starts"
 * sent ahead).  A batch runs the lookups (reserve, find) first and answers
 * them at once, then the durable steps (started, finish) in arrival order;
 * a thread waiting for a lookup runs only the lookups.
 */
#ifndef OFLASH_STATION_LEDGER_H
#define OFLASH_STATION_LEDGER_H

#include "oflash/prod.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum lane_op {
    LANE_RESERVE = 0, /* oflash_ledger_reserve(out, rebind, uid = rec.uid, info = rec) */
    LANE_FIND_SERIAL, /* oflash_ledger_find_serial(out, serial = rec.serial) */
    LANE_STARTED,     /* oflash_ledger_started(rec): flushed */
    LANE_FINISH       /* oflash_ledger_finish(rec): flushed */
} lane_op;

typedef struct lane_req {
    lane_op op;
    oflash_unit_record rec; /* in */
    oflash_unit_record out; /* reserve, find */
    bool rebind;            /* reserve */
    /* Set by the worker: */
    int rc;
    char msg[1024];
    uint64_t submit_ns, done_ns; /* CLOCK_MONOTONIC */
    unsigned batch;              /* durable steps flushed together with this one (1 alone) */
    bool done;
    struct lane_req *next, *d_next;
} lane_req;

typedef struct station_lane station_lane;

/* Flags of oflash__lane_open. */
/* The durable steps found waiting together run as one transaction (SQLite
 * only: BEGIN IMMEDIATE). */
#define LANE_GROUP 1u
/* No worker thread: requests run only when a thread waits for one (tests:
 * deterministic batches). */
#define LANE_NO_WORKER 2u

/* Open the connection (url, pool in use) and start the worker. */
int oflash__lane_open(station_lane **out, const char *url, const oflash_serial_pool *pool,
                      unsigned flags);
/* Queue r (its op and rec filled in). */
void oflash__lane_submit(station_lane *l, lane_req *r);
/* Wait until r is done; returns r->rc, with r's message set as this
 * thread's error when negative. */
int oflash__lane_wait(station_lane *l, lane_req *r);
/* submit + wait. */
int oflash__lane_call(station_lane *l, lane_req *r);
/* Run what is queued, stop the worker, close the connection. */
void oflash__lane_close(station_lane *l);

#endif
