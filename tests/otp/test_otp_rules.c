/*
 * test_otp_rules.c - the planner applies the family's OTP rules by address,
 * whatever banks a device declares over the OTP area (pure: no chip, the
 * chip is a snapshot image seen through a counting view).
 *
 * The device is the built-in STM32F401xE with its "otp" and "otp-lock"
 * banks replaced by ONE plain flash bank of 0x210 bytes with one sector
 * (the layout vendor OTP loaders ship), as a device file would declare it.
 */
#include "harness.h"
#include "oflash/flash.h"
#include "oflash/sys/family.h"

#include <stdlib.h>

#define OTP0 0x1FFF7800u
#define LOCK0 0x1FFF7A00u

typedef struct counting {
    oflash_target_view inner;
    unsigned calls;
} counting;

static int c_crc(void *ctx, uint32_t *crc, uint32_t a, uint32_t n)
{
    counting *c = ctx;
    c->calls++;
    return c->inner.crc32(c->inner.ctx, crc, a, n);
}

static int c_read(void *ctx, void *buf, uint32_t a, uint32_t n)
{
    counting *c = ctx;
    c->calls++;
    return c->inner.read(c->inner.ctx, buf, a, n);
}

static const oflash_sector vendor_sector = {OTP0, 0x210, 0};
static oflash_bank banks[2];
static oflash_device dev;

/* The F401xE with one 0x210-byte flash bank over OTP data + lock bytes;
 * page: the loader's page size. */
static const oflash_device *vendor_device(uint32_t page, bool with_family)
{
    const oflash_device *base = oflash_builtin_device_find("STM32F401RE");
    dev = *base;
    banks[0] = *oflash_device_bank(base, "flash");
    banks[1] = (oflash_bank){.name = "otp",
                             .kind = OFLASH_BANK_FLASH,
                             .base = OTP0,
                             .size = 0x210,
                             .page_size = page,
                             .erased_value = 0xFF,
                             .sectors = &vendor_sector,
                             .sector_count = 1,
                             .loader_path = "vendor_otp.flm"};
    dev.banks = banks;
    dev.bank_count = 2;
    dev.name = "F401-VENDOR-OTP";
    if (!with_family) dev.family_ops = NULL;
    return &dev;
}

static oflash_image *img_of(uint32_t addr, const void *data, size_t n, uint32_t addr2,
                            const void *data2, size_t n2)
{
    oflash_image *img = NULL;
    if (oflash_image_new(&img) < 0) return NULL;
    if (n) oflash_image_add(img, addr, data, n, "image");
    if (n2) oflash_image_add(img, addr2, data2, n2, "image");
    return img;
}

/* Plan img against chip (NULL: blank chip) with --otp. */
static int plan(oflash_plan **p, const oflash_image *img, const oflash_image *chip,
                const oflash_device *d, unsigned *calls)
{
    oflash_image *blank = NULL;
    counting c;
    oflash_target_view v = {c_crc, c_read, &c};
    oflash_plan_opts o = OFLASH_PLAN_OPTS_INIT;
    int rc;
    o.allow_otp = true;
    if (!chip) {
        oflash_image_new(&blank);
        chip = blank;
    }
    oflash_target_view_from_image(&c.inner, chip);
    c.calls = 0;
    rc = oflash_plan_create(p, img, d, &v, &o);
    if (calls) *calls = c.calls;
    oflash_image_free(blank);
    return rc;
}

static void test_rules_by_address(void)
{
    oflash_otp_rules r;
    CHECK_OK(oflash_device_otp_rules(&r, vendor_device(0x210, true)));
    CHECK(r.kind == OFLASH_OTP_BLOCK_LOCK);
    CHECK_EQ_U(r.data_base, OTP0);
    CHECK_EQ_U(r.block_size, 32);
    CHECK_EQ_U(r.lock_base, LOCK0);
    CHECK_EQ_U(r.lock_count, 16);
    /* A part of no family: only OTP banks declare OTP, and this has none. */
    CHECK_OK(oflash_device_otp_rules(&r, vendor_device(0x210, false)));
    CHECK(r.kind == OFLASH_OTP_NONE);
}

