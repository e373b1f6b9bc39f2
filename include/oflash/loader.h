/*
 * oflash/loader.h - CMSIS FLM flash loaders: parse, place in target RAM,
 * call.
 *
 * An FLM is an ARM ELF with sections PrgCode (position independent code,
 * starting at 0), PrgData (RW data and BSS, addressed through R9) and
 * DevDscr (the FlashDevice struct).  Functions are found by symbol: Init,
 * UnInit, EraseSector, ProgramPage, and optionally EraseChip, BlankCheck,
 * Verify and SEGGER's SEGGER_OPEN_Program / _Erase / _Read / _CalcCRC.
 */
#ifndef OFLASH_LOADER_H
#define OFLASH_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "oflash/probe.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OFLASH_FLM_MAX_SECTOR_RUNS 512

/* The FlashDevice struct of an FLM, decoded. */
typedef struct oflash_flash_device {
    uint16_t vers;
    char name[129];
    uint16_t type;
    uint32_t addr;          /* DevAdr */
    uint32_t size;          /* szDev */
    uint32_t page_size;     /* szPage */
    uint8_t erased_value;   /* valEmpty */
    uint32_t prog_timeout_ms;
    uint32_t erase_timeout_ms;
    struct {
        uint32_t size;      /* sector size */
        uint32_t offset;    /* first sector of this size, from addr */
    } runs[OFLASH_FLM_MAX_SECTOR_RUNS];
    size_t run_count;
} oflash_flash_device;

/* Functions an FLM may have (bit set in oflash_flm_functions()). */
enum {
    OFLASH_FLM_INIT = 1u << 0,
    OFLASH_FLM_UNINIT = 1u << 1,
    OFLASH_FLM_ERASE_SECTOR = 1u << 2,
    OFLASH_FLM_PROGRAM_PAGE = 1u << 3,
    OFLASH_FLM_ERASE_CHIP = 1u << 4,
    OFLASH_FLM_BLANK_CHECK = 1u << 5,
    OFLASH_FLM_VERIFY = 1u << 6,
    OFLASH_FLM_SEGGER_PROGRAM = 1u << 7,
    OFLASH_FLM_SEGGER_ERASE = 1u << 8,
    OFLASH_FLM_SEGGER_READ = 1u << 9,
    OFLASH_FLM_SEGGER_CRC = 1u << 10
};

typedef struct oflash_flm oflash_flm;

/* Parse an FLM from memory (copied) or a file.  name is used in messages. */
int oflash_flm_parse(oflash_flm **out, const void *elf, size_t len, const char *name);
int oflash_flm_load_file(oflash_flm **out, const char *path);
/* The FLM embedded in liboflash under name ("stm32f4"). */
int oflash_flm_builtin(oflash_flm **out, const char *name);
void oflash_flm_free(oflash_flm *flm);

const oflash_flash_device *oflash_flm_device(const oflash_flm *flm);
unsigned oflash_flm_functions(const oflash_flm *flm);
/* RAM it needs without page buffers: code + data + BSS + trampoline + stack. */
uint32_t oflash_flm_ram_needed(const oflash_flm *flm);

/* FLM Init/UnInit function codes. */
#define OFLASH_FNC_ERASE 1
#define OFLASH_FNC_PROGRAM 2
#define OFLASH_FNC_VERIFY 3

typedef struct oflash_loader oflash_loader;

typedef struct oflash_loader_opts {
    unsigned version;      /* OFLASH_LOADER_OPTS_VERSION */
    uint32_t ram_start;    /* work RAM the loader may use */
    uint32_t ram_size;
    uint32_t stack_size;   /* 0 = default (1 KiB, at least 512) */
    uint32_t clock_hz;     /* passed to Init, 0 = 16000000 */
    uint32_t init_arg;     /* extra argument some loaders take (our stm32f4: PSIZE) */
    unsigned timeout_scale;/* multiply FLM timeouts by this, 0 = 2 (margin) */
} oflash_loader_opts;
#define OFLASH_LOADER_OPTS_VERSION 1

/* Download the FLM to the target and prepare to call it. */
int oflash_loader_open(oflash_loader **out, oflash_probe *probe, const oflash_flm *flm,
                       const oflash_loader_opts *opts);
void oflash_loader_close(oflash_loader *l);

/* Call an FLM function by name with up to 4 arguments; result in *r0. */
int oflash_loader_call(oflash_loader *l, const char *func, const uint32_t *args, size_t nargs,
                       unsigned timeout_ms, uint32_t *r0);

int oflash_loader_init(oflash_loader *l, uint32_t fnc);
int oflash_loader_uninit(oflash_loader *l, uint32_t fnc);
int oflash_loader_erase_sector(oflash_loader *l, uint32_t addr);
/* Erase n consecutive sectors starting at addr (SEGGER_OPEN_Erase if present). */
int oflash_loader_erase_sectors(oflash_loader *l, uint32_t addr, uint32_t sector_index,
                                uint32_t n);
int oflash_loader_erase_chip(oflash_loader *l);
/* Program len bytes at addr (page multiple not required; the last page is
 * padded with the erased value).  Uses SEGGER_OPEN_Program for many pages
 * per call when present. */
int oflash_loader_program(oflash_loader *l, uint32_t addr, const void *data, size_t len);
/* CRC-32 (oflash_crc32 compatible) over target memory, computed on the target. */
int oflash_loader_crc32(oflash_loader *l, uint32_t addr, uint32_t len, uint32_t *crc);
int oflash_loader_blank_check(oflash_loader *l, uint32_t addr, uint32_t len, bool *blank);

#ifdef __cplusplus
}
#endif
#endif
