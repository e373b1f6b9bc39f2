/*
 * stm32_optcr_rdp.c - readout protection through FLASH_OPTKEYR/OPTCR, see
 * stm32_optcr_rdp.h.
 *
 * RM0368 rev 5 §3.6.3 / §3.8.6, RM0090 rev 19 §3.7.3 / §3.9.7, RM0385 rev 8
 * §3.7.3: RDP is FLASH_OPTCR bits 15:8: 0xAA level 0, 0xCC level 2,
 * anything else level 1 (0x55 written here, as ST's HAL does).  Sequence
 * (PM0081 §2.6.2 "Modifying user option bytes"): BSY clear; OPTKEY1, OPTKEY2
 * into OPTKEYR clears OPTLOCK; the new value into OPTCR; OPTSTRT; wait for
 * BSY to clear.  1 -> 0 mass-erases main flash while BSY (up to tME, 32 s
 * on a 2 MB part).
 */
#include "stm32_optcr_rdp.h"

#include "oflash/error.h"

#include <time.h>

#define RDP_SHIFT 8
#define RDP_TIMEOUT_MS 60000

int oflash__stm32_rdp_of(uint32_t optcr)
{
    uint8_t b = (uint8_t)(optcr >> RDP_SHIFT);
    return b == 0xAA ? 0 : b == 0xCC ? 2 : 1;
}

int oflash__stm32_optcr_rdp_get(int *level, const stm32_optcr_regs *r, oflash_probe *probe)
{
    uint32_t optcr;
    if (oflash_probe_read_u32(&optcr, probe, r->optcr) < 0)
        return oflash_error_prefix("reading FLASH_OPTCR (readout protection): ");
    *level = oflash__stm32_rdp_of(optcr);
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait for FLASH_SR.BSY to clear; *sr gets the last value read. */
static int wait_bsy(uint32_t *sr, const stm32_optcr_regs *r, oflash_probe *probe, const char *what)
{
    uint64_t t0 = now_ms();
    for (;;) {
        if (oflash_probe_read_u32(sr, probe, r->sr) < 0)
            return oflash_error_prefix("reading FLASH_SR (%s): ", what);
        if (!(*sr & r->sr_bsy))
            return 0;
        if (now_ms() - t0 > RDP_TIMEOUT_MS)
            return oflash_error_set(OFLASH_ETIMEOUT,
                                    "the flash stayed busy for %u s (%s; FLASH_SR 0x%08X)",
                                    RDP_TIMEOUT_MS / 1000, what, *sr);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

int oflash__stm32_optcr_rdp_set(const stm32_optcr_regs *r, oflash_probe *probe, int level)
{
    uint32_t optcr, sr, nv;
    uint8_t byte = level == 0 ? 0xAA : level == 2 ? 0xCC : 0x55;
    int rc;

    if (oflash_probe_read_u32(&optcr, probe, r->optcr) < 0)
        return oflash_error_prefix("reading FLASH_OPTCR: ");
    if (oflash__stm32_rdp_of(optcr) == 2)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "read protection level 2 is permanent: the option bytes can no "
                                "longer be changed (FLASH_OPTCR 0x%08X)",
                                optcr);
    rc = wait_bsy(&sr, r, probe, "before unlocking the option bytes");
    if (rc)
        return rc;
    /* Clear earlier error flags (write 1 to clear) so the result is ours. */
    if ((sr & r->sr_w1c) && oflash_probe_write_u32(probe, r->sr, sr & r->sr_w1c) < 0)
        return oflash_error_prefix("clearing FLASH_SR: ");
    if (optcr & r->optlock) {
        if (oflash_probe_write_u32(probe, r->optkeyr, r->optkey1) < 0 ||
            oflash_probe_write_u32(probe, r->optkeyr, r->optkey2) < 0)
            return oflash_error_prefix("unlocking the option bytes (FLASH_OPTKEYR): ");
        if (oflash_probe_read_u32(&optcr, probe, r->optcr) < 0)
            return oflash_error_prefix("reading FLASH_OPTCR: ");
        if (optcr & r->optlock)
            return oflash_error_set(OFLASH_EPROTECTED,
                                    "the option bytes stayed locked after the unlock keys "
                                    "(FLASH_OPTCR 0x%08X)",
                                    optcr);
    }
    nv = (optcr & ~(r->optlock | r->optstrt | (0xFFu << RDP_SHIFT))) |
         ((uint32_t)byte << RDP_SHIFT);
    if (oflash_probe_write_u32(probe, r->optcr, nv) < 0 ||
        oflash_probe_write_u32(probe, r->optcr, nv | r->optstrt) < 0)
        return oflash_error_prefix("writing FLASH_OPTCR: ");
    rc = wait_bsy(&sr, r, probe, level == 0 ? "option bytes and mass erase" : "option bytes");
    if (rc)
        return rc;
    /* Lock again whatever happened. */
    (void)oflash_probe_write_u32(probe, r->optcr, nv | r->optlock);
    if (sr & r->sr_errors)
        return oflash_error_set((sr & r->sr_wrperr) ? OFLASH_EPROTECTED : OFLASH_ETARGET,
                                "the chip refused to program the option bytes (FLASH_SR 0x%08X%s)",
                                sr, (sr & r->sr_wrperr) ? ": WRPERR" : "");
    if (oflash_probe_read_u32(&optcr, probe, r->optcr) < 0)
        return oflash_error_prefix("reading FLASH_OPTCR back: ");
    if (oflash__stm32_rdp_of(optcr) != level)
        return oflash_error_set(OFLASH_ETARGET,
                                "the option bytes read back level %d (FLASH_OPTCR 0x%08X), not %d",
                                oflash__stm32_rdp_of(optcr), optcr, level);
    return 0;
}
