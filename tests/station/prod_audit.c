/*
 * prod_audit.c - after a production run: the ledger and every simulated
 * chip agree, and no serial was issued twice.
 *
 *   prod_audit JOB.ini DB_URL DIR...
 *
 * JOB.ini gives the serial scheme (the pool); DIR... are searched
 * recursively for chip files (every file oflash_sim_info_read() accepts).
 * Checks:
 *  ledger  - among records whose serial is bound to a chip (writing, pass,
 *            void) no serial (seq) and no UID appears twice;
 *          - every void record has a reason;
 *  chips   - no two chips hold the same serial;
 *          - a chip whose field decodes to a serial has a record for its
 *            UID with that serial; a pass record's chip holds exactly it;
 *          - a chip with a field that is neither blank nor a serial of the
 *            pool (a write cut short) has a void or writing record;
 *          - a blank chip has no pass record;
 *          - every pass record's UID is one of the chips found.
 * Prints one line of counts; exit 0 when everything holds, else 1 with one
 * line per violation.
 */
#include "oflash/error.h"
#include "oflash/prod.h"
#include "oflash/sim.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct chip {
    char path[1024];
    char uid[OFLASH_UID_HEX_MAX];
    bool blank, decoded;
    uint64_t seq;
    char text[OFLASH_SERIAL_TEXT_MAX];
} chip;

static chip *chips;
static size_t nchips, capchips;
static oflash_unit_record *recs;
static size_t nrecs, caprecs;
static unsigned violations;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "prod_audit: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    violations++;
}

static int add_rec(void *ctx, const oflash_unit_record *r)
{
    (void)ctx;
    if (nrecs == caprecs) {
        oflash_unit_record *n;
        caprecs = caprecs ? 2 * caprecs : 256;
        if (!(n = realloc(recs, caprecs * sizeof *recs))) return -1;
        recs = n;
    }
    recs[nrecs++] = *r;
    return 0;
}

static const oflash_serial_pool *pool;
static uint32_t field_addr;
static size_t field_size;

static void scan(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        char path[1024];
        struct stat sb;
        oflash_sim_info *info;
        chip *c;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) < 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            scan(path);
            continue;
        }
        if (!S_ISREG(sb.st_mode)) continue;
        info = calloc(1, sizeof *info);
        if (!info) exit(2);
        if (oflash_sim_info_read(info, path) < 0) {
            free(info);
            continue;
        }
        if (nchips == capchips) {
            chip *n;
            capchips = capchips ? 2 * capchips : 256;
            if (!(n = realloc(chips, capchips * sizeof *chips))) exit(2);
            chips = n;
        }
        c = &chips[nchips++];
        memset(c, 0, sizeof *c);
        snprintf(c->path, sizeof c->path, "%s", path);
        for (int i = 0; i < OFLASH_SIM_UID_LEN; i++) snprintf(c->uid + 2 * i, 3, "%02x", info->uid[i]);
        if (field_addr < info->otp_base || field_addr + field_size > info->otp_base + info->otp_size) {
            fprintf(stderr, "prod_audit: the serial field 0x%08X is not in OTP\n", field_addr);
            exit(2);
        }
        {
            const uint8_t *f = info->otp + (field_addr - info->otp_base);
            c->blank = true;
            for (size_t i = 0; i < field_size; i++) c->blank = c->blank && f[i] == 0xFF;
            c->decoded = !c->blank && oflash_serial_decode(&c->seq, c->text, pool, f, field_size) == 0;
        }
        free(info);
    }
    closedir(d);
}

static bool bound(oflash_unit_state s)
{
    return s == OFLASH_UNIT_WRITING || s == OFLASH_UNIT_PASS || s == OFLASH_UNIT_VOID;
}

static const oflash_unit_record *rec_of_uid(const char *uid)
{
    for (size_t i = 0; i < nrecs; i++)
        if (bound(recs[i].state) && !strcmp(recs[i].uid, uid)) return &recs[i];
    return NULL;
}

