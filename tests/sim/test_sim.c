/*
 * test_sim.c - the simulated STM32F4 driven by real Thumb-2 code (fw/fw.c,
 * built with arm-none-eabi-gcc) and by the debugger view of the probe API.
 * Every check that the model refuses something asserts both the flag the
 * silicon raises and that memory did not change.
 */
#include "harness.h"
#include "sim_fw.h"

#include "oflash/error.h"
#include "oflash/image.h"
#include "oflash/sim.h"

#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#define FLASH_KEYR 0x40023C04u
#define FLASH_SR 0x40023C0Cu
#define FLASH_CR 0x40023C10u
#define FLASH_OPTCR 0x40023C14u
#define SR_EOP 0x01u
#define SR_OPERR 0x02u
#define SR_WRPERR 0x10u
#define SR_PGAERR 0x20u
#define SR_PGPERR 0x40u
#define SR_PGSERR 0x80u
#define SR_ERRS 0x1F2u
#define CR_LOCK 0x80000000u
#define X8 0
#define X16 1
#define X32 2
#define X64 3
#define BUF 0x20008000u /* data buffer in SRAM for FW_PROGRAM */
#define F401E_RAM (96u * 1024u)

static const char *UID = "0123456789abcdef00112233";

static oflash_probe *open_chip(const char *path, const char *device)
{
    return sim_open_chip(path, device, UID);
}

static oflash_probe *fresh(const char *path, const char *device, fw *f, uint32_t ram)
{
    return fw_fresh(f, path, device, UID, ram);
}

static void put_buf(oflash_probe *p, const void *data, size_t len)
{
    CHECK_OK(oflash_probe_write_mem(p, BUF, data, len));
}

static void clear_sr(oflash_probe *p)
{
    CHECK_OK(oflash_probe_write_u32(p, FLASH_SR, SR_ERRS | SR_EOP));
}

/* ---- creation, IDs, locking ---- */

