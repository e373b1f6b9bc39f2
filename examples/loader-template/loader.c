/*
 * loader.c - an example CMSIS flash loader (FLM) written for oflash's
 * docs/open-flash-loader.md: it programs the one-time-programmable (OTP)
 * area of an STM32F401 through the flash interface, byte by byte.
 *
 * Follows RM0368 rev 5 (STM32F401xB/C/D/E reference manual):
 *  - 3.5.1 unlocking FLASH_CR with KEYR = 0x45670123 then 0xCDEF89AB;
 *  - 3.5.4 programming: PG=1, PSIZE = x8 (byte writes are allowed at any
 *    supply voltage), write, wait for BSY=0, check the error flags;
 *  - 3.6 OTP: 16 x 32-byte blocks at 0x1FFF7800, programmed like main
 *    flash and never erased;
 *  - 3.8 FLASH_OPTCR bit 5 WDG_SW: 0 = the independent watchdog runs from
 *    reset and must be fed (IWDG_KR = 0xAAAA, 19.4.1).
 *
 * The rules every FLM must follow (and this file shows):
 *  - position independent code (-fpic), no startup code, no C library;
 *  - no writable globals unless addressed through R9 (this one has none);
 *  - every wait has a bound, so a broken chip cannot hang the loader;
 *  - return 0 for success, non-zero for failure (the host names the
 *    function and its arguments when it gets one).
 */
#include "FlashOS.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define FLASH_BASE 0x40023C00u
#define FLASH_KEYR REG(FLASH_BASE + 0x04)
#define FLASH_SR REG(FLASH_BASE + 0x0C)
#define FLASH_CR REG(FLASH_BASE + 0x10)
#define FLASH_OPTCR REG(FLASH_BASE + 0x14)
#define IWDG_KR REG(0x40003000u)

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu
#define CR_PG (1u << 0)
#define CR_PSIZE_MASK (3u << 8) /* 00 = x8 */
#define CR_LOCK (1u << 31)
#define SR_BSY (1u << 16)
/* OPERR, WRPERR, PGAERR, PGPERR, PGSERR, RDERR: cleared by writing 1 */
#define SR_ERRORS ((1u << 1) | (0x1Fu << 4))
#define OPTCR_WDG_SW (1u << 5)

#define OTP_BASE 0x1FFF7800u
#define OTP_SIZE 512u
#define OTP_BLOCK 32u

/* A byte program takes 16 us typical (datasheet); at the slowest clock a
 * loop pass is a few cycles, so 2^20 passes are far beyond any real wait
 * and still end well inside the host's timeout (toProg). */
#define BSY_SPINS (1u << 20)

static void feed_watchdog(void)
{
    if (!(FLASH_OPTCR & OPTCR_WDG_SW))
        IWDG_KR = 0xAAAAu;
}

static int wait_ready(void)
{
    for (uint32_t n = 0; n < BSY_SPINS; n++) {
        if (!(FLASH_SR & SR_BSY))
            return (FLASH_SR & SR_ERRORS) ? 1 : 0;
        if ((n & 0xFFFu) == 0)
            feed_watchdog();
    }
    return 1; /* still busy: report, never hang */
}

static int in_otp(uint32_t adr, uint32_t sz)
{
    return adr >= OTP_BASE && sz <= OTP_SIZE && adr - OTP_BASE <= OTP_SIZE - sz;
}

int Init(uint32_t adr, uint32_t clk, uint32_t fnc)
{
    (void)adr, (void)clk, (void)fnc;
    feed_watchdog();
    if (FLASH_CR & CR_LOCK) {
        FLASH_KEYR = KEY1;
        FLASH_KEYR = KEY2;
    }
    FLASH_SR = SR_ERRORS; /* clear stale errors from an earlier run */
    return (FLASH_CR & CR_LOCK) ? 1 : 0;
}

int UnInit(uint32_t fnc)
{
    (void)fnc;
    FLASH_CR &= ~CR_PG;
    FLASH_CR |= CR_LOCK;
    return 0;
}

/* OTP cannot be erased.  A block that is already blank needs nothing; any
 * other block is an error, so the host never believes it erased one. */
int EraseSector(uint32_t adr)
{
    const volatile uint8_t *p = (const volatile uint8_t *)adr;
    if (!in_otp(adr, OTP_BLOCK) || (adr - OTP_BASE) % OTP_BLOCK)
        return 1;
    for (uint32_t i = 0; i < OTP_BLOCK; i++)
        if (p[i] != 0xFF)
            return 1;
    return 0;
}

int ProgramPage(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    volatile uint8_t *dst = (volatile uint8_t *)adr;
    int rc = 0;
    if (!in_otp(adr, sz))
        return 1;
    if (wait_ready())
        return 1;
    FLASH_CR = (FLASH_CR & ~CR_PSIZE_MASK) | CR_PG; /* x8, program */
    for (uint32_t i = 0; i < sz && rc == 0; i++) {
        if (buf[i] == 0xFF || dst[i] == buf[i])
            continue; /* 0xFF programs nothing: leave the byte alone */
        dst[i] = buf[i];
        rc = wait_ready();
        /* Bits only go 1 -> 0: a byte that had zeros where buf has ones
         * cannot take buf's value.  Report it instead of pretending. */
        if (rc == 0 && dst[i] != buf[i])
            rc = 1;
    }
    FLASH_CR &= ~CR_PG;
    FLASH_SR = SR_ERRORS;
    return rc;
}

int BlankCheck(uint32_t adr, uint32_t sz, uint8_t pat)
{
    const volatile uint8_t *p = (const volatile uint8_t *)adr;
    for (uint32_t i = 0; i < sz; i++)
        if (p[i] != pat)
            return 1;
    return 0;
}

uint32_t Verify(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    const volatile uint8_t *p = (const volatile uint8_t *)adr;
    for (uint32_t i = 0; i < sz; i++)
        if (p[i] != buf[i])
            return adr + i;
    return adr + sz;
}