static void test_bad_lock_byte(void)
{
    static const uint8_t serial[12] = "SERIAL-00042", bad = 0x5A;
    oflash_image *img = img_of(OTP0, serial, 12, LOCK0, &bad, 1);
    oflash_plan *p = NULL;
    unsigned calls = 99;
    CHECK_ERR(plan(&p, img, NULL, vendor_device(0x210, true), &calls), OFLASH_EINVAL,
              "lock byte 0x1FFF7A00 (OTP block 0) is 0x5A");
    CHECK(p == NULL);
    CHECK_EQ_U(calls, 0); /* refused before the chip was asked anything */
    oflash_image_free(img);
}

static void test_otp_planned_not_flash(void)
{
    static const uint8_t serial[12] = "SERIAL-00042", zero = 0;
    oflash_image *img = img_of(OTP0, serial, 12, LOCK0, &zero, 1);
    oflash_plan *p = NULL;
    CHECK_OK(plan(&p, img, NULL, vendor_device(0x210, true), NULL));
    if (p) {
        CHECK_EQ_U(p->sector_count, 0); /* the 0x210 sector is never erased or planned as flash */
        CHECK_EQ_U(p->otp_write_count, 12);
        CHECK_EQ_U(p->lock_count, 1);
        CHECK(p->lock_count == 1 && p->locks[0].addr == LOCK0 && p->locks[0].block == 0);
        CHECK(p->otp_bank == &banks[1] && p->lock_bank == &banks[1]);
    }
    oflash_plan_free(p);
    /* The same bank without a family is plain flash: one sector planned. */
    CHECK_OK(plan(&p, img, NULL, vendor_device(0x210, false), NULL));
    if (p) {
        CHECK_EQ_U(p->sector_count, 1);
        CHECK_EQ_U(p->otp_write_count, 0);
    }
    oflash_plan_free(p);
    oflash_image_free(img);
}

static void test_locked_block_conflict(void)
{
    static const uint8_t zero = 0, one = 0x31, serial[12] = "SERIAL-00042";
    /* Chip: block 0 holds the serial and is locked; the image adds a byte
     * at offset 16, still 0xFF on the chip. */
    oflash_image *chip = img_of(OTP0, serial, 12, LOCK0, &zero, 1);
    oflash_image *img = img_of(OTP0 + 16, &one, 1, 0, NULL, 0);
    oflash_plan *p = NULL;
    CHECK_ERR(plan(&p, img, chip, vendor_device(0x210, true), NULL), OFLASH_ECONFLICT,
              "block locked");
    CHECK(p && p->conflict_count == 1 && p->conflicts[0].kind == OFLASH_CONFLICT_OTP_LOCKED &&
          p->conflicts[0].addr == OTP0 + 16);
    oflash_plan_free(p);
    oflash_image_free(img);
    oflash_image_free(chip);
}

static void test_loader_page_smaller_than_unit(void)
{
    static const uint8_t serial[12] = "SERIAL-00042";
    oflash_image *img = img_of(OTP0, serial, 12, 0, NULL, 0);
    oflash_plan *p = NULL;
    CHECK_ERR(plan(&p, img, NULL, vendor_device(2, true), NULL), OFLASH_EUNSUPPORTED,
              "programs 2-byte pages, but OTP data is written in 4-byte units");
    CHECK(p == NULL);
    oflash_image_free(img);
}

static void test_bytes_beside_otp_refused(void)
{
    /* A flash bank whose sector meets the OTP area and runs past it: an
     * image byte there has no rule (neither flash nor OTP). */
    static const oflash_sector wide = {OTP0, 0x400, 0};
    static const uint8_t b = 0x11;
    const oflash_device *d = vendor_device(0x400, true);
    banks[1].size = 0x400;
    banks[1].sectors = &wide;
    oflash_image *img = img_of(0x1FFF7A20, &b, 1, 0, NULL, 0);
    oflash_plan *p = NULL;
    CHECK_ERR(plan(&p, img, NULL, d, NULL), OFLASH_ERANGE, "in a sector shared with the OTP area");
    oflash_image_free(img);
}

int main(void)
{
    test_rules_by_address();
    test_bad_lock_byte();
    test_otp_planned_not_flash();
    test_locked_block_conflict();
    test_loader_page_smaller_than_unit();
    test_bytes_beside_otp_refused();
    return test_summary();
}
