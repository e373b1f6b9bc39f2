/*
 * station.c - the production station: a job run on one or more ports, one
 * thread per port (oflash/prod.h, docs/production.md).
 *
 * oflash_station_create() checks everything that can be checked without a
 * chip, before any port touches one: the images, the device, the serial
 * scheme (the field inside one flash or OTP bank, not over image data, a
 * dry plan of the image with a serial against an erased chip), the lock and
 * RDP opt-ins, and the database (the station's own connection, for
 * reconcile, and the ledger lanes of the ports, below).
 *
 * A port's unit, in order (docs/production.md "Per unit"):
 *   1. connect: open the probe (a fresh board on sim-feed:), the target
 *      over it, check the chip's identity, read its unique ID;
 *   2. read the serial field as the chip holds it;
 *   3. reserve a serial for the UID (round trip 1, not flushed): a UID
 *      with a committed serial gets that one again, one with a write in
 *      flight gets it back to complete it;
 *   4. refuse a chip whose field holds another serial (the ledger's owner
 *      named) or, in OTP, bytes that are no serial of the pool; nothing is
 *      written and the reservation is given back;
 *   5. the job image with the serial put in; the chip's recovery journal
 *      restores what an interrupted run left; plan; the executor's own
 *      checks (protection, loaders);
 *   6. "writing starts" (round trip 2, flushed), unless the plan writes
 *      nothing and the unit is already committed: SENT AHEAD -- the port
 *      goes on with step 7 and the executor's write gate waits for the
 *      ledger's answer before the first write over the serial field (its
 *      OTP bytes, or its flash sector, or the lock byte of its OTP block);
 *      until then only the rest of the image is written, so a serial is
 *      never on a chip before the ledger binds it to the UID, and the flush
 *      overlaps the main-flash erase and programming (tens of ms);
 *   7. program, verify (CRC on the target), OTP, lock bytes; then RDP, so
 *      that verification ran before the level changed; then reset-and-run;
 *   8. commit the figures (round trip 3, flushed; waited for "writing
 *      starts" first), or record the failure: the ledger gives a
 *      reservation whose writing never started back and keeps a started
 *      one bound to its UID as void, with the reason.  A board is
 *      reported "pass" (and a sim-feed: board taken off) only after its
 *      commit returned, so the commit stays on the port's critical path:
 *      the next board comes only when this one is off.
 * A unit that fails never stops the other ports.  The ledger failing (the
 * database unreachable) or the pool running out stops new units on every
 * port: nothing is programmed without a reservation.
 *
 * Boards: a sim-feed: port places a new board for each unit by itself; a
 * sim: port holds one chip (one unit, then the port stops); on any other
 * port a board is new when its UID differs from the last one the port saw.
 *
 * Ledger lanes (station_ledger.c): every ledger step of a port goes
 * through a lane, a connection with a worker thread; a thread waiting for
 * its own step runs the lane itself, so a step waited for costs no hand-
 * over.  SQLite: one lane for the whole station, which runs the durable
 * steps of the ports that wait together as one transaction (one flush
 * instead of one per port, and no 8 connections queueing for the file's
 * one write lock); PostgreSQL: one lane per port (the server flushes
 * concurrent commits together).  Measured in docs/production.md.
 *
 * Ledger time on a port's critical path (db_ms, units per hour): every
 * step waited for; "writing starts" counts its wait at the gate or, on a
 * simulated chip, its latency minus the chip's simulated work since it was
 * sent, whichever is more (a simulator slower than the chip must not hide
 * a wait a real line would see).
 *
 * Locking: st->lock guards the status structures, the unit counters and
 * the halt fields.  stop_requested is a sig_atomic_t that the signal-safe
 * oflash_station_stop() sets.  A lane serializes its connection itself.
 */
#include "oflash/prod.h"
#include "oflash/device.h"
#include "oflash/error.h"
#include "oflash/flash.h"
#include "oflash/image.h"
#include "oflash/journal.h"
#include "oflash/probe.h"
#include "oflash/protect.h"
#include "oflash/sim.h"
#include "oflash/sys/family.h"
#include "common/sha256.h"
#include "prod/station_ledger.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a port waits between two looks for the next board. */
#define BOARD_POLL_MS 300u
/* Back-off after a failed connection, doubled up to the maximum. */
#define CONNECT_BACKOFF_MIN_MS 100u
#define CONNECT_BACKOFF_MAX_MS 2000u

typedef enum board_kind {
    BOARD_POLL = 0, /* a new board is one with another UID */
    BOARD_ONE,      /* sim:PATH: one chip, one unit */
    BOARD_FEED      /* sim-feed:DIR: the backend places a new board per unit */
} board_kind;

typedef struct port {
    oflash_station *st;
    size_t index;
    const char *spec;
    board_kind boards;
    station_lane *lane; /* st->lanes[0] (SQLite) or the port's own */
    pthread_t thread;
    bool thread_started;
    /* under st->lock: */
    oflash_port_status status;
    uint64_t sim_ns;  /* simulated target time of this port's units */
    uint64_t host_ns; /* host time of this port's units */
    uint64_t over_ns; /* host time of this port's units outside the chip's work */
    /* port thread only: */
    char last_uid[OFLASH_UID_HEX_MAX];
} port;

struct oflash_station {
    oflash_job job; /* strings point into strbuf */
    char *strbuf;
    oflash_station_opts opts;
    oflash_devdb *db;
    const oflash_device *dev;
    oflash_otp_rules otp;
    oflash_image *img; /* the job's image, with the lock bytes --lock adds */
    char image_sha256[65];
    char image_name[128];
    char scheme[160];
    bool pool_new;                            /* plan_only: the ledger has no such pool */
    char next_serial[OFLASH_SERIAL_TEXT_MAX]; /* plan_only */
    bool ledger_new;                          /* plan_only: no ledger yet */
    int ledger_schema;                        /* plan_only: its schema version */
    char station[64];
    oflash_serial_pool *pool;
    uint32_t field_addr;
    size_t field_size;
    bool field_in_otp;
    oflash_ledger *ledger; /* the station's own connection: reconcile */
    port ports[OFLASH_STATION_MAX_PORTS];
    size_t nports;
    station_lane *lanes[OFLASH_STATION_MAX_PORTS];
    size_t nlanes;

    volatile sig_atomic_t stop_requested;
    pthread_mutex_t lock;
    /* under lock: */
    bool running;
    uint64_t claimed; /* units passed + units in progress */
    uint64_t inflight;
    uint64_t passed, failed;
    int halt_code; /* the station stopped itself (database, pool): code + reason */
    char halt_reason[512];
    struct timespec t0;
    double elapsed_s;
    uint64_t units_measured; /* units with overhead figures */
    uint64_t overhead_ns;
    uint64_t db_ns;
    uint64_t db_round_trips;
    uint64_t reconciled_released, reconciled_inflight;
};

/* ---- small helpers ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

const char *oflash_port_state_name(oflash_port_state s)
{
    switch (s) {
    case OFLASH_PORT_IDLE:
        return "idle";
    case OFLASH_PORT_CONNECTING:
        return "connecting";
    case OFLASH_PORT_ERASING:
        return "erasing";
    case OFLASH_PORT_PROGRAMMING:
        return "programming";
    case OFLASH_PORT_VERIFYING:
        return "verifying";
    case OFLASH_PORT_LOCKING:
        return "locking";
    case OFLASH_PORT_PROTECTING:
        return "protecting";
    case OFLASH_PORT_PASS:
        return "pass";
    case OFLASH_PORT_FAIL:
        return "fail";
    case OFLASH_PORT_STOPPED:
        return "stopped";
    }
    return "?";
}

static bool halted_locked(const oflash_station *st)
{
    return st->stop_requested || st->halt_code != 0;
}

static bool should_stop(oflash_station *st)
{
    bool r;
    if (st->stop_requested) return true;
    pthread_mutex_lock(&st->lock);
    r = halted_locked(st);
    pthread_mutex_unlock(&st->lock);
    return r;
}

/* Stop every port before its next unit: the database or the pool. */
static void halt_station(oflash_station *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void halt_station(oflash_station *st, int code, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&st->lock);
    if (!st->halt_code) {
        st->halt_code = code ? code : OFLASH_ERROR;
        va_start(ap, fmt);
        vsnprintf(st->halt_reason, sizeof st->halt_reason, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&st->lock);
}

/* Sleep ms in slices, returning early when the station stops. */
static void nap(oflash_station *st, unsigned ms)
{
    while (ms && !should_stop(st)) {
        unsigned slice = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)slice * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
        ms -= slice;
    }
}

