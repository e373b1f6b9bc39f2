/*
 * test_verify.c - oflash_flash_verify() on the simulated STM32F401RE, by
 * every path: the CRC-unit scan (default), the flash loader's CRC only, the
 * fallback on a chip without a CRC unit (sim session guard: the built-in
 * loader's CRC uses that unit too, so it must be found wrong and read back),
 * and read-back.
 *  - an image with holes, unaligned and tiny segments, one crossing a
 *    sector boundary, and OTP bytes: equal by every path although the chip
 *    holds other bytes in the holes (bytes outside the image are never
 *    compared) and the ranges are cut per sector;
 *  - one bit changed at the first, middle and last byte of every range:
 *    OFLASH_EVERIFY naming that address, its sector and range, exactly one
 *    range differing; the same result (code, address, values, message) by
 *    every path;
 *  - a blank chip: every main-flash range differs and is reported erased,
 *    the first difference is the first non-0xFF image byte, same by every
 *    path;
 *  - the method each path used, and that the fallback took the read-back
 *    when the loader's CRC was wrong (its warning).
 */
#include "harness.h"
#include "oflash/flash.h"
#include "oflash/sim.h"

#include <stdlib.h>
#include <unistd.h>

#define DEV "STM32F401RE"
#define FLASH0 0x08000000u
#define CHIP_LEN 0x40000u /* sectors 0..5 */
#define OTP0 0x1FFF7800u

static char chip[300];

/* The image's segments (addresses inside the chip's pattern), and the
 * sector of each range they are cut into. */
static const struct {
    uint32_t addr, len;
} segs[] = {
    {0x08000000u, 0x4000u}, /* sector 0, whole */
    {0x08004101u, 0x1F3u},  /* sector 1, odd start and length */
    {0x08005000u, 0x3000u}, /* sector 1 after a hole, up to its end */
    {0x0800BFF0u, 0x2010u}, /* sectors 2 and 3 */
    {0x08010002u, 3u},      /* sector 4: no whole word */
    {0x08020000u, 0x8000u}, /* sector 5, first 32 KiB */
};
static const struct {
    uint32_t start, end;
    int sector;
} ranges[] = {
    {0x08000000u, 0x08003FFFu, 0}, {0x08004101u, 0x080042F3u, 1}, {0x08005000u, 0x08007FFFu, 1},
    {0x0800BFF0u, 0x0800BFFFu, 2}, {0x0800C000u, 0x0800DFFFu, 3}, {0x08010002u, 0x08010004u, 4},
    {0x08020000u, 0x08027FFFu, 5},
};
#define NRANGES (sizeof ranges / sizeof ranges[0])
#define OTP_LEN 12u

enum { P_SCAN, P_LOADER, P_NO_UNIT, P_READBACK, NPATHS };
static const char *const path_name[NPATHS] = {"crc unit", "loader", "no crc unit", "read-back"};

static int warnings;
static void on_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level == OFLASH_LOG_WARN && strstr(msg, "does not compute zlib's CRC-32")) warnings++;
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = 0x9E3779B9u * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
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

static int program(const uint8_t *data)
{
    oflash_target *t = NULL;
    oflash_target_view view;
    oflash_plan *plan = NULL;
    oflash_image *img = NULL;
    int rc = oflash_image_new(&img);
    if (rc == 0) rc = oflash_image_add(img, FLASH0, data, CHIP_LEN, "chip");
    if (rc == 0) rc = open_target(&t);
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

/* The image of the segments over chip contents data (+ 12 erased OTP bytes,
 * or otp if not NULL). */
static oflash_image *image_of(const uint8_t *data, const uint8_t *otp)
{
    oflash_image *img = NULL;
    uint8_t ff[OTP_LEN];
    memset(ff, 0xFF, sizeof ff);
    if (oflash_image_new(&img) < 0) return NULL;
    for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++)
        oflash_image_add(img, segs[i].addr, data + (segs[i].addr - FLASH0), segs[i].len, "seg");
    oflash_image_add(img, OTP0, otp ? otp : ff, OTP_LEN, "otp");
    return img;
}

