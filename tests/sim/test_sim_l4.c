/*
 * test_sim_l4.c - the simulated STM32L476RG (RM0351 rev 9) driven by real
 * Thumb-2 code (the bus accesses of fw/fw.c's FW_WRITE32/16/8 and
 * FW_READ32, built with arm-none-eabi-gcc) and by the debugger view; then
 * the built-in stm32l4 flash loader on it.  Every refusal asserts the
 * FLASH_SR flag the silicon raises and that memory did not change.
 */
#include "harness.h"
#include "sim_fw.h"

#include "oflash/device.h"
#include "oflash/error.h"
#include "oflash/image.h"
#include "oflash/loader.h"
#include "oflash/sim.h"

#include <stdbool.h>
#include <unistd.h>

#define FL 0x40022000u
#define KEYR (FL + 0x08)
#define OPTKEYR (FL + 0x0C)
#define SR (FL + 0x10)
#define CR (FL + 0x14)
#define ECCR (FL + 0x18)
#define OPTR (FL + 0x20)
#define WRP1AR (FL + 0x2C)
#define EOP 0x1u
#define OPERR 0x2u
#define PROGERR 0x8u
#define WRPERR 0x10u
#define PGAERR 0x20u
#define SIZERR 0x40u
#define PGSERR 0x80u
#define MISERR 0x100u
#define FASTERR 0x200u
#define ERRS 0xC3FAu
#define BSY 0x10000u
#define PG 0x1u
#define PER 0x2u
#define MER1 0x4u
#define MER2 0x8000u
#define STRT 0x10000u
#define OPTSTRT 0x20000u
#define FSTPG 0x40000u
#define EOPIE 0x1000000u
#define LOCK 0x80000000u
#define F0 0x08000000u
#define OTP 0x1FFF7000u
#define RAM (96u * 1024u)
#define DEV "STM32L476RG"

static oflash_probe *open_chip(const char *path)
{
    return sim_open_chip(path, DEV, "0123456789abcdef00112233");
}

static uint64_t rd64(oflash_probe *p, uint32_t a)
{
    uint64_t v = 0;
    CHECK_OK(oflash_probe_read_mem(&v, p, a, 8));
    return v;
}

/* CPU stores (Thumb-2 STR/STRH/STRB in the firmware). */
static void w32(fw *f, uint32_t a, uint32_t v)
{
    uint32_t r = fw_call(f, FW_WRITE32, a, v);
    if (r != 0) fprintf(stderr, "write 0x%08X = 0x%08X: %s\n", a, v, f->stop.detail);
    CHECK_EQ_U(r, 0);
}

static uint32_t cpu_rd(fw *f, uint32_t a)
{
    return fw_call(f, FW_READ32, a);
}

static void unlock(fw *f)
{
    w32(f, KEYR, 0x45670123u);
    w32(f, KEYR, 0xCDEF89ABu);
}

static void clear(fw *f)
{
    w32(f, SR, ERRS | EOP);
}

/* The CPU waits for BSY (reading SR fast-forwards simulated time). */
static uint32_t wait(fw *f)
{
    uint32_t sr;
    while ((sr = cpu_rd(f, SR)) & BSY)
        ;
    return sr;
}

static void test_ids_and_unlock(void)
{
    fw f;
    uint8_t uid[12];
    oflash_probe *p;
    unlink("t_l4_ids.sim");
    p = open_chip("t_l4_ids.sim");
    if (!p) return;
    CHECK(strcmp(oflash_probe_part(p), "STM32L476xG") == 0);
    CHECK_OK(fw_load(&f, p, RAM));
    CHECK_EQ_U(cpu_rd(&f, 0xE0042000u) & 0xFFF, 0x415);
    CHECK_EQ_U(cpu_rd(&f, 0x1FFF75E0u) & 0xFFFF, 1024);
    CHECK_OK(oflash_probe_read_mem(uid, p, 0x1FFF7590u, 12));
    CHECK(uid[0] == 0x01 && uid[11] == 0x33);
    CHECK_EQ_U(cpu_rd(&f, OPTR), 0xFFEFF8AAu); /* factory: RDP 0, dual bank */
    CHECK_EQ_U(cpu_rd(&f, WRP1AR), 0xFF00FFFFu);
    CHECK(cpu_rd(&f, CR) & LOCK);
    /* Locked: CR writes are ignored. */
    w32(&f, CR, PG);
    CHECK_EQ_U(cpu_rd(&f, CR) & PG, 0);
    unlock(&f);
    CHECK_EQ_U(cpu_rd(&f, CR) & LOCK, 0);
    w32(&f, CR, LOCK);
    CHECK(cpu_rd(&f, CR) & LOCK);
    /* A wrong key: bus fault, CR locked until reset. */
    fw_call(&f, FW_WRITE32, KEYR, 0x12345678u);
    CHECK(f.stop.reason == OFLASH_STOP_FAULT && strstr(f.stop.detail, "FLASH_KEYR"));
    fw_call(&f, FW_WRITE32, KEYR, 0x45670123u); /* the right keys fault too now */
    CHECK(f.stop.reason == OFLASH_STOP_FAULT && strstr(f.stop.detail, "until reset"));
    CHECK(rd32(p, CR) & LOCK);
    CHECK_OK(oflash_probe_reset(p, false));
    CHECK_OK(fw_load(&f, p, RAM));
    unlock(&f);
    CHECK_EQ_U(rd32(p, CR) & LOCK, 0);
    oflash_probe_close(p);
}

