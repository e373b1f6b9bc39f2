/*
 * family.c - the STM32F7 family (F74x/F75x, F76x/F77x): write protection
 * and bank mode, the arguments and results of its own loader, OTP rules,
 * identity registers, pack matching; the const ops table at the end is
 * what the generic layers see.
 *
 * Follows RM0385 rev 8 §3.4-§3.7 and RM0410 rev 4 §3.4-§3.7 (details in
 * stm32f7_regs.h):
 *  - FLASH_OPTCR nWRPi (bit 16 + i) is 0 when sector i is write-protected
 *    (F74x: 8 bits; F76x: 12 bits; F76x dual bank: nWRPi covers sectors 2i
 *    and 2i+1);
 *  - F76x FLASH_OPTCR.nDBANK (bit 29): 1 single bank (32/128/256 KB
 *    sectors), 0 dual bank (16/64/128 KB sectors in two banks).  The sector
 *    list of a device entry is one of the two, so a chip in the other mode
 *    is refused before anything is written ("-DB" entries are dual bank);
 *  - OTP: 16 blocks of 64 bytes at 0x1FF0F000, one lock byte per block at
 *    0x1FF0F400 (0x00 locked, 0xFF open, nothing else);
 *  - DBGMCU_IDCODE 0xE0042000 (DEV_ID 0x449 F74x/F75x, 0x451 F76x/F77x),
 *    flash size 0x1FF0F442 (u16 KiB), unique ID 0x1FF0F420 (96 bits).
 */
#include "stm32f7.h"
#include "targets/common/stm32_optcr_rdp.h"

#include "oflash/error.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- bank mode and write protection ---- */

static int f7_check_protection(const oflash_device *dev, oflash_probe *probe,
                               const oflash_sector *const *sectors, size_t n)
{
    const f7_part *part = f7_part_of(dev);
    uint32_t optcr;
    bool dual;
    unsigned nbits = part->f76x ? 12 : 8;
    if (n == 0) return 0;
    if (oflash_probe_read_u32(&optcr, probe, F7_FLASHIF_BASE + F7_FLASH_OPTCR) < 0)
        return oflash_error_prefix("reading FLASH_OPTCR (write protection, bank mode): ");
    dual = part->f76x && !(optcr & F7_OPTCR_NDBANK);
    if (dual != part->dual_bank) {
        /* The entry of the other layout: the same name with or without -DB. */
        char other[40];
        size_t len = strlen(dev->name);
        if (part->dual_bank && len > 3)
            snprintf(other, sizeof other, "%.*s", (int)(len - 3), dev->name);
        else
            snprintf(other, sizeof other, "%s-DB", dev->name);
        return oflash_error_set(
            OFLASH_EMISMATCH,
            "the chip's flash is in %s mode (FLASH_OPTCR 0x%08X: nDBANK = %u) but %s describes "
            "the %s sector layout; nothing was written: use --device %s",
            dual ? "dual bank" : "single bank", optcr, dual ? 0u : 1u, dev->name,
            part->dual_bank ? "dual bank" : "single bank", other);
    }
    for (size_t i = 0; i < n; i++) {
        const oflash_sector *s = sectors[i];
        unsigned bit = dual ? s->number / 2u : s->number;
        if (bit >= nbits || (optcr >> (F7_OPTCR_NWRP_SHIFT + bit)) & 1u) continue;
        return oflash_error_set(OFLASH_EPROTECTED,
                                "sector %u (0x%08X-0x%08X) is write-protected by the option bytes "
                                "(FLASH_OPTCR 0x%08X: nWRP%u = 0%s); nothing was written: remove "
                                "the protection first",
                                s->number, s->addr, s->addr + s->size - 1, optcr, bit,
                                dual ? ", which covers two sectors in dual bank mode" : "");
    }
    return 0;
}

/* ---- our loader ---- */

static uint32_t f7_loader_init_arg(const oflash_device *dev, const oflash_family_session *session)
{
    (void)dev;
    /* Without the magic the loader programs x32 (2.7-3.6 V). */
    return session && session->have_psize ? F7_INIT_ARG(session->psize) : 0;
}