static void notify(port *p)
{
    if (p->st->opts.changed) p->st->opts.changed(p->st->opts.ctx, p->index);
}

static void set_state(port *p, oflash_port_state s, unsigned percent)
{
    oflash_station *st = p->st;
    pthread_mutex_lock(&st->lock);
    p->status.state = s;
    p->status.percent = percent;
    pthread_mutex_unlock(&st->lock);
    notify(p);
}

static void set_error(port *p, oflash_port_state s, const char *msg)
{
    oflash_station *st = p->st;
    pthread_mutex_lock(&st->lock);
    p->status.state = s;
    p->status.percent = 0;
    copy_str(p->status.last_error, sizeof p->status.last_error, msg);
    pthread_mutex_unlock(&st->lock);
    notify(p);
}

/* ---- one unit ---- */

typedef struct unit {
    port *p;
    oflash_probe *probe;
    oflash_target *t;
    oflash_journal *journal;
    oflash_image *img;
    oflash_plan *plan;
    char uid[OFLASH_UID_HEX_MAX];
    uint64_t chip_ns; /* host time spent on the chip's own work */
    uint64_t db_ns;   /* host time waiting for the ledger */
    /* Ledger time on the port's critical path beyond db_ns: the part of
     * "writing starts" that the chip's simulated work did not cover. */
    uint64_t db_model_ns;
    uint64_t mark;
    uint64_t t_start;
    int64_t wall_start;
    unsigned db_trips;
    /* "Writing starts", sent ahead (started_send): */
    lane_req started;
    bool started_sent, started_pending;
    int started_rc;
    uint64_t started_sim0; /* simulated time when it was sent */
    uint64_t gate_wait_ns; /* host time waited for it inside the chip's work */
} unit;

/* Time the chip's own work (probe, target, journal, plan, execute): the
 * comma operator takes the start time before expr is evaluated. */
static int chip_done(unit *u, int rc)
{
    u->chip_ns += now_ns() - u->mark;
    return rc;
}
#define CHIP(u, expr) ((u)->mark = now_ns(), chip_done((u), (expr)))
/* The same for the ledger's round trips. */
static int db_done(unit *u, int rc)
{
    u->db_ns += now_ns() - u->mark;
    return rc;
}
#define DB(u, expr) ((u)->mark = now_ns(), db_done((u), (expr)))

static void unit_close(unit *u)
{
    uint64_t t = now_ns();
    oflash_plan_free(u->plan);
    u->plan = NULL;
    oflash_image_free(u->img);
    u->img = NULL;
    oflash_journal_close(u->journal);
    u->journal = NULL;
    oflash_target_close(u->t);
    u->t = NULL;
    oflash_probe_close(u->probe);
    u->probe = NULL;
    u->chip_ns += now_ns() - t;
}

/* ---- the ledger, through the port's lane (station_ledger.c) ---- */

/* One ledger step, waited for: on the port's critical path. */
static int db_call(unit *u, lane_req *q)
{
    u->db_trips++;
    return DB(u, oflash__lane_call(u->p->lane, q));
}

/* The chip's simulated time so far (*has false on other probes). */
static uint64_t sim_now(const unit *u, bool *has)
{
    oflash_probe_stats ps;
    *has = false;
    if (!u->probe) return 0;
    oflash_probe_get_stats(&ps, u->probe);
    *has = ps.has_sim_time;
    return ps.has_sim_time ? ps.sim_time_ns : 0;
}

/* "Writing starts", sent ahead: the port goes on with the chip (erasing
 * and programming the image) and waits for the ledger's answer only before
 * the serial's own bytes are written (the executor's write gate). */
static void started_send(unit *u, const oflash_unit_record *rec)
{
    bool has;
    memset(&u->started, 0, sizeof u->started);
    u->started.op = LANE_STARTED;
    u->started.rec = *rec;
    u->started_sim0 = sim_now(u, &has);
    u->started_sent = u->started_pending = true;
    u->db_trips++;
    oflash__lane_submit(u->p->lane, &u->started);
}

/* Wait for "writing starts" (once) and return its result.  Ledger time
 * on the critical path: the wait; on a simulated chip, the step's latency
 * minus the chip's simulated work since it was sent when that is more (a
 * simulator may run slower than the chip: its host time would hide a wait
 * the line would see).  in_chip: waited inside the chip's work (the gate),
 * whose time CHIP() counted. */
static int started_join(unit *u, bool in_chip)
{
    uint64_t t0, waited, latency, covered, sim;
    bool has;
    if (!u->started_pending) return u->started_rc;
    t0 = now_ns();
    u->started_rc = oflash__lane_wait(u->p->lane, &u->started);
    waited = now_ns() - t0;
    u->started_pending = false;
    latency = u->started.done_ns - u->started.submit_ns;
    sim = sim_now(u, &has);
    if (has)
        covered = sim > u->started_sim0 ? sim - u->started_sim0 : 0;
    else
        covered = t0 - u->started.submit_ns;
    u->db_ns += waited;
    if (latency > covered && latency - covered > waited)
        u->db_model_ns += latency - covered - waited;
    if (in_chip) u->gate_wait_ns += waited;
    return u->started_rc;
}

/* The executor's write gate over the serial field. */
static int started_gate(void *ctx)
{
    return started_join(ctx, true) < 0 ? oflash_error_last_code() : 0;
}

/* The chip's identity as oflash_target_open checks it (DEV_ID and flash
 * size), for a target opened over a probe. */
static int check_identity(oflash_target *t, const oflash_device *d)
{
    const oflash_family_id *id = d->family_ops ? &d->family_ops->id : NULL;
    oflash_probe *pr = oflash_target_probe(t);
    uint32_t idcode;
    uint8_t fs[2];
    uint16_t dev_id, kb;
    if (!d->has_id || !id || !id->idcode_addr) return 0;
    if (oflash_probe_read_u32(&idcode, pr, id->idcode_addr) < 0)
        return oflash_error_prefix("reading the chip's ID register at 0x%08X: ", id->idcode_addr);
    if (oflash_probe_read_mem(fs, pr, id->flash_size_addr, 2) < 0)
        return oflash_error_prefix("reading the flash size register at 0x%08X: ",
                                   id->flash_size_addr);
    dev_id = (uint16_t)(idcode & (id->dev_id_mask ? id->dev_id_mask : 0xFFFu));
    kb = (uint16_t)(fs[0] | fs[1] << 8);
    if (dev_id == d->dev_id && kb == d->flash_size_kb) return 0;
    return oflash_error_set(OFLASH_EMISMATCH,
                            "the board on this port is not a %s: its chip has DEV_ID 0x%03X and %u "
                            "KiB of flash, expected DEV_ID 0x%03X and %u KiB",
                            d->name, dev_id, kb, d->dev_id, d->flash_size_kb);
}

