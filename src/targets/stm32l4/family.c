/*
 * family.c - the STM32L4 family (L47x/L48x, RM0351 rev 9): write
 * protection, the results of its own loader, OTP rules, identity
 * registers, pack matching; the const ops table at the end is what the
 * generic layers see.
 *
 * Facts (sections in stm32l4_regs.h):
 *  - write protection §3.5.3: two areas per bank, FLASH_WRP1AR/WRP1BR
 *    (bank 1) and WRP2AR/WRP2BR (bank 2), each [STRT, END] in pages of the
 *    bank; STRT > END protects nothing;
 *  - OTP §3.3.1: 1 KB at 0x1FFF7000 in 64-bit double words, each written
 *    once (a double word with one bit at 0 cannot be written again), no
 *    lock bytes;
 *  - identity: DBGMCU_IDCODE 0xE0042000 DEV_ID 0x415, flash size u16 KB at
 *    0x1FFF75E0, 96-bit unique ID at 0x1FFF7590.
 */
#include "stm32l4.h"

#include "oflash/error.h"

#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- write protection ---- */

static int l4_check_protection(const oflash_device *dev, oflash_probe *probe,
                               const oflash_sector *const *sectors, size_t n)
{
    static const struct {
        uint32_t off;
        const char *name;
    } regs[4] = {{L4_FLASH_WRP1AR, "FLASH_WRP1AR"},
                 {L4_FLASH_WRP1BR, "FLASH_WRP1BR"},
                 {L4_FLASH_WRP2AR, "FLASH_WRP2AR"},
                 {L4_FLASH_WRP2BR, "FLASH_WRP2BR"}};
    uint32_t wrp[4];
    bool have = false;
    (void)dev;
    for (size_t i = 0; i < n; i++) {
        const oflash_sector *s = sectors[i];
        unsigned num = s->number, bank = num / L4_PAGES_PER_BANK, page = num % L4_PAGES_PER_BANK;
        if (s->addr < L4_FLASH_BASE || num >= 2 * L4_PAGES_PER_BANK) continue;
        if (!have) {
            for (int k = 0; k < 4; k++)
                if (oflash_probe_read_u32(&wrp[k], probe, L4_FLASH_REGS + regs[k].off) < 0)
                    return oflash_error_prefix("reading %s (write protection): ", regs[k].name);
            have = true;
        }
        for (unsigned k = 2 * bank; k < 2 * bank + 2; k++) {
            if (!l4_wrp_covers(wrp[k], page)) continue;
            return oflash_error_set(
                OFLASH_EPROTECTED,
                "page %u (0x%08X-0x%08X) is write-protected by the option bytes (%s 0x%08X: "
                "pages %u-%u of bank %u); nothing was written: remove the protection first",
                num, s->addr, s->addr + s->size - 1, regs[k].name, wrp[k],
                wrp[k] & L4_WRP_STRT_MASK, (wrp[k] & L4_WRP_END_MASK) >> L4_WRP_END_SHIFT,
                bank + 1);
        }
    }
    return 0;
}

/* ---- our loader ---- */