static void test_create_and_ids(void)
{
    fw f;
    uint32_t ids[5];
    uint8_t uid[12];
    oflash_probe *p2 = NULL;
    oflash_sim_info info;
    oflash_probe *p = fresh("t_ids.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    CHECK(strcmp(oflash_probe_part(p), "STM32F401xE") == 0);
    CHECK_EQ_U(fw_call(&f, FW_READ_IDS, BUF + 0x100), 0x10000433u);
    CHECK_OK(oflash_probe_read_mem(ids, p, BUF + 0x100, sizeof ids));
    CHECK_EQ_U(ids[1], 512);
    CHECK_EQ_U(ids[2], 0x67452301u); /* UID bytes in address order */
    CHECK_EQ_U(ids[4], 0x33221100u);
    CHECK_OK(oflash_probe_read_mem(uid, p, 0x1FFF7A10u, 12));
    CHECK(uid[0] == 0x01 && uid[11] == 0x33);
    CHECK_EQ_U(rd32(p, 0xE0042000u) & 0xFFF, 0x433);
    /* A second connection to the same chip is refused. */
    CHECK_ERR(oflash_probe_open(&p2, "sim:t_ids.sim", NULL), OFLASH_EIO, "in use");
    oflash_probe_close(p);
    CHECK_ERR(oflash_sim_create("t_ids.sim", "STM32F401RE", NULL), OFLASH_EINVAL, "already exists");
    CHECK_ERR(oflash_sim_create("t_x.sim", "STM32F999", NULL), OFLASH_ENOTFOUND, "STM32F999");
    CHECK_ERR(oflash_sim_create("t_x.sim", "STM32F401RE", "12zz"), OFLASH_EINVAL, "24 hex");
    CHECK_ERR(oflash_probe_open(&p2, "sim:t_nonexistent.sim", NULL), OFLASH_ENOTFOUND,
              "no such simulated chip");
    CHECK_OK(oflash_sim_info_read(&info, "t_ids.sim"));
    CHECK(strcmp(info.part, "STM32F401xE") == 0);
    CHECK_EQ_U(info.optcr, 0x0FFFAAECu);
    CHECK_EQ_U(info.sector_count, 8);
    CHECK(info.sector_blank[0] && info.sector_blank[7]);
    /* A random UID differs between two chips. */
    unlink("t_r1.sim");
    unlink("t_r2.sim");
    {
        oflash_sim_info a, b;
        CHECK_OK(oflash_sim_create("t_r1.sim", "STM32F411CE", NULL));
        CHECK_OK(oflash_sim_create("t_r2.sim", "STM32F411CE", NULL));
        CHECK_OK(oflash_sim_info_read(&a, "t_r1.sim"));
        CHECK_OK(oflash_sim_info_read(&b, "t_r2.sim"));
        CHECK(memcmp(a.uid, b.uid, 12) != 0);
    }
}

/* ---- unlock / lock, wrong key ---- */

static void test_unlock_lock(void)
{
    fw f;
    oflash_probe *p = fresh("t_lock.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    CHECK_EQ_U(rd32(p, FLASH_CR), CR_LOCK);
    /* Locked: a CR write is ignored. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x201), 0);
    CHECK_EQ_U(rd32(p, FLASH_CR), CR_LOCK);
    CHECK_EQ_U(fw_call(&f, FW_UNLOCK, 0), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x201), 0);
    CHECK_EQ_U(rd32(p, FLASH_CR), 0x201);
    CHECK_EQ_U(fw_call(&f, FW_LOCK, 0), CR_LOCK | 0x201);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0), 0);
    CHECK_EQ_U(rd32(p, FLASH_CR) & CR_LOCK, CR_LOCK);
    oflash_probe_close(p);
}

static void test_wrong_key(void)
{
    fw f;
    oflash_probe *p = fresh("t_key.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    fw_call(&f, FW_WRITE32, FLASH_KEYR, 0x12345678);
    CHECK(f.rc == 0 && f.stop.reason == OFLASH_STOP_FAULT);
    CHECK(strstr(f.stop.detail, "wrong key 0x12345678") != NULL);
    /* The right sequence no longer unlocks: bus fault again, CR locked. */
    fw_call(&f, FW_UNLOCK, 0);
    CHECK(f.stop.reason == OFLASH_STOP_FAULT);
    CHECK_EQ_U(rd32(p, FLASH_CR) & CR_LOCK, CR_LOCK);
    /* Wrong order: KEY2 first. */
    CHECK_OK(oflash_probe_reset(p, true));
    fw_call(&f, FW_WRITE32, FLASH_KEYR, 0xCDEF89AB);
    CHECK(f.stop.reason == OFLASH_STOP_FAULT);
    /* Until reset. */
    CHECK_OK(oflash_probe_reset(p, true));
    CHECK_EQ_U(fw_call(&f, FW_UNLOCK, 0), 0);
    CHECK(f.stop.reason == OFLASH_STOP_BKPT);
    /* Debugger writes of a wrong key fail with a clear error as well. */
    CHECK_ERR(oflash_probe_write_u32(p, FLASH_KEYR, 1), OFLASH_ETARGET, "wrong key");
    oflash_probe_close(p);
}

/* ---- programming ---- */

static void test_program_psize_and(void)
{
    fw f;
    static const uint8_t data[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,
                                     0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    uint8_t back[16];
    uint64_t t0;
    oflash_probe *p = fresh("t_prog.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    put_buf(p, data, 16);
    /* Without unlock: PGSERR, nothing written. */
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08000000, BUF, 16, X32), SR_PGSERR);
    CHECK(all_ff(p, 0x08000000, 16));
    clear_sr(p);
    CHECK_EQ_U(rd32(p, FLASH_SR), 0);
    fw_call(&f, FW_UNLOCK, 0);
    for (int ps = X8; ps <= X32; ps++) {
        uint32_t a = 0x08000000u + 0x100u * (uint32_t)ps;
        t0 = sim_ns(p);
        CHECK_EQ_U(fw_call(&f, FW_PROGRAM, a, BUF, 16, ps), 0);
        /* 16 us per access (tprog), plus a few microseconds of CPU time */
        {
            uint64_t dt = sim_ns(p) - t0, expect = (16u >> ps) * 16000u;
            CHECK(dt >= expect && dt < expect + 30000);
        }
        CHECK_OK(oflash_probe_read_mem(back, p, a, 16));
        CHECK(memcmp(back, data, 16) == 0);
    }
    /* AND semantics: bits only go 1 -> 0. */
    {
        uint32_t a = 0xF0F0F0F0u, b = 0x0FF00FFFu;
        put_buf(p, &a, 4);
        CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08000400, BUF, 4, X32), 0);
        put_buf(p, &b, 4);
        CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08000400, BUF, 4, X32), 0);
        CHECK_EQ_U(rd32(p, 0x08000400), 0x00F000F0u);
        /* and through the boot alias at 0 */
        CHECK_EQ_U(rd32(p, 0x00000400), 0x00F000F0u);
    }
    /* PGPERR: byte write with PSIZE x32. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x201), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE8, 0x08000800, 0x00), 0);
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_ERRS, SR_PGPERR);
    CHECK(all_ff(p, 0x08000800, 4));
    clear_sr(p);
    /* PGAERR: a halfword (x16) write crossing a 128-bit row boundary. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x101), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE16, 0x0800080F, 0x0000), 0);
    CHECK(rd32(p, FLASH_SR) & (SR_PGAERR | SR_PGPERR));
    CHECK(all_ff(p, 0x08000800, 32));
    clear_sr(p);
    /* x64: the CPU writes a double word as two word stores, low word first;
     * a lone first word programs nothing until its pair arrives. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, 0x301), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, 0x08000910, 0x11223344), 0);
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_ERRS, 0);
    CHECK(all_ff(p, 0x08000910, 8));
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, 0x08000914, 0x55667788), 0);
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_ERRS, 0);
    CHECK_EQ_U(rd32(p, 0x08000910), 0x11223344);
    CHECK_EQ_U(rd32(p, 0x08000914), 0x55667788);
    /* A word that is not the pair of the pending one: PGPERR, nothing written. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, 0x08000920, 0), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, 0x08000930, 0), 0);
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_ERRS, SR_PGPERR);
    CHECK(all_ff(p, 0x08000920, 32));
    clear_sr(p);
    /* A word at an address that is not 8-aligned cannot start a double word. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, 0x08000944, 0), 0);
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_ERRS, SR_PGPERR);
    CHECK(all_ff(p, 0x08000940, 16));
    clear_sr(p);
    {
        uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8}, rb[8];
        CHECK_OK(oflash_probe_write_mem(p, 0x08000900, eight, 8));
        CHECK_OK(oflash_probe_read_mem(rb, p, 0x08000900, 8));
        CHECK(memcmp(rb, eight, 8) == 0);
    }
    /* EOP only with EOPIE. */
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_EOP, 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_CR, (1u << 24) | 0x201), 0);
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, 0x08000A00, 0x12345678), 0);
    CHECK_EQ_U(rd32(p, FLASH_SR) & (SR_EOP | 0x10000u), 0x10000u); /* BSY for 16 us */
    CHECK_EQ_U(rd32(p, FLASH_SR) & (SR_EOP | 0x10000u), SR_EOP);   /* polling fast-forwarded */
    oflash_probe_close(p);
}

