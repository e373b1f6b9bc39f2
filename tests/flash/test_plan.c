/*
 * test_plan.c - table-driven tests of the pure planner (src/flash/plan.c):
 * no hardware, the chip is a snapshot image seen through a counting view.
 */
#include "harness.h"
#include "oflash/flash.h"

#include <stdlib.h>

#define FLASH0 0x08000000u
#define OTP0 0x1FFF7800u
#define LOCK0 0x1FFF7A00u

/* A view over a snapshot that counts what the planner asks. */
typedef struct counting {
    oflash_target_view inner;
    unsigned crcs, reads;
    uint64_t read_bytes;
} counting;

static int c_crc(void *ctx, uint32_t *crc, uint32_t a, uint32_t n)
{
    counting *c = ctx;
    c->crcs++;
    return c->inner.crc32(c->inner.ctx, crc, a, n);
}

static int c_read(void *ctx, void *buf, uint32_t a, uint32_t n)
{
    counting *c = ctx;
    c->reads++;
    c->read_bytes += n;
    return c->inner.read(c->inner.ctx, buf, a, n);
}

/* A fill of n bytes of v at addr (an image or chip-snapshot fragment). */
typedef struct frag {
    uint32_t addr, n;
    uint8_t v;
} frag;

#define MAXF 6
static oflash_image *mk(const frag *f)
{
    oflash_image *img = NULL;
    if (oflash_image_new(&img) < 0) return NULL;
    for (int i = 0; i < MAXF && f[i].n; i++) {
        uint8_t *buf = malloc(f[i].n);
        memset(buf, f[i].v, f[i].n);
        /* a simple pattern so that CRCs of different ranges differ */
        if (f[i].v == 0x5C)
            for (uint32_t k = 0; k < f[i].n; k++)
                buf[k] = (uint8_t)(k * 7 + 1);
        if (oflash_image_add(img, f[i].addr, buf, f[i].n, "test") < 0)
            fprintf(stderr, "add failed: %s\n", oflash_error_last());
        free(buf);
    }
    return img;
}

/* ---- main flash cases ---- */

typedef struct flash_case {
    const char *name;
    frag chip[MAXF];
    frag image[MAXF];
    bool erase_untouched;
    size_t nsect;
    oflash_sector_action act[3];
    unsigned sector_no[3];
    uint32_t kept[3];
    int max_reads; /* read calls the planner may make */
} flash_case;

/* clang-format off */
static const flash_case flash_cases[] = {
    {"full sector on blank chip: program, no erase",
     {{0}},
     {{FLASH0, 0x4000, 0x5C}},
     false, 1, {OFLASH_SECTOR_PROGRAM}, {0}, {0}, 0},
    {"same content already there: skip",
     {{FLASH0, 0x4000, 0x5C}},
     {{FLASH0, 0x4000, 0x5C}},
     false, 1, {OFLASH_SECTOR_SKIP}, {0}, {0}, 0},
    {"full sector, different content: erase and program",
     {{FLASH0, 0x4000, 0x11}},
     {{FLASH0, 0x4000, 0x5C}},
     false, 1, {OFLASH_SECTOR_ERASE_PROGRAM}, {0}, {0}, 0},
    {"partial cover keeps the other bytes (read only non-blank gaps)",
     {{FLASH0, 0x100, 0xAA}, {FLASH0 + 0x100, 0x100, 0x33}, {FLASH0 + 0x3F00, 0x100, 0x55}},
     {{FLASH0 + 0x100, 0x100, 0x5C}},
     false, 1, {OFLASH_SECTOR_ERASE_PROGRAM}, {0}, {0x100 + 0x3E00}, 2},
    {"partial cover, covered bytes equal, other bytes differ: skip",
     {{FLASH0, 0x100, 0xAA}, {FLASH0 + 0x100, 0x100, 0x5C}},
     {{FLASH0 + 0x100, 0x100, 0x5C}},
     false, 1, {OFLASH_SECTOR_SKIP}, {0}, {0}, 0},
    {"partial cover on blank sector: program only",
     {{FLASH0 + 0x4000, 0x10, 0x00}},
     {{FLASH0 + 0x100, 0x100, 0x5C}},
     false, 1, {OFLASH_SECTOR_PROGRAM}, {0}, {0}, 0},
    {"erase_untouched: other bytes are not kept",
     {{FLASH0, 0x100, 0xAA}},
     {{FLASH0 + 0x100, 0x100, 0x5C}},
     true, 1, {OFLASH_SECTOR_ERASE_PROGRAM}, {0}, {0}, 0},
    {"image of 0xFF on blank sector: skip",
     {{0}},
     {{FLASH0 + 0x8000, 0x20, 0xFF}},
     false, 1, {OFLASH_SECTOR_SKIP}, {2}, {0}, 0},
    {"range crossing sectors 0/1 and into 4",
     {{FLASH0 + 0x4000, 0x10, 0x00}},
     {{FLASH0 + 0x3F00, 0x200, 0x5C}, {FLASH0 + 0x10000, 0x10, 0x12}},
     false, 3, {OFLASH_SECTOR_PROGRAM, OFLASH_SECTOR_ERASE_PROGRAM, OFLASH_SECTOR_PROGRAM},
     {0, 1, 4}, {0, 0, 0}, 0},
    {"last sector of the F401xE",
     {{0}},
     {{FLASH0 + 0x7FFF0, 0x10, 0x01}},
     false, 1, {OFLASH_SECTOR_PROGRAM}, {7}, {0}, 0},
};
/* clang-format on */

