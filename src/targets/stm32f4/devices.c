/*
 * devices.c - built-in STM32F2 and STM32F4 descriptions: every F2/F4 part
 * the family code supports.
 *
 * Follows RM0033 rev 9 (STM32F205/207/215/217), RM0368 rev 5 (F401xB/C/D/E),
 * RM0383 rev 3 (F411xC/E), RM0090 rev 19 (F405/407/415/417/427/429/437/439),
 * RM0401 (F410), RM0402 (F412), RM0430 (F413/F423), RM0390 (F446) and RM0386
 * (F469/F479):
 *  - main flash at 0x08000000: 4 x 16 KiB, 1 x 64 KiB, then 128 KiB sectors
 *    (the 64 KiB F410x8 has only the four 16 KiB ones); 2 MiB F42x/F43x and
 *    F469/F479 have a second bank of the same layout at 0x08100000
 *    (sectors 12..23, FLASH_CR.SNB 16..27); the 1.5 MiB F413/F423 is one
 *    bank of 16 sectors (12..15: 128 KiB from 0x08100000, SNB 12..15);
 *    1 MiB F42x/F43x/F469/F479 are described in their factory single-bank
 *    layout (OPTCR.DB1M = 0; dual-bank 1 MiB mode is refused, family.c);
 *  - OTP: 16 blocks of 32 bytes at 0x1FFF7800, one lock byte per block at
 *    0x1FFF7A00 (0x00 = locked, 0xFF = open; nothing else is allowed), the
 *    same on every part listed here;
 *  - DBGMCU_IDCODE at 0xE0042000 (DEV_ID: F2 0x411, F405/7/15/17 0x413,
 *    F42x/F43x 0x419, F446 0x421, F401xB/C 0x423, F411 0x431, F401xD/E
 *    0x433, F469/F479 0x434, F412 0x441, F410 0x458, F413/F423 0x463),
 *    flash size (KiB, u16) at 0x1FFF7A22, 96-bit unique ID at 0x1FFF7A10,
 *    option bytes at 0x1FFFC000;
 *  - work RAM: the contiguous SRAM at 0x20000000 (SRAM1+SRAM2[+SRAM3]; the
 *    CCM RAM at 0x10000000 is not used).  STM32F2 parts are Cortex-M3.
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

/* F413/F423 (RM0430): one bank, sectors 12..15 are 128 KiB from +1 MiB. */
static const oflash_sector f413_sectors[] = {
    S16(0, 0x00000),    S16(1, 0x04000),    S16(2, 0x08000),    S16(3, 0x0C000),
    S64(4, 0x10000),    S128(5, 0x20000),   S128(6, 0x40000),   S128(7, 0x60000),
    S128(8, 0x80000),   S128(9, 0xA0000),   S128(10, 0xC0000),  S128(11, 0xE0000),
    S128(12, 0x100000), S128(13, 0x120000), S128(14, 0x140000), S128(15, 0x160000),
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

#define F4_BANKS(nsect, kb) F4_BANKS_OF(f4_sectors, nsect, kb)
#define F4_BANKS_OF(table, nsect, kb)                                                              \
    {                                                                                              \
        {.name = "flash",                                                                          \
         .kind = OFLASH_BANK_FLASH,                                                                \
         .base = F4_FLASH_BASE,                                                                    \
         .size = (kb)*KB,                                                                          \
         .page_size = 1024,                                                                        \
         .erased_value = 0xFF,                                                                     \
         .sectors = table,                                                                         \
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

static const oflash_bank banks_64k[] = F4_BANKS(4, 64);
static const oflash_bank banks_128k[] = F4_BANKS(5, 128);
static const oflash_bank banks_256k[] = F4_BANKS(6, 256);
static const oflash_bank banks_384k[] = F4_BANKS(7, 384);
static const oflash_bank banks_512k[] = F4_BANKS(8, 512);
static const oflash_bank banks_768k[] = F4_BANKS(10, 768);
static const oflash_bank banks_1m[] = F4_BANKS(12, 1024);
static const oflash_bank banks_1536k[] = F4_BANKS_OF(f413_sectors, 16, 1536);
static const oflash_bank banks_2m[] = F4_BANKS(24, 2048);

#define F4_REGIONS(ramkb)                                                                          \
    {                                                                                              \
        {"sram", OFLASH_REGION_RAM, 0x20000000u, (ramkb)*KB},                                      \
            {"system memory", OFLASH_REGION_SYSMEM, 0x1FFF0000u, 0x7800},                          \
            {"unique id / flash size", OFLASH_REGION_ID, 0x1FFF7A10u, 0x14},                       \
            {"option bytes", OFLASH_REGION_OPTION, 0x1FFFC000u, 0x10},                             \
            {"peripherals", OFLASH_REGION_PERIPH, 0x40000000u, 0x20000000u},                       \
    }
static const oflash_region regions_32k[] = F4_REGIONS(32);
static const oflash_region regions_64k[] = F4_REGIONS(64);
static const oflash_region regions_96k[] = F4_REGIONS(96);
static const oflash_region regions_128k[] = F4_REGIONS(128);
static const oflash_region regions_192k[] = F4_REGIONS(192);
static const oflash_region regions_256k[] = F4_REGIONS(256);
static const oflash_region regions_320k[] = F4_REGIONS(320);

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Family data: what the loader-independent code of this folder needs. */
static const f4_part f4_single = {.dual_bank = false};
static const f4_part f4_dual = {.dual_bank = true};

#define F4_DEVICE(nm, al, id, kb, bk, ramkb, rg, dual)                                             \
    FX_DEVICE(nm, al, "Cortex-M4", id, kb, bk, ramkb, rg, dual)
#define F2_DEVICE(nm, al, kb, bk, ramkb, rg)                                                       \
    FX_DEVICE(nm, al, "Cortex-M3", 0x411, kb, bk, ramkb, rg, 0)
#define FX_DEVICE(nm, al, cpu, id, kb, bk, ramkb, rg, dual)                                        \
    {                                                                                              \
        .name = nm, .aliases = al, .vendor = "STMicroelectronics", .family = "stm32f4",            \
        .core = cpu, .source = "built-in", .work_ram_start = F4_SRAM_BASE,                         \
        .work_ram_size = (ramkb)*KB, .has_id = 1, .dev_id = id, .flash_size_kb = kb,               \
        .family_ops = &oflash_family_stm32f4, .family_data = (dual) ? &f4_dual : &f4_single,       \
        .banks = bk, .bank_count = N(bk), .regions = rg, .region_count = N(rg), .extends = 0       \
    }

/* Aliases: the part with its package letter (order codes such as
 * STM32F205RBT6 resolve to these, see cli_order_code_part). */
static const char *const al_401xb[] = {"STM32F401CB", "STM32F401RB", "STM32F401VB", 0};
static const char *const al_401xc[] = {"STM32F401CC", "STM32F401RC", "STM32F401VC", 0};
static const char *const al_401xd[] = {"STM32F401CD", "STM32F401RD", "STM32F401VD", 0};
static const char *const al_401xe[] = {"STM32F401CE", "STM32F401RE", "STM32F401VE", 0};
static const char *const al_411xc[] = {"STM32F411CC", "STM32F411RC", "STM32F411VC", 0};
static const char *const al_411xe[] = {"STM32F411CE", "STM32F411RE", "STM32F411VE", 0};
static const char *const al_405xg[] = {"STM32F405RG", "STM32F405VG", "STM32F405ZG", "STM32F405OG",
                                       0};
static const char *const al_407xg[] = {"STM32F407VG", "STM32F407ZG", "STM32F407IG", 0};
static const char *const al_427xi[] = {"STM32F427VI", "STM32F427ZI", "STM32F427II", 0};
static const char *const al_429xi[] = {"STM32F429VI", "STM32F429ZI", "STM32F429II",
                                       "STM32F429BI", "STM32F429NI", 0};
static const char *const al_405xe[] = {"STM32F405OE", 0};
static const char *const al_407xe[] = {"STM32F407VE", "STM32F407ZE", "STM32F407IE", 0};
static const char *const al_415xg[] = {"STM32F415RG", "STM32F415VG", "STM32F415ZG", "STM32F415OG",
                                       0};
static const char *const al_417xe[] = {"STM32F417VE", "STM32F417ZE", "STM32F417IE", 0};
static const char *const al_417xg[] = {"STM32F417VG", "STM32F417ZG", "STM32F417IG", 0};
static const char *const al_410x8[] = {"STM32F410T8", "STM32F410C8", "STM32F410R8", 0};
static const char *const al_410xb[] = {"STM32F410TB", "STM32F410CB", "STM32F410RB", 0};
static const char *const al_412xe[] = {"STM32F412CE", "STM32F412RE", "STM32F412VE", "STM32F412ZE",
                                       0};
static const char *const al_412xg[] = {"STM32F412CG", "STM32F412RG", "STM32F412VG", "STM32F412ZG",
                                       0};
static const char *const al_413xg[] = {"STM32F413CG", "STM32F413RG", "STM32F413MG",
                                       "STM32F413VG", "STM32F413ZG", 0};
static const char *const al_413xh[] = {"STM32F413CH", "STM32F413RH", "STM32F413MH",
                                       "STM32F413VH", "STM32F413ZH", 0};
static const char *const al_423xh[] = {"STM32F423CH", "STM32F423RH", "STM32F423MH",
                                       "STM32F423VH", "STM32F423ZH", 0};
static const char *const al_427xg[] = {"STM32F427VG", "STM32F427ZG", "STM32F427IG", 0};
static const char *const al_429xe[] = {"STM32F429VE", "STM32F429ZE", "STM32F429IE",
                                       "STM32F429BE", "STM32F429NE", 0};
static const char *const al_429xg[] = {"STM32F429VG", "STM32F429ZG", "STM32F429IG",
                                       "STM32F429BG", "STM32F429NG", 0};
static const char *const al_437xg[] = {"STM32F437VG", "STM32F437ZG", "STM32F437IG", 0};
static const char *const al_437xi[] = {"STM32F437VI", "STM32F437ZI", "STM32F437II", 0};
static const char *const al_439xg[] = {"STM32F439VG", "STM32F439ZG", "STM32F439IG",
                                       "STM32F439BG", "STM32F439NG", 0};
static const char *const al_439xi[] = {"STM32F439VI", "STM32F439ZI", "STM32F439II",
                                       "STM32F439BI", "STM32F439NI", 0};
static const char *const al_446xc[] = {"STM32F446MC", "STM32F446RC", "STM32F446VC", "STM32F446ZC",
                                       0};
static const char *const al_446xe[] = {"STM32F446ME", "STM32F446RE", "STM32F446VE", "STM32F446ZE",
                                       0};
static const char *const al_469xe[] = {"STM32F469AE", "STM32F469IE", "STM32F469BE", "STM32F469NE",
                                       0};
static const char *const al_469xg[] = {"STM32F469AG", "STM32F469IG", "STM32F469BG", "STM32F469NG",
                                       0};
static const char *const al_469xi[] = {"STM32F469AI", "STM32F469II", "STM32F469BI", "STM32F469NI",
                                       0};
static const char *const al_479xg[] = {"STM32F479AG", "STM32F479IG", "STM32F479BG", "STM32F479NG",
                                       0};
static const char *const al_479xi[] = {"STM32F479AI", "STM32F479II", "STM32F479BI", "STM32F479NI",
                                       0};
static const char *const al_205xb[] = {"STM32F205RB", "STM32F205VB", 0};
static const char *const al_205xc[] = {"STM32F205RC", "STM32F205VC", "STM32F205ZC", 0};
static const char *const al_205xe[] = {"STM32F205RE", "STM32F205VE", "STM32F205ZE", 0};
static const char *const al_205xf[] = {"STM32F205RF", "STM32F205VF", "STM32F205ZF", 0};
static const char *const al_205xg[] = {"STM32F205RG", "STM32F205VG", "STM32F205ZG", 0};
static const char *const al_207xc[] = {"STM32F207VC", "STM32F207ZC", "STM32F207IC", 0};
static const char *const al_207xe[] = {"STM32F207VE", "STM32F207ZE", "STM32F207IE", 0};
static const char *const al_207xf[] = {"STM32F207VF", "STM32F207ZF", "STM32F207IF", 0};
static const char *const al_207xg[] = {"STM32F207VG", "STM32F207ZG", "STM32F207IG", 0};
static const char *const al_215xe[] = {"STM32F215RE", "STM32F215VE", "STM32F215ZE", 0};
static const char *const al_215xg[] = {"STM32F215RG", "STM32F215VG", "STM32F215ZG", 0};
static const char *const al_217xe[] = {"STM32F217VE", "STM32F217ZE", "STM32F217IE", 0};
static const char *const al_217xg[] = {"STM32F217VG", "STM32F217ZG", "STM32F217IG", 0};

const oflash_device oflash__stm32f4_devices[] = {
    /* STM32F4 (the first ten keep their place: older device files extend them) */
    F4_DEVICE("STM32F401xB", al_401xb, 0x423, 128, banks_128k, 64, regions_64k, 0),
    F4_DEVICE("STM32F401xC", al_401xc, 0x423, 256, banks_256k, 64, regions_64k, 0),
    F4_DEVICE("STM32F401xD", al_401xd, 0x433, 384, banks_384k, 96, regions_96k, 0),
    F4_DEVICE("STM32F401xE", al_401xe, 0x433, 512, banks_512k, 96, regions_96k, 0),
    F4_DEVICE("STM32F411xC", al_411xc, 0x431, 256, banks_256k, 128, regions_128k, 0),
    F4_DEVICE("STM32F411xE", al_411xe, 0x431, 512, banks_512k, 128, regions_128k, 0),
    F4_DEVICE("STM32F405xG", al_405xg, 0x413, 1024, banks_1m, 128, regions_128k, 0),
    F4_DEVICE("STM32F407xG", al_407xg, 0x413, 1024, banks_1m, 128, regions_128k, 0),
    F4_DEVICE("STM32F427xI", al_427xi, 0x419, 2048, banks_2m, 192, regions_192k, 1),
    F4_DEVICE("STM32F429xI", al_429xi, 0x419, 2048, banks_2m, 192, regions_192k, 1),
    F4_DEVICE("STM32F405xE", al_405xe, 0x413, 512, banks_512k, 128, regions_128k, 0),
    F4_DEVICE("STM32F407xE", al_407xe, 0x413, 512, banks_512k, 128, regions_128k, 0),
    F4_DEVICE("STM32F415xG", al_415xg, 0x413, 1024, banks_1m, 128, regions_128k, 0),
    F4_DEVICE("STM32F417xE", al_417xe, 0x413, 512, banks_512k, 128, regions_128k, 0),
    F4_DEVICE("STM32F417xG", al_417xg, 0x413, 1024, banks_1m, 128, regions_128k, 0),
    F4_DEVICE("STM32F410x8", al_410x8, 0x458, 64, banks_64k, 32, regions_32k, 0),
    F4_DEVICE("STM32F410xB", al_410xb, 0x458, 128, banks_128k, 32, regions_32k, 0),
    F4_DEVICE("STM32F412xE", al_412xe, 0x441, 512, banks_512k, 256, regions_256k, 0),
    F4_DEVICE("STM32F412xG", al_412xg, 0x441, 1024, banks_1m, 256, regions_256k, 0),
    F4_DEVICE("STM32F413xG", al_413xg, 0x463, 1024, banks_1m, 320, regions_320k, 0),
    F4_DEVICE("STM32F413xH", al_413xh, 0x463, 1536, banks_1536k, 320, regions_320k, 0),
    F4_DEVICE("STM32F423xH", al_423xh, 0x463, 1536, banks_1536k, 320, regions_320k, 0),
    F4_DEVICE("STM32F427xG", al_427xg, 0x419, 1024, banks_1m, 192, regions_192k, 0),
    F4_DEVICE("STM32F429xE", al_429xe, 0x419, 512, banks_512k, 192, regions_192k, 0),
    F4_DEVICE("STM32F429xG", al_429xg, 0x419, 1024, banks_1m, 192, regions_192k, 0),
    F4_DEVICE("STM32F437xG", al_437xg, 0x419, 1024, banks_1m, 192, regions_192k, 0),
    F4_DEVICE("STM32F437xI", al_437xi, 0x419, 2048, banks_2m, 192, regions_192k, 1),
    F4_DEVICE("STM32F439xG", al_439xg, 0x419, 1024, banks_1m, 192, regions_192k, 0),
    F4_DEVICE("STM32F439xI", al_439xi, 0x419, 2048, banks_2m, 192, regions_192k, 1),
    F4_DEVICE("STM32F446xC", al_446xc, 0x421, 256, banks_256k, 128, regions_128k, 0),
    F4_DEVICE("STM32F446xE", al_446xe, 0x421, 512, banks_512k, 128, regions_128k, 0),
    F4_DEVICE("STM32F469xE", al_469xe, 0x434, 512, banks_512k, 320, regions_320k, 0),
    F4_DEVICE("STM32F469xG", al_469xg, 0x434, 1024, banks_1m, 320, regions_320k, 0),
    F4_DEVICE("STM32F469xI", al_469xi, 0x434, 2048, banks_2m, 320, regions_320k, 1),
    F4_DEVICE("STM32F479xG", al_479xg, 0x434, 1024, banks_1m, 320, regions_320k, 0),
    F4_DEVICE("STM32F479xI", al_479xi, 0x434, 2048, banks_2m, 320, regions_320k, 1),
    /* STM32F2 (Cortex-M3, DEV_ID 0x411) */
    F2_DEVICE("STM32F205xB", al_205xb, 128, banks_128k, 64, regions_64k),
    F2_DEVICE("STM32F205xC", al_205xc, 256, banks_256k, 96, regions_96k),
    F2_DEVICE("STM32F205xE", al_205xe, 512, banks_512k, 128, regions_128k),
    F2_DEVICE("STM32F205xF", al_205xf, 768, banks_768k, 128, regions_128k),
    F2_DEVICE("STM32F205xG", al_205xg, 1024, banks_1m, 128, regions_128k),
    F2_DEVICE("STM32F207xC", al_207xc, 256, banks_256k, 128, regions_128k),
    F2_DEVICE("STM32F207xE", al_207xe, 512, banks_512k, 128, regions_128k),
    F2_DEVICE("STM32F207xF", al_207xf, 768, banks_768k, 128, regions_128k),
    F2_DEVICE("STM32F207xG", al_207xg, 1024, banks_1m, 128, regions_128k),
    F2_DEVICE("STM32F215xE", al_215xe, 512, banks_512k, 128, regions_128k),
    F2_DEVICE("STM32F215xG", al_215xg, 1024, banks_1m, 128, regions_128k),
    F2_DEVICE("STM32F217xE", al_217xe, 512, banks_512k, 128, regions_128k),
    F2_DEVICE("STM32F217xG", al_217xg, 1024, banks_1m, 128, regions_128k),
};

const size_t oflash__stm32f4_device_count = N(oflash__stm32f4_devices);