static void test_program_errors(void)
{
    fw f;
    oflash_probe *p;
    uint64_t t0;
    unlink("t_l4_prog.sim");
    p = open_chip("t_l4_prog.sim");
    if (!p || fw_load(&f, p, RAM) < 0) return;
    unlock(&f);

    /* Without PG: PGSERR, nothing written. */
    w32(&f, F0, 0x11111111u);
    CHECK_EQ_U(rd32(p, SR) & ERRS, PGSERR);
    CHECK_EQ_U(rd64(p, F0), ~0ull);
    /* With the flag still set, PG + a good double word: PGSERR again. */
    w32(&f, CR, PG);
    w32(&f, F0, 0x11111111u);
    w32(&f, F0 + 4, 0x22222222u);
    CHECK_EQ_U(rd32(p, SR) & ERRS, PGSERR);
    CHECK_EQ_U(rd64(p, F0), ~0ull);
    clear(&f);

    /* A double word: first word, second word, 81.69 us of BSY. */
    t0 = sim_ns(p);
    w32(&f, F0, 0x11111111u);
    CHECK_EQ_U(rd64(p, F0), ~0ull); /* nothing until the second word */
    w32(&f, F0 + 4, 0x22222222u);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    CHECK_EQ_U(rd64(p, F0), 0x2222222211111111ull);
    CHECK(sim_ns(p) - t0 >= 81690 && sim_ns(p) - t0 < 200000);

    /* Byte and half-word stores: SIZERR. */
    CHECK_EQ_U(fw_call(&f, FW_WRITE8, F0 + 8, 0x12), 0);
    CHECK_EQ_U(rd32(p, SR) & ERRS, SIZERR);
    clear(&f);
    CHECK_EQ_U(fw_call(&f, FW_WRITE16, F0 + 8, 0x1234), 0);
    CHECK_EQ_U(rd32(p, SR) & ERRS, SIZERR);
    clear(&f);
    CHECK_EQ_U(rd64(p, F0 + 8), ~0ull);

    /* First word at an address that is not 8-aligned: PGAERR. */
    w32(&f, F0 + 12, 0x33333333u);
    CHECK_EQ_U(rd32(p, SR) & ERRS, PGAERR);
    clear(&f);
    /* Second word not next to the first: PGAERR, nothing written. */
    w32(&f, F0 + 16, 0x33333333u);
    w32(&f, F0 + 32, 0x44444444u);
    CHECK_EQ_U(rd32(p, SR) & ERRS, PGAERR);
    clear(&f);
    CHECK_EQ_U(rd64(p, F0 + 16), ~0ull);
    CHECK_EQ_U(rd64(p, F0 + 32), ~0ull);

    /* A programmed double word again with other data: PROGERR, unchanged;
     * with all zeros it is allowed (RM0351 §3.3.7). */
    w32(&f, F0, 0x01010101u);
    w32(&f, F0 + 4, 0x02020202u);
    CHECK_EQ_U(wait(&f) & ERRS, PROGERR);
    CHECK_EQ_U(rd64(p, F0), 0x2222222211111111ull);
    clear(&f);
    w32(&f, F0, 0);
    w32(&f, F0 + 4, 0);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    CHECK_EQ_U(rd64(p, F0), 0);

    /* EOP only with EOPIE. */
    CHECK_EQ_U(rd32(p, SR) & EOP, 0);
    w32(&f, CR, PG | EOPIE);
    w32(&f, F0 + 40, 0x55555555u);
    w32(&f, F0 + 44, 0x66666666u);
    CHECK_EQ_U(wait(&f) & (ERRS | EOP), EOP);

    /* OTP: written once per double word, even zeros cannot follow. */
    clear(&f);
    w32(&f, OTP, 0x4E53u);
    w32(&f, OTP + 4, 0x31u);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    CHECK_EQ_U(rd64(p, OTP), 0x0000003100004E53ull);
    w32(&f, OTP, 0);
    w32(&f, OTP + 4, 0);
    CHECK_EQ_U(wait(&f) & ERRS, PROGERR);
    CHECK_EQ_U(rd64(p, OTP), 0x0000003100004E53ull);
    clear(&f);

    /* Page erase: PER + PNB + STRT, 22.02 ms; OTP is never erased. */
    t0 = sim_ns(p);
    w32(&f, CR, PER | (0u << 3));
    w32(&f, CR, PER | STRT);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    CHECK(sim_ns(p) - t0 >= 22020000ull && sim_ns(p) - t0 < 22200000ull);
    /* The progress bar's estimate is the chip's typical page erase time. */
    CHECK_EQ_U(oflash_device_erase_time_us(oflash_builtin_device_find(DEV), 2048), 22020u);
    CHECK_EQ_U(rd64(p, F0), ~0ull);
    CHECK_EQ_U(rd64(p, OTP), 0x0000003100004E53ull);
    /* Bank 2, page 3 (number 259): BKER. */
    w32(&f, CR, PG);
    w32(&f, F0 + 0x80000 + 3 * 2048, 0xAAAAAAAAu);
    w32(&f, F0 + 0x80000 + 3 * 2048 + 4, 0xBBBBBBBBu);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    w32(&f, CR, PER | (3u << 3) | 0x800u);
    w32(&f, CR, PER | (3u << 3) | 0x800u | STRT);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    CHECK_EQ_U(rd64(p, F0 + 0x80000 + 3 * 2048), ~0ull);
    /* PER with MER1: PGSERR, nothing erased. */
    w32(&f, CR, PG);
    w32(&f, F0 + 2048, 0x12345678u);
    w32(&f, F0 + 2048 + 4, 0x9ABCDEF0u);
    wait(&f);
    w32(&f, CR, PER | MER1 | (1u << 3) | STRT);
    CHECK_EQ_U(rd32(p, SR) & ERRS, PGSERR);
    CHECK_EQ_U(rd64(p, F0 + 2048), 0x9ABCDEF012345678ull);
    clear(&f);
    oflash_probe_close(p);
}

