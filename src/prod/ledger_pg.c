/*
 * ledger_pg.c - the ledger in PostgreSQL (libpq), for many stations
 * sharing one serial pool.
 *
 * Every unit step is one statement in its own implicit transaction, so one
 * round trip each.  Allocation is the server-side function oflash_reserve()
 * (schema step 2): the uid's own record if it has one, else the lowest
 * free seq taken with FOR UPDATE SKIP LOCKED, else the pool's counter row
 * advanced with UPDATE ... RETURNING; concurrent stations wait only on the
 * counter row, for the length of one short transaction.
 *
 * A lost connection (server restarted, network cut) is reconnected once
 * and the statement sent again only when the caller marked it idempotent.
 * The three unit steps are: reserve returns the uid's existing record when
 * it is sent again (the unique index allows one live record per uid), and
 * started / finish set a state by record id.  So a retry never binds a
 * second serial.  A statement inside an explicit transaction (the
 * migration) is never retried.
 */
#include "prod/ledger_internal.h"

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *oflash__pq_load_error(void);

static PGconn *conn_of(oflash_ledger *l)
{
    return l->db;
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation exists, skipping" and the like: the library never prints */
}

/* libpq's multi-line message as one line ("a; b"), without "ERROR:  ". */
static void one_line(char *out, size_t size, const char *msg)
{
    size_t n = 0;
    if (!msg || !*msg) msg = "no message from libpq";
    if (strncmp(msg, "ERROR:  ", 8) == 0) msg += 8;
    for (; *msg && n + 3 < size; msg++) {
        if (*msg == '\n') {
            if (msg[1] && msg[1] != '\n') {
                out[n++] = ';';
                out[n++] = ' ';
            }
        } else if (*msg != '\r') {
            out[n++] = *msg;
        }
    }
    out[n] = 0;
}

static int unreachable(oflash_ledger *l, const char *detail)
{
    char msg[768];
    one_line(msg, sizeof msg, detail);
    return oflash_error_set(OFLASH_ELINK,
                            "cannot reach the ledger database %s: %s; no serial can be reserved "
                            "until it answers",
                            l->display, msg);
}

