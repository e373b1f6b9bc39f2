/*
 * cmd_prod.c - oflash prod: the production line (docs/production.md).
 *
 *   oflash prod run [JOB.ini] [options]   program units on one or more ports
 *   oflash prod export --db URL [--format csv|json] [--since TIME]
 *   oflash prod status [JOB.ini] [--db URL] [--json]
 *   oflash prod serve --db URL --http [HOST:]PORT    the web page (prod_web.c)
 *
 * `prod run` reads the job file (INI, oflash_job_load), lets every flag
 * override it, creates the station (every check before any port touches a
 * chip), prints the plan with the irreversible steps, and runs the ports
 * in a thread of their own while this thread draws one live line per port
 * and a summary line (redrawn in place on a terminal, plain lines
 * otherwise).  Ctrl-C asks the ports to stop at their next safe point; the
 * command then exits 130.
 */
#include "cli.h"
#include "cli/prod_web.h"
#include "cli_json.h"
#include "oflash/device.h"
#include "oflash/error.h"
#include "oflash/prod.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: oflash prod run [JOB.ini] [options]\n"
        "       oflash prod export --db URL [--format csv|json] [--since TIME]\n"
        "       oflash prod status [JOB.ini] [--db URL] [--json]\n"
        "       oflash prod serve --db URL --http [HOST:]PORT [--http-token TOKEN]\n"
        "                         [--http-cert FILE --http-key FILE | --http-insecure]\n"
        "Program production units: one image, a serial number per unit bound to the chip's\n"
        "unique ID, recorded in a ledger (SQLite or PostgreSQL), on one or more ports at\n"
        "once.  Every flag overrides the job file's key of the same meaning.\n\n"
        "prod run:\n"
        "  --image FILE         image (Intel HEX, S-record, ELF, PATH@ADDR); repeatable\n"
        "  --device NAME        the part on every port\n"
        "  --probe SPEC         one port: sim-feed:DIR (a fresh simulated board per unit;\n"
        "                       DIR?cpu=spare: its core on spare CPU only, docs/sim.md),\n"
        "                       sim:PATH, gdb:HOST:PORT; repeatable\n"
        "  --serial-at ADDR     where the serial field goes (OTP or main flash)\n"
        "  --serial-format F    bin-le, bin-be, ascii-dec, ascii-hex or bcd\n"
        "  --serial-len N       bytes of the number\n"
        "  --serial-start N     first serial of the counter (default 1)\n"
        "  --serial-step N      counter step (default 1)\n"
        "  --serial-prefix TEXT text written before the number\n"
        "  --serial-crc32       append a CRC-32 of the field (4 bytes, little-endian)\n"
        "  --serial-list FILE   serials from FILE, one per line, in order, not a counter\n"
        "  --serial-pool NAME   the pool's name in the ledger (default: default); a pool\n"
        "                       keeps its scheme: a job with another scheme is refused\n"
        "                       unless it names a new pool\n"
        "  --lock               lock the OTP block(s) holding the serial (irreversible)\n"
        "  --rdp 1              readout protection level 1 after programming and verify\n"
        "  --rdp 2 --rdp2-permanent\n"
        "                       level 2: the chip can never be read or reprogrammed again\n"
        "  --run                reset and run the firmware after programming\n"
        "  --db URL             sqlite:PATH or postgresql://...; default: sqlite: a file\n"
        "                       beside the job file, named after it (.db)\n"
        "  --station NAME       this station's name in the ledger (default: host name)\n"
        "  --units N            stop after N units passed (default: until stopped or the\n"
        "                       serials run out)\n"
        "  --plan               check the job and print the plan; touch no chip, write\n"
        "                       nothing to the ledger\n"
        "  --journal-dir DIR    recovery journals (default $XDG_STATE_HOME/oflash)\n" PROD_WEB_HELP
        "  --no-publish         do not put this station's live state into the ledger (by\n"
        "                       default a heartbeat a second, for 'oflash prod serve')\n"
        "  --json               one JSON object with the summary at the end\n"
        "  -q, --quiet          no live lines, only errors and the summary\n\n"
        "prod export:\n"
        "  --db URL             the ledger\n"
        "  --format csv|json    default csv\n"
        "  --since TIME         units started at or after TIME: 2026-11-30, 2026-11-30T14:00\n"
        "                       (UTC; seconds and a trailing Z allowed) or @UNIXSECONDS\n\n"
        "prod status:           counts per state, every serial pool of the ledger with its\n"
        "                       scheme, serials left and next serial (no job file needed)\n"
        "  --db URL, --json, --serial-pool NAME, and the --serial-* options of prod run\n\n"
        "prod serve:            the web page of a ledger and of every station writing to it\n"
        "  --db URL, --http [HOST:]PORT, --http-token TOKEN, --http-cert FILE,\n"
        "  --http-key FILE, --http-insecure (docs/web.md)\n\n"
        "Exit status: 0 every unit passed, 1 a unit failed or the line stopped (database,\n"
        "serials used up), 2 usage error, 130 stopped with Ctrl-C.\n");
}

enum {
    OPT_IMAGE = CLI_OPT_LOCAL,
    OPT_SERIAL_AT,
    OPT_SERIAL_FORMAT,
    OPT_SERIAL_LEN,
    OPT_SERIAL_START,
    OPT_SERIAL_STEP,
    OPT_SERIAL_PREFIX,
    OPT_SERIAL_CRC32,
    OPT_SERIAL_LIST,
    OPT_SERIAL_POOL,
    OPT_LOCK,
    OPT_RDP,
    OPT_RDP2,
    OPT_RUN,
    OPT_DB,
    OPT_STATION,
    OPT_UNITS,
    OPT_PLAN,
    OPT_FORMAT,
    OPT_SINCE,
};

/* One option a line. */
/* clang-format off */
#define OPTS_SERIAL                                                                                \
    {"serial-at", required_argument, NULL, OPT_SERIAL_AT},                                         \
    {"serial-format", required_argument, NULL, OPT_SERIAL_FORMAT},                                 \
    {"serial-len", required_argument, NULL, OPT_SERIAL_LEN},                                       \
    {"serial-start", required_argument, NULL, OPT_SERIAL_START},                                   \
    {"serial-step", required_argument, NULL, OPT_SERIAL_STEP},                                     \
    {"serial-prefix", required_argument, NULL, OPT_SERIAL_PREFIX},                                 \
    {"serial-crc32", no_argument, NULL, OPT_SERIAL_CRC32},                                         \
    {"serial-list", required_argument, NULL, OPT_SERIAL_LIST},                                     \
    {"serial-pool", required_argument, NULL, OPT_SERIAL_POOL}
