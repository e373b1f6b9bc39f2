/*
 * fw_api.h - indexes of the functions in the test firmware's table (the
 * first words of sim_fw.bin, loaded at 0x20000000).  Shared by fw.c (target
 * side) and the host tests.  Every function follows the AAPCS: arguments in
 * r0-r3, result in r0; the host sets LR to FW_BKPT's address so that the
 * return executes BKPT.
 */
#ifndef SIM_FW_API_H
#define SIM_FW_API_H

#define FW_LOAD_ADDR 0x20000000u

enum {
    FW_BKPT = 0,     /* bkpt #0: the return trampoline */
    FW_UNLOCK,       /* () -> FLASH_CR after writing KEY1, KEY2 */
    FW_LOCK,         /* () -> FLASH_CR after setting LOCK */
    FW_READ32,       /* (addr) -> word */
    FW_WRITE32,      /* (addr, value) -> 0 */
    FW_WRITE16,      /* (addr, value) -> 0 */
    FW_WRITE8,       /* (addr, value) -> 0 */
    FW_PROGRAM,      /* (addr, src, len, psize) -> SR error bits of the first failure or 0 */
    FW_ERASE_SECTOR, /* (snb, psize) -> SR after BSY clears */
    FW_MASS_ERASE,   /* (cr bits MER|MER1, psize) -> SR after BSY clears */
    FW_OPT_PROGRAM,  /* (optcr, optcr1) -> SR after BSY clears (unlocks and relocks OPTCR) */
    FW_CRC_ZLIB,     /* (addr, nwords) -> zlib CRC-32 of the words via the CRC unit and RBIT */
    FW_IWDG_ERASE,   /* (snb, feed) -> SR: start IWDG, erase a sector, feed while BSY if feed */
    FW_CLOCK_PLL84,  /* () -> RCC_CFGR: HSI -> PLL 84 MHz (M=16 N=336 P=4) */
    FW_BENCH,    /* (addr, nwords, pattern) -> SR errors: program words (addr ^ pattern) at x32 */
    FW_DELAY,    /* (n) -> 0: a loop of n iterations */
    FW_READ_IDS, /* (out) -> IDCODE; out[0..3] = IDCODE, flash size, UID words 0..2 at out[2..4] */
    FW_COUNT
};

#endif