static int pg_connect(oflash_ledger *l)
{
    /* Later keywords override earlier ones: the URL may set its own
     * connect_timeout and application_name. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {"5", "oflash", l->target, NULL};
    /* Read only (a plan, a status): every transaction of the session is
     * READ ONLY, so the server refuses any change. */
    const char *const ro_keys[] = {"connect_timeout", "application_name", "options", "dbname",
                                   NULL};
    const char *const ro_vals[] = {"5", "oflash", "-c default_transaction_read_only=on", l->target,
                                   NULL};
    /* A live-state connection never waits long: connect, every statement
     * and lock wait bounded, a dead peer noticed by TCP within seconds,
     * commits not flushed (PQreset keeps these). */
    static const char *const live[][2] = {
        {"connect_timeout", "2"},
        {"application_name", "oflash-live"},
        {"keepalives", "1"},
        {"keepalives_idle", "2"},
        {"keepalives_interval", "1"},
        {"keepalives_count", "2"},
        {"tcp_user_timeout", "3000"},
        {"options", "-c statement_timeout=2000 -c lock_timeout=2000 -c synchronous_commit=off"},
    };
    enum { NLIVE = sizeof live / sizeof live[0] };
    const char *live_keys[NLIVE + 2], *live_vals[NLIVE + 2];
    for (size_t i = 0; i < NLIVE; i++) {
        live_keys[i] = live[i][0];
        live_vals[i] = live[i][1];
    }
    live_keys[NLIVE] = "dbname";
    live_vals[NLIVE] = l->target;
    live_keys[NLIVE + 1] = live_vals[NLIVE + 1] = NULL;
    PGconn *c = PQconnectdbParams(l->live        ? live_keys
                                  : l->read_only ? ro_keys
                                                 : keys,
                                  l->live        ? live_vals
                                  : l->read_only ? ro_vals
                                                 : vals,
                                  1);
    if (!c)
        return oflash_error_set(OFLASH_ELINK, "cannot open the ledger database %s: %s", l->display,
                                oflash__pq_load_error());
    if (PQstatus(c) != CONNECTION_OK) {
        int rc = unreachable(l, PQerrorMessage(c));
        PQfinish(c);
        return rc;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    l->db = c;
    return 0;
}

static void pg_disconnect(oflash_ledger *l)
{
    PQfinish(conn_of(l));
    l->db = NULL;
}

static int result_error(oflash_ledger *l, PGresult *res)
{
    char msg[768];
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    one_line(msg, sizeof msg, res ? PQresultErrorMessage(res) : PQerrorMessage(conn_of(l)));
    if (PQstatus(conn_of(l)) == CONNECTION_BAD || (state && strncmp(state, "08", 2) == 0) ||
        (state && strncmp(state, "57P0", 4) == 0))
        return unreachable(l, msg);
    if (state && strncmp(state, "23", 2) == 0)
        return oflash_error_set(OFLASH_ECONFLICT, "the ledger database %s refused the change: %s",
                                l->display, msg);
    if (state && strcmp(state, "40P01") == 0)
        return oflash_error_set(OFLASH_ETIMEOUT, "the ledger database %s: %s", l->display, msg);
    return oflash_error_set(OFLASH_ERROR, "the ledger database %s: %s (SQLSTATE %s)", l->display,
                            msg, state ? state : "none");
}

/* After a failed statement: the connection is gone; reconnect.  A server
 * that is restarting refuses sessions for a moment ("the database system
 * is starting up") after it accepts TCP again: tries for up to
 * RECONNECT_MS, 100 ms apart; a server that stays down costs that long. */
#define RECONNECT_MS 2000
static bool reconnected(oflash_ledger *l)
{
    if (PQstatus(conn_of(l)) != CONNECTION_BAD) return false;
    for (int waited = 0;; waited += 100) {
        PQreset(conn_of(l));
        if (PQstatus(conn_of(l)) == CONNECTION_OK) break;
        if (waited >= RECONNECT_MS) return false;
        struct timespec d = {0, 100 * 1000000L};
        nanosleep(&d, NULL);
    }
    PQsetNoticeProcessor(conn_of(l), quiet_notice, NULL);
    return true;
}

static int pg_query(oflash_ledger *l, bool idempotent, const char *sql, int nparams,
                    const char *const *params, ledger_row_fn fn, void *ctx)
{
    for (int attempt = 0;; attempt++) {
        if (PQstatus(conn_of(l)) == CONNECTION_BAD &&
            !(idempotent && attempt == 0 && reconnected(l)))
            return unreachable(l, PQerrorMessage(conn_of(l)));
        PGresult *res = PQexecParams(conn_of(l), sql, nparams, NULL, params, NULL, NULL, 0);
        l->round_trips++;
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            int ret = 0, rows = PQntuples(res), cols = PQnfields(res);
            const char *vals[LEDGER_UNIT_NCOLS + 8];
            if (cols > (int)(sizeof vals / sizeof vals[0]))
                cols = (int)(sizeof vals / sizeof vals[0]);
            for (int r = 0; fn && r < rows && ret == 0; r++) {
                for (int c = 0; c < cols; c++)
                    vals[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
                ret = fn(ctx, cols, vals);
            }
            PQclear(res);
            return ret;
        }
        if (idempotent && attempt == 0 && PQstatus(conn_of(l)) == CONNECTION_BAD) {
            PQclear(res);
            if (reconnected(l)) continue;
            return unreachable(l, PQerrorMessage(conn_of(l)));
        }
        int rc = result_error(l, res);
        PQclear(res);
        return rc;
    }
}

static int pg_script(oflash_ledger *l, const char *sql)
{
    if (PQstatus(conn_of(l)) == CONNECTION_BAD) return unreachable(l, PQerrorMessage(conn_of(l)));
    PGresult *res = PQexec(conn_of(l), sql);
    l->round_trips++;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) rc = result_error(l, res);
    PQclear(res);
    return rc;
}