/* clang-format on */

/* The job as the file gives it, then the flags over it. */
typedef struct job_args {
    oflash_job job;
    oflash_job_file *file;
    const char *path;
    const char *images[OFLASH_JOB_MAX_IMAGES];
    size_t nimages;
    const char *probes[OFLASH_STATION_MAX_PORTS];
    size_t nprobes;
    char default_db[4096];
    /* flags given (they override the file) */
    oflash_serial_scheme serial;
    bool set_at, set_format, set_len, set_start, set_step, set_prefix, set_crc, set_list, set_pool;
    bool lock, rdp2, run, set_rdp, set_units;
    int rdp;
    uint64_t units;
    const char *device, *db, *station;
} job_args;

/* One option shared by run and status; 1 taken, 0 not ours, -1 usage error. */
static int serial_opt(job_args *ja, int c, const char *v)
{
    uint64_t n;
    uint32_t a;
    switch (c) {
    case OPT_SERIAL_AT:
        if (!cli_parse_u32(v, &a))
            return cli_usage("prod", "--serial-at '%s': expected an address (0x1FFF7800)", v), -1;
        ja->serial.at = a;
        ja->set_at = true;
        return 1;
    case OPT_SERIAL_FORMAT:
        if (oflash_serial_format_parse(&ja->serial.format, v) < 0)
            return cli_usage("prod",
                             "--serial-format '%s': expected bin-le, bin-be, ascii-dec, ascii-hex "
                             "or bcd",
                             v),
                   -1;
        ja->set_format = true;
        return 1;
    case OPT_SERIAL_LEN:
        if (!cli_parse_u64(v, &n) || n == 0 || n > 64)
            return cli_usage("prod", "--serial-len '%s': expected 1 to 64 bytes", v), -1;
        ja->serial.len = (unsigned)n;
        ja->set_len = true;
        return 1;
    case OPT_SERIAL_START:
        if (!cli_parse_u64(v, &n))
            return cli_usage("prod", "--serial-start '%s': expected a number", v), -1;
        ja->serial.start = n;
        ja->set_start = true;
        return 1;
    case OPT_SERIAL_STEP:
        if (!cli_parse_u64(v, &n) || n == 0)
            return cli_usage("prod", "--serial-step '%s': expected a number of 1 or more", v), -1;
        ja->serial.step = n;
        ja->set_step = true;
        return 1;
    case OPT_SERIAL_PREFIX:
        ja->serial.prefix = v;
        ja->set_prefix = true;
        return 1;
    case OPT_SERIAL_CRC32:
        ja->serial.crc32 = true;
        ja->set_crc = true;
        return 1;
    case OPT_SERIAL_LIST:
        ja->serial.list_path = v;
        ja->set_list = true;
        return 1;
    case OPT_SERIAL_POOL:
        ja->serial.pool = v;
        ja->set_pool = true;
        return 1;
    case OPT_DB:
        ja->db = v;
        return 1;
    }
    return 0;
}

/* Load the job file (if any) and put the flags over it. */
static int build_job(job_args *ja)
{
    oflash_job *j = &ja->job;
    *j = (oflash_job)OFLASH_JOB_INIT;
    if (ja->path && oflash_job_load(j, &ja->file, ja->path) < 0) return cli_fail();
    if (ja->nimages) {
        memcpy(j->images, ja->images, sizeof ja->images);
        j->nimages = ja->nimages;
    }
    if (ja->nprobes) {
        memcpy(j->probes, ja->probes, sizeof ja->probes);
        j->nprobes = ja->nprobes;
    }
    if (ja->device) j->device = ja->device;
    if (ja->set_at) j->serial.at = ja->serial.at;
    if (ja->set_format) j->serial.format = ja->serial.format;
    if (ja->set_len) j->serial.len = ja->serial.len;
    if (ja->set_start) j->serial.start = ja->serial.start;
    if (ja->set_step) j->serial.step = ja->serial.step;
    if (ja->set_prefix) j->serial.prefix = ja->serial.prefix;
    if (ja->set_crc) j->serial.crc32 = true;
    if (ja->set_list) j->serial.list_path = ja->serial.list_path;
    if (ja->set_pool) j->serial.pool = ja->serial.pool;
    if (ja->lock) j->lock = true;
    if (ja->set_rdp) j->rdp = ja->rdp;
    if (ja->rdp2) j->allow_rdp2 = true;
    if (ja->run) j->run = true;
    if (ja->set_units) j->units = ja->units;
    if (ja->station) j->station = ja->station;
    if (ja->db) j->db_url = ja->db;
    if (!j->db_url && ja->path) {
        /* A file beside the job, named after it: line.ini -> sqlite:line.db */
        const char *slash = strrchr(ja->path, '/');
        const char *dot = strrchr(ja->path, '.');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - ja->path) : strlen(ja->path);
        snprintf(ja->default_db, sizeof ja->default_db, "sqlite:%.*s.db", (int)stem, ja->path);
        j->db_url = ja->default_db;
    }
    if (!j->db_url)
        return cli_usage("prod",
                         "no database: --db sqlite:PATH or --db postgresql://... (with a job file "
                         "the default is a file beside it)");
    return 0;
}

/* ---- log lines of the library, printed by the drawing thread ---- */

#define LOG_QUEUE 64
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_queue[LOG_QUEUE];
static size_t log_count, log_dropped;

static void queue_log(void *ctx, int level, const char *msg)
{
    char *line;
    (void)ctx;
    /* Warnings only: a line's journal directory holds the journals of many
     * chips, and the INFO line about each would drown the port lines. */
    if (level > OFLASH_LOG_WARN) return;
    if (asprintf(&line, "%s%s", level == OFLASH_LOG_WARN ? "warning: " : "", msg) < 0) return;
    pthread_mutex_lock(&log_lock);
    if (log_count < LOG_QUEUE) {
        log_queue[log_count++] = line;
        line = NULL;
    } else {
        log_dropped++;
    }
    pthread_mutex_unlock(&log_lock);
    free(line);
}

