/*
 * devices.c - built-in STM32F401/F411/F405/F407/F427/F429 descriptions.
 *
 * Follows RM0368 rev 5 (STM32F401xB/C/D/E), RM0383 rev 3 (STM32F411xC/E) and
 * RM0090 rev 19 (STM32F405/407/415/417/427/429/437/439):
 *  - main flash at 0x08000000: 4 x 16 KiB, 1 x 64 KiB, then 128 KiB sectors;
 *    2 MiB F42x/F43x have a second bank of the same layout at 0x08100000
 *    (sectors 12..23, encoded in FLASH_CR.SNB as 16..27);
 *  - OTP: 16 blocks of 32 bytes at 0x1FFF7800, one lock byte per block at
 *    0x1FFF7A00 (0x00 = locked, 0xFF = open; nothing else is allowed);
 *  - DBGMCU_IDCODE at 0xE0042000, flash size (KiB, u16) at 0x1FFF7A22,
 *    96-bit unique ID at 0x1FFF7A10, option bytes at 0x1FFFC000.
 * Everything here is data; the flash loader for all of them is the built-in
 * "stm32f4" FLM (loader/), the family's ops table is in family.c.
 */
#include "stm32f4.h"

#define KB 1024u

#define S16(n, a)                                                                                  \
    {                                                                                              \
        0x08000000u + (a), 16 * KB, n                                                              \
    }
#define S64(n, a)                                                                                  \
    {                                                                                              \
        0x08000000u + (a), 64 * KB, n                                                              \
    }
#define S128(n, a)                                                                                 \
    {                                                                                              \
        0x08000000u + (a), 128 * KB, n                                                             \
    }

/* One table for the largest layout; smaller parts use a prefix of it. */
static const oflash_sector f4_sectors[] = {
    S16(0, 0x00000),    S16(1, 0x04000),    S16(2, 0x08000),    S16(3, 0x0C000),
    S64(4, 0x10000),    S128(5, 0x20000),   S128(6, 0x40000),   S128(7, 0x60000),
    S128(8, 0x80000),   S128(9, 0xA0000),   S128(10, 0xC0000),  S128(11, 0xE0000),
    S16(12, 0x100000),  S16(13, 0x104000),  S16(14, 0x108000),  S16(15, 0x10C000),
    S64(16, 0x110000),  S128(17, 0x120000), S128(18, 0x140000), S128(19, 0x160000),
    S128(20, 0x180000), S128(21, 0x1A0000), S128(22, 0x1C0000), S128(23, 0x1E0000),
};

#define B(n)                                                                                       \
    {                                                                                              \
        0x1FFF7800u + 32u * (n), 32, n                                                             \
    }
static const oflash_sector f4_otp_blocks[16] = {
    B(0), B(1), B(2),  B(3),  B(4),  B(5),  B(6),  B(7),
    B(8), B(9), B(10), B(11), B(12), B(13), B(14), B(15),
};
#define L(n)                                                                                       \
    {                                                                                              \
        0x1FFF7A00u + (n), 1, n                                                                    \
    }
static const oflash_sector f4_lock_bytes[16] = {
    L(0), L(1), L(2),  L(3),  L(4),  L(5),  L(6),  L(7),
    L(8), L(9), L(10), L(11), L(12), L(13), L(14), L(15),
};

#define F4_BANKS(nsect, kb)                                                                        \
    {                                                                                              \
        {.name = "flash",                                                                          \
         .kind = OFLASH_BANK_FLASH,                                                                \
         .base = F4_FLASH_BASE,                                                                    \
         .size = (kb)*KB,                                                                          \
         .page_size = 1024,                                                                        \
         .erased_value = 0xFF,                                                                     \
         .sectors = f4_sectors,                                                                    \
         .sector_count = (nsect),                                                                  \
         .loader_name = "stm32f4"},                                                                \
            {.name = "otp",                                                                        \
             .kind = OFLASH_BANK_OTP,                                                              \
             .base = F4_OTP_BASE,                                                                  \
             .size = F4_OTP_SIZE,                                                                  \
             .page_size = F4_OTP_BLOCK,                                                            \
             .erased_value = 0xFF,                                                                 \
             .sectors = f4_otp_blocks,                                                             \
             .sector_count = F4_OTP_BLOCKS,                                                        \
             .loader_name = "stm32f4"},                                                            \
            {.name = "otp-lock",                                                                   \
             .kind = OFLASH_BANK_OTP_LOCK,                                                         \
             .base = F4_LOCK_BASE,                                                                 \
             .size = F4_LOCK_SIZE,                                                                 \
             .page_size = 1,                                                                       \
             .erased_value = 0xFF,                                                                 \
             .sectors = f4_lock_bytes,                                                             \
             .sector_count = F4_OTP_BLOCKS,                                                        \
             .loader_name = "stm32f4"},                                                            \
    }

