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
#include "lib/prog_scenario.h"

static prog_scenario S = {
    .dev = "STM32F746ZG",
    .flash_size = 0x100000u,
    .data_len = 0x42000u, /* sectors 0..4 (4 x 32 + 128 KiB) and 8 KiB of sector 5 */
    .seed_mult = 0x9E3779B9u,
    .serial_addr = 0x1FF0F000u + 64, /* OTP block 1 */
    .serial = "F7-SERIAL-0042",
    .lock_base = 0x1FF0F400u,
    .lock_index = 1,
};

/* F767ZI in dual bank mode: nWRP6 covers sectors 12 and 13 (bank 2). */
static void test_dual_bank_protection(void)
{
    char chip[300];
    oflash_target *t = NULL;
    oflash_image *img;
    oflash_flash_stats st;
    uint8_t b[256], back[256];

    ps_path(chip, sizeof chip, &S, "db.sim");
    CHECK_OK(oflash_sim_create(chip, "STM32F767ZI-DB", NULL));
    CHECK_OK(ps_open(&t, &S, chip, "STM32F767ZI-DB"));
    if (!t) return;
    CHECK_OK(ps_f2x_clear_optcr(oflash_target_probe(t), 1u << (16 + 6)));
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
    ps_pattern(b, sizeof b, S.seed_mult * 6u);
    oflash_image_new(&img);
    oflash_image_add(img, 0x08104000u, b, sizeof b, "bank2"); /* sector 13 */
    CHECK_ERR(ps_program_as(&st, &S, chip, "STM32F767ZI-DB", img, false), OFLASH_EPROTECTED,
              "sector 13 (0x08104000-0x08107FFF) is write-protected");
    CHECK(strstr(oflash_error_last(), "nWRP6") != NULL);
    oflash_image_free(img);
    /* Sector 14 (nWRP7) is not protected. */
    oflash_image_new(&img);
    oflash_image_add(img, 0x08108000u, b, sizeof b, "bank2");
    CHECK_OK(ps_program_as(&st, &S, chip, "STM32F767ZI-DB", img, false));
    oflash_image_free(img);
    CHECK_OK(ps_open(&t, &S, chip, "STM32F767ZI-DB"));
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
    snprintf(chip, sizeof chip, "%s/full-%s.sim", S.dir, dev);
    CHECK_OK(oflash_sim_create(chip, dev, NULL));
    for (unsigned v = 1; v <= 2; v++) {
        oflash_image *img;
        ps_pattern(buf, size, S.seed_mult * (101u + v));
        oflash_image_new(&img);
        oflash_image_add(img, PS_FLASH0, buf, size, "full");
        memset(&st, 0, sizeof st);
        CHECK_OK(ps_program_as(&st, &S, chip, dev, img, false));
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
    if (ps_begin(&S, "oflash-f7") < 0) return 1;
    /* Sector 2 of an F746xG is 32 KiB at 0x08010000; sector 3 is free. */
    ps_f2x_write_protection(&S, "sector 2 (0x08010000-0x08017FFF) is write-protected", 0x08018000u);
    test_dual_bank_protection();
    /* 6 sectors erased: 4 x 32 KiB, 128 KiB, 256 KiB. */
    ps_power_loss(&S, 3, 6, 1000);
    /* F746xG: 4 x 32 KiB (250 ms), 128 KiB (550 ms), 3 x 256 KiB (1000 ms);
     * F767xI: the same and 7 x 256 KiB. */
    test_full_chip_time("STM32F746ZG", 0x100000, 4 * 0.25 + 0.55 + 3 * 1.0);
    test_full_chip_time("STM32F767ZI", 0x200000, 4 * 0.25 + 0.55 + 7 * 1.0);
    ps_end(&S);
    return test_summary();
}