/* On a terminal the messages land where the last drawing was: clear it to
 * the end of the screen first (a message wider than the terminal wraps
 * over more than one row). */
static void drain_log(bool tty)
{
    pthread_mutex_lock(&log_lock);
    if (tty && log_count) fprintf(stderr, "\033[J");
    for (size_t i = 0; i < log_count; i++) {
        fprintf(stderr, "oflash: %s\n", log_queue[i]);
        free(log_queue[i]);
    }
    if (log_dropped) fprintf(stderr, "oflash: (%zu more messages left out)\n", log_dropped);
    log_count = log_dropped = 0;
    pthread_mutex_unlock(&log_lock);
}

/* ---- the live lines ---- */

typedef struct runner {
    oflash_station *st;
    int rc;
    char error[1024];
    atomic_int done;
} runner;

static void *run_thread(void *arg)
{
    runner *r = arg;
    r->rc = oflash_station_run(r->st);
    if (r->rc < 0) snprintf(r->error, sizeof r->error, "%s", oflash_error_last());
    atomic_store(&r->done, 1);
    return NULL;
}

/* The distinctive part of a probe: its scheme and the last element of its
 * path, without options ("sim-feed:/x/line/p3?power-loss=1" -> "sim-feed:p3");
 * the plan lists the ports in full, in the same order. */
static void probe_short(char *buf, size_t len, const char *probe)
{
    size_t n = strcspn(probe, "?");
    const char *colon = memchr(probe, ':', n);
    const char *path = colon ? colon + 1 : probe, *end = probe + n, *base;
    int scheme = colon ? (int)(colon - probe + 1) : 0;
    while (end > path + 1 && end[-1] == '/')
        end--;
    for (base = end; base > path && base[-1] != '/'; base--) {
    }
    if (end - base > 24) base = end - 24;
    snprintf(buf, len, "%.*s%.*s", scheme, probe, (int)(end - base), base);
}

/* The widths of the columns that vary: the longest serial and probe. */
typedef struct line_widths {
    int serial, probe;
} line_widths;

static line_widths widths_of(const oflash_station_status *s)
{
    line_widths lw = {1, 1};
    char name[64];
    for (size_t i = 0; i < s->nports; i++) {
        int a = (int)strlen(s->ports[i].serial), b = (int)strlen(s->ports[i].last_serial);
        probe_short(name, sizeof name, s->ports[i].probe);
        if (a > lw.serial) lw.serial = a;
        if (b > lw.serial) lw.serial = b;
        if ((int)strlen(name) > lw.probe) lw.probe = (int)strlen(name);
    }
    return lw;
}

/* Append to a line only what fits whole in `width` columns (all ASCII). */
static void add_field(char *buf, size_t len, unsigned width, bool always, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_field(char *buf, size_t len, unsigned width, bool always, const char *fmt, ...)
{
    char field[512];
    size_t have = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(field, sizeof field, fmt, ap);
    va_end(ap);
    if (!always && have + strlen(field) > width) return;
    snprintf(buf + have, len - have, "%s", field);
}

/* One port, most important first, so that a narrow terminal keeps what
 * matters: number, state, progress, counts, last serial; then, where they
 * fit, the serial in progress, the probe and the last error (cut at the
 * width).  `width` is the usable width (the terminal's less one column). */
static void port_line(char *buf, size_t len, size_t i, const oflash_port_status *p,
                      const line_widths *lw, unsigned width)
{
    char prog[16] = "", name[64];
    bool err = p->last_error[0] && p->state != OFLASH_PORT_PASS;
    if (p->state >= OFLASH_PORT_ERASING && p->state <= OFLASH_PORT_LOCKING)
        snprintf(prog, sizeof prog, "%3u%%", p->percent);
    buf[0] = '\0';
    add_field(buf, len, width, true, "%2zu %-11s %4s %4" PRIu64 " ok %3" PRIu64 " fail  last %-*s",
              i + 1, oflash_port_state_name(p->state), prog, p->passed, p->failed, lw->serial,
              p->last_serial[0] ? p->last_serial : "-");
    add_field(buf, len, width, false, "  now %-*s", lw->serial, p->serial[0] ? p->serial : "-");
    probe_short(name, sizeof name, p->probe);
    add_field(buf, len, width, false, "  %-*s", lw->probe, name);
    /* The error, cut at the width where at least a few words fit (the
     * whole text follows the run). */
    if (err && strlen(buf) + 24 <= width) add_field(buf, len, width, true, "  %s", p->last_error);
    if (strlen(buf) > width) buf[width] = '\0';
}

/* The station's line under the ports: units, yield, units per hour. */
static void summary_line(char *buf, size_t len, const oflash_station_status *s, unsigned width)
{
    uint64_t units = s->passed + s->failed;
    buf[0] = '\0';
    add_field(buf, len, width, true,
              "   %" PRIu64 " unit%s: %" PRIu64 " ok, %" PRIu64
              " fail, yield %.1f %%, %.0f units/h",
              units, units == 1 ? "" : "s", s->passed, s->failed,
              units ? 100.0 * (double)s->passed / (double)units : 0.0, s->units_per_hour);
    if (strncmp(s->ports[0].probe, "sim", 3) == 0)
        add_field(buf, len, width, false, " (target time)");
    add_field(buf, len, width, false, ", %.0f s", s->elapsed_s);
    if (strlen(buf) > width) buf[width] = '\0';
}

static void term_size(unsigned *cols, unsigned *rows)
{
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0) {
        if (ws.ws_col > 20) *cols = ws.ws_col;
        if (ws.ws_row > 0) *rows = ws.ws_row;
    }
}

/* In place on a terminal: move up over the last drawing, print the
 * library's warnings there (they scroll up out of the way) and draw again:
 * one line per port, never as wide as the terminal (no wrap), and while
 * the station runs its summary line.  The last drawing (`final`) leaves
 * the summary out: the full summary follows it. */