static void run_flash_case(const oflash_device *dev, const flash_case *c)
{
    oflash_image *chip = mk(c->chip), *img = mk(c->image);
    counting cv = {0};
    oflash_target_view view = {c_crc, c_read, &cv};
    oflash_plan_opts o = OFLASH_PLAN_OPTS_INIT;
    oflash_plan *p = NULL;
    int rc;

    oflash_target_view_from_image(&cv.inner, chip);
    o.erase_untouched = c->erase_untouched;
    rc = oflash_plan_create(&p, img, dev, &view, &o);
    if (rc) {
        fprintf(stderr, "case '%s': %s\n", c->name, oflash_error_last());
        CHECK(rc == 0);
        goto out;
    }
    CHECK_EQ_U(p->sector_count, c->nsect);
    for (size_t i = 0; i < p->sector_count && i < c->nsect; i++) {
        const oflash_plan_sector *s = &p->sectors[i];
        if (s->action != c->act[i] || s->sector->number != c->sector_no[i] ||
            s->kept_bytes != c->kept[i])
            fprintf(stderr, "case '%s' sector %zu: action %d number %u kept %u\n", c->name, i,
                    s->action, s->sector->number, s->kept_bytes);
        CHECK_EQ_U(s->action, c->act[i]);
        CHECK_EQ_U(s->sector->number, c->sector_no[i]);
        CHECK_EQ_U(s->kept_bytes, c->kept[i]);
        if (s->action == OFLASH_SECTOR_SKIP) {
            CHECK(s->data == NULL);
            continue;
        }
        /* data must be exactly what the sector should hold after the run:
         * image bytes where the image has them, else the chip's old bytes
         * (or erased with erase_untouched). */
        uint8_t *want = malloc(s->sector->size), *old = malloc(s->sector->size);
        oflash_image_read(old, chip, s->sector->addr, s->sector->size, 0xFF);
        memcpy(want, c->erase_untouched ? memset(old, 0xFF, s->sector->size) : old,
               s->sector->size);
        for (uint32_t k = 0; k < s->sector->size; k++) {
            uint8_t b;
            if (oflash_image_read(&b, img, s->sector->addr + k, 1, 0xFF)) want[k] = b;
        }
        CHECK(memcmp(want, s->data, s->sector->size) == 0);
        CHECK_EQ_U(s->crc, oflash_crc32(0, want, s->sector->size));
        free(want);
        free(old);
    }
    if ((int)cv.reads > c->max_reads)
        fprintf(stderr, "case '%s': %u reads (max %d)\n", c->name, cv.reads, c->max_reads);
    CHECK((int)cv.reads <= c->max_reads);
out:
    oflash_plan_free(p);
    oflash_image_free(chip);
    oflash_image_free(img);
}

/* ---- OTP and error cases ---- */

typedef struct otp_case {
    const char *name;
    frag chip[MAXF];
    frag image[MAXF];
    bool allow, skip;
    int rc;          /* expected return code */
    const char *msg; /* substring of the error message */
    size_t writes, locks, equal, conflicts;
    oflash_conflict_kind kind; /* of the first conflict */
    uint32_t conflict_addr;
    bool no_view_calls; /* error must come before asking the chip anything */
    bool resume;        /* otp_resume */
} otp_case;

