/*
 * flm.h - the shared part of oflash's own flash loaders (target code): what
 * every family's loader gets from src/targets/common/loader/ and what it
 * must provide.
 *
 * A family opts in by putting flm_family.h into its loader folder
 * (src/targets/<fam>/loader/).  loaders/CMakeLists.txt then compiles the
 * family's *.c together with this folder's *.c, with the family's loader
 * folder first on the include path: every file here is compiled once per
 * family, with the family's registers, so the shared code costs nothing at
 * run time against a copy (same instructions in the hot loops).
 *
 * From the family, flm_family.h defines (names only; values from the
 * family's <fam>_regs.h):
 *   struct flm_state       its RW state in PrgData; `feed` (1: feed the
 *                          independent watchdog while waiting) is required
 *   FLM_FLASH_KEYR, FLM_FLASH_SR, FLM_FLASH_CR     register addresses
 *   FLM_FLASH_KEY1, FLM_FLASH_KEY2                 the unlock sequence
 *   FLM_SR_BSY, FLM_SR_EOP, FLM_SR_ERRORS          FLASH_SR bits
 *   FLM_CR_LOCK                                    FLASH_CR.LOCK
 *   FLM_IWDG_KR, FLM_IWDG_KEY_RELOAD               watchdog reload
 *   FLM_FSIZE_ADDR         u16 flash size in KiB
 *   FLM_RCC_AHB1ENR, FLM_RCC_AHB1ENR_CRCEN, FLM_CRC_BASE   the CRC unit
 *   FLM_CRC_HAS_INIT       defined: the unit has INIT/POL (+0x10/+0x14),
 *                          written for each CRC; else the unit resets to
 *                          0xFFFFFFFF and a chained CRC is reached by
 *                          feeding a preimage word first
 *   FLM_ETIMEOUT, FLM_ELOCKED   the family's result codes for "BSY never
 *                          cleared" and "FLASH_CR stayed locked"
 *   FLM_AFTER_ERASE()      optional: run after EraseSector/SEGGER_OPEN_Erase
 *                          (e.g. a data cache reset)
 *   FLM_STM32F2X           defined: the family's flash interface is the
 *                          F2/F4/F7 one (sectors by SNB, PSIZE, OPTCR):
 *                          Init, UnInit, EraseChip, the sector erase and
 *                          the programming come from stm32f2x.c (see there
 *                          for the extra names it needs)
 * and the family's code defines (extern, non-static):
 *   flm_erase_sector, flm_sector_size, flm_program (below), unless
 *   FLM_STM32F2X provides the first and the last, and Init, UnInit,
 *   EraseChip and the FlashDevice description (FLM_FLASH_DEVICE below).
 *
 * flm.c then provides EraseSector, SEGGER_OPEN_Erase, ProgramPage,
 * SEGGER_OPEN_Program, Verify, BlankCheck, SEGGER_OPEN_Read and
 * SEGGER_OPEN_CalcCRC, plus flm_wait_done() and flm_start() for the
 * family's own code.
 *
 * Position independence (docs/loaders.md): the only RW data is the family's
 * struct flm_state at offset 0 of PrgData, reached through R9 (st()); no
 * global variable the compiler knows about, no const tables in RAM, so the
 * object carries only PC-relative branches and calls.
 */
#ifndef OFLASH_COMMON_LOADER_FLM_H
#define OFLASH_COMMON_LOADER_FLM_H

#include <stdint.h>

#include "flm_family.h" /* the family's, from its loader folder */

#define NOINLINE __attribute__((noinline))
/* Shared between the files of one loader only: not exported from the FLM
 * (the linker makes hidden symbols local, and --discard-all drops them). */
#define FLM_INTERNAL __attribute__((visibility("hidden")))
#define REG32(a) (*(volatile uint32_t *)(a))

/* ---- the FlashDevice description (DevDscr, CMSIS FLM) ---- */
struct FlashSectors {
    uint32_t szSector;
    uint32_t AddrSector;
};

/* FLM_FLASH_DEVICE(n): declares struct FlashDevice with n sector runs (the
 * last one {0xFFFFFFFF, 0xFFFFFFFF}); the family then defines
 *   __attribute__((section("DevDscr"), used)) const struct FlashDevice
 *       FlashDevice = {FLM_DEVICE_FIELDS(...), .sectors = {...}};       */
