/*
 * oflash/prod.h - the production line: per-unit serial numbers, the serial
 * ledger (SQLite or PostgreSQL) and the station that programs units on one
 * or more ports.
 *
 * Three parts, one module each (src/prod/):
 *
 *  1. Serial pool (serial.c).  A serial scheme says where the per-unit
 *     field goes (`at`, in OTP or main flash) and how a serial is encoded.
 *     The serials of a pool are numbered by their index `seq` (0, 1, 2, ...):
 *     a counter gives start + seq*step, a list file gives its line seq.
 *     The field is [prefix][number: len bytes][CRC-32, 4 bytes LE, optional].
 *     Pure functions: no target, no database.
 *
 *  2. Ledger (ledger.c, ledger_sqlite.c, ledger_pg.c).  One record per unit,
 *     the same schema on both databases, schema version and migrations in
 *     the code.  Invariants the ledger keeps (the database enforces them
 *     with unique indexes; the code never relies on the caller):
 *      - a serial (pool, seq) belongs to at most one UID, ever, once writing
 *        of it may have started (state WRITING, PASS or VOID);
 *      - a UID has at most one serial per pool (a rerun gets the same one);
 *      - a serial is never handed to a second chip; one whose write may
 *        have started and did not pass stays bound to its UID as VOID with
 *        a reason, and is completed (PASS) if that UID comes back;
 *      - a reservation whose writing never started is RELEASED and its seq
 *        is handed out again before new ones (gaps are only ever VOIDs,
 *        each with a reason).
 *     A unit costs at most 3 round trips: reserve, started, finish.
 *     A ledger handle may be shared by threads (calls are serialized);
 *     for throughput each port opens its own.  docs/ledger.md.
 *
 *  3. Station (station.c).  Runs a job on its ports, one thread per port;
 *     per unit: connect and read the UID, reserve, put the serial into the
 *     image, plan (the conflict rules refuse a chip holding another
 *     serial), program + verify + lock + RDP, finish.  A failing port never
 *     stops the others.  oflash_station_status() is a snapshot any thread
 *     may take (the terminal's live lines and the web page use it).
 */
#ifndef OFLASH_PROD_H
#define OFLASH_PROD_H

#include "oflash/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

OFLASH_BEGIN_DECLS

/* ------------------------------------------------------------------ */
/* Serial pool                                                         */
/* ------------------------------------------------------------------ */

typedef enum oflash_serial_format {
    OFLASH_SERIAL_BIN_LE = 0, /* binary, little-endian, len bytes */
    OFLASH_SERIAL_BIN_BE,     /* binary, big-endian */
    OFLASH_SERIAL_ASCII_DEC,  /* decimal digits, zero-padded to len */
    OFLASH_SERIAL_ASCII_HEX,  /* upper-case hex digits, zero-padded to len */
    OFLASH_SERIAL_BCD         /* packed BCD, 2 digits a byte, most significant first */
} oflash_serial_format;

/* "bin-le", "bin-be", "ascii-dec", "ascii-hex", "bcd". */
const char *oflash_serial_format_name(oflash_serial_format f);
int oflash_serial_format_parse(oflash_serial_format *out, const char *name);

#define OFLASH_SERIAL_TEXT_MAX 64 /* display form, NUL included */
#define OFLASH_SERIAL_FIELD_MAX 96

typedef struct oflash_serial_scheme {
    unsigned version;        /* OFLASH_SERIAL_SCHEME_VERSION */
    uint32_t at;             /* address of the field */
    oflash_serial_format format;
    unsigned len;            /* bytes of the number (without prefix and CRC) */
    uint64_t start;          /* counter: serial seq = start + seq * step */
    uint64_t step;           /* 0 means 1 */
    const char *prefix;      /* text written before the number; NULL = none */
    bool crc32;              /* append CRC-32 (oflash_crc32) of prefix+number, LE */
    const char *list_path;   /* one serial per line, in order; NULL = counter */
    /* Version 2: the pool's name in a ledger (letters, digits, '-', '_',
     * '.'; NULL = "default").  A ledger keeps one scheme per name. */
    const char *pool;
} oflash_serial_scheme;
#define OFLASH_SERIAL_SCHEME_VERSION 2
#define OFLASH_SERIAL_POOL_NAME_MAX 64
#define OFLASH_SERIAL_POOL_DEFAULT "default"
#define OFLASH_SERIAL_SCHEME_INIT                                                                  \
    {                                                                                              \
        .version = OFLASH_SERIAL_SCHEME_VERSION, .format = OFLASH_SERIAL_ASCII_DEC, .len = 8,     \
        .start = 1, .step = 1                                                                      \
    }

