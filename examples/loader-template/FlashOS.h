/*
 * FlashOS.h - the CMSIS flash algorithm interface (the "FLM" format):
 * the FlashDevice struct a loader describes itself with, and the functions
 * a host tool (oflash, pyOCD, probe-rs, Keil, J-Link) calls.
 *
 * Written from the CMSIS-Pack documentation "Flash Programming Algorithms"
 * (Open-CMSIS-Pack, pack specification 1.7).  Every function returns 0 on
 * success, except Verify (returns adr + sz when all bytes match).
 */
#ifndef FLASHOS_H
#define FLASHOS_H

#include <stdint.h>

#define FLASH_DRV_VERS 0x0101 /* FlashDevice.Vers for this interface */
#define ONCHIP 1              /* FlashDevice.DevType: on-chip flash */
#define SECTOR_END 0xFFFFFFFFu, 0xFFFFFFFFu
#define MAX_SECTOR_RUNS 512

/* Read by the host from the FLM's "DevDscr" section; never run. */
struct FlashDevice {
    uint16_t Vers;          /* FLASH_DRV_VERS */
    char DevName[128];      /* shown by `oflash loader check` */
    uint16_t DevType;       /* ONCHIP, ... */
    uint32_t DevAdr;        /* first address the loader programs */
    uint32_t szDev;         /* bytes from DevAdr its sectors cover */
    uint32_t szPage;        /* bytes ProgramPage takes per call (at most) */
    uint32_t Res;           /* reserved, 0 */
    uint8_t valEmpty;       /* value of an erased byte */
    uint8_t pad[3];
    uint32_t toProg;        /* ProgramPage timeout, milliseconds */
    uint32_t toErase;       /* EraseSector timeout, milliseconds */
    struct {
        uint32_t szSector;  /* size of the sectors of this run */
        uint32_t AddrSector;/* offset of the run's first sector from DevAdr */
    } sectors[MAX_SECTOR_RUNS]; /* ascending, ended by SECTOR_END */
};

/* fnc argument of Init/UnInit */
#define FNC_ERASE 1
#define FNC_PROGRAM 2
#define FNC_VERIFY 3

int Init(uint32_t adr, uint32_t clk, uint32_t fnc);
int UnInit(uint32_t fnc);
int EraseSector(uint32_t adr);
int ProgramPage(uint32_t adr, uint32_t sz, uint8_t *buf);
/* optional */
int BlankCheck(uint32_t adr, uint32_t sz, uint8_t pat);
uint32_t Verify(uint32_t adr, uint32_t sz, uint8_t *buf);

#endif