int main(int argc, char **argv)
{
    oflash_job job = OFLASH_JOB_INIT;
    oflash_job_file *jf = NULL;
    oflash_serial_pool *p = NULL;
    oflash_ledger *l = NULL;
    oflash_ledger_query q = OFLASH_LEDGER_QUERY_INIT;
    uint64_t pass = 0, voided = 0, writing = 0, chips_serial = 0, chips_blank = 0, chips_partial = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: prod_audit JOB.ini DB_URL DIR...\n");
        return 2;
    }
    if (oflash_job_load(&job, &jf, argv[1]) < 0 || oflash_serial_pool_open(&p, &job.serial) < 0 ||
        oflash_ledger_open(&l, argv[2]) < 0 || oflash_ledger_use_pool(l, p) < 0 ||
        oflash_ledger_units(l, &q, add_rec, NULL) < 0) {
        fprintf(stderr, "prod_audit: %s\n", oflash_error_last());
        return 2;
    }
    pool = p;
    field_addr = oflash_serial_field_addr(p);
    field_size = oflash_serial_field_size(p);
    for (int i = 3; i < argc; i++) scan(argv[i]);

    /* The ledger alone. */
    for (size_t i = 0; i < nrecs; i++) {
        const oflash_unit_record *r = &recs[i];
        if (r->state == OFLASH_UNIT_PASS) pass++;
        if (r->state == OFLASH_UNIT_VOID) voided++;
        if (r->state == OFLASH_UNIT_WRITING) writing++;
        if (r->state == OFLASH_UNIT_VOID && !r->error[0])
            bad("void serial %s (UID %s) has no reason", r->serial, r->uid);
        if (!bound(r->state)) continue;
        for (size_t k = 0; k < i; k++) {
            if (!bound(recs[k].state)) continue;
            if (recs[k].seq == r->seq)
                bad("serial %s is in the ledger twice: UID %s (%s) and UID %s (%s)", r->serial,
                    recs[k].uid, oflash_unit_state_name(recs[k].state), r->uid,
                    oflash_unit_state_name(r->state));
            if (!strcmp(recs[k].uid, r->uid))
                bad("UID %s has two serials: %s and %s", r->uid, recs[k].serial, r->serial);
        }
    }
    /* The chips against each other and against the ledger. */
    for (size_t i = 0; i < nchips; i++) {
        const chip *c = &chips[i];
        const oflash_unit_record *r = rec_of_uid(c->uid);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(chips[k].uid, c->uid))
                bad("two chip files with UID %s: %s and %s", c->uid, chips[k].path, c->path);
        if (c->blank) {
            chips_blank++;
            if (r && r->state == OFLASH_UNIT_PASS)
                bad("chip %s (UID %s) is blank but the ledger says serial %s passed", c->path,
                    c->uid, r->serial);
            continue;
        }
        if (!c->decoded) {
            chips_partial++;
            if (!r || r->state == OFLASH_UNIT_PASS)
                bad("chip %s (UID %s) holds \"%s\", no serial of the pool, and its record is %s",
                    c->path, c->uid, c->text, r ? "pass" : "missing");
            continue;
        }
        chips_serial++;
        for (size_t k = 0; k < i; k++)
            if (chips[k].decoded && chips[k].seq == c->seq)
                bad("serial %s is on two chips: %s (UID %s) and %s (UID %s)", c->text,
                    chips[k].path, chips[k].uid, c->path, c->uid);
        if (!r)
            bad("chip %s (UID %s) holds serial %s, which the ledger does not bind to it", c->path,
                c->uid, c->text);
        else if (r->seq != c->seq)
            bad("chip %s (UID %s) holds serial %s, the ledger gives it %s (%s)", c->path, c->uid,
                c->text, r->serial, oflash_unit_state_name(r->state));
    }
    for (size_t i = 0; i < nrecs; i++) {
        bool found = false;
        if (recs[i].state != OFLASH_UNIT_PASS) continue;
        for (size_t k = 0; k < nchips && !found; k++)
            found = !strcmp(chips[k].uid, recs[i].uid) && chips[k].decoded &&
                    chips[k].seq == recs[i].seq;
        if (!found)
            bad("pass record %s (UID %s) matches no chip holding that serial", recs[i].serial,
                recs[i].uid);
    }
    printf("prod_audit: %zu records (%" PRIu64 " pass, %" PRIu64 " void, %" PRIu64
           " writing), %zu chips (%" PRIu64 " with a serial, %" PRIu64 " cut short, %" PRIu64
           " blank), %u violations\n",
           nrecs, pass, voided, writing, nchips, chips_serial, chips_partial, chips_blank,
           violations);
    oflash_ledger_close(l);
    oflash_serial_pool_free(p);
    oflash_job_file_free(jf);
    free(recs);
    free(chips);
    return violations ? 1 : 0;
}