/* Debugger writes to flash go through the flash interface. */
static void test_debugger_flash_write(void)
{
    fw f;
    uint8_t d[64], b[64];
    oflash_probe *p = fresh("t_dbg.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    for (int i = 0; i < 64; i++)
        d[i] = (uint8_t)(i * 7);
    CHECK_ERR(oflash_probe_write_mem(p, 0x08000100, d, 64), OFLASH_EPROTECTED, "0x08000100");
    CHECK(all_ff(p, 0x08000100, 64));
    CHECK_EQ_U(rd32(p, FLASH_SR) & SR_PGSERR, SR_PGSERR);
    clear_sr(p);
    CHECK_OK(oflash_probe_write_u32(p, FLASH_KEYR, 0x45670123));
    CHECK_OK(oflash_probe_write_u32(p, FLASH_KEYR, 0xCDEF89AB));
    CHECK_ERR(oflash_probe_write_mem(p, 0x08000100, d, 64), OFLASH_EPROTECTED, "PG is not set");
    clear_sr(p);
    CHECK_OK(oflash_probe_write_u32(p, FLASH_CR, 0x201));
    CHECK_ERR(oflash_probe_write_mem(p, 0x08000101, d, 4), OFLASH_EINVAL, "4-byte accesses");
    CHECK(all_ff(p, 0x08000100, 8));
    CHECK_OK(oflash_probe_write_mem(p, 0x08000100, d, 64));
    CHECK_OK(oflash_probe_read_mem(b, p, 0x08000100, 64));
    CHECK(memcmp(b, d, 64) == 0);
    /* RAM is plainly writable; system memory and the UID are not. */
    CHECK_OK(oflash_probe_write_mem(p, 0x20001000, d, 64));
    CHECK_ERR(oflash_probe_write_mem(p, 0x1FFF0000, d, 4), OFLASH_EPROTECTED, "system memory");
    CHECK_ERR(oflash_probe_write_mem(p, 0x1FFF7A10, d, 4), OFLASH_EPROTECTED, "read-only");
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x30000000, 4), OFLASH_ERANGE, "no memory");
    /* The CPU writing system memory: bus fault. */
    fw_call(&f, FW_WRITE32, 0x1FFF0000, 0);
    CHECK(f.stop.reason == OFLASH_STOP_FAULT && strstr(f.stop.detail, "system memory"));
    oflash_probe_close(p);
}

/* ---- erase ---- */

static void test_erase_sizes(void)
{
    fw f;
    static const struct {
        uint32_t snb, addr, size;
        int psize;
        uint64_t ms;
    } cases[] = {
        {0, 0x08000000, 0x4000, X32, 250},   {3, 0x0800C000, 0x4000, X8, 400},
        {1, 0x08004000, 0x4000, X16, 300},   {4, 0x08010000, 0x10000, X32, 550},
        {5, 0x08020000, 0x20000, X32, 1000}, {7, 0x08060000, 0x20000, X16, 1300},
    };
    uint32_t zero = 0;
    struct timespec w0, w1;
    oflash_probe *p = fresh("t_erase.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    put_buf(p, &zero, 4);
    fw_call(&f, FW_UNLOCK, 0);
    clock_gettime(CLOCK_MONOTONIC, &w0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t t0, dt;
        /* program the first and last word of the sector and of its neighbour */
        CHECK_EQ_U(fw_call(&f, FW_PROGRAM, cases[i].addr, BUF, 4, X32), 0);
        CHECK_EQ_U(fw_call(&f, FW_PROGRAM, cases[i].addr + cases[i].size - 4, BUF, 4, X32), 0);
        bool last = cases[i].addr + cases[i].size == 0x08080000u;
        if (!last)
            CHECK_EQ_U(fw_call(&f, FW_PROGRAM, cases[i].addr + cases[i].size, BUF, 4, X32), 0);
        t0 = sim_ns(p);
        CHECK_EQ_U(
            fw_call(&f, FW_ERASE_SECTOR, cases[i].snb, cases[i].psize) & (SR_ERRS | (1u << 16)), 0);
        dt = sim_ns(p) - t0;
        CHECK(dt >= cases[i].ms * 1000000u && dt < cases[i].ms * 1000000u + 100000u);
        CHECK(all_ff(p, cases[i].addr, cases[i].size));
        if (!last) CHECK_EQ_U(rd32(p, cases[i].addr + cases[i].size), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &w1);
    /* 3.75 s of simulated erase time, and the host never sleeps */
    CHECK((w1.tv_sec - w0.tv_sec) * 1000 + (w1.tv_nsec - w0.tv_nsec) / 1000000 < 1000);
    /* SER with an SNB the part does not have: PGSERR, nothing erased. */
    clear_sr(p);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 9, X32) & SR_ERRS, SR_PGSERR);
    clear_sr(p);
    /* Mass erase: everything, 4 s at x32; OTP untouched. */
    {
        uint64_t t0 = sim_ns(p);
        uint8_t otp = 0x5A;
        put_buf(p, &otp, 1);
        CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x1FFF7800, BUF, 1, X8), 0);
        CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, 4, X32) & SR_ERRS, 0);
        CHECK(sim_ns(p) - t0 >= 4000000000ull);
        CHECK(all_ff(p, 0x08000000, 512 * 1024));
        CHECK_EQ_U(rd32(p, 0x1FFF7800) & 0xFF, 0x5A);
    }
    oflash_probe_close(p);
}

