/* flash_internal.h - the insides of a connected target, shared by the files of src/flash/. */
#ifndef OFLASH_FLASH_INTERNAL_H
#define OFLASH_FLASH_INTERNAL_H

#include "oflash/flash.h"
#include "oflash/loader.h"
#include "oflash/sys/family.h"

/*
 * Invariants: probe and device are valid from open to close; at most one
 * loader is downloaded at a time (loader, for the FLM flm, opened for
 * loader_bank).  Init/UnInit are the loader runtime's business.
 */
struct oflash_target {
    oflash_probe *probe;
    bool borrowed_probe; /* oflash_target_open_probe: the caller closes the probe */
    oflash_devdb *db;    /* NULL for oflash_target_open_probe */
    const oflash_device *device;
    oflash_loader_opts lopts;      /* init_arg: set per loader (family_init_arg) */
    oflash_family_session session; /* what a family's own loader may be told */

    oflash_flm *flm;
    oflash_loader *loader;
    const oflash_bank *loader_bank; /* the bank the loader was opened for */
};

/* Make the loader of bank current (fnc, OFLASH_FNC_*, says what for).
 * bank NULL: the loader of the device's first flash bank. */
int oflash__target_loader(oflash_target *t, const oflash_bank *bank, uint32_t fnc,
                          oflash_loader **out);
/* Parse the FLM that serves bank (its file, embedded image or the family's
 * built-in loader) into a new *flm. */
int oflash__bank_flm(const oflash_bank *b, oflash_flm **flm);
/* UnInit and release the current loader, if any. */
void oflash__target_loader_release(oflash_target *t);

/* Read len bytes at addr and return the first address where they differ
 * from want (0 and *found false when equal). */
int oflash__target_find_diff(oflash_target *t, uint32_t addr, const uint8_t *want, uint32_t len,
                             uint32_t *diff, bool *found, uint8_t *chip_val);

#endif
