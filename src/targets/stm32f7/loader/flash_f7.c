/*
 * flash_f7.c - oflash's own flash loader for STM32F74x/F75x and
 * STM32F76x/F77x (target code), a standard CMSIS FLM with SEGGER's open
 * flash loader extensions.  Registers, addresses and the protocol with the
 * host are in ../stm32f7_regs.h (RM0385 rev 8 §3, RM0410 rev 4 §3).
 *
 * One loader serves three address ranges; the address decides:
 *  - main flash 0x08000000 + flash size (read from 0x1FF0F442): sector and
 *    chip erase, programming at the selected parallelism (PSIZE);
 *  - OTP data 0x1FF0F000..0x1FF0F3FF (16 blocks of 64 bytes): programming
 *    at the selected PSIZE, never erased;
 *  - OTP lock bytes 0x1FF0F400..0x1FF0F40F: ALWAYS programmed one byte at
 *    a time (x8), whatever PSIZE says; bytes equal to 0xFF are skipped, so
 *    a lock byte is only ever written with the value the host gave.
 *
 * The sector layout is found at run time: DBGMCU_IDCODE DEV_ID 0x451 is an
 * F76x/F77x, whose FLASH_OPTCR.nDBANK = 0 selects the dual bank layout
 * (two banks of 16/64/128 KB sectors, bank 2 at half the flash size, SNB
 * 16.. for bank 2, MER + MER2 for a chip erase); otherwise (F74x/F75x, or
 * F76x with nDBANK = 1) the single bank layout of 32/128/256 KB sectors.
 *
 * PSIZE is x32 unless the host passes F7_INIT_ARG(psize) in R3 to Init;
 * without the magic (other hosts leave R3 undefined) x32 is kept.  Init
 * raises the core clock from the reset HSI to 84 MHz with the PLL (UnInit
 * restores it) unless R3 holds the magic with F7_INIT_KEEP_CLOCK.
 *
 * Return codes (0 = OK): the FLASH_SR error bits that were set (OPERR 0x2,
 * WRPERR 0x10, PGAERR 0x20, PGPERR 0x40, ERSERR 0x80), or one of the F7_E*
 * codes (0x1000 and up).  Verify returns adr+sz on success, the first
 * differing address otherwise.
 *
 * The loader assumes the data cache is off (SCB_CCR.DC = 0, the state
 * after reset, which is how every host leaves a core it halts for
 * flashing): reads of flash for Verify/CRC/BlankCheck go to the array.
 *
 * Built position independent like the stm32f4 loader (docs/loaders.md):
 * RW data only R9-relative, no absolute relocations, no startup code.
 *
 * This file holds what only the F7 has: its sector layouts and its
 * FlashDevice.  Init, UnInit, the erase and the programming of the F2/F4/F7
 * flash interface are in src/targets/common/loader/stm32f2x.c, the other
 * entry points and the CRC in flm.c there: the F7's CRC unit resets to the
 * F4's configuration (RM0385 §6), so the F4's method applies unchanged.
 */
#include "../../common/loader/flm.h"

__attribute__((section(".data.static_base"), used)) struct flm_state of7_state = {2, 1, 0, 0,
                                                                                  0, 0, 0, 0};

/* ---- the FlashDevice description (DevDscr) ---- */
FLM_FLASH_DEVICE(4);

/* Main flash of the largest part in single bank mode (2 MB; the factory
 * setting); smaller parts use a prefix.  Dual bank mode is found at run
 * time (above); hosts that plan erases from this table should use the
 * device's own sector list for such a chip.  toProg: one 1 KiB page at x8
 * is 1024 x 100 us worst case; toErase: one 256 KiB sector at x8 is 4 s
 * worst case (datasheets, "Flash memory programming" tables). */
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    FLM_DEVICE_FIELDS("STM32F7 main flash, OTP and OTP lock (oflash)", F7_MAIN_BASE, 0x200000, 1024,
                      200, 4000),
    .sectors =
        {
            {0x8000, 0x000000},
            {0x20000, 0x020000},
            {0x40000, 0x040000},
            {0xFFFFFFFFu, 0xFFFFFFFFu},
        },
};

/* ---- sector layouts ---- */

/* Offset of bank 2 in dual bank mode (half the flash), 0 otherwise. */
static uint32_t bank2_offset(void)
{
    return st()->dual ? flash_size() >> 1 : 0;
}

/* Sector number as CR.SNB encodes it for the sector holding adr, or -1. */
FLM_INTERNAL int flm_snb(uint32_t adr)
{
    uint32_t size = flash_size();
    if (adr < F7_MAIN_BASE || adr - F7_MAIN_BASE >= size) return -1;
    uint32_t off = adr - F7_MAIN_BASE;
    if (!st()->dual) { /* 4 x 32 KB, 128 KB, 256 KB... */
        if (off < 0x20000u) return (int)(off >> 15);
        if (off < 0x40000u) return 4;
        return 4 + (int)(off >> 18);
    }
    int snb = 0; /* 4 x 16 KB, 64 KB, 128 KB... per bank */
    uint32_t b2 = bank2_offset();
    if (off >= b2) {
        snb = (int)F7_SNB_BANK2;
        off -= b2;
    }
    if (off < 0x10000u) return snb + (int)(off >> 14);
    if (off < 0x20000u) return snb + 4;
    return snb + 4 + (int)(off >> 17);
}

FLM_INTERNAL uint32_t flm_sector_size(uint32_t adr)
{
    uint32_t off = adr - F7_MAIN_BASE;
    if (!st()->dual) return off < 0x20000u ? 0x8000u : off < 0x40000u ? 0x20000u : 0x40000u;
    uint32_t b2 = bank2_offset();
    if (off >= b2) off -= b2;
    return off < 0x10000u ? 0x4000u : off < 0x20000u ? 0x10000u : 0x20000u;
}
