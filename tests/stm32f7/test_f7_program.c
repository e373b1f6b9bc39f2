/*
 * test_f7_program.c - programming simulated STM32F7 parts through the
 * library (planner + executor + the built-in stm32f7 loader) when things go
 * wrong: a power loss during erase, program, OTP data and the lock byte,
 * then a rerun that must end with exact contents; a sector write-protected
 * by the option bytes (RM0385 rev 8 §3.7.6: nWRPi = 0; RM0410 rev 4: in
 * dual bank mode nWRPi covers sectors 2i and 2i+1) gives a clear error with
 * nothing written.
 */
#include "harness.h"
#include "oflash/flash.h"
#include "oflash/journal.h"
#include "oflash/sim.h"

#include <stdlib.h>
#include <unistd.h>

#define FLASH0 0x08000000u
#define OTP0 0x1FF0F000u
#define LOCK0 0x1FF0F400u
#define F746_SIZE 0x100000u
#define DATA_LEN 0x42000u /* sectors 0..4 (4 x 32 + 128 KiB) and 8 KiB of sector 5 */

static char dir[256];
static char jdir[300]; /* recovery journals (oflash/journal.h) */

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = 0x9E3779B9u * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* v: 1 code only, 2 new code + a serial in OTP block 1 + its lock byte. */
static oflash_image *make_image(int v, uint8_t *flash_expect)
{
    oflash_image *img;
    uint8_t *buf = malloc(DATA_LEN);
    pattern(buf, DATA_LEN, (unsigned)v);
    oflash_image_new(&img);
    oflash_image_add(img, FLASH0, buf, DATA_LEN, "code");
    if (v == 2) {
        const uint8_t zero = 0;
        oflash_image_add(img, OTP0 + 64, "F7-SERIAL-0042", 14, "serial");
        oflash_image_add(img, LOCK0 + 1, &zero, 1, "lock");
    }
    if (flash_expect) {
        memset(flash_expect, 0xFF, F746_SIZE);
        memcpy(flash_expect, buf, DATA_LEN);
    }
    free(buf);
    return img;
}

static int open_target(const char *chip, const char *dev, oflash_target **t)
{
    char spec[320];
    oflash_target_opts o = OFLASH_TARGET_OPTS_INIT;
    snprintf(spec, sizeof spec, "sim:%s", chip);
    o.probe = spec;
    o.device = dev;
    return oflash_target_open(t, &o);
}

static int program_opt(const char *chip, const char *dev, const oflash_image *img,
                       oflash_flash_stats *st, bool resume)
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
    if ((rc = open_target(chip, dev, &t)) < 0) return rc;
    /* As oflash program: the recovery journal restores what a cut left and
     * shows which OTP writes were started (otp_resume finishes only those). */
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
    return program_opt(chip, "STM32F746ZG", img, st, false);
}

static void check_contents(const char *chip, const uint8_t *flash_expect, bool otp)
{
    oflash_target *t = NULL;
    uint8_t *flash = malloc(F746_SIZE), o[14], l[16], want_l[16];
    CHECK_OK(open_target(chip, "STM32F746ZG", &t));
    if (!t) goto out;
    CHECK_OK(oflash_flash_read(flash, t, FLASH0, F746_SIZE, NULL, NULL));
    CHECK_OK(oflash_flash_read(o, t, OTP0 + 64, 14, NULL, NULL));
    CHECK_OK(oflash_flash_read(l, t, LOCK0, 16, NULL, NULL));
    CHECK(memcmp(flash, flash_expect, F746_SIZE) == 0);
    memset(want_l, 0xFF, 16);
    if (otp) {
        CHECK(memcmp(o, "F7-SERIAL-0042", 14) == 0);
        want_l[1] = 0;
    }
    CHECK(memcmp(l, want_l, 16) == 0);
out:
    oflash_target_close(t);
    free(flash);
}

