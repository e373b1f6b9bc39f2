/*
 * ledger.c - the serial ledger: the common logic of both databases.
 *
 * What lives here: URL parsing, the schema check and the migrations (the
 * DDL of each step comes from the backend), the unit state machine
 * (started, finish, reconcile), the queries, the counts and the export
 * (CSV after RFC 4180, JSON written with jansson).  What the backends do:
 * see ledger_internal.h.
 *
 * The state machine, as the SQL below enforces it (docs/ledger.md):
 *
 *   reserve   -> RESERVED (or the uid's own WRITING / VOID / PASS record)
 *   started   RESERVED | WRITING | VOID -> WRITING          (PASS: kept)
 *   finish    PASS: RESERVED | WRITING | VOID -> PASS       (PASS: kept)
 *             FAIL: RESERVED -> FAIL (seq freed), WRITING | VOID -> VOID
 *             VOID: RESERVED | WRITING | VOID -> VOID
 *   reconcile RESERVED of the station -> RELEASED (seq freed)
 *
 * A seq leaves the free list only through reserve and enters it only by
 * the database's trigger on RESERVED -> FAIL | RELEASED, so a serial whose
 * write may have started (WRITING, PASS, VOID) is never handed out again;
 * the unique indexes units_serial_once and units_uid_once refuse anything
 * else even if this code were wrong.
 */
#include "prod/ledger_internal.h"
#include "prod/prod_internal.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const state_names[] = {"reserved", "writing", "pass",
                                          "fail",     "void",    "released"};

const char *oflash_unit_state_name(oflash_unit_state s)
{
    if ((unsigned)s < sizeof state_names / sizeof state_names[0]) return state_names[s];
    return "unknown";
}

int oflash__ledger_state_parse(oflash_unit_state *out, const char *name)
{
    for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
        if (name && strcmp(name, state_names[i]) == 0) {
            *out = (oflash_unit_state)i;
            return 0;
        }
    return oflash_error_set(OFLASH_EFORMAT, "the ledger holds a unit in an unknown state '%s'",
                            name ? name : "(null)");
}

int64_t oflash__ledger_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

/* The URL without a password ("postgresql://user:secret@h/db" ->
 * "postgresql://user@h/db"; "password=..." parameters dropped). */
static char *redact(const char *url)
{
    char *s = strdup(url);
    if (!s) return NULL;
    char *scheme = strstr(s, "://");
    if (scheme) {
        char *auth = scheme + 3;
        char *at = strchr(auth, '@');
        char *slash = strchr(auth, '/');
        char *colon = strchr(auth, ':');
        if (at && (!slash || at < slash) && colon && colon < at) memmove(colon, at, strlen(at) + 1);
    }
    char *p = strstr(s, "password=");
    if (p && (p == s || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ')) {
        char *end = p + strcspn(p, "& ");
        if (*end) end++;
        memmove(p, end, strlen(end) + 1);
    }
    return s;
}

static void ledger_free(oflash_ledger *l)
{
    if (!l) return;
    if (l->db && l->be) l->be->disconnect(l);
    oflash_serial_pool_free(l->own_pool);
    pthread_mutex_destroy(&l->lock);
    free(l->target);
    free(l->display);
    free(l);
}

static int open_raw(oflash_ledger **out, const char *url, bool live, bool read_only)
{
    *out = NULL;
    if (!url || !*url)
        return oflash_error_set(OFLASH_EINVAL, "no ledger database given (sqlite:PATH or "
                                               "postgresql://HOST/DB)");
    const ledger_backend *be;
    const char *target;
    if (strncmp(url, "sqlite:", 7) == 0) {
        be = &oflash__ledger_sqlite;
        target = url + 7;
        if (strncmp(target, "//", 2) == 0) target += 2;
        if (!*target)
            return oflash_error_set(OFLASH_EINVAL,
                                    "ledger URL '%s' names no file (write "
                                    "sqlite:PATH, e.g. sqlite:line1.db)",
                                    url);
    } else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        be = &oflash__ledger_pg;
        target = url;
    } else {
        return oflash_error_set(
            OFLASH_EINVAL, "ledger URL '%s' is neither sqlite:PATH nor postgresql://HOST/DB", url);
    }
    oflash_ledger *l = calloc(1, sizeof *l);
    if (!l) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&l->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    l->be = be;
    l->live = live;
    l->read_only = read_only;
    l->target = strdup(target);
    l->display = redact(url);
    if (!l->target || !l->display) {
        ledger_free(l);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    int rc = be->connect(l);
    if (rc < 0) {
        ledger_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int oflash__ledger_open_raw(oflash_ledger **out, const char *url)
{
    return open_raw(out, url, false, false);
}

int oflash__ledger_script(oflash_ledger *l, const char *sql)
{
    pthread_mutex_lock(&l->lock);
    int rc = l->be->script(l, sql);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

uint64_t oflash__ledger_round_trips(const oflash_ledger *l)
{
    return l->round_trips;
}

/* Row callbacks used below. */
static int row_count_any(void *ctx, int ncols, const char *const *vals)
{
    (void)ncols;
    (void)vals;
    *(bool *)ctx = true;
    return 0;
}

typedef struct table_list {
    char names[512];
    bool ours;
    size_t n;
} table_list;

static int row_table(void *ctx, int ncols, const char *const *vals)
{
    table_list *t = ctx;
    if (ncols < 1 || !vals[0]) return 0;
    if (strcmp(vals[0], "oflash_schema") == 0) t->ours = true;
    size_t len = strlen(t->names);
    if (len + strlen(vals[0]) + 3 < sizeof t->names)
        snprintf(t->names + len, sizeof t->names - len, "%s%s", t->n ? ", " : "", vals[0]);
    t->n++;
    return 0;
}

typedef struct schema_row {
    char app[128];
    long version;
    int rows;
} schema_row;

static int row_schema(void *ctx, int ncols, const char *const *vals)
{
    schema_row *s = ctx;
    if (ncols >= 2) {
        snprintf(s->app, sizeof s->app, "%s", vals[0] ? vals[0] : "");
        s->version = vals[1] ? strtol(vals[1], NULL, 10) : -1;
    }
    s->rows++;
    return 0;
}

/* Schema 3 keeps each pool's scheme in columns of its own.  A pool an
 * older oflash started has only its identity line
 * (oflash_serial_pool_identity: "serial v1 at=0x1FFF7800 format=ascii-dec
 * len=6 prefix="SN-" crc32=yes start=1 step=1", or "... list-sha256=HEX"):
 * the scheme is read back from it.  A list's lines are not in it: they are
 * stored when a job with that list uses the pool. */
typedef struct id_row {
    char id[24];
    char identity[512];
} id_row;

typedef struct id_rows {
    id_row *rows;
    size_t n, cap;
    bool oom;
} id_rows;

static int row_id_identity(void *ctx, int ncols, const char *const *vals)
{
    id_rows *r = ctx;
    if (ncols < 2) return 0;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 8;
        id_row *nr = realloc(r->rows, nc * sizeof *nr);
        if (!nr) {
            r->oom = true;
            return 0;
        }
        r->rows = nr;
        r->cap = nc;
    }
    snprintf(r->rows[r->n].id, sizeof r->rows[r->n].id, "%s", vals[0] ? vals[0] : "");
    snprintf(r->rows[r->n].identity, sizeof r->rows[r->n].identity, "%s", vals[1] ? vals[1] : "");
    r->n++;
    return 0;
}

static int schemes_from_identities(oflash_ledger *l)
{
    id_rows r = {NULL, 0, 0, false};
    int rc = l->be->query(l, false, "SELECT id, identity FROM pools WHERE scheme_format IS NULL", 0,
                          NULL, row_id_identity, &r);
    if (rc == 0 && r.oom) rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        const char *id = r.rows[i].identity;
        unsigned at, len;
        char fmt[16], crc[4], tail[128], *q;
        int n = 0;
        if (sscanf(id, "serial v1 at=0x%8x format=%15s len=%u prefix=\"%n", &at, fmt, &len, &n) !=
                3 ||
            !n || !(q = strchr(id + n, '"')))
            continue; /* not ours to read: stays unknown, shown so */
        char prefix[OFLASH_SERIAL_TEXT_MAX];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(q - (id + n)), id + n);
        unsigned long long start = 0, step = 0;
        bool list = false;
        if (sscanf(q, "\" crc32=%3s start=%llu step=%llu", crc, &start, &step) == 3)
            list = false;
        else if (sscanf(q, "\" crc32=%3s list-sha256=%127s", crc, tail) == 2)
            list = true;
        else
            continue;
        char at_s[24], len_s[16], crc_s[4], start_s[24], step_s[24];
        snprintf(at_s, sizeof at_s, "%u", at);
        snprintf(len_s, sizeof len_s, "%u", len);
        snprintf(crc_s, sizeof crc_s, "%d", strcmp(crc, "yes") == 0);
        snprintf(start_s, sizeof start_s, "%llu", list ? 0ull : start);
        snprintf(step_s, sizeof step_s, "%llu", list ? 1ull : step);
        const char *p[8] = {r.rows[i].id, at_s, fmt, len_s, prefix, crc_s, start_s, step_s};
        rc = l->be->query(l, false,
                          "UPDATE pools SET scheme_at = CAST($2 AS BIGINT), scheme_format = $3, "
                          "scheme_len = CAST($4 AS INTEGER), scheme_prefix = $5, "
                          "scheme_crc32 = CAST($6 AS INTEGER), scheme_start = CAST($7 AS BIGINT), "
                          "scheme_step = CAST($8 AS BIGINT) WHERE id = CAST($1 AS BIGINT)",
                          8, p, NULL, NULL);
    }
    free(r.rows);
    return rc;
}

/* What the database holds: *from = its schema version, 0 for an empty
 * database; a foreign, newer or broken one refused.  Reads only. */
static int inspect(oflash_ledger *l, int *from_out)
{
    table_list t = {{0}, false, 0};
    int rc = l->be->query(l, false, l->be->list_tables, 0, NULL, row_table, &t);
    if (rc < 0) return rc;
    int from = 0;
    if (t.ours) {
        schema_row s = {{0}, -1, 0};
        rc = l->be->query(l, false, "SELECT app, version FROM oflash_schema", 0, NULL, row_schema,
                          &s);
        if (rc < 0) return rc;
        if (s.rows != 1 || strcmp(s.app, LEDGER_APP) != 0)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s is not an oflash ledger (its oflash_schema table holds "
                                    "%d row(s), application '%s', not '%s'); nothing was changed",
                                    l->display, s.rows, s.app, LEDGER_APP);
        if (s.version > LEDGER_SCHEMA_VERSION)
            return oflash_error_set(
                OFLASH_EUNSUPPORTED,
                "the ledger %s has schema version %ld, newer than this oflash understands "
                "(version %d): use the oflash version that wrote it, or a newer one; nothing was "
                "changed",
                l->display, s.version, LEDGER_SCHEMA_VERSION);
        if (s.version < 1)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "the ledger %s has an invalid schema version %ld; nothing was "
                                    "changed",
                                    l->display, s.version);
        from = (int)s.version;
    } else if (t.n > 0) {
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s is not an oflash ledger: it holds other tables (%s) and no "
                                "oflash_schema table; give an empty database or an oflash ledger; "
                                "nothing was changed",
                                l->display, t.names);
    }
    *from_out = from;
    return 0;
}

