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

#include "oflash/common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "oflash/probe.h"

OFLASH_BEGIN_DECLS

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
/* The FLM embedded in liboflash under name: a family's own loader
 * (oflash_family_ops.loader, e.g. "stm32f4"). */
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
    uint32_t init_arg;     /* non-zero: Init's fourth argument (R3), which a family's
                            * own loader may take (oflash_family_ops.loader_init_arg) */
    unsigned timeout_scale;/* multiply FLM timeouts by this, 0 = 2 (margin) */
} oflash_loader_opts;
#define OFLASH_LOADER_OPTS_VERSION 1
#define OFLASH_LOADER_OPTS_INIT                                                                    \
    {                                                                                              \
        .version = OFLASH_LOADER_OPTS_VERSION                                                      \
    }

/* Download the FLM to the target and prepare to call it. */
int oflash_loader_open(oflash_loader **out, oflash_probe *probe, const oflash_flm *flm,
                       const oflash_loader_opts *opts);
void oflash_loader_close(oflash_loader *l);

/* Call an FLM function by name with up to 4 arguments; result in *r0. */
int oflash_loader_call(uint32_t *r0, oflash_loader *l, const char *func, const uint32_t *args,
                       size_t nargs, unsigned timeout_ms);

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
int oflash_loader_crc32(uint32_t *crc, oflash_loader *l, uint32_t addr, uint32_t len);
int oflash_loader_blank_check(bool *blank, oflash_loader *l, uint32_t addr, uint32_t len);

/* ---- additions (loader engineer) ---- */

/* Name the FLM was parsed under (file path or "builtin:stm32f4"). */
const char *oflash_flm_name(const oflash_flm *flm);

/* Offset of a function symbol from the start of PrgCode (Thumb bit
 * cleared); OFLASH_ENOTFOUND if the FLM has no such function. */
int oflash_flm_function_offset(uint32_t *offset, const oflash_flm *flm, const char *func);

/* Sizes of what is loaded into target RAM.  The image is PrgCode, the gap
 * up to PrgData, PrgData and its zero-initialised part, in link layout;
 * static_base is where R9 points, as an offset from the image start. */
typedef struct oflash_flm_sizes {
    uint32_t code_size;      /* PrgCode */
    uint32_t data_size;      /* PrgData with file contents */
    uint32_t bss_size;       /* PrgData without file contents (NOBITS) */
    uint32_t image_size;     /* bytes written to RAM from the image start */
    uint32_t static_base;    /* R9 - image start */
    uint32_t align;          /* alignment the image needs in RAM */
} oflash_flm_sizes;
void oflash_flm_get_sizes(oflash_flm_sizes *sizes, const oflash_flm *flm);

/* Where oflash_loader_open() puts everything in work RAM (all absolute):
 *   ram_start: trampoline (BKPT; LR of every call)
 *   image      PrgCode | PrgData | BSS  (static_base = R9)
 *   stack      [stack_bottom, stack_top), 16-byte canary at stack_bottom
 *   buffer     [buffer, buffer + buffer_size): page buffers, a whole number
 *              of pages, up to the guard (or the end of work RAM)
 *   guard      the fault guard for GDB servers without halting debug
 *              (oflash_run_opts.guard_ram): OFLASH_RUN_GUARD_SIZE bytes,
 *              512-byte aligned, at the end of work RAM when it fits after
 *              one page buffer; 0 = none                                */
typedef struct oflash_loader_layout {
    uint32_t trampoline;
    uint32_t image;
    uint32_t image_size;
    uint32_t static_base;
    uint32_t stack_bottom;
    uint32_t stack_top;      /* initial SP */
    uint32_t buffer;
    uint32_t buffer_size;
    uint32_t page_size;      /* FlashDevice szPage */
    uint32_t page_buffers;   /* buffer_size / page_size */
    uint32_t guard;          /* fault guard, 0 = no room for it */
} oflash_loader_layout;

/* Compute the layout for work RAM in opts without touching a target;
 * OFLASH_ERANGE (with what is missing) if the loader and one page buffer
 * do not fit. */
int oflash_flm_layout(oflash_loader_layout *layout, const oflash_flm *flm,
                      const oflash_loader_opts *opts);
const oflash_loader_layout *oflash_loader_get_layout(const oflash_loader *l);

/* Progress of long operations (optional: NULL, the default, means no
 * reports): called with ctx first after each loader call of a long
 * operation, with op "erase", "program", "crc" or "blank" (a string
 * constant), the address of that call and the bytes done so far of
 * total.  It must not use the loader. */
typedef void (*oflash_loader_progress_fn)(void *ctx, const char *op, uint32_t addr,
                                          uint64_t done, uint64_t total);
void oflash_loader_set_progress(oflash_loader *l, oflash_loader_progress_fn fn, void *ctx);

/* Read target memory, through SEGGER_OPEN_Read when the FLM has it (for
 * memory the debugger cannot read directly), else with the probe. */
int oflash_loader_read(void *buf, oflash_loader *l, uint32_t addr, size_t len);

/* Statistics of this loader's calls (for benchmarks). */
typedef struct oflash_loader_stats {
    uint64_t calls;          /* FLM function calls */
    uint64_t program_calls;  /* ProgramPage / SEGGER_OPEN_Program calls */
    uint64_t erase_calls;
    uint64_t bytes_programmed;
} oflash_loader_stats;
void oflash_loader_get_stats(oflash_loader_stats *stats, const oflash_loader *l);

OFLASH_END_DECLS
#endif