/* Connect and read the UID.  0, or an error with the message set. */
static int unit_connect(unit *u)
{
    oflash_station *st = u->p->st;
    const oflash_device *d = st->dev;
    const oflash_family_id *id = d->family_ops ? &d->family_ops->id : NULL;
    oflash_probe_opts po = OFLASH_PROBE_OPTS_INIT;
    uint8_t raw[16];
    bool all00 = true, allff = true;
    int rc;

    po.device = d->name;
    if ((rc = CHIP(u, oflash_probe_open(&u->probe, u->p->spec, &po))) < 0) return rc;
    if ((rc = CHIP(u, oflash_probe_halt(u->probe))) < 0)
        return oflash_error_prefix("halting the core: ");
    if ((rc = CHIP(u, oflash_target_open_probe(&u->t, u->probe, d, NULL))) < 0) return rc;
    if ((rc = CHIP(u, check_identity(u->t, d))) < 0) return rc;
    if (!id || !id->uid_addr || !id->uid_len || id->uid_len > sizeof raw)
        return oflash_error_set(OFLASH_EUNSUPPORTED,
                                "%s has no unique ID register oflash knows: a production unit "
                                "needs one (its serial is bound to it)",
                                d->name);
    if ((rc = CHIP(u, oflash_flash_read(raw, u->t, id->uid_addr, id->uid_len, NULL, NULL))) < 0)
        return oflash_error_prefix("reading the chip's unique ID at 0x%08X: ", id->uid_addr);
    for (unsigned i = 0; i < id->uid_len; i++) {
        all00 = all00 && raw[i] == 0x00;
        allff = allff && raw[i] == 0xFF;
        snprintf(u->uid + 2 * i, 3, "%02x", raw[i]);
    }
    if (all00 || allff)
        return oflash_error_set(OFLASH_ETARGET,
                                "the chip's unique ID at 0x%08X reads as all 0x%02X: no ID to bind "
                                "a serial to (is the chip read-protected or not powered?)",
                                id->uid_addr, all00 ? 0 : 0xFF);
    return 0;
}

typedef struct progress_ctx {
    port *p;
    oflash_port_state last;
    unsigned last_pct;
} progress_ctx;

static void on_progress(void *ctx, oflash_phase phase, uint64_t done, uint64_t total)
{
    progress_ctx *pc = ctx;
    oflash_port_state s;
    unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
    switch (phase) {
    case OFLASH_PHASE_ERASE:
        s = OFLASH_PORT_ERASING;
        break;
    case OFLASH_PHASE_VERIFY:
    case OFLASH_PHASE_OTP_VERIFY:
    case OFLASH_PHASE_READ:
        s = OFLASH_PORT_VERIFYING;
        break;
    case OFLASH_PHASE_LOCK:
        s = OFLASH_PORT_LOCKING;
        break;
    default:
        s = OFLASH_PORT_PROGRAMMING;
        break;
    }
    /* Every state change and every 5 % step; no more (the lock is shared). */
    if (s == pc->last && pct < pc->last_pct + 5 && pct != 100) return;
    pc->last = s;
    pc->last_pct = pct;
    set_state(pc->p, s, pct);
}

static bool on_cancel(void *ctx)
{
    const oflash_station *st = ctx;
    return st->stop_requested != 0;
}

/* The text of the first plan conflict, for the port line and the ledger. */
static void describe_conflict(char *buf, size_t len, const oflash_plan *plan, const char *serial)
{
    const oflash_plan_conflict *c = &plan->conflicts[0];
    const char *why =
        c->kind == OFLASH_CONFLICT_OTP_LOCKED    ? "its OTP block is locked"
        : c->kind == OFLASH_CONFLICT_LOCK_BYTE   ? "the lock byte is set and cannot be cleared"
        : c->kind == OFLASH_CONFLICT_OTP_PARTIAL ? "an interrupted run left it partly programmed"
                                                 : "it was programmed before to another value";
    snprintf(buf, len,
             "chip refused, nothing written: OTP byte 0x%08X (block %u) holds 0x%02X where serial "
             "%s needs 0x%02X: %s (%zu conflicting byte%s)",
             c->addr, c->block, c->chip, serial, c->image, why, plan->conflict_count,
             plan->conflict_count == 1 ? "" : "s");
}

/* A copy of the job image with serial seq put in. */
static int unit_image(oflash_image **out, const oflash_station *st, uint64_t seq)
{
    oflash_image *img;
    int rc;
    *out = NULL;
    if ((rc = oflash_image_new(&img)) < 0) return rc;
    for (size_t i = 0; i < oflash_image_segment_count(st->img); i++) {
        const oflash_segment *s = oflash_image_segment(st->img, i);
        if ((rc = oflash_image_add(img, s->addr, s->data, s->size, s->source)) < 0) goto fail;
    }
    {
        uint32_t entry;
        if (oflash_image_entry(&entry, st->img)) oflash_image_set_entry(img, entry);
    }
    if ((rc = oflash_serial_apply(img, st->pool, seq)) < 0) goto fail;
    *out = img;
    return 0;
fail:
    oflash_image_free(img);
    return rc;
}

typedef enum unit_result {
    UNIT_PASS = 0,
    UNIT_FAIL,   /* the unit failed; the port goes on */
    UNIT_NOBOARD /* no unit: nothing to count (connection, halt) */
} unit_result;

/* "Writing starts" was refused or not recorded: the write gate held the
 * serial's bytes back, so the serial is not on the chip (the rest of the
 * image may be). */
static unit_result started_failed(unit *u, const oflash_unit_record *rec)
{
    port *p = u->p;
    char msg[768];
    if (u->started_rc == OFLASH_ECONFLICT) {
        /* The ledger took the reservation back (a reconcile): the unit is
         * not recorded. */
        snprintf(msg, sizeof msg, "serial %s not written: %.300s", rec->serial, u->started.msg);
        set_error(p, OFLASH_PORT_FAIL, msg);
        return UNIT_FAIL;
    }
    snprintf(msg, sizeof msg,
             "the database did not record that writing serial %s (UID %s) starts: %.300s; the "
             "serial was not written to the chip and no new unit is started",
             rec->serial, u->uid, u->started.msg);
    halt_station(p->st, u->started_rc, "%s", msg);
    set_error(p, OFLASH_PORT_FAIL, msg);
    return UNIT_FAIL;
}

/* Record the failure in the ledger (round trip 3) and on the port. */
static unit_result unit_fail(unit *u, oflash_unit_record *rec, const char *msg)
{
    port *p = u->p;
    oflash_station *st = p->st;
    bool committed = rec->state == OFLASH_UNIT_PASS;
    lane_req q;
    if (u->started_sent) {
        if (started_join(u, false) < 0) return started_failed(u, rec);
        rec->state = OFLASH_UNIT_WRITING;
    }
    rec->state = OFLASH_UNIT_FAIL;
    copy_str(rec->error, sizeof rec->error, msg);
    rec->end_us = wall_us();
    rec->duration_ms = (now_ns() - u->t_start) / 1000000u;
    if (committed) {
        /* A committed record never changes: nothing to tell the ledger. */
        set_error(p, OFLASH_PORT_FAIL, msg);
        return UNIT_FAIL;
    }
    memset(&q, 0, sizeof q);
    q.op = LANE_FINISH;
    q.rec = *rec;
    if (db_call(u, &q) < 0)
        halt_station(st, oflash_error_last_code(),
                     "the database did not take the failure of serial %s (UID %s): %s; no new "
                     "unit is started without the ledger",
                     rec->serial, u->uid, oflash_error_last());
    set_error(p, OFLASH_PORT_FAIL, msg);
    return UNIT_FAIL;
}

/* Readout protection: the part's family must be able to set it. */
static int check_rdp(const oflash_station *st)
{
    const oflash_device *d = st->dev;
    if (d->family_ops && d->family_ops->rdp_set && d->family_ops->rdp_get) return 0;
    return oflash_error_set(OFLASH_EUNSUPPORTED,
                            "job: readout protection (rdp = %d) asked, but oflash cannot set it on "
                            "%s (family %s); nothing was done",
                            st->job.rdp, d->name, d->family ? d->family : "unknown");
}

/* After verify: the level the job asks for (the same level again writes
 * nothing). */
static int set_rdp(oflash_target *t, const oflash_job *job)
{
    oflash_rdp_opts ro = OFLASH_RDP_OPTS_INIT;
    ro.allow_rdp2 = job->allow_rdp2;
    return oflash_target_set_rdp(t, job->rdp, &ro);
}