static void test_fast_programming(void)
{
    fw f;
    oflash_probe *p;
    unlink("t_l4_fast.sim");
    p = open_chip("t_l4_fast.sim");
    if (!p || fw_load(&f, p, RAM) < 0) return;
    unlock(&f);
    /* Without a mass erase of the bank: PGSERR, nothing written. */
    w32(&f, CR, FSTPG);
    w32(&f, F0, 0x01020304u);
    w32(&f, F0 + 4, 0x05060708u);
    CHECK_EQ_U(rd32(p, SR) & ERRS, PGSERR);
    CHECK_EQ_U(rd64(p, F0), ~0ull);
    clear(&f);
    /* Mass erase of both banks (22.13 ms), then a row of 32 double words. */
    w32(&f, CR, MER1 | MER2);
    w32(&f, CR, MER1 | MER2 | STRT);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    w32(&f, CR, FSTPG);
    for (uint32_t i = 0; i < 64; i++)
        w32(&f, F0 + 4 * i, 0xA5000000u | i);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    CHECK_EQ_U(rd32(p, F0 + 4 * 63), 0xA500003Fu);
    /* The next row, but a double word arrives late: MISERR | FASTERR. */
    w32(&f, F0 + 256, 1);
    w32(&f, F0 + 260, 2);
    fw_call(&f, FW_DELAY, 2000); /* well over 20 us at 16 MHz */
    w32(&f, F0 + 264, 3);
    w32(&f, F0 + 268, 4);
    CHECK_EQ_U(wait(&f) & (MISERR | FASTERR), MISERR | FASTERR);
    CHECK_EQ_U(rd64(p, F0 + 264), ~0ull);
    clear(&f);
    /* A row that does not start on a row boundary: PGAERR | FASTERR. */
    w32(&f, F0 + 512 + 8, 1);
    w32(&f, F0 + 512 + 12, 2);
    CHECK_EQ_U(rd32(p, SR) & (PGAERR | FASTERR), PGAERR | FASTERR);
    clear(&f);
    /* Fast programming of OTP: PGSERR. */
    w32(&f, OTP, 1);
    w32(&f, OTP + 4, 2);
    CHECK_EQ_U(rd32(p, SR) & PGSERR, PGSERR);
    CHECK_EQ_U(rd64(p, OTP), ~0ull);
    clear(&f);
    oflash_probe_close(p);
}