/* Inside the migration transaction: check what the database holds and
 * bring it to LEDGER_SCHEMA_VERSION. */
static int migrate_locked(oflash_ledger *l)
{
    int from = 0;
    int rc = inspect(l, &from);
    if (rc < 0) return rc;
    for (int v = from + 1; v <= LEDGER_SCHEMA_VERSION; v++) {
        rc = l->be->script(l, l->be->migration(v));
        if (rc == 0 && v == 3) rc = schemes_from_identities(l);
        if (rc < 0)
            return oflash_error_prefix(
                "while upgrading the ledger %s to schema version %d: ", l->display, v);
    }
    if (from < LEDGER_SCHEMA_VERSION) {
        char ver[16];
        snprintf(ver, sizeof ver, "%d", LEDGER_SCHEMA_VERSION);
        const char *p[2] = {LEDGER_APP, ver};
        rc = l->be->query(l, false,
                          from == 0 ? "INSERT INTO oflash_schema (app, version) VALUES ($1, $2)"
                                    : "UPDATE oflash_schema SET version = $2 WHERE app = $1",
                          2, p, NULL, NULL);
        if (rc < 0) return rc;
    }
    l->schema_version = LEDGER_SCHEMA_VERSION;
    return 0;
}

static int migrate(oflash_ledger *l)
{
    int rc = l->be->script(l, l->be->begin_migration);
    if (rc < 0) return oflash_error_prefix("while opening the ledger %s: ", l->display);
    rc = migrate_locked(l);
    if (rc == 0) rc = l->be->script(l, "COMMIT");
    if (rc < 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", oflash_error_last());
        l->be->script(l, "ROLLBACK");
        return oflash_error_set(rc, "%s", msg);
    }
    return 0;
}

/* A read-only open: the schema is looked at, never created or upgraded. */
static int inspect_read_only(oflash_ledger *l)
{
    int from = 0;
    int rc = inspect(l, &from);
    if (rc < 0) return rc;
    if (from == 0) {
        if (l->be == &oflash__ledger_sqlite)
            return oflash_error_set(OFLASH_ENOTFOUND,
                                    "no ledger at %s yet (the file holds no table): the first "
                                    "'oflash prod run' creates it",
                                    l->target);
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "no ledger in %s yet (the database is empty): the first "
                                "'oflash prod run' creates it",
                                l->display);
    }
    l->schema_version = from;
    return 0;
}

static int open_ledger(oflash_ledger **out, const char *url, bool live, bool read_only)
{
    oflash_ledger *l;
    int rc = open_raw(&l, url, live, read_only);
    if (rc < 0) {
        *out = NULL;
        return rc;
    }
    rc = read_only ? inspect_read_only(l) : migrate(l);
    if (rc < 0) {
        ledger_free(l);
        *out = NULL;
        return rc;
    }
    *out = l;
    return 0;
}

int oflash_ledger_open(oflash_ledger **out, const char *url)
{
    return open_ledger(out, url, false, false);
}

int oflash_ledger_open_ext(oflash_ledger **out, const char *url,
                           const oflash_ledger_open_opts *opts)
{
    oflash_ledger_open_opts o = OFLASH_LEDGER_OPEN_OPTS_INIT;
    if (out) *out = NULL;
    if (!out) return oflash_error_set(OFLASH_EINVAL, "oflash_ledger_open_ext: no output argument");
    if (opts && (opts->version < 1 || opts->version > OFLASH_LEDGER_OPEN_OPTS_VERSION))
        return oflash_error_set(OFLASH_EINVAL, "ledger open options: unknown structure version %u",
                                opts->version);
    if (opts) o = *opts;
    return open_ledger(out, url, false, o.read_only);
}

bool oflash_ledger_read_only(const oflash_ledger *l)
{
    return l->read_only;
}

int oflash__ledger_open_live(oflash_ledger **out, const char *url)
{
    return open_ledger(out, url, true, false);
}

/* A read-only handle refuses every change (the database refuses it too:
 * SQLite query_only, PostgreSQL read-only transactions). */
static int need_writable(const oflash_ledger *l)
{
    if (l->read_only)
        return oflash_error_set(OFLASH_EINVAL,
                                "the ledger %s was opened read-only (a plan, a status): it "
                                "changes nothing",
                                l->display);
    return 0;
}

