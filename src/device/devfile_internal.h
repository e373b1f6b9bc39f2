/*
 * devfile_internal.h - what the device-file readers (devfile.c,
 * devfile_jlink.c, devfile_pack.c) share: an arena that owns every byte of
 * the devices a file describes, bounded XML reading with libxml2, number
 * parsing, and the step that turns an FLM into a bank's sector list.
 *
 * Ownership: a df_ctx builds the devices of ONE file into its own arena.
 * Only when the whole file parsed does df_commit() hand the arena to the
 * database (db->files) and push the devices; on any error df_ctx_free()
 * drops everything, so a bad file never leaves half a device behind.
 */
#ifndef OFLASH_DEVFILE_INTERNAL_H
#define OFLASH_DEVFILE_INTERNAL_H

#include "device_internal.h"
#include "oflash/device.h"
#include "oflash/loader.h"

#include <libxml/tree.h>
#include <zip.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on untrusted input (a real STM32F4 DFP .pdsc is ~2 MB with ~200
 * devices; JLinkDevices.xml of a full J-Link install ~10 MB). */
#define DF_MAX_XML_BYTES (32u << 20)  /* one XML / .pdsc file */
#define DF_MAX_FLM_BYTES (4u << 20)   /* one FLM (real ones: 5..100 KB) */
#define DF_MAX_DEVICES 20000u         /* devices per file */
#define DF_MAX_BANKS 64u              /* banks per device */
#define DF_MAX_ALIASES 256u           /* aliases per device */
#define DF_MAX_PACK_MEMS 64u          /* <memory> / <algorithm> per device after inheritance */
#define DF_MAX_SECTORS 65536u         /* sectors per bank (oflash_sector.number is u16) */
#define DF_MAX_ZIP_ENTRIES 200000u    /* entries in a .pack */
#define DF_MAX_ZIP_TOTAL (256u << 20) /* bytes decompressed from one .pack */

typedef struct df_block {
    struct df_block *next;
    size_t size;
    max_align_t data[];
} df_block;

typedef struct df_arena {
    df_block *head;
} df_arena;

/* The cached FLMs of one file: each loader file is parsed once per file. */
typedef struct df_flm_cache {
    char *key;         /* path or pack entry name */
    oflash_flm *flm;   /* NULL when it failed to parse */
    const void *image; /* pack loaders: bytes kept in the arena, else NULL */
    size_t image_size;
    struct df_flm_cache *next;
} df_flm_cache;

typedef struct df_ctx {
    oflash_devdb *db;
    const char *path;    /* the file, for messages */
    const char *source;  /* device->source: the file (for packs the .pack) */
    const char *cur_dev; /* device being read, named in messages (or NULL) */
    const char *dir;     /* its directory, for relative loader paths */
    df_arena arena;
    oflash_device **devs; /* built devices, file order */
    size_t ndev, capdev;
    df_flm_cache *flms;
    bool check_loaders; /* parse FLMs and check them (false only in fuzzers) */
    /* Vendor packs are read as shipped: a bank or device that does not
     * check out is clipped or skipped with a warning (df_warn) instead of
     * refusing the file.  Counted for oflash_devfile_report. */
    bool lenient;
    int warn_level; /* OFLASH_LOG_WARN, or OFLASH_LOG_DEBUG for files of the device store
                     * (warned about once, when they were imported) */
    size_t warnings, banks_clipped, banks_skipped, devices_skipped, builtin_parts;
} df_ctx;

void df_ctx_init(df_ctx *c, oflash_devdb *db, const char *path);
void df_ctx_free(df_ctx *c);
/* Hand the arena to db and push the devices (first device of the file wins
 * over later ones with the same name). */
int df_commit(df_ctx *c);

void *df_alloc(df_ctx *c, size_t n); /* zeroed; NULL only on out-of-memory */
char *df_strdup(df_ctx *c, const char *s);
char *df_strndup(df_ctx *c, const char *s, size_t n);
int df_add_device(df_ctx *c, oflash_device *d);
/* A device with that name or alias built earlier from this file, else in db. */
const oflash_device *df_find(df_ctx *c, const char *name);

/* Prefix the current error with "path:line: device 'X': "; returns its code. */
int df_err_prefix(df_ctx *c, long line);
/* Whether path is a .pack (zip); the file must be a regular file (opened
 * without blocking, see common/file.h). */
int df_file_is_pack(const char *path, bool *is_pack);

/* A warning "path:line: device 'X': message" (counted in c->warnings). */
void df_warn(df_ctx *c, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "path:line: message" with code; returns code. */
int df_err(df_ctx *c, long line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parse XML from memory: no network, no DTD (a DOCTYPE is refused), no
 * entity expansion, size bounded.  *out freed with xmlFreeDoc. */
int df_xml_parse(df_ctx *c, const void *buf, size_t len, xmlDoc **out);
/* An attribute (case-insensitive name) copied into the arena, or NULL. */
const char *df_attr(df_ctx *c, xmlNode *n, const char *name);
/* A numeric attribute: decimal or 0x hex; missing -> 1 (and *val untouched),
 * bad -> error naming file:line, attribute and value. */
int df_attr_u32(df_ctx *c, xmlNode *n, const char *name, uint32_t *val, bool required);
bool df_name_is(const xmlNode *n, const char *name);
bool df_parse_u32(const char *s, uint32_t *out);
/* Text content of the first child element called name, or NULL. */
const char *df_child_text(df_ctx *c, xmlNode *n, const char *name);

/* Fill bank's sectors, page size and erased value from an FLM (parsed from
 * loader_path, or from image/image_size when image is non-NULL), and check
 * the loader against the device's work RAM: see oflash_device_check_loader.
 * have_size false: the bank takes the FLM's size.  key names the loader in
 * messages and caches it per file. */
int df_bank_from_flm(df_ctx *c, long line, oflash_bank *b, const char *key, const void *image,
                     size_t image_size, bool have_size, uint32_t ram_start, uint32_t ram_size);

/* Readers: 0 or a negative code with the message set. */
int oflash__devfile_jlink(df_ctx *c, xmlDoc *doc);
/* A .pdsc; zip NULL: loaders are files relative to c->dir, else entries of
 * zip under prefix (the .pdsc's folder inside the pack, "" or "dir/"). */
int oflash__devfile_pdsc(df_ctx *c, xmlDoc *doc, zip_t *zip, const char *prefix);
/* A .pack from memory or an open zip. */
int oflash__devfile_pack(df_ctx *c, const void *buf, size_t len);
int oflash__devfile_pack_zip(df_ctx *c, zip_t *z);
/* Any device file from memory (type from its contents).  path names it and
 * locates relative loader paths. */
int oflash__devfile_load_mem(oflash_devdb *db, const char *path, const void *buf, size_t len,
                             bool check_loaders);

#endif
