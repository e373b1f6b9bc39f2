/*
 * flash_f4.c - oflash's own flash loader for STM32F2/F4 (target code), a
 * standard CMSIS FLM with SEGGER's open flash loader extensions.
 *
 * Follows RM0368 rev 5 (STM32F401xB/C/D/E) §3 "Embedded Flash memory
 * interface", RM0090 rev 19 (STM32F405/407/427/429) §3 and §4 (CRC unit),
 * RM0033 rev 9 (STM32F2): the flash interface registers at 0x40023C00, the
 * OTP area (16 blocks x 32 bytes at 0x1FFF7800) and its lock bytes
 * (0x1FFF7A00..0x1FFF7A0F).
 *
 * One loader serves three address ranges; the address decides:
 *  - main flash 0x08000000 + flash size (read from 0x1FFF7A22): sector and
 *    chip erase, programming at the selected parallelism (PSIZE);
 *  - OTP data 0x1FFF7800..0x1FFF79FF: programming at the selected PSIZE,
 *    never erased;
 *  - OTP lock bytes 0x1FFF7A00..0x1FFF7A0F: ALWAYS programmed one byte at a
 *    time (x8), whatever PSIZE says; bytes equal to 0xFF are skipped, so a
 *    lock byte is only ever written with the value the host gave (RM0090
 *    §3.8: lock bytes hold 0x00 or 0xFF only).
 *
 * PSIZE (program/erase parallelism) is x32 unless the host passes
 * F4_INIT_MAGIC | psize in R3 to Init (psize 0 = x8, 1 = x16, 2 = x32,
 * 3 = x64 with external Vpp).  Other hosts leave R3 undefined; anything
 * without the magic in bits 31..8 keeps x32.  Init also raises the core
 * clock from the reset HSI to 84 MHz with the PLL (UnInit restores it)
 * unless R3 holds the magic with F4_INIT_KEEP_CLOCK (0x4).
 *
 * Return codes (0 = OK): the FLASH_SR error bits that were set (OPERR 0x2,
 * WRPERR 0x10, PGAERR 0x20, PGPERR 0x40, PGSERR 0x80, RDERR 0x100), or one
 * of the F4_E* codes of ../stm32f4_regs.h (0x1000 and up).  Verify returns adr+sz on
 * success, the first differing address otherwise.
 *
 * Built position independent: code reaches its RW data only R9-relative
 * (GOTOFF, no GOT entries), has no absolute relocations and no startup
 * code; see loaders/CMakeLists.txt for the check.
 *
 * This file holds what only the F2/F4 has: its sector layout and its
 * FlashDevice.  Init, UnInit, the erase and the programming of the F2/F4/F7
 * flash interface are in src/targets/common/loader/stm32f2x.c, the other
 * entry points and the CRC in flm.c there (flm_family.h names the
 * registers).
 */
#include "../../common/loader/flm.h"

__attribute__((section(".data.static_base"), used)) struct flm_state of4_state = {2, 1, 0, 0, 0, 0};

/* ---- the FlashDevice description (DevDscr) ---- */
FLM_FLASH_DEVICE(7);

/* Main flash of the largest part (2 MB, dual bank); smaller parts use a
 * prefix (the loader checks addresses against the flash size register).
 * toProg: one 1 KiB page at x8 is 1024 x 100 us worst case; toErase: one
 * 128 KiB sector at x8 is 4 s worst case (datasheets, "Flash memory
 * programming" tables). */
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    FLM_DEVICE_FIELDS("STM32F2/F4 main flash, OTP and OTP lock (oflash)", F4_FLASH_BASE, 0x200000,
                      1024, 200, 4000),
    .sectors =
        {
            {0x4000, 0x000000},
            {0x10000, 0x010000},
            {0x20000, 0x020000},
            {0x4000, 0x100000},
            {0x10000, 0x110000},
            {0x20000, 0x120000},
            {0xFFFFFFFFu, 0xFFFFFFFFu},
        },
};

/* ---- sector layout: 4 x 16 KB, 64 KB, 128 KB... per bank ---- */

/* Sector number as CR.SNB encodes it for the sector holding adr, or -1. */
FLM_INTERNAL int flm_snb(uint32_t adr)
{
    uint32_t size = flash_size();
    if (adr < F4_FLASH_BASE || adr - F4_FLASH_BASE >= size) return -1;
    uint32_t off = adr - F4_FLASH_BASE;
    int snb = 0;
    if (FLM_DUAL_BANK() && off >= F4_BANK2_OFFSET) {
        snb = 16; /* SNB bit 4: bank 2 (2 MB parts) */
        off -= F4_BANK2_OFFSET;
    }
    if (off < 0x10000u) return snb + (int)(off >> 14);
    if (off < 0x20000u) return snb + 4;
    return snb + 4 + (int)(off >> 17);
}

FLM_INTERNAL uint32_t flm_sector_size(uint32_t adr)
{
    uint32_t off = adr - F4_FLASH_BASE;
    if (FLM_DUAL_BANK()) off &= F4_BANK2_OFFSET - 1u;
    return off < 0x10000u ? 0x4000u : off < 0x20000u ? 0x10000u : 0x20000u;
}