static void draw_tty(const oflash_station_status *s, size_t *drawn, bool final)
{
    char line[1024];
    unsigned w, rows;
    line_widths lw = widths_of(s);
    term_size(&w, &rows);
    if (*drawn) fprintf(stderr, "\r\033[%zuA", *drawn);
    drain_log(true);
    for (size_t i = 0; i < s->nports; i++) {
        port_line(line, sizeof line, i, &s->ports[i], &lw, w - 1);
        fprintf(stderr, "\033[2K%s\n", line);
    }
    *drawn = s->nports;
    if (!final) {
        summary_line(line, sizeof line, s, w - 1);
        fprintf(stderr, "\033[2K%s\n", line);
        (*drawn)++;
    }
    fprintf(stderr, "\033[J");
    fflush(stderr);
}

/* Plain lines (stderr not a terminal): one whole line per finished unit
 * ("port 2: pass SN-0007 (pass 3, fail 0)", "port 3: fail: REASON (pass 0,
 * fail 2)") and one when a port's error changes while it waits.  The
 * port's own thread prints its unit's line from the station's changed
 * callback, so two units of a port that end within a few ms get a line
 * each (a look every 50 ms saw them as one).  Each line is one write(2)
 * under the lock of stderr: lines of several ports never mix. */
typedef struct plain_seen {
    uint64_t passed, failed;
    char error[256];
} plain_seen;

typedef struct plain_out {
    prod_web *pw;               /* the page and the publisher are told too */
    oflash_station *st;         /* set before the run starts */
    atomic_bool on;             /* plain lines wanted (not a terminal, not quiet) */
    pthread_mutex_t lock;       /* snap and seen */
    oflash_station_status snap; /* the last look */
    plain_seen seen[OFLASH_STATION_MAX_PORTS];
} plain_out;

