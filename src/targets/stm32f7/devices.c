/*
 * devices.c - built-in STM32F74x/F75x and STM32F76x/F77x descriptions.
 *
 * Facts from RM0385 rev 8 §3.3.1 and RM0410 rev 4 §3.3.1 (see
 * stm32f7_regs.h for the full list of sources):
 *  - main flash at 0x08000000; single bank (F74x/F75x, and F76x/F77x with
 *    OPTCR.nDBANK = 1, the factory setting): 4 x 32 KiB, 1 x 128 KiB, then
 *    256 KiB sectors; dual bank (F76x/F77x, nDBANK = 0): two banks of
 *    4 x 16 KiB, 1 x 64 KiB, then 128 KiB sectors, bank 2 at half the flash
 *    size with sectors 12.. (SNB 16..);
 *  - OTP: 16 blocks of 64 bytes at 0x1FF0F000, one lock byte per block at
 *    0x1FF0F400 (0x00 = locked, 0xFF = open; nothing else is allowed);
 *  - DBGMCU_IDCODE at 0xE0042000 (DEV_ID 0x449 F74x/F75x, 0x451
 *    F76x/F77x), flash size (KiB, u16) at 0x1FF0F442, 96-bit unique ID at
 *    0x1FF0F420, option bytes at 0x1FFF0000;
 *  - RAM from 0x20000000: DTCM + SRAM1 + SRAM2, 320 KiB (F74x/F75x) or
 *    512 KiB (F76x/F77x).
 * A part in dual bank mode is a separate entry with "-DB" after its name
 * and order codes (STM32F767ZI-DB): the sector list differs, and the ID
 * check refuses a chip whose nDBANK does not match the entry.
 * Everything here is data; the loader for all of them is the built-in
 * "stm32f7" FLM (loader/), the family's ops table is in family.c.
 */
#include "stm32f7.h"

#define KB 1024u

#define SEC(n, a, kb)                                                                              \
    {                                                                                              \
        F7_MAIN_BASE + (a), (kb)*KB, n                                                             \
    }

/* Single bank: one table for the largest layout; smaller parts use a prefix. */
static const oflash_sector f7_single[] = {
    SEC(0, 0x00000, 32),   SEC(1, 0x08000, 32),   SEC(2, 0x10000, 32),    SEC(3, 0x18000, 32),
    SEC(4, 0x20000, 128),  SEC(5, 0x40000, 256),  SEC(6, 0x80000, 256),   SEC(7, 0xC0000, 256),
    SEC(8, 0x100000, 256), SEC(9, 0x140000, 256), SEC(10, 0x180000, 256), SEC(11, 0x1C0000, 256),
};

/* Dual bank, 2 MiB: bank 2 at 0x08100000. */
static const oflash_sector f7_dual_2m[] = {
    SEC(0, 0x00000, 16),    SEC(1, 0x04000, 16),    SEC(2, 0x08000, 16),    SEC(3, 0x0C000, 16),
    SEC(4, 0x10000, 64),    SEC(5, 0x20000, 128),   SEC(6, 0x40000, 128),   SEC(7, 0x60000, 128),
    SEC(8, 0x80000, 128),   SEC(9, 0xA0000, 128),   SEC(10, 0xC0000, 128),  SEC(11, 0xE0000, 128),
    SEC(12, 0x100000, 16),  SEC(13, 0x104000, 16),  SEC(14, 0x108000, 16),  SEC(15, 0x10C000, 16),
    SEC(16, 0x110000, 64),  SEC(17, 0x120000, 128), SEC(18, 0x140000, 128), SEC(19, 0x160000, 128),
    SEC(20, 0x180000, 128), SEC(21, 0x1A0000, 128), SEC(22, 0x1C0000, 128), SEC(23, 0x1E0000, 128),
};

/* Dual bank, 1 MiB: bank 2 at 0x08080000. */
static const oflash_sector f7_dual_1m[] = {
    SEC(0, 0x00000, 16),  SEC(1, 0x04000, 16),   SEC(2, 0x08000, 16),   SEC(3, 0x0C000, 16),
    SEC(4, 0x10000, 64),  SEC(5, 0x20000, 128),  SEC(6, 0x40000, 128),  SEC(7, 0x60000, 128),
    SEC(12, 0x80000, 16), SEC(13, 0x84000, 16),  SEC(14, 0x88000, 16),  SEC(15, 0x8C000, 16),
    SEC(16, 0x90000, 64), SEC(17, 0xA0000, 128), SEC(18, 0xC0000, 128), SEC(19, 0xE0000, 128),
};

#define B(n)                                                                                       \
    {                                                                                              \
        F7_OTP_BASE + F7_OTP_BLOCK_SIZE *(n), F7_OTP_BLOCK_SIZE, n                                 \
    }
static const oflash_sector f7_otp_blocks[F7_OTP_BLOCKS] = {
    B(0), B(1), B(2),  B(3),  B(4),  B(5),  B(6),  B(7),
    B(8), B(9), B(10), B(11), B(12), B(13), B(14), B(15),
};
#define L(n)                                                                                       \
    {                                                                                              \
        F7_LOCK_BASE + (n), 1, n                                                                   \
    }
