/*
 * test_f7_sim.c - the simulated STM32F7 (STM32F746ZG: F74x, STM32F767ZI:
 * F76x in single and dual bank mode) driven by real Thumb-2 code (the
 * simulator test firmware, tests/sim/fw/fw.c, built with arm-none-eabi-gcc
 * and run from SRAM) and by the debugger view.  Expected values are the
 * reference manuals' (RM0385 rev 8 §3, RM0410 rev 4 §3, datasheet erase
 * times), never read back from the model first.  Every refusal asserts the
 * FLASH_SR flag and that memory did not change.
 */
#include "harness.h"
#include "sim/sim_fw.h"

#include "oflash/device.h"
#include "oflash/error.h"
#include "oflash/sim.h"

#include <stdbool.h>
#include <unistd.h>

#define FLASH_KEYR 0x40023C04u
#define FLASH_SR 0x40023C0Cu
#define FLASH_CR 0x40023C10u
#define FLASH_OPTCR 0x40023C14u
#define FLASH_OPTCR1 0x40023C18u
#define SR_EOP 0x01u
#define SR_OPERR 0x02u
#define SR_WRPERR 0x10u
#define SR_PGAERR 0x20u
#define SR_PGPERR 0x40u
#define SR_ERSERR 0x80u /* the F4's PGSERR position */
#define SR_ERRS 0xF2u
#define CR_PG 0x1u
#define CR_SER 0x2u
#define CR_MER 0x4u
#define CR_MER2 0x8000u
#define X8 0
#define X16 1
#define X32 2
#define BUF 0x20008000u
#define OTP 0x1FF0F000u
#define LOCK 0x1FF0F400u
#define UID_ADDR 0x1FF0F420u
#define FSIZE 0x1FF0F442u
#define RAM_F74X (320u * 1024u)
#define RAM_F76X (512u * 1024u)
#define MS 1000000ull /* ns */

static const char *UID = "00112233445566778899aabb";

static oflash_probe *open_chip(const char *path, const char *device)
{
    return sim_open_chip(path, device, UID);
}

static oflash_probe *fresh(const char *path, const char *device, fw *f, uint32_t ram)
{
    return fw_fresh(f, path, device, UID, ram);
}

static void clear_sr(oflash_probe *p)
{
    CHECK_OK(oflash_probe_write_u32(p, FLASH_SR, SR_ERRS | SR_EOP));
}