/* Write protection and option bytes: WRP1A pages 4..5, effective after a
 * reset; then RDP level 1 and back to 0 (mass erase). */
static void test_wrp_and_options(void)
{
    fw f;
    oflash_probe *p;
    unlink("t_l4_opt.sim");
    p = open_chip("t_l4_opt.sim");
    if (!p || fw_load(&f, p, RAM) < 0) return;
    unlock(&f);
    w32(&f, CR, PG);
    w32(&f, F0 + 4 * 2048, 0x11111111u);
    w32(&f, F0 + 4 * 2048 + 4, 0x22222222u);
    wait(&f);
    /* Option registers are read-only while OPTLOCK is set. */
    w32(&f, WRP1AR, 4u | (5u << 16));
    CHECK_EQ_U(cpu_rd(&f, WRP1AR), 0xFF00FFFFu);
    w32(&f, OPTKEYR, 0x08192A3Bu);
    w32(&f, OPTKEYR, 0x4C5D6E7Fu);
    w32(&f, WRP1AR, 4u | (5u << 16));
    w32(&f, CR, OPTSTRT);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    CHECK_OK(oflash_probe_reset(p, false)); /* options load at reset */
    CHECK_OK(fw_load(&f, p, RAM));
    CHECK_EQ_U(cpu_rd(&f, WRP1AR), 0xFF05FF04u);
    unlock(&f);
    w32(&f, CR, PER | (5u << 3));
    w32(&f, CR, PER | (5u << 3) | STRT);
    CHECK_EQ_U(wait(&f) & ERRS, WRPERR);
    clear(&f);
    w32(&f, CR, PER | (4u << 3) | STRT);
    CHECK_EQ_U(wait(&f) & ERRS, WRPERR);
    CHECK_EQ_U(rd64(p, F0 + 4 * 2048), 0x2222222211111111ull);
    clear(&f);
    w32(&f, CR, PG);
    w32(&f, F0 + 5 * 2048, 0);
    w32(&f, F0 + 5 * 2048 + 4, 0);
    CHECK_EQ_U(wait(&f) & ERRS, WRPERR);
    CHECK_EQ_U(rd64(p, F0 + 5 * 2048), ~0ull);
    clear(&f);
    /* Mass erase with a protected page: WRPERR, nothing erased. */
    w32(&f, CR, MER1 | STRT);
    CHECK_EQ_U(wait(&f) & ERRS, WRPERR);
    CHECK_EQ_U(rd64(p, F0 + 4 * 2048), 0x2222222211111111ull);
    clear(&f);
    /* The option bytes as stored: WRP1A and its complement. */
    CHECK_EQ_U(rd32(p, 0x1FFF7818u), 0xFF05FF04u);
    CHECK_EQ_U(rd32(p, 0x1FFF781Cu), ~0xFF05FF04u);
    oflash_probe_close(p);
}

/* The session guard (oflash gdbserver without --otp / option opt-in): OTP
 * programs and option programming fail with WRPERR, nothing changes. */
static void test_guard(void)
{
    fw f;
    oflash_probe *p;
    unlink("t_l4_guard.sim");
    p = open_chip("t_l4_guard.sim");
    if (!p || fw_load(&f, p, RAM) < 0) return;
    CHECK_OK(oflash_sim_probe_guard(p, OFLASH_SIM_GUARD_OTP | OFLASH_SIM_GUARD_OPTION_BYTES));
    unlock(&f);
    w32(&f, CR, PG);
    w32(&f, OTP, 0x11111111u);
    w32(&f, OTP + 4, 0x22222222u);
    CHECK_EQ_U(wait(&f) & ERRS, WRPERR);
    CHECK_EQ_U(rd64(p, OTP), ~0ull);
    clear(&f);
    w32(&f, F0, 0x11111111u); /* main flash is not guarded */
    w32(&f, F0 + 4, 0x22222222u);
    CHECK_EQ_U(wait(&f) & ERRS, 0);
    w32(&f, CR, 0);
    w32(&f, OPTKEYR, 0x08192A3Bu);
    w32(&f, OPTKEYR, 0x4C5D6E7Fu);
    w32(&f, WRP1AR, 0u | (7u << 16));
    w32(&f, CR, OPTSTRT);
    CHECK_EQ_U(wait(&f) & ERRS, WRPERR);
    CHECK_EQ_U(rd32(p, 0x1FFF7818u), 0xFF00FFFFu); /* stored WRP1A unchanged */
    oflash_probe_close(p);
}