/* clang-format off */
static const otp_case otp_cases[] = {
    {"serial into blank OTP with its lock byte",
     {{0}},
     {{OTP0, 12, 0x5C}, {LOCK0, 1, 0x00}, {FLASH0, 0x100, 0x5C}},
     true, false, 0, "", 12, 1, 0, 0, 0, 0, false, false},
    {"second run: all equal, nothing to do",
     {{OTP0, 12, 0x5C}, {LOCK0, 1, 0x00}},
     {{OTP0, 12, 0x5C}, {LOCK0, 1, 0x00}},
     true, false, 0, "", 0, 0, 12, 0, 0, 0, false, false},
    {"OTP without --otp: refused, blocks named, chip untouched",
     {{0}},
     {{OTP0 + 64, 4, 0x01}, {OTP0 + 3 * 32, 1, 0x02}, {LOCK0 + 3, 1, 0x00}},
     false, false, OFLASH_EPROTECTED, "blocks 2, 3, the lock byte of block 3", 0, 0, 0, 0, 0, 0,
     false, false},
    /* Issue 13 finding 2: nothing irreversible left to do needs no --otp. */
    {"OTP without --otp, the chip already holds it and the lock: nothing to do",
     {{OTP0, 12, 0x5C}, {LOCK0, 1, 0x00}},
     {{OTP0, 12, 0x5C}, {LOCK0, 1, 0x00}, {FLASH0, 0x10, 0x01}},
     false, false, 0, "", 0, 0, 12, 0, 0, 0, false, false},
    {"OTP without --otp, serial there, lock still open: refused, only the lock named",
     {{OTP0, 12, 0x5C}},
     {{OTP0, 12, 0x5C}, {LOCK0, 1, 0x00}},
     false, false, OFLASH_EPROTECTED, "holds one-time-programmable bytes this chip does not hold yet: the lock byte of block 0 (locking is irreversible too); 0 OTP bytes and 1 lock to program",
     0, 0, 0, 0, 0, 0, false, false},
    {"OTP without --otp, another serial there: the conflict, not the opt-in",
     {{OTP0, 12, 0x00}},
     {{OTP0, 12, 0x5C}},
     false, false, OFLASH_ECONFLICT, "this chip already holds", 0, 0, 0, 12,
     OFLASH_CONFLICT_OTP_VALUE, OTP0, false, false},
    {"--skip-otp leaves OTP out",
     {{0}},
     {{OTP0, 12, 0x5C}, {FLASH0, 0x10, 0x01}},
     false, true, 0, "", 0, 0, 0, 0, 0, 0, false, false},
    {"different serial already there: conflict",
     {{OTP0, 12, 0x00}},
     {{OTP0, 12, 0x5C}},
     true, false, OFLASH_ECONFLICT, "chip 0x00, image 0x01", 0, 0, 0, 12,
     OFLASH_CONFLICT_OTP_VALUE, OTP0, false, false},
    {"0xFF over a programmed OTP byte: conflict",
     {{OTP0 + 40, 1, 0x00}},
     {{OTP0 + 40, 1, 0xFF}},
     true, false, OFLASH_ECONFLICT, "block 1", 0, 0, 0, 1, OFLASH_CONFLICT_OTP_VALUE,
     OTP0 + 40, false, false},
    {"locked block, blank byte, image differs: conflict",
     {{LOCK0 + 5, 1, 0x00}},
     {{OTP0 + 5 * 32 + 3, 1, 0x42}},
     true, false, OFLASH_ECONFLICT, "locked", 0, 0, 0, 1, OFLASH_CONFLICT_OTP_LOCKED,
     OTP0 + 5 * 32 + 3, false, false},
    {"locked block with equal bytes: fine",
     {{LOCK0 + 5, 1, 0x00}, {OTP0 + 5 * 32, 32, 0x5C}},
     {{OTP0 + 5 * 32, 32, 0x5C}, {LOCK0 + 5, 1, 0x00}},
     true, false, 0, "", 0, 0, 32, 0, 0, 0, false, false},
    {"unlocking a locked block: conflict",
     {{LOCK0 + 2, 1, 0x00}},
     {{LOCK0 + 2, 1, 0xFF}},
     true, false, OFLASH_ECONFLICT, "cannot be unlocked", 0, 0, 0, 1,
     OFLASH_CONFLICT_LOCK_BYTE, LOCK0 + 2, false, false},
    /* A value reachable by clearing bits is no evidence of an interrupted
     * write: without a journal record (resume_cases below) it is a
     * conflict like any other, with or without otp_resume. */
    {"bit-clearing difference, no journal: a plain conflict",
     {{OTP0 + 7, 1, 0x3B}},
     {{OTP0 + 7, 1, 0x30}},
     true, false, OFLASH_ECONFLICT, "(already programmed to another value)", 0, 0, 0, 1,
     OFLASH_CONFLICT_OTP_VALUE, OTP0 + 7, false, false},
    {"bit-clearing difference, no journal, resume: still a conflict",
     {{OTP0 + 7, 1, 0x3B}},
     {{OTP0 + 7, 1, 0x30}, {LOCK0, 1, 0x00}},
     true, false, OFLASH_ECONFLICT, "finishes only a write the recovery journal shows", 0, 1, 0,
     1, OFLASH_CONFLICT_OTP_VALUE, OTP0 + 7, false, true},
    {"odd lock byte, no journal, resume: still a conflict",
     {{OTP0 + 7, 1, 0x30}, {LOCK0, 1, 0xAB}},
     {{OTP0 + 7, 1, 0x30}, {LOCK0, 1, 0x00}},
     true, false, OFLASH_ECONFLICT, "chip 0xAB, image 0x00", 0, 0, 1, 1,
     OFLASH_CONFLICT_OTP_VALUE, LOCK0, false, true},
    {"resume never turns a different value into a write",
     {{OTP0 + 7, 1, 0x31}},
     {{OTP0 + 7, 1, 0x32}},
     true, false, OFLASH_ECONFLICT, "chip 0x31, image 0x32", 0, 0, 0, 1,
     OFLASH_CONFLICT_OTP_VALUE, OTP0 + 7, false, true},
    {"odd lock byte, no journal: a plain conflict",
     {{LOCK0 + 1, 1, 0xAB}},
     {{LOCK0 + 1, 1, 0x00}},
     true, false, OFLASH_ECONFLICT, "OTP block 1", 0, 0, 0, 1, OFLASH_CONFLICT_OTP_VALUE,
     LOCK0 + 1, false, false},
    {"bad lock byte value refused",
     {{0}},
     {{LOCK0 + 3, 1, 0x5A}},
     true, false, OFLASH_EINVAL, "0x1FFF7A03 (OTP block 3) is 0x5A", 0, 0, 0, 0, 0, 0, true,
     false},
    {"byte in RAM refused with the memory map",
     {{0}},
     {{FLASH0, 4, 0x01}, {0x20000000u, 16, 0x01}},
     true, false, OFLASH_ERANGE, "0x20000000-0x2000000F (sram, RAM)", 0, 0, 0, 0, 0, 0, true,
     false},
    {"byte past the end of flash refused",
     {{0}},
     {{FLASH0 + 0x7FFF0, 0x20, 0x01}},
     true, false, OFLASH_ERANGE, "0x08080000-0x0808000F", 0, 0, 0, 0, 0, 0, true, false},
    {"option bytes refused",
     {{0}},
     {{0x1FFFC000u, 4, 0x01}},
     true, false, OFLASH_ERANGE, "option bytes", 0, 0, 0, 0, 0, 0, true, false},
    {"unique ID area refused, map named",
     {{0}},
     {{0x1FFF7A10u, 12, 0x01}},
     true, false, OFLASH_ERANGE, "memory map: flash 0x08000000-0x0807FFFF, otp", 0, 0, 0, 0, 0,
     0, true, false},
    {"system memory refused",
     {{0}},
     {{0x1FFF0000u, 4, 0x01}},
     true, false, OFLASH_ERANGE, "system memory", 0, 0, 0, 0, 0, 0, true, false},
};
/* clang-format on */

