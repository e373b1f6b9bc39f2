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

/* The CRC unit's CRC-32 (poly 0x04C11DB7, not reflected, MSB first) of
 * words little-endian 32-bit words at p, continuing from crc (start with
 * 0xFFFFFFFF); and of words words of value in every byte. */
uint32_t oflash__crc_unit(uint32_t crc, const uint8_t *p, size_t words);
uint32_t oflash__crc_unit_fill(uint8_t value, size_t words);

/* A range for oflash__target_scan: addr word aligned, words > 0; crc out. */
typedef struct oflash__scan_range {
    uint32_t addr, words, crc;
} oflash__scan_range;

/* The chip's oflash__crc_unit() CRC of every range, computed on the core
 * by a small routine in work RAM with the family's CRC unit, in one run
 * (src/flash/scan.c).  Releases the current loader first.
 * OFLASH_EUNSUPPORTED when the family has no CRC unit, work RAM is too
 * small, or the unit fails its self-test; the caller then asks the loader. */
int oflash__target_scan(oflash_target *t, oflash__scan_range *r, size_t n);

/* What a scan found a sector to hold. */
enum { OFLASH__SCAN_UNKNOWN = 0, OFLASH__SCAN_BLANK, OFLASH__SCAN_EQUAL };
typedef struct oflash__scan_sector {
    uint32_t addr, size;   /* word aligned */
    const uint8_t *expect; /* size bytes: the contents it should hold */
    uint8_t erased;        /* its erased value */
    int state;             /* out: EQUAL (holds expect), BLANK, or UNKNOWN (neither) */
} oflash__scan_sector;

/* Scan the n sectors through view in one run on the core (oflash__target_scan)
 * and set each state.  OFLASH_EUNSUPPORTED when view is not a connected
 * target's (oflash_target_view_init) or the target cannot scan; the states
 * are then left alone. */
int oflash__view_scan(const oflash_target_view *view, oflash__scan_sector *s, size_t n);

#endif
