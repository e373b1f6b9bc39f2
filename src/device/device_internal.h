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
    oflash_devdb_path *paths;               /* where it looked, priority order */
    size_t npaths;
    char **path_strs;                       /* owned strings of paths[] */
    size_t nstrs;
};

bool oflash__device_matches(const oflash_device *d, const char *name);
int oflash__devdb_push_front(oflash_devdb *db, const oflash_device *dev);
/* Read a device file (JLink XML, .pdsc, .pack: src/device/devfile.c) and
 * push its devices in front. */
int oflash__devfile_load(oflash_devdb *db, const char *path);
/* Record a searched path in front of the others; returns its index or <0. */
int oflash__devdb_note_path(oflash_devdb *db, const char *path, const char *origin, bool exists,
                            size_t devices);

#endif
