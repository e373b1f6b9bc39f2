/*
 * oflash/device.h - device descriptions: memory map, flash banks, loaders,
 * ID registers.
 *
 * Built-in parts are data tables, one per chip family
 * (src/targets/<family>/devices.c, listed by the family registry,
 * oflash/sys/family.h).  User parts come from device files (JLink XML,
 * CMSIS-Pack) loaded into a device database.  A device and everything it
 * points to is owned by the database it came from and lives as long as it.
 */
#ifndef OFLASH_DEVICE_H
#define OFLASH_DEVICE_H

#include "oflash/common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

OFLASH_BEGIN_DECLS

typedef enum oflash_bank_kind {
    OFLASH_BANK_FLASH = 0, /* erasable main flash, sector list */
    OFLASH_BANK_OTP,       /* one-time programmable data, blocks, never erased */
    OFLASH_BANK_OTP_LOCK   /* one lock byte per OTP block: only 0x00 or 0xFF */
} oflash_bank_kind;

typedef struct oflash_sector {
    uint32_t addr; /* absolute address */
    uint32_t size;
    uint16_t number; /* the number the reference manual uses (F42x bank 2: 12..23) */
} oflash_sector;

typedef struct oflash_bank {
    const char *name;          /* "flash", "otp", "otp-lock", or a user name */
    oflash_bank_kind kind;
    uint32_t base;
    uint32_t size;
    uint32_t page_size;        /* program unit the loader takes per ProgramPage */
    uint8_t erased_value;      /* 0xFF on STM32 */
    uint8_t write_unit;        /* smallest write the flash takes, bytes (0 or 1: any;
                                * 8: 64-bit double words, the planner pads with
                                * erased_value) */
    const oflash_sector *sectors; /* FLASH: erase units; OTP: blocks; OTP_LOCK: one per byte */
    size_t sector_count;
    /* Loader: an FLM ELF, either embedded in liboflash (loader_image) or a
     * file (loader_path, absolute or relative to the device file). */
    const char *loader_name; /* a family's built-in loader ("stm32f4") */
    const void *loader_image;
    size_t loader_size;
    const char *loader_path;
} oflash_bank;

/* ---------------------------------------------------------------------- */
/* OTP rules: what the family's one-time-programmable area allows.  The    */
/* planner applies them BY ADDRESS, whatever banks a device file declares  */
/* over the area (a loader's page or sector size is only a transfer unit). */

typedef enum oflash_otp_kind {
    OFLASH_OTP_NONE = 0,
    /* Blocks of block_size bytes, one lock byte per block at lock_base +
     * block (F2/F4/F7).  A lock byte holds 0x00 (locked) or 0xFF (open) and
     * nothing else; lock bytes are written last, one byte per write; a
     * locked block never changes (differing bytes are a conflict). */
    OFLASH_OTP_BLOCK_LOCK,
    /* Units of write_unit bytes, each written once, no lock bytes (L4:
     * 64-bit double words).  A unit is written whole: an image covering
     * part of a unit is refused (OTP is never padded); a unit the chip
     * holds as all erased is programmed, one equal to the image is kept,
     * anything else is a conflict. */
    OFLASH_OTP_WRITE_ONCE
} oflash_otp_kind;

typedef struct oflash_otp_rules {
    oflash_otp_kind kind;
    uint32_t data_base;  /* first OTP data byte */
    uint32_t data_size;  /* bytes of OTP data */
    uint32_t block_size; /* BLOCK_LOCK: bytes per block (32 on F2/F4, 64 on F7);
                          * WRITE_ONCE: reporting granularity (may equal write_unit) */
    uint32_t lock_base;  /* BLOCK_LOCK: lock byte of block i at lock_base + i */
    uint32_t lock_count; /* BLOCK_LOCK: data_size / block_size */
    uint32_t write_unit; /* smallest OTP write in bytes: 1 (F4 x8), 8 (L4) */
    uint8_t erased;      /* value of a never-written OTP byte (0xFF) */
} oflash_otp_rules;

