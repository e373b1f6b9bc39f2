/*
 * family.c - the STM32F2/F4 family: write protection, the arguments and
 * results of its own loader, OTP rules, identity registers, pack matching;
 * the const ops table at the end is what the generic layers see.
 *
 * Follows RM0368 rev 5 §3.5-§3.8 (F401), RM0383 rev 3 (F411), RM0090
 * rev 19 §3.7-§3.9 (F405/407/427/429), RM0033 rev 9 (F2), RM0401 (F410),
 * RM0402 (F412), RM0430 (F413/F423), RM0390 (F446), RM0386 (F469/F479):
 *  - FLASH_OPTCR nWRPi (bit 16 + i) is 0 when sector i is write-protected;
 *    with SPRMOD (bit 31) set the bits select PCROP and 1 = protected;
 *    FLASH_OPTCR1 holds sectors 12..23 of 2 MiB parts; the single-bank
 *    F413/F423 keeps nWRP12..14 in OPTCR (nWRP14: sectors 14 and 15);
 *  - OTP: 16 blocks of 32 bytes at 0x1FFF7800, one lock byte per block at
 *    0x1FFF7A00 (0x00 locked, 0xFF open, nothing else: RM0090 §3.8);
 *  - DBGMCU_IDCODE 0xE0042000 (DEV_ID 11:0), flash size 0x1FFF7A22 (u16
 *    KiB), unique ID 0x1FFF7A10 (96 bits).
 */
#include "stm32f4.h"
#include "targets/common/stm32_optcr_rdp.h"

#include "common/error_internal.h"
#include "oflash/error.h"

#include <string.h>
#include <strings.h>

/* ---- write protection ---- */

static int f4_check_protection(const oflash_device *dev, oflash_probe *probe,
                               const oflash_sector *const *sectors, size_t n)
{
    uint32_t optcr = 0, optcr1 = 0xFFFFFFFFu;
    bool have = false;
    for (size_t i = 0; i < n; i++) {
        const oflash_sector *s = sectors[i];
        unsigned num = s->number, bit;
        uint32_t reg;
        bool prot;
        bool dual = f4_part_of(dev)->dual_bank;
        if (num >= 24) continue;
        if (!have) {
            if (oflash_probe_read_u32(&optcr, probe, F4_FLASHIF_BASE + F4_FLASH_OPTCR) < 0)
                return oflash_error_prefix("reading FLASH_OPTCR (write protection): ");
            if (f4_part_of(dev)->dual_bank &&
                oflash_probe_read_u32(&optcr1, probe, F4_FLASHIF_BASE + F4_FLASH_OPTCR1) < 0)
                return oflash_error_prefix("reading FLASH_OPTCR1 (write protection): ");
            have = true;
            /* 1 MiB F42x/F43x/F469/F479 with OPTCR.DB1M (bit 30) set are two
             * banks of 512 KiB (sectors 0-7 and 12-19): another layout than
             * the one described here (RM0090 §3.4 Table 9, §3.9.10; RM0386),
             * where an erase of sector 8-11 is silently not performed. */
            if (!f4_part_of(dev)->dual_bank && dev->flash_size_kb == 1024 &&
                (dev->dev_id == 0x419 || dev->dev_id == 0x434) && (optcr & F4_OPTCR_DB1M)) {
                oflash_error_set(
                    OFLASH_EUNSUPPORTED,
                    "this %s is set to dual-bank mode by its option bytes (DB1M = 1): its "
                    "flash is then divided differently from the normal single-bank layout "
                    "oflash programs, so nothing was written. Set the chip back to single-bank "
                    "mode (clear the DB1M option bit, e.g. with STM32CubeProgrammer) and "
                    "program it again",
                    dev->name);
                return oflash__error_detail("FLASH_OPTCR 0x%08X: bit 30 (DB1M) set", optcr);
            }
        }
        /* Dual bank: sectors 12..23 in OPTCR1.  One bank of 16 sectors
         * (F413/F423, RM0430): nWRP12..14 follow in OPTCR, nWRP14 covers
         * sectors 14 and 15. */
        reg = (num < 12 || !dual) ? optcr : optcr1;
        bit = F4_OPTCR_NWRP_SHIFT + (dual ? num % 12 : (num < 15 ? num : 14));
        prot = (optcr & F4_OPTCR_SPRMOD) ? (reg >> bit) & 1 : !((reg >> bit) & 1);
        if (!prot) continue;
        return oflash_error_set(OFLASH_EPROTECTED,
                                "sector %u (0x%08X-0x%08X) is write-protected by the option bytes "
                                "(%s 0x%08X: nWRP%u %s); nothing was written: remove the "
                                "protection first",
                                num, s->addr, s->addr + s->size - 1,
                                reg == optcr ? "FLASH_OPTCR" : "FLASH_OPTCR1", reg,
                                bit - F4_OPTCR_NWRP_SHIFT,
                                (optcr & F4_OPTCR_SPRMOD) ? "= 1 with SPRMOD (PCROP)" : "= 0");
    }
    return 0;
}

