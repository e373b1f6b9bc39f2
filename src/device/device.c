/*
 * device.c - lookups on device descriptions and the device database.
 *
 * Invariant of oflash_devdb: devs[0..count) is in priority order (first
 * match wins); entries from files come before built-ins; every pointer in it
 * stays valid until oflash_devdb_free().
 */
#include "oflash/device.h"
#include "oflash/error.h"
#include "device_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const oflash_device *oflash__stm32f4_devices(size_t *count);

/* Families, one file each. */
typedef const oflash_device *(*family_fn)(size_t *count);
static const family_fn families[] = {oflash__stm32f4_devices};

size_t oflash_builtin_device_count(void)
{
    size_t total = 0, n;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        families[f](&n);
        total += n;
    }
    return total;
}

const oflash_device *oflash_builtin_device(size_t i)
{
    size_t n;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        const oflash_device *d = families[f](&n);
        if (i < n)
            return &d[i];
        i -= n;
    }
    return NULL;
}

bool oflash__device_matches(const oflash_device *d, const char *name)
{
    if (strcasecmp(d->name, name) == 0)
        return true;
    for (const char *const *a = d->aliases; a && *a; a++)
        if (strcasecmp(*a, name) == 0)
            return true;
    return false;
}

const oflash_device *oflash_builtin_device_find(const char *name)
{
    size_t n = oflash_builtin_device_count();
    for (size_t i = 0; i < n; i++) {
        const oflash_device *d = oflash_builtin_device(i);
        if (oflash__device_matches(d, name))
            return d;
    }
    return NULL;
}

const oflash_bank *oflash_device_bank_at(const oflash_device *dev, uint32_t addr)
{
    for (size_t i = 0; i < dev->bank_count; i++) {
        const oflash_bank *b = &dev->banks[i];
        if (addr >= b->base && addr - b->base < b->size)
            return b;
    }
    return NULL;
}

const oflash_bank *oflash_device_bank(const oflash_device *dev, const char *name)
{
    for (size_t i = 0; i < dev->bank_count; i++)
        if (strcasecmp(dev->banks[i].name, name) == 0)
            return &dev->banks[i];
    return NULL;
}

int oflash_bank_sector_at(const oflash_bank *bank, uint32_t addr)
{
    for (size_t i = 0; i < bank->sector_count; i++) {
        const oflash_sector *s = &bank->sectors[i];
        if (addr >= s->addr && addr - s->addr < s->size)
            return (int)i;
    }
    return -1;
}

int oflash_device_describe_map(const oflash_device *dev, char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < dev->bank_count && off < len; i++) {
        const oflash_bank *b = &dev->banks[i];
        int n = snprintf(buf + off, len - off, "%s%s 0x%08X-0x%08X", off ? ", " : "", b->name,
                         b->base, b->base + b->size - 1);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    return 0;
}

/* ---- database ---- */

int oflash_devdb_open(oflash_devdb **out, const oflash_devdb_opts *opts)
{
    oflash_devdb *db = calloc(1, sizeof *db);
    size_t n = oflash_builtin_device_count();
    *out = NULL;
    if (!db)
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    db->no_user_paths = opts && opts->no_user_paths;
    db->cap = n + 16;
    db->devs = calloc(db->cap, sizeof *db->devs);
    if (!db->devs) {
        free(db);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        db->devs[db->count++] = oflash_builtin_device(i);
    *out = db;
    return 0;
}

void oflash_devdb_free(oflash_devdb *db)
{
    if (!db)
        return;
    if (db->free_files)
        db->free_files(db);
    free(db->devs);
    free(db);
}

int oflash__devdb_push_front(oflash_devdb *db, const oflash_device *dev)
{
    if (db->count == db->cap) {
        size_t cap = db->cap * 2;
        const oflash_device **d = realloc(db->devs, cap * sizeof *d);
        if (!d)
            return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        db->devs = d;
        db->cap = cap;
    }
    memmove(db->devs + 1, db->devs, db->count * sizeof *db->devs);
    db->devs[0] = dev;
    db->count++;
    return 0;
}

/* Device files are read by src/device/devfile*.c when linked in. */
int oflash__devfile_load(oflash_devdb *db, const char *path) __attribute__((weak));

int oflash_devdb_add_file(oflash_devdb *db, const char *path)
{
    if (!oflash__devfile_load)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "%s: device files are not supported", path);
    return oflash__devfile_load(db, path);
}

int oflash_devdb_find(oflash_devdb *db, const char *name, const oflash_device **out)
{
    for (size_t i = 0; i < db->count; i++)
        if (oflash__device_matches(db->devs[i], name)) {
            *out = db->devs[i];
            return 0;
        }
    *out = NULL;
    return oflash_error_set(OFLASH_ENOTFOUND,
                            "unknown device '%s' (oflash devices lists the known ones)", name);
}

size_t oflash_devdb_count(const oflash_devdb *db)
{
    return db->count;
}

const oflash_device *oflash_devdb_get(const oflash_devdb *db, size_t i)
{
    return i < db->count ? db->devs[i] : NULL;
}