static void test_power_loss(void)
{
    char cal[300], chip[300];
    uint8_t *e1 = malloc(F746_SIZE), *e2 = malloc(F746_SIZE);
    oflash_image *v1 = make_image(1, e1), *v2 = make_image(2, e2);
    oflash_sim_info info;
    oflash_flash_stats st;
    uint64_t total;

    snprintf(cal, sizeof cal, "%s/cal.sim", dir);
    CHECK_OK(oflash_sim_create(cal, "STM32F746ZG", NULL));
    CHECK_OK(program(cal, v1, &st));
    CHECK_EQ_U(st.sectors_erased, 0); /* blank chip: nothing to erase */
    CHECK_OK(program(cal, v2, &st));
    CHECK_EQ_U(st.sectors_erased, 6); /* 4 x 32 KiB, 128 KiB, 256 KiB */
    CHECK_EQ_U(st.otp_bytes_programmed, 14);
    CHECK_EQ_U(st.otp_blocks_locked, 1);
    CHECK_OK(oflash_sim_info_read(&info, cal));
    total = info.last_run.program_ops + info.last_run.erase_ops;
    printf("v1 -> v2: %llu program accesses, %llu erases\n",
           (unsigned long long)info.last_run.program_ops,
           (unsigned long long)info.last_run.erase_ops);
    CHECK(total > 1000);

    /* During the erases, in the middle of programming, on the OTP data and
     * on the lock byte (the last operation). */
    const uint64_t when[] = {3, total / 2, total - 3, total - 1};
    for (size_t k = 0; k < sizeof when / sizeof when[0]; k++) {
        oflash_sim_faults f;
        int rc;
        memset(&f, 0, sizeof f);
        snprintf(chip, sizeof chip, "%s/pl%zu.sim", dir, k);
        CHECK_OK(oflash_sim_create(chip, "STM32F746ZG", NULL));
        CHECK_OK(program(chip, v1, &st));
        f.power_loss = true;
        f.power_loss_after = when[k];
        CHECK_OK(oflash_sim_set_faults(chip, &f));
        rc = program(chip, v2, &st);
        CHECK(rc < 0);
        rc = program(chip, v2, &st);
        if (rc == OFLASH_ECONFLICT) {
            /* A partly programmed OTP byte: refused by a plain rerun. */
            CHECK(strstr(oflash_error_last(), "--otp-resume") != NULL);
            rc = program_opt(chip, "STM32F746ZG", v2, &st, true);
        }
        if (rc < 0)
            fprintf(stderr, "rerun after power loss at %llu: %s\n", (unsigned long long)when[k],
                    oflash_error_last());
        CHECK(rc == 0);
        check_contents(chip, e2, true);
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

/* Clear OPTCR bits through the option-byte sequence, as a debugger would
 * (RM0385 §3.4.2: OPTKEYR keys, OPTCR, OPTSTRT, wait for BSY). */
static int clear_optcr_bits(oflash_probe *p, uint32_t bits)
{
    uint32_t optcr, sr = 0;
    int rc;
    if ((rc = oflash_probe_write_u32(p, 0x40023C08u, 0x08192A3Bu)) < 0 ||
        (rc = oflash_probe_write_u32(p, 0x40023C08u, 0x4C5D6E7Fu)) < 0 ||
        (rc = oflash_probe_read_u32(&optcr, p, 0x40023C14u)) < 0)
        return rc;
    optcr &= ~(bits | 3u);
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
    uint8_t *flash = malloc(F746_SIZE), *blank = malloc(F746_SIZE);
    unsigned two = 2;
    oflash_flash_stats st;

    memset(blank, 0xFF, F746_SIZE);
    snprintf(chip, sizeof chip, "%s/wp.sim", dir);
    CHECK_OK(oflash_sim_create(chip, "STM32F746ZG", NULL));
    CHECK_OK(open_target(chip, "STM32F746ZG", &t));
    if (!t) goto out;
    CHECK_OK(clear_optcr_bits(oflash_target_probe(t), 1u << (16 + 2)));
    oflash_target_close(t);
    t = NULL;

    /* Sector 2 of an F746xG is 32 KiB at 0x08010000. */
    CHECK_ERR(program(chip, img, &st), OFLASH_EPROTECTED,
              "sector 2 (0x08010000-0x08017FFF) is write-protected");
    CHECK(strstr(oflash_error_last(), "nWRP2 = 0") != NULL);
    CHECK_OK(open_target(chip, "STM32F746ZG", &t));
    if (!t) goto out;
    CHECK_OK(oflash_flash_read(flash, t, FLASH0, F746_SIZE, NULL, NULL));
    CHECK(memcmp(flash, blank, F746_SIZE) == 0); /* nothing written, not even sector 0 */
    CHECK_ERR(oflash_flash_erase(NULL, t, &two, 1, false, NULL, NULL), OFLASH_EPROTECTED,
              "write-protected");
    {
        oflash_image *small;
        oflash_plan *plan = NULL;
        oflash_target_view view;
        uint8_t b[64];
        pattern(b, sizeof b, 9);
        oflash_image_new(&small);
        oflash_image_add(small, 0x08018000u, b, sizeof b, "small"); /* sector 3 */
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

/* F767ZI in dual bank mode: nWRP6 covers sectors 12 and 13 (bank 2). */
static void test_dual_bank_protection(void)
{
    char chip[300];
    oflash_target *t = NULL;
    oflash_image *img;
    oflash_flash_stats st;
    uint8_t b[256], back[256];

    snprintf(chip, sizeof chip, "%s/db.sim", dir);
    CHECK_OK(oflash_sim_create(chip, "STM32F767ZI-DB", NULL));
    CHECK_OK(open_target(chip, "STM32F767ZI-DB", &t));
    if (!t) return;
    CHECK_OK(clear_optcr_bits(oflash_target_probe(t), 1u << (16 + 6)));
    oflash_target_close(t);
    /* sim show's view: nWRP6 = 0 write-protects sectors 12 and 13 only. */
    {
        oflash_sim_info info;
        CHECK_OK(oflash_sim_info_read(&info, chip));
        CHECK_EQ_U(info.sector_count, 24);
        CHECK(info.sector_wrp[12] && info.sector_wrp[13]);
        CHECK(!info.sector_wrp[11] && !info.sector_wrp[14] && !info.sector_wrp[0]);
        CHECK(strstr(info.options, "nWRP 0xFBF") != NULL);
        CHECK(strstr(info.options, "dual bank (nDBANK 0)") != NULL);
        CHECK(strstr(info.options, "BOOT_ADD0 0x00200000") != NULL);
        CHECK_EQ_U(info.otp_base, 0x1FF0F000u);
        CHECK_EQ_U(info.otp_block, 64);
    }
    pattern(b, sizeof b, 5);
    oflash_image_new(&img);
    oflash_image_add(img, 0x08104000u, b, sizeof b, "bank2"); /* sector 13 */
    CHECK_ERR(program_opt(chip, "STM32F767ZI-DB", img, &st, false), OFLASH_EPROTECTED,
              "sector 13 (0x08104000-0x08107FFF) is write-protected");
    CHECK(strstr(oflash_error_last(), "nWRP6") != NULL);
    oflash_image_free(img);
    /* Sector 14 (nWRP7) is not protected. */
    oflash_image_new(&img);
    oflash_image_add(img, 0x08108000u, b, sizeof b, "bank2");
    CHECK_OK(program_opt(chip, "STM32F767ZI-DB", img, &st, false));
    oflash_image_free(img);
    CHECK_OK(open_target(chip, "STM32F767ZI-DB", &t));
    if (!t) return;
    CHECK_OK(oflash_flash_read(back, t, 0x08108000u, sizeof back, NULL, NULL));
    CHECK(memcmp(back, b, sizeof b) == 0);
    oflash_target_close(t);
}

/* The whole flash, twice (the second run erases every sector), at x32
 * with the built-in loader: simulated time against the datasheet floor
 * (every sector's typical erase time + one tprog of 16 us per word). */
static void test_full_chip_time(const char *dev, uint32_t size, double erase_floor_s)
{
    char chip[300];
    uint8_t *buf = malloc(size);
    oflash_flash_stats st;
    double floor_s = erase_floor_s + (double)(size / 4) * 16e-6;
    snprintf(chip, sizeof chip, "%s/full-%s.sim", dir, dev);
    CHECK_OK(oflash_sim_create(chip, dev, NULL));
    for (unsigned v = 1; v <= 2; v++) {
        oflash_image *img;
        pattern(buf, size, 100 + v);
        oflash_image_new(&img);
        oflash_image_add(img, FLASH0, buf, size, "full");
        memset(&st, 0, sizeof st);
        CHECK_OK(program_opt(chip, dev, img, &st, false));
        oflash_image_free(img);
    }
    CHECK_EQ_U(st.bytes_programmed, size);
    CHECK(st.has_sim_time);
    printf("%s: erase + program %u KiB at x32: %.4f s simulated, datasheet floor %.4f s, "
           "ratio %.4f\n",
           dev, size / 1024, st.sim_time_s, floor_s, st.sim_time_s / floor_s);
    CHECK(st.sim_time_s >= floor_s && st.sim_time_s <= 1.03 * floor_s);
    free(buf);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/oflash-f7-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(jdir, sizeof jdir, "%s/journal", dir);
    test_write_protection();
    test_dual_bank_protection();
    test_power_loss();
    /* F746xG: 4 x 32 KiB (250 ms), 128 KiB (550 ms), 3 x 256 KiB (1000 ms);
     * F767xI: the same and 7 x 256 KiB. */
    test_full_chip_time("STM32F746ZG", 0x100000, 4 * 0.25 + 0.55 + 3 * 1.0);
    test_full_chip_time("STM32F767ZI", 0x200000, 4 * 0.25 + 0.55 + 7 * 1.0);
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    return test_summary();
}
