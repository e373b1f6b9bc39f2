/*
 * stm32f4_flash.c - the STM32F2/F4 embedded flash interface driven through
 * a probe, as a debugger does on silicon: register writes over the debug
 * bus, programming by bus writes to the array while FLASH_CR.PG is set.
 * Used by oflash gdbserver for vFlashErase/vFlashWrite/vFlashDone.
 *
 * Follows RM0368 rev 5 §3.5-3.8 (STM32F401) and RM0090 rev 19 §3.5-3.9
 * (STM32F405/407/427/429):
 *  - FLASH_KEYR <- 0x45670123, 0xCDEF89AB unlocks FLASH_CR (a wrong
 *    sequence locks it until reset);
 *  - sector erase: CR = SER | SNB<<3 | PSIZE, then STRT; wait for BSY = 0;
 *  - program: CR = PG | PSIZE, then writes whose width equals PSIZE
 *    (x32 for main flash and OTP data, x8 for OTP lock bytes);
 *  - SR error bits (OPERR, WRPERR, PGAERR, PGPERR, PGSERR, RDERR) are
 *    cleared by writing 1.
 * Timeouts are host time, generous against the datasheet maxima
 * (STM32F401xE DS10086 rev 3 table "Flash memory programming": 128 KiB
 * sector erase x32 max 2 s, word program max 100 us).
 */
#include "gdb/gdb_internal.h"
#include "oflash/error.h"

#include <stdio.h>
#include <time.h>

#define FLASH_IF_BASE 0x40023C00u
#define FLASH_KEYR (FLASH_IF_BASE + 0x04u)
#define FLASH_SR (FLASH_IF_BASE + 0x0Cu)
#define FLASH_CR (FLASH_IF_BASE + 0x10u)

#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

#define CR_PG (1u << 0)
#define CR_SER (1u << 1)
#define CR_SNB_SHIFT 3
#define CR_PSIZE_X8 (0u << 8)
#define CR_PSIZE_X32 (2u << 8)
#define CR_STRT (1u << 16)
#define CR_LOCK (1u << 31)

#define SR_EOP (1u << 0)
#define SR_OPERR (1u << 1)
#define SR_WRPERR (1u << 4)
#define SR_PGAERR (1u << 5)
#define SR_PGPERR (1u << 6)
#define SR_PGSERR (1u << 7)
#define SR_RDERR (1u << 8)
#define SR_BSY (1u << 16)
#define SR_ERRORS (SR_OPERR | SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_PGSERR | SR_RDERR)

/* 2x the datasheet maximum for a 128 KiB sector erase at x32 (2 s). */
#define ERASE_TIMEOUT_MS 4000
/* Word program max 100 us; a chunk of words plus probe latency. */
#define PROGRAM_TIMEOUT_MS 1000
/* Bytes written per probe call while PG is set (then SR is checked). */
#define PROGRAM_CHUNK 1024u

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void describe_sr(uint32_t sr, char *buf, size_t len)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } bits[] = {{SR_OPERR, "OPERR"},
                {SR_WRPERR, "WRPERR (write protected)"},
                {SR_PGAERR, "PGAERR (alignment)"},
                {SR_PGPERR, "PGPERR (parallelism)"},
                {SR_PGSERR, "PGSERR (sequence)"},
                {SR_RDERR, "RDERR"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (sr & bits[i].bit)
            used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
                                     used ? ", " : "", bits[i].name);
}

/* Wait until BSY clears; then fail on any error bit (and clear them). */
static int wait_idle(oflash_probe *p, unsigned timeout_ms, const char *what, uint32_t addr)
{
    uint64_t deadline = now_ms() + timeout_ms;
    uint32_t sr;
    for (;;) {
        int rc = oflash_probe_read_u32(&sr, p, FLASH_SR);
        if (rc < 0) return oflash_error_prefix("%s at 0x%08X: reading FLASH_SR: ", what, addr);
        if (!(sr & SR_BSY)) break;
        if (now_ms() > deadline)
            return oflash_error_set(OFLASH_ETIMEOUT,
                                    "%s at 0x%08X: FLASH_SR.BSY still set after %u ms "
                                    "(SR 0x%08X)",
                                    what, addr, timeout_ms, sr);
    }
    if (sr & SR_ERRORS) {
        char names[160];
        describe_sr(sr, names, sizeof names);
        (void)oflash_probe_write_u32(p, FLASH_SR, sr & (SR_ERRORS | SR_EOP));
        return oflash_error_set(OFLASH_ETARGET,
                                "%s at 0x%08X: flash interface error %s (SR 0x%08X)", what, addr,
                                names, sr);
    }
    return 0;
}