typedef struct oflash_serial_pool oflash_serial_pool;

/* Check the scheme (a number that cannot fit len, a list line that does not
 * fit or repeats, ... named with file and line) and load the list. */
int oflash_serial_pool_open(oflash_serial_pool **out, const oflash_serial_scheme *scheme);
void oflash_serial_pool_free(oflash_serial_pool *pool);

/* Serials in the pool (list lines, or how many counter values fit len). */
uint64_t oflash_serial_pool_size(const oflash_serial_pool *pool);
/* One line that identifies the pool (format, len, start, step, prefix, crc,
 * at, and the list file's SHA-256): stations whose jobs give the same
 * identity share one pool in a ledger. */
const char *oflash_serial_pool_identity(const oflash_serial_pool *pool);
/* The pool's name in a ledger: the scheme's, else "default". */
const char *oflash_serial_pool_name(const oflash_serial_pool *pool);
/* Bytes of the field: strlen(prefix) + len + (crc32 ? 4 : 0). */
size_t oflash_serial_field_size(const oflash_serial_pool *pool);
uint32_t oflash_serial_field_addr(const oflash_serial_pool *pool);

/* The display form of serial seq (prefix + digits; "ACME-SN-000001"). */
int oflash_serial_text(char out[OFLASH_SERIAL_TEXT_MAX], const oflash_serial_pool *pool,
                       uint64_t seq);
/* The field bytes of serial seq; *out_len = oflash_serial_field_size(). */
int oflash_serial_encode(uint8_t out[OFLASH_SERIAL_FIELD_MAX], size_t *out_len,
                         const oflash_serial_pool *pool, uint64_t seq);
/* Which serial of the pool a field holds: OFLASH_ENOTFOUND if the bytes are
 * erased (all 0xFF) or are no serial of this pool; then text gets a
 * printable form of what is there ("ACME-SN-0000x7" or hex). */
int oflash_serial_decode(uint64_t *seq, char text[OFLASH_SERIAL_TEXT_MAX],
                         const oflash_serial_pool *pool, const uint8_t *field, size_t len);

struct oflash_image;
/* Put serial seq into img at the field's address.  Refused (OFLASH_EOVERLAP,
 * naming the address) where img already has data other than 0xFF there. */
int oflash_serial_apply(struct oflash_image *img, const oflash_serial_pool *pool, uint64_t seq);

/* ------------------------------------------------------------------ */
/* Ledger                                                              */
/* ------------------------------------------------------------------ */

typedef struct oflash_ledger oflash_ledger;

typedef enum oflash_unit_state {
    OFLASH_UNIT_RESERVED = 0, /* serial reserved for a UID; nothing written yet */
    OFLASH_UNIT_WRITING,      /* writing may have started: serial bound to the UID */
    OFLASH_UNIT_PASS,         /* programmed, verified, locked as asked: committed */
    OFLASH_UNIT_FAIL,         /* failed before any write (no serial consumed) */
    OFLASH_UNIT_VOID,         /* failed after writing may have started: serial void, reason kept */
    OFLASH_UNIT_RELEASED      /* reservation given back; its seq is issued again */
} oflash_unit_state;
/* "reserved", "writing", "pass", "fail", "void", "released". */
const char *oflash_unit_state_name(oflash_unit_state s);

#define OFLASH_UID_HEX_MAX 33 /* 16 bytes as hex + NUL */

