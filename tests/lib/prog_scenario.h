/*
 * prog_scenario.h - programming scenarios every chip family's tests run on
 * its simulated chip through the library (planner + executor + the
 * family's built-in loader), as `oflash program` does: a power loss during
 * erase, program, OTP data and the lock byte, then a rerun that must end
 * with exact contents; a sector write-protected by the option bytes that
 * is refused with nothing written.  The family's test fills a
 * prog_scenario with its part, sizes and OTP addresses and calls them.
 *
 * Header only, for C tests built with oflash_add_test (include harness.h
 * first: the CHECKs count in the test's own tally).
 */
#ifndef OFLASH_TEST_PROG_SCENARIO_H
#define OFLASH_TEST_PROG_SCENARIO_H

#include "harness.h"
#include "oflash/flash.h"
#include "oflash/journal.h"
#include "oflash/sim.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#define PS_FLASH0 0x08000000u

typedef struct prog_scenario {
    const char *dev;      /* the part of the chips the scenario creates */
    uint32_t flash_size;  /* main flash compared after a run, from PS_FLASH0 */
    uint32_t data_len;    /* code bytes at PS_FLASH0 in each image */
    uint32_t seed_mult;   /* pattern of image v: x0 = seed_mult * (v + 1) */
    uint32_t serial_addr; /* image 2 adds `serial` in OTP here ... */
    const char *serial;
    uint32_t lock_base; /* ... and 0x00 to lock byte lock_base + lock_index */
    unsigned lock_index;
    char dir[256];  /* a fresh temp directory (ps_begin) */
    char jdir[300]; /* the recovery journals, in dir */
} prog_scenario;

/* Make the scenario's temp directory (name: "<prefix>-XXXXXX" in TMPDIR). */
static inline int ps_begin(prog_scenario *s, const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(s->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(s->jdir, sizeof s->jdir, "%s/journal", s->dir);
    return 0;
}

static inline void ps_end(prog_scenario *s)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", s->dir);
}

/* chip's path in the scenario's directory. */
static inline void ps_path(char *out, size_t len, const prog_scenario *s, const char *name)
{
    snprintf(out, len, "%s/%s", s->dir, name);
}

