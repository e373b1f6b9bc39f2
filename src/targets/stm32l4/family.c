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
    .crc_unit = {.dr = L4_CRC_BASE,
                 .cr = L4_CRC_BASE + 8u,
                 .enable_reg = L4_RCC_BASE + L4_RCC_AHB1ENR,
                 .enable_bit = 1u << 12},
};