/* Program 16 bytes of a known pattern at addr (x32) from code. */
static uint32_t prog16(fw *f, uint32_t addr)
{
    static const uint8_t pat[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,
                                    0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    CHECK_OK(oflash_probe_write_mem(f->p, BUF, pat, 16));
    return fw_call(f, FW_PROGRAM, addr, BUF, 16, X32);
}

/* ---- identity: RM0385 §40, RM0410 §45 ---- */

static void test_ids(void)
{
    fw f;
    oflash_sim_info info;
    oflash_probe *p = fresh("f7_ids.sim", "STM32F746ZG", &f, RAM_F74X);
    if (!p) return;
    CHECK(strcmp(oflash_probe_part(p), "STM32F746xG") == 0);
    CHECK_EQ_U(fw_call(&f, FW_READ32, 0xE0042000u) & 0xFFF, 0x449);
    CHECK_EQ_U(fw_call(&f, FW_READ32, FSIZE & ~3u) >> 16, 1024);
    CHECK_EQ_U(fw_call(&f, FW_READ32, UID_ADDR), 0x33221100u);
    CHECK_EQ_U(fw_call(&f, FW_READ32, UID_ADDR + 8), 0xBBAA9988u);
    CHECK_EQ_U(fw_call(&f, FW_READ32, 0xE000ED00u), 0x410FC271u); /* Cortex-M7 r0p1 */
    /* Factory option bytes: RDP 0xAA, nWRP all 1, BOOT_ADD0 0x0080. */
    CHECK_EQ_U(rd32(p, FLASH_OPTCR), 0xC0FFAAFDu);
    CHECK_EQ_U(rd32(p, FLASH_OPTCR1), 0x00400080u);
    oflash_probe_close(p);
    CHECK_OK(oflash_sim_info_read(&info, "f7_ids.sim"));
    CHECK(strcmp(info.part, "STM32F746xG") == 0);
    CHECK_EQ_U(info.sector_count, 8);

    p = fresh("f7_ids2.sim", "STM32F767ZI", &f, RAM_F76X);
    if (!p) return;
    CHECK(strcmp(oflash_probe_part(p), "STM32F767xI") == 0);
    CHECK_EQ_U(fw_call(&f, FW_READ32, 0xE0042000u) & 0xFFF, 0x451);
    CHECK_EQ_U(fw_call(&f, FW_READ32, FSIZE & ~3u) >> 16, 2048);
    CHECK_EQ_U(fw_call(&f, FW_READ32, 0xE000ED00u), 0x411FC270u); /* Cortex-M7 r1p0 */
    CHECK_EQ_U(rd32(p, FLASH_OPTCR), 0xFFFFAAFDu);                /* nDBANK = nDBOOT = 1 */
    oflash_probe_close(p);
}

/* ---- programming errors (RM0385 §3.3.7, §3.7.4) ---- */

static void test_program_errors(void)
{
    fw f;
    oflash_probe *p = fresh("f7_prog.sim", "STM32F746ZG", &f, RAM_F74X);
    if (!p) return;
    /* Locked CR: the write is not done, ERSERR (the F7 name of the F4's PGSERR). */
    CHECK_EQ_U(prog16(&f, 0x08000000), SR_ERSERR);
    CHECK(all_ff(p, 0x08000000, 16));
    clear_sr(p);
    CHECK_EQ_U(fw_call(&f, FW_UNLOCK, 0) & 0x80000000u, 0);
    /* PG clear: ERSERR, nothing written. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x200), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, 0x08000100, 0), 0);
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_ERRS, SR_ERSERR);
    CHECK(all_ff(p, 0x08000100, 4));
    clear_sr(p);
    /* Programmed at x32: 16 us per word (datasheet tprog). */
    {
        uint64_t t0 = sim_ns(p);
        CHECK_EQ_U(prog16(&f, 0x08000000), 0);
        uint64_t dt = sim_ns(p) - t0;
        CHECK(dt >= 4 * 16000ull && dt < 4 * 16000ull + 20000ull);
        CHECK_EQ_U(rd32(p, 0x08000000), 0x76543210u);
        CHECK_EQ_U(rd32(p, 0x0800000C), 0xEFCDAB89u);
    }
    /* PSIZE x32 but a byte store: PGPERR, nothing written. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x201), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE8, 0x08000200, 0x00), 0);
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_ERRS, SR_PGPERR);
    CHECK(all_ff(p, 0x08000200, 4));
    clear_sr(p);
    /* A half-word (x16) across a 128-bit row: PGAERR, nothing written. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x101), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE16, 0x0800020F, 0x0000), 0);
    CHECK(rd32(p, FLASH_SR) & SR_PGAERR);
    CHECK(all_ff(p, 0x08000200, 32));
    clear_sr(p);
    /* Bits only go 1 -> 0: programming over programmed bits ANDs. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x201), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, 0x08000000, 0x0F0F0F0F), 0);
    CHECK_EQ_U(rd32(p, 0x08000000), 0x76543210u & 0x0F0F0F0Fu);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0), 0);
    /* The unique ID and flash size register are read-only: WRPERR. */
    CHECK_EQ_U(prog16(&f, UID_ADDR), SR_WRPERR);
    CHECK_EQ_U(fw_call(&f, FW_READ32, UID_ADDR), 0x33221100u);
    clear_sr(p);
    /* F74x: MER2 (bit 15) does not exist; SNB is 4 bits. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, CR_MER2 | (0x1Fu << 3)), 0);
    CHECK_EQ_U(rd32(p, FLASH_CR), 0x0Fu << 3);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0), 0);
    oflash_probe_close(p);
}

/* ---- erase: sizes, times, sequence errors (RM0385 §3.3.6) ---- */

static void test_erase(void)
{
    fw f;
    oflash_probe *p = fresh("f7_erase.sim", "STM32F746ZG", &f, RAM_F74X);
    /* Sector: number, address, size; typical erase time at x32 (DS10916). */
    static const struct {
        unsigned snb;
        uint32_t addr, size;
        uint64_t ms_x32;
    } s[] = {{1, 0x08008000, 0x8000, 250},
             {4, 0x08020000, 0x20000, 550},
             {7, 0x080C0000, 0x40000, 1000}};
    if (!p) return;
    fw_call(&f, FW_UNLOCK, 0);
    for (size_t i = 0; i < 3; i++) {
        uint64_t t0;
        CHECK_EQ_U(prog16(&f, s[i].addr), 0);
        CHECK_EQ_U(prog16(&f, s[i].addr + s[i].size - 16), 0);
        CHECK_EQ_U(prog16(&f, s[i].addr - 16), 0); /* previous sector: must survive */
        t0 = sim_ns(p);
        CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, s[i].snb, X32) & SR_ERRS, 0);
        CHECK((sim_ns(p) - t0) / MS == s[i].ms_x32);
        /* The progress bar's estimate is the chip's typical time. */
        CHECK_EQ_U(oflash_device_erase_time_us(oflash_builtin_device_find("STM32F746ZG"),
                                               s[i].size),
                   s[i].ms_x32 * 1000u);
        CHECK(all_ff(p, s[i].addr, s[i].size));
        CHECK_EQ_U(rd32(p, s[i].addr - 16), 0x76543210u);
    }
    /* x8 takes longer: 32 KB sector at x8 400 ms. */
    {
        uint64_t t0 = sim_ns(p);
        CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 0, X8) & SR_ERRS, 0);
        CHECK((sim_ns(p) - t0) / MS == 400);
    }
    /* 1 MB part: sectors 0..7; SNB 8 names nothing: ERSERR, nothing erased. */
    CHECK_EQ_U(prog16(&f, 0x08000000), 0);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 8, X32) & SR_ERRS, SR_ERSERR);
    CHECK_EQ_U(rd32(p, 0x08000000), 0x76543210u);
    clear_sr(p);
    /* SER and MER together: neither is done, ERSERR. */
    CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, CR_SER | CR_MER, X32) & SR_ERRS, SR_ERSERR);
    CHECK_EQ_U(rd32(p, 0x08000000), 0x76543210u);
    clear_sr(p);
    /* Mass erase of 1 MB at x32: 8 s. */
    {
        uint64_t t0 = sim_ns(p);
        CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, CR_MER, X32) & SR_ERRS, 0);
        CHECK((sim_ns(p) - t0) / MS == 8000);
        CHECK(all_ff(p, 0x08000000, 0x100000));
    }
    oflash_probe_close(p);
}