static const char *f7_loader_result(int *code, uint32_t r)
{
    *code = OFLASH_ETARGET;
    switch (r) {
    case F7_SR_OPERR:
        return "OPERR: operation error";
    case F7_SR_WRPERR:
        *code = OFLASH_EPROTECTED;
        return "WRPERR: write protection error (sector write protected or OTP block locked)";
    case F7_SR_PGAERR:
        return "PGAERR: programming alignment error";
    case F7_SR_PGPERR:
        return "PGPERR: programming parallelism error";
    case F7_SR_ERSERR:
        return "ERSERR: erase/program sequence error";
    case F7_EADDR:
        *code = OFLASH_ERANGE;
        return "address outside main flash, OTP and OTP lock bytes";
    case F7_EALIGN:
        return "address or length not aligned to the program size";
    case F7_ETIMEOUT:
        *code = OFLASH_ETIMEOUT;
        return "flash stayed busy (BSY) past the loader's limit";
    case F7_ELOCKED:
        return "FLASH_CR stayed locked after the unlock keys";
    case F7_ENOERASE:
        *code = OFLASH_ERANGE;
        return "OTP cannot be erased";
    default:
        return (r & ~F7_SR_ERRORS) == 0 ? "several FLASH_SR error bits" : "unknown code";
    }
}

/* ---- OTP ---- */

static int f7_otp_rules(const oflash_device *dev, oflash_otp_rules *r)
{
    (void)dev;
    memset(r, 0, sizeof *r);
    r->kind = OFLASH_OTP_BLOCK_LOCK;
    r->data_base = F7_OTP_BASE;
    r->data_size = F7_OTP_SIZE;
    r->block_size = F7_OTP_BLOCK_SIZE;
    r->lock_base = F7_LOCK_BASE;
    r->lock_count = F7_OTP_BLOCKS;
    r->write_unit = 1;
    r->erased = 0xFF;
    return 0;
}

/* ---- packs ---- */

static bool f7_pack_match(const oflash_device **part, const char *vendor, const char *family,
                          const char *device)
{
    *part = NULL;
    if (vendor && strncasecmp(vendor, "STMicroelectronics", 18) != 0) return false;
    for (size_t i = 0; device && i < oflash__stm32f7_device_count; i++) {
        const oflash_device *d = &oflash__stm32f7_devices[i];
        bool match;
        if (f7_part_of(d)->dual_bank)
            continue; /* packs describe the factory (single bank) layout */
        match = strcasecmp(d->name, device) == 0;
        for (const char *const *a = d->aliases; a && *a && !match; a++)
            match = strcasecmp(*a, device) == 0;
        if (match) {
            *part = d;
            return true;
        }
    }
    /* "STM32F7 Series": only the F74x..F77x share this OTP layout; the
     * F72x/F73x (RM0431) have theirs elsewhere, so a family match needs a
     * device name of these lines. */
    return family && strncasecmp(family, "STM32F7", 7) == 0 && device &&
           (strncasecmp(device, "STM32F74", 8) == 0 || strncasecmp(device, "STM32F75", 8) == 0 ||
            strncasecmp(device, "STM32F76", 8) == 0 || strncasecmp(device, "STM32F77", 8) == 0);
}

/* Guarded registers (RM0385 §3.7, RM0410 §3.7): the KEYR sequence unlocks
 * FLASH_CR for main flash and OTP programming, OPTKEYR unlocks FLASH_OPTCR,
 * and OPTCR/OPTCR1 with OPTSTRT program the option bytes (RDP, nWRP,
 * nDBANK, BOOT_ADD0/1).  The option bytes themselves (0x1FFF0000) are a
 * region of every device. */
static const oflash_guard_reg f7_guards[] = {
    {"FLASH_KEYR", OFLASH_GUARD_OTP, F7_FLASHIF_BASE + F7_FLASH_KEYR, 4},
    {"FLASH_OPTKEYR", OFLASH_GUARD_OPTION_BYTES, F7_FLASHIF_BASE + F7_FLASH_OPTKEYR, 4},
    {"FLASH_OPTCR", OFLASH_GUARD_OPTION_BYTES, F7_FLASHIF_BASE + F7_FLASH_OPTCR, 4},
    {"FLASH_OPTCR1", OFLASH_GUARD_OPTION_BYTES, F7_FLASHIF_BASE + F7_FLASH_OPTCR1, 4},
};