static const char *l4_loader_result(int *code, uint32_t r)
{
    /* Most specific first: a programming error also sets PGSERR on the
     * next attempt, FASTERR comes with the bit that stopped the row. */
    static const struct {
        uint32_t bits;
        int code;
        const char *text;
    } t[] = {
        {L4_LOADER_EADDR, OFLASH_ERANGE, "address outside main flash and OTP"},
        {L4_LOADER_EALIGN, OFLASH_ETARGET,
         "address or length not whole 64-bit double words (the flash is written 8 bytes at a "
         "time)"},
        {L4_LOADER_ETIMEOUT, OFLASH_ETIMEOUT, "flash stayed busy (BSY) past the loader's limit"},
        {L4_LOADER_ELOCKED, OFLASH_ETARGET, "FLASH_CR stayed locked after the unlock keys"},
        {L4_LOADER_ENOERASE, OFLASH_ERANGE, "OTP cannot be erased"},
        {L4_LOADER_EWRITTEN, OFLASH_ETARGET,
         "OTP double word already written with other data (each is written once)"},
    };
    static const struct {
        uint32_t bit;
        int code;
        const char *text;
    } bits[] = {
        {L4_SR_WRPERR, OFLASH_EPROTECTED,
         "WRPERR: write protection error (page in a WRP area, or read protection)"},
        {L4_SR_PROGERR, OFLASH_ETARGET,
         "PROGERR: programming error (double word not erased before programming)"},
        {L4_SR_PGAERR, OFLASH_ETARGET,
         "PGAERR: programming alignment error (not one 64-bit double word, or a row change in "
         "fast programming)"},
        {L4_SR_SIZERR, OFLASH_ETARGET, "SIZERR: size error (byte or half-word write)"},
        {L4_SR_MISERR, OFLASH_ETARGET, "MISERR: fast programming data miss"},
        {L4_SR_FASTERR, OFLASH_ETARGET, "FASTERR: fast programming error"},
        {L4_SR_PGSERR, OFLASH_ETARGET, "PGSERR: programming sequence error"},
        {L4_SR_OPERR, OFLASH_ETARGET, "OPERR: operation error"},
        {L4_SR_RDERR, OFLASH_ETARGET, "RDERR: PCROP read error"},
        {L4_SR_OPTVERR, OFLASH_ETARGET, "OPTVERR: option validity error"},
    };
    *code = OFLASH_ETARGET;
    if (r & L4_LOADER_EBASE) {
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            if (r == t[i].bits) {
                *code = t[i].code;
                return t[i].text;
            }
        return "unknown code";
    }
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (r & bits[i].bit) {
            *code = bits[i].code;
            return bits[i].text;
        }
    return "unknown code";
}

/* ---- OTP ---- */

static int l4_otp_rules(const oflash_device *dev, oflash_otp_rules *r)
{
    (void)dev;
    memset(r, 0, sizeof *r);
    r->kind = OFLASH_OTP_WRITE_ONCE;
    r->data_base = L4_OTP_BASE;
    r->data_size = L4_OTP_SIZE;
    r->block_size = L4_DWORD;
    r->write_unit = L4_DWORD;
    r->erased = 0xFF;
    return 0;
}

/* ---- packs ---- */

static bool l4_pack_match(const oflash_device **part, const char *vendor, const char *family,
                          const char *device)
{
    *part = NULL;
    if (vendor && strncasecmp(vendor, "STMicroelectronics", 18) != 0) return false;
    for (size_t i = 0; device && i < oflash__stm32l4_device_count; i++) {
        const oflash_device *d = &oflash__stm32l4_devices[i];
        bool match = strcasecmp(d->name, device) == 0;
        for (const char *const *a = d->aliases; a && *a && !match; a++)
            match = strcasecmp(*a, device) == 0;
        if (match) {
            *part = d;
            return true;
        }
    }
    /* "STM32L4 Series" (and L4+): the same OTP at the same address. */
    return family && strncasecmp(family, "STM32L4", 7) == 0;
}

/* Registers a gdbserver client may not write without the matching opt-in:
 * FLASH_KEYR unlocks main flash and OTP alike; OPTKEYR and the option
 * registers (OPTR, PCROP1SR/ER, WRP1AR/BR; PCROP2SR/ER, WRP2AR/BR) change the
 * option bytes.  The option-byte pages are regions of every device. */
static const oflash_guard_reg l4_guards[] = {
    {"FLASH_KEYR", OFLASH_GUARD_OTP, L4_FLASH_REGS + L4_FLASH_KEYR, 4},
    {"FLASH_OPTKEYR", OFLASH_GUARD_OPTION_BYTES, L4_FLASH_REGS + L4_FLASH_OPTKEYR, 4},
    {"FLASH_OPTR..FLASH_WRP1BR", OFLASH_GUARD_OPTION_BYTES, L4_FLASH_REGS + L4_FLASH_OPTR, 0x14},
    {"FLASH_PCROP2SR..FLASH_WRP2BR", OFLASH_GUARD_OPTION_BYTES, L4_FLASH_REGS + L4_FLASH_PCROP2SR,
     0x10},
};