static void write_line(char *line, size_t size, int n)
{
    if (n <= 0) return;
    if ((size_t)n >= size) { /* cut: still one whole line */
        n = (int)size - 1;
        line[n - 1] = '\n';
    }
    flockfile(stderr);
    fflush(stderr);
    for (const char *p = line; n > 0;) {
        ssize_t w = write(STDERR_FILENO, p, (size_t)n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        p += w;
        n -= (int)w;
    }
    funlockfile(stderr);
}

/* Under po->lock, po->snap fresh: port i's lines since the last look. */
static void plain_port(plain_out *po, size_t i)
{
    const oflash_port_status *p = &po->snap.ports[i];
    plain_seen *seen = &po->seen[i];
    char line[700];
    if (p->passed != seen->passed)
        write_line(line, sizeof line,
                   snprintf(line, sizeof line,
                            "port %zu: pass %s (pass %" PRIu64 ", fail %" PRIu64 ")\n", i + 1,
                            p->last_serial, p->passed, p->failed));
    /* A failed unit once, when it is counted (its reason was set just
     * before); another error when it changes (waiting for a board, stopped). */
    if (p->failed != seen->failed || (p->state != OFLASH_PORT_FAIL && p->last_error[0] &&
                                      strcmp(p->last_error, seen->error) != 0))
        write_line(line, sizeof line,
                   snprintf(line, sizeof line,
                            "port %zu: %s: %s (pass %" PRIu64 ", fail %" PRIu64 ")\n", i + 1,
                            oflash_port_state_name(p->state), p->last_error, p->passed, p->failed));
    seen->passed = p->passed;
    seen->failed = p->failed;
    _Static_assert(sizeof seen->error == sizeof p->last_error, "error sizes");
    memcpy(seen->error, p->last_error, sizeof seen->error);
}

/* The station's changed callback: from a port's thread after every state
 * change of that port. */
static void run_changed(void *ctx, size_t port)
{
    plain_out *po = ctx;
    prod_web_changed(po->pw, port);
    if (!atomic_load(&po->on)) return;
    pthread_mutex_lock(&po->lock);
    oflash_station_status_get(&po->snap, po->st);
    if (port < po->snap.nports) plain_port(po, port);
    pthread_mutex_unlock(&po->lock);
}

/* The main thread: the library's warnings; at the end, a last look at
 * every port. */
static void draw_plain(plain_out *po, bool final)
{
    drain_log(false);
    if (!final) return;
    pthread_mutex_lock(&po->lock);
    oflash_station_status_get(&po->snap, po->st);
    for (size_t i = 0; i < po->snap.nports; i++)
        plain_port(po, i);
    pthread_mutex_unlock(&po->lock);
}

static void print_plan(FILE *f, const oflash_station_status *s, const oflash_job *j, const char *db,
                       bool plan_only)
{
    fprintf(f, "production job%s%s:\n", s->station[0] ? " on station " : "", s->station);
    fprintf(f, "  device    %s\n", s->device);
    fprintf(f, "  image     %s (SHA-256 %.16s...)\n", s->image_name, s->image_sha256);
    fprintf(f, "  serial    %s\n", s->scheme);
    fprintf(f, "  ports     %zu:", s->nports);
    for (size_t i = 0; i < s->nports; i++)
        fprintf(f, " %s", s->ports[i].probe);
    fputc('\n', f);
    fprintf(f, "  ledger    %s\n", db);
    if (s->ledger_new)
        fprintf(f,
                "  pool      the ledger %s does not exist yet; the first 'oflash prod run' "
                "creates it, with pool '%s' starting at %s\n",
                db, s->pool, s->next_serial);
    else if (plan_only && s->ledger_schema < OFLASH_LEDGER_SCHEMA_VERSION)
        fprintf(f,
                "  pool      '%s'; the ledger has schema version %d: the first 'oflash prod run' "
                "upgrades it to version %d, the next serial is known then\n",
                s->pool, s->ledger_schema, OFLASH_LEDGER_SCHEMA_VERSION);
    else if (s->pool_new)
        fprintf(f,
                "  pool      '%s' is not in the ledger yet: the first 'oflash prod run' creates "
                "it, starting at %s\n",
                s->pool, s->next_serial);
    else if (plan_only)
        fprintf(f, "  pool      '%s', next serial %s\n", s->pool,
                s->next_serial[0] ? s->next_serial : "(none left)");
    if (j->units)
        fprintf(f, "  units     %" PRIu64 "\n", j->units);
    else
        fprintf(f, "  units     until stopped or the serials run out\n");
    fprintf(f, "irreversible, on every unit:\n");
    if (strstr(s->scheme, "(OTP)"))
        fprintf(f, "  OTP       the serial is written once into OTP; it can never be erased\n");
    if (j->lock)
        fprintf(f, "  lock      the OTP block(s) holding the serial are locked (lock byte <- "
                   "0x00)\n");
    if (j->rdp == 1)
        fprintf(f, "  RDP 1     readout protection level 1 after verify: a debugger can no "
                   "longer read the chip; lowering it to 0 mass-erases the chip\n");
    if (j->rdp == 2)
        fprintf(f, "  RDP 2     readout protection level 2 after verify: PERMANENT, the chip "
                   "can never be debugged, read or reprogrammed again\n");
    if (!strstr(s->scheme, "(OTP)") && !j->lock && !j->rdp) fprintf(f, "  nothing\n");
    if (j->run) fprintf(f, "then: reset and run the firmware\n");
}

static void print_summary(FILE *f, const oflash_station_status *s)
{
    uint64_t units = s->passed + s->failed;
    fprintf(f,
            "%" PRIu64 " unit%s: %" PRIu64 " passed, %" PRIu64 " failed, yield %.1f %%; %.0f "
            "units per hour%s; %.1f s\n",
            units, units == 1 ? "" : "s", s->passed, s->failed,
            units ? 100.0 * (double)s->passed / (double)units : 0.0, s->units_per_hour,
            strncmp(s->ports[0].probe, "sim", 3) == 0 ? " (simulated target time)" : "",
            s->elapsed_s);
    if (units)
        fprintf(f,
                "per unit: station overhead %.2f ms host time, ledger %.2f ms in %.1f database "
                "round trips\n",
                s->overhead_ms, s->db_ms, s->db_round_trips);
}

static void json_summary(const oflash_station_status *s, int rc, const char *error)
{
    uint64_t units = s->passed + s->failed;
    json_t *o = json_object(), *ports = json_array();
    json_object_set_new(o, "station", cli_json_str(s->station));
    json_object_set_new(o, "device", cli_json_str(s->device));
    json_object_set_new(o, "image_sha256", cli_json_str(s->image_sha256));
    json_object_set_new(o, "units", json_integer((json_int_t)units));
    json_object_set_new(o, "passed", json_integer((json_int_t)s->passed));
    json_object_set_new(o, "failed", json_integer((json_int_t)s->failed));
    json_object_set_new(o, "yield", json_real(units ? (double)s->passed / (double)units : 0.0));
    json_object_set_new(o, "units_per_hour", json_real(s->units_per_hour));
    json_object_set_new(o, "elapsed_s", json_real(s->elapsed_s));
    json_object_set_new(o, "overhead_ms", json_real(s->overhead_ms));
    json_object_set_new(o, "db_ms", json_real(s->db_ms));
    json_object_set_new(o, "db_round_trips", json_real(s->db_round_trips));
    json_object_set_new(o, "reconciled_released", json_integer((json_int_t)s->reconciled_released));
    json_object_set_new(o, "reconciled_inflight", json_integer((json_int_t)s->reconciled_inflight));
    for (size_t i = 0; i < s->nports; i++) {
        const oflash_port_status *p = &s->ports[i];
        json_t *po = json_object();
        json_object_set_new(po, "probe", cli_json_str(p->probe));
        json_object_set_new(po, "state", cli_json_str(oflash_port_state_name(p->state)));
        json_object_set_new(po, "passed", json_integer((json_int_t)p->passed));
        json_object_set_new(po, "failed", json_integer((json_int_t)p->failed));
        json_object_set_new(po, "last_serial", cli_json_str(p->last_serial));
        json_object_set_new(po, "last_error", cli_json_str(p->last_error));
        json_array_append_new(ports, po);
    }
    json_object_set_new(o, "ports", ports);
    json_object_set_new(o, "error", rc < 0 ? cli_json_str(error) : json_null());
    cli_json_print(o);
}

/* clang-format off */
static const struct option run_opts[] = {
    CLI_OPTS_COMMON,
    CLI_OPTS_JSON,
    CLI_OPTS_JOURNAL,
    {"image", required_argument, NULL, OPT_IMAGE},
    {"device", required_argument, NULL, CLI_OPT_DEVICE},
    {"probe", required_argument, NULL, CLI_OPT_PROBE},
    OPTS_SERIAL,
    {"lock", no_argument, NULL, OPT_LOCK},
    {"rdp", required_argument, NULL, OPT_RDP},
    {"rdp2-permanent", no_argument, NULL, OPT_RDP2},
    {"run", no_argument, NULL, OPT_RUN},
    {"db", required_argument, NULL, OPT_DB},
    {"station", required_argument, NULL, OPT_STATION},
    {"units", required_argument, NULL, OPT_UNITS},
    {"plan", no_argument, NULL, OPT_PLAN},
    PROD_WEB_OPTS,
    PROD_WEB_OPT_PUBLISH,
    CLI_OPTS_END};
/* clang-format on */

static int prod_run(int argc, char **argv)
{
    job_args ja;
    cli_args a;
    bool plan_only = false;
    const char *journal_dir = NULL;
    oflash_station_opts so = OFLASH_STATION_OPTS_INIT;
    prod_web pw;
    oflash_station *st = NULL;
    oflash_station_status *s = NULL;
    plain_out *po = NULL;
    runner r;
    pthread_t th;
    size_t drawn = 0;
    unsigned cols, rows;
    bool tty, live, stopping = false;
    int c, k, ret = EXIT_FAIL;

    memset(&ja, 0, sizeof ja);
    memset(&pw, 0, sizeof pw);
    memset(&r, 0, sizeof r);
    /* Ctrl-C is a request from the first moment, also while the job is
     * checked: a station started in the background by a script inherits
     * SIGINT ignored, and a SIGINT before this line is lost. */
    cli_interrupt_install();
    cli_args_init(&a, "prod", "prod run: ", argc, argv, run_opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        uint64_t n;
        if (c == CLI_ARGS_BAD) return EXIT_USAGE;
        if (prod_web_opt(&pw, c, a.arg)) continue;
        if ((k = serial_opt(&ja, c, a.arg)) != 0) {
            if (k < 0) return EXIT_USAGE;
            continue;
        }
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case CLI_OPT_JSON:
            break;
        case CLI_OPT_JOURNAL_DIR:
            journal_dir = a.arg;
            break;
        case OPT_IMAGE:
            if (ja.nimages == OFLASH_JOB_MAX_IMAGES)
                return cli_usage("prod", "prod run: at most %d --image", OFLASH_JOB_MAX_IMAGES);
            ja.images[ja.nimages++] = a.arg;
            break;
        case CLI_OPT_DEVICE:
            ja.device = a.arg;
            break;
        case CLI_OPT_PROBE:
            if (ja.nprobes == OFLASH_STATION_MAX_PORTS)
                return cli_usage("prod", "prod run: at most %d ports (--probe)",
                                 OFLASH_STATION_MAX_PORTS);
            ja.probes[ja.nprobes++] = a.arg;
            break;
        case OPT_LOCK:
            ja.lock = true;
            break;
        case OPT_RDP:
            if (strcmp(a.arg, "0") && strcmp(a.arg, "1") && strcmp(a.arg, "2"))
                return cli_usage("prod", "prod run: --rdp '%s': expected 0, 1 or 2", a.arg);
            ja.rdp = a.arg[0] - '0';
            ja.set_rdp = true;
            break;
        case OPT_RDP2:
            ja.rdp2 = true;
            break;
        case OPT_RUN:
            ja.run = true;
            break;
        case OPT_STATION:
            ja.station = a.arg;
            break;
        case OPT_UNITS:
            if (!cli_parse_u64(a.arg, &n) || n == 0)
                return cli_usage("prod", "prod run: --units '%s': expected a number of 1 or more",
                                 a.arg);
            ja.units = n;
            ja.set_units = true;
            break;
        case OPT_PLAN:
            plan_only = true;
            break;
        default:
            return cli_usage("prod", "prod run: unexpected option");
        }
    }
    if (a.npos > 1)
        return cli_usage("prod", "prod run: one job file at most ('%s', '%s')", a.pos[0], a.pos[1]);
    if (a.npos) ja.path = a.pos[0];
    if ((k = build_job(&ja)) != 0) {
        ret = k;
        goto out;
    }
    /* The page's address, token, certificate and key (flags over the job
     * file's keys): checked before any port is opened. */
    prod_web_job(&pw, ja.file);
    if ((k = prod_web_check(&pw, "prod run")) != EXIT_OK) {
        ret = k;
        goto out;
    }
    if (ja.job.rdp == 2 && !ja.job.allow_rdp2) {
        ret = cli_usage("prod",
                        "prod run: readout protection level 2 is permanent (the chip can never be "
                        "read, debugged or reprogrammed again): give --rdp2-permanent as well to "
                        "confirm; nothing was done");
        goto out;
    }
    so.journal_dir = journal_dir;
    so.plan_only = plan_only; /* a plan writes nothing to the ledger */
    if (!(po = calloc(1, sizeof *po))) goto out;
    pthread_mutex_init(&po->lock, NULL);
    po->pw = &pw;
    so.changed = run_changed;
    so.ctx = po;
    if (oflash_station_create(&st, &ja.job, &so) < 0) {
        ret = cli_fail();
        goto out;
    }
    if (!(s = calloc(1, sizeof *s))) goto out;
    oflash_station_status_get(s, st);
    if (!cli_json && (!cli_quiet || plan_only))
        print_plan(plan_only ? stdout : stderr, s, &ja.job, ja.job.db_url, plan_only);
    if (plan_only) {
        ret = EXIT_OK;
        goto out;
    }
    if ((k = prod_web_start(&pw, st, &ja.job)) != EXIT_OK) {
        ret = k;
        goto out;
    }

    if (cli_interrupted) {
        cli_error("stopped before the first unit: no chip was touched");
        ret = EXIT_INTERRUPTED;
        goto out;
    }
    /* In place only where the drawing fits the terminal's height (moving
     * up stops at its top row: a taller drawing would scroll copies). */
    term_size(&cols, &rows);
    tty = isatty(STDERR_FILENO) && rows > s->nports + 2;
    live = !cli_quiet && !cli_json;
    po->st = st;
    atomic_store(&po->on, live && !tty); /* before the ports' threads start */
    oflash_log_set_handler(queue_log, NULL);
    r.st = st;
    if (pthread_create(&th, NULL, run_thread, &r) != 0) {
        cli_error("cannot start the station");
        goto out;
    }
    while (!atomic_load(&r.done)) {
        struct timespec ts = {0, (tty ? 200 : 50) * 1000000L};
        nanosleep(&ts, NULL);
        if (cli_interrupted && !stopping) {
            stopping = true;
            oflash_station_stop(st);
            if (live && tty && drawn) fprintf(stderr, "\033[%zuA\033[J", drawn), drawn = 0;
            cli_error("stopping: every port finishes or parks its unit at the next safe point");
        }
        if (!live) {
            drain_log(false);
            continue;
        }
        if (tty) {
            oflash_station_status_get(s, st);
            draw_tty(s, &drawn, false);
        } else {
            draw_plain(po, false);
        }
    }
    pthread_join(th, NULL);
    oflash_station_status_get(s, st);
    if (live) {
        if (tty)
            draw_tty(s, &drawn, true);
        else
            draw_plain(po, true);
    }
    drain_log(false);
    oflash_log_set_handler(NULL, NULL);
    if (cli_json) {
        json_summary(s, r.rc, r.error);
    } else {
        /* The ports' last errors in full (a live line is cut at the
         * terminal's width; quiet printed none). */
        if (!live || tty)
            for (size_t i = 0; i < s->nports; i++)
                if (s->ports[i].last_error[0])
                    cli_error("port %zu (%s): %s", i + 1, s->ports[i].probe,
                              s->ports[i].last_error);
        if (r.rc < 0) cli_error("%s", r.error);
        print_summary(stdout, s);
    }
    ret = r.rc == 0 ? EXIT_OK : r.rc == OFLASH_EINTERRUPTED ? EXIT_INTERRUPTED : EXIT_FAIL;
out:
    prod_web_stop(&pw);
    oflash_station_free(st);
    oflash_job_file_free(ja.file);
    free(s);
    if (po) {
        pthread_mutex_destroy(&po->lock);
        free(po);
    }
    return ret;
}