/* A read-only handle on an older schema: its serial pools (min = 3) or
 * its records (min = 2) are read only after the next run upgrades it. */
static int need_schema(const oflash_ledger *l, int min)
{
    if (l->schema_version < min)
        return oflash_error_set(OFLASH_EUNSUPPORTED,
                                "the ledger %s has schema version %d, older than this oflash's "
                                "%d: the next 'oflash prod run' upgrades it (a status or a plan "
                                "does not change it, and reads it only after that upgrade)",
                                l->display, l->schema_version, LEDGER_SCHEMA_VERSION);
    return 0;
}

void oflash_ledger_close(oflash_ledger *l)
{
    ledger_free(l);
}

const char *oflash_ledger_backend(const oflash_ledger *l)
{
    return l->be->name;
}

int oflash_ledger_schema_version(const oflash_ledger *l)
{
    return l->schema_version;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

static int64_t to_i64(const char *s)
{
    return s ? strtoll(s, NULL, 10) : 0;
}

static uint64_t to_u64(const char *s)
{
    return s ? strtoull(s, NULL, 10) : 0;
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int oflash__ledger_row_to_record(oflash_unit_record *r, const oflash_ledger *l, int ncols,
                                 const char *const *v)
{
    if (ncols < LEDGER_UNIT_NCOLS)
        return oflash_error_set(OFLASH_EPROTO, "the ledger returned %d columns for a unit, not %d",
                                ncols, LEDGER_UNIT_NCOLS);
    memset(r, 0, sizeof *r);
    r->id = to_i64(v[0]);
    r->seq = to_u64(v[1]);
    copy(r->serial, sizeof r->serial, v[2]);
    copy(r->uid, sizeof r->uid, v[3]);
    int rc = oflash__ledger_state_parse(&r->state, v[4]);
    if (rc < 0) return rc;
    copy(r->image_sha256, sizeof r->image_sha256, v[5]);
    copy(r->device, sizeof r->device, v[6]);
    copy(r->station, sizeof r->station, v[7]);
    r->port = (int)to_i64(v[8]);
    copy(r->error, sizeof r->error, v[9]);
    r->start_us = to_i64(v[10]);
    r->end_us = to_i64(v[11]);
    r->duration_ms = to_u64(v[12]);
    r->sectors_erased = to_u64(v[13]);
    r->bytes_written = to_u64(v[14]);
    r->otp_bytes_written = to_u64(v[15]);
    r->sim_time_ns = to_u64(v[16]);
    /* A reservation's text is stored when writing starts; until then the
     * pool in use spells it. */
    if (!r->serial[0] && l->pool && to_i64(v[17]) == l->pool_id &&
        oflash_serial_text(r->serial, l->pool, r->seq) < 0)
        r->serial[0] = 0;
    return 0;
}

typedef struct one_record {
    oflash_unit_record *out;
    const oflash_ledger *l;
    int rows;
} one_record;

static int row_record(void *ctx, int ncols, const char *const *vals)
{
    one_record *o = ctx;
    if (o->rows++ > 0) return 0;
    return oflash__ledger_row_to_record(o->out, o->l, ncols, vals);
}

/* ---- pools: one scheme per name ---- */

#define POOL_COLS                                                                                  \
    "id, name, identity, size, scheme_at, scheme_format, scheme_len, scheme_prefix, "              \
    "scheme_crc32, scheme_start, scheme_step, list_name, list_text"

/* A pools row (POOL_COLS), copied. */
typedef struct pool_row {
    bool found;
    int64_t id;
    char name[OFLASH_SERIAL_POOL_NAME_MAX];
    char identity[512];
    uint64_t size;
    bool has_scheme, has_list_text;
    uint32_t at;
    char format[16];
    unsigned len;
    char prefix[OFLASH_SERIAL_TEXT_MAX];
    bool crc32;
    uint64_t start, step;
    char list_name[256];
    char *list_text; /* malloc'ed */
} pool_row;

static void pool_row_clear(pool_row *r)
{
    free(r->list_text);
    memset(r, 0, sizeof *r);
}

static int row_pool(void *ctx, int ncols, const char *const *v)
{
    pool_row *r = ctx;
    if (ncols < 13 || r->found) return 0;
    r->found = true;
    r->id = to_i64(v[0]);
    copy(r->name, sizeof r->name, v[1]);
    copy(r->identity, sizeof r->identity, v[2]);
    r->size = to_u64(v[3]);
    r->has_scheme = v[5] != NULL;
    r->at = (uint32_t)to_u64(v[4]);
    copy(r->format, sizeof r->format, v[5]);
    r->len = (unsigned)to_u64(v[6]);
    copy(r->prefix, sizeof r->prefix, v[7]);
    r->crc32 = to_i64(v[8]) != 0;
    r->start = to_u64(v[9]);
    r->step = to_u64(v[10]);
    copy(r->list_name, sizeof r->list_name, v[11]);
    r->has_list_text = v[12] != NULL;
    if (v[12] && !(r->list_text = strdup(v[12]))) return OFLASH_ENOMEM;
    return 0;
}

static bool row_is_list(const pool_row *r)
{
    return strstr(r->identity, " list-sha256=") != NULL;
}

/* The pool a row stores, opened again (its identity checked). */
static int pool_from_row(oflash_serial_pool **out, const oflash_ledger *l, const pool_row *r)
{
    oflash_serial_scheme s = OFLASH_SERIAL_SCHEME_INIT;
    oflash_serial_pool *p = NULL;
    int rc;
    *out = NULL;
    if (!r->has_scheme)
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "the ledger %s does not know the scheme of serial pool '%s' (%s)",
                                l->display, r->name, r->identity);
    if (row_is_list(r) && !r->has_list_text)
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "the ledger %s does not hold the serial list of pool '%s' (an "
                                "older oflash started it; a job with its list stores it)",
                                l->display, r->name);
    if (oflash_serial_format_parse(&s.format, r->format) < 0)
        return oflash_error_set(OFLASH_EFORMAT,
                                "serial pool '%s' in the ledger %s has an unknown format '%s'",
                                r->name, l->display, r->format);
    s.at = r->at;
    s.len = r->len;
    s.prefix = r->prefix[0] ? r->prefix : NULL;
    s.crc32 = r->crc32;
    s.start = r->start;
    s.step = r->step;
    s.pool = r->name;
    if (row_is_list(r))
        rc = oflash__serial_pool_open_mem(&p, &s, r->list_text, strlen(r->list_text),
                                          r->list_name[0] ? r->list_name : "list");
    else
        rc = oflash_serial_pool_open(&p, &s);
    if (rc < 0)
        return oflash_error_prefix("serial pool '%s' in the ledger %s: ", r->name, l->display);
    if (strcmp(oflash_serial_pool_identity(p), r->identity) != 0) {
        oflash_serial_pool_free(p);
        return oflash_error_set(OFLASH_EFORMAT,
                                "serial pool '%s' in the ledger %s: its stored scheme does not "
                                "give its identity (%s)",
                                r->name, l->display, r->identity);
    }
    *out = p;
    return 0;
}

/* "its scheme in words", or the identity line when it cannot be opened. */
static void stored_words(char *out, size_t size, const oflash_ledger *l, const pool_row *r)
{
    oflash_serial_pool *p = NULL;
    if (pool_from_row(&p, l, r) == 0) {
        oflash__serial_scheme_words(out, size, p);
        oflash_serial_pool_free(p);
    } else if (row_is_list(r) && r->has_scheme) {
        snprintf(out, size, "%s, %u bytes%s%s%s%s, a list of %" PRIu64 " serials, at 0x%08" PRIX32,
                 r->format, r->len, r->prefix[0] ? ", prefix \"" : "", r->prefix,
                 r->prefix[0] ? "\"" : "", r->crc32 ? ", CRC-32" : "", r->size, r->at);
    } else {
        snprintf(out, size, "%.300s", r->identity);
    }
}

