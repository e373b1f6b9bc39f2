/*
 * devices.c - built-in STM32L471/L475/L476/L486 (1 MB, "xG") descriptions.
 *
 * Follows RM0351 rev 9 (facts and sections in stm32l4_regs.h) and the
 * datasheets DS10198 (L476), DS10969 (L475), DS11585 (L471), DS10199 (L486):
 *  - main flash 1 MB at 0x08000000, two banks of 256 pages of 2 KB; the
 *    reference manual numbers bank 2's pages 256..511 (FLASH_CR: BKER = 1,
 *    PNB = number - 256);
 *  - OTP 1 KB at 0x1FFF7000, written once per 64-bit double word, no lock
 *    bytes;
 *  - SRAM1 96 KB at 0x20000000 (the loader's work RAM), SRAM2 32 KB at
 *    0x10000000;
 *  - DBGMCU_IDCODE DEV_ID 0x415, flash size (KB, u16) at 0x1FFF75E0, 96-bit
 *    unique ID at 0x1FFF7590, option bytes at 0x1FFF7800 (bank 1) and
 *    0x1FFFF800 (bank 2).
 * Everything here is data; the flash loader for all of them is the built-in
 * "stm32l4" FLM (loader/flash_l4.c).
 */
#include "stm32l4.h"

#define KB 1024u

/* 512 pages of 2 KB: P1 makes one, the others repeat it. */
#define P1(n)                                                                                      \
    {                                                                                              \
        L4_FLASH_BASE + (n)*L4_PAGE_SIZE, L4_PAGE_SIZE, (n)                                        \
    }
#define P4(n) P1(n), P1((n) + 1), P1((n) + 2), P1((n) + 3)
#define P16(n) P4(n), P4((n) + 4), P4((n) + 8), P4((n) + 12)
#define P64(n) P16(n), P16((n) + 16), P16((n) + 32), P16((n) + 48)
#define P256(n) P64(n), P64((n) + 64), P64((n) + 128), P64((n) + 192)
static const oflash_sector l4_pages[512] = {P256(0), P256(256)};

/* OTP: 128 write-once double words. */
#define D1(n)                                                                                      \
    {                                                                                              \
        L4_OTP_BASE + (n)*L4_DWORD, L4_DWORD, (n)                                                  \
    }
#define D4(n) D1(n), D1((n) + 1), D1((n) + 2), D1((n) + 3)
#define D16(n) D4(n), D4((n) + 4), D4((n) + 8), D4((n) + 12)
#define D64(n) D16(n), D16((n) + 16), D16((n) + 32), D16((n) + 48)
static const oflash_sector l4_otp_dwords[128] = {D64(0), D64(64)};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const oflash_bank l4_banks_1m[] = {
    {.name = "flash",
     .kind = OFLASH_BANK_FLASH,
     .base = L4_FLASH_BASE,
     .size = 1024 * KB,
     .page_size = L4_PAGE_SIZE,
     .erased_value = 0xFF,
     .write_unit = L4_DWORD,
     .sectors = l4_pages,
     .sector_count = N(l4_pages),
     .loader_name = "stm32l4"},
    {.name = "otp",
     .kind = OFLASH_BANK_OTP,
     .base = L4_OTP_BASE,
     .size = L4_OTP_SIZE,
     .page_size = L4_OTP_SIZE,
     .erased_value = 0xFF,
     .write_unit = L4_DWORD,
     .sectors = l4_otp_dwords,
     .sector_count = N(l4_otp_dwords),
     .loader_name = "stm32l4"},
};

static const oflash_region l4_regions[] = {
    {"sram1", OFLASH_REGION_RAM, L4_SRAM1_BASE, 96 * KB},
    {"sram2", OFLASH_REGION_RAM, L4_SRAM2_BASE, 32 * KB},
    {"system memory", OFLASH_REGION_SYSMEM, L4_SYSMEM_BASE, L4_SYSMEM_SIZE},
    {"unique id / flash size", OFLASH_REGION_ID, 0x1FFF7500u, 0x100},
    {"option bytes (bank 1)", OFLASH_REGION_OPTION, L4_OPT1_BASE, L4_OPT_SIZE},
    {"option bytes (bank 2)", OFLASH_REGION_OPTION, L4_OPT2_BASE, L4_OPT_SIZE},
    {"peripherals", OFLASH_REGION_PERIPH, 0x40000000u, 0x20000000u},
};

#define L4_DEVICE(nm, al)                                                                          \
    {                                                                                              \
        .name = nm, .aliases = al, .vendor = "STMicroelectronics", .family = "stm32l4",            \
        .core = "Cortex-M4", .source = "built-in", .work_ram_start = L4_SRAM1_BASE,                \
        .work_ram_size = 96 * KB, .has_id = 1, .dev_id = L4_DEV_ID, .flash_size_kb = 1024,         \
        .family_ops = &oflash_family_stm32l4, .family_data = 0, .banks = l4_banks_1m,              \
        .bank_count = N(l4_banks_1m), .regions = l4_regions, .region_count = N(l4_regions),        \
        .extends = 0                                                                               \
    }

static const char *const al_471g[] = {"STM32L471RG", "STM32L471VG", "STM32L471ZG", "STM32L471QG",
                                      0};
static const char *const al_475g[] = {"STM32L475RG", "STM32L475VG", 0};
static const char *const al_476g[] = {
    "STM32L476RG", "STM32L476VG", "STM32L476ZG", "STM32L476JG", "STM32L476MG", "STM32L476QG", 0};
static const char *const al_486g[] = {"STM32L486RG", "STM32L486VG", "STM32L486ZG",
                                      "STM32L486JG", "STM32L486QG", 0};

const oflash_device oflash__stm32l4_devices[] = {
    L4_DEVICE("STM32L476xG", al_476g),
    L4_DEVICE("STM32L471xG", al_471g),
    L4_DEVICE("STM32L475xG", al_475g),
    L4_DEVICE("STM32L486xG", al_486g),
};

const size_t oflash__stm32l4_device_count = N(oflash__stm32l4_devices);
