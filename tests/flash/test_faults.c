/*
 * test_faults.c - programming on the simulated STM32F401RE when things go
 * wrong: power loss in the middle of a run (during erase, program and OTP),
 * followed by a rerun that must end with exact contents; a sector
 * write-protected by the option bytes (RM0368 rev 5 §3.8.6) must give a
 * clear error with nothing written.
 */
#include "harness.h"
#include "oflash/flash.h"
#include "oflash/journal.h"
#include "oflash/sim.h"

#include <stdlib.h>
#include <unistd.h>

#define DEV "STM32F401RE"
#define FLASH0 0x08000000u
#define FLASH_SIZE 0x80000u
#define OTP0 0x1FFF7800u
#define LOCK0 0x1FFF7A00u
#define DATA_LEN 0x12000u /* sectors 0..3 and an eighth of 4 */

static char dir[256];
static char jdir[300]; /* recovery journals */

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = 0x12345678u * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* v: 1 code only, 2 new code + serial in OTP block 0 + its lock byte. */
static oflash_image *make_image(int v, uint8_t *flash_expect)
{
    oflash_image *img;
    uint8_t *buf = malloc(DATA_LEN);
    pattern(buf, DATA_LEN, (unsigned)v);
    oflash_image_new(&img);
    oflash_image_add(img, FLASH0, buf, DATA_LEN, "code");
    if (v == 2) {
        const uint8_t zero = 0;
        oflash_image_add(img, OTP0, "SN-000004242", 12, "serial");
        oflash_image_add(img, LOCK0, &zero, 1, "lock");
    }
    if (flash_expect) {
        memset(flash_expect, 0xFF, FLASH_SIZE);
        memcpy(flash_expect, buf, DATA_LEN);
    }
    free(buf);
    return img;
}

static int open_target(const char *chip, oflash_target **t)
{
    char spec[320];
    oflash_target_opts o = OFLASH_TARGET_OPTS_INIT;
    snprintf(spec, sizeof spec, "sim:%s", chip);
    o.probe = spec;
    o.device = DEV;
    return oflash_target_open(t, &o);
}

/* A run as `oflash program` makes it: open the chip's recovery journal
 * (in the test directory), restore what an interrupted run left, plan with
 * the OTP writes the journal shows as started, execute with the journal. */
static int program_opt(const char *chip, const oflash_image *img, oflash_flash_stats *st,
                       bool resume)
{
    oflash_target *t = NULL;
    oflash_plan *plan = NULL;
    oflash_journal *j = NULL;
    oflash_target_view view;
    oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
    oflash_journal_opts jo = OFLASH_JOURNAL_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    int rc;
    po.allow_otp = true;
    po.otp_resume = resume;
    jo.dir = jdir;
    if ((rc = open_target(chip, &t)) < 0) return rc;
    if ((rc = oflash_journal_open(&j, t, &jo)) < 0 || (rc = oflash_journal_recover(NULL, j, t)) < 0)
        goto out;
    oflash_journal_otp_started(&po.otp_started, &po.otp_started_count, j);
    fo.journal = j;
    oflash_target_view_init(&view, t);
    if ((rc = oflash_plan_create(&plan, img, oflash_target_device(t), &view, &po)) == 0)
        rc = oflash_flash_execute(st, t, plan, &fo);
out:
    oflash_plan_free(plan);
    oflash_journal_close(j);
    oflash_target_close(t);
    return rc;
}

static int program(const char *chip, const oflash_image *img, oflash_flash_stats *st)
{
    return program_opt(chip, img, st, false);
}

/* The chip must hold exactly flash_expect and, if otp, the serial + lock. */
static void check_contents(const char *chip, const uint8_t *flash_expect, bool otp)
{
    oflash_target *t = NULL;
    uint8_t *flash = malloc(FLASH_SIZE), o[12], l[16], want_l[16];
    CHECK_OK(open_target(chip, &t));
    if (!t) goto out;
    CHECK_OK(oflash_flash_read(flash, t, FLASH0, FLASH_SIZE, NULL, NULL));
    CHECK_OK(oflash_flash_read(o, t, OTP0, 12, NULL, NULL));
    CHECK_OK(oflash_flash_read(l, t, LOCK0, 16, NULL, NULL));
    CHECK(memcmp(flash, flash_expect, FLASH_SIZE) == 0);
    memset(want_l, 0xFF, 16);
    if (otp) {
        CHECK(memcmp(o, "SN-000004242", 12) == 0);
        want_l[0] = 0;
    }
    CHECK(memcmp(l, want_l, 16) == 0);
out:
    oflash_target_close(t);
    free(flash);
}