/* Pseudo-random bytes (an LCG) from x. */
static inline void ps_pattern(uint8_t *p, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* Image v: 1 code only, 2 new code + the serial in OTP + its lock byte.
 * flash_expect (flash_size bytes, or NULL): main flash after programming. */
static inline oflash_image *ps_image(const prog_scenario *s, int v, uint8_t *flash_expect)
{
    oflash_image *img;
    uint8_t *buf = malloc(s->data_len);
    ps_pattern(buf, s->data_len, s->seed_mult * (uint32_t)(v + 1));
    oflash_image_new(&img);
    oflash_image_add(img, PS_FLASH0, buf, s->data_len, "code");
    if (v == 2) {
        const uint8_t zero = 0;
        oflash_image_add(img, s->serial_addr, s->serial, strlen(s->serial), "serial");
        oflash_image_add(img, s->lock_base + s->lock_index, &zero, 1, "lock");
    }
    if (flash_expect) {
        memset(flash_expect, 0xFF, s->flash_size);
        memcpy(flash_expect, buf, s->data_len);
    }
    free(buf);
    return img;
}

/* Open the simulated chip file as part dev (NULL: the scenario's). */
static inline int ps_open(oflash_target **t, const prog_scenario *s, const char *chip,
                          const char *dev)
{
    char spec[320];
    oflash_target_opts o = OFLASH_TARGET_OPTS_INIT;
    snprintf(spec, sizeof spec, "sim:%s", chip);
    o.probe = spec;
    o.device = dev ? dev : s->dev;
    return oflash_target_open(t, &o);
}

/* A run as `oflash program` makes it: open the chip's recovery journal
 * (in the scenario's directory), restore what an interrupted run left,
 * plan with the OTP writes the journal shows as started (otp_resume
 * finishes only those), execute with the journal. */
static inline int ps_program_as(oflash_flash_stats *st, const prog_scenario *s, const char *chip,
                                const char *dev, const oflash_image *img, bool resume)
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
    jo.dir = s->jdir;
    if ((rc = ps_open(&t, s, chip, dev)) < 0) return rc;
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

static inline int ps_program(oflash_flash_stats *st, const prog_scenario *s, const char *chip,
                             const oflash_image *img)
{
    return ps_program_as(st, s, chip, NULL, img, false);
}

/* The chip must hold exactly flash_expect and, if otp, the serial and its
 * lock byte (all other lock bytes 0xFF). */
static inline void ps_check_contents(const prog_scenario *s, const char *chip,
                                     const uint8_t *flash_expect, bool otp)
{
    oflash_target *t = NULL;
    size_t n = strlen(s->serial);
    uint8_t *flash = malloc(s->flash_size), *o = malloc(n), l[16], want_l[16];
    CHECK_OK(ps_open(&t, s, chip, NULL));
    if (!t) goto out;
    CHECK_OK(oflash_flash_read(flash, t, PS_FLASH0, s->flash_size, NULL, NULL));
    CHECK_OK(oflash_flash_read(o, t, s->serial_addr, n, NULL, NULL));
    CHECK_OK(oflash_flash_read(l, t, s->lock_base, 16, NULL, NULL));
    CHECK(memcmp(flash, flash_expect, s->flash_size) == 0);
    memset(want_l, 0xFF, 16);
    if (otp) {
        CHECK(memcmp(o, s->serial, n) == 0);
        want_l[s->lock_index] = 0;
    }
    CHECK(memcmp(l, want_l, 16) == 0);
out:
    oflash_target_close(t);
    free(flash);
    free(o);
}

/* Image 1, then image 2 over it with the power failing after `first`
 * flash operations (during the erases), in the middle of programming,
 * and on the last ones (the OTP data and the lock byte): each run fails,
 * the rerun (with otp_resume when a plain one refuses a partly programmed
 * OTP byte) ends with exact contents, and a third run has nothing to do.
 * erased: the sectors image 2 erases over image 1; min_ops: at least that
 * many flash operations from image 1 to image 2. */
static inline void ps_power_loss(const prog_scenario *s, uint64_t first, unsigned erased,
                                 uint64_t min_ops)
{
    char cal[300], chip[300];
    uint8_t *e1 = malloc(s->flash_size), *e2 = malloc(s->flash_size);
    oflash_image *v1 = ps_image(s, 1, e1), *v2 = ps_image(s, 2, e2);
    oflash_sim_info info;
    oflash_flash_stats st;
    uint64_t total;

    /* Calibrate: how many flash operations does v1 -> v2 take? */
    ps_path(cal, sizeof cal, s, "cal.sim");
    CHECK_OK(oflash_sim_create(cal, s->dev, NULL));
    CHECK_OK(ps_program(&st, s, cal, v1));
    CHECK_EQ_U(st.sectors_erased, 0); /* blank chip: nothing to erase */
    CHECK_OK(ps_program(&st, s, cal, v2));
    CHECK_EQ_U(st.sectors_erased, erased);
    CHECK_EQ_U(st.otp_bytes_programmed, strlen(s->serial));
    CHECK_EQ_U(st.otp_blocks_locked, 1);
    CHECK_OK(oflash_sim_info_read(&info, cal));
    total = info.last_run.program_ops + info.last_run.erase_ops;
    printf("v1 -> v2: %llu program accesses, %llu erases\n",
           (unsigned long long)info.last_run.program_ops,
           (unsigned long long)info.last_run.erase_ops);
    CHECK(total > min_ops);

    const uint64_t when[] = {first, total / 2, total - 3, total - 1};
    for (size_t k = 0; k < sizeof when / sizeof when[0]; k++) {
        oflash_sim_faults f;
        char name[32];
        int rc;
        memset(&f, 0, sizeof f);
        snprintf(name, sizeof name, "pl%zu.sim", k);
        ps_path(chip, sizeof chip, s, name);
        CHECK_OK(oflash_sim_create(chip, s->dev, NULL));
        CHECK_OK(ps_program(&st, s, chip, v1));
        f.power_loss = true;
        f.power_loss_after = when[k];
        CHECK_OK(oflash_sim_set_faults(chip, &f));
        rc = ps_program(&st, s, chip, v2);
        if (rc == 0)
            fprintf(stderr, "power loss after %llu operations: the run did not fail\n",
                    (unsigned long long)when[k]);
        CHECK(rc < 0);
        /* A power loss in the middle of an OTP or lock byte program leaves
         * it partly programmed: a plain rerun refuses that (a conflict
         * naming --otp-resume), the rerun with otp_resume finishes it. */
        rc = ps_program(&st, s, chip, v2);
        if (rc == OFLASH_ECONFLICT) {
            printf("power loss at %llu: %s\n", (unsigned long long)when[k], oflash_error_last());
            CHECK(strstr(oflash_error_last(), "--otp-resume") != NULL);
            rc = ps_program_as(&st, s, chip, NULL, v2, true);
        }
        if (rc < 0)
            fprintf(stderr, "rerun after power loss at %llu: %s\n", (unsigned long long)when[k],
                    oflash_error_last());
        CHECK(rc == 0);
        ps_check_contents(s, chip, e2, true);
        CHECK_OK(ps_program(&st, s, chip, v2));
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

/* Clear OPTCR bits through the option-byte sequence of the STM32F2/F4/F7
 * flash interface, as a debugger would (RM0368 rev 5 §3.6.2, RM0385 rev 8
 * §3.4.2: OPTKEYR keys, OPTCR, OPTSTRT, wait for BSY). */
static inline int ps_f2x_clear_optcr(oflash_probe *p, uint32_t bits)
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

/* Sector 2 write-protected with nWRP2 = 0 on an F2/F4/F7 chip: image 1
 * (which covers it) is refused with `refused` in the message and nothing
 * written, not even sector 0; an erase of sector 2 is refused; 64 bytes
 * at free_addr (an unprotected sector) still program (one 1 KiB page). */
static inline void ps_f2x_write_protection(const prog_scenario *s, const char *refused,
                                           uint32_t free_addr)
{
    char chip[300];
    oflash_target *t = NULL;
    oflash_image *img = ps_image(s, 1, NULL);
    uint8_t *flash = malloc(s->flash_size), *blank = malloc(s->flash_size);
    unsigned two = 2;
    oflash_flash_stats st;

    memset(blank, 0xFF, s->flash_size);
    ps_path(chip, sizeof chip, s, "wp.sim");
    CHECK_OK(oflash_sim_create(chip, s->dev, NULL));
    CHECK_OK(ps_open(&t, s, chip, NULL));
    if (!t) goto out;
    CHECK_OK(ps_f2x_clear_optcr(oflash_target_probe(t), 1u << (16 + 2)));
    oflash_target_close(t);
    t = NULL;

    CHECK_ERR(ps_program(&st, s, chip, img), OFLASH_EPROTECTED, refused);
    CHECK(strstr(oflash_error_last(), "nWRP2 = 0") != NULL);
    CHECK_OK(ps_open(&t, s, chip, NULL));
    if (!t) goto out;
    CHECK_OK(oflash_flash_read(flash, t, PS_FLASH0, s->flash_size, NULL, NULL));
    CHECK(memcmp(flash, blank, s->flash_size) == 0); /* nothing written, not even sector 0 */
    CHECK_ERR(oflash_flash_erase(NULL, t, &two, 1, false, NULL, NULL), OFLASH_EPROTECTED,
              "write-protected");
    {
        oflash_image *small;
        oflash_plan *plan = NULL;
        oflash_target_view view;
        uint8_t b[64];
        ps_pattern(b, sizeof b, s->seed_mult * 10u);
        oflash_image_new(&small);
        oflash_image_add(small, free_addr, b, sizeof b, "small");
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

#endif
