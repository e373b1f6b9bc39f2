/*
 * targets.c - the registry of built-in chip families: one line per family
 * in OFLASH_FAMILIES below (a strong const table: a program that links
 * liboflash.a gets every family).  A family is a folder,
 * src/targets/<family>/, whose family.c defines oflash_family_<family>
 * (oflash/sys/family.h; docs/adding-a-family.md).
 *
 * Also the lookups that go through the registry: built-in devices, the
 * family of a pack device, a device's OTP rules.
 */
#include "oflash/sys/family.h"
#include "oflash/error.h"

#include <string.h>
#include <strings.h>

/* One line per family (keep the last line: it ends the list). */
/* clang-format off */
#define OFLASH_FAMILIES(X) \
    X(stm32f4)             \
    X(stm32l4)             \
    X(stm32f7)             \
    /* end of the list */
/* clang-format on */

#define DECLARE(f) extern const oflash_family_ops oflash_family_##f;
OFLASH_FAMILIES(DECLARE)
#undef DECLARE

#define ENTRY(f) &oflash_family_##f,
static const oflash_family_ops *const families[] = {OFLASH_FAMILIES(ENTRY)};
#undef ENTRY

#define NFAMILIES (sizeof families / sizeof families[0])

size_t oflash_family_count(void)
{
    return NFAMILIES;
}

const oflash_family_ops *oflash_family_get(size_t i)
{
    return i < NFAMILIES ? families[i] : NULL;
}

const oflash_family_ops *oflash_family_find(const char *name)
{
    for (size_t i = 0; name && i < NFAMILIES; i++)
        if (strcasecmp(families[i]->name, name) == 0) return families[i];
    return NULL;
}

const oflash_family_ops *oflash_family_for_pack(const oflash_device **part, const char *vendor,
                                                const char *family, const char *device)
{
    const oflash_device *p = NULL;
    if (part) *part = NULL;
    for (size_t i = 0; i < NFAMILIES; i++)
        if (families[i]->pack_match && families[i]->pack_match(&p, vendor, family, device)) {
            if (part) *part = p;
            return families[i];
        }
    return NULL;
}

/* ---- built-in devices: every family's table, in registry order ---- */

size_t oflash_builtin_device_count(void)
{
    size_t total = 0;
    for (size_t f = 0; f < NFAMILIES; f++)
        total += families[f]->device_count ? *families[f]->device_count : 0;
    return total;
}

const oflash_device *oflash_builtin_device(size_t i)
{
    for (size_t f = 0; f < NFAMILIES; f++) {
        size_t n = families[f]->device_count ? *families[f]->device_count : 0;
        if (i < n) return &families[f]->devices[i];
        i -= n;
    }
    return NULL;
}

/* ---- OTP rules of any device ---- */

int oflash_device_otp_rules(oflash_otp_rules *rules, const oflash_device *dev)
{
    const oflash_bank *otp = NULL, *lock = NULL;
    memset(rules, 0, sizeof *rules);
    if (dev->family_ops && dev->family_ops->otp_rules) {
        int rc = dev->family_ops->otp_rules(dev, rules);
        if (rc == 0 || rc != OFLASH_ENOTFOUND) return rc;
        memset(rules, 0, sizeof *rules);
        oflash_error_clear();
        return 0;
    }
    /* No family: what the device's banks declare (block + lock bytes). */
    for (size_t i = 0; i < dev->bank_count; i++) {
        if (dev->banks[i].kind == OFLASH_BANK_OTP && !otp) otp = &dev->banks[i];
        if (dev->banks[i].kind == OFLASH_BANK_OTP_LOCK && !lock) lock = &dev->banks[i];
    }
    if (!otp) return 0;
    rules->kind = OFLASH_OTP_BLOCK_LOCK;
    rules->data_base = otp->base;
    rules->data_size = otp->size;
    rules->block_size = otp->sector_count ? otp->sectors[0].size : otp->size;
    rules->lock_base = lock ? lock->base : 0;
    rules->lock_count = lock ? (uint32_t)lock->size : 0;
    rules->write_unit = 1;
    rules->erased = otp->erased_value;
    return 0;
}

uint32_t oflash_device_erase_time_us(const oflash_device *dev, uint32_t sector_size)
{
    const oflash_family_ops *f = dev ? dev->family_ops : NULL;
    return f && f->erase_time_us ? f->erase_time_us(dev, sector_size) : 0;
}
