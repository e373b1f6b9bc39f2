/* loader_internal.h - the parsed FLM, shared by flm.c and runtime.c. */
#ifndef OFLASH_LOADER_INTERNAL_H
#define OFLASH_LOADER_INTERNAL_H

#include "oflash/loader.h"
#include "oflash/sys/family.h"

#define OFLASH__FLM_MAX_SYMS 256
#define OFLASH__FLM_SYM_LEN 64

/* Invariants after a successful parse:
 *  - image holds image_size bytes: PrgCode at 0, PrgData at data_off,
 *    BSS zeroed; code_size <= data_off <= image_size <= OFLASH__FLM_MAX_IMAGE;
 *  - every syms[i].offset < code_size (Thumb bit cleared);
 *  - dev.run_count >= 1, runs strictly increasing in offset, each < size;
 *  - fn[k] is valid exactly when bit k of funcs is set. */
#define OFLASH__FLM_MAX_IMAGE (1u << 20)
#define OFLASH__FLM_NFUNCS 11

struct oflash_flm {
    char *name;
    oflash_flash_device dev;
    uint8_t *image;
    uint32_t image_size;
    uint32_t code_size;
    uint32_t data_size;
    uint32_t bss_size;
    uint32_t data_off; /* static base - image start */
    uint32_t align;
    unsigned funcs;
    uint32_t fn[OFLASH__FLM_NFUNCS];
    struct {
        char name[OFLASH__FLM_SYM_LEN];
        uint32_t offset;
    } syms[OFLASH__FLM_MAX_SYMS];
    size_t nsyms;
    const oflash_family_ops *family; /* the family whose built-in loader this is
                                      * (its results are decoded), else NULL */
};

/* Names of the functions behind OFLASH_FLM_* bit k. */
extern const char *const oflash__flm_func_names[OFLASH__FLM_NFUNCS];

/* Check once that l's SEGGER_OPEN_CalcCRC computes zlib's CRC-32, also for
 * a family's own loader (trusted otherwise): the built-in loaders feed the
 * chip's CRC unit, so on a part whose unit is missing or set otherwise
 * (QEMU; a CRC-unit scan that failed its self-test) their CRC is wrong.
 * When it is, oflash_loader_crc32() reads back instead.  0 or an error of
 * the call. */
int oflash__loader_crc_check(oflash_loader *l);

#endif