static void run_otp_case(const oflash_device *dev, const otp_case *c)
{
    oflash_image *chip = mk(c->chip), *img = mk(c->image);
    counting cv = {0};
    oflash_target_view view = {c_crc, c_read, &cv};
    oflash_plan_opts o = OFLASH_PLAN_OPTS_INIT;
    oflash_plan *p = NULL;
    int rc;

    oflash_target_view_from_image(&cv.inner, chip);
    o.allow_otp = c->allow;
    o.skip_otp = c->skip;
    o.otp_resume = c->resume;
    rc = oflash_plan_create(&p, img, dev, &view, &o);
    if (rc != c->rc || (c->msg[0] && !strstr(oflash_error_last(), c->msg)))
        fprintf(stderr, "case '%s': rc %d, '%s'\n", c->name, rc, oflash_error_last());
    CHECK_EQ_U(rc, c->rc);
    if (c->rc) CHECK(strstr(oflash_error_last(), c->msg) != NULL);
    /* Without a journal nothing suggests that --otp-resume would help. */
    CHECK(strstr(oflash_error_last(), "--otp-resume finishes it") == NULL);
    if (c->no_view_calls) CHECK(cv.crcs == 0 && cv.reads == 0);
    if (rc == 0 || rc == OFLASH_ECONFLICT) {
        CHECK(p != NULL);
        if (!p) goto out;
        CHECK_EQ_U(p->otp_write_count, c->writes);
        CHECK_EQ_U(p->lock_count, c->locks);
        CHECK_EQ_U(p->otp_equal, c->equal);
        CHECK_EQ_U(p->conflict_count, c->conflicts);
        if (c->conflicts) {
            CHECK_EQ_U(p->conflicts[0].kind, c->kind);
            CHECK_EQ_U(p->conflicts[0].addr, c->conflict_addr);
        }
        if (c->skip) CHECK(p->otp_skipped && p->otp_skipped_bytes == 12);
        /* every planned OTP write is over 0xFF on the chip, lock writes set 0x00 */
        for (size_t i = 0; i < p->otp_write_count; i++) {
            uint8_t b;
            oflash_image_read(&b, chip, p->otp_writes[i].addr, 1, 0xFF);
            CHECK(b == p->otp_writes[i].chip);
            CHECK(b == 0xFF);
            oflash_image_read(&b, img, p->otp_writes[i].addr, 1, 0xFF);
            CHECK_EQ_U(p->otp_writes[i].image, b);
        }
        for (size_t i = 0; i < p->lock_count; i++)
            CHECK(p->locks[i].image == 0x00 && p->locks[i].chip == 0xFF);
    } else {
        CHECK(p == NULL);
    }
out:
    oflash_plan_free(p);
    oflash_image_free(chip);
    oflash_image_free(img);
}