static const oflash_sector f7_lock_bytes[F7_LOCK_SIZE] = {
    L(0), L(1), L(2),  L(3),  L(4),  L(5),  L(6),  L(7),
    L(8), L(9), L(10), L(11), L(12), L(13), L(14), L(15),
};

#define F7_BANKS(sect, nsect, kb)                                                                  \
    {                                                                                              \
        {.name = "flash",                                                                          \
         .kind = OFLASH_BANK_FLASH,                                                                \
         .base = F7_MAIN_BASE,                                                                     \
         .size = (kb)*KB,                                                                          \
         .page_size = 1024,                                                                        \
         .erased_value = 0xFF,                                                                     \
         .sectors = sect,                                                                          \
         .sector_count = (nsect),                                                                  \
         .loader_name = "stm32f7"},                                                                \
            {.name = "otp",                                                                        \
             .kind = OFLASH_BANK_OTP,                                                              \
             .base = F7_OTP_BASE,                                                                  \
             .size = F7_OTP_SIZE,                                                                  \
             .page_size = F7_OTP_BLOCK_SIZE,                                                       \
             .erased_value = 0xFF,                                                                 \
             .sectors = f7_otp_blocks,                                                             \
             .sector_count = F7_OTP_BLOCKS,                                                        \
             .loader_name = "stm32f7"},                                                            \
            {.name = "otp-lock",                                                                   \
             .kind = OFLASH_BANK_OTP_LOCK,                                                         \
             .base = F7_LOCK_BASE,                                                                 \
             .size = F7_LOCK_SIZE,                                                                 \
             .page_size = 1,                                                                       \
             .erased_value = 0xFF,                                                                 \
             .sectors = f7_lock_bytes,                                                             \
             .sector_count = F7_LOCK_SIZE,                                                         \
             .loader_name = "stm32f7"},                                                            \
    }

static const oflash_bank banks_512k[] = F7_BANKS(f7_single, 6, 512);
static const oflash_bank banks_1m[] = F7_BANKS(f7_single, 8, 1024);
static const oflash_bank banks_2m[] = F7_BANKS(f7_single, 12, 2048);
static const oflash_bank banks_1m_db[] = F7_BANKS(f7_dual_1m, 16, 1024);
static const oflash_bank banks_2m_db[] = F7_BANKS(f7_dual_2m, 24, 2048);

#define F7_REGIONS(ram)                                                                            \
    {                                                                                              \
        {"sram", OFLASH_REGION_RAM, F7_SRAM_BASE, ram},                                            \
            {"system memory", OFLASH_REGION_SYSMEM, F7_SYSMEM_BASE, F7_SYSMEM_SIZE},               \
            {"unique id / flash size", OFLASH_REGION_ID, F7_UID_ADDR, 0x24},                       \
            {"option bytes", OFLASH_REGION_OPTION, F7_OPT_BASE, F7_OPT_SIZE},                      \
            {"peripherals", OFLASH_REGION_PERIPH, 0x40000000u, 0x20000000u},                       \
    }
static const oflash_region regions_f74x[] = F7_REGIONS(F7_SRAM_SIZE_F74X);
static const oflash_region regions_f76x[] = F7_REGIONS(F7_SRAM_SIZE_F76X);

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const f7_part part_f74x = {.f76x = false, .dual_bank = false};
static const f7_part part_f76x = {.f76x = true, .dual_bank = false};
static const f7_part part_f76x_db = {.f76x = true, .dual_bank = true};

#define F7_DEVICE(nm, al, id, kb, bk, rg, ram, part)                                               \
    {                                                                                              \
        .name = nm, .aliases = al, .vendor = "STMicroelectronics", .family = "stm32f7",            \
        .core = "Cortex-M7", .source = "built-in", .work_ram_start = F7_SRAM_BASE,                 \
        .work_ram_size = ram, .has_id = 1, .dev_id = id, .flash_size_kb = kb,                      \
        .family_ops = &oflash_family_stm32f7, .family_data = &part, .banks = bk,                   \
        .bank_count = N(bk), .regions = rg, .region_count = N(rg), .extends = 0                    \
    }
#define F74X(nm, al, kb, bk)                                                                       \
    F7_DEVICE(nm, al, F7_DEV_ID_F74X, kb, bk, regions_f74x, F7_SRAM_SIZE_F74X, part_f74x)
#define F76X(nm, al, kb, bk)                                                                       \
    F7_DEVICE(nm, al, F7_DEV_ID_F76X, kb, bk, regions_f76x, F7_SRAM_SIZE_F76X, part_f76x)
#define F76X_DB(nm, al, kb, bk)                                                                    \
    F7_DEVICE(nm, al, F7_DEV_ID_F76X, kb, bk, regions_f76x, F7_SRAM_SIZE_F76X, part_f76x_db)

/* Order codes: package letter V (LQFP100), Z (LQFP144), I (LQFP176 /
 * UFBGA176), B (LQFP208), N (TFBGA216), A (UFBGA169); flash letter E
 * 512 KiB, G 1 MiB, I 2 MiB. */
