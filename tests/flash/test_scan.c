/*
 * test_scan.c - the planner's one-call CRC scan (src/flash/scan.c) on the
 * simulated STM32F401RE:
 *  - the host's CRC-unit CRC equals a bit-by-bit reference;
 *  - the routine's CRC of every range (whole sectors, a short odd range,
 *    one range over several sectors) equals the host's over the chip's
 *    contents, for more ranges than fit in one run;
 *  - a rerun is planned from the scan alone: every sector skipped and no
 *    flash loader downloaded;
 *  - one bit changed anywhere in the image (first, last, middle of a
 *    sector; the covered part of a partly covered sector) makes exactly
 *    that sector be programmed again;
 *  - a blank chip is planned without the loader too.
 */
#include "harness.h"
#include "flash/flash_internal.h"
#include "oflash/flash.h"

#include <stdlib.h>
#include <unistd.h>

#define DEV "STM32F401RE"
#define FLASH0 0x08000000u
#define DATA_LEN 0x12000u /* sectors 0..3 (16 KiB each) and 8 KiB of sector 4 (64 KiB) */

static char chip[300];

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = 0x9E3779B9u * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* The STM32 CRC unit bit by bit: each little-endian word, MSB first. */
static uint32_t ref_crc(const uint8_t *p, size_t words)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < words; i++, p += 4) {
        crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        for (int k = 0; k < 32; k++)
            crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

static void test_host_crc(void)
{
    uint8_t buf[1024], ff[64];
    pattern(buf, sizeof buf, 7);
    memset(ff, 0xFF, sizeof ff);
    CHECK_EQ_U(oflash__crc_unit(0xFFFFFFFFu, buf, sizeof buf / 4), ref_crc(buf, sizeof buf / 4));
    CHECK_EQ_U(oflash__crc_unit(0xFFFFFFFFu, buf, 1), ref_crc(buf, 1));
    CHECK_EQ_U(oflash__crc_unit_fill(0xFF, 16), ref_crc(ff, 16));
    /* continuing = one pass */
    CHECK_EQ_U(oflash__crc_unit(oflash__crc_unit(0xFFFFFFFFu, buf, 100), buf + 400, 156),
               ref_crc(buf, 256));
}

static int open_target(oflash_target **t)
{
    char spec[320];
    oflash_target_opts o = OFLASH_TARGET_OPTS_INIT;
    snprintf(spec, sizeof spec, "sim:%s", chip);
    o.probe = spec;
    o.device = DEV;
    return oflash_target_open(t, &o);
}

static oflash_image *image_of(const uint8_t *data)
{
    oflash_image *img = NULL;
    oflash_image_new(&img);
    oflash_image_add(img, FLASH0, data, DATA_LEN, "code");
    return img;
}

/* Plan img against the chip; *loader_used: the plan downloaded a loader. */
static int plan_of(oflash_plan **plan, const uint8_t *data, bool *loader_used)
{
    oflash_target *t = NULL;
    oflash_target_view view;
    oflash_image *img = image_of(data);
    int rc = open_target(&t);
    *plan = NULL;
    if (rc == 0) {
        oflash_target_view_init(&view, t);
        rc = oflash_plan_create(plan, img, oflash_target_device(t), &view, NULL);
        *loader_used = t->loader != NULL;
    }
    oflash_target_close(t);
    oflash_image_free(img);
    return rc;
}

static int program(const uint8_t *data)
{
    oflash_target *t = NULL;
    oflash_target_view view;
    oflash_plan *plan = NULL;
    oflash_image *img = image_of(data);
    int rc = open_target(&t);
    if (rc == 0) {
        oflash_target_view_init(&view, t);
        rc = oflash_plan_create(&plan, img, oflash_target_device(t), &view, NULL);
        if (rc == 0) rc = oflash_flash_execute(NULL, t, plan, NULL);
    }
    oflash_plan_free(plan);
    oflash_target_close(t);
    oflash_image_free(img);
    return rc;
}

static void test_blank_and_rerun(uint8_t *data)
{
    oflash_plan *plan = NULL;
    bool loader = true;
    CHECK_OK(plan_of(&plan, data, &loader));
    CHECK(!loader);
    if (plan) {
        CHECK_EQ_U(plan->sector_count, 5);
        for (size_t i = 0; i < plan->sector_count; i++) {
            CHECK(plan->sectors[i].blank);
            CHECK(plan->sectors[i].action == OFLASH_SECTOR_PROGRAM);
        }
    }
    oflash_plan_free(plan);
    CHECK_OK(program(data));
    loader = true;
    CHECK_OK(plan_of(&plan, data, &loader));
    CHECK(!loader);
    CHECK(plan && oflash_plan_is_noop(plan));
    for (size_t i = 0; plan && i < plan->sector_count; i++)
        CHECK(plan->sectors[i].action == OFLASH_SECTOR_SKIP);
    oflash_plan_free(plan);
}

static void test_ranges(const uint8_t *data)
{
    oflash_target *t = NULL;
    oflash__scan_range r[80];
    uint8_t *chip_bytes = malloc(0x20000);
    size_t n = 0;
    CHECK_OK(open_target(&t));
    if (!t || !chip_bytes) goto out;
    CHECK_OK(oflash_flash_read(chip_bytes, t, FLASH0, 0x20000, NULL, NULL));
    CHECK(memcmp(chip_bytes, data, DATA_LEN) == 0);
    r[n++] = (oflash__scan_range){FLASH0, 0x4000 / 4, 0};           /* sector 0 */
    r[n++] = (oflash__scan_range){FLASH0 + 0x10000, 0x10000 / 4, 0}; /* sector 4 */
    r[n++] = (oflash__scan_range){FLASH0 + 0x104, 3, 0};            /* odd length */
    r[n++] = (oflash__scan_range){FLASH0 + 0x3FF0, 0x20 / 4, 0};    /* across 0|1 */
    /* more than one run holds (64 per run) */
    while (n < sizeof r / sizeof r[0]) {
        r[n] = (oflash__scan_range){FLASH0 + 0x40u * (uint32_t)n, (uint32_t)n % 13u + 1u, 0};
        n++;
    }
    CHECK_OK(oflash__target_scan(t, r, n));
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_U(r[i].crc, ref_crc(chip_bytes + (r[i].addr - FLASH0), r[i].words));
    /* misaligned ranges are refused before anything runs */
    r[0].addr = FLASH0 + 2;
    CHECK_ERR(oflash__target_scan(t, r, 1), OFLASH_EINVAL, "not aligned");
out:
    oflash_target_close(t);
    free(chip_bytes);
}

/* One word changed at off (image offset): only its sector is written. */
static void one_word(const uint8_t *data, uint32_t off, unsigned sector)
{
    uint8_t *d = malloc(DATA_LEN);
    oflash_plan *plan = NULL;
    bool loader = false;
    memcpy(d, data, DATA_LEN);
    d[off] ^= 0x01;
    CHECK_OK(plan_of(&plan, d, &loader));
    for (size_t i = 0; plan && i < plan->sector_count; i++) {
        bool mine = plan->sectors[i].sector->number == sector;
        if ((plan->sectors[i].action != OFLASH_SECTOR_SKIP) != mine)
            fprintf(stderr, "word at +0x%X: sector %u action %d\n", off,
                    plan->sectors[i].sector->number, (int)plan->sectors[i].action);
        CHECK((plan->sectors[i].action != OFLASH_SECTOR_SKIP) == mine);
    }
    oflash_plan_free(plan);
    free(d);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    uint8_t *data = malloc(DATA_LEN);
    snprintf(dir, sizeof dir, "%s/oflash-scan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!data || !mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(chip, sizeof chip, "%s/chip.sim", dir);
    pattern(data, DATA_LEN, 1);
    test_host_crc();
    test_blank_and_rerun(data);
    test_ranges(data);
    one_word(data, 0, 0);
    one_word(data, 0x3FFF, 0);
    one_word(data, 0x8000 + 0x1234, 2);
    one_word(data, 0xFFFC, 3);
    one_word(data, DATA_LEN - 1, 4); /* the covered part of the partly covered sector */
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    free(data);
    return test_summary();
}
