/*
 * fuzz_devdb.h - the body shared by the device-file fuzz targets: load one
 * input into a fresh database the way `--devices FILE` does (loader files
 * not opened), then walk every device accepted so bad pointers show up
 * under ASan.
 */
#ifndef OFLASH_FUZZ_DEVDB_H
#define OFLASH_FUZZ_DEVDB_H

#include "device/devfile_internal.h"

#include <stddef.h>
#include <stdint.h>

static inline void fuzz_devdb_load(const char *name, const uint8_t *data, size_t size)
{
    oflash_devdb *db;
    oflash_devdb_opts o = OFLASH_DEVDB_OPTS_INIT;
    o.no_user_paths = true;
    if (oflash_devdb_open(&db, &o) < 0) return;
    oflash__devfile_load_mem(db, name, data, size, false);
    for (size_t i = 0; i < oflash_devdb_count(db); i++) {
        const oflash_device *d = oflash_devdb_get(db, i);
        char map[256];
        oflash_device_describe_map(map, sizeof map, d);
        for (const char *const *a = d->aliases; a && *a; a++)
            (void)oflash_device_bank_at(d, (uint32_t)(*a)[0]);
    }
    oflash_devdb_free(db);
}

#endif
