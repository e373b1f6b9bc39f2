/*
 * flm.c - the entry points every oflash loader shares (target code,
 * compiled once per family with its flm_family.h; see flm.h): the erase
 * and program wrappers, Verify, BlankCheck, SEGGER_OPEN_Read, the CRC-32
 * through the STM32 CRC unit, and the flash interface's BSY wait, unlock
 * and Init prologue.
 *
 * The STM32 CRC unit (RM0090 rev 19 §4, RM0385 rev 8 §6, RM0351 rev 9 §14):
 * DR at +0x00, CR at +0x08 (RESET bit 0), on the L4 and F7 also INIT at
 * +0x10 and POL at +0x14; reset state: polynomial 0x04C11DB7, initial value
 * 0xFFFFFFFF, 32-bit words MSB first, no reversal.
 */
#include "flm.h"

/* ---- the flash interface ---- */

FLM_INTERNAL NOINLINE void iwdg_feed(void)
{
    if (st()->feed) REG32(FLM_IWDG_KR) = FLM_IWDG_KEY_RELOAD;
}

FLM_INTERNAL NOINLINE uint32_t flm_wait_done(void)
{
    uint32_t n = FLM_BSY_POLL_LIMIT;
    while (REG32(FLM_FLASH_SR) & FLM_SR_BSY) {
        iwdg_feed();
        if (--n == 0) return FLM_ETIMEOUT;
    }
    uint32_t err = REG32(FLM_FLASH_SR) & FLM_SR_ERRORS;
    if (err) REG32(FLM_FLASH_SR) = err;
    if (REG32(FLM_FLASH_SR) & FLM_SR_EOP) REG32(FLM_FLASH_SR) = FLM_SR_EOP;
    return err;
}

FLM_INTERNAL uint32_t flm_start(void)
{
    iwdg_feed();
    uint32_t rc = flm_wait_done(); /* an operation left running by the application */
    if (rc == FLM_ETIMEOUT) return rc;
    REG32(FLM_FLASH_SR) = FLM_SR_EOP | FLM_SR_ERRORS;
    if (REG32(FLM_FLASH_CR) & FLM_CR_LOCK) {
        REG32(FLM_FLASH_KEYR) = FLM_FLASH_KEY1;
        REG32(FLM_FLASH_KEYR) = FLM_FLASH_KEY2;
        if (REG32(FLM_FLASH_CR) & FLM_CR_LOCK) return FLM_ELOCKED;
    }
    return 0;
}

/* ---- erase and program ---- */

#ifndef FLM_AFTER_ERASE
#define FLM_AFTER_ERASE() ((void)0)
#endif

/* EraseSector(adr): erase the main-flash sector (page) holding adr. */
int EraseSector(uint32_t adr)
{
    uint32_t rc = flm_erase_sector(adr);
    FLM_AFTER_ERASE();
    return (int)rc;
}

/* SEGGER_OPEN_Erase(adr, index, n): erase n consecutive sectors from adr;
 * stops at the first failure. */
int SEGGER_OPEN_Erase(uint32_t adr, uint32_t index, uint32_t n)
{
    (void)index;
    uint32_t rc = 0;
    for (; n--; adr += flm_sector_size(adr))
        if ((rc = flm_erase_sector(adr)) != 0) break;
    FLM_AFTER_ERASE();
    return (int)rc;
}

/* ProgramPage(adr, sz, buf): program sz bytes (a page or less). */
int ProgramPage(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    return (int)flm_program(adr, sz, buf);
}

/* SEGGER_OPEN_Program(adr, sz, buf): program many pages in one call. */
int SEGGER_OPEN_Program(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    return (int)flm_program(adr, sz, buf);
}

/* ---- read back ---- */

/* Verify(adr, sz, buf): adr+sz when equal, else the first differing address. */
uint32_t Verify(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    const volatile uint8_t *p = (const volatile uint8_t *)adr;
    for (uint32_t i = 0; i < sz; i++)
        if (p[i] != buf[i]) return adr + i;
    return adr + sz;
}

/* BlankCheck(adr, sz, pat): 0 when every byte equals pat, 1 otherwise. */
int BlankCheck(uint32_t adr, uint32_t sz, uint8_t pat)
{
    uint32_t pat32 = pat * 0x01010101u;
    while (sz && (adr & 3u)) {
        if (*(const volatile uint8_t *)adr != pat) return 1;
        adr++;
        sz--;
    }
    uint32_t words = sz >> 2;
    const volatile uint32_t *w = (const volatile uint32_t *)adr;
    for (uint32_t i = 0; i < words; i++) {
        if (w[i] != pat32) return 1;
        if ((i & 0x3FFFu) == 0) iwdg_feed();
    }
    adr += words << 2;
    for (sz &= 3u; sz; sz--, adr++)
        if (*(const volatile uint8_t *)adr != pat) return 1;
    return 0;
}