static int select_pool(pool_row *out, oflash_ledger *l, const char *where, const char *value)
{
    char sql[256];
    const char *p[1] = {value};
    pool_row_clear(out);
    snprintf(sql, sizeof sql, "SELECT " POOL_COLS " FROM pools WHERE %s = $1", where);
    int rc = l->be->query(l, true, sql, 1, p, row_pool, out);
    if (rc == OFLASH_ENOMEM) rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
    return rc;
}

/* Store the pool's scheme (and list) in its row: a new row, or one an
 * older oflash wrote without them. */
static int store_scheme(oflash_ledger *l, int64_t id, const oflash_serial_pool *pool)
{
    oflash_serial_scheme s;
    char id_s[24], at_s[24], len_s[16], crc_s[4], start_s[24], step_s[24];
    size_t tlen = 0;
    const char *text = oflash__serial_list_text(pool, &tlen);
    oflash__serial_scheme_get(&s, pool);
    snprintf(id_s, sizeof id_s, "%" PRId64, id);
    snprintf(at_s, sizeof at_s, "%" PRIu32, s.at);
    snprintf(len_s, sizeof len_s, "%u", s.len);
    snprintf(crc_s, sizeof crc_s, "%d", s.crc32 ? 1 : 0);
    snprintf(start_s, sizeof start_s, "%" PRIu64, s.list_path ? 0 : s.start);
    snprintf(step_s, sizeof step_s, "%" PRIu64, s.list_path ? 1 : s.step);
    const char *p[10] = {id_s,
                         at_s,
                         oflash_serial_format_name(s.format),
                         len_s,
                         s.prefix ? s.prefix : "",
                         crc_s,
                         start_s,
                         step_s,
                         s.list_path ? s.list_path : NULL,
                         text};
    return l->be->query(l, true,
                        "UPDATE pools SET scheme_at = CAST($2 AS BIGINT), scheme_format = $3, "
                        "scheme_len = CAST($4 AS INTEGER), scheme_prefix = $5, "
                        "scheme_crc32 = CAST($6 AS INTEGER), scheme_start = CAST($7 AS BIGINT), "
                        "scheme_step = CAST($8 AS BIGINT), list_name = $9, list_text = $10 "
                        "WHERE id = CAST($1 AS BIGINT)",
                        10, p, NULL, NULL);
}

/* Under l->lock: pool becomes the ledger's pool in use. */
static void pool_chosen(oflash_ledger *l, const pool_row *r, const oflash_serial_pool *pool)
{
    l->pool_id = r->id;
    l->pool_size = oflash_serial_pool_size(pool);
    l->pool = pool;
}

/* use_pool (create) or check_pool (!create: reads only; *exists false and
 * no pool chosen when the ledger has neither the name nor the scheme). */
static int pool_lookup(oflash_ledger *l, const oflash_serial_pool *pool, bool create, bool *exists)
{
    const char *identity = oflash_serial_pool_identity(pool);
    const char *name = oflash_serial_pool_name(pool);
    uint64_t size = oflash_serial_pool_size(pool);
    if (size > INT64_MAX) size = INT64_MAX; /* more serials than any line will use */
    char size_s[24], now_s[24], words[320], stored[320];
    snprintf(size_s, sizeof size_s, "%" PRIu64, size);
    snprintf(now_s, sizeof now_s, "%" PRId64, oflash__ledger_now_us());
    const char *p[4] = {identity, size_s, now_s, name};
    pool_row r = {0}, other = {0};
    bool fresh = false;
    int rc = 0;
    if (exists) *exists = true;
    pthread_mutex_lock(&l->lock);
    /* A name or a scheme already in the ledger: nothing inserted. */
    if (create)
        rc = l->be->query(l, true,
                          "INSERT INTO pools (identity, size, next_seq, created_us, name) "
                          "VALUES ($1, CAST($2 AS BIGINT), 0, CAST($3 AS BIGINT), $4) "
                          "ON CONFLICT DO NOTHING RETURNING id",
                          4, p, row_count_any, &fresh);
    if (rc == 0) rc = select_pool(&r, l, "name", name);
    if (rc == 0 && !create && !r.found) {
        /* Not there yet: only the scheme under another name is refused. */
        if ((rc = select_pool(&other, l, "identity", identity)) == 0 && !other.found) {
            if (exists) *exists = false;
            goto out;
        }
    }
    if (rc == 0 && (!r.found || strcmp(r.identity, identity) != 0)) {
        /* The job's scheme against the pool of that name: a pool never
         * changes its scheme (a serial could be issued twice in two
         * spellings, or the count start again). */
        oflash__serial_scheme_words(words, sizeof words, pool);
        if (select_pool(&other, l, "identity", identity) < 0) other.found = false;
        if (r.found) {
            stored_words(stored, sizeof stored, l, &r);
            if (other.found)
                rc = oflash_error_set(
                    OFLASH_ECONFLICT,
                    "the ledger %s keeps serial pool '%s' with another scheme (%s); this job "
                    "gives %s, which is pool '%s' there: give --serial-pool %s ([serial] pool = "
                    "%s in the job file); no chip was touched",
                    l->display, name, stored, words, other.name, other.name, other.name);
            else
                rc = oflash_error_set(
                    OFLASH_ECONFLICT,
                    "the ledger %s keeps serial pool '%s' with another scheme (%s); this job "
                    "gives %s.  A pool never changes its serial scheme once started: give the "
                    "job the pool's scheme, or start a new pool with --serial-pool NAME "
                    "([serial] pool = NAME in the job file); no chip was touched",
                    l->display, name, stored, words);
        } else if (other.found) {
            rc = oflash_error_set(OFLASH_ECONFLICT,
                                  "the serial scheme of this job (%s) is pool '%s' in the ledger "
                                  "%s: one scheme is one pool (its serials exist once): give "
                                  "--serial-pool %s ([serial] pool = %s in the job file); no chip "
                                  "was touched",
                                  words, other.name, l->display, other.name, other.name);
        } else {
            rc = oflash_error_set(OFLASH_ECONFLICT,
                                  "the ledger %s could not create serial pool '%s'", l->display,
                                  name);
        }
    }
    if (rc == 0 && r.size != size)
        rc = oflash_error_set(OFLASH_ECONFLICT,
                              "the ledger %s knows serial pool '%s' with %" PRIu64
                              " serials, the job gives %s; a pool's serials never change once "
                              "issued (pool: %s)",
                              l->display, name, r.size, size_s, identity);
    /* A new row, or a pool an older oflash started: its scheme (and its
     * list, which only a job has) stored now. */
    if (rc == 0 && create && (fresh || !r.has_scheme || (row_is_list(&r) && !r.has_list_text)))
        rc = store_scheme(l, r.id, pool);
    if (rc == 0) pool_chosen(l, &r, pool);
out:
    pthread_mutex_unlock(&l->lock);
    pool_row_clear(&r);
    pool_row_clear(&other);
    return rc;
}

int oflash_ledger_use_pool(oflash_ledger *l, const oflash_serial_pool *pool)
{
    if (need_writable(l) < 0) return oflash_error_last_code();
    return pool_lookup(l, pool, true, NULL);
}

int oflash_ledger_check_pool(bool *exists, oflash_ledger *l, const oflash_serial_pool *pool)
{
    if (need_schema(l, 3) < 0) return oflash_error_last_code();
    return pool_lookup(l, pool, false, exists);
}

static int need_pool(const oflash_ledger *l)
{
    if (!l->pool_id)
        return oflash_error_set(OFLASH_EINVAL,
                                "no serial pool chosen for the ledger %s "
                                "(oflash_ledger_use_pool)",
                                l->display);
    return 0;
}