typedef struct oflash_unit_record {
    int64_t id;                       /* ledger row id */
    uint64_t seq;                     /* index in the pool */
    char serial[OFLASH_SERIAL_TEXT_MAX];
    char uid[OFLASH_UID_HEX_MAX];     /* chip unique ID, hex */
    oflash_unit_state state;
    char image_sha256[65];
    char device[32];
    char station[64];
    int port;                         /* index of the probe in the job, from 0 */
    char error[256];                  /* reason for fail / void, in words */
    int64_t start_us, end_us;         /* Unix time, microseconds */
    uint64_t duration_ms;             /* host time of the whole unit */
    uint64_t sectors_erased;
    uint64_t bytes_written;           /* main flash */
    uint64_t otp_bytes_written;
    uint64_t sim_time_ns;             /* simulated target time (sim:), else 0 */
} oflash_unit_record;

/* Open "sqlite:PATH" (created, WAL) or "postgresql://..." / "postgres://...".
 * Creates the schema, upgrades an older one, refuses a newer one or a
 * foreign database with a clear message. */
int oflash_ledger_open(oflash_ledger **out, const char *url);
/* The schema version this oflash writes (docs/ledger.md). */
#define OFLASH_LEDGER_SCHEMA_VERSION 3

typedef struct oflash_ledger_open_opts {
    unsigned version; /* OFLASH_LEDGER_OPEN_OPTS_VERSION */
    /* Read only (a plan, a status, a page): nothing is created, upgraded
     * or changed, and the database is asked to refuse writes too.
     *  - a missing SQLite file (or one without tables), an empty
     *    PostgreSQL database: OFLASH_ENOTFOUND, "no ledger at PATH yet:
     *    the first 'oflash prod run' creates it"; no file is created;
     *  - an older schema opens as it is (oflash_ledger_schema_version()
     *    below OFLASH_LEDGER_SCHEMA_VERSION); reading its pools or
     *    counts is refused (OFLASH_EUNSUPPORTED, "the next 'oflash prod
     *    run' upgrades it"); its records (export, units) are read from
     *    schema 2 on;
     *  - a newer or a foreign database is refused as by oflash_ledger_open;
     *  - every writing call (use_pool, reserve, started, finish, reconcile,
     *    live_put) is refused with OFLASH_EINVAL. */
    bool read_only;
} oflash_ledger_open_opts;
#define OFLASH_LEDGER_OPEN_OPTS_VERSION 1
#define OFLASH_LEDGER_OPEN_OPTS_INIT                                                               \
    {                                                                                              \
        .version = OFLASH_LEDGER_OPEN_OPTS_VERSION                                                 \
    }
/* oflash_ledger_open with options (opts NULL: as oflash_ledger_open). */
int oflash_ledger_open_ext(oflash_ledger **out, const char *url,
                           const oflash_ledger_open_opts *opts);
bool oflash_ledger_read_only(const oflash_ledger *l);
void oflash_ledger_close(oflash_ledger *l);
const char *oflash_ledger_backend(const oflash_ledger *l); /* "sqlite", "postgresql" */
int oflash_ledger_schema_version(const oflash_ledger *l);

/* Use the pool named oflash_serial_pool_name(pool), created on first use
 * with the pool's scheme (and list).  Refused (OFLASH_ECONFLICT, before any
 * chip is touched) when the ledger keeps that name with another scheme --
 * a pool never changes format, range or list -- or keeps this scheme
 * under another name (its serials exist once); the message names the
 * pool to give. */
int oflash_ledger_use_pool(oflash_ledger *l, const oflash_serial_pool *pool);
/* The checks of oflash_ledger_use_pool, writing nothing (a plan, a status):
 * *exists false when the ledger has no pool of that name and no pool of
 * that scheme (the first oflash_ledger_use_pool creates it; counts then
 * cover every pool); else the same refusals, and the pool is the one in
 * use for reading (oflash_ledger_counts_get). */
int oflash_ledger_check_pool(bool *exists, oflash_ledger *l, const oflash_serial_pool *pool);

/* One round trip.  For uid (hex) on station/port:
 *  - a PASS record of uid: returned as it is (*rebind = true; the rerun
 *    programs the same serial and writes nothing);
 *  - a WRITING or VOID record of uid: returned, to be completed;
 *  - else a new RESERVED record: the lowest RELEASED seq, or the next one.
 * The pool running out gives OFLASH_ENOTFOUND "no serials left (list FILE
 * has N, all issued)".  info gives image_sha256, device, station, port. */