/* ---- otp_resume and the recovery journal's record of started writes ---- */

typedef struct resume_case {
    const char *name;
    frag chip[MAXF];
    frag image[MAXF];
    oflash_otp_intent started[4]; /* what the journal shows as started */
    size_t nstarted;
    bool resume;
    int rc;
    const char *msg;   /* in the message */
    const char *nomsg; /* not in the message */
    size_t writes, locks, conflicts;
    oflash_conflict_kind kind;
} resume_case;

/* clang-format off */
static const resume_case resume_cases[] = {
    {"journaled write cut short: a partial conflict that names --otp-resume",
     {{OTP0 + 7, 1, 0x3B}}, {{OTP0 + 7, 1, 0x30}}, {{OTP0 + 7, 0x30}}, 1, false,
     OFLASH_ECONFLICT, "--otp-resume finishes it", "", 0, 0, 1, OFLASH_CONFLICT_OTP_PARTIAL},
    {"journaled write cut short, resume: programmed, then locked",
     {{OTP0 + 7, 1, 0x3B}}, {{OTP0 + 7, 1, 0x30}, {LOCK0, 1, 0x00}},
     {{OTP0 + 7, 0x30}, {LOCK0, 0x00}}, 2, true, 0, "", "", 1, 1, 0, 0},
    {"journaled lock byte cut short, resume: locked",
     {{OTP0 + 7, 1, 0x30}, {LOCK0, 1, 0xAB}}, {{OTP0 + 7, 1, 0x30}, {LOCK0, 1, 0x00}},
     {{LOCK0, 0x00}}, 1, true, 0, "", "", 0, 1, 0, 0},
    {"journal shows another value at the byte: a plain conflict, even with resume",
     {{OTP0 + 7, 1, 0x3B}}, {{OTP0 + 7, 1, 0x30}}, {{OTP0 + 7, 0x31}}, 1, true,
     OFLASH_ECONFLICT, "already programmed to another value", "finishes it", 0, 0, 1,
     OFLASH_CONFLICT_OTP_VALUE},
    {"journal shows another byte: a plain conflict, even with resume",
     {{OTP0 + 7, 1, 0x3B}}, {{OTP0 + 7, 1, 0x30}}, {{OTP0 + 6, 0x30}}, 1, true,
     OFLASH_ECONFLICT, "already programmed to another value", "finishes it", 0, 0, 1,
     OFLASH_CONFLICT_OTP_VALUE},
    {"journaled lock byte, image leaves it open: a lock-byte conflict",
     {{LOCK0 + 2, 1, 0x00}}, {{LOCK0 + 2, 1, 0xFF}}, {{LOCK0 + 2, 0x00}}, 1, true,
     OFLASH_ECONFLICT, "cannot be unlocked", "finishes it", 0, 0, 1, OFLASH_CONFLICT_LOCK_BYTE},
    {"journaled byte still blank: an ordinary write",
     {{0}}, {{OTP0 + 7, 1, 0x30}}, {{OTP0 + 7, 0x30}}, 1, true, 0, "", "", 1, 0, 0, 0},
};
/* clang-format on */

static void run_resume_case(const oflash_device *dev, const resume_case *c)
{
    oflash_image *chip = mk(c->chip), *img = mk(c->image);
    oflash_target_view view;
    oflash_plan_opts o = OFLASH_PLAN_OPTS_INIT;
    oflash_plan *p = NULL;
    int rc;

    oflash_target_view_from_image(&view, chip);
    o.allow_otp = true;
    o.otp_resume = c->resume;
    o.otp_started = c->started;
    o.otp_started_count = c->nstarted;
    rc = oflash_plan_create(&p, img, dev, &view, &o);
    if (rc != c->rc) fprintf(stderr, "case '%s': rc %d, '%s'\n", c->name, rc, oflash_error_last());
    CHECK_EQ_U(rc, c->rc);
    if (c->msg[0]) CHECK(strstr(oflash_error_last(), c->msg) != NULL);
    if (c->nomsg[0]) CHECK(strstr(oflash_error_last(), c->nomsg) == NULL);
    CHECK(p != NULL);
    if (p) {
        CHECK_EQ_U(p->otp_write_count, c->writes);
        CHECK_EQ_U(p->lock_count, c->locks);
        CHECK_EQ_U(p->conflict_count, c->conflicts);
        if (c->conflicts) CHECK_EQ_U(p->conflicts[0].kind, c->kind);
    }
    oflash_plan_free(p);
    oflash_image_free(chip);
    oflash_image_free(img);
}