/* ---- OTP ---- */

static void test_otp(void)
{
    fw f;
    uint8_t blk[32], back[32], zero = 0;
    oflash_probe *p = fresh("t_otp.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    for (int i = 0; i < 32; i++)
        blk[i] = (uint8_t)(0xA0 + i);
    fw_call(&f, FW_UNLOCK, 0);
    put_buf(p, blk, 32);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x1FFF7800, BUF, 32, X32), 0);
    CHECK_OK(oflash_probe_read_mem(back, p, 0x1FFF7800, 32));
    CHECK(memcmp(back, blk, 32) == 0);
    /* Lock block 0 with a byte write of 0x00. */
    put_buf(p, &zero, 1);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x1FFF7A00, BUF, 1, X8), 0);
    CHECK_EQ_U(rd32(p, 0x1FFF7A00), 0xFFFFFF00u);
    /* Block 0 is now read-only: WRPERR, unchanged. */
    {
        uint32_t z = 0;
        put_buf(p, &z, 4);
        CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x1FFF7804, BUF, 4, X32), SR_WRPERR);
        CHECK_OK(oflash_probe_read_mem(back, p, 0x1FFF7800, 32));
        CHECK(memcmp(back, blk, 32) == 0);
        clear_sr(p);
        /* Block 1 still programs. */
        CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x1FFF7820, BUF, 4, X32), 0);
        CHECK_EQ_U(rd32(p, 0x1FFF7820), 0);
    }
    /* Erase never touches OTP. */
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 0, X32) & SR_ERRS, 0);
    CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, 4, X32) & SR_ERRS, 0);
    CHECK_OK(oflash_probe_read_mem(back, p, 0x1FFF7800, 32));
    CHECK(memcmp(back, blk, 32) == 0);
    CHECK_EQ_U(rd32(p, 0x1FFF7A00), 0xFFFFFF00u);
    /* Writing the UID from code: WRPERR, unchanged. */
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x1FFF7A10, BUF, 4, X32), SR_WRPERR);
    clear_sr(p);
    oflash_probe_close(p);
    /* Persistence across connections. */
    {
        oflash_sim_info info;
        CHECK_OK(oflash_sim_info_read(&info, "t_otp.sim"));
        CHECK_EQ_U(info.otp_lock[0], 0x00);
        CHECK_EQ_U(info.otp_lock[1], 0xFF);
        CHECK(memcmp(info.otp, blk, 32) == 0);
    }
}

/* ---- option bytes: write protection, RDP ---- */

static void test_wrp(void)
{
    fw f;
    uint32_t z = 0;
    oflash_probe *p = fresh("t_wrp.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    put_buf(p, &z, 4);
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08004000, BUF, 4, X32), 0);
    /* nWRP bit 1 = 0: sector 1 protected */
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0x0FFDAAEC, 0) & SR_ERRS, 0);
    CHECK_EQ_U(rd32(p, FLASH_OPTCR), 0x0FFDAAEDu);
    CHECK_EQ_U(rd32(p, 0x1FFFC008) & 0xFFFF, 0x0FFD);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08004004, BUF, 4, X32), SR_WRPERR);
    CHECK(all_ff(p, 0x08004004, 4));
    clear_sr(p);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 1, X32) & SR_ERRS, SR_WRPERR);
    CHECK_EQ_U(rd32(p, 0x08004000), 0);
    clear_sr(p);
    /* Mass erase with a protected sector: WRPERR, nothing erased. */
    CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, 4, X32) & SR_ERRS, SR_WRPERR);
    CHECK_EQ_U(rd32(p, 0x08004000), 0);
    clear_sr(p);
    /* Other sectors still program. */
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08008000, BUF, 4, X32), 0);
    /* Option write without OPTKEYR unlock is ignored. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE32, FLASH_OPTCR, 0x0FFFAAEE), 0);
    CHECK_EQ_U(rd32(p, FLASH_OPTCR), 0x0FFDAAEDu);
    oflash_probe_close(p);
    p = open_chip("t_wrp.sim", NULL);
    CHECK_EQ_U(rd32(p, FLASH_OPTCR), 0x0FFDAAEDu); /* persisted */
    oflash_probe_close(p);
}