/* ---- OTP: 16 blocks of 64 bytes, lock bytes (RM0385 §3.3.8) ---- */

static void test_otp(void)
{
    fw f;
    uint8_t b[64];
    oflash_probe *p = fresh("f7_otp.sim", "STM32F746ZG", &f, RAM_F74X);
    if (!p) return;
    CHECK(all_ff(p, OTP, 1024 + 16));
    fw_call(&f, FW_UNLOCK, 0);
    /* Blocks are 64 bytes: the last word of block 0 and the first of block 1. */
    CHECK_EQ_U(prog16(&f, OTP + 48), 0);
    CHECK_EQ_U(prog16(&f, OTP + 64), 0);
    /* Lock block 1 (lock byte 0x1FF0F401 = 0x00, x8). */
    CHECK_OK(oflash_probe_write_mem(p, BUF, "\0", 1));
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, LOCK + 1, BUF, 1, X8), 0);
    CHECK_EQ_U(fw_call(&f, FW_READ32, LOCK) & 0xFFFF, 0x00FF);
    /* Block 1 is now read-only: WRPERR, unchanged; block 0 and 2 are not. */
    CHECK_EQ_U(prog16(&f, OTP + 64 + 16), SR_WRPERR);
    CHECK(all_ff(p, OTP + 80, 48));
    clear_sr(p);
    CHECK_EQ_U(prog16(&f, OTP + 0), 0);
    CHECK_EQ_U(prog16(&f, OTP + 128), 0);
    CHECK_OK(oflash_probe_read_mem(b, p, OTP + 64, 16));
    CHECK(b[0] == 0x10 && b[15] == 0xEF);
    /* OTP is never erased: a mass erase leaves it. */
    CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, CR_MER, X32) & SR_ERRS, 0);
    CHECK_EQ_U(rd32(p, OTP + 64), 0x76543210u);
    CHECK_EQ_U(rd32(p, OTP + 960), 0xFFFFFFFFu);
    oflash_probe_close(p);
}