int oflash_ledger_reserve(oflash_unit_record *out, bool *rebind, oflash_ledger *l, const char *uid,
                          const oflash_unit_record *info);
/* One round trip: writing may begin (RESERVED -> WRITING). */
int oflash_ledger_started(oflash_ledger *l, const oflash_unit_record *rec);
/* One round trip: rec->state PASS commits the figures; FAIL turns a
 * RESERVED record into FAIL (error kept; its seq is free again and issued
 * before new ones, like a RELEASED one) and a WRITING or VOID one into
 * VOID; VOID makes any unfinished record VOID.  A PASS record is kept as
 * it was first committed (a rebind changes nothing). */
int oflash_ledger_finish(oflash_ledger *l, const oflash_unit_record *rec);
/* After a station restart: its RESERVED records are RELEASED; WRITING ones
 * stay bound to their UID.  *released and *inflight may be NULL. */
int oflash_ledger_reconcile(uint64_t *released, uint64_t *inflight, oflash_ledger *l,
                            const char *station);

/* The record holding serial text / uid (any state but RELEASED), or OFLASH_ENOTFOUND. */
int oflash_ledger_find_serial(oflash_unit_record *out, oflash_ledger *l, const char *serial);
int oflash_ledger_find_uid(oflash_unit_record *out, oflash_ledger *l, const char *uid);

typedef struct oflash_ledger_counts {
    uint64_t pass, fail, voided, reserved, writing, released;
    uint64_t issued;                       /* distinct seqs ever bound to a chip */
    uint64_t left;                         /* serials left in the pool (UINT64_MAX: unbounded) */
    char next_serial[OFLASH_SERIAL_TEXT_MAX]; /* "" if none left */
} oflash_ledger_counts;
int oflash_ledger_counts_get(oflash_ledger_counts *out, oflash_ledger *l);

/* The serial pools a ledger keeps: each has a name (a job's scheme goes
 * to pool "default" unless it names one) and the scheme it was started
 * with, so the ledger alone spells its next serial. */
typedef struct oflash_ledger_pool_info {
    char name[OFLASH_SERIAL_POOL_NAME_MAX];
    char scheme[320];           /* in words: format, digits, prefix, CRC, counter or list, address */
    bool scheme_known;          /* false: a list pool an older oflash started, its lines not
                                 * stored yet (the next job with that list stores them) */
    bool in_use;                /* the pool oflash_ledger_use_pool chose on this handle */
    uint64_t size;              /* serials in the pool */
    uint64_t issued;            /* distinct serials bound to a chip */
    uint64_t left;              /* UINT64_MAX: unbounded */
    char next_serial[OFLASH_SERIAL_TEXT_MAX]; /* as it will be written; "" if none left or unknown */
} oflash_ledger_pool_info;
/* fn for each pool, oldest first; fn returning non-zero stops the walk. */
int oflash_ledger_pools(oflash_ledger *l, int (*fn)(void *ctx, const oflash_ledger_pool_info *pool),
                        void *ctx);
/* Use a pool with the scheme the ledger keeps for it (no job needed: `prod
 * status`, `prod serve`): name NULL = the only pool, else "default". */
int oflash_ledger_use_stored_pool(oflash_ledger *l, const char *name);

typedef struct oflash_ledger_query {
    unsigned version;     /* OFLASH_LEDGER_QUERY_VERSION */
    int64_t since_us;     /* records that started at or after; 0 = all */
    const char *serial;   /* substring match; NULL = any */
    const char *uid;      /* substring match; NULL = any */
    size_t limit;         /* newest first when set; 0 = all, oldest first */
} oflash_ledger_query;
#define OFLASH_LEDGER_QUERY_VERSION 1
#define OFLASH_LEDGER_QUERY_INIT                                                                   \
    {                                                                                              \
        .version = OFLASH_LEDGER_QUERY_VERSION                                                     \
    }

/* Call fn for each record the query selects; fn returning non-zero stops
 * the walk and that value is returned. */
int oflash_ledger_units(oflash_ledger *l, const oflash_ledger_query *q,
                        int (*fn)(void *ctx, const oflash_unit_record *rec), void *ctx);

/* Live state of the stations (the web page of `oflash prod serve`): one
 * row per station, replaced on each put (one round trip, an upsert). */