static void test_rdp(void)
{
    fw f;
    uint32_t z = 0x11223344, v;
    uint8_t b[4];
    oflash_probe *p = fresh("t_rdp.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    put_buf(p, &z, 4);
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08000000, BUF, 4, X32), 0);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x1FFF7800, BUF, 4, X32), 0);
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0x0FFFBBEC, 0) & SR_ERRS, 0); /* RDP level 1 */
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x08000000, 4), OFLASH_EPROTECTED,
              "read protection level 1");
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x00000000, 4), OFLASH_EPROTECTED,
              "read protection level 1");
    /* Code in RAM reading flash with the debugger connected: bus fault. */
    fw_call(&f, FW_READ32, 0x08000000);
    CHECK(f.stop.reason == OFLASH_STOP_FAULT && strstr(f.stop.detail, "read protection"));
    oflash_probe_close(p);
    /* Still protected after reconnecting. */
    p = open_chip("t_rdp.sim", NULL);
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x08000000, 4), OFLASH_EPROTECTED, "RDP=0xBB");
    CHECK_OK(fw_load(&f, p, F401E_RAM));
    /* Back to level 0: mass erase, OTP kept. */
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0x0FFFAAEC, 0) & SR_ERRS, 0);
    CHECK_OK(oflash_probe_read_u32(&v, p, 0x08000000));
    CHECK_EQ_U(v, 0xFFFFFFFFu);
    CHECK(all_ff(p, 0x08000000, 512 * 1024));
    CHECK_EQ_U(rd32(p, 0x1FFF7800), 0x11223344u);
    oflash_probe_close(p);
}

/* ---- peripherals ---- */

static void test_iwdg(void)
{
    fw f;
    oflash_probe *p = fresh("t_iwdg.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    fw_call(&f, FW_UNLOCK, 0);
    /* 1 s erase of sector 5 with a 512 ms watchdog, fed while BSY: fine. */
    CHECK_EQ_U(fw_call(&f, FW_IWDG_ERASE, 5, 1) & SR_ERRS, 0);
    CHECK(f.stop.reason == OFLASH_STOP_BKPT);
    /* Not fed: the watchdog resets the chip. */
    fw_call(&f, FW_IWDG_ERASE, 5, 0);
    CHECK(f.rc == 0 && f.stop.reason == OFLASH_STOP_FAULT);
    CHECK(strstr(f.stop.detail, "watchdog reset") != NULL);
    /* The reset relocked the flash interface. */
    CHECK_EQ_U(rd32(p, FLASH_CR) & CR_LOCK, CR_LOCK);
    oflash_probe_close(p);
}

static void test_crc_unit(void)
{
    fw f;
    uint8_t data[4096];
    uint32_t seed = 12345;
    oflash_probe *p = fresh("t_crc.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    for (size_t i = 0; i < sizeof data; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (uint8_t)(seed >> 16);
    }
    put_buf(p, data, sizeof data);
    CHECK_EQ_U(fw_call(&f, FW_CRC_ZLIB, BUF, sizeof data / 4), oflash_crc32(0, data, sizeof data));
    CHECK_EQ_U(fw_call(&f, FW_CRC_ZLIB, BUF, 1), oflash_crc32(0, data, 4));
    /* CRC-32/MPEG-2 check value of "123456789" needs bytes; a word: 0x04C11DB7 poly on 0 */
    CHECK_OK(oflash_probe_write_u32(p, 0x40023008, 1));
    CHECK_EQ_U(rd32(p, 0x40023000), 0xFFFFFFFFu);
    CHECK_OK(oflash_probe_write_u32(p, 0x40023000, 0));
    CHECK_EQ_U(rd32(p, 0x40023000), 0xC704DD7Bu); /* CRC-32/MPEG-2 of 00 00 00 00 */
    oflash_probe_close(p);
}

static void test_clock_and_unknown(void)
{
    fw f;
    uint64_t t0, t16, t84;
    oflash_sim_run_stats st;
    oflash_probe *p = fresh("t_clk.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    t0 = sim_ns(p);
    fw_call(&f, FW_DELAY, 100000);
    t16 = sim_ns(p) - t0;
    CHECK_EQ_U(fw_call(&f, FW_CLOCK_PLL84, 0) & 0xC, 0x8);
    oflash_sim_probe_stats(&st, p);
    CHECK_EQ_U(st.core_clock_hz, 84000000u);
    t0 = sim_ns(p);
    fw_call(&f, FW_DELAY, 100000);
    t84 = sim_ns(p) - t0;
    CHECK(t16 > 5 * t84 && t16 < 55 * t84 / 10); /* 84/16 = 5.25 */
    /* Unknown peripheral: reads 0, counted with its address. */
    CHECK_EQ_U(st.unknown_accesses, 0);
    CHECK_EQ_U(fw_call(&f, FW_READ32, 0x40020010), 0);
    oflash_sim_probe_stats(&st, p);
    CHECK_EQ_U(st.unknown_accesses, 1);
    CHECK_EQ_U(st.unknown_first, 0x40020010u);
    /* Unmapped address: bus fault. */
    fw_call(&f, FW_READ32, 0x30000000);
    CHECK(f.stop.reason == OFLASH_STOP_FAULT && strstr(f.stop.detail, "0x30000000"));
    oflash_probe_close(p);
}

/* ---- faults ---- */

static void test_fail_at(void)
{
    fw f;
    uint32_t z = 0;
    oflash_sim_faults flt = {0};
    oflash_probe *p;
    unlink("t_fail.sim");
    CHECK_OK(oflash_sim_create("t_fail.sim", "STM32F401RE", UID));
    flt.fail_at = true;
    flt.fail_addr = 0x08004008;
    CHECK_OK(oflash_sim_set_faults("t_fail.sim", &flt));
    p = open_chip("t_fail.sim", NULL);
    CHECK_OK(fw_load(&f, p, F401E_RAM));
    put_buf(p, &z, 4);
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08004000, BUF, 4, X32), 0);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08004008, BUF, 4, X32), SR_OPERR);
    CHECK_EQ_U(rd32(p, 0x08004008), 0xFFFFFFFFu);
    clear_sr(p);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08004004, BUF, 4, X32), 0);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 1, X32) & SR_ERRS, SR_OPERR);
    CHECK_EQ_U(rd32(p, 0x08004000), 0xFFFFFFFFu);
    oflash_probe_close(p);
}