typedef struct outcome {
    int rc;
    oflash_verify_result res;
    char msg[2048];
    int warnings;
} outcome;

static void verify_by(outcome *o, int path, const oflash_image *img)
{
    static const oflash_verify_mode mode[NPATHS] = {OFLASH_VERIFY_CRC, OFLASH_VERIFY_LOADER_CRC,
                                                    OFLASH_VERIFY_CRC, OFLASH_VERIFY_READBACK};
    oflash_target *t = NULL;
    memset(o, 0, sizeof *o);
    warnings = 0;
    o->rc = open_target(&t);
    if (o->rc == 0 && path == P_NO_UNIT)
        o->rc = oflash_sim_probe_guard(oflash_target_probe(t), OFLASH_SIM_GUARD_NO_CRC_UNIT);
    if (o->rc == 0) o->rc = oflash_flash_verify(&o->res, t, img, mode[path], NULL, NULL);
    snprintf(o->msg, sizeof o->msg, "%s", o->rc ? oflash_error_last() : "");
    o->warnings = warnings;
    oflash_target_close(t);
}

static const oflash_verify_method expect_method[NPATHS] = {
    OFLASH_VERIFY_BY_CRC_UNIT, OFLASH_VERIFY_BY_LOADER, OFLASH_VERIFY_BY_LOADER,
    OFLASH_VERIFY_BY_READBACK};

/* Every path gives the same answer as the scan (o[P_SCAN]). */
static void same_by_every_path(outcome o[NPATHS], const char *what)
{
    for (int p = 0; p < NPATHS; p++) {
        CHECK_EQ_U(o[p].res.method, expect_method[p]);
        if (p == P_SCAN) continue;
        if (o[p].rc != o[0].rc || strcmp(o[p].msg, o[0].msg) != 0 ||
            o[p].res.diff_count != o[0].res.diff_count ||
            o[p].res.first_diff != o[0].res.first_diff ||
            o[p].res.chip_value != o[0].res.chip_value) {
            CHECK(!"same result by every path");
            fprintf(stderr, "  %s: %s gave %d '%s', crc unit gave %d '%s'\n", what, path_name[p],
                    o[p].rc, o[p].msg, o[0].rc, o[0].msg);
        }
    }
    /* The fallback found the built-in loader's CRC wrong without the unit. */
    CHECK(o[P_NO_UNIT].warnings == 1);
    CHECK(o[P_SCAN].warnings == 0 && o[P_LOADER].warnings == 0);
}

static void test_equal_with_holes(const uint8_t *data)
{
    oflash_image *img = image_of(data, NULL);
    outcome o[NPATHS];
    for (int p = 0; p < NPATHS; p++) {
        verify_by(&o[p], p, img);
        CHECK_OK(o[p].rc);
        if (o[p].rc) fprintf(stderr, "  %s: %s\n", path_name[p], o[p].msg);
        CHECK_EQ_U(o[p].res.ranges, NRANGES + 1); /* + the OTP block */
        CHECK_EQ_U(o[p].res.diff_count, 0);
    }
    same_by_every_path(o, "equal image with holes");
    oflash_image_free(img);
}

/* One bit changed at addr: found at addr, in range k, by every path. */
static void one_bit(const uint8_t *data, uint32_t addr, size_t k)
{
    uint8_t *d = malloc(CHIP_LEN);
    oflash_image *img;
    outcome o[NPATHS];
    char want[96];
    if (!d) return;
    memcpy(d, data, CHIP_LEN);
    d[addr - FLASH0] ^= (uint8_t)(1u << (addr & 7u));
    img = image_of(d, NULL);
    snprintf(want, sizeof want, "verify failed at 0x%08X (sector %d, 0x%08X-0x%08X): chip 0x%02X",
             addr, ranges[k].sector, ranges[k].start, ranges[k].end, data[addr - FLASH0]);
    for (int p = 0; p < NPATHS; p++)
        verify_by(&o[p], p, img);
    CHECK_ERR(o[P_SCAN].rc, OFLASH_EVERIFY, want);
    if (o[P_SCAN].rc != OFLASH_EVERIFY || !strstr(o[P_SCAN].msg, want))
        fprintf(stderr, "  bit at 0x%08X: '%s'\n", addr, o[P_SCAN].msg);
    CHECK_EQ_U(o[P_SCAN].res.first_diff, addr);
    CHECK_EQ_U(o[P_SCAN].res.chip_value, data[addr - FLASH0]);
    CHECK_EQ_U(o[P_SCAN].res.image_value, d[addr - FLASH0]);
    CHECK_EQ_U(o[P_SCAN].res.diff_count, 1);
    CHECK(o[P_SCAN].res.diffs[0].sector == ranges[k].sector);
    CHECK_EQ_U(o[P_SCAN].res.diffs[0].start, ranges[k].start);
    CHECK_EQ_U(o[P_SCAN].res.diffs[0].end, ranges[k].end);
    CHECK(!o[P_SCAN].res.diffs[0].erased);
    same_by_every_path(o, want);
    oflash_image_free(img);
    free(d);
}