int oflash_ledger_live_put(oflash_ledger *l, const char *station, const char *status_json);
/* Every station's last put, by station name; fn returning non-zero stops. */
int oflash_ledger_live_list(oflash_ledger *l,
                            int (*fn)(void *ctx, const char *station, int64_t updated_us,
                                      const char *status_json),
                            void *ctx);

typedef enum oflash_export_format { OFLASH_EXPORT_CSV = 0, OFLASH_EXPORT_JSON } oflash_export_format;
/* The export `oflash prod export` and the web page both give: the selected
 * records written through write(ctx, data, len) (returns 0 or negative). */
int oflash_ledger_export(oflash_ledger *l, const oflash_ledger_query *q, oflash_export_format fmt,
                         int (*write)(void *ctx, const void *data, size_t len), void *ctx);

/* ------------------------------------------------------------------ */
/* Job and station                                                     */
/* ------------------------------------------------------------------ */

#define OFLASH_JOB_MAX_IMAGES 8
#define OFLASH_STATION_MAX_PORTS 16

typedef struct oflash_job {
    unsigned version;                 /* OFLASH_JOB_VERSION */
    const char *images[OFLASH_JOB_MAX_IMAGES]; /* image specs, as `program` takes them */
    size_t nimages;
    const char *device;
    const char *probes[OFLASH_STATION_MAX_PORTS]; /* one port each: sim:, sim-feed:DIR, gdb: */
    size_t nprobes;
    oflash_serial_scheme serial;
    bool lock;                        /* lock the OTP block(s) that hold the serial */
    int rdp;                          /* readout protection after programming: 0, 1 or 2 */
    bool allow_rdp2;                  /* second, explicit opt-in for RDP level 2 */
    bool run;                         /* reset and run after programming */
    const char *db_url;               /* NULL = "sqlite:" + a file beside the job */
    const char *station;              /* NULL = host name */
    uint64_t units;                   /* 0 = until stopped (or the pool runs out) */
} oflash_job;
#define OFLASH_JOB_VERSION 1
#define OFLASH_JOB_INIT                                                                            \
    {                                                                                              \
        .version = OFLASH_JOB_VERSION, .serial = OFLASH_SERIAL_SCHEME_INIT                         \
    }

/* Read a job file (INI, parsed with inih); every error names file and line.
 * Strings point into *out_storage, freed with oflash_job_file_free(). */
typedef struct oflash_job_file oflash_job_file;
int oflash_job_load(oflash_job *job, oflash_job_file **out_storage, const char *path);
void oflash_job_file_free(oflash_job_file *storage);

/* The web page's settings of a job file: [job] http, http_token,
 * http_cert, http_key, http_insecure -- the flags of `oflash prod run`
 * (include/oflash/web.h, docs/web.md), which override them.  Each value
 * was checked by oflash_job_load with the file and line of a bad one (an
 * address that does not parse or resolve, a token's length or
 * characters, a certificate or key file that is missing, not PEM, not a
 * pair, expired or not valid yet, http_insecure with http_cert); how they
 * combine with the flags (a non-loopback address needs a token and HTTPS)
 * is checked once the flags are over them.  NULL / false where the file
 * has none; the paths are resolved against the job file's folder.  *_at:
 * "FILE:LINE" of the key (NULL when not given), for messages.  Strings
 * live in the oflash_job_file (NULL: everything empty). */
typedef struct oflash_job_web {
    const char *http, *http_token, *http_cert, *http_key;
    bool http_insecure;
    const char *http_at, *http_token_at, *http_cert_at, *http_key_at, *http_insecure_at;
} oflash_job_web;
void oflash_job_file_web(oflash_job_web *out, const oflash_job_file *storage);

typedef enum oflash_port_state {
    OFLASH_PORT_IDLE = 0,   /* waiting for the next board */
    OFLASH_PORT_CONNECTING,
    OFLASH_PORT_ERASING,
    OFLASH_PORT_PROGRAMMING,
    OFLASH_PORT_VERIFYING,
    OFLASH_PORT_LOCKING,
    OFLASH_PORT_PROTECTING, /* setting readout protection */
    OFLASH_PORT_PASS,       /* last unit passed; board may be taken off */
    OFLASH_PORT_FAIL,       /* last unit failed; last_error says why */
    OFLASH_PORT_STOPPED
} oflash_port_state;
/* "idle", "connecting", "erasing", ... */
const char *oflash_port_state_name(oflash_port_state s);