/* ---- readout protection ----
 * RM0351 rev 9 §3.5.1 (RDP: FLASH_OPTR bits 7:0, 0xAA level 0, 0xCC level 2,
 * anything else level 1; 0xBB written here as ST's HAL does; 1 -> 0
 * mass-erases main flash; level 2 is irreversible) and §3.4.2 (changing
 * user option bytes: BSY clear; FLASH_CR unlocked with KEYR, then OPTLOCK
 * cleared with OPTKEYR; write OPTR; OPTSTRT; wait for BSY; the new values
 * are loaded by OBL_LAUNCH, which resets the system). */

#define L4_RDP_TIMEOUT_MS 60000

static int l4_rdp_get(int *level, const oflash_device *dev, oflash_probe *probe)
{
    uint32_t optr;
    (void)dev;
    if (oflash_probe_read_u32(&optr, probe, L4_FLASH_REGS + L4_FLASH_OPTR) < 0)
        return oflash_error_prefix("reading FLASH_OPTR (readout protection): ");
    *level = l4_rdp_level(optr);
    return 0;
}

static int l4_wait_bsy(uint32_t *sr, oflash_probe *probe, const char *what)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (oflash_probe_read_u32(sr, probe, L4_FLASH_REGS + L4_FLASH_SR) < 0)
            return oflash_error_prefix("reading FLASH_SR (%s): ", what);
        if (!(*sr & L4_SR_BSY))
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >
            L4_RDP_TIMEOUT_MS)
            return oflash_error_set(OFLASH_ETIMEOUT,
                                    "the flash stayed busy for %d s (%s; FLASH_SR 0x%08X)",
                                    L4_RDP_TIMEOUT_MS / 1000, what, *sr);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