/* ---- write protection: nWRP (RM0385 §3.7.6) ---- */

static void test_wrp(void)
{
    fw f;
    oflash_probe *p = fresh("f7_wrp.sim", "STM32F746ZG", &f, RAM_F74X);
    if (!p) return;
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(prog16(&f, 0x08010000), 0); /* sector 2 */
    /* nWRP2 = 0 through OPTKEYR / OPTCR / OPTSTRT. */
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0xC0FBAAFCu, 0x00400080u) & SR_ERRS, 0);
    CHECK_EQ_U(rd32(p, FLASH_OPTCR), 0xC0FBAAFDu);
    CHECK_EQ_U(prog16(&f, 0x08010010), SR_WRPERR);
    CHECK(all_ff(p, 0x08010010, 16));
    clear_sr(p);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 2, X32) & SR_ERRS, SR_WRPERR);
    CHECK_EQ_U(rd32(p, 0x08010000), 0x76543210u);
    clear_sr(p);
    CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, CR_MER, X32) & SR_ERRS, SR_WRPERR);
    CHECK_EQ_U(rd32(p, 0x08010000), 0x76543210u);
    clear_sr(p);
    /* Sector 3 next to it is not protected. */
    CHECK_EQ_U(prog16(&f, 0x08018000), 0);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 3, X32) & SR_ERRS, 0);
    /* The option bytes survive a reconnection (they are non-volatile). */
    oflash_probe_close(p);
    p = open_chip("f7_wrp.sim", NULL);
    if (!p) return;
    CHECK_EQ_U(rd32(p, FLASH_OPTCR), 0xC0FBAAFDu);
    oflash_probe_close(p);
}

/* ---- F76x: single bank, dual bank (RM0410 §3.3.1-§3.3.6) ---- */