/* ---- our loader ---- */

static uint32_t f4_loader_init_arg(const oflash_device *dev, const oflash_family_session *session)
{
    (void)dev;
    /* Without the magic the loader programs x32 (2.7-3.6 V). */
    return session && session->have_psize ? F4_INIT_PSIZE(session->psize) : 0;
}

static const char *f4_loader_result(int *code, uint32_t r)
{
    *code = OFLASH_ETARGET;
    switch (r) {
    case F4_SR_OPERR:
        return "OPERR: operation error";
    case F4_SR_WRPERR:
        *code = OFLASH_EPROTECTED;
        return "WRPERR: write protection error (sector write protected or OTP block locked)";
    case F4_SR_PGAERR:
        return "PGAERR: programming alignment error";
    case F4_SR_PGPERR:
        return "PGPERR: programming parallelism error";
    case F4_SR_PGSERR:
        return "PGSERR: programming sequence error";
    case F4_SR_RDERR:
        return "RDERR: read protection error";
    case F4_EADDR:
        *code = OFLASH_ERANGE;
        return "address outside main flash, OTP and OTP lock bytes";
    case F4_EALIGN:
        return "address or length not aligned to the program size";
    case F4_ETIMEOUT:
        *code = OFLASH_ETIMEOUT;
        return "flash stayed busy (BSY) past the loader's limit";
    case F4_ELOCKED:
        return "FLASH_CR stayed locked after the unlock keys";
    case F4_ENOERASE:
        *code = OFLASH_ERANGE;
        return "OTP cannot be erased";
    default:
        return (r & ~F4_SR_ERRORS) == 0 ? "several FLASH_SR error bits" : "unknown code";
    }
}

/* ---- OTP ---- */

static int f4_otp_rules(const oflash_device *dev, oflash_otp_rules *r)
{
    (void)dev;
    memset(r, 0, sizeof *r);
    r->kind = OFLASH_OTP_BLOCK_LOCK;
    r->data_base = F4_OTP_BASE;
    r->data_size = F4_OTP_SIZE;
    r->block_size = F4_OTP_BLOCK;
    r->lock_base = F4_LOCK_BASE;
    r->lock_count = F4_OTP_BLOCKS;
    r->write_unit = 1;
    r->erased = 0xFF;
    return 0;
}

/* ---- readout protection: FLASH_OPTCR RDP byte (targets/common/stm32_optcr_rdp.c) ---- */

static const stm32_optcr_regs f4_optcr = {
    .sr = F4_FLASHIF_BASE + F4_FLASH_SR,
    .optkeyr = F4_FLASHIF_BASE + F4_FLASH_OPTKEYR,
    .optcr = F4_FLASHIF_BASE + F4_FLASH_OPTCR,
    .optkey1 = F4_FLASH_OPTKEY1,
    .optkey2 = F4_FLASH_OPTKEY2,
    .sr_bsy = F4_SR_BSY,
    .sr_errors = F4_SR_ERRORS,
    .sr_w1c = F4_SR_W1C,
    .sr_wrperr = F4_SR_WRPERR,
    .optlock = F4_OPTCR_OPTLOCK,
    .optstrt = F4_OPTCR_OPTSTRT,
};

static int f4_rdp_get(int *level, const oflash_device *dev, oflash_probe *probe)
{
    (void)dev;
    return oflash__stm32_optcr_rdp_get(level, &f4_optcr, probe);
}

static int f4_rdp_set(const oflash_device *dev, oflash_probe *probe, int level)
{
    (void)dev;
    return oflash__stm32_optcr_rdp_set(&f4_optcr, probe, level);
}