static void test_power_loss(void)
{
    fw f;
    oflash_sim_faults flt = {0};
    oflash_sim_info info;
    uint8_t *b = malloc(0x20000);
    size_t ff = 0;
    oflash_probe *p = fresh("t_pwr.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p || !b) return;
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(fw_call(&f, FW_BENCH, 0x08020000, 0x8000, 0xFFFFFFFF), 0); /* fill sector 5 */
    oflash_probe_close(p);
    flt.power_loss = true;
    flt.power_loss_after = 1; /* one more operation completes, then power fails */
    CHECK_OK(oflash_sim_set_faults("t_pwr.sim", &flt));
    /* A later command hits the fault: */
    p = open_chip("t_pwr.sim", NULL);
    CHECK_OK(fw_load(&f, p, F401E_RAM));
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 0, X32) & SR_ERRS, 0); /* operation 1 completes */
    fw_call(&f, FW_ERASE_SECTOR, 5, X32);
    CHECK_EQ_U(f.rc, OFLASH_ELINK);
    CHECK(strstr(oflash_error_last(), "power lost") != NULL);
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x08020000, 4), OFLASH_ELINK, "power lost");
    oflash_probe_close(p);
    CHECK_OK(oflash_sim_info_read(&info, "t_pwr.sim"));
    CHECK(!info.faults.power_loss); /* one-shot */
    CHECK(!info.sector_blank[5]);
    /* Partially erased: some of the sector reads erased, not all of it. */
    p = open_chip("t_pwr.sim", NULL);
    CHECK_OK(oflash_probe_read_mem(b, p, 0x08020000, 0x20000));
    for (size_t i = 0; i < 0x20000; i++)
        ff += b[i] == 0xFF;
    CHECK(ff > 0x20000 / 4 && ff < 0x20000 - 0x1000);
    /* RAM did not survive the power cycle: reload, then a clean erase. */
    CHECK_OK(fw_load(&f, p, F401E_RAM));
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 5, X32) & SR_ERRS, 0);
    CHECK(all_ff(p, 0x08020000, 0x20000));
    oflash_probe_close(p);
    /* Power loss during an erase started by the debugger (as a GDB server's
     * vFlashErase does): the write that starts it reports the lost link. */
    flt.power_loss_after = 0;
    CHECK_OK(oflash_sim_set_faults("t_pwr.sim", &flt));
    p = open_chip("t_pwr.sim", NULL);
    CHECK_OK(oflash_probe_write_u32(p, FLASH_KEYR, 0x45670123));
    CHECK_OK(oflash_probe_write_u32(p, FLASH_KEYR, 0xCDEF89AB));
    CHECK_OK(oflash_probe_write_u32(p, FLASH_CR, 0x20A)); /* SER, SNB 1, x32 */
    CHECK_ERR(oflash_probe_write_u32(p, FLASH_CR, 0x1020A), OFLASH_ELINK, "power lost");
    oflash_probe_close(p);
    free(b);
}