static const char *const al_745e[] = {"STM32F745VE", "STM32F745ZE", "STM32F745IE", 0};
static const char *const al_745g[] = {"STM32F745VG", "STM32F745ZG", "STM32F745IG", 0};
static const char *const al_746e[] = {"STM32F746VE", "STM32F746ZE", "STM32F746IE",
                                      "STM32F746BE", "STM32F746NE", 0};
static const char *const al_746g[] = {"STM32F746VG", "STM32F746ZG", "STM32F746IG",
                                      "STM32F746BG", "STM32F746NG", 0};
static const char *const al_756g[] = {"STM32F756VG", "STM32F756ZG", "STM32F756IG",
                                      "STM32F756BG", "STM32F756NG", 0};
static const char *const al_765g[] = {"STM32F765VG", "STM32F765ZG", "STM32F765IG",
                                      "STM32F765BG", "STM32F765NG", 0};
static const char *const al_765i[] = {"STM32F765VI", "STM32F765ZI", "STM32F765II",
                                      "STM32F765BI", "STM32F765NI", 0};
static const char *const al_767g[] = {"STM32F767VG", "STM32F767ZG", "STM32F767IG",
                                      "STM32F767BG", "STM32F767NG", 0};
static const char *const al_767i[] = {"STM32F767VI", "STM32F767ZI", "STM32F767II",
                                      "STM32F767BI", "STM32F767NI", 0};
static const char *const al_769i[] = {"STM32F769II", "STM32F769BI", "STM32F769NI", "STM32F769AI",
                                      0};
static const char *const al_777i[] = {"STM32F777VI", "STM32F777ZI", "STM32F777II",
                                      "STM32F777BI", "STM32F777NI", 0};
static const char *const al_779i[] = {"STM32F779II", "STM32F779BI", "STM32F779NI", "STM32F779AI",
                                      0};
static const char *const al_765g_db[] = {"STM32F765VG-DB", "STM32F765ZG-DB", "STM32F765IG-DB",
                                         "STM32F765BG-DB", "STM32F765NG-DB", 0};
static const char *const al_765i_db[] = {"STM32F765VI-DB", "STM32F765ZI-DB", "STM32F765II-DB",
                                         "STM32F765BI-DB", "STM32F765NI-DB", 0};
static const char *const al_767g_db[] = {"STM32F767VG-DB", "STM32F767ZG-DB", "STM32F767IG-DB",
                                         "STM32F767BG-DB", "STM32F767NG-DB", 0};
static const char *const al_767i_db[] = {"STM32F767VI-DB", "STM32F767ZI-DB", "STM32F767II-DB",
                                         "STM32F767BI-DB", "STM32F767NI-DB", 0};
static const char *const al_769i_db[] = {"STM32F769II-DB", "STM32F769BI-DB", "STM32F769NI-DB",
                                         "STM32F769AI-DB", 0};
static const char *const al_777i_db[] = {"STM32F777VI-DB", "STM32F777ZI-DB", "STM32F777II-DB",
                                         "STM32F777BI-DB", "STM32F777NI-DB", 0};
static const char *const al_779i_db[] = {"STM32F779II-DB", "STM32F779BI-DB", "STM32F779NI-DB",
                                         "STM32F779AI-DB", 0};

const oflash_device oflash__stm32f7_devices[] = {
    F74X("STM32F745xE", al_745e, 512, banks_512k),
    F74X("STM32F745xG", al_745g, 1024, banks_1m),
    F74X("STM32F746xE", al_746e, 512, banks_512k),
    F74X("STM32F746xG", al_746g, 1024, banks_1m),
    F74X("STM32F756xG", al_756g, 1024, banks_1m),
    F76X("STM32F765xG", al_765g, 1024, banks_1m),
    F76X("STM32F765xI", al_765i, 2048, banks_2m),
    F76X("STM32F767xG", al_767g, 1024, banks_1m),
    F76X("STM32F767xI", al_767i, 2048, banks_2m),
    F76X("STM32F769xI", al_769i, 2048, banks_2m),
    F76X("STM32F777xI", al_777i, 2048, banks_2m),
    F76X("STM32F779xI", al_779i, 2048, banks_2m),
    F76X_DB("STM32F765xG-DB", al_765g_db, 1024, banks_1m_db),
    F76X_DB("STM32F765xI-DB", al_765i_db, 2048, banks_2m_db),
    F76X_DB("STM32F767xG-DB", al_767g_db, 1024, banks_1m_db),
    F76X_DB("STM32F767xI-DB", al_767i_db, 2048, banks_2m_db),
    F76X_DB("STM32F769xI-DB", al_769i_db, 2048, banks_2m_db),
    F76X_DB("STM32F777xI-DB", al_777i_db, 2048, banks_2m_db),
    F76X_DB("STM32F779xI-DB", al_779i_db, 2048, banks_2m_db),
};

const size_t oflash__stm32f7_device_count = N(oflash__stm32f7_devices);