typedef enum oflash_region_kind {
    OFLASH_REGION_RAM = 0,
    OFLASH_REGION_SYSMEM,      /* system memory / boot ROM: read-only */
    OFLASH_REGION_OPTION,      /* option bytes */
    OFLASH_REGION_ID,          /* unique ID, flash size register */
    OFLASH_REGION_PERIPH
} oflash_region_kind;

typedef struct oflash_region {
    const char *name;
    oflash_region_kind kind;
    uint32_t base;
    uint32_t size;
} oflash_region;

struct oflash_family_ops;

typedef struct oflash_device {
    const char *name;          /* canonical: "STM32F401xE" */
    const char *const *aliases;/* NULL-terminated: "STM32F401RE", ... (may be NULL) */
    const char *vendor;        /* "STMicroelectronics" */
    const char *family;        /* display name: "stm32f4", a pack's Dfamily, ... */
    const char *core;          /* "Cortex-M4" */
    const char *source;        /* "built-in" or the file it came from */

    uint32_t work_ram_start;   /* RAM the loader may use */
    uint32_t work_ram_size;

    /* ID check on connect (has_id false: skipped); the registers are the
     * family's (family_ops->id) */
    bool has_id;
    uint16_t dev_id;        /* DBGMCU_IDCODE DEV_ID */
    uint16_t flash_size_kb; /* the flash size register */

    /* The chip family this part belongs to (oflash/sys/family.h): NULL for
     * parts of no family oflash knows.  family_data is the family's own
     * description of the part (its layout is the family's business). */
    const struct oflash_family_ops *family_ops;
    const void *family_data;

    const oflash_bank *banks;
    size_t bank_count;
    const oflash_region *regions; /* non-flash regions: RAM, system memory, ... */
    size_t region_count;

    const char *extends;       /* device files: the built-in it extends, else NULL */
} oflash_device;

/* Find the bank holding addr, or NULL. */
const oflash_bank *oflash_device_bank_at(const oflash_device *dev, uint32_t addr);
/* Find a bank by name ("flash", "otp", "otp-lock"), or NULL. */
const oflash_bank *oflash_device_bank(const oflash_device *dev, const char *name);
/* Index of the sector of bank holding addr, or -1. */
int oflash_bank_sector_at(const oflash_bank *bank, uint32_t addr);
/* OTP rules of any device (applied by address by the planner and
 * executor): its family's, else derived from its banks of
 * kind OTP and OTP_LOCK (BLOCK_LOCK, block size from the OTP bank's
 * sectors).  Returns 0 and fills *rules (kind NONE when the device has no
 * OTP at all). */
int oflash_device_otp_rules(oflash_otp_rules *rules, const oflash_device *dev);
/* The datasheet's typical erase time of one main-flash sector of
 * sector_size bytes, in microseconds, from the device's family; 0 when
 * unknown.  For progress display. */
uint32_t oflash_device_erase_time_us(const oflash_device *dev, uint32_t sector_size);
/* Human-readable memory map, for error messages ("flash 0x08000000-0x0807FFFF, ..."). */
int oflash_device_describe_map(char *buf, size_t len, const oflash_device *dev);

/*
 * The device database: the built-in table plus device files.
 * Search order: files added with oflash_devdb_add_file() (in order), then
 * $OFLASH_DEVICES, then $XDG_CONFIG_HOME/oflash/devices/, then built-ins.
 */
typedef struct oflash_devdb oflash_devdb;

typedef struct oflash_devdb_opts {
    unsigned version;        /* OFLASH_DEVDB_OPTS_VERSION */
    bool no_user_paths;      /* ignore $OFLASH_DEVICES and the config directory */
} oflash_devdb_opts;
#define OFLASH_DEVDB_OPTS_VERSION 1
#define OFLASH_DEVDB_OPTS_INIT                                                                     \
    {                                                                                              \
        .version = OFLASH_DEVDB_OPTS_VERSION                                                       \
    }

int oflash_devdb_open(oflash_devdb **out, const oflash_devdb_opts *opts);
void oflash_devdb_free(oflash_devdb *db);
/* Load a device file (JLink XML, .pdsc or .pack) with higher priority than
 * anything loaded before. */
