/*
 * ledger_sqlite.c - the ledger in one SQLite file: WAL journal, full sync
 * (a committed unit survives a power loss of the host), a 30 s wait for
 * the write lock (stations on one host share the file; 2 s on a live-state
 * connection), foreign keys on.  A lock error states the wait it really had.
 *
 * Parameters are written $1, $2, ... in the common SQL; SQLite takes "$1"
 * as a named parameter, bound here by that name.  Allocation is one
 * BEGIN IMMEDIATE transaction: the write lock is taken before the first
 * read, so two processes never read the same counter.
 */
#include "prod/ledger_internal.h"

#include <errno.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SQLITE_BUSY_MS 30000

/* Another connection holds the write lock: wait 0.5-1.5 ms and try again,
 * for up to SQLITE_BUSY_MS.  SQLite's own busy timeout sleeps up to 100 ms
 * between tries, so with 8 stations on one file a waiter could lose every
 * race for 10 s (seen in bench/ledger.sh); short random waits give each
 * waiter its turn. */
static int busy_wait(void *arg, int tries)
{
    oflash_ledger *l = arg;
    struct timespec *start = &l->busy_start, now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (tries == 0) *start = now;
    long long ms =
        (long long)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
    l->busy_ms = ms;
    if (ms >= (l->live ? LEDGER_LIVE_WAIT_MS : SQLITE_BUSY_MS)) return 0;
    /* The clock's low digits as jitter: waiters do not wake in step. */
    struct timespec d = {0, 500000 + (now.tv_nsec / 3) % 1000000};
    nanosleep(&d, NULL);
    return 1;
}

static sqlite3 *db_of(oflash_ledger *l)
{
    return l->db;
}

static int sq_error(oflash_ledger *l, int rc, const char *what)
{
    sqlite3 *db = db_of(l);
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    const char *msg = db ? sqlite3_errmsg(db) : "cannot open";
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        /* The wait this statement really had: the busy handler's, or none
         * (SQLite gives up at once where waiting cannot help, e.g. another
         * program wrote the file since this transaction began to read). */
        if (l->busy_ms < 0)
            return oflash_error_set(OFLASH_ETIMEOUT,
                                    "the ledger file %s is in use by another program (%s); "
                                    "SQLite gave up at once, without waiting (%s)",
                                    l->target, msg, what);
        return oflash_error_set(OFLASH_ETIMEOUT,
                                "the ledger file %s stayed locked by another program for %.1f s "
                                "(%s)",
                                l->target, (double)l->busy_ms / 1000, what);
    case SQLITE_NOTADB:
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s is not an SQLite database, so not an oflash ledger; nothing "
                                "was changed",
                                l->target);
    case SQLITE_CONSTRAINT:
        return oflash_error_set(OFLASH_ECONFLICT, "the ledger %s refused %s: %s", l->target, what,
                                msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return oflash_error_set(OFLASH_EIO, "cannot %s the ledger file %s: %s", what, l->target,
                                msg);
    default:
        return oflash_error_set(OFLASH_ERROR, "ledger file %s: %s failed: %s (SQLite code %d)",
                                l->target, what, msg, ext);
    }
}

static int sq_script(oflash_ledger *l, const char *sql)
{
    char *err = NULL;
    l->busy_ms = -1;
    int rc = sqlite3_exec(db_of(l), sql, NULL, NULL, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) return sq_error(l, rc, "update");
    return 0;
}

static int sq_connect(oflash_ledger *l)
{
    sqlite3 *db = NULL;
    l->busy_ms = -1;
    /* Read only: an existing file only (a plan or a status never creates
     * one); query_only makes SQLite refuse any change. */
    struct stat sb;
    if (l->read_only && stat(l->target, &sb) < 0 && errno == ENOENT)
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "no ledger at %s yet: the first 'oflash prod run' creates it",
                                l->target);
    int rc = sqlite3_open_v2(l->target, &db,
                             SQLITE_OPEN_READWRITE | (l->read_only ? 0 : SQLITE_OPEN_CREATE), NULL);
    l->db = db;
    if (rc != SQLITE_OK) {
        if (!db)
            return oflash_error_set(OFLASH_EIO, "cannot open the ledger file %s: %s", l->target,
                                    sqlite3_errmsg(NULL));
        rc = sq_error(l, rc, "open");
        sqlite3_close_v2(db);
        l->db = NULL;
        return rc;
    }
    sqlite3_busy_handler(db, busy_wait, l);
    /* journal_mode answers a row; sqlite3_exec ignores it.  A live-state
     * connection does not flush its commits (WAL + NORMAL: durable at the
     * next checkpoint; a heartbeat lost with the host's power is no loss). */
    rc = l->read_only
             ? sq_script(l, "PRAGMA query_only = ON; PRAGMA foreign_keys = ON")
             : sq_script(l, l->live ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                                      "PRAGMA foreign_keys = ON"
                                    : "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                                      "PRAGMA foreign_keys = ON");
    if (rc < 0) {
        sqlite3_close_v2(db);
        l->db = NULL;
    }
    return rc;
}