static unit_result run_unit(unit *u)
{
    port *p = u->p;
    oflash_station *st = p->st;
    const oflash_job *job = &st->job;
    oflash_unit_record info, rec;
    lane_req q;
    bool field_blank = true, noop;
    uint8_t field[OFLASH_SERIAL_FIELD_MAX];
    char msg[512];
    oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    oflash_flash_stats fs;
    oflash_probe_stats ps;
    oflash_target_view view;
    progress_ctx pc = {p, OFLASH_PORT_CONNECTING, 0};
    int rc;

    memset(&fs, 0, sizeof fs);
    /* 2. The field as the chip holds it. */
    if (CHIP(u, oflash_flash_read(field, u->t, st->field_addr, (uint32_t)st->field_size, NULL,
                                  NULL)) < 0) {
        snprintf(msg, sizeof msg,
                 "cannot read the serial field at 0x%08X (is the chip read-protected?): %s; "
                 "nothing written, no serial used",
                 st->field_addr, oflash_error_last());
        set_error(p, OFLASH_PORT_FAIL, msg);
        return UNIT_FAIL;
    }
    for (size_t i = 0; i < st->field_size; i++)
        field_blank = field_blank && field[i] == 0xFF;

    /* 3. Reserve. */
    memset(&info, 0, sizeof info);
    copy_str(info.image_sha256, sizeof info.image_sha256, st->image_sha256);
    copy_str(info.device, sizeof info.device, st->dev->name);
    copy_str(info.station, sizeof info.station, st->station);
    copy_str(info.uid, sizeof info.uid, u->uid);
    info.port = (int)p->index;
    info.start_us = u->wall_start;
    memset(&q, 0, sizeof q);
    q.op = LANE_RESERVE;
    q.rec = info;
    rc = db_call(u, &q);
    rec = q.out;
    if (rc < 0) {
        if (rc == OFLASH_ENOTFOUND)
            halt_station(st, rc, "%s", oflash_error_last());
        else
            halt_station(st, rc,
                         "the database did not answer the reservation for UID %s: %s; no unit "
                         "is programmed without a reservation",
                         u->uid, oflash_error_last());
        set_error(p, OFLASH_PORT_STOPPED, oflash_error_last());
        return UNIT_NOBOARD;
    }
    rec.start_us = u->wall_start;
    rec.port = (int)p->index;
    copy_str(rec.station, sizeof rec.station, st->station);
    copy_str(rec.image_sha256, sizeof rec.image_sha256, st->image_sha256);
    pthread_mutex_lock(&st->lock);
    copy_str(p->status.serial, sizeof p->status.serial, rec.serial);
    pthread_mutex_unlock(&st->lock);
    notify(p);

    /* 4. A chip that holds another serial is refused, unchanged. */
    if (!field_blank) {
        uint64_t seq;
        char text[OFLASH_SERIAL_TEXT_MAX];
        rc = oflash_serial_decode(&seq, text, st->pool, field, st->field_size);
        /* Only a serial the ledger bound to this UID (committed, or a write
         * in flight) may be on the chip; a fresh reservation means the
         * chip's serial came from elsewhere, even when it is the same. */
        if (rc == 0 && (seq != rec.seq || rec.state == OFLASH_UNIT_RESERVED)) {
            const oflash_unit_record *owner = &q.out;
            memset(&q, 0, sizeof q);
            q.op = LANE_FIND_SERIAL;
            copy_str(q.rec.serial, sizeof q.rec.serial, text);
            if (db_call(u, &q) == 0 && strcmp(owner->uid, u->uid) != 0)
                snprintf(msg, sizeof msg,
                         "chip refused, nothing written: it already holds serial %s (%s at "
                         "0x%08X), which the ledger gives to UID %s (%s), not to this chip (UID "
                         "%s)",
                         text, st->field_in_otp ? "OTP" : "flash", st->field_addr, owner->uid,
                         oflash_unit_state_name(owner->state), u->uid);
            else
                snprintf(msg, sizeof msg,
                         "chip refused, nothing written: it already holds serial %s (%s at "
                         "0x%08X), which this ledger does not know",
                         text, st->field_in_otp ? "OTP" : "flash", st->field_addr);
            return unit_fail(u, &rec, msg);
        }
        if (rc < 0 && st->field_in_otp) {
            snprintf(msg, sizeof msg,
                     "chip refused, nothing written: its OTP at 0x%08X holds \"%s\" where the "
                     "serial goes, which is no serial of this pool",
                     st->field_addr, text);
            return unit_fail(u, &rec, msg);
        }
    }

    /* 5. Image, journal, plan, checks. */
    if ((rc = unit_image(&u->img, st, rec.seq)) < 0) {
        snprintf(msg, sizeof msg, "putting serial %s into the image: %s", rec.serial,
                 oflash_error_last());
        return unit_fail(u, &rec, msg);
    }
    {
        oflash_journal_opts jo = OFLASH_JOURNAL_OPTS_INIT;
        jo.dir = st->opts.journal_dir;
        if (CHIP(u, oflash_journal_open(&u->journal, u->t, &jo)) < 0 ||
            CHIP(u, oflash_journal_recover(NULL, u->journal, u->t)) < 0) {
            snprintf(msg, sizeof msg, "recovery journal: %s", oflash_error_last());
            return unit_fail(u, &rec, msg);
        }
    }
    po.allow_otp = true;
    po.otp_resume = rec.state == OFLASH_UNIT_WRITING || rec.state == OFLASH_UNIT_VOID;
    oflash_journal_otp_started(&po.otp_started, &po.otp_started_count, u->journal);
    oflash_target_view_init(&view, u->t);
    rc = CHIP(u, oflash_plan_create(&u->plan, u->img, st->dev, &view, &po));
    if (rc == OFLASH_ECONFLICT && u->plan) {
        describe_conflict(msg, sizeof msg, u->plan, rec.serial);
        return unit_fail(u, &rec, msg);
    }
    if (rc < 0) {
        snprintf(msg, sizeof msg, "planning: %s", oflash_error_last());
        return unit_fail(u, &rec, msg);
    }
    if (CHIP(u, oflash_flash_check(u->t, u->plan)) < 0) {
        snprintf(msg, sizeof msg, "nothing written: %s", oflash_error_last());
        return unit_fail(u, &rec, msg);
    }
    noop = oflash_plan_is_noop(u->plan);
    if (rec.state == OFLASH_UNIT_PASS) {
        /* The same chip again.  Already as the job wants it: zero writes,
         * its committed record stays as it is.  Otherwise the line does not
         * rework a committed unit. */
        if (!noop) {
            oflash_plan_summary sum;
            oflash_plan_summarize(&sum, u->plan);
            snprintf(msg, sizeof msg,
                     "chip refused, nothing written: UID %s passed before as serial %s, but its "
                     "flash no longer matches this job's image (%zu sector%s to program, %zu OTP "
                     "byte%s): the line does not reprogram a committed unit (rework it with "
                     "oflash program)",
                     u->uid, rec.serial, sum.sectors_program, sum.sectors_program == 1 ? "" : "s",
                     sum.otp_bytes, sum.otp_bytes == 1 ? "" : "s");
            return unit_fail(u, &rec, msg);
        }
        if (job->rdp) {
            set_state(p, OFLASH_PORT_PROTECTING, 0);
            if (CHIP(u, set_rdp(u->t, job)) < 0) {
                snprintf(msg, sizeof msg,
                         "serial %s already programmed; setting readout protection level %d "
                         "failed: %s",
                         rec.serial, job->rdp, oflash_error_last());
                return unit_fail(u, &rec, msg);
            }
        }
        if (job->run && CHIP(u, oflash_probe_reset(u->probe, false)) < 0) {
            snprintf(msg, sizeof msg, "serial %s already programmed; reset-and-run failed: %s",
                     rec.serial, oflash_error_last());
            return unit_fail(u, &rec, msg);
        }
        pthread_mutex_lock(&st->lock);
        copy_str(p->status.last_serial, sizeof p->status.last_serial, rec.serial);
        pthread_mutex_unlock(&st->lock);
        return UNIT_PASS;
    }

    /* 6. Writing may start: the serial is bound to this UID from here on.
     * Sent ahead; the executor's write gate waits for it before the first
     * write over the serial field. */
    if (rec.state != OFLASH_UNIT_WRITING) {
        if (st->stop_requested) {
            snprintf(msg, sizeof msg, "stopped before anything was written");
            return unit_fail(u, &rec, msg);
        }
        started_send(u, &rec);
    }

    /* 7. Program, verify, OTP, locks; RDP; run. */
    if (!noop) {
        fo.verify = OFLASH_VERIFY_CRC;
        fo.progress = on_progress;
        fo.progress_ctx = &pc;
        fo.journal = u->journal;
        fo.cancel = on_cancel;
        fo.cancel_ctx = st;
        if (u->started_pending) {
            fo.gate = started_gate;
            fo.gate_ctx = u;
            fo.gate_addr = st->field_addr;
            fo.gate_len = (uint32_t)st->field_size;
        }
        rc = CHIP(u, oflash_flash_execute(&fs, u->t, u->plan, &fo));
        u->chip_ns -= u->gate_wait_ns < u->chip_ns ? u->gate_wait_ns : u->chip_ns;
        u->gate_wait_ns = 0;
        if (rc < 0) {
            rec.sectors_erased = fs.sectors_erased;
            rec.bytes_written = fs.bytes_programmed;
            rec.otp_bytes_written = fs.otp_bytes_programmed;
            snprintf(msg, sizeof msg, "%s%s",
                     rc == OFLASH_EINTERRUPTED ? "stopped by the operator at a safe point: " : "",
                     oflash_error_last());
            return unit_fail(u, &rec, msg);
        }
    }
    if (job->rdp) {
        set_state(p, OFLASH_PORT_PROTECTING, 0);
        if (CHIP(u, set_rdp(u->t, job)) < 0) {
            snprintf(msg, sizeof msg,
                     "programmed and verified, but setting readout protection level %d failed: %s",
                     job->rdp, oflash_error_last());
            return unit_fail(u, &rec, msg);
        }
    }
    if (job->run && CHIP(u, oflash_probe_reset(u->probe, false)) < 0) {
        snprintf(msg, sizeof msg, "programmed and verified, but reset-and-run failed: %s",
                 oflash_error_last());
        return unit_fail(u, &rec, msg);
    }

    /* 8. Commit, once writing-starts is recorded. */
    if (u->started_sent) {
        if (started_join(u, false) < 0) return started_failed(u, &rec);
        rec.state = OFLASH_UNIT_WRITING;
    }
    oflash_probe_get_stats(&ps, u->probe);
    rec.state = OFLASH_UNIT_PASS;
    rec.error[0] = '\0';
    rec.sectors_erased = fs.sectors_erased;
    rec.bytes_written = fs.bytes_programmed;
    rec.otp_bytes_written = fs.otp_bytes_programmed;
    rec.sim_time_ns = ps.has_sim_time ? ps.sim_time_ns : 0;
    rec.end_us = wall_us();
    rec.duration_ms = (now_ns() - u->t_start) / 1000000u;
    memset(&q, 0, sizeof q);
    q.op = LANE_FINISH;
    q.rec = rec;
    if (db_call(u, &q) < 0) {
        snprintf(msg, sizeof msg,
                 "serial %s is programmed and verified on UID %s but the database did not take "
                 "the record: %s; keep this board aside (the same board on the next run "
                 "completes it)",
                 rec.serial, u->uid, oflash_error_last());
        halt_station(st, oflash_error_last_code(), "%s", msg);
        set_error(p, OFLASH_PORT_FAIL, msg);
        return UNIT_FAIL;
    }
    pthread_mutex_lock(&st->lock);
    copy_str(p->status.last_serial, sizeof p->status.last_serial, rec.serial);
    pthread_mutex_unlock(&st->lock);
    return UNIT_PASS;
}

