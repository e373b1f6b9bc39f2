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

/* One line per family. */
#define OFLASH_FAMILIES(X) X(stm32f4)

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

const oflash_family_ops *oflash_family_for_pack(const char *vendor, const char *family,
                                                const char *device, const oflash_device **part)
{
    const oflash_device *p = NULL;
    if (part) *part = NULL;
    for (size_t i = 0; i < NFAMILIES; i++)
        if (families[i]->pack_match && families[i]->pack_match(vendor, family, device, &p)) {
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
