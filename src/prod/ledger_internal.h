/*
 * ledger_internal.h - what ledger.c (common logic) shares with its two
 * backends, ledger_sqlite.c and ledger_pg.c.
 *
 * The common code speaks SQL through one call, query(): one statement,
 * parameters as text written $1, $2, ... (SQLite binds them by those
 * names), every result value as text (NULL for SQL NULL).  Only what the
 * two databases cannot say alike is a backend operation: opening, the
 * DDL of the schema, and reserve (PostgreSQL: one call of a server-side
 * function, one round trip; SQLite: one BEGIN IMMEDIATE transaction).
 *
 * Invariant: every public oflash_ledger_* call holds l->lock for its
 * whole duration, so a ledger may be shared by threads; l->round_trips
 * counts the requests the backend sent to a server (0 for SQLite, which
 * has no server).
 */
#ifndef OFLASH_LEDGER_INTERNAL_H
#define OFLASH_LEDGER_INTERNAL_H

#include "oflash/error.h"
#include "oflash/prod.h"

#include <pthread.h>
#include <time.h>

/* The schema version this code writes and reads (docs/ledger.md). */
#define LEDGER_SCHEMA_VERSION OFLASH_LEDGER_SCHEMA_VERSION
/* oflash_schema.app: tells our database from any other. */
#define LEDGER_APP "oflash-ledger"

/* Columns of a unit record, in the order ledger_row_to_record reads them. */
#define LEDGER_UNIT_COLS                                                                           \
    "id, seq, serial, uid, state, image_sha256, device, station, port, error, start_us, "          \
    "end_us, duration_ms, sectors_erased, bytes_written, otp_bytes_written, sim_time_ns, pool_id"
#define LEDGER_UNIT_NCOLS 18

/* One result row: ncols values as text, NULL for SQL NULL.  Returning
 * non-zero stops the walk and becomes query()'s result. */
typedef int (*ledger_row_fn)(void *ctx, int ncols, const char *const *vals);

typedef struct ledger_backend ledger_backend;

struct oflash_ledger {
    const ledger_backend *be;
    void *db;      /* sqlite3 * or PGconn * */
    char *target;  /* the path or the connection URL */
    char *display; /* the URL without its password, for messages */
    pthread_mutex_t lock;
    int schema_version;
    int64_t pool_id; /* 0 until oflash_ledger_use_pool */
    uint64_t pool_size;
    const oflash_serial_pool *pool;
    uint64_t round_trips;
    struct timespec busy_start; /* SQLite: when the current wait for the lock began */
    /* SQLite: how long the last statement waited for the lock (ms), -1 if
     * SQLite gave up without asking the busy handler to wait. */
    long long busy_ms;
    /* A connection for the live state only (oflash__ledger_open_live):
     * short waits everywhere, no flush to disk. */
    bool live;
    /* oflash_ledger_open_ext read_only: nothing created, upgraded or
     * changed (need_writable); the database refuses writes too. */
    bool read_only;
    /* oflash_ledger_use_stored_pool: the pool opened from the ledger. */
    oflash_serial_pool *own_pool;
};

struct ledger_backend {
    const char *name;
    /* Connect to l->target (l->db set); errors name l->display. */
    int (*connect)(oflash_ledger *l);
    void (*disconnect)(oflash_ledger *l);
    /* One statement.  idempotent: after a lost connection, reconnect
     * once and send it again (PostgreSQL). */
    int (*query)(oflash_ledger *l, bool idempotent, const char *sql, int nparams,
                 const char *const *params, ledger_row_fn fn, void *ctx);
    /* Statements separated by ';', no parameters, no results. */
    int (*script)(oflash_ledger *l, const char *sql);
    /* Begin the migration transaction (serialises concurrent openers). */
    const char *begin_migration;
    /* The user tables of the database, for telling an empty, an oflash
     * and a foreign database apart: one row each, the name. */
    const char *list_tables;
    /* DDL of schema step v (1..LEDGER_SCHEMA_VERSION): from v-1 to v. */
    const char *(*migration)(int v);
    /* "instr" / "strpos": the position of $2 in $1, 0 if absent. */
    const char *strpos;
    /* The reserve round trip (see oflash_ledger_reserve): fills *out, or
     * returns 1 when the pool has no serial left. */
    int (*reserve)(oflash_unit_record *out, oflash_ledger *l, const char *uid,
                   const oflash_unit_record *info, int64_t now_us);
};

extern const ledger_backend oflash__ledger_sqlite;
extern const ledger_backend oflash__ledger_pg;

/* Row -> record (LEDGER_UNIT_COLS).  Fills the serial text from the pool
 * in use when the database has none yet (a RESERVED record). */
int oflash__ledger_row_to_record(oflash_unit_record *out, const oflash_ledger *l, int ncols,
                                 const char *const *vals);
/* Parse the state names stored in the database. */
int oflash__ledger_state_parse(oflash_unit_state *out, const char *name);
int64_t oflash__ledger_now_us(void);

/* For tests and the benchmark: connect without looking at the schema,
 * run a script (a hand-made old or foreign schema), count round trips. */
int oflash__ledger_open_raw(oflash_ledger **out, const char *url);
/* oflash_ledger_open for a connection that only puts live state
 * (oflash_ledger_live_put): it never waits long for anything -- SQLite's
 * lock LEDGER_LIVE_WAIT_MS at most, PostgreSQL's connect, statements,
 * locks and a dead peer bounded likewise -- and its commits are not
 * flushed to disk (the live state is a heartbeat, not a record). */
int oflash__ledger_open_live(oflash_ledger **out, const char *url);
#define LEDGER_LIVE_WAIT_MS 2000
int oflash__ledger_script(oflash_ledger *l, const char *sql);
uint64_t oflash__ledger_round_trips(const oflash_ledger *l);

/* Schema step 3, the same SQL on SQLite and PostgreSQL: each pool's name
 * and scheme (oflash_ledger_use_pool); the oldest pool is "default", any
 * other "pool-ID".  The schemes of existing pools are read back from
 * their identity lines in C (schemes_from_identities). */
#define LEDGER_MIGRATION_3_SQL                                                                     \
    "ALTER TABLE pools ADD COLUMN name TEXT;"                                                      \
    "ALTER TABLE pools ADD COLUMN scheme_at BIGINT;"                                               \
    "ALTER TABLE pools ADD COLUMN scheme_format TEXT;"                                             \
    "ALTER TABLE pools ADD COLUMN scheme_len INTEGER;"                                             \
    "ALTER TABLE pools ADD COLUMN scheme_prefix TEXT;"                                             \
    "ALTER TABLE pools ADD COLUMN scheme_crc32 INTEGER;"                                           \
    "ALTER TABLE pools ADD COLUMN scheme_start BIGINT;"                                            \
    "ALTER TABLE pools ADD COLUMN scheme_step BIGINT;"                                             \
    "ALTER TABLE pools ADD COLUMN list_name TEXT;"                                                 \
    "ALTER TABLE pools ADD COLUMN list_text TEXT;"                                                 \
    "UPDATE pools SET name = CASE WHEN id = (SELECT min(id) FROM pools)"                           \
    " THEN 'default' ELSE 'pool-' || CAST(id AS TEXT) END;"                                        \
    "CREATE UNIQUE INDEX pools_name ON pools (name);"

#endif