/* ---- export ---- */

/* "2026-11-30", "2026-11-30T14:00[:05][Z]" (UTC) or "@SECONDS". */
static bool parse_time(const char *v, int64_t *us)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    uint64_t secs;
    if (v[0] == '@') {
        if (!cli_parse_u64(v + 1, &secs) || secs > INT64_MAX / 1000000) return false;
        *us = (int64_t)secs * 1000000;
        return true;
    }
    if (sscanf(v, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) return false;
    v += n;
    if (*v == 'T' || *v == ' ') {
        n = 0;
        if (sscanf(v + 1, "%2d:%2d%n", &h, &mi, &n) != 2) return false;
        v += 1 + n;
        if (*v == ':') {
            n = 0;
            if (sscanf(v + 1, "%2d%n", &sec, &n) != 1) return false;
            v += 1 + n;
        }
        if (*v == 'Z') v++;
    }
    if (*v || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *us = (int64_t)timegm(&tm) * 1000000;
    return true;
}

static int write_stdout(void *ctx, const void *data, size_t len)
{
    (void)ctx;
    if (fwrite(data, 1, len, stdout) != len)
        return oflash_error_set(OFLASH_EIO, "writing the export: %s", strerror(errno));
    return 0;
}

/* clang-format off */
static const struct option export_opts[] = {
    CLI_OPTS_COMMON,
    {"db", required_argument, NULL, OPT_DB},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"since", required_argument, NULL, OPT_SINCE},
    CLI_OPTS_END};