static bool uid_ok(const char *uid)
{
    size_t n = uid ? strlen(uid) : 0;
    if (n == 0 || n >= OFLASH_UID_HEX_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!((uid[i] >= '0' && uid[i] <= '9') || (uid[i] >= 'a' && uid[i] <= 'f') ||
              (uid[i] >= 'A' && uid[i] <= 'F')))
            return false;
    return true;
}

int oflash_ledger_reserve(oflash_unit_record *out, bool *rebind, oflash_ledger *l, const char *uid,
                          const oflash_unit_record *info)
{
    if (need_writable(l) < 0) return oflash_error_last_code();
    static const oflash_unit_record none;
    memset(out, 0, sizeof *out);
    if (rebind) *rebind = false;
    if (!uid_ok(uid))
        return oflash_error_set(OFLASH_EINVAL,
                                "chip unique ID '%s' is not 1 to %d hex digits; cannot reserve a "
                                "serial for it",
                                uid ? uid : "", OFLASH_UID_HEX_MAX - 1);
    if (!info) info = &none;
    pthread_mutex_lock(&l->lock);
    int rc = need_pool(l);
    if (rc == 0) {
        int64_t now = info->start_us ? info->start_us : oflash__ledger_now_us();
        rc = l->be->reserve(out, l, uid, info, now);
        if (rc == 1) {
            rc = oflash_error_set(OFLASH_ENOTFOUND,
                                  "no serials left: all %" PRIu64
                                  " serials of the pool are issued (pool: %s); no unit can be "
                                  "programmed until the job gives a new serial range or list",
                                  l->pool_size, oflash_serial_pool_identity(l->pool));
        } else if (rc < 0) {
            oflash_error_prefix("cannot reserve a serial for chip %s: ", uid);
        }
    }
    pthread_mutex_unlock(&l->lock);
    if (rc == 0 && rebind) *rebind = out->state == OFLASH_UNIT_PASS;
    return rc;
}

typedef struct state_row {
    char state[32];
    int rows;
} state_row;

static int row_state(void *ctx, int ncols, const char *const *vals)
{
    state_row *s = ctx;
    if (ncols > 0 && s->rows++ == 0) copy(s->state, sizeof s->state, vals[0]);
    return 0;
}

/* Why an update of record rec matched nothing: 0 if the record is PASS
 * (a rebind: nothing to change), else an error naming the state. */
static int explain_unchanged(oflash_ledger *l, const oflash_unit_record *rec, const char *what)
{
    char id_s[24];
    snprintf(id_s, sizeof id_s, "%" PRId64, rec->id);
    const char *p[2] = {id_s, rec->uid};
    state_row s = {{0}, 0};
    int rc =
        l->be->query(l, true, "SELECT state FROM units WHERE id = CAST($1 AS BIGINT) AND uid = $2",
                     2, p, row_state, &s);
    if (rc < 0) return rc;
    if (s.rows == 0)
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "the ledger %s has no record %" PRId64 " for chip %s (%s)",
                                l->display, rec->id, rec->uid, what);
    if (strcmp(s.state, "pass") == 0) return 0;
    return oflash_error_set(OFLASH_ECONFLICT,
                            "serial %s of chip %s cannot be %s: its reservation is %s (a "
                            "restarted station gives back its reservations); do not write it, "
                            "reserve again",
                            rec->serial, rec->uid, what, s.state);
}

static int row_count(void *ctx, int ncols, const char *const *vals)
{
    (void)ncols;
    (void)vals;
    (*(uint64_t *)ctx)++;
    return 0;
}