/* Finding 2 of issue 14: a block holding a complete different serial
 * ("SN-0005") is refused for "SN-0001" with and without otp_resume, and the
 * message does not suggest --otp-resume, though '5' (0x35) becomes '1'
 * (0x31) by clearing bits. */
static void test_serial_overwrite_refused(const oflash_device *dev)
{
    oflash_image *chip, *img;
    oflash_target_view view;
    oflash_plan *p = NULL;
    const oflash_otp_intent old_run[] = {{OTP0 + 6, '5'}}; /* the SN-0005 run's record */

    oflash_image_new(&chip);
    oflash_image_new(&img);
    oflash_image_add(chip, OTP0, "SN-0005-ABCDEFGH", 16, "chip");
    oflash_image_add(img, OTP0, "SN-0001-ABCDEFGH", 16, "image");
    oflash_target_view_from_image(&view, chip);
    for (int k = 0; k < 3; k++) {
        oflash_plan_opts o = OFLASH_PLAN_OPTS_INIT;
        o.allow_otp = true;
        o.otp_resume = k > 0;
        if (k == 2) {
            o.otp_started = old_run;
            o.otp_started_count = 1;
        }
        CHECK_ERR(oflash_plan_create(&p, img, dev, &view, &o), OFLASH_ECONFLICT,
                  "first at 0x1FFF7806 (OTP block 0): chip 0x35, image 0x31 (already programmed "
                  "to another value");
        CHECK(strstr(oflash_error_last(), "--otp-resume finishes it") == NULL);
        CHECK(p && p->conflict_count == 1 && p->otp_write_count == 0 &&
              p->conflicts[0].kind == OFLASH_CONFLICT_OTP_VALUE);
        oflash_plan_free(p);
        p = NULL;
    }
    oflash_image_free(chip);
    oflash_image_free(img);
}

/* Issue 13 findings 2 and 3: what the chip holds against what the image
 * holds, per block, in words; --skip-otp still says which blocks differ;
 * show_otp plans OTP without --otp and marks the plan. */
