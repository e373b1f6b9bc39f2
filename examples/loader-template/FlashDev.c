/*
 * FlashDev.c - what this loader programs, as the host sees it: the OTP
 * area of an STM32F401 (RM0368 rev 5, section 3.6 "One-time programmable
 * bytes"): 16 blocks of 32 bytes at 0x1FFF7800.  Each block is one
 * "sector" here, so a host that skips blocks already holding the wanted
 * bytes touches nothing else.
 */
#include "FlashOS.h"

__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    .Vers = FLASH_DRV_VERS,
    .DevName = "STM32F401 OTP (oflash example loader)",
    .DevType = ONCHIP,
    .DevAdr = 0x1FFF7800u, /* OTP block 0 */
    .szDev = 16 * 32,      /* 16 blocks x 32 bytes */
    .szPage = 32,          /* one block per ProgramPage call */
    .valEmpty = 0xFF,
    .toProg = 100,  /* ms for 32 bytes: 32 x 16 us typ. (datasheet), with a wide margin */
    .toErase = 100, /* EraseSector only checks the block (OTP cannot be erased) */
    .sectors = {{32, 0x000}, {SECTOR_END}},
};
