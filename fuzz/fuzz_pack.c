/*
 * fuzz_pack.c - libFuzzer target for CMSIS-Pack archives (.pack, zip): the
 * input is opened with libzip from memory, its one .pdsc found, bounded,
 * decompressed and parsed, and its FLM entries read, through the same code
 * as `--devices FILE`.  Loader files are not opened (check_loaders off):
 * the FLM parser has its own target (fuzz_flm).
 */
#include "device/devfile_internal.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static oflash_devdb *db;
    oflash_devdb_opts o = {.version = OFLASH_DEVDB_OPTS_VERSION, .no_user_paths = true};
    if (size < 4 || data[0] != 'P' || data[1] != 'K' || data[2] != 3 || data[3] != 4)
        return 0; /* XML is fuzz_devxml's */
    if (oflash_devdb_open(&db, &o) < 0) return 0;
    oflash__devfile_load_mem(db, "fuzz.pack", data, size, false);
    /* Walk what was accepted, so bad pointers show up under ASan. */
    for (size_t i = 0; i < oflash_devdb_count(db); i++) {
        const oflash_device *d = oflash_devdb_get(db, i);
        char map[256];
        oflash_device_describe_map(d, map, sizeof map);
        for (const char *const *a = d->aliases; a && *a; a++)
            (void)oflash_device_bank_at(d, (uint32_t)(*a)[0]);
    }
    oflash_devdb_free(db);
    db = NULL;
    return 0;
}