static void test_link_drop(void)
{
    oflash_sim_faults flt = {0};
    oflash_probe *p;
    uint32_t v;
    unlink("t_link.sim");
    CHECK_OK(oflash_sim_create("t_link.sim", "STM32F401RE", UID));
    flt.link_drop = true;
    flt.link_drop_after = 3;
    CHECK_OK(oflash_sim_set_faults("t_link.sim", &flt));
    p = open_chip("t_link.sim", NULL);
    for (int i = 0; i < 3; i++)
        CHECK_OK(oflash_probe_read_u32(&v, p, 0x20000000));
    CHECK_ERR(oflash_probe_read_u32(&v, p, 0x20000000), OFLASH_ELINK, "dropped");
    CHECK_ERR(oflash_probe_read_u32(&v, p, 0x20000000), OFLASH_ELINK, "dropped");
    oflash_probe_close(p);
    p = open_chip("t_link.sim", NULL);
    for (int i = 0; i < 5; i++)
        CHECK_OK(oflash_probe_read_u32(&v, p, 0x20000000));
    oflash_probe_close(p);
}

/* ---- dual bank ---- */

static void test_dual_bank(void)
{
    fw f;
    uint32_t z = 0;
    oflash_probe *p = fresh("t_f429.sim", "STM32F429ZI", &f, 192 * 1024);
    if (!p) return;
    CHECK_EQ_U(rd32(p, 0xE0042000) & 0xFFF, 0x419);
    put_buf(p, &z, 4);
    fw_call(&f, FW_UNLOCK, 0);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08000000, BUF, 4, X32), 0);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x08100000, BUF, 4, X32), 0);
    CHECK_EQ_U(fw_call(&f, FW_PROGRAM, 0x081E0000, BUF, 4, X32), 0);
    /* Sector 12 is SNB 16 (bank bit). */
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 16, X32) & SR_ERRS, 0);
    CHECK_EQ_U(rd32(p, 0x08100000), 0xFFFFFFFFu);
    CHECK_EQ_U(rd32(p, 0x08000000), 0);
    /* SNB 12..15 name no sector. */
    CHECK_EQ_U(fw_call(&f, FW_ERASE_SECTOR, 12, X32) & SR_ERRS, SR_PGSERR);
    clear_sr(p);
    /* MER1 erases bank 2 only. */
    CHECK_EQ_U(fw_call(&f, FW_MASS_ERASE, 1u << 15, X32) & SR_ERRS, 0);
    CHECK_EQ_U(rd32(p, 0x081E0000), 0xFFFFFFFFu);
    CHECK_EQ_U(rd32(p, 0x08000000), 0);
    oflash_probe_close(p);
}

/* ---- core control: reset vector, breakpoints, budget, timeout ---- */