static const oflash_bank banks_128k[] = F4_BANKS(5, 128);
static const oflash_bank banks_256k[] = F4_BANKS(6, 256);
static const oflash_bank banks_384k[] = F4_BANKS(7, 384);
static const oflash_bank banks_512k[] = F4_BANKS(8, 512);
static const oflash_bank banks_1m[] = F4_BANKS(12, 1024);
static const oflash_bank banks_2m[] = F4_BANKS(24, 2048);

#define F4_REGIONS(ramkb)                                                                          \
    {                                                                                              \
        {"sram", OFLASH_REGION_RAM, 0x20000000u, (ramkb)*KB},                                      \
            {"system memory", OFLASH_REGION_SYSMEM, 0x1FFF0000u, 0x7800},                          \
            {"unique id / flash size", OFLASH_REGION_ID, 0x1FFF7A10u, 0x14},                       \
            {"option bytes", OFLASH_REGION_OPTION, 0x1FFFC000u, 0x10},                             \
            {"peripherals", OFLASH_REGION_PERIPH, 0x40000000u, 0x20000000u},                       \
    }
static const oflash_region regions_64k[] = F4_REGIONS(64);
static const oflash_region regions_96k[] = F4_REGIONS(96);
static const oflash_region regions_128k[] = F4_REGIONS(128);
static const oflash_region regions_192k[] = F4_REGIONS(192);

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Family data: what the loader-independent code of this folder needs. */
static const f4_part f4_single = {.dual_bank = false};
static const f4_part f4_dual = {.dual_bank = true};

#define F4_DEVICE(nm, al, id, kb, bk, ramkb, rg, dual)                                             \
    {                                                                                              \
        .name = nm, .aliases = al, .vendor = "STMicroelectronics", .family = "stm32f4",            \
        .core = "Cortex-M4", .source = "built-in", .work_ram_start = F4_SRAM_BASE,                 \
        .work_ram_size = (ramkb)*KB, .has_id = 1, .dev_id = id, .flash_size_kb = kb,               \
        .family_ops = &oflash_family_stm32f4, .family_data = (dual) ? &f4_dual : &f4_single,       \
        .banks = bk, .bank_count = N(bk), .regions = rg, .region_count = N(rg), .extends = 0       \
    }

static const char *const al_401b[] = {"STM32F401CB", "STM32F401RB", "STM32F401VB", 0};
static const char *const al_401c[] = {"STM32F401CC", "STM32F401RC", "STM32F401VC", 0};
static const char *const al_401d[] = {"STM32F401CD", "STM32F401RD", "STM32F401VD", 0};
static const char *const al_401e[] = {"STM32F401CE", "STM32F401RE", "STM32F401VE", 0};
static const char *const al_411c[] = {"STM32F411CC", "STM32F411RC", "STM32F411VC", 0};
static const char *const al_411e[] = {"STM32F411CE", "STM32F411RE", "STM32F411VE", 0};
static const char *const al_405g[] = {"STM32F405RG", "STM32F405VG", "STM32F405ZG", 0};
static const char *const al_407g[] = {"STM32F407VG", "STM32F407ZG", "STM32F407IG", 0};
static const char *const al_427i[] = {"STM32F427VI", "STM32F427ZI", "STM32F427II", 0};
static const char *const al_429i[] = {"STM32F429VI", "STM32F429ZI", "STM32F429II",
                                      "STM32F429BI", "STM32F429NI", 0};

const oflash_device oflash__stm32f4_devices[] = {
    F4_DEVICE("STM32F401xB", al_401b, 0x423, 128, banks_128k, 64, regions_64k, 0),
    F4_DEVICE("STM32F401xC", al_401c, 0x423, 256, banks_256k, 64, regions_64k, 0),
    F4_DEVICE("STM32F401xD", al_401d, 0x433, 384, banks_384k, 96, regions_96k, 0),
    F4_DEVICE("STM32F401xE", al_401e, 0x433, 512, banks_512k, 96, regions_96k, 0),
    F4_DEVICE("STM32F411xC", al_411c, 0x431, 256, banks_256k, 128, regions_128k, 0),
    F4_DEVICE("STM32F411xE", al_411e, 0x431, 512, banks_512k, 128, regions_128k, 0),
    F4_DEVICE("STM32F405xG", al_405g, 0x413, 1024, banks_1m, 128, regions_128k, 0),
    F4_DEVICE("STM32F407xG", al_407g, 0x413, 1024, banks_1m, 128, regions_128k, 0),
    F4_DEVICE("STM32F427xI", al_427i, 0x419, 2048, banks_2m, 192, regions_192k, 1),
    F4_DEVICE("STM32F429xI", al_429i, 0x419, 2048, banks_2m, 192, regions_192k, 1),
};

const size_t oflash__stm32f4_device_count = N(oflash__stm32f4_devices);