static void test_power_loss(void)
{
    char cal[300], chip[300];
    uint8_t *e1 = malloc(FLASH_SIZE), *e2 = malloc(FLASH_SIZE);
    oflash_image *v1 = make_image(1, e1), *v2 = make_image(2, e2);
    oflash_sim_info info;
    oflash_flash_stats st;
    uint64_t total;

    /* Calibrate: how many flash operations does v1 -> v2 take? */
    snprintf(cal, sizeof cal, "%s/cal.sim", dir);
    CHECK_OK(oflash_sim_create(cal, DEV, NULL));
    CHECK_OK(program(cal, v1, &st));
    CHECK_OK(program(cal, v2, &st));
    CHECK_EQ_U(st.sectors_erased, 5);
    CHECK_OK(oflash_sim_info_read(&info, cal));
    total = info.last_run.program_ops + info.last_run.erase_ops;
    printf("v1 -> v2: %llu program accesses, %llu erases\n",
           (unsigned long long)info.last_run.program_ops,
           (unsigned long long)info.last_run.erase_ops);
    CHECK(total > 100);

    /* Power fails during the erases, in the middle of programming, and
     * among the last operations (OTP data and the lock byte). */
    const uint64_t when[] = {2, total / 2, total - 3, total - 1};
    for (size_t k = 0; k < sizeof when / sizeof when[0]; k++) {
        oflash_sim_faults f;
        memset(&f, 0, sizeof f);
        snprintf(chip, sizeof chip, "%s/pl%zu.sim", dir, k);
        CHECK_OK(oflash_sim_create(chip, DEV, NULL));
        CHECK_OK(program(chip, v1, &st));
        f.power_loss = true;
        f.power_loss_after = when[k];
        CHECK_OK(oflash_sim_set_faults(chip, &f));
        int rc = program(chip, v2, &st);
        if (rc == 0)
            fprintf(stderr, "power loss after %llu operations: the run did not fail\n",
                    (unsigned long long)when[k]);
        CHECK(rc < 0);
        /* The rerun completes the job exactly.  A power loss in the middle of
         * an OTP or lock byte program leaves it partly programmed: a plain
         * rerun refuses that (a conflict naming --otp-resume), the rerun
         * with otp_resume finishes it. */
        rc = program(chip, v2, &st);
        if (rc == OFLASH_ECONFLICT) {
            printf("power loss at %llu: %s\n", (unsigned long long)when[k], oflash_error_last());
            CHECK(strstr(oflash_error_last(), "--otp-resume") != NULL);
            rc = program_opt(chip, v2, &st, true);
        }
        if (rc < 0)
            fprintf(stderr, "rerun after power loss at %llu: %s\n", (unsigned long long)when[k],
                    oflash_error_last());
        CHECK(rc == 0);
        check_contents(chip, e2, true);
        /* And a third run has nothing left to do. */
        CHECK_OK(program(chip, v2, &st));
        CHECK_EQ_U(st.sectors_erased, 0);
        CHECK_EQ_U(st.bytes_programmed, 0);
        CHECK_EQ_U(st.otp_bytes_programmed, 0);
        CHECK_EQ_U(st.otp_blocks_locked, 0);
    }
    oflash_image_free(v1);
    oflash_image_free(v2);
    free(e1);
    free(e2);
}

/* Finding 1 of issue 14: a full image, then an 8 KiB image at 0x08000000
 * over it (sector 0 is 16 KiB: 0x08002000-0x08003FFF must be kept); power
 * fails during the erase of sector 0 and at points while it is written
 * again.  The rerun must restore the kept bytes from the recovery journal
 * (before: they came back as 0xFF or half-erased garbage and the rerun
 * reported "verify ok"), and the journal is gone afterwards. */
static void test_kept_bytes_power_loss(void)
{
    char chip[300], jpath[400];
    uint8_t *full = malloc(FLASH_SIZE), *small = malloc(0x2000), *want = malloc(FLASH_SIZE);
    oflash_image *vfull, *vsmall;
    oflash_flash_stats st;
    const uint64_t when[] = {0, 1, 1000, 2047, 2048, 2049};

    pattern(full, FLASH_SIZE, 7);
    pattern(small, 0x2000, 8);
    memcpy(want, full, FLASH_SIZE);
    memcpy(want, small, 0x2000);
    oflash_image_new(&vfull);
    oflash_image_new(&vsmall);
    oflash_image_add(vfull, FLASH0, full, FLASH_SIZE, "full");
    oflash_image_add(vsmall, FLASH0, small, 0x2000, "small");
    for (size_t k = 0; k < sizeof when / sizeof when[0]; k++) {
        oflash_sim_faults f;
        oflash_target *t = NULL;
        oflash_journal *j = NULL;
        oflash_journal_opts jo = OFLASH_JOURNAL_OPTS_INIT;
        uint8_t *back = malloc(FLASH_SIZE);
        memset(&f, 0, sizeof f);
        snprintf(chip, sizeof chip, "%s/keep%zu.sim", dir, k);
        CHECK_OK(oflash_sim_create(chip, DEV, NULL));
        CHECK_OK(program(chip, vfull, &st));
        f.power_loss = true;
        f.power_loss_after = when[k];
        CHECK_OK(oflash_sim_set_faults(chip, &f));
        CHECK(program(chip, vsmall, &st) < 0);
        /* The journal of this chip holds sector 0. */
        jo.dir = jdir;
        CHECK_OK(open_target(chip, &t));
        if (t) CHECK_OK(oflash_journal_open(&j, t, &jo));
        CHECK_EQ_U(oflash_journal_pending_sectors(j), 1);
        snprintf(jpath, sizeof jpath, "%s", oflash_journal_path(j));
        CHECK(access(jpath, F_OK) == 0);
        oflash_journal_close(j);
        oflash_target_close(t);
        /* The rerun restores, then has nothing left to do for the image. */
        CHECK_OK(program(chip, vsmall, &st));
        CHECK_EQ_U(st.sectors_erased, 0);
        CHECK_OK(open_target(chip, &t));
        if (t) CHECK_OK(oflash_flash_read(back, t, FLASH0, FLASH_SIZE, NULL, NULL));
        oflash_target_close(t);
        if (memcmp(back, want, FLASH_SIZE) != 0)
            fprintf(stderr, "power loss after %llu operations: kept bytes not kept\n",
                    (unsigned long long)when[k]);
        CHECK(memcmp(back, want, FLASH_SIZE) == 0);
        CHECK(access(jpath, F_OK) != 0); /* removed after the sector verified */
        free(back);
    }
    oflash_image_free(vfull);
    oflash_image_free(vsmall);
    free(full);
    free(small);
    free(want);
}