static void test_f76x_banks(void)
{
    fw f;
    oflash_probe *p = fresh("f7_f76x.sim", "STM32F767ZI", &f, RAM_F76X);
    if (!p) return;
    fw_call(&f, FW_UNLOCK, 0);
    /* Single bank: sector 11 is the last 256 KB at 0x081C0000; 1000 ms at x32. */
    CHECK_EQ_U(prog16(&f, 0x081C0000), 0);
    CHECK_EQ_U(prog16(&f, 0x081FFFF0), 0);
    {
        uint64_t t0 = sim_ns(p);
        CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 11, X32) & SR_ERRS, 0);
        CHECK((sim_ns(p) - t0) / MS == 1000);
        CHECK_EQ_U(oflash_device_erase_time_us(oflash_builtin_device_find("STM32F767ZI"), 0x40000),
                   1000000u);
    }
    CHECK(all_ff(p, 0x081C0000, 0x40000));
    /* SNB 16 is no sector in single bank mode: ERSERR. */
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 16, X32) & SR_ERRS, SR_ERSERR);
    clear_sr(p);
    /* Dual bank: nDBANK = 0.  Bank 2 starts at 0x08100000 with 16 KB sectors
     * (sector 12, SNB 16); sector 11 is now the last 128 KB of bank 1. */
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0xDFFFAAFCu, 0x00400080u) & SR_ERRS, 0);
    CHECK_EQ_U(rd32(p, FLASH_OPTCR) & (1u << 29), 0);
    CHECK_EQ_U(prog16(&f, 0x08100000), 0);
    CHECK_EQ_U(prog16(&f, 0x08104000), 0); /* sector 13 */
    CHECK_EQ_U(prog16(&f, 0x080E0000), 0); /* bank 1 sector 11 */
    {
        uint64_t t0 = sim_ns(p);
        CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 16, X32) & SR_ERRS, 0);
        CHECK((sim_ns(p) - t0) / MS == 250); /* 16 KB at x32 */
    }
    CHECK(all_ff(p, 0x08100000, 0x4000));
    CHECK_EQ_U(rd32(p, 0x08104000), 0x76543210u);
    /* SNB 12 names nothing in dual bank mode (bank 2 is 16..27). */
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 12, X32) & SR_ERRS, SR_ERSERR);
    CHECK_EQ_U(rd32(p, 0x08104000), 0x76543210u);
    clear_sr(p);
    /* nWRP6 protects sectors 12 and 13 in dual bank mode. */
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0xDFBFAAFCu, 0x00400080u) & SR_ERRS, 0);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 17, X32) & SR_ERRS, SR_WRPERR);
    CHECK_EQ_U(rd32(p, 0x08104000), 0x76543210u);
    clear_sr(p);
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0xDFFFAAFCu, 0x00400080u) & SR_ERRS, 0);
    /* MER2 erases bank 2 only: 1 MB at x32, 8 s. */
    {
        uint64_t t0 = sim_ns(p);
        CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, CR_MER2, X32) & SR_ERRS, 0);
        CHECK((sim_ns(p) - t0) / MS == 8000);
    }
    CHECK(all_ff(p, 0x08100000, 0x100000));
    CHECK_EQ_U(rd32(p, 0x080E0000), 0x76543210u);
    oflash_probe_close(p);
}

/* F76x 1 MiB in dual bank mode (STM32F767ZG-DB): bank 2 at 0x08080000,
 * sectors 12..19 (SNB 16..23); 0x080E0000 is bank 2's last 128 KiB. */
static void test_f76x_1m_dual(void)
{
    fw f;
    oflash_probe *p = fresh("f7_1mdb.sim", "STM32F767ZG-DB", &f, RAM_F76X);
    if (!p) return;
    CHECK_EQ_U(rd32(p, FLASH_OPTCR) & (1u << 29), 0); /* created in dual bank mode */
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(prog16(&f, 0x0807FFF0), 0); /* bank 1, sector 7 end */
    CHECK_EQ_U(prog16(&f, 0x08080000), 0); /* bank 2, sector 12 */
    CHECK_EQ_U(prog16(&f, 0x080E0000), 0); /* bank 2, sector 19 */
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 16, X32) & SR_ERRS, 0);
    CHECK(all_ff(p, 0x08080000, 0x4000));
    CHECK_EQ_U(rd32(p, 0x0807FFF0), 0x76543210u);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 23, X32) & SR_ERRS, 0);
    CHECK(all_ff(p, 0x080E0000, 0x20000));
    /* SNB 8 (a 2 MiB part's bank 1 sector 8) and SNB 24 do not exist here. */
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 8, X32) & SR_ERRS, SR_ERSERR);
    clear_sr(p);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 24, X32) & SR_ERRS, SR_ERSERR);
    CHECK_EQ_U(rd32(p, 0x0807FFF0), 0x76543210u);
    oflash_probe_close(p);
}

int main(void)
{
    test_ids();
    test_program_errors();
    test_erase();
    test_otp();
    test_wrp();
    test_f76x_banks();
    test_f76x_1m_dual();
    return test_summary();
}