int oflash_ledger_started(oflash_ledger *l, const oflash_unit_record *rec)
{
    if (need_writable(l) < 0) return oflash_error_last_code();
    char id_s[24];
    snprintf(id_s, sizeof id_s, "%" PRId64, rec->id);
    const char *p[3] = {id_s, rec->uid, rec->serial};
    uint64_t n = 0;
    pthread_mutex_lock(&l->lock);
    int rc = l->be->query(l, true,
                          "UPDATE units SET state = 'writing', serial = $3 "
                          "WHERE id = CAST($1 AS BIGINT) AND uid = $2 "
                          "AND state IN ('reserved', 'writing', 'void') RETURNING id",
                          3, p, row_count, &n);
    if (rc == 0 && n == 0) rc = explain_unchanged(l, rec, "written");
    if (rc < 0) oflash_error_prefix("ledger: ");
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int oflash_ledger_finish(oflash_ledger *l, const oflash_unit_record *rec)
{
    if (need_writable(l) < 0) return oflash_error_last_code();
    char id_s[24], end_s[24], dur_s[24], sec_s[24], bytes_s[24], otp_s[24], sim_s[24];
    snprintf(id_s, sizeof id_s, "%" PRId64, rec->id);
    snprintf(end_s, sizeof end_s, "%" PRId64, rec->end_us ? rec->end_us : oflash__ledger_now_us());
    snprintf(dur_s, sizeof dur_s, "%" PRIu64, rec->duration_ms);
    snprintf(sec_s, sizeof sec_s, "%" PRIu64, rec->sectors_erased);
    snprintf(bytes_s, sizeof bytes_s, "%" PRIu64, rec->bytes_written);
    snprintf(otp_s, sizeof otp_s, "%" PRIu64, rec->otp_bytes_written);
    snprintf(sim_s, sizeof sim_s, "%" PRIu64, rec->sim_time_ns);
    const char *sql;
    const char *error = rec->error;
    switch (rec->state) {
    case OFLASH_UNIT_PASS:
        sql = "UPDATE units SET state = 'pass', error = '', "
              "serial = CASE WHEN $3 = '' THEN serial ELSE $3 END, "
              "end_us = CAST($5 AS BIGINT), duration_ms = CAST($6 AS BIGINT), "
              "sectors_erased = CAST($7 AS BIGINT), bytes_written = CAST($8 AS BIGINT), "
              "otp_bytes_written = CAST($9 AS BIGINT), sim_time_ns = CAST($10 AS BIGINT) "
              "WHERE id = CAST($1 AS BIGINT) AND uid = $2 AND CAST($4 AS TEXT) = CAST($4 AS TEXT) "
              "AND state IN ('reserved', 'writing', 'void') RETURNING id";
        error = "";
        break;
    case OFLASH_UNIT_FAIL:
    case OFLASH_UNIT_VOID:
        sql = rec->state == OFLASH_UNIT_FAIL
                  ? "UPDATE units SET "
                    "state = CASE WHEN state = 'reserved' THEN 'fail' ELSE 'void' END, "
                    "serial = CASE WHEN $3 = '' THEN serial ELSE $3 END, error = $4, "
                    "end_us = CAST($5 AS BIGINT), duration_ms = CAST($6 AS BIGINT), "
                    "sectors_erased = CAST($7 AS BIGINT), bytes_written = CAST($8 AS BIGINT), "
                    "otp_bytes_written = CAST($9 AS BIGINT), sim_time_ns = CAST($10 AS BIGINT) "
                    "WHERE id = CAST($1 AS BIGINT) AND uid = $2 "
                    "AND state IN ('reserved', 'writing', 'void') RETURNING id"
                  : "UPDATE units SET state = 'void', "
                    "serial = CASE WHEN $3 = '' THEN serial ELSE $3 END, error = $4, "
                    "end_us = CAST($5 AS BIGINT), duration_ms = CAST($6 AS BIGINT), "
                    "sectors_erased = CAST($7 AS BIGINT), bytes_written = CAST($8 AS BIGINT), "
                    "otp_bytes_written = CAST($9 AS BIGINT), sim_time_ns = CAST($10 AS BIGINT) "
                    "WHERE id = CAST($1 AS BIGINT) AND uid = $2 "
                    "AND state IN ('reserved', 'writing', 'void') RETURNING id";
        if (!error[0]) error = "the unit failed; the station gave no reason";
        break;
    default:
        return oflash_error_set(OFLASH_EINVAL, "a unit finishes as pass, fail or void, not as %s",
                                oflash_unit_state_name(rec->state));
    }
    const char *p[10] = {id_s,  rec->uid, rec->serial, error, end_s,
                         dur_s, sec_s,    bytes_s,     otp_s, sim_s};
    uint64_t n = 0;
    pthread_mutex_lock(&l->lock);
    int rc = l->be->query(l, true, sql, 10, p, row_count, &n);
    if (rc == 0 && n == 0)
        rc = explain_unchanged(l, rec, rec->state == OFLASH_UNIT_PASS ? "committed" : "voided");
    if (rc < 0) oflash_error_prefix("ledger: ");
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int oflash_ledger_reconcile(uint64_t *released, uint64_t *inflight, oflash_ledger *l,
                            const char *station)
{
    if (need_writable(l) < 0) return oflash_error_last_code();
    char now_s[24], why[160];
    uint64_t rel = 0, fly = 0;
    if (!station || !*station)
        return oflash_error_set(OFLASH_EINVAL, "reconcile needs the station's name");
    snprintf(now_s, sizeof now_s, "%" PRId64, oflash__ledger_now_us());
    snprintf(why, sizeof why, "reservation given back when station %.64s restarted", station);
    const char *p[3] = {station, why, now_s};
    pthread_mutex_lock(&l->lock);
    int rc = l->be->query(l, true,
                          "UPDATE units SET state = 'released', error = $2, "
                          "end_us = CAST($3 AS BIGINT) "
                          "WHERE station = $1 AND state = 'reserved' RETURNING id",
                          3, p, row_count, &rel);
    if (rc == 0)
        rc = l->be->query(l, true, "SELECT id FROM units WHERE station = $1 AND state = 'writing'",
                          1, p, row_count, &fly);
    pthread_mutex_unlock(&l->lock);
    if (released) *released = rel;
    if (inflight) *inflight = fly;
    return rc;
}

static int find_by(oflash_unit_record *out, oflash_ledger *l, const char *column, const char *value)
{
    char sql[512], pool_s[24];
    snprintf(pool_s, sizeof pool_s, "%" PRId64, l->pool_id);
    snprintf(sql, sizeof sql,
             "SELECT " LEDGER_UNIT_COLS " FROM units WHERE %s = $1 "
             "AND state NOT IN ('released', 'fail') %s ORDER BY id DESC LIMIT 1",
             column, l->pool_id ? "AND pool_id = CAST($2 AS BIGINT)" : "");
    const char *p[2] = {value ? value : "", pool_s};
    one_record o = {out, l, 0};
    memset(out, 0, sizeof *out);
    int rc = l->be->query(l, true, sql, l->pool_id ? 2 : 1, p, row_record, &o);
    if (rc == 0 && o.rows == 0)
        rc = oflash_error_set(OFLASH_ENOTFOUND, "the ledger %s has no unit with %s %s", l->display,
                              strcmp(column, "uid") == 0 ? "chip UID" : "serial",
                              value ? value : "");
    return rc;
}

int oflash_ledger_find_serial(oflash_unit_record *out, oflash_ledger *l, const char *serial)
{
    if (need_schema(l, 2) < 0) return oflash_error_last_code();
    pthread_mutex_lock(&l->lock);
    int rc = find_by(out, l, "serial", serial);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int oflash_ledger_find_uid(oflash_unit_record *out, oflash_ledger *l, const char *uid)
{
    if (need_schema(l, 2) < 0) return oflash_error_last_code();
    pthread_mutex_lock(&l->lock);
    int rc = find_by(out, l, "uid", uid);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

static int row_counts(void *ctx, int ncols, const char *const *vals)
{
    oflash_ledger_counts *c = ctx;
    if (ncols < 2) return 0;
    uint64_t n = to_u64(vals[1]);
    oflash_unit_state s;
    if (oflash__ledger_state_parse(&s, vals[0]) < 0) return OFLASH_EFORMAT;
    switch (s) {
    case OFLASH_UNIT_RESERVED:
        c->reserved += n;
        break;
    case OFLASH_UNIT_WRITING:
        c->writing += n;
        break;
    case OFLASH_UNIT_PASS:
        c->pass += n;
        break;
    case OFLASH_UNIT_FAIL:
        c->fail += n;
        break;
    case OFLASH_UNIT_VOID:
        c->voided += n;
        break;
    case OFLASH_UNIT_RELEASED:
        c->released += n;
        break;
    }
    return 0;
}

static int row_u64(void *ctx, int ncols, const char *const *vals)
{
    *(uint64_t *)ctx = ncols > 0 && vals[0] ? to_u64(vals[0]) : 0;
    return 0;
}

static int row_opt_i64(void *ctx, int ncols, const char *const *vals)
{
    *(int64_t *)ctx = ncols > 0 && vals[0] ? to_i64(vals[0]) : -1;
    return 0;
}

static int counts_locked(oflash_ledger_counts *out, oflash_ledger *l)
{
    memset(out, 0, sizeof *out);
    char pool_s[24];
    snprintf(pool_s, sizeof pool_s, "%" PRId64, l->pool_id);
    const char *p[1] = {pool_s};
    /* Without a pool chosen: over every pool of the ledger. */
    const char *where_u =
        l->pool_id ? "WHERE pool_id = CAST($1 AS BIGINT)" : "WHERE CAST($1 AS BIGINT) = 0";
    const char *and_u =
        l->pool_id ? "AND pool_id = CAST($1 AS BIGINT)" : "AND CAST($1 AS BIGINT) = 0";
    const char *where_p =
        l->pool_id ? "WHERE id = CAST($1 AS BIGINT)" : "WHERE CAST($1 AS BIGINT) = 0";
    char sql[512];
    uint64_t counter_left = 0, free_n = 0, unbounded = 0;
    snprintf(sql, sizeof sql, "SELECT state, count(*) FROM units %s GROUP BY state", where_u);
    int rc = l->be->query(l, true, sql, 1, p, row_counts, out);
    if (rc == 0) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM (SELECT DISTINCT pool_id, seq FROM units "
                 "WHERE state IN ('writing', 'pass', 'void') %s) AS bound",
                 and_u);
        rc = l->be->query(l, true, sql, 1, p, row_u64, &out->issued);
    }
    if (rc == 0) {
        snprintf(sql, sizeof sql, "SELECT sum(size - next_seq) FROM pools %s", where_p);
        rc = l->be->query(l, true, sql, 1, p, row_u64, &counter_left);
    }
    if (rc == 0) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pools %s AND size >= 9223372036854775807",
                 where_p);
        rc = l->be->query(l, true, sql, 1, p, row_u64, &unbounded);
    }
    if (rc == 0) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM free_seqs %s", where_u);
        rc = l->be->query(l, true, sql, 1, p, row_u64, &free_n);
    }
    out->left = unbounded ? UINT64_MAX : counter_left + free_n;
    if (rc == 0 && l->pool_id && out->left > 0) {
        int64_t seq = -1;
        rc = l->be->query(l, true,
                          "SELECT min(seq) FROM free_seqs WHERE pool_id = CAST($1 AS BIGINT)", 1, p,
                          row_opt_i64, &seq);
        if (rc == 0 && seq < 0)
            rc = l->be->query(l, true, "SELECT next_seq FROM pools WHERE id = CAST($1 AS BIGINT)",
                              1, p, row_opt_i64, &seq);
        if (rc == 0 && seq >= 0 && l->pool)
            rc = oflash_serial_text(out->next_serial, l->pool, (uint64_t)seq);
    }
    return rc;
}