/* --fail-at: the double word does not program completely, OPERR. */
static void test_fail_at(void)
{
    fw f;
    oflash_probe *p;
    oflash_sim_faults fl;
    uint8_t b[8];
    unlink("t_l4_fail.sim");
    CHECK_OK(oflash_sim_create("t_l4_fail.sim", DEV, NULL));
    memset(&fl, 0, sizeof fl);
    fl.fail_at = true;
    fl.fail_addr = F0 + 0x1004;
    CHECK_OK(oflash_sim_set_faults("t_l4_fail.sim", &fl));
    p = open_chip("t_l4_fail.sim");
    if (!p || fw_load(&f, p, RAM) < 0) return;
    unlock(&f);
    w32(&f, CR, PG);
    w32(&f, F0 + 0x1000, 0);
    w32(&f, F0 + 0x1004, 0);
    CHECK_EQ_U(wait(&f) & ERRS, OPERR);
    CHECK_OK(oflash_probe_read_mem(b, p, F0 + 0x1000, 8));
    CHECK(b[0] == 0x03 && b[1] == 0 && b[7] == 0); /* two bits did not program */
    /* ECCR: ECCD/ECCC are write-1-to-clear, ECCIE is writable. */
    CHECK_OK(oflash_probe_write_u32(p, ECCR, 0x01000000u));
    CHECK_EQ_U(rd32(p, ECCR), 0x01000000u);
    oflash_probe_close(p);
}

/* The built-in loader on the chip: pages, rows after EraseChip, OTP, CRC. */
static void test_loader(void)
{
    oflash_probe *p;
    oflash_flm *flm = NULL;
    oflash_loader *l = NULL;
    oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
    uint8_t *data = malloc(8192), *back = malloc(8192);
    uint32_t crc = 0;
    unlink("t_l4_ldr.sim");
    p = open_chip("t_l4_ldr.sim");
    if (!p || !data || !back) goto out;
    for (int i = 0; i < 8192; i++)
        data[i] = (uint8_t)(i * 13 + 7);
    CHECK_OK(oflash_flm_builtin(&flm, "stm32l4"));
    o.ram_start = 0x20000000u;
    o.ram_size = RAM;
    CHECK_OK(oflash_loader_open(&l, p, flm, &o));
    if (!l) goto out;
    CHECK_OK(oflash_loader_erase_sectors(l, F0, 0, 4));
    CHECK_OK(oflash_loader_program(l, F0 + 3, data, 8000)); /* head and tail padded */
    CHECK_OK(oflash_probe_read_mem(back, p, F0, 8192));
    CHECK(back[0] == 0xFF && back[1] == 0xFF && back[2] == 0xFF);
    CHECK(memcmp(back + 3, data, 8000) == 0);
    CHECK(back[8003] == 0xFF);
    CHECK_OK(oflash_loader_crc32(&crc, l, F0 + 3, 8000));
    CHECK_EQ_U(crc, oflash_crc32(0, data, 8000));
    /* Programming over programmed double words: PROGERR through the loader. */
    CHECK_ERR(oflash_loader_program(l, F0 + 8, data, 8), OFLASH_ETARGET, "PROGERR");
    /* OTP: whole double words, once. */
    CHECK_OK(oflash_loader_program(l, OTP + 16, "SERIAL-0000042!!", 16));
    CHECK_ERR(oflash_loader_program(l, OTP + 16, "SERIAL-9999942!!", 16), OFLASH_ETARGET,
              "already written");
    CHECK_OK(oflash_loader_program(l, OTP + 16, "SERIAL-0000042!!", 16)); /* equal: nothing */
    CHECK_OK(oflash_probe_read_mem(back, p, OTP + 16, 16));
    CHECK(memcmp(back, "SERIAL-0000042!!", 16) == 0);
    CHECK_ERR(oflash_loader_erase_sectors(l, OTP, 0, 1), OFLASH_ERANGE, "OTP cannot be erased");
    oflash_loader_close(l);
    l = NULL;
out:
    if (l) oflash_loader_close(l);
    oflash_flm_free(flm);
    if (p) oflash_probe_close(p);
    free(data);
    free(back);
}

int main(void)
{
    test_ids_and_unlock();
    test_program_errors();
    test_fast_programming();
    test_wrp_and_options();
    test_fail_at();
    test_guard();
    test_loader();
    return test_summary();
}