/* ---- the port thread ---- */

/* A unit may start: the job's count is not reached by passed + running. */
static bool claim(oflash_station *st, bool *wait)
{
    bool ok;
    *wait = false;
    pthread_mutex_lock(&st->lock);
    ok = !halted_locked(st) && (!st->job.units || st->claimed < st->job.units);
    if (ok) {
        st->claimed++;
        st->inflight++;
    } else if (!halted_locked(st) && st->inflight) {
        *wait = true; /* a unit in progress may still fail */
    }
    pthread_mutex_unlock(&st->lock);
    return ok;
}

/* A claimed unit that never started (no board). */
static void release(oflash_station *st)
{
    pthread_mutex_lock(&st->lock);
    st->claimed--;
    st->inflight--;
    pthread_mutex_unlock(&st->lock);
}

static void unclaim(oflash_station *st, unit_result r, const unit *u, uint64_t host_ns)
{
    port *p = u->p;
    uint64_t sim_ns = 0;
    if (u->probe) {
        oflash_probe_stats ps;
        oflash_probe_get_stats(&ps, u->probe);
        if (ps.has_sim_time) sim_ns = ps.sim_time_ns;
    }
    pthread_mutex_lock(&st->lock);
    st->inflight--;
    if (r != UNIT_PASS) st->claimed--;
    if (r == UNIT_PASS) {
        st->passed++;
        p->status.passed++;
        p->status.state = OFLASH_PORT_PASS;
        p->status.percent = 100;
        p->status.last_error[0] = '\0';
    } else if (r == UNIT_FAIL) {
        st->failed++;
        p->status.failed++;
    }
    if (r != UNIT_NOBOARD) {
        p->sim_ns += sim_ns;
        p->host_ns += host_ns;
        st->units_measured++;
        uint64_t over = host_ns > u->chip_ns + u->db_ns ? host_ns - u->chip_ns - u->db_ns : 0;
        p->over_ns += over + u->db_ns + u->db_model_ns;
        st->overhead_ns += over;
        st->db_ns += u->db_ns + u->db_model_ns;
        st->db_round_trips += u->db_trips;
    }
    p->status.uid[0] = '\0';
    p->status.serial[0] = '\0';
    pthread_mutex_unlock(&st->lock);
    notify(p);
}

static void *port_main(void *arg)
{
    port *p = arg;
    oflash_station *st = p->st;
    unsigned backoff = CONNECT_BACKOFF_MIN_MS;

    while (!should_stop(st)) {
        unit u;
        bool wait, claimed = false;
        unit_result r;
        /* A port whose board comes with the probe (sim-feed:, sim:) takes
         * its unit first: a board placed and not programmed would count as
         * a failed placement. */
        if (p->boards != BOARD_POLL) {
            if (!claim(st, &wait)) {
                if (!wait) break;
                set_state(p, OFLASH_PORT_IDLE, 0);
                nap(st, 50);
                continue;
            }
            claimed = true;
        }
        memset(&u, 0, sizeof u);
        u.p = p;
        u.t_start = now_ns();
        u.wall_start = wall_us();
        set_state(p, OFLASH_PORT_CONNECTING, 0);
        if (unit_connect(&u) < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "no board ready: %s", oflash_error_last());
            if (claimed) release(st);
            unit_close(&u);
            set_error(p, OFLASH_PORT_IDLE, msg);
            nap(st, backoff);
            backoff = backoff * 2 > CONNECT_BACKOFF_MAX_MS ? CONNECT_BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = CONNECT_BACKOFF_MIN_MS;
        if (p->boards == BOARD_POLL && !strcmp(u.uid, p->last_uid)) {
            /* The last board is still on the port. */
            unit_close(&u);
            set_state(p, OFLASH_PORT_IDLE, 0);
            nap(st, BOARD_POLL_MS);
            continue;
        }
        if (!claimed && !claim(st, &wait)) {
            unit_close(&u);
            if (!wait) break;
            set_state(p, OFLASH_PORT_IDLE, 0);
            nap(st, 50);
            continue;
        }
        pthread_mutex_lock(&st->lock);
        copy_str(p->status.uid, sizeof p->status.uid, u.uid);
        p->status.serial[0] = '\0';
        pthread_mutex_unlock(&st->lock);
        copy_str(p->last_uid, sizeof p->last_uid, u.uid);
        r = run_unit(&u);
        /* Every path out of a unit waited for its ledger steps; the
         * request lives in u. */
        if (u.started_pending) (void)started_join(&u, false);
        /* sim-feed: a passed board goes off the fixture; any other comes
         * back on the next placement (the operator's retry). */
        if (p->boards == BOARD_FEED && u.probe)
            (void)CHIP(&u, oflash_sim_feed_result(u.probe, r == UNIT_PASS));
        unclaim(st, r, &u, now_ns() - u.t_start);
        unit_close(&u);
        if (p->boards == BOARD_ONE) break;
    }
    pthread_mutex_lock(&st->lock);
    if (p->status.state != OFLASH_PORT_FAIL || st->stop_requested)
        p->status.state = OFLASH_PORT_STOPPED;
    pthread_mutex_unlock(&st->lock);
    notify(p);
    return NULL;
}

