/*
 * oflash/image.h - sparse memory images read from Intel HEX, S-record, ELF
 * and raw binary files.
 *
 * An image is a sorted list of non-overlapping, non-adjacent segments
 * (32-bit address, bytes).  Adjacent data from the same load merges into one
 * segment; gaps stay gaps.  Nothing is ever flattened into one big binary.
 * The image owns its segments; pointers returned by oflash_image_segment()
 * stay valid until the image is modified or freed.
 */
#ifndef OFLASH_IMAGE_H
#define OFLASH_IMAGE_H

#include "oflash/common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

OFLASH_BEGIN_DECLS

typedef enum oflash_image_format {
    OFLASH_FORMAT_AUTO = 0, /* recognise from the content */
    OFLASH_FORMAT_IHEX,
    OFLASH_FORMAT_SREC,
    OFLASH_FORMAT_ELF,
    OFLASH_FORMAT_BIN
} oflash_image_format;

typedef struct oflash_segment {
    uint32_t addr;      /* first address */
    uint32_t size;      /* bytes; never 0; addr + size - 1 does not wrap */
    uint8_t *data;      /* owned by the image */
    const char *source; /* where it came from: "fw.hex:12", "fw.elf:segment 1" */
} oflash_segment;

typedef struct oflash_image oflash_image;

/* An address range where image data may go (a memory map entry). */
typedef struct oflash_image_region {
    uint32_t start;
    uint64_t size; /* bytes; start + size <= 2^32 */
} oflash_image_region;

typedef struct oflash_image_load_opts {
    unsigned version;            /* OFLASH_IMAGE_LOAD_OPTS_VERSION */
    oflash_image_format format;  /* AUTO: from the content */
    bool allow_identical_overlap;/* identical overlapping bytes are not an error */
    bool have_base;              /* for binaries: base given here, not by "@ADDR" */
    uint32_t base;
    /* version 2: */
    bool allow_missing_eof; /* Intel HEX without an end-of-file record (01) is accepted
                             * (default: refused, the file may have been cut short) */
    bool ignore_after_eof;  /* Intel HEX: read up to the end-of-file record and ignore
                             * what follows (default: anything after it is refused) */
    /* Where data may go, or NULL for the whole 32-bit address space.  A raw
     * binary is checked against these before a byte of it is read. */
    const oflash_image_region *regions;
    size_t region_count;
} oflash_image_load_opts;
#define OFLASH_IMAGE_LOAD_OPTS_VERSION 2
#define OFLASH_IMAGE_LOAD_OPTS_INIT                                                                \
    {                                                                                              \
        .version = OFLASH_IMAGE_LOAD_OPTS_VERSION                                                  \
    }

/* "Intel HEX", "S-record", "ELF", "binary" ("auto" for OFLASH_FORMAT_AUTO). */
const char *oflash_image_format_name(oflash_image_format format);
/* "ihex"/"hex", "srec"/"s19", "elf", "bin"/"binary" or "auto" -> *out. */
int oflash_image_format_parse(oflash_image_format *out, const char *name);
/* The output format a file name's extension names (.hex, .srec, .bin...);
 * OFLASH_ENOTFOUND when it names none. */
int oflash_image_format_for_path(oflash_image_format *out, const char *path);

int oflash_image_new(oflash_image **out);
void oflash_image_free(oflash_image *img);

/* Read one input and merge it into img.  spec is a path, or "PATH@ADDR" for
 * raw binaries (ADDR with 0x for hex: "fw.bin@0x08000000").  Only regular
 * files are read (a FIFO or device is refused without blocking).  On error
 * img is unchanged.  opts may be NULL (defaults); version 1 structures are
 * accepted. */
int oflash_image_load(oflash_image *img, const char *spec, const oflash_image_load_opts *opts);

/* Read from a memory buffer; name is used in messages. */
int oflash_image_load_mem(oflash_image *img, const void *buf, size_t len, const char *name,
                          const oflash_image_load_opts *opts);

/* Add bytes at addr; an overlap with existing data is an error naming both
 * sources. */
int oflash_image_add(oflash_image *img, uint32_t addr, const void *data, size_t len,
                     const char *source);

size_t oflash_image_segment_count(const oflash_image *img);
const oflash_segment *oflash_image_segment(const oflash_image *img, size_t i);

/* Total number of data bytes. */
uint64_t oflash_image_size(const oflash_image *img);

/* Copy [addr, addr+len) into buf; bytes the image does not hold are set to
 * fill.  Returns the number of bytes the image does hold in that range. */
size_t oflash_image_read(void *buf, const oflash_image *img, uint32_t addr, size_t len,
                         uint8_t fill);

/* Entry point (ELF e_entry, HEX start linear address, S7/S8/S9). */
bool oflash_image_entry(uint32_t *entry, const oflash_image *img);
void oflash_image_set_entry(oflash_image *img, uint32_t entry);

typedef struct oflash_image_write_opts {
    unsigned version;           /* OFLASH_IMAGE_WRITE_OPTS_VERSION */
    oflash_image_format format; /* AUTO: from the output file name */
    unsigned record_size;       /* ihex/srec data bytes per record; 0 = default (16 / 32) */
    int srec_type;              /* 0 = choose by highest address, else 1, 2 or 3 */
    bool fill;                  /* bin: fill gaps with fill_byte over [range_start, range_end) */
    uint8_t fill_byte;
    bool have_range;
    uint32_t range_start, range_end; /* end exclusive; end 0 means 4 GiB */
} oflash_image_write_opts;
#define OFLASH_IMAGE_WRITE_OPTS_VERSION 1
#define OFLASH_IMAGE_WRITE_OPTS_INIT                                                               \
    {                                                                                              \
        .version = OFLASH_IMAGE_WRITE_OPTS_VERSION                                                 \
    }

/* Write img to path atomically (temporary file, then rename): on error
 * nothing is left at path. */
int oflash_image_write(const oflash_image *img, const char *path,
                       const oflash_image_write_opts *opts);

/* CRC-32 (IEEE 802.3, reflected, as zlib and the STM32 loaders here use). */
uint32_t oflash_crc32(uint32_t crc, const void *data, size_t len);

OFLASH_END_DECLS
#endif