static void test_core_control(void)
{
    fw f;
    /* vector table (SP, reset|1) then: movs r0,#42; nop; b . */
    static const uint32_t image[4] = {0x20001000u, 0x08000009u, 0xBF00202Au, 0x0000E7FEu};
    oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
    oflash_stop_info st;
    oflash_sim_run_stats ss;
    oflash_probe_stats ps;
    uint32_t v;
    struct timespec w0, w1;
    long ms;
    oflash_probe *p = fresh("t_core.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    CHECK_OK(oflash_probe_write_u32(p, FLASH_KEYR, 0x45670123));
    CHECK_OK(oflash_probe_write_u32(p, FLASH_KEYR, 0xCDEF89AB));
    CHECK_OK(oflash_probe_write_u32(p, FLASH_CR, 0x201));
    CHECK_OK(oflash_probe_write_mem(p, 0x08000000, image, sizeof image));
    CHECK_OK(oflash_probe_reset(p, true));
    CHECK_OK(oflash_probe_read_reg(&v, p, OFLASH_REG_SP));
    CHECK_EQ_U(v, 0x20001000u);
    CHECK_OK(oflash_probe_read_reg(&v, p, OFLASH_REG_PC));
    CHECK_EQ_U(v, 0x08000008u);
    CHECK_OK(oflash_probe_read_reg(&v, p, OFLASH_REG_XPSR));
    CHECK_EQ_U(v & 0x01000000u, 0x01000000u);
    /* Reset relocked the flash interface. */
    CHECK_EQ_U(rd32(p, FLASH_CR), CR_LOCK);
    /* Breakpoint at the "b ." */
    ro.have_break = true;
    ro.break_addr = 0x0800000C;
    CHECK_OK(oflash_probe_run(&st, p, &ro));
    CHECK(st.reason == OFLASH_STOP_BREAKPOINT);
    CHECK_EQ_U(st.pc, 0x0800000Cu);
    CHECK_OK(oflash_probe_read_reg(&v, p, OFLASH_REG_R0));
    CHECK_EQ_U(v, 42);
    /* Resuming from a breakpoint on a self-loop hits it again at once. */
    CHECK_OK(oflash_probe_run(&st, p, &ro));
    CHECK(st.reason == OFLASH_STOP_BREAKPOINT);
    /* Instruction budget. */
    ro.have_break = false;
    ro.max_insns = 1000;
    CHECK_OK(oflash_probe_run(&st, p, &ro));
    CHECK(st.reason == OFLASH_STOP_TIMEOUT && strstr(st.detail, "budget"));
    oflash_sim_probe_stats(&ss, p);
    CHECK(ss.cpu_insns >= 1000 && ss.cpu_insns < 1100);
    /* Single steps are exact: reset, then movs / nop / b . one at a time. */
    CHECK_OK(oflash_probe_reset(p, true));
    ro.max_insns = 1;
    CHECK_OK(oflash_probe_run(&st, p, &ro));
    CHECK(st.reason == OFLASH_STOP_TIMEOUT);
    CHECK_EQ_U(st.pc, 0x0800000Au);
    CHECK_OK(oflash_probe_read_reg(&v, p, OFLASH_REG_R0));
    CHECK_EQ_U(v, 42);
    CHECK_OK(oflash_probe_run(&st, p, &ro));
    CHECK_EQ_U(st.pc, 0x0800000Cu);
    ro.max_insns = 2; /* the budget ends the run before a breakpoint elsewhere */
    ro.have_break = true;
    ro.break_addr = 0x08000000;
    CHECK_OK(oflash_probe_run(&st, p, &ro));
    CHECK(st.reason == OFLASH_STOP_TIMEOUT && strstr(st.detail, "budget of 2"));
    CHECK_EQ_U(st.pc, 0x0800000Cu);
    ro.have_break = false;
    /* Time limit: counted in target (simulated) time, the core is halted
     * where it was, after 50 ms of simulated time whatever the host's speed. */
    ro.max_insns = 0;
    ro.timeout_ms = 50;
    oflash_sim_probe_stats(&ss, p);
    uint64_t sim0 = ss.sim_time_ns;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    CHECK_OK(oflash_probe_run(&st, p, &ro));
    clock_gettime(CLOCK_MONOTONIC, &w1);
    ms = (w1.tv_sec - w0.tv_sec) * 1000 + (w1.tv_nsec - w0.tv_nsec) / 1000000;
    oflash_sim_probe_stats(&ss, p);
    CHECK(st.reason == OFLASH_STOP_TIMEOUT && strstr(st.detail, "time limit of 50 ms"));
    CHECK(ss.sim_time_ns - sim0 >= 50000000u && ss.sim_time_ns - sim0 < 51000000u);
    CHECK(ms < 3000);
    CHECK_EQ_U(st.pc, 0x0800000Cu);
    /* Simulated time reaches the probe statistics. */
    oflash_probe_get_stats(&ps, p);
    CHECK(ps.has_sim_time && ps.sim_time_ns > 0);
    oflash_sim_probe_stats(&ss, p);
    CHECK(ps.sim_time_ns <= ss.sim_time_ns && ss.sim_time_ns - ps.sim_time_ns < 1000);
    CHECK(ps.round_trips > 10);
    /* HSE as system clock: 8 MHz. */
    CHECK_OK(oflash_probe_write_u32(p, 0x40023800, 0x00010083));
    CHECK_EQ_U(rd32(p, 0x40023800) & 0x00020000u, 0x00020000u); /* HSERDY */
    CHECK_OK(oflash_probe_write_u32(p, 0x40023808, 1));
    CHECK_EQ_U(rd32(p, 0x40023808) & 0xF, 0x5); /* SWS = HSE */
    oflash_sim_probe_stats(&ss, p);
    CHECK_EQ_U(ss.core_clock_hz, 8000000u);
    /* Hardware watchdog (WDG_SW = 0): running from reset, the endless loop
     * is reset after 512 ms. */
    CHECK_OK(fw_load(&f, p, F401E_RAM));
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0x0FFFAACC, 0) & SR_ERRS, 0);
    CHECK_OK(oflash_probe_reset(p, true));
    ro.timeout_ms = 0;
    ro.max_insns = 20000000;
    CHECK_OK(oflash_probe_run(&st, p, &ro));
    CHECK(st.reason == OFLASH_STOP_FAULT &&
          strstr(st.detail, "watchdog reset: IWDG not reloaded within 512 ms"));
    CHECK_EQ_U(st.pc, 0x08000008u); /* back at the reset vector */
    oflash_probe_close(p);
}

/* RDP level 2 is irreversible: the debug port refuses every connection. */
static void test_rdp2(void)
{
    fw f;
    oflash_probe *p2 = NULL;
    oflash_sim_info info;
    oflash_probe *p = fresh("t_rdp2.sim", "STM32F401RE", &f, F401E_RAM);
    if (!p) return;
    CHECK_EQ_U(fw_call(&f, FW_OPT_PROGRAM, 0x0FFFCCEC, 0) & SR_ERRS, 0);
    oflash_probe_close(p);
    CHECK_ERR(oflash_probe_open(&p2, "sim:t_rdp2.sim", NULL), OFLASH_EPROTECTED, "level 2");
    CHECK_OK(oflash_sim_info_read(&info, "t_rdp2.sim"));
    CHECK_EQ_U(oflash_sim_rdp_level(info.optcr), 2);
}

int main(void)
{
    test_create_and_ids();
    test_unlock_lock();
    test_wrong_key();
    test_program_psize_and();
    test_debugger_flash_write();
    test_erase_sizes();
    test_otp();
    test_wrp();
    test_rdp();
    test_iwdg();
    test_crc_unit();
    test_clock_and_unknown();
    test_fail_at();
    test_power_loss();
    test_link_drop();
    test_dual_bank();
    test_core_control();
    test_rdp2();
    return test_summary();
}