int oflash__f4fi_unlock(oflash_probe *p)
{
    uint32_t cr;
    int rc = oflash_probe_read_u32(&cr, p, FLASH_CR);
    if (rc < 0) return oflash_error_prefix("reading FLASH_CR: ");
    if (!(cr & CR_LOCK)) return 0;
    if ((rc = oflash_probe_write_u32(p, FLASH_KEYR, FLASH_KEY1)) < 0 ||
        (rc = oflash_probe_write_u32(p, FLASH_KEYR, FLASH_KEY2)) < 0)
        return oflash_error_prefix("unlocking the flash (FLASH_KEYR): ");
    if ((rc = oflash_probe_read_u32(&cr, p, FLASH_CR)) < 0) return rc;
    if (cr & CR_LOCK)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "flash interface stays locked after the KEYR sequence "
                                "(FLASH_CR 0x%08X; a wrong key locks it until reset)",
                                cr);
    return 0;
}

int oflash__f4fi_lock(oflash_probe *p)
{
    return oflash_probe_write_u32(p, FLASH_CR, CR_LOCK);
}

static int clear_errors(oflash_probe *p)
{
    return oflash_probe_write_u32(p, FLASH_SR, SR_ERRORS | SR_EOP);
}

int oflash__f4fi_erase_sector(oflash_probe *p, unsigned sector, bool dual_bank)
{
    unsigned snb = dual_bank && sector >= 12 ? sector + 4 : sector;
    int rc;
    char what[48];
    snprintf(what, sizeof what, "erasing sector %u", sector);
    if (snb > 31) return oflash_error_set(OFLASH_EINVAL, "sector %u out of range", sector);
    if ((rc = oflash__f4fi_unlock(p)) < 0 || (rc = wait_idle(p, ERASE_TIMEOUT_MS, what, 0)) < 0 ||
        (rc = clear_errors(p)) < 0)
        return rc;
    rc = oflash_probe_write_u32(p, FLASH_CR, CR_SER | snb << CR_SNB_SHIFT | CR_PSIZE_X32);
    if (rc == 0)
        rc = oflash_probe_write_u32(p, FLASH_CR,
                                    CR_SER | snb << CR_SNB_SHIFT | CR_PSIZE_X32 | CR_STRT);
    if (rc == 0) rc = wait_idle(p, ERASE_TIMEOUT_MS, what, 0);
    (void)oflash_probe_write_u32(p, FLASH_CR, 0);
    return rc;
}

static int program(oflash_probe *p, uint32_t addr, const uint8_t *buf, size_t len, uint32_t psize,
                   size_t unit)
{
    int rc;
    if ((rc = oflash__f4fi_unlock(p)) < 0 ||
        (rc = wait_idle(p, PROGRAM_TIMEOUT_MS, "programming", addr)) < 0 ||
        (rc = clear_errors(p)) < 0)
        return rc;
    rc = oflash_probe_write_u32(p, FLASH_CR, CR_PG | psize);
    while (rc == 0 && len) {
        size_t n = len < PROGRAM_CHUNK ? len : PROGRAM_CHUNK;
        if (unit == 1) {
            n = 1; /* one bus write per byte (x8) */
        }
        rc = oflash_probe_write_mem(p, addr, buf, n);
        if (rc < 0) {
            oflash_error_prefix("programming 0x%08X: ", addr);
            break;
        }
        rc = wait_idle(p, PROGRAM_TIMEOUT_MS, "programming", addr);
        addr += (uint32_t)n;
        buf += n;
        len -= n;
    }
    (void)oflash_probe_write_u32(p, FLASH_CR, 0);
    return rc;
}

int oflash__f4fi_program_words(oflash_probe *p, uint32_t addr, const uint8_t *buf, size_t len)
{
    if ((addr | len) & 3u)
        return oflash_error_set(
            OFLASH_EINVAL, "programming 0x%08X (%zu bytes): x32 needs word alignment", addr, len);
    return program(p, addr, buf, len, CR_PSIZE_X32, 4);
}

int oflash__f4fi_program_bytes(oflash_probe *p, uint32_t addr, const uint8_t *buf, size_t len)
{
    return program(p, addr, buf, len, CR_PSIZE_X8, 1);
}