typedef struct oflash_port_status {
    char probe[128];
    oflash_port_state state;
    unsigned percent;                 /* progress of the current phase, 0-100 */
    char uid[OFLASH_UID_HEX_MAX];     /* unit in progress ("" if none) */
    char serial[OFLASH_SERIAL_TEXT_MAX];
    char last_serial[OFLASH_SERIAL_TEXT_MAX];
    char last_error[256];             /* in words a technician understands */
    uint64_t passed, failed;
} oflash_port_status;

typedef struct oflash_station_status {
    char station[64];
    char device[32];
    char image_name[128];
    char image_sha256[65];
    char scheme[160];                 /* the serial scheme in words */
    size_t nports;
    oflash_port_status ports[OFLASH_STATION_MAX_PORTS];
    uint64_t passed, failed;
    double units_per_hour;            /* by simulated target time on sim: ports */
    double elapsed_s;
    bool running;
    /* Figures of the units so far (averages per unit; bench/prod.sh): */
    double overhead_ms;               /* the station's own host time: outside the chip's
                                       * work (probe, planning, programming) and the
                                       * ledger's round trips: serial, image, bookkeeping */
    double db_ms;                     /* host time waiting for the ledger */
    double db_round_trips;            /* ledger round trips */
    /* At the start of the run (oflash_ledger_reconcile for this station): */
    uint64_t reconciled_released;     /* reservations of a stopped run given back */
    uint64_t reconciled_inflight;     /* started units of a stopped run, still bound */
    /* The serial pool in the ledger, as oflash_station_create found it: */
    char pool[64];                    /* its name */
    bool pool_new;                    /* plan_only: not in the ledger yet (the first run
                                       * creates it) */
    char next_serial[OFLASH_SERIAL_TEXT_MAX]; /* plan_only: the serial the next unit gets
                                               * ("" when none is left or not known) */
    bool ledger_new;                  /* plan_only: no ledger at the job's database yet
                                       * (the first run creates it; pool_new too) */
    int ledger_schema;                /* plan_only: the ledger's schema version; below
                                       * OFLASH_LEDGER_SCHEMA_VERSION the first run
                                       * upgrades it (next_serial then "") */
} oflash_station_status;

typedef struct oflash_station oflash_station;

typedef struct oflash_station_opts {
    unsigned version;                 /* OFLASH_STATION_OPTS_VERSION */
    /* Called from port threads after every state change (may be NULL). */
    void (*changed)(void *ctx, size_t port);
    void *ctx;
    const char *journal_dir;          /* recovery journal; NULL = default */
    /* Version 2: check the job and look the serial pool up without writing
     * to the ledger (a plan): no port connection is opened, the status
     * gives pool, pool_new and next_serial, and oflash_station_run
     * refuses. */
    bool plan_only;
} oflash_station_opts;
#define OFLASH_STATION_OPTS_VERSION 2
#define OFLASH_STATION_OPTS_INIT                                                                   \
    {                                                                                              \
        .version = OFLASH_STATION_OPTS_VERSION                                                     \
    }

/* Check the whole job (images, device, serial scheme against the image and
 * the device's regions, RDP opt-ins, database reachable and pool usable)
 * before any port touches a chip. */
int oflash_station_create(oflash_station **out, const oflash_job *job,
                          const oflash_station_opts *opts);
/* Run until job->units units passed, the pool runs out, or stop.  Returns
 * 0 when every unit passed, OFLASH_ETARGET if any failed. */
int oflash_station_run(oflash_station *st);
/* Ask the ports to stop at the next safe point (async-signal-safe). */
void oflash_station_stop(oflash_station *st);
/* A consistent snapshot; any thread. */
void oflash_station_status_get(oflash_station_status *out, oflash_station *st);
void oflash_station_free(oflash_station *st);
/* The ledger the station uses (the job's db_url). */
const char *oflash_station_db_url(const oflash_station *st);

OFLASH_END_DECLS

#endif