int oflash_ledger_counts_get(oflash_ledger_counts *out, oflash_ledger *l)
{
    if (need_schema(l, 3) < 0) return oflash_error_last_code();
    pthread_mutex_lock(&l->lock);
    int rc = counts_locked(out, l);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

/* Every row of pools, copied (the walk calls the ledger again). */
typedef struct pool_rows {
    pool_row *rows;
    size_t n, cap;
} pool_rows;

static int row_pools(void *ctx, int ncols, const char *const *v)
{
    pool_rows *a = ctx;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 8;
        pool_row *nr = realloc(a->rows, nc * sizeof *nr);
        if (!nr) return OFLASH_ENOMEM;
        a->rows = nr;
        a->cap = nc;
    }
    memset(&a->rows[a->n], 0, sizeof a->rows[a->n]);
    int rc = row_pool(&a->rows[a->n], ncols, v);
    a->n++;
    return rc;
}

static void pool_rows_free(pool_rows *a)
{
    for (size_t i = 0; i < a->n; i++)
        pool_row_clear(&a->rows[i]);
    free(a->rows);
}

static int all_pools(pool_rows *a, oflash_ledger *l)
{
    memset(a, 0, sizeof *a);
    int rc =
        l->be->query(l, true, "SELECT " POOL_COLS " FROM pools ORDER BY id", 0, NULL, row_pools, a);
    if (rc == OFLASH_ENOMEM) rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
    return rc;
}

int oflash_ledger_pools(oflash_ledger *l, int (*fn)(void *ctx, const oflash_ledger_pool_info *pool),
                        void *ctx)
{
    if (need_schema(l, 3) < 0) return oflash_error_last_code();
    pool_rows a;
    oflash_ledger_pool_info info;
    pthread_mutex_lock(&l->lock);
    int rc = all_pools(&a, l);
    /* The counts of each pool, through the pool in use for a moment. */
    int64_t id0 = l->pool_id;
    uint64_t size0 = l->pool_size;
    const oflash_serial_pool *pool0 = l->pool;
    for (size_t i = 0; rc == 0 && i < a.n; i++) {
        const pool_row *r = &a.rows[i];
        oflash_serial_pool *p = NULL;
        oflash_ledger_counts c;
        memset(&info, 0, sizeof info);
        copy(info.name, sizeof info.name, r->name);
        info.scheme_known = pool_from_row(&p, l, r) == 0;
        stored_words(info.scheme, sizeof info.scheme, l, r);
        info.size = r->size;
        l->pool_id = r->id;
        l->pool_size = r->size;
        l->pool = p;
        rc = counts_locked(&c, l);
        l->pool_id = id0;
        l->pool_size = size0;
        l->pool = pool0;
        oflash_serial_pool_free(p);
        if (rc < 0) break;
        info.issued = c.issued;
        info.left = c.left;
        memcpy(info.next_serial, c.next_serial, sizeof info.next_serial);
        info.in_use = r->id == id0;
        rc = fn(ctx, &info);
    }
    pthread_mutex_unlock(&l->lock);
    pool_rows_free(&a);
    return rc;
}

int oflash_ledger_use_stored_pool(oflash_ledger *l, const char *name)
{
    if (need_schema(l, 3) < 0) return oflash_error_last_code();
    pool_rows a;
    const pool_row *r = NULL;
    oflash_serial_pool *p = NULL;
    pthread_mutex_lock(&l->lock);
    int rc = all_pools(&a, l);
    for (size_t i = 0; rc == 0 && i < a.n; i++)
        if (name ? strcmp(a.rows[i].name, name) == 0
                 : (a.n == 1 || strcmp(a.rows[i].name, OFLASH_SERIAL_POOL_DEFAULT) == 0))
            r = &a.rows[i];
    if (rc == 0 && !r) {
        char names[512] = "";
        size_t n = 0;
        for (size_t i = 0; i < a.n && n + 70 < sizeof names; i++)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s'%s'", i ? ", " : "",
                                  a.rows[i].name);
        if (a.n == 0)
            rc = oflash_error_set(OFLASH_ENOTFOUND,
                                  "the ledger %s has no serial pool yet (no job has used it)",
                                  l->display);
        else if (name)
            rc = oflash_error_set(OFLASH_ENOTFOUND,
                                  "the ledger %s has no serial pool '%s' (it has %s)", l->display,
                                  name, names);
        else
            rc = oflash_error_set(OFLASH_ENOTFOUND,
                                  "the ledger %s has several serial pools (%s) and none is "
                                  "'default': name one",
                                  l->display, names);
    }
    if (rc == 0) rc = pool_from_row(&p, l, r);
    if (rc == 0) {
        oflash_serial_pool_free(l->own_pool);
        l->own_pool = p;
        pool_chosen(l, r, p);
    }
    pthread_mutex_unlock(&l->lock);
    pool_rows_free(&a);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Queries and export                                                  */
/* ------------------------------------------------------------------ */

typedef struct walk {
    const oflash_ledger *l;
    int (*fn)(void *ctx, const oflash_unit_record *rec);
    void *ctx;
} walk;

static int row_walk(void *ctx, int ncols, const char *const *vals)
{
    walk *w = ctx;
    oflash_unit_record r;
    int rc = oflash__ledger_row_to_record(&r, w->l, ncols, vals);
    if (rc < 0) return rc;
    return w->fn(w->ctx, &r);
}

int oflash_ledger_units(oflash_ledger *l, const oflash_ledger_query *q,
                        int (*fn)(void *ctx, const oflash_unit_record *rec), void *ctx)
{
    if (need_schema(l, 2) < 0) return oflash_error_last_code();
    static const oflash_ledger_query all = OFLASH_LEDGER_QUERY_INIT;
    if (!q) q = &all;
    if (q->version != OFLASH_LEDGER_QUERY_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "oflash_ledger_query version %u, expected %u",
                                q->version, OFLASH_LEDGER_QUERY_VERSION);
    char sql[1024], since_s[24], limit_s[24];
    const char *p[4];
    int n = 0;
    size_t len =
        (size_t)snprintf(sql, sizeof sql, "SELECT " LEDGER_UNIT_COLS " FROM units WHERE 1 = 1");
    if (q->since_us) {
        snprintf(since_s, sizeof since_s, "%" PRId64, q->since_us);
        p[n++] = since_s;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND start_us >= CAST($%d AS BIGINT)",
                                n);
    }
    if (q->serial) {
        p[n++] = q->serial;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND %s(serial, $%d) > 0",
                                l->be->strpos, n);
    }
    if (q->uid) {
        p[n++] = q->uid;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND %s(uid, $%d) > 0", l->be->strpos,
                                n);
    }
    if (q->limit) {
        snprintf(limit_s, sizeof limit_s, "%zu", q->limit);
        p[n++] = limit_s;
        snprintf(sql + len, sizeof sql - len, " ORDER BY id DESC LIMIT CAST($%d AS BIGINT)", n);
    } else {
        snprintf(sql + len, sizeof sql - len, " ORDER BY id");
    }
    walk w = {l, fn, ctx};
    pthread_mutex_lock(&l->lock);
    int rc = l->be->query(l, true, sql, n, p, row_walk, &w);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