/* ---- create ---- */

/* Copy the job's strings into one buffer owned by the station. */
static int copy_job(oflash_station *st, const oflash_job *job)
{
    const char *src[OFLASH_JOB_MAX_IMAGES + OFLASH_STATION_MAX_PORTS + 5];
    const char **dst[OFLASH_JOB_MAX_IMAGES + OFLASH_STATION_MAX_PORTS + 5];
    size_t n = 0, total = 0;
    char *w;

    st->job = *job;
    for (size_t i = 0; i < job->nimages; i++) {
        src[n] = job->images[i];
        dst[n++] = &st->job.images[i];
    }
    for (size_t i = 0; i < job->nprobes; i++) {
        src[n] = job->probes[i];
        dst[n++] = &st->job.probes[i];
    }
    src[n] = job->device;
    dst[n++] = &st->job.device;
    src[n] = job->db_url;
    dst[n++] = &st->job.db_url;
    src[n] = job->station;
    dst[n++] = &st->job.station;
    src[n] = job->serial.prefix;
    dst[n++] = &st->job.serial.prefix;
    src[n] = job->serial.list_path;
    dst[n++] = &st->job.serial.list_path;
    for (size_t i = 0; i < n; i++)
        if (src[i]) total += strlen(src[i]) + 1;
    if (!(st->strbuf = malloc(total ? total : 1)))
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    w = st->strbuf;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        if (!src[i]) continue;
        l = strlen(src[i]) + 1;
        memcpy(w, src[i], l);
        *dst[i] = w;
        w += l;
    }
    return 0;
}

static int check_job(const oflash_job *job)
{
    if (!job || job->version < 1 || job->version > OFLASH_JOB_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "job: unknown structure version %u",
                                job ? job->version : 0);
    if (!job->nimages)
        return oflash_error_set(OFLASH_EINVAL, "job: no image given (image = FILE, or --image)");
    if (job->nimages > OFLASH_JOB_MAX_IMAGES)
        return oflash_error_set(OFLASH_EINVAL, "job: %zu images, at most %d", job->nimages,
                                OFLASH_JOB_MAX_IMAGES);
    if (!job->device || !job->device[0])
        return oflash_error_set(OFLASH_EINVAL, "job: no device given (device = NAME, or --device)");
    if (!job->nprobes)
        return oflash_error_set(OFLASH_EINVAL,
                                "job: no port given (probe = SPEC, or --probe; one per port)");
    if (job->nprobes > OFLASH_STATION_MAX_PORTS)
        return oflash_error_set(OFLASH_EINVAL, "job: %zu ports, at most %d", job->nprobes,
                                OFLASH_STATION_MAX_PORTS);
    for (size_t i = 0; i < job->nprobes; i++) {
        if (!job->probes[i] || !job->probes[i][0])
            return oflash_error_set(OFLASH_EINVAL, "job: port %zu has an empty probe", i + 1);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(job->probes[i], job->probes[k]))
                return oflash_error_set(OFLASH_EINVAL,
                                        "job: probe '%s' is given twice (ports %zu and %zu): one "
                                        "board per port",
                                        job->probes[i], k + 1, i + 1);
    }
    if (job->rdp < 0 || job->rdp > 2)
        return oflash_error_set(OFLASH_EINVAL,
                                "job: readout protection level %d: expected 0, 1 or 2", job->rdp);
    if (job->rdp == 2 && !job->allow_rdp2)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "job: readout protection level 2 is permanent (the chip can never "
                                "be read, debugged or reprogrammed again) and needs its own second "
                                "opt-in (rdp2_permanent = yes, or --rdp2-permanent); nothing was "
                                "done");
    if (!job->db_url || !job->db_url[0])
        return oflash_error_set(OFLASH_EINVAL,
                                "job: no database given (db = sqlite:PATH or postgresql://...)");
    if (job->station && strlen(job->station) >= 64)
        return oflash_error_set(OFLASH_EINVAL, "job: station name longer than 63 characters");
    return 0;
}

/* SHA-256 of the image: per segment its address and size (u32 LE), then
 * its bytes, in address order. */
static int image_sha256(char out[65], const oflash_image *img)
{
    oflash__sha256 h;
    uint8_t digest[32];
    int rc;
    if ((rc = oflash__sha256_init(&h)) < 0) return rc;
    for (size_t i = 0; i < oflash_image_segment_count(img); i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        uint8_t hdr[8];
        for (int k = 0; k < 4; k++) {
            hdr[k] = (uint8_t)(s->addr >> (8 * k));
            hdr[4 + k] = (uint8_t)(s->size >> (8 * k));
        }
        oflash__sha256_update(&h, hdr, sizeof hdr);
        oflash__sha256_update(&h, s->data, s->size);
    }
    oflash__sha256_final(digest, &h);
    oflash__sha256_hex(out, digest);
    return 0;
}

static int load_images(oflash_station *st)
{
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;
    oflash_image_region map[64];
    const char *base;
    int rc;
    if (st->dev->bank_count <= sizeof map / sizeof map[0]) {
        for (size_t i = 0; i < st->dev->bank_count; i++) {
            map[i].start = st->dev->banks[i].base;
            map[i].size = st->dev->banks[i].size;
        }
        lo.regions = map;
        lo.region_count = st->dev->bank_count;
    }
    if ((rc = oflash_image_new(&st->img)) < 0) return rc;
    for (size_t i = 0; i < st->job.nimages; i++)
        if ((rc = oflash_image_load(st->img, st->job.images[i], &lo)) < 0) return rc;
    if (!oflash_image_size(st->img))
        return oflash_error_set(OFLASH_EFORMAT, "job: the image '%s' holds no data",
                                st->job.images[0]);
    base = strrchr(st->job.images[0], '/');
    base = base ? base + 1 : st->job.images[0];
    if (st->job.nimages > 1)
        snprintf(st->image_name, sizeof st->image_name, "%.90s + %zu more", base,
                 st->job.nimages - 1);
    else
        snprintf(st->image_name, sizeof st->image_name, "%.120s", base);
    return 0;
}