static void test_otp_blocks(const oflash_device *dev)
{
    oflash_image *chip, *img;
    oflash_target_view view;
    oflash_plan *p = NULL;
    oflash_plan_opts o = OFLASH_PLAN_OPTS_INIT;
    char buf[64];
    const uint8_t lock = 0x00;

    oflash_image_new(&chip);
    oflash_image_new(&img);
    oflash_image_add(chip, OTP0, "ACME-SN-000001", 14, "chip");
    oflash_image_add(chip, LOCK0, &lock, 1, "chip");
    oflash_image_add(img, OTP0, "ACME-SN-000002", 14, "image");
    oflash_image_add(img, OTP0 + 64, "X", 1, "image"); /* block 2: blank on the chip */
    oflash_target_view_from_image(&view, chip);

    o.allow_otp = true;
    CHECK_ERR(oflash_plan_create(&p, img, dev, &view, &o), OFLASH_ECONFLICT,
              "this chip already holds ACME-SN-000001 (OTP block 0 at 0x1FFF7800, locked); the "
              "image has ACME-SN-000002. 1 OTP conflict, nothing written: first at 0x1FFF780D");
    CHECK(p && p->otp_block_count == 2);
    if (p && p->otp_block_count == 2) {
        CHECK_EQ_U(p->otp_blocks[0].state, OFLASH_OTP_BLOCK_CONFLICT);
        CHECK(p->otp_blocks[0].chip_locked && !p->otp_blocks[0].image_lock);
        CHECK_EQ_U(p->otp_blocks[0].len, 14);
        CHECK(memcmp(p->otp_blocks[0].chip, "ACME-SN-000001", 14) == 0);
        CHECK(memcmp(p->otp_blocks[0].image, "ACME-SN-000002", 14) == 0);
        CHECK_EQ_U(p->otp_blocks[1].block, 2);
        CHECK_EQ_U(p->otp_blocks[1].state, OFLASH_OTP_BLOCK_PROGRAM);
    }
    oflash_plan_free(p);
    p = NULL;

    /* --skip-otp: no writes, no conflicts, but the differing blocks. */
    o.allow_otp = false;
    o.skip_otp = true;
    CHECK_OK(oflash_plan_create(&p, img, dev, &view, &o));
    CHECK(p && p->otp_skipped && p->otp_write_count == 0 && p->conflict_count == 0);
    CHECK(p && p->otp_block_count == 2 && p->otp_blocks[0].state == OFLASH_OTP_BLOCK_CONFLICT &&
          p->otp_blocks[1].state == OFLASH_OTP_BLOCK_PROGRAM);
    oflash_plan_free(p);
    p = NULL;

    /* show_otp (a dry run) without --otp: OTP planned, marked, not refused. */
    oflash_image_free(chip);
    oflash_image_new(&chip);
    oflash_target_view_from_image(&view, chip);
    o.skip_otp = false;
    o.show_otp = true;
    CHECK_OK(oflash_plan_create(&p, img, dev, &view, &o));
    CHECK(p && p->otp_needs_opt_in && p->otp_write_count == 15 && p->conflict_count == 0);
    oflash_plan_free(p);
    p = NULL;
    o.show_otp = false;
    CHECK_ERR(oflash_plan_create(&p, img, dev, &view, &o), OFLASH_EPROTECTED,
              "OTP data in blocks 0, 2; 15 OTP bytes and 0 locks to program");
    CHECK(p == NULL);

    /* The words themselves. */
    CHECK(strcmp(oflash_otp_text(buf, sizeof buf, (const uint8_t *)"SN-1\xFF\xFF", 6), "SN-1") ==
          0);
    CHECK(strcmp(oflash_otp_text(buf, sizeof buf, (const uint8_t *)"A B\0", 4), "\"A B\"") == 0);
    CHECK(strcmp(oflash_otp_text(buf, sizeof buf, (const uint8_t *)"\xFF\xFF", 2), "blank") == 0);
    CHECK(strcmp(oflash_otp_text(buf, sizeof buf, (const uint8_t *)"\x01\xAB\xFF", 3),
                 "01 AB FF") == 0);
    oflash_otp_text(buf, 16, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    CHECK(strlen(buf) < 16 && strstr(buf, "...") != NULL);
    oflash_image_free(chip);
    oflash_image_free(img);
}

static void test_misc(const oflash_device *dev)
{
    oflash_image *chip = mk((frag[MAXF]){{0}}), *img = mk((frag[MAXF]){{FLASH0, 16, 1}});
    oflash_target_view view;
    oflash_plan_opts o = OFLASH_PLAN_OPTS_INIT;
    oflash_plan *p = NULL;
    oflash_plan_summary s;

    oflash_target_view_from_image(&view, chip);
    o.allow_otp = o.skip_otp = true;
    CHECK_ERR(oflash_plan_create(&p, img, dev, &view, &o), OFLASH_EINVAL, "contradict");
    o.skip_otp = false;
    CHECK_OK(oflash_plan_create(&p, img, dev, &view, &o));
    oflash_plan_summarize(&s, p);
    CHECK_EQ_U(s.sectors_program, 1);
    CHECK_EQ_U(s.sectors_erase, 0);
    CHECK_EQ_U(s.program_bytes, 1024); /* one page */
    CHECK(!oflash_plan_is_noop(p));
    oflash_plan_free(p);

    /* Full 512 KiB on a chip holding it: 8 CRCs, no reads, noop. */
    {
        oflash_image *full = mk((frag[MAXF]){{FLASH0, 512 * 1024, 0x5C}});
        counting cv = {0};
        oflash_target_view cview = {c_crc, c_read, &cv};
        oflash_target_view_from_image(&cv.inner, full);
        CHECK_OK(oflash_plan_create(&p, full, dev, &cview, &o));
        CHECK(p && oflash_plan_is_noop(p));
        CHECK_EQ_U(cv.crcs, 2); /* sector 0, then the rest of the run in one CRC */
        CHECK_EQ_U(cv.reads, 0);
        oflash_plan_free(p);

        /* On a blank chip: two CRCs, every sector programmed without erase. */
        oflash_image *blank = mk((frag[MAXF]){{0}});
        counting bv = {0};
        oflash_target_view bview = {c_crc, c_read, &bv};
        oflash_plan_summary bs;
        oflash_target_view_from_image(&bv.inner, blank);
        CHECK_OK(oflash_plan_create(&p, full, dev, &bview, &o));
        oflash_plan_summarize(&bs, p);
        CHECK_EQ_U(bv.crcs, 2);
        CHECK_EQ_U(bs.sectors_program, 8);
        CHECK_EQ_U(bs.sectors_erase, 0);
        CHECK_EQ_U(bs.program_bytes, 512 * 1024);
        oflash_plan_free(p);

        /* One sector differs: sector 0 and the run, then one per other sector, and
         * only that sector is erased. */
        /* the chip: the image everywhere except one byte in sector 6 */
        oflash_image *chip2;
        uint8_t *all = malloc(512 * 1024);
        oflash_image_read(all, full, FLASH0, 512 * 1024, 0xFF);
        all[0x40000 + 5] ^= 0x10;
        oflash_image_new(&chip2);
        oflash_image_add(chip2, FLASH0, all, 512 * 1024, "chip");
        free(all);
        counting dv = {0};
        oflash_target_view dview = {c_crc, c_read, &dv};
        oflash_target_view_from_image(&dv.inner, chip2);
        CHECK_OK(oflash_plan_create(&p, full, dev, &dview, &o));
        oflash_plan_summarize(&bs, p);
        CHECK_EQ_U(dv.crcs, 9);
        CHECK_EQ_U(bs.sectors_erase, 1);
        CHECK_EQ_U(bs.sectors_skip, 7);
        CHECK_EQ_U(p->sectors[6].action, OFLASH_SECTOR_ERASE_PROGRAM);
        oflash_plan_free(p);
        oflash_image_free(chip2);
        oflash_image_free(blank);
        oflash_image_free(full);
    }
    oflash_image_free(chip);
    oflash_image_free(img);
}

/* STM32L4: OTP written once per 64-bit double word (OFLASH_OTP_WRITE_ONCE,
 * write unit 8, no lock bytes). */
#define L4OTP 0x1FFF7000u
/* clang-format off */
static const otp_case l4_otp_cases[] = {
    {"L4: two whole double words on a blank chip: programmed",
     {{0}},
     {{L4OTP, 16, 0x5C}},
     true, false, 0, "", 16, 0, 0, 0, 0, 0, false, false},
    {"L4: image covers half a double word: refused before the chip is asked",
     {{0}},
     {{L4OTP, 12, 0x5C}},
     true, false, OFLASH_EINVAL,
     "OTP 0x1FFF7008-0x1FFF700F: the image covers only 4 of its 8 bytes", 0, 0, 0, 0, 0, 0,
     true, false},
    {"L4: a partial double word is refused even when the rest equals the chip",
     {{L4OTP + 0x20, 8, 0x5C}},
     {{L4OTP + 0x21, 7, 0x5C}},
     true, false, OFLASH_EINVAL, "covers only 7 of its 8 bytes", 0, 0, 0, 0, 0, 0, true, false},
    {"L4: first double word equal, second blank: only the second is written",
     {{L4OTP, 8, 0x5C}},
     {{L4OTP, 16, 0x5C}},
     true, false, 0, "", 8, 0, 8, 0, 0, 0, false, false},
    {"L4: double word holds other data: one conflict for it",
     {{L4OTP + 8, 8, 0x31}},
     {{L4OTP, 16, 0x5C}},
     true, false, OFLASH_ECONFLICT, "OTP block 1", 8, 0, 0, 1, OFLASH_CONFLICT_OTP_VALUE,
     L4OTP + 8, false, false},
    {"L4: an interrupted write is a conflict, --otp-resume cannot finish it",
     {{L4OTP, 8, 0x7F}},
     {{L4OTP, 8, 0x3F}},
     true, false, OFLASH_ECONFLICT, "OTP block 0", 0, 0, 0, 1, OFLASH_CONFLICT_OTP_VALUE, L4OTP,
     false, true},
    {"L4: OTP without --otp refused",
     {{0}},
     {{L4OTP, 8, 0x5C}},
     false, false, OFLASH_EPROTECTED, "--otp", 0, 0, 0, 0, 0, 0, false, false},
    {"L4: OTP without --otp, the chip already holds it: nothing to do",
     {{L4OTP, 8, 0x5C}},
     {{L4OTP, 8, 0x5C}},
     false, false, 0, "", 0, 0, 8, 0, 0, 0, false, false},
};
/* clang-format on */

int main(void)
{
    const oflash_device *dev = oflash_builtin_device_find("STM32F401RE");
    CHECK(dev != NULL);
    if (!dev) return test_summary();
    for (size_t i = 0; i < sizeof flash_cases / sizeof flash_cases[0]; i++)
        run_flash_case(dev, &flash_cases[i]);
    for (size_t i = 0; i < sizeof otp_cases / sizeof otp_cases[0]; i++)
        run_otp_case(dev, &otp_cases[i]);
    for (size_t i = 0; i < sizeof resume_cases / sizeof resume_cases[0]; i++)
        run_resume_case(dev, &resume_cases[i]);
    test_serial_overwrite_refused(dev);
    test_otp_blocks(dev);
    test_misc(dev);
    dev = oflash_builtin_device_find("STM32L476RG");
    CHECK(dev != NULL);
    for (size_t i = 0; dev && i < sizeof l4_otp_cases / sizeof l4_otp_cases[0]; i++)
        run_otp_case(dev, &l4_otp_cases[i]);
    return test_summary();
}