/* "2026-11-30T14:40:06.123456Z"; "" for 0. */
static void iso_time(char out[40], int64_t us)
{
    if (!us) {
        out[0] = 0;
        return;
    }
    time_t s = (time_t)(us / 1000000);
    long frac = (long)(us % 1000000);
    if (frac < 0) {
        frac += 1000000;
        s--;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06ldZ", day, frac);
}

#define EXPORT_FIELDS 17
static const char *const export_names[EXPORT_FIELDS] = {
    "id",          "serial",         "seq",           "uid",
    "state",       "image_sha256",   "device",        "station",
    "port",        "error",          "start",         "end",
    "duration_ms", "sectors_erased", "bytes_written", "otp_bytes_written",
    "sim_time_ns"};

typedef struct export_ctx {
    oflash_export_format fmt;
    int (*write)(void *ctx, const void *data, size_t len);
    void *wctx;
    json_t *array;
} export_ctx;

/* The record's fields as text, in export_names order. */
static void record_fields(char f[EXPORT_FIELDS][OFLASH_SERIAL_TEXT_MAX + 200],
                          const oflash_unit_record *r)
{
    const size_t n = OFLASH_SERIAL_TEXT_MAX + 200;
    snprintf(f[0], n, "%" PRId64, r->id);
    snprintf(f[1], n, "%s", r->serial);
    snprintf(f[2], n, "%" PRIu64, r->seq);
    snprintf(f[3], n, "%s", r->uid);
    snprintf(f[4], n, "%s", oflash_unit_state_name(r->state));
    snprintf(f[5], n, "%s", r->image_sha256);
    snprintf(f[6], n, "%s", r->device);
    snprintf(f[7], n, "%s", r->station);
    snprintf(f[8], n, "%d", r->port);
    snprintf(f[9], n, "%s", r->error);
    iso_time(f[10], r->start_us);
    iso_time(f[11], r->end_us);
    snprintf(f[12], n, "%" PRIu64, r->duration_ms);
    snprintf(f[13], n, "%" PRIu64, r->sectors_erased);
    snprintf(f[14], n, "%" PRIu64, r->bytes_written);
    snprintf(f[15], n, "%" PRIu64, r->otp_bytes_written);
    snprintf(f[16], n, "%" PRIu64, r->sim_time_ns);
}

/* RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled. */
static int csv_field(export_ctx *e, const char *s, bool last)
{
    char buf[2 * (OFLASH_SERIAL_TEXT_MAX + 200) + 8];
    size_t n = 0;
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote) buf[n++] = '"';
    for (; *s; s++) {
        if (*s == '"') buf[n++] = '"';
        buf[n++] = *s;
    }
    if (quote) buf[n++] = '"';
    if (last) {
        buf[n++] = '\r';
        buf[n++] = '\n';
    } else {
        buf[n++] = ',';
    }
    return e->write(e->wctx, buf, n);
}

static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j) return j;
    /* Not UTF-8 (a station's error text in another encoding): keep ASCII. */
    char clean[OFLASH_SERIAL_TEXT_MAX + 200];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof clean; i++)
        clean[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    clean[i] = 0;
    return json_string(clean);
}

static int export_row(void *ctx, const oflash_unit_record *r)
{
    export_ctx *e = ctx;
    char f[EXPORT_FIELDS][OFLASH_SERIAL_TEXT_MAX + 200];
    record_fields(f, r);
    if (e->fmt == OFLASH_EXPORT_CSV) {
        for (int i = 0; i < EXPORT_FIELDS; i++) {
            int rc = csv_field(e, f[i], i == EXPORT_FIELDS - 1);
            if (rc) return rc < 0 ? rc : OFLASH_EIO;
        }
        return 0;
    }
    json_t *o = json_object();
    if (!o) return OFLASH_ENOMEM;
    int bad = 0;
    for (int i = 0; i < EXPORT_FIELDS; i++) {
        json_t *v;
        switch (i) {
        case 0:
            v = json_integer(r->id);
            break;
        case 2:
            v = json_integer((json_int_t)r->seq);
            break;
        case 8:
            v = json_integer(r->port);
            break;
        case 10:
            v = r->start_us ? json_text(f[i]) : json_null();
            break;
        case 11:
            v = r->end_us ? json_text(f[i]) : json_null();
            break;
        case 12:
            v = json_integer((json_int_t)r->duration_ms);
            break;
        case 13:
            v = json_integer((json_int_t)r->sectors_erased);
            break;
        case 14:
            v = json_integer((json_int_t)r->bytes_written);
            break;
        case 15:
            v = json_integer((json_int_t)r->otp_bytes_written);
            break;
        case 16:
            v = json_integer((json_int_t)r->sim_time_ns);
            break;
        default:
            v = json_text(f[i]);
            break;
        }
        bad |= json_object_set_new(o, export_names[i], v);
    }
    bad |= json_array_append_new(e->array, o);
    return bad ? OFLASH_ENOMEM : 0;
}

static int json_write_cb(const char *buffer, size_t size, void *data)
{
    export_ctx *e = data;
    return e->write(e->wctx, buffer, size) == 0 ? 0 : -1;
}

int oflash_ledger_export(oflash_ledger *l, const oflash_ledger_query *q, oflash_export_format fmt,
                         int (*write)(void *ctx, const void *data, size_t len), void *ctx)
{
    if (need_schema(l, 2) < 0) return oflash_error_last_code();
    export_ctx e = {fmt, write, ctx, NULL};
    int rc;
    if (fmt == OFLASH_EXPORT_CSV) {
        for (int i = 0; i < EXPORT_FIELDS; i++)
            if ((rc = csv_field(&e, export_names[i], i == EXPORT_FIELDS - 1)) != 0)
                return rc < 0 ? rc : oflash_error_set(OFLASH_EIO, "writing the export failed");
        rc = oflash_ledger_units(l, q, export_row, &e);
        if (rc > 0 || (rc < 0 && !oflash_error_last()[0]))
            rc = oflash_error_set(OFLASH_EIO, "writing the export failed");
        return rc;
    }
    if (fmt != OFLASH_EXPORT_JSON)
        return oflash_error_set(OFLASH_EINVAL, "unknown export format %d (csv or json)", (int)fmt);
    e.array = json_array();
    if (!e.array)
        return oflash_error_set(OFLASH_ENOMEM, "cannot write JSON (jansson: out of memory, or "
                                               "libjansson4 missing)");
    rc = oflash_ledger_units(l, q, export_row, &e);
    if (rc == OFLASH_ENOMEM)
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory while building the JSON export");
    if (rc == 0 && (json_dump_callback(e.array, json_write_cb, &e, JSON_INDENT(2)) != 0 ||
                    write(ctx, "\n", 1) != 0))
        rc = oflash_error_set(OFLASH_EIO, "writing the export failed");
    json_decref(e.array);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Live station state                                                  */
/* ------------------------------------------------------------------ */

int oflash_ledger_live_put(oflash_ledger *l, const char *station, const char *status_json)
{
    if (need_writable(l) < 0) return oflash_error_last_code();
    if (!station || !*station || !status_json)
        return oflash_error_set(OFLASH_EINVAL, "live state needs a station name and a status");
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%" PRId64, oflash__ledger_now_us());
    const char *p[3] = {station, now_s, status_json};
    pthread_mutex_lock(&l->lock);
    int rc = l->be->query(l, true,
                          "INSERT INTO station_live (station, updated_us, status) "
                          "VALUES ($1, CAST($2 AS BIGINT), $3) ON CONFLICT (station) DO UPDATE "
                          "SET updated_us = excluded.updated_us, status = excluded.status",
                          3, p, NULL, NULL);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

typedef struct live_walk {
    int (*fn)(void *ctx, const char *station, int64_t updated_us, const char *status_json);
    void *ctx;
} live_walk;

static int row_live(void *ctx, int ncols, const char *const *vals)
{
    live_walk *w = ctx;
    if (ncols < 3) return 0;
    return w->fn(w->ctx, vals[0] ? vals[0] : "", to_i64(vals[1]), vals[2] ? vals[2] : "");
}

int oflash_ledger_live_list(oflash_ledger *l,
                            int (*fn)(void *ctx, const char *station, int64_t updated_us,
                                      const char *status_json),
                            void *ctx)
{
    if (need_schema(l, 2) < 0) return oflash_error_last_code();
    live_walk w = {fn, ctx};
    pthread_mutex_lock(&l->lock);
    int rc = l->be->query(l, true,
                          "SELECT station, updated_us, status FROM station_live ORDER BY station",
                          0, NULL, row_live, &w);
    pthread_mutex_unlock(&l->lock);
    return rc;
}