/* Where the serial field goes: inside one flash or OTP bank of the device. */
static int check_field(oflash_station *st)
{
    const oflash_device *d = st->dev;
    uint32_t a = st->field_addr;
    uint64_t end = (uint64_t)a + st->field_size;
    const oflash_bank *b = oflash_device_bank_at(d, a);
    char map[512];
    if (b && end <= (uint64_t)b->base + b->size && b->kind != OFLASH_BANK_OTP_LOCK) {
        st->field_in_otp = b->kind == OFLASH_BANK_OTP;
        return 0;
    }
    oflash_device_describe_map(map, sizeof map, d);
    if (b && b->kind == OFLASH_BANK_OTP_LOCK)
        return oflash_error_set(OFLASH_ERANGE,
                                "serial field at 0x%08X: that is an OTP lock byte of %s, not a "
                                "place for data (%s)",
                                a, d->name, map);
    return oflash_error_set(OFLASH_ERANGE,
                            "serial field 0x%08X-0x%08X (%zu bytes) does not lie inside one flash "
                            "or OTP bank of %s (%s)",
                            a, (uint32_t)(end - 1), st->field_size, d->name, map);
}

/* --lock: 0x00 at the lock bytes of the OTP blocks the field covers. */
static int add_lock_bytes(oflash_station *st)
{
    const oflash_otp_rules *r = &st->otp;
    uint32_t first, last;
    if (!st->field_in_otp)
        return oflash_error_set(OFLASH_EINVAL,
                                "job: lock asked, but the serial field at 0x%08X is in main flash; "
                                "only OTP blocks can be locked (put the serial in OTP or drop "
                                "the lock)",
                                st->field_addr);
    if (r->kind != OFLASH_OTP_BLOCK_LOCK || !r->block_size)
        return oflash_error_set(OFLASH_EUNSUPPORTED,
                                "job: lock asked, but the OTP of %s has no lock bytes (each unit "
                                "is written once and cannot change anyway): drop the lock",
                                st->dev->name);
    first = (st->field_addr - r->data_base) / r->block_size;
    last = (uint32_t)(st->field_addr + st->field_size - 1 - r->data_base) / r->block_size;
    for (uint32_t b = first; b <= last; b++) {
        uint8_t zero = 0x00, have;
        uint32_t at = r->lock_base + b;
        if (oflash_image_read(&have, st->img, at, 1, 0xFF) == 1) {
            if (have == 0x00) continue;
            return oflash_error_set(OFLASH_EINVAL,
                                    "job: lock asked for OTP block %u, but the image sets its lock "
                                    "byte 0x%08X to 0x%02X (open)",
                                    b, at, have);
        }
        if (oflash_image_add(st->img, at, &zero, 1, "job: lock") < 0) return OFLASH_ENOMEM;
    }
    return 0;
}

/* The whole job planned against an erased chip: every static refusal of
 * the planner (bytes outside the banks, a partial OTP unit, ...) before
 * any port touches a chip. */
static int dry_plan(oflash_station *st)
{
    oflash_image *img = NULL, *blank = NULL;
    oflash_plan *plan = NULL;
    oflash_target_view view;
    oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
    int rc;
    po.allow_otp = true;
    if ((rc = unit_image(&img, st, 0)) < 0) {
        oflash_error_prefix("job: the serial field does not fit the image: ");
        goto out;
    }
    if ((rc = oflash_image_new(&blank)) < 0) goto out;
    oflash_target_view_from_image(&view, blank);
    if ((rc = oflash_plan_create(&plan, img, st->dev, &view, &po)) < 0)
        oflash_error_prefix("job: the image with a serial cannot be programmed on %s: ",
                            st->dev->name);
out:
    oflash_plan_free(plan);
    oflash_image_free(img);
    oflash_image_free(blank);
    return rc;
}

static void describe_scheme(oflash_station *st)
{
    const oflash_serial_scheme *s = &st->job.serial;
    char first[OFLASH_SERIAL_TEXT_MAX] = "";
    oflash_serial_text(first, st->pool, 0);
    snprintf(st->scheme, sizeof st->scheme,
             "%s, %u bytes%s%s, first %s, %zu-byte field at 0x%08X (%s)",
             oflash_serial_format_name(s->format), s->len, s->crc32 ? " + CRC-32" : "",
             s->list_path ? ", from a list" : "", first, st->field_size, st->field_addr,
             st->field_in_otp ? "OTP" : "flash");
}

/* A plan's look at the ledger: opened read-only, the pool looked up,
 * nothing written -- a missing ledger stays missing (ledger_new), an older
 * schema is not upgraded (its next serial is known once the first run has
 * upgraded it), a pool not there yet (pool_new) starts at the scheme's
 * first serial. */
static int plan_ledger(oflash_station *st)
{
    oflash_ledger_open_opts lo = OFLASH_LEDGER_OPEN_OPTS_INIT;
    oflash_ledger_counts n;
    bool exists = false;
    int rc;
    lo.read_only = true;
    rc = oflash_ledger_open_ext(&st->ledger, st->job.db_url, &lo);
    if (rc == OFLASH_ENOTFOUND) {
        st->ledger_new = st->pool_new = true;
        return oflash_serial_text(st->next_serial, st->pool, 0);
    }
    if (rc < 0) return oflash_error_prefix("database: ");
    st->ledger_schema = oflash_ledger_schema_version(st->ledger);
    if (st->ledger_schema < OFLASH_LEDGER_SCHEMA_VERSION) return 0;
    if (oflash_ledger_check_pool(&exists, st->ledger, st->pool) < 0)
        return oflash_error_prefix("database: ");
    st->pool_new = !exists;
    if (!exists) return oflash_serial_text(st->next_serial, st->pool, 0);
    if (oflash_ledger_counts_get(&n, st->ledger) < 0) return oflash_error_prefix("database: ");
    copy_str(st->next_serial, sizeof st->next_serial, n.next_serial);
    return 0;
}

int oflash_station_create(oflash_station **out, const oflash_job *job,
                          const oflash_station_opts *opts)
{
    oflash_station *st;
    bool sqlite;
    int rc;

    *out = NULL;
    if (opts && (opts->version < 1 || opts->version > OFLASH_STATION_OPTS_VERSION))
        return oflash_error_set(OFLASH_EINVAL, "station options: unknown structure version %u",
                                opts->version);
    if ((rc = check_job(job)) < 0) return rc;
    if (!(st = calloc(1, sizeof *st))) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    pthread_mutex_init(&st->lock, NULL);
    st->opts = (oflash_station_opts)OFLASH_STATION_OPTS_INIT;
    if (opts) /* a version 1 caller's structure ends before plan_only */
        memcpy(&st->opts, opts,
               opts->version >= 2 ? sizeof *opts : offsetof(oflash_station_opts, plan_only));
    if ((rc = copy_job(st, job)) < 0) goto fail;

    if (st->job.station) {
        copy_str(st->station, sizeof st->station, st->job.station);
    } else if (gethostname(st->station, sizeof st->station - 1) < 0 || !st->station[0]) {
        copy_str(st->station, sizeof st->station, "station");
    }

    /* Device and images. */
    if ((rc = oflash_devdb_open(&st->db, NULL)) < 0) goto fail;
    if ((rc = oflash_devdb_find(&st->dev, st->db, st->job.device)) < 0) goto fail;
    if ((rc = oflash_device_otp_rules(&st->otp, st->dev)) < 0) goto fail;
    if ((rc = load_images(st)) < 0) goto fail;

    /* The serial scheme against the image and the device. */
    if ((rc = oflash_serial_pool_open(&st->pool, &st->job.serial)) < 0) goto fail;
    st->field_addr = oflash_serial_field_addr(st->pool);
    st->field_size = oflash_serial_field_size(st->pool);
    if ((rc = check_field(st)) < 0) goto fail;
    if (st->job.lock && (rc = add_lock_bytes(st)) < 0) goto fail;
    if ((rc = image_sha256(st->image_sha256, st->img)) < 0) goto fail;
    if ((rc = dry_plan(st)) < 0) goto fail;
    if (st->job.rdp && (rc = check_rdp(st)) < 0) goto fail;
    describe_scheme(st);

    /* Ports and the database: one connection per port.  A plan only looks
     * (plan_ledger). */
    if (st->opts.plan_only)
        rc = plan_ledger(st);
    else if ((rc = oflash_ledger_open(&st->ledger, st->job.db_url)) < 0 ||
             (rc = oflash_ledger_use_pool(st->ledger, st->pool)) < 0)
        oflash_error_prefix("database: ");
    if (rc < 0) goto fail;
    st->nports = st->job.nprobes;
    sqlite = st->ledger && !strcmp(oflash_ledger_backend(st->ledger), "sqlite");
    for (size_t i = 0; i < st->nports; i++) {
        port *p = &st->ports[i];
        p->st = st;
        p->index = i;
        p->spec = st->job.probes[i];
        p->boards = !strncmp(p->spec, "sim-feed:", 9) ? BOARD_FEED
                    : !strncmp(p->spec, "sim:", 4)    ? BOARD_ONE
                                                      : BOARD_POLL;
        copy_str(p->status.probe, sizeof p->status.probe, p->spec);
        if (st->opts.plan_only) continue; /* no connection for a plan */
        /* SQLite: one lane (one writer) for the station, grouping the
         * ports' durable steps; PostgreSQL: a lane per port (the server
         * flushes concurrent commits together). */
        if (i == 0 || !sqlite) {
            if ((rc = oflash__lane_open(&st->lanes[st->nlanes], st->job.db_url, st->pool,
                                        sqlite ? LANE_GROUP : 0)) < 0) {
                oflash_error_prefix("database (connection for port %zu): ", i + 1);
                goto fail;
            }
            st->nlanes++;
        }
        p->lane = st->lanes[st->nlanes - 1];
    }
    *out = st;
    return 0;
fail:
    oflash_station_free(st);
    return rc;
}