/* clang-format on */

static int prod_export(int argc, char **argv)
{
    cli_args a;
    const char *db = NULL;
    oflash_export_format fmt = OFLASH_EXPORT_CSV;
    oflash_ledger_query q = OFLASH_LEDGER_QUERY_INIT;
    oflash_ledger *l = NULL;
    int c, ret;

    cli_args_init(&a, "prod", "prod export: ", argc, argv, export_opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        switch (c) {
        case CLI_ARGS_BAD:
            return EXIT_USAGE;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case OPT_DB:
            db = a.arg;
            break;
        case OPT_FORMAT:
            if (!strcmp(a.arg, "csv"))
                fmt = OFLASH_EXPORT_CSV;
            else if (!strcmp(a.arg, "json"))
                fmt = OFLASH_EXPORT_JSON;
            else
                return cli_usage("prod", "prod export: --format '%s': expected csv or json", a.arg);
            break;
        case OPT_SINCE:
            if (!parse_time(a.arg, &q.since_us))
                return cli_usage("prod",
                                 "prod export: --since '%s': expected 2026-11-30, "
                                 "2026-11-30T14:00[:SS][Z] (UTC) or @UNIXSECONDS",
                                 a.arg);
            break;
        }
    }
    if (a.npos) return cli_usage("prod", "prod export: unexpected argument '%s'", a.pos[0]);
    if (!db) return cli_usage("prod", "prod export: --db URL is required");
    oflash_ledger_open_opts lo = OFLASH_LEDGER_OPEN_OPTS_INIT;
    lo.read_only = true; /* an export creates and upgrades nothing */
    if (oflash_ledger_open_ext(&l, db, &lo) < 0) return cli_fail();
    ret = oflash_ledger_export(l, &q, fmt, write_stdout, NULL) < 0 ? cli_fail() : EXIT_OK;
    if (fflush(stdout) != 0 && ret == EXIT_OK) {
        cli_error("writing the export: %s", strerror(errno));
        ret = EXIT_FAIL;
    }
    oflash_ledger_close(l);
    return ret;
}

/* ---- status ---- */

/* clang-format off */
static const struct option status_opts[] = {
    CLI_OPTS_COMMON,
    CLI_OPTS_JSON,
    OPTS_SERIAL,
    {"db", required_argument, NULL, OPT_DB},
    CLI_OPTS_END};
/* clang-format on */

typedef struct pool_list {
    oflash_ledger_pool_info *p;
    size_t n;
} pool_list;

static int pool_row(void *ctx, const oflash_ledger_pool_info *info)
{
    pool_list *pl = ctx;
    oflash_ledger_pool_info *np = realloc(pl->p, (pl->n + 1) * sizeof *np);
    if (!np) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    pl->p = np;
    pl->p[pl->n++] = *info;
    return 0;
}