static void sq_disconnect(oflash_ledger *l)
{
    sqlite3_close_v2(db_of(l));
    l->db = NULL;
}

static int sq_query(oflash_ledger *l, bool idempotent, const char *sql, int nparams,
                    const char *const *params, ledger_row_fn fn, void *ctx)
{
    (void)idempotent;
    sqlite3_stmt *st = NULL;
    l->busy_ms = -1;
    int rc = sqlite3_prepare_v2(db_of(l), sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return sq_error(l, rc, "read or update");
    for (int i = 0; i < nparams; i++) {
        char name[16];
        snprintf(name, sizeof name, "$%d", i + 1);
        int idx = sqlite3_bind_parameter_index(st, name);
        if (idx > 0 && sqlite3_bind_text(st, idx, params[i], -1, SQLITE_TRANSIENT) != SQLITE_OK) {
            rc = sq_error(l, sqlite3_extended_errcode(db_of(l)), "read or update");
            sqlite3_finalize(st);
            return rc;
        }
    }
    int ret = 0;
    const char *vals[LEDGER_UNIT_NCOLS + 8];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_count(st);
        if (n > (int)(sizeof vals / sizeof vals[0])) n = (int)(sizeof vals / sizeof vals[0]);
        for (int i = 0; i < n; i++)
            vals[i] = (const char *)sqlite3_column_text(st, i);
        if (fn && (ret = fn(ctx, n, vals)) != 0) break;
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        ret = sq_error(l, rc, "read or update");
        sqlite3_finalize(st);
        return ret;
    }
    sqlite3_finalize(st);
    return ret;
}

static const char *sq_migration(int v)
{
    switch (v) {
    case 1:
        return "CREATE TABLE oflash_schema (app TEXT NOT NULL, version INTEGER NOT NULL);"
               "CREATE TABLE pools ("
               " id INTEGER PRIMARY KEY AUTOINCREMENT,"
               " identity TEXT NOT NULL UNIQUE,"
               " size BIGINT NOT NULL CHECK (size >= 0),"
               " next_seq BIGINT NOT NULL DEFAULT 0 CHECK (next_seq >= 0 AND next_seq <= size),"
               " created_us BIGINT NOT NULL);"
               "CREATE TABLE units ("
               " id INTEGER PRIMARY KEY AUTOINCREMENT,"
               " pool_id BIGINT NOT NULL REFERENCES pools (id),"
               " seq BIGINT NOT NULL CHECK (seq >= 0),"
               " serial TEXT NOT NULL DEFAULT '',"
               " uid TEXT NOT NULL,"
               " state TEXT NOT NULL CHECK (state IN ('reserved', 'writing', 'pass', 'fail',"
               "  'void', 'released')),"
               " image_sha256 TEXT NOT NULL DEFAULT '',"
               " device TEXT NOT NULL DEFAULT '',"
               " station TEXT NOT NULL DEFAULT '',"
               " port INTEGER NOT NULL DEFAULT 0,"
               " error TEXT NOT NULL DEFAULT '',"
               " start_us BIGINT NOT NULL DEFAULT 0,"
               " end_us BIGINT NOT NULL DEFAULT 0,"
               " duration_ms BIGINT NOT NULL DEFAULT 0,"
               " sectors_erased BIGINT NOT NULL DEFAULT 0,"
               " bytes_written BIGINT NOT NULL DEFAULT 0,"
               " otp_bytes_written BIGINT NOT NULL DEFAULT 0);"
               "CREATE UNIQUE INDEX units_serial_once ON units (pool_id, seq)"
               " WHERE state NOT IN ('released', 'fail');"
               "CREATE UNIQUE INDEX units_uid_once ON units (pool_id, uid)"
               " WHERE state NOT IN ('released', 'fail');"
               "CREATE INDEX units_station ON units (station, state);"
               "CREATE TABLE free_seqs ("
               " pool_id BIGINT NOT NULL REFERENCES pools (id),"
               " seq BIGINT NOT NULL,"
               " PRIMARY KEY (pool_id, seq));"
               "CREATE TRIGGER units_free_seq AFTER UPDATE OF state ON units"
               " WHEN OLD.state = 'reserved' AND NEW.state IN ('released', 'fail')"
               " BEGIN INSERT OR IGNORE INTO free_seqs (pool_id, seq)"
               " VALUES (NEW.pool_id, NEW.seq); END;";
    case 2:
        return "ALTER TABLE units ADD COLUMN sim_time_ns BIGINT NOT NULL DEFAULT 0;"
               "CREATE INDEX units_start ON units (start_us);"
               "CREATE TABLE station_live ("
               " station TEXT PRIMARY KEY,"
               " updated_us BIGINT NOT NULL,"
               " status TEXT NOT NULL);";
    case 3:
        return LEDGER_MIGRATION_3_SQL;
    default:
        return "SELECT no_such_migration";
    }
}

typedef struct first_i64 {
    long long v;
    int rows;
} first_i64;

static int row_i64(void *ctx, int ncols, const char *const *vals)
{
    first_i64 *f = ctx;
    if (ncols > 0 && vals[0] && f->rows++ == 0) f->v = strtoll(vals[0], NULL, 10);
    return 0;
}