static void test_otp_differs(const uint8_t *data)
{
    uint8_t otp[OTP_LEN];
    oflash_image *img;
    outcome o[NPATHS];
    memset(otp, 0xFF, sizeof otp);
    otp[5] = 0x41;
    img = image_of(data, otp);
    for (int p = 0; p < NPATHS; p++)
        verify_by(&o[p], p, img);
    CHECK_ERR(o[P_SCAN].rc, OFLASH_EVERIFY,
              "verify failed at 0x1FFF7805 (OTP block 0, 0x1FFF7800-0x1FFF780B, erased on the "
              "chip): chip 0xFF, expected 0x41");
    CHECK_EQ_U(o[P_SCAN].res.diff_count, 1);
    CHECK(o[P_SCAN].res.diffs[0].erased);
    same_by_every_path(o, "OTP byte");
    oflash_image_free(img);
}

static void test_blank(const uint8_t *data)
{
    oflash_image *img = image_of(data, NULL);
    outcome o[NPATHS];
    char want[128];
    uint32_t first = FLASH0;
    while (data[first - FLASH0] == 0xFF)
        first++;
    for (int p = 0; p < NPATHS; p++)
        verify_by(&o[p], p, img);
    snprintf(want, sizeof want,
             "verify failed at 0x%08X (sector 0, 0x08000000-0x08003FFF, erased on the chip): "
             "chip 0xFF",
             first);
    CHECK_ERR(o[P_SCAN].rc, OFLASH_EVERIFY, want);
    CHECK(strstr(o[P_SCAN].msg, "6 more ranges differ: sector 1, 0x08004101-0x080042F3, erased "
                                "on the chip; sector 1, 0x08005000-0x08007FFF, erased") != NULL);
    CHECK_EQ_U(o[P_SCAN].res.diff_count, NRANGES);
    CHECK_EQ_U(o[P_SCAN].res.first_diff, first);
    for (size_t k = 0; k < NRANGES; k++) {
        CHECK(o[P_SCAN].res.diffs[k].erased);
        CHECK(o[P_SCAN].res.diffs[k].sector == ranges[k].sector);
        CHECK_EQ_U(o[P_SCAN].res.diffs[k].start, ranges[k].start);
    }
    same_by_every_path(o, "blank chip");
    oflash_image_free(img);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    uint8_t *data = malloc(CHIP_LEN);
    snprintf(dir, sizeof dir, "%s/oflash-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!data || !mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(chip, sizeof chip, "%s/chip.sim", dir);
    CHECK_OK(oflash_sim_create(chip, DEV, NULL));
    oflash_log_set_handler(on_log, NULL);
    pattern(data, CHIP_LEN, 3);

    test_blank(data);
    CHECK_OK(program(data));
    test_equal_with_holes(data);
    test_otp_differs(data);
    for (size_t k = 0; k < NRANGES; k++) {
        uint32_t mid = ranges[k].start + (ranges[k].end - ranges[k].start) / 2;
        one_bit(data, ranges[k].start, k);
        if (mid != ranges[k].start) one_bit(data, mid, k);
        one_bit(data, ranges[k].end, k);
    }
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    free(data);
    return test_summary();
}
