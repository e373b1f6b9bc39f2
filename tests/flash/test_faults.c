/*
 * test_faults.c - programming on the simulated STM32F401RE when things go
 * wrong: power loss in the middle of a run (during erase, program and OTP),
 * followed by a rerun that must end with exact contents; a sector
 * write-protected by the option bytes (RM0368 rev 5 §3.8.6) must give a
 * clear error with nothing written.
 */
#include "harness.h"
#include "lib/prog_scenario.h"

#define FLASH_SIZE 0x80000u

static prog_scenario S = {
    .dev = "STM32F401RE",
    .flash_size = FLASH_SIZE,
    .data_len = 0x12000u, /* sectors 0..3 and an eighth of 4 */
    .seed_mult = 0x12345678u,
    .serial_addr = 0x1FFF7800u, /* OTP block 0 */
    .serial = "SN-000004242",
    .lock_base = 0x1FFF7A00u,
    .lock_index = 0,
};

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

    ps_pattern(full, FLASH_SIZE, S.seed_mult * 8u);
    ps_pattern(small, 0x2000, S.seed_mult * 9u);
    memcpy(want, full, FLASH_SIZE);
    memcpy(want, small, 0x2000);
    oflash_image_new(&vfull);
    oflash_image_new(&vsmall);
    oflash_image_add(vfull, PS_FLASH0, full, FLASH_SIZE, "full");
    oflash_image_add(vsmall, PS_FLASH0, small, 0x2000, "small");
    for (size_t k = 0; k < sizeof when / sizeof when[0]; k++) {
        oflash_sim_faults f;
        oflash_target *t = NULL;
        oflash_journal *j = NULL;
        oflash_journal_opts jo = OFLASH_JOURNAL_OPTS_INIT;
        uint8_t *back = malloc(FLASH_SIZE);
        memset(&f, 0, sizeof f);
        snprintf(chip, sizeof chip, "%s/keep%zu.sim", S.dir, k);
        CHECK_OK(oflash_sim_create(chip, S.dev, NULL));
        CHECK_OK(ps_program(&st, &S, chip, vfull));
        f.power_loss = true;
        f.power_loss_after = when[k];
        CHECK_OK(oflash_sim_set_faults(chip, &f));
        CHECK(ps_program(&st, &S, chip, vsmall) < 0);
        /* The journal of this chip holds sector 0. */
        jo.dir = S.jdir;
        CHECK_OK(ps_open(&t, &S, chip, NULL));
        if (t) CHECK_OK(oflash_journal_open(&j, t, &jo));
        CHECK_EQ_U(oflash_journal_pending_sectors(j), 1);
        snprintf(jpath, sizeof jpath, "%s", oflash_journal_path(j));
        CHECK(access(jpath, F_OK) == 0);
        oflash_journal_close(j);
        oflash_target_close(t);
        /* The rerun restores, then has nothing left to do for the image. */
        CHECK_OK(ps_program(&st, &S, chip, vsmall));
        CHECK_EQ_U(st.sectors_erased, 0);
        CHECK_OK(ps_open(&t, &S, chip, NULL));
        if (t) CHECK_OK(oflash_flash_read(back, t, PS_FLASH0, FLASH_SIZE, NULL, NULL));
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

int main(void)
{
    if (ps_begin(&S, "oflash-faults") < 0) return 1;
    ps_power_loss(&S, 2, 5, 100);
    test_kept_bytes_power_loss();
    ps_f2x_write_protection(&S, "sector 2 (0x08008000-0x0800BFFF) is write-protected", 0x08004000u);
    ps_end(&S);
    return test_summary();
}