static const char *pg_migration(int v)
{
    switch (v) {
    case 1:
        return "CREATE TABLE oflash_schema (app TEXT NOT NULL, version INTEGER NOT NULL);"
               "CREATE TABLE pools ("
               " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
               " identity TEXT NOT NULL UNIQUE,"
               " size BIGINT NOT NULL CHECK (size >= 0),"
               " next_seq BIGINT NOT NULL DEFAULT 0 CHECK (next_seq >= 0 AND next_seq <= size),"
               " created_us BIGINT NOT NULL);"
               "CREATE TABLE units ("
               " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
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
               "CREATE FUNCTION oflash_free_seq() RETURNS trigger LANGUAGE plpgsql AS $f$"
               " BEGIN INSERT INTO free_seqs (pool_id, seq) VALUES (NEW.pool_id, NEW.seq)"
               " ON CONFLICT DO NOTHING; RETURN NULL; END $f$;"
               "CREATE TRIGGER units_free_seq AFTER UPDATE OF state ON units FOR EACH ROW"
               " WHEN (OLD.state = 'reserved' AND NEW.state IN ('released', 'fail'))"
               " EXECUTE FUNCTION oflash_free_seq();";
    case 2:
        return "ALTER TABLE units ADD COLUMN sim_time_ns BIGINT NOT NULL DEFAULT 0;"
               "CREATE INDEX units_start ON units (start_us);"
               "CREATE TABLE station_live ("
               " station TEXT PRIMARY KEY,"
               " updated_us BIGINT NOT NULL,"
               " status TEXT NOT NULL);"
               /* One round trip per reservation.  Returns no row when the
                * pool has no serial left. */
               "CREATE FUNCTION oflash_reserve(p_pool BIGINT, p_uid TEXT, p_sha TEXT,"
               " p_device TEXT, p_station TEXT, p_port INTEGER, p_now BIGINT)"
               " RETURNS SETOF units LANGUAGE plpgsql AS $f$"
               " DECLARE r units%ROWTYPE; s BIGINT;"
               " BEGIN"
               /* A reservation need not reach the disk on its own: see
                * docs/ledger.md "Durability". */
               "  PERFORM set_config('synchronous_commit', 'off', true);"
               "  FOR attempt IN 1..3 LOOP"
               "   SELECT * INTO r FROM units WHERE pool_id = p_pool AND uid = p_uid"
               "    AND state NOT IN ('released', 'fail');"
               "   IF FOUND THEN"
               "    IF r.state = 'reserved' THEN"
               "     UPDATE units SET image_sha256 = p_sha, device = p_device,"
               "      station = p_station, port = p_port, start_us = p_now"
               "      WHERE id = r.id RETURNING * INTO r;"
               "    END IF;"
               "    RETURN NEXT r; RETURN;"
               "   END IF;"
               "   BEGIN"
               "    s := NULL;"
               "    DELETE FROM free_seqs WHERE pool_id = p_pool AND seq ="
               "     (SELECT f.seq FROM free_seqs f WHERE f.pool_id = p_pool ORDER BY f.seq"
               "      LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING seq INTO s;"
               "    IF s IS NULL THEN"
               "     UPDATE pools SET next_seq = next_seq + 1"
               "      WHERE id = p_pool AND next_seq < size RETURNING next_seq - 1 INTO s;"
               "    END IF;"
               "    IF s IS NULL THEN RETURN; END IF;"
               "    INSERT INTO units (pool_id, seq, uid, state, image_sha256, device, station,"
               "     port, start_us) VALUES (p_pool, s, p_uid, 'reserved', p_sha, p_device,"
               "     p_station, p_port, p_now) RETURNING * INTO r;"
               "    RETURN NEXT r; RETURN;"
               "   EXCEPTION WHEN unique_violation THEN"
               /* the same chip reserved at the same moment on another
                * port: the seq taken here is rolled back, the loop takes
                * that chip's record */
               "    NULL;"
               "   END;"
               "  END LOOP;"
               "  RAISE EXCEPTION 'could not reserve a serial for chip % (3 attempts)', p_uid;"
               " END $f$;";
    case 3:
        return LEDGER_MIGRATION_3_SQL;
    default:
        return "SELECT no_such_migration";
    }
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

static int pg_reserve(oflash_unit_record *out, oflash_ledger *l, const char *uid,
                      const oflash_unit_record *info, int64_t now_us)
{
    char pool_s[24], port_s[16], now_s[24];
    snprintf(pool_s, sizeof pool_s, "%lld", (long long)l->pool_id);
    snprintf(port_s, sizeof port_s, "%d", info->port);
    snprintf(now_s, sizeof now_s, "%lld", (long long)now_us);
    const char *p[7] = {pool_s, uid,  info->image_sha256, info->device, info->station,
                        port_s, now_s};
    rec_ctx r = {out, l, 0};
    int rc = pg_query(l, true,
                      "SELECT " LEDGER_UNIT_COLS " FROM oflash_reserve(CAST($1 AS BIGINT), $2, $3, "
                      "$4, $5, CAST($6 AS INTEGER), CAST($7 AS BIGINT))",
                      7, p, row_rec, &r);
    if (rc < 0) return rc;
    return r.rows == 0 ? 1 : 0;
}

const ledger_backend oflash__ledger_pg = {
    .name = "postgresql",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .query = pg_query,
    .script = pg_script,
    .begin_migration = "BEGIN; SELECT pg_advisory_xact_lock(7308604897068083560)",
    .list_tables = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                   "ORDER BY tablename",
    .migration = pg_migration,
    .strpos = "strpos",
    .reserve = pg_reserve,
};