/* ---- packs ---- */

static bool f4_pack_match(const oflash_device **part, const char *vendor, const char *family,
                          const char *device)
{
    *part = NULL;
    if (vendor && strncasecmp(vendor, "STMicroelectronics", 18) != 0) return false;
    for (size_t i = 0; device && i < oflash__stm32f4_device_count; i++) {
        const oflash_device *d = &oflash__stm32f4_devices[i];
        bool match = strcasecmp(d->name, device) == 0;
        for (const char *const *a = d->aliases; a && *a && !match; a++)
            match = strcasecmp(*a, device) == 0;
        if (match) {
            *part = d;
            return true;
        }
    }
    /* "STM32F4 Series", "STM32F2 Series"; the F4's OTP layout is the F2's. */
    return family &&
           (strncasecmp(family, "STM32F4", 7) == 0 || strncasecmp(family, "STM32F2", 7) == 0);
}

/* Guarded registers (RM0368 rev 5 §3.8, RM0090 rev 19 §3.9): the KEYR
 * sequence unlocks FLASH_CR for main flash and OTP programming, OPTKEYR
 * unlocks FLASH_OPTCR, and OPTCR/OPTCR1 with OPTSTRT program the option
 * bytes (RDP, nWRP); F42x/F43x keep bank 2's option bytes at 0x1FFEC000. */
static const oflash_guard_reg f4_guards[] = {
    {"FLASH_KEYR", OFLASH_GUARD_OTP, F4_FLASHIF_BASE + F4_FLASH_KEYR, 4},
    {"FLASH_OPTKEYR", OFLASH_GUARD_OPTION_BYTES, F4_FLASHIF_BASE + F4_FLASH_OPTKEYR, 4},
    {"FLASH_OPTCR", OFLASH_GUARD_OPTION_BYTES, F4_FLASHIF_BASE + F4_FLASH_OPTCR, 4},
    {"FLASH_OPTCR1", OFLASH_GUARD_OPTION_BYTES, F4_FLASHIF_BASE + F4_FLASH_OPTCR1, 4},
    {"option bytes of bank 2", OFLASH_GUARD_OPTION_BYTES, 0x1FFEC000u, 16},
};

/* Typical sector erase time at x32 (the loader's default parallelism):
 * tERASE16KB 250 ms, tERASE64KB 550 ms, tERASE128KB 1 s (datasheets of
 * the F401/F405/F427, "Flash memory programming" tables). */
static uint32_t f4_erase_time_us(const oflash_device *dev, uint32_t sector_size)
{
    (void)dev;
    return sector_size <= 16384u ? 250000u : sector_size <= 65536u ? 550000u : 1000000u;
}

const oflash_family_ops oflash_family_stm32f4 = {
    .version = OFLASH_FAMILY_OPS_VERSION,
    .name = "stm32f4",
    .description = "STM32F2/F4 (RM0033, RM0090, RM0368, RM0383, RM0401, RM0402, RM0430, RM0390, "
                   "RM0386)",
    .devices = oflash__stm32f4_devices,
    .device_count = &oflash__stm32f4_device_count,
    .loader = {.name = "stm32f4",
               .image = oflash__loader_stm32f4,
               .size = &oflash__loader_stm32f4_size},
    .id = {.idcode_addr = F4_DBGMCU_IDCODE,
           .dev_id_mask = 0xFFF,
           .flash_size_addr = F4_FSIZE_ADDR,
           .uid_addr = F4_UID_BASE,
           .uid_len = F4_UID_LEN},
    .check_protection = f4_check_protection,
    .loader_init_arg = f4_loader_init_arg,
    .loader_result = f4_loader_result,
    .otp_rules = f4_otp_rules,
    .pack_match = f4_pack_match,
    .sim = &oflash__stm32f4_sim,
    .guards = f4_guards,
    .guard_count = sizeof f4_guards / sizeof f4_guards[0],
    .crc_unit = {.dr = F4_CRC_BASE,
                 .cr = F4_CRC_BASE + 8u,
                 .enable_reg = F4_RCC_BASE + F4_RCC_AHB1ENR,
                 .enable_bit = 1u << 12},
    .rdp_get = f4_rdp_get,
    .rdp_set = f4_rdp_set,
    .erase_time_us = f4_erase_time_us,
};