static int prod_status(int argc, char **argv)
{
    cli_args a;
    job_args ja;
    oflash_ledger *l = NULL;
    oflash_serial_pool *pool = NULL;
    oflash_ledger_counts n;
    pool_list pools = {NULL, 0};
    const char *chosen = NULL;
    char first[OFLASH_SERIAL_TEXT_MAX] = "";
    bool exists = true;
    int c, k, ret = EXIT_FAIL;

    memset(&ja, 0, sizeof ja);
    cli_args_init(&a, "prod", "prod status: ", argc, argv, status_opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        if (c == CLI_ARGS_BAD) return EXIT_USAGE;
        if ((k = serial_opt(&ja, c, a.arg)) != 0) {
            if (k < 0) return EXIT_USAGE;
            continue;
        }
        if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        if (c == 'q') cli_quiet = true;
    }
    if (a.npos > 1) return cli_usage("prod", "prod status: one job file at most");
    if (a.npos) ja.path = a.pos[0];
    if ((k = build_job(&ja)) != 0) {
        ret = k;
        goto out;
    }
    /* Read only: a status creates no ledger and upgrades none. */
    oflash_ledger_open_opts lo = OFLASH_LEDGER_OPEN_OPTS_INIT;
    lo.read_only = true;
    if (oflash_ledger_open_ext(&l, ja.job.db_url, &lo) < 0) {
        ret = cli_fail();
        goto out;
    }
    if (oflash_ledger_schema_version(l) < OFLASH_LEDGER_SCHEMA_VERSION) {
        oflash_error_set(OFLASH_EUNSUPPORTED,
                         "the ledger %s has schema version %d, older than this oflash's %d: the "
                         "next 'oflash prod run' upgrades it; a status does not change it and "
                         "reads it after that upgrade",
                         ja.job.db_url, oflash_ledger_schema_version(l),
                         OFLASH_LEDGER_SCHEMA_VERSION);
        ret = cli_fail();
        goto out;
    }
    /* The job's pool (a job file or serial flags), else a pool the ledger
     * keeps: --serial-pool NAME, its only one, or "default".  Looked up
     * only: a status writes nothing (a new pool is the first run's). */
    if (ja.path || ja.set_at || ja.set_list || ja.set_prefix || ja.set_format || ja.set_len ||
        ja.set_start || ja.set_step || ja.set_crc) {
        if (oflash_serial_pool_open(&pool, &ja.job.serial) < 0 ||
            oflash_ledger_check_pool(&exists, l, pool) < 0 ||
            (!exists && oflash_serial_text(first, pool, 0) < 0)) {
            ret = cli_fail();
            goto out;
        }
        if (exists) chosen = oflash_serial_pool_name(pool);
    } else if (oflash_ledger_use_stored_pool(l, ja.set_pool ? ja.serial.pool : NULL) == 0) {
        chosen = ja.set_pool ? ja.serial.pool : "";
    } else if (ja.set_pool) {
        ret = cli_fail(); /* the pool named is not there */
        goto out;
    }
    if (oflash_ledger_counts_get(&n, l) < 0 || oflash_ledger_pools(l, pool_row, &pools) < 0) {
        ret = cli_fail();
        goto out;
    }
    for (size_t i = 0; i < pools.n; i++)
        if (pools.p[i].in_use) chosen = pools.p[i].name;
    if (cli_json) {
        json_t *o = json_object(), *arr = json_array();
        json_object_set_new(o, "db", cli_json_str(ja.job.db_url));
        json_object_set_new(o, "backend", cli_json_str(oflash_ledger_backend(l)));
        json_object_set_new(o, "schema_version", json_integer(oflash_ledger_schema_version(l)));
        json_object_set_new(o, "pass", json_integer((json_int_t)n.pass));
        json_object_set_new(o, "fail", json_integer((json_int_t)n.fail));
        json_object_set_new(o, "void", json_integer((json_int_t)n.voided));
        json_object_set_new(o, "reserved", json_integer((json_int_t)n.reserved));
        json_object_set_new(o, "writing", json_integer((json_int_t)n.writing));
        json_object_set_new(o, "released", json_integer((json_int_t)n.released));
        json_object_set_new(o, "issued", json_integer((json_int_t)n.issued));
        json_object_set_new(o, "left",
                            n.left == UINT64_MAX ? json_null() : json_integer((json_int_t)n.left));
        json_object_set_new(o, "next_serial",
                            n.next_serial[0] ? cli_json_str(n.next_serial) : json_null());
        json_object_set_new(o, "pool", chosen ? cli_json_str(chosen) : json_null());
        if (!exists) {
            /* The job's pool, not in the ledger yet. */
            json_t *np = json_object();
            json_object_set_new(np, "name", cli_json_str(oflash_serial_pool_name(pool)));
            json_object_set_new(np, "first_serial", cli_json_str(first));
            json_object_set_new(o, "new_pool", np);
        }
        for (size_t i = 0; i < pools.n; i++) {
            const oflash_ledger_pool_info *q = &pools.p[i];
            json_t *e = json_object();
            json_object_set_new(e, "name", cli_json_str(q->name));
            json_object_set_new(e, "scheme", cli_json_str(q->scheme));
            json_object_set_new(e, "scheme_known", json_boolean(q->scheme_known));
            json_object_set_new(
                e, "size", json_integer((json_int_t)(q->size > INT64_MAX ? INT64_MAX : q->size)));
            json_object_set_new(e, "issued", json_integer((json_int_t)q->issued));
            json_object_set_new(
                e, "left", q->left == UINT64_MAX ? json_null() : json_integer((json_int_t)q->left));
            json_object_set_new(e, "next_serial",
                                q->next_serial[0] ? cli_json_str(q->next_serial) : json_null());
            json_array_append_new(arr, e);
        }
        json_object_set_new(o, "pools", arr);
        cli_json_print(o);
    } else {
        printf("ledger %s (%s, schema %d)\n", ja.job.db_url, oflash_ledger_backend(l),
               oflash_ledger_schema_version(l));
        printf("  pass %" PRIu64 ", fail %" PRIu64 ", void %" PRIu64 ", reserved %" PRIu64
               ", writing %" PRIu64 ", released %" PRIu64 " (%s%s)\n",
               n.pass, n.fail, n.voided, n.reserved, n.writing, n.released,
               chosen ? "pool " : "every pool", chosen ? chosen : "");
        if (!exists)
            printf("  pool %s: not in the ledger yet; the first 'oflash prod run' creates it, "
                   "starting at %s\n",
                   oflash_serial_pool_name(pool), first);
        if (!pools.n) printf("  no serial pool yet (no job has used this ledger)\n");
        for (size_t i = 0; i < pools.n; i++) {
            const oflash_ledger_pool_info *q = &pools.p[i];
            printf("  pool %s: %s\n", q->name, q->scheme);
            printf("    serials issued %" PRIu64 ", ", q->issued);
            if (q->left == UINT64_MAX)
                printf("left: no limit");
            else if (q->size < (uint64_t)INT64_MAX)
                printf("%" PRIu64 " of %" PRIu64 " left", q->left, q->size);
            else
                printf("left %" PRIu64, q->left);
            printf(", next %s\n", q->next_serial[0]  ? q->next_serial
                                  : !q->scheme_known ? "(unknown: the list is not stored yet)"
                                                     : "(none left)");
        }
    }
    ret = EXIT_OK;
out:
    free(pools.p);
    oflash_serial_pool_free(pool);
    oflash_ledger_close(l);
    oflash_job_file_free(ja.file);
    return ret;
}

int cmd_prod(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "run")) return prod_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "export")) return prod_export(argc - 1, argv + 1);
    if (!strcmp(argv[1], "status")) return prod_status(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve")) return prod_serve(argc - 1, argv + 1);
    return cli_usage("prod", "unknown subcommand '%s' (expected run, export, status or serve)",
                     argv[1]);
}