/* ---- readout protection: FLASH_OPTCR RDP byte as on the F4 (RM0385 rev 8
 * §3.7.3, RM0410 §3.7.3; targets/common/stm32_optcr_rdp.c) ---- */

static const stm32_optcr_regs f7_optcr = {
    .sr = F7_FLASHIF_BASE + F7_FLASH_SR,
    .optkeyr = F7_FLASHIF_BASE + F7_FLASH_OPTKEYR,
    .optcr = F7_FLASHIF_BASE + F7_FLASH_OPTCR,
    .optkey1 = F7_FLASH_OPTKEY1,
    .optkey2 = F7_FLASH_OPTKEY2,
    .sr_bsy = F7_SR_BSY,
    .sr_errors = F7_SR_ERRORS,
    .sr_w1c = F7_SR_W1C,
    .sr_wrperr = F7_SR_WRPERR,
    .optlock = F7_OPTCR_OPTLOCK,
    .optstrt = F7_OPTCR_OPTSTRT,
};

static int f7_rdp_get(int *level, const oflash_device *dev, oflash_probe *probe)
{
    (void)dev;
    return oflash__stm32_optcr_rdp_get(level, &f7_optcr, probe);
}

static int f7_rdp_set(const oflash_device *dev, oflash_probe *probe, int level)
{
    (void)dev;
    return oflash__stm32_optcr_rdp_set(&f7_optcr, probe, level);
}

/* Typical sector erase time at x32 (the loader's parallelism), by the
 * sector's size class within the part: the smallest, middle and largest
 * main-flash sector size (single bank 32/128/256 KB, dual bank
 * 16/64/128 KB) take 250 ms, 550 ms and 1 s -- the figures the simulated
 * chip uses (sim.c, erase_ps), the F4's flash cells. */
static uint32_t f7_erase_time_us(const oflash_device *dev, uint32_t sector_size)
{
    static const uint32_t us[3] = {250000u, 550000u, 1000000u};
    unsigned smaller = 0; /* distinct main-flash sector sizes below sector_size */
    uint32_t seen[3] = {0};
    for (size_t b = 0; dev && b < dev->bank_count; b++) {
        const oflash_bank *bank = &dev->banks[b];
        if (bank->kind != OFLASH_BANK_FLASH) continue;
        for (size_t i = 0; i < bank->sector_count; i++) {
            uint32_t z = bank->sectors[i].size;
            if (z >= sector_size || z == seen[0] || z == seen[1] || z == seen[2]) continue;
            if (smaller < 3) seen[smaller] = z;
            smaller++;
        }
    }
    return us[smaller > 2 ? 2 : smaller];
}

const oflash_family_ops oflash_family_stm32f7 = {
    .version = OFLASH_FAMILY_OPS_VERSION,
    .name = "stm32f7",
    .description = "STM32F74x/F75x, F76x/F77x (RM0385, RM0410)",
    .devices = oflash__stm32f7_devices,
    .device_count = &oflash__stm32f7_device_count,
    .loader = {.name = "stm32f7",
               .image = oflash__loader_stm32f7,
               .size = &oflash__loader_stm32f7_size},
    .id = {.idcode_addr = F7_DBGMCU_IDCODE,
           .dev_id_mask = 0xFFF,
           .flash_size_addr = F7_FSIZE_ADDR,
           .uid_addr = F7_UID_ADDR,
           .uid_len = 12},
    .check_protection = f7_check_protection,
    .loader_init_arg = f7_loader_init_arg,
    .loader_result = f7_loader_result,
    .otp_rules = f7_otp_rules,
    .pack_match = f7_pack_match,
    .sim = &oflash__stm32f7_sim,
    .guards = f7_guards,
    .guard_count = sizeof f7_guards / sizeof f7_guards[0],
    .rdp_get = f7_rdp_get,
    .rdp_set = f7_rdp_set,
    .crc_unit = {.dr = F7_CRC_BASE,
                 .cr = F7_CRC_BASE + 8u,
                 .enable_reg = F7_RCC_BASE + 0x30u,
                 .enable_bit = 1u << 12},
    .erase_time_us = f7_erase_time_us,
};