int oflash_devdb_add_file(oflash_devdb *db, const char *path);
/* What reading a device file did (vendor packs are read as shipped: a bank
 * or device that does not check out is clipped or skipped, with a warning
 * logged for each, instead of refusing the whole pack). */
typedef struct oflash_devfile_report {
    unsigned version;       /* OFLASH_DEVFILE_REPORT_VERSION */
    size_t devices;         /* devices read */
    size_t devices_skipped; /* devices left out */
    size_t banks_clipped;   /* banks cut to what their loader covers */
    size_t banks_skipped;   /* banks left out (their device kept) */
    size_t warnings;        /* warnings logged (all of the above and others) */
    size_t builtin_parts;   /* devices that are also built-in parts: named "PACK::PART" */
} oflash_devfile_report;
#define OFLASH_DEVFILE_REPORT_VERSION 1
#define OFLASH_DEVFILE_REPORT_INIT                                                                 \
    {                                                                                              \
        .version = OFLASH_DEVFILE_REPORT_VERSION                                                   \
    }
/* oflash_devdb_add_file(), and fill *report (version set by the caller). */
int oflash_devdb_add_file_report(oflash_devfile_report *report, oflash_devdb *db,
                                 const char *path);
/* Find by name or alias, case-insensitively. */
int oflash_devdb_find(const oflash_device **out, oflash_devdb *db, const char *name);
size_t oflash_devdb_count(const oflash_devdb *db);
const oflash_device *oflash_devdb_get(const oflash_devdb *db, size_t i);

/* Where the database looked, highest priority first (to show the search
 * path).  origin: "file" (oflash_devdb_add_file), "$OFLASH_DEVICES",
 * "config" ($XDG_CONFIG_HOME/oflash/devices/) or "built-in" (path NULL).
 * Valid until oflash_devdb_free(). */
typedef struct oflash_devdb_path {
    const char *path;
    const char *origin;
    bool exists;
    size_t devices;          /* devices it added */
} oflash_devdb_path;
size_t oflash_devdb_path_count(const oflash_devdb *db);
const oflash_devdb_path *oflash_devdb_path_get(const oflash_devdb *db, size_t i);

/* The user's device store: $XDG_CONFIG_HOME/oflash/devices, or
 * $HOME/.config/oflash/devices.  Writes the path to buf. */
int oflash_devstore_dir(char *buf, size_t len);
/* Import a CMSIS-Pack (.pack) or device file into the store, atomically
 * (checked completely first, then written to a temporary file and renamed;
 * the store directory is created if needed).  The stored path is written
 * to dest (may be NULL). */
int oflash_devstore_import(char *dest, size_t dest_len, const char *path);
/* oflash_devstore_import(), and fill *report (version set by the caller)
 * from the check of the pack that comes before the copy. */
int oflash_devstore_import_report(oflash_devfile_report *report, char *dest, size_t dest_len,
                                  const char *path);

/*
 * Check that an FLM can serve the bank [base, base+size) of a device whose
 * loaders run in work RAM [ram_start, ram_start+ram_size): its FlashDevice
 * is sane (page size, sector runs ascending from offset 0, each run a whole
 * number of sectors) and its sectors cover the whole bank; code, data, BSS,
 * trampoline and stack plus one page buffer fit the work RAM; and the work
 * RAM does not overlap the flash the loader programs (it would overwrite
 * its own code and buffers).  ram_size 0: only the FLM and the bank are
 * checked.  name is used in messages.  Returns 0, or
 * OFLASH_EFORMAT / OFLASH_ERANGE with a message naming the loader.
 */
struct oflash_flm;
int oflash_device_check_loader(const struct oflash_flm *flm, const char *name, uint32_t base,
                               uint32_t size, uint32_t ram_start, uint32_t ram_size);

/* The built-in table alone (no database needed). */
size_t oflash_builtin_device_count(void);
const oflash_device *oflash_builtin_device(size_t i);
const oflash_device *oflash_builtin_device_find(const char *name);

OFLASH_END_DECLS
#endif