#define FLM_FLASH_DEVICE(n)                                                                        \
    struct FlashDevice {                                                                           \
        uint16_t Vers;                                                                             \
        char DevName[128];                                                                         \
        uint16_t DevType;                                                                          \
        uint32_t DevAdr;                                                                           \
        uint32_t szDev;                                                                            \
        uint32_t szPage;                                                                           \
        uint32_t Res;                                                                              \
        uint8_t valEmpty;                                                                          \
        uint8_t pad[3];                                                                            \
        uint32_t toProg;                                                                           \
        uint32_t toErase;                                                                          \
        struct FlashSectors sectors[n];                                                            \
    }

/* The fields every oflash loader sets the same way: version 1.01, on-chip
 * flash, erased value 0xFF; name, base and size of the largest part,
 * page size (bytes per ProgramPage), timeouts in ms. */
#define FLM_DEVICE_FIELDS(name, base, size, page, prog_ms, erase_ms)                               \
    .Vers = 0x0101, .DevName = name, .DevType = 1 /* on-chip flash */, .DevAdr = (base),           \
    .szDev = (size), .szPage = (page), .Res = 0, .valEmpty = 0xFF, .toProg = (prog_ms),            \
    .toErase = (erase_ms)

/* ---- state and small helpers ---- */

/* The family's state: R9 is PrgData (every FLM host sets it), and the
 * family's struct flm_state is at its offset 0 (section .data.static_base). */
static inline struct flm_state *st(void)
{
    struct flm_state *s;
    __asm__("mov %0, r9" : "=r"(s));
    return s;
}

static inline uint32_t rbit(uint32_t x)
{
    uint32_t r;
    __asm__("rbit %0, %1" : "=r"(r) : "r"(x));
    return r;
}

/* Main flash size in bytes, from the flash size register. */
static inline uint32_t flash_size(void)
{
    return (uint32_t)(*(volatile const uint16_t *)FLM_FSIZE_ADDR) << 10;
}

/* BSY poll bound: 2^28 polls of ~6 cycles, about 100 s at 16 MHz, above
 * every family's longest datasheet maximum (F2/F4/F7 mass erase at x8:
 * 32 s; L4 mass erase: 25 ms); the host's own timeout from toErase
 * normally fires first. */
#define FLM_BSY_POLL_LIMIT 0x10000000u

/* ---- from flm.c, for the family's code ---- */

/* Reload the independent watchdog when st()->feed says it runs. */
FLM_INTERNAL void iwdg_feed(void);

/* Wait for FLASH_SR.BSY to clear, feeding the watchdog; returns and clears
 * the SR error bits (0 = OK), or FLM_ETIMEOUT. */
FLM_INTERNAL uint32_t flm_wait_done(void);

/* The start of every Init: feed the watchdog (st()->feed set before), wait
 * for an operation the application left running, clear stale EOP and
 * error flags, unlock FLASH_CR.  0, FLM_ETIMEOUT or FLM_ELOCKED. */
FLM_INTERNAL uint32_t flm_start(void);

/* ---- from the family (or stm32f2x.c), for flm.c ---- */

/* Erase the sector (page) holding adr: 0, SR error bits or a family code
 * (outside main flash: the family's "no erase" or "address" code). */
FLM_INTERNAL uint32_t flm_erase_sector(uint32_t adr);
/* Size of the sector holding adr (SEGGER_OPEN_Erase steps by it). */
FLM_INTERNAL uint32_t flm_sector_size(uint32_t adr);
/* Program sz bytes at adr from buf (ProgramPage, SEGGER_OPEN_Program). */
FLM_INTERNAL uint32_t flm_program(uint32_t adr, uint32_t sz, const uint8_t *buf);

/* ---- the CMSIS FLM and SEGGER open flash loader entry points (Init is
 * the family's: Init(adr, clk, fnc) or with R3 as a fourth argument) ---- */
int UnInit(uint32_t fnc);
int EraseChip(void);
int EraseSector(uint32_t adr);
int ProgramPage(uint32_t adr, uint32_t sz, uint8_t *buf);
uint32_t Verify(uint32_t adr, uint32_t sz, uint8_t *buf);
int BlankCheck(uint32_t adr, uint32_t sz, uint8_t pat);
int SEGGER_OPEN_Erase(uint32_t adr, uint32_t index, uint32_t n);
int SEGGER_OPEN_Program(uint32_t adr, uint32_t sz, uint8_t *buf);
int SEGGER_OPEN_Read(uint32_t adr, uint32_t sz, uint8_t *buf);
uint32_t SEGGER_OPEN_CalcCRC(uint32_t crc, uint32_t adr, uint32_t n, uint32_t poly);

#endif