typedef struct rec_ctx {
    oflash_unit_record *out;
    oflash_ledger *l;
    int rows;
} rec_ctx;

static int row_rec(void *ctx, int ncols, const char *const *vals)
{
    rec_ctx *r = ctx;
    if (r->rows++ > 0) return 0;
    return oflash__ledger_row_to_record(r->out, r->l, ncols, vals);
}

static int sq_reserve_locked(oflash_unit_record *out, oflash_ledger *l, const char *uid,
                             const oflash_unit_record *info, int64_t now_us)
{
    char pool_s[24], port_s[16], now_s[24], seq_s[24];
    snprintf(pool_s, sizeof pool_s, "%lld", (long long)l->pool_id);
    snprintf(port_s, sizeof port_s, "%d", info->port);
    snprintf(now_s, sizeof now_s, "%lld", (long long)now_us);
    const char *p[8] = {pool_s, uid,  info->image_sha256, info->device, info->station, port_s,
                        now_s,  seq_s};
    rec_ctx r = {out, l, 0};
    /* The uid's own record first: a rerun gets its serial back. */
    int rc = sq_query(l, false,
                      "SELECT " LEDGER_UNIT_COLS " FROM units WHERE pool_id = CAST($1 AS BIGINT) "
                      "AND uid = $2 AND state NOT IN ('released', 'fail')",
                      2, p, row_rec, &r);
    if (rc < 0 || r.rows > 0) {
        if (rc == 0 && out->state == OFLASH_UNIT_RESERVED) {
            r.rows = 0;
            snprintf(seq_s, sizeof seq_s, "%lld", (long long)out->id);
            rc = sq_query(l, false,
                          "UPDATE units SET image_sha256 = $3, device = $4, station = $5, "
                          "port = CAST($6 AS INTEGER), start_us = CAST($7 AS BIGINT) "
                          "WHERE id = CAST($8 AS BIGINT) RETURNING " LEDGER_UNIT_COLS,
                          8, p, row_rec, &r);
        }
        return rc;
    }
    /* The lowest seq given back, else the next one of the counter. */
    first_i64 f = {0, 0};
    rc = sq_query(l, false,
                  "DELETE FROM free_seqs WHERE pool_id = CAST($1 AS BIGINT) AND seq = "
                  "(SELECT min(seq) FROM free_seqs WHERE pool_id = CAST($1 AS BIGINT)) "
                  "RETURNING seq",
                  1, p, row_i64, &f);
    if (rc == 0 && f.rows == 0)
        rc = sq_query(l, false,
                      "UPDATE pools SET next_seq = next_seq + 1 WHERE id = CAST($1 AS BIGINT) "
                      "AND next_seq < size RETURNING next_seq - 1",
                      1, p, row_i64, &f);
    if (rc < 0) return rc;
    if (f.rows == 0) return 1;
    snprintf(seq_s, sizeof seq_s, "%lld", f.v);
    return sq_query(l, false,
                    "INSERT INTO units (pool_id, seq, uid, state, image_sha256, device, station, "
                    "port, start_us) VALUES (CAST($1 AS BIGINT), CAST($8 AS BIGINT), $2, "
                    "'reserved', $3, $4, $5, CAST($6 AS INTEGER), CAST($7 AS BIGINT)) "
                    "RETURNING " LEDGER_UNIT_COLS,
                    8, p, row_rec, &r);
}

/* COMMIT, or ROLLBACK when it fails (the transaction would stay open and
 * every later BEGIN fail). */
static int commit(oflash_ledger *l)
{
    int rc = sq_script(l, "COMMIT");
    if (rc < 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", oflash_error_last());
        sq_script(l, "ROLLBACK");
        oflash_error_set(rc, "%s", msg);
    }
    return rc;
}

static int sq_reserve(oflash_unit_record *out, oflash_ledger *l, const char *uid,
                      const oflash_unit_record *info, int64_t now_us)
{
    /* A reservation need not reach the disk on its own (docs/ledger.md
     * "Durability"): its commit is not flushed; started's is, and with it
     * everything before it in the WAL. */
    int rc = sq_script(l, "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE");
    if (rc == 0) {
        rc = sq_reserve_locked(out, l, uid, info, now_us);
        if (rc != 0) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", oflash_error_last());
            sq_script(l, "ROLLBACK");
            if (rc < 0) oflash_error_set(rc, "%s", msg);
        } else {
            rc = commit(l);
        }
    }
    if (sq_script(l, "PRAGMA synchronous = FULL") < 0 && rc == 0) rc = OFLASH_EIO;
    return rc;
}

const ledger_backend oflash__ledger_sqlite = {
    .name = "sqlite",
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .query = sq_query,
    .script = sq_script,
    .begin_migration = "BEGIN IMMEDIATE",
    .list_tables = "SELECT name FROM sqlite_master WHERE type = 'table' "
                   "AND name NOT LIKE 'sqlite_%' ORDER BY name",
    .migration = sq_migration,
    .strpos = "instr",
    .reserve = sq_reserve,
};
