/*
 * vendor_otp.c - a test flash loader for the STM32F2/F4 OTP area in the
 * layout vendor OTP algorithms ship: ONE sector of 0x210 bytes at
 * 0x1FFF7800 covering the 512 OTP data bytes (16 blocks of 32) AND the 16
 * lock bytes after them, one page over the whole sector, no SEGGER
 * extensions.  The host sees a plain 528-byte "flash" bank; only the OTP
 * rules the family applies by address make it safe (lock bytes 0x00/0xFF
 * only, written last, locked blocks never touched).
 *
 * What it does with a ProgramPage, as the manuals require (RM0368 rev 5
 * §3.6, RM0090 rev 19 §3.8): data words at x32 (PSIZE 2), all-ones words
 * skipped; lock bytes at x8, one byte per access, 0xFF bytes skipped.
 * EraseSector returns an error: OTP is never erased.
 * -DVENDOR_OTP_PAGE=2 builds a variant whose FlashDevice page is 2 bytes:
 * smaller than the 4-byte words OTP data is written in (the plan refuses it).
 *
 * Registers from the family's shared header (src/targets/stm32f4/).
 */
#include "targets/stm32f4/stm32f4_regs.h"

#ifndef VENDOR_OTP_PAGE
#define VENDOR_OTP_PAGE 0x210u
#endif

#define REG32(a) (*(volatile uint32_t *)(a))
#define FLASH_KEYR REG32(F4_FLASHIF_BASE + F4_FLASH_KEYR)
#define FLASH_SR REG32(F4_FLASHIF_BASE + F4_FLASH_SR)
#define FLASH_CR REG32(F4_FLASHIF_BASE + F4_FLASH_CR)
#define POLL_LIMIT 0x1000000u /* a program access takes 16 us typ. */

struct FlashDevice {
    uint16_t Vers;
    char DevName[128];
    uint16_t DevType;
    uint32_t DevAdr, szDev, szPage, Res;
    uint8_t valEmpty, pad[3];
    uint32_t toProg, toErase;
    uint32_t sectors[4];
};
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    .Vers = 0x0101,
    .DevName = "STM32F4xx OTP (vendor layout test loader)",
    .DevType = 1,
    .DevAdr = F4_OTP_BASE,
    .szDev = F4_OTP_SIZE + F4_LOCK_SIZE, /* 0x210: data and lock bytes */
    .szPage = VENDOR_OTP_PAGE,
    .valEmpty = 0xFF,
    .toProg = 500,
    .toErase = 500,
    .sectors = {F4_OTP_SIZE + F4_LOCK_SIZE, 0, 0xFFFFFFFFu, 0xFFFFFFFFu},
};

static int wait_done(void)
{
    uint32_t n = POLL_LIMIT;
    while (FLASH_SR & F4_SR_BSY)
        if (--n == 0) return 0x100;
    uint32_t err = FLASH_SR & F4_SR_ERRORS;
    FLASH_SR = err | F4_SR_EOP;
    return (int)err;
}

int Init(uint32_t adr, uint32_t clk, uint32_t fnc)
{
    (void)adr;
    (void)clk;
    (void)fnc;
    FLASH_SR = F4_SR_ERRORS | F4_SR_EOP;
    if (FLASH_CR & F4_CR_LOCK) {
        FLASH_KEYR = F4_FLASH_KEY1;
        FLASH_KEYR = F4_FLASH_KEY2;
    }
    return (FLASH_CR & F4_CR_LOCK) ? 1 : 0;
}

int UnInit(uint32_t fnc)
{
    (void)fnc;
    FLASH_CR = F4_CR_LOCK;
    return 0;
}

int EraseSector(uint32_t adr)
{
    (void)adr;
    return 1; /* one-time programmable: never erased */
}

int ProgramPage(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    int rc = 0;
    for (uint32_t i = 0; i < sz && rc == 0;) {
        uint32_t a = adr + i;
        if (a >= F4_LOCK_BASE && a < F4_LOCK_BASE + F4_LOCK_SIZE) {
            if (buf[i] != 0xFF) { /* one lock byte per access, x8 */
                FLASH_CR = (0u << F4_CR_PSIZE_SHIFT) | F4_CR_PG;
                *(volatile uint8_t *)a = buf[i];
                rc = wait_done();
            }
            i++;
        } else if (a >= F4_OTP_BASE && a < F4_LOCK_BASE && !(a & 3u) && sz - i >= 4) {
            uint32_t w = (uint32_t)buf[i] | (uint32_t)buf[i + 1] << 8 | (uint32_t)buf[i + 2] << 16 |
                         (uint32_t)buf[i + 3] << 24;
            if (w != 0xFFFFFFFFu) {
                FLASH_CR = (2u << F4_CR_PSIZE_SHIFT) | F4_CR_PG;
                *(volatile uint32_t *)a = w;
                rc = wait_done();
            }
            i += 4;
        } else {
            rc = 0x200; /* not a whole data word, or outside OTP */
        }
    }
    FLASH_CR &= ~F4_CR_PG;
    return rc;
}