/* ---- run, stop, status ---- */

int oflash_station_run(oflash_station *st)
{
    int rc = 0;
    size_t started = 0;
    uint64_t passed, failed;

    if (!st) return oflash_error_set(OFLASH_EINVAL, "no station");
    if (st->opts.plan_only)
        return oflash_error_set(OFLASH_EINVAL,
                                "this station was created for a plan only (plan_only): it runs "
                                "no unit");
    pthread_mutex_lock(&st->lock);
    if (st->running) {
        pthread_mutex_unlock(&st->lock);
        return oflash_error_set(OFLASH_EINVAL, "the station is already running");
    }
    st->running = true;
    clock_gettime(CLOCK_MONOTONIC, &st->t0);
    pthread_mutex_unlock(&st->lock);

    /* What a killed run of this station left: reservations given back,
     * started writes kept bound to their chips. */
    if ((rc = oflash_ledger_reconcile(&st->reconciled_released, &st->reconciled_inflight,
                                      st->ledger, st->station)) < 0) {
        oflash_error_prefix("database: reconciling station %s: ", st->station);
        goto out;
    }
    if (st->reconciled_released || st->reconciled_inflight)
        oflash_log(OFLASH_LOG_WARN,
                   "station %s was stopped before: %" PRIu64 " reservation%s given back, %" PRIu64
                   " started unit%s stay bound to their chips (completed when the board comes "
                   "back)",
                   st->station, st->reconciled_released, st->reconciled_released == 1 ? "" : "s",
                   st->reconciled_inflight, st->reconciled_inflight == 1 ? "" : "s");

    for (size_t i = 0; i < st->nports; i++) {
        port *p = &st->ports[i];
        if (pthread_create(&p->thread, NULL, port_main, p) != 0) {
            oflash_station_stop(st);
            rc = oflash_error_set(OFLASH_ENOMEM, "cannot start the thread of port %zu", i + 1);
            break;
        }
        p->thread_started = true;
        started++;
    }
    for (size_t i = 0; i < st->nports; i++) {
        if (!st->ports[i].thread_started) continue;
        pthread_join(st->ports[i].thread, NULL);
        st->ports[i].thread_started = false;
    }
    if (rc < 0) goto out;

    pthread_mutex_lock(&st->lock);
    passed = st->passed;
    failed = st->failed;
    if (st->halt_code) {
        rc = st->halt_code;
        oflash_error_set(rc, "%s", st->halt_reason);
    }
    pthread_mutex_unlock(&st->lock);
    if (rc < 0) goto out;
    if (st->stop_requested) {
        rc = oflash_error_set(OFLASH_EINTERRUPTED,
                              "stopped: %" PRIu64 " unit%s passed, %" PRIu64 " failed", passed,
                              passed == 1 ? "" : "s", failed);
    } else if (failed) {
        rc = oflash_error_set(OFLASH_ETARGET, "%" PRIu64 " of %" PRIu64 " unit%s failed", failed,
                              passed + failed, passed + failed == 1 ? "" : "s");
    } else if (st->job.units && passed < st->job.units) {
        rc = oflash_error_set(OFLASH_ETARGET,
                              "%" PRIu64 " of %" PRIu64 " units done: every port stopped (no "
                              "board)",
                              passed, st->job.units);
    }
out:
    pthread_mutex_lock(&st->lock);
    st->running = false;
    {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        st->elapsed_s = (double)(t1.tv_sec - st->t0.tv_sec) + (t1.tv_nsec - st->t0.tv_nsec) / 1e9;
    }
    pthread_mutex_unlock(&st->lock);
    (void)started;
    return rc;
}

void oflash_station_stop(oflash_station *st)
{
    if (st) st->stop_requested = 1;
}

void oflash_station_status_get(oflash_station_status *out, oflash_station *st)
{
    double rate = 0;
    memset(out, 0, sizeof *out);
    if (!st) return;
    copy_str(out->station, sizeof out->station, st->station);
    copy_str(out->device, sizeof out->device, st->dev ? st->dev->name : "");
    copy_str(out->image_name, sizeof out->image_name, st->image_name);
    copy_str(out->image_sha256, sizeof out->image_sha256, st->image_sha256);
    copy_str(out->scheme, sizeof out->scheme, st->scheme);
    pthread_mutex_lock(&st->lock);
    out->nports = st->nports;
    for (size_t i = 0; i < st->nports; i++) {
        const port *p = &st->ports[i];
        out->ports[i] = p->status;
        /* The line's rate: the sum of the ports' own rates.  A simulated
         * port's unit takes its simulated target time plus the station's
         * host time outside the chip's work (ledger, serial: a real line
         * waits for those too); any other port's, its host time. */
        uint64_t ns = p->sim_ns ? p->sim_ns + p->over_ns : p->host_ns;
        if (p->status.passed && ns) rate += (double)p->status.passed * 3600e9 / (double)ns;
    }
    out->passed = st->passed;
    out->failed = st->failed;
    out->units_per_hour = rate;
    out->running = st->running;
    if (st->running) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        out->elapsed_s = (double)(t1.tv_sec - st->t0.tv_sec) + (t1.tv_nsec - st->t0.tv_nsec) / 1e9;
    } else {
        out->elapsed_s = st->elapsed_s;
    }
    if (st->units_measured) {
        out->overhead_ms = (double)st->overhead_ns / 1e6 / (double)st->units_measured;
        out->db_round_trips = (double)st->db_round_trips / (double)st->units_measured;
        out->db_ms = (double)st->db_ns / 1e6 / (double)st->units_measured;
    }
    out->reconciled_released = st->reconciled_released;
    out->reconciled_inflight = st->reconciled_inflight;
    pthread_mutex_unlock(&st->lock);
    if (st->pool) copy_str(out->pool, sizeof out->pool, oflash_serial_pool_name(st->pool));
    out->pool_new = st->pool_new;
    copy_str(out->next_serial, sizeof out->next_serial, st->next_serial);
    out->ledger_new = st->ledger_new;
    out->ledger_schema = st->ledger_schema;
}

void oflash_station_free(oflash_station *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->nlanes; i++)
        oflash__lane_close(st->lanes[i]);
    oflash_ledger_close(st->ledger);
    oflash_serial_pool_free(st->pool);
    oflash_image_free(st->img);
    oflash_devdb_free(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st->strbuf);
    free(st);
}

const char *oflash_station_db_url(const oflash_station *st)
{
    return st ? st->job.db_url : "";
}