static int l4_rdp_set(const oflash_device *dev, oflash_probe *probe, int level)
{
    const uint32_t cr_addr = L4_FLASH_REGS + L4_FLASH_CR, optr_addr = L4_FLASH_REGS + L4_FLASH_OPTR;
    uint32_t optr, sr, cr;
    uint8_t byte = level == 0 ? 0xAA : level == 2 ? 0xCC : 0xBB;
    int rc;
    (void)dev;

    if (oflash_probe_read_u32(&optr, probe, optr_addr) < 0)
        return oflash_error_prefix("reading FLASH_OPTR: ");
    if (l4_rdp_level(optr) == 2)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "read protection level 2 is permanent: the option bytes can no "
                                "longer be changed (FLASH_OPTR 0x%08X)",
                                optr);
    rc = l4_wait_bsy(&sr, probe, "before unlocking the option bytes");
    if (rc)
        return rc;
    if ((sr & L4_SR_W1C) &&
        oflash_probe_write_u32(probe, L4_FLASH_REGS + L4_FLASH_SR, sr & L4_SR_W1C) < 0)
        return oflash_error_prefix("clearing FLASH_SR: ");
    if (oflash_probe_read_u32(&cr, probe, cr_addr) < 0)
        return oflash_error_prefix("reading FLASH_CR: ");
    if ((cr & L4_CR_LOCK) &&
        (oflash_probe_write_u32(probe, L4_FLASH_REGS + L4_FLASH_KEYR, L4_FLASH_KEY1) < 0 ||
         oflash_probe_write_u32(probe, L4_FLASH_REGS + L4_FLASH_KEYR, L4_FLASH_KEY2) < 0))
        return oflash_error_prefix("unlocking FLASH_CR (FLASH_KEYR): ");
    if ((cr & L4_CR_OPTLOCK) &&
        (oflash_probe_write_u32(probe, L4_FLASH_REGS + L4_FLASH_OPTKEYR, L4_FLASH_OPTKEY1) < 0 ||
         oflash_probe_write_u32(probe, L4_FLASH_REGS + L4_FLASH_OPTKEYR, L4_FLASH_OPTKEY2) < 0))
        return oflash_error_prefix("unlocking the option bytes (FLASH_OPTKEYR): ");
    if (oflash_probe_read_u32(&cr, probe, cr_addr) < 0)
        return oflash_error_prefix("reading FLASH_CR: ");
    if (cr & (L4_CR_LOCK | L4_CR_OPTLOCK))
        return oflash_error_set(OFLASH_EPROTECTED,
                                "the option bytes stayed locked after the unlock keys (FLASH_CR "
                                "0x%08X)",
                                cr);
    if (oflash_probe_write_u32(probe, optr_addr, (optr & ~L4_OPTR_RDP_MASK) | byte) < 0 ||
        oflash_probe_write_u32(probe, cr_addr, cr | L4_CR_OPTSTRT) < 0)
        return oflash_error_prefix("writing FLASH_OPTR: ");
    rc = l4_wait_bsy(&sr, probe, level == 0 ? "option bytes and mass erase" : "option bytes");
    if (rc)
        return rc;
    if (sr & L4_SR_ERRORS) {
        (void)oflash_probe_write_u32(probe, cr_addr, L4_CR_LOCK);
        return oflash_error_set((sr & L4_SR_WRPERR) ? OFLASH_EPROTECTED : OFLASH_ETARGET,
                                "the chip refused to program the option bytes (FLASH_SR 0x%08X%s)",
                                sr, (sr & L4_SR_WRPERR) ? ": WRPERR" : "");
    }
    /* Load the new option bytes: a system reset, as on silicon (the core
     * stays halted under the debugger); then FLASH_CR is locked again. */
    if (oflash_probe_write_u32(probe, cr_addr, cr | L4_CR_OBL_LAUNCH) < 0)
        return oflash_error_prefix("loading the option bytes (FLASH_CR.OBL_LAUNCH): ");
    if (oflash_probe_read_u32(&optr, probe, optr_addr) < 0)
        return oflash_error_prefix("reading FLASH_OPTR back: ");
    if (l4_rdp_level(optr) != level)
        return oflash_error_set(OFLASH_ETARGET,
                                "the option bytes read back level %d (FLASH_OPTR 0x%08X), not %d",
                                l4_rdp_level(optr), optr, level);
    return 0;
}

/* Typical page erase time: tERASE 22.02 ms for a 2 KB page (STM32L476
 * datasheet, "Flash memory characteristics"; the simulated chip's
 * T_ERASE_PAGE). */
static uint32_t l4_erase_time_us(const oflash_device *dev, uint32_t sector_size)
{
    (void)dev;
    (void)sector_size;
    return 22020u;
}

const oflash_family_ops oflash_family_stm32l4 = {
    .version = OFLASH_FAMILY_OPS_VERSION,
    .name = "stm32l4",
    .description = "STM32L47x/L48x (RM0351)",
    .devices = oflash__stm32l4_devices,
    .device_count = &oflash__stm32l4_device_count,
    .loader = {.name = "stm32l4",
               .image = oflash__loader_stm32l4,
               .size = &oflash__loader_stm32l4_size},
    .id = {.idcode_addr = L4_DBGMCU_IDCODE,
           .dev_id_mask = 0xFFF,
           .flash_size_addr = L4_FSIZE_ADDR,
           .uid_addr = L4_UID_ADDR,
           .uid_len = 12},
    .check_protection = l4_check_protection,
    .loader_init_arg = NULL,
    .loader_result = l4_loader_result,
    .otp_rules = l4_otp_rules,
    .pack_match = l4_pack_match,
    .sim = &oflash__stm32l4_sim,
    .guards = l4_guards,
    .guard_count = sizeof l4_guards / sizeof l4_guards[0],
    .rdp_get = l4_rdp_get,
    .rdp_set = l4_rdp_set,
    .crc_unit = {.dr = L4_CRC_BASE,
                 .cr = L4_CRC_BASE + 8u,
                 .enable_reg = L4_RCC_BASE + L4_RCC_AHB1ENR,
                 .enable_bit = 1u << 12},
    .erase_time_us = l4_erase_time_us,
};