/* Set nWRP2 = 0 through the option-byte sequence, as a debugger would
 * (RM0368 rev 5 §3.6.2: OPTKEYR keys, OPTCR, OPTSTRT, wait for BSY). */
static int protect_sector2(oflash_probe *p)
{
    uint32_t optcr, sr = 0;
    int rc;
    if ((rc = oflash_probe_write_u32(p, 0x40023C08u, 0x08192A3Bu)) < 0 ||
        (rc = oflash_probe_write_u32(p, 0x40023C08u, 0x4C5D6E7Fu)) < 0 ||
        (rc = oflash_probe_read_u32(&optcr, p, 0x40023C14u)) < 0)
        return rc;
    optcr &= ~(1u << (16 + 2));
    if ((rc = oflash_probe_write_u32(p, 0x40023C14u, optcr)) < 0 ||
        (rc = oflash_probe_write_u32(p, 0x40023C14u, optcr | 2u)) < 0)
        return rc;
    for (int i = 0; i < 1000; i++) {
        if ((rc = oflash_probe_read_u32(&sr, p, 0x40023C0Cu)) < 0) return rc;
        if (!(sr & (1u << 16))) return 0;
        usleep(1000);
    }
    return oflash_error_set(OFLASH_ETIMEOUT, "option byte programming stayed busy");
}

static void test_write_protection(void)
{
    char chip[300];
    oflash_target *t = NULL;
    oflash_image *img = make_image(1, NULL);
    uint8_t *flash = malloc(FLASH_SIZE), *blank = malloc(FLASH_SIZE);
    unsigned two = 2;
    oflash_flash_stats st;

    memset(blank, 0xFF, FLASH_SIZE);
    snprintf(chip, sizeof chip, "%s/wp.sim", dir);
    CHECK_OK(oflash_sim_create(chip, DEV, NULL));
    CHECK_OK(open_target(chip, &t));
    if (!t) goto out;
    CHECK_OK(protect_sector2(oflash_target_probe(t)));
    oflash_target_close(t);
    t = NULL;

    CHECK_ERR(program(chip, img, &st), OFLASH_EPROTECTED,
              "sector 2 (0x08008000-0x0800BFFF) is "
              "write-protected");
    CHECK_OK(open_target(chip, &t));
    if (!t) goto out;
    CHECK_OK(oflash_flash_read(flash, t, FLASH0, FLASH_SIZE, NULL, NULL));
    CHECK(memcmp(flash, blank, FLASH_SIZE) == 0); /* nothing written, not even sector 0 */
    CHECK_ERR(oflash_flash_erase(NULL, t, &two, 1, false, NULL, NULL), OFLASH_EPROTECTED,
              "write-protected");
    /* Sectors that are not protected still work. */
    {
        oflash_image *small;
        oflash_plan *plan = NULL;
        oflash_target_view view;
        uint8_t b[64];
        pattern(b, sizeof b, 9);
        oflash_image_new(&small);
        oflash_image_add(small, 0x08004000u, b, sizeof b, "small");
        oflash_target_view_init(&view, t);
        CHECK_OK(oflash_plan_create(&plan, small, oflash_target_device(t), &view, NULL));
        if (plan) CHECK_OK(oflash_flash_execute(&st, t, plan, NULL));
        CHECK_EQ_U(st.bytes_programmed, 1024);
        oflash_plan_free(plan);
        oflash_image_free(small);
    }
out:
    oflash_target_close(t);
    oflash_image_free(img);
    free(flash);
    free(blank);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/oflash-faults-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(jdir, sizeof jdir, "%s/journal", dir);
    test_power_loss();
    test_kept_bytes_power_loss();
    test_write_protection();
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    return test_summary();
}