/* SEGGER_OPEN_Read(adr, sz, buf): copy target memory to buf. */
int SEGGER_OPEN_Read(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    const volatile uint8_t *p = (const volatile uint8_t *)adr;
    for (uint32_t i = 0; i < sz; i++)
        buf[i] = p[i];
    return (int)sz;
}

/* ---- CRC-32 ---- */
#define CRC_DR REG32(FLM_CRC_BASE + 0x00)
#define CRC_CR REG32(FLM_CRC_BASE + 0x08)
#define CRC_INIT REG32(FLM_CRC_BASE + 0x10)
#define CRC_POL REG32(FLM_CRC_BASE + 0x14)
#define CRC_CR_RESET 1u
#define CRC_UNIT_POLY 0x04C11DB7u

/* Byte-wise reflected CRC in software (zlib: poly 0xEDB88320). */
static uint32_t crc_sw(uint32_t crc, uint32_t adr, uint32_t n, uint32_t poly)
{
    crc = ~crc;
    for (; n; n--, adr++) {
        crc ^= *(const volatile uint8_t *)adr;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (poly & (0u - (crc & 1u)));
    }
    return ~crc;
}

#ifndef FLM_CRC_HAS_INIT
/* Run the CRC unit's step (poly 0x04C11DB7, MSB first, 32 bits) backwards:
 * the word w with crc_unit(state, w) == target for state 0xFFFFFFFF. */
static uint32_t crc_unit_preimage(uint32_t target)
{
    uint32_t s = target;
    for (int k = 0; k < 32; k++)
        s = (s & 1u) ? ((s ^ CRC_UNIT_POLY) >> 1) | 0x80000000u : s >> 1;
    return s ^ 0xFFFFFFFFu;
}
#endif

/* SEGGER_OPEN_CalcCRC(crc, adr, n, poly): zlib-compatible chaining CRC-32:
 * returns crc32(crc, bytes at adr..adr+n) for poly 0xEDB88320 (reflected
 * IEEE 802.3), using the CRC unit for the aligned words (it computes the
 * non-reflected CRC of poly 0x04C11DB7 over 32-bit words, so each word is
 * fed bit-reversed and the state is read back bit-reversed and inverted).
 * The unit starts from RBIT(~crc): written to INIT where the unit has it
 * (with POL, which the application may have changed), else reached from
 * the reset value 0xFFFFFFFF by first feeding the one word that leads there.
 * Head and tail bytes, and any other poly, are computed in software. */
uint32_t SEGGER_OPEN_CalcCRC(uint32_t crc, uint32_t adr, uint32_t n, uint32_t poly)
{
    if (poly != 0xEDB88320u) return crc_sw(crc, adr, n, poly);
    uint32_t head = (4u - (adr & 3u)) & 3u;
    if (head > n) head = n;
    crc = crc_sw(crc, adr, head, poly);
    adr += head;
    n -= head;
    uint32_t words = n >> 2;
    if (words) {
        uint32_t enr = REG32(FLM_RCC_AHB1ENR);
        REG32(FLM_RCC_AHB1ENR) = enr | FLM_RCC_AHB1ENR_CRCEN;
        (void)REG32(FLM_RCC_AHB1ENR); /* the clock is on after this read-back */
#ifdef FLM_CRC_HAS_INIT
        CRC_POL = CRC_UNIT_POLY;
        CRC_INIT = rbit(~crc);
        CRC_CR = CRC_CR_RESET;
#else
        CRC_CR = CRC_CR_RESET;
        if (crc != 0) /* continue from crc: steer the unit's state there */
            CRC_DR = crc_unit_preimage(rbit(~crc));
#endif
        const volatile uint32_t *p = (const volatile uint32_t *)adr;
        uint32_t i = words;
        while (i >= 4) {
            CRC_DR = rbit(p[0]);
            CRC_DR = rbit(p[1]);
            CRC_DR = rbit(p[2]);
            CRC_DR = rbit(p[3]);
            p += 4;
            i -= 4;
            if ((i & 0x3FFCu) == 0) iwdg_feed();
        }
        while (i--)
            CRC_DR = rbit(*p++);
        crc = ~rbit(CRC_DR);
        REG32(FLM_RCC_AHB1ENR) = enr;
        adr += words << 2;
    }
    return crc_sw(crc, adr, n & 3u, poly);
}
