/* device_internal.h - the device database's insides, shared by the files of src/device/. */
#ifndef OFLASH_DEVICE_INTERNAL_H
#define OFLASH_DEVICE_INTERNAL_H

#include "oflash/device.h"

struct oflash_devdb {
    const oflash_device **devs; /* priority order, see device.c */
    size_t count, cap;
    bool no_user_paths;
    void *files;                            /* owned by the device-file reader */
    void (*free_files)(struct oflash_devdb *db); /* frees what files owns */
};

bool oflash__device_matches(const oflash_device *d, const char *name);
int oflash__devdb_push_front(oflash_devdb *db, const oflash_device *dev);

#endif
