/*
 * test_loader_sim.c - the built-in stm32f4 loader end to end on the
 * simulated chip (sim: probe, STM32F401RE and STM32F429ZI):
 *  - erase of each sector size (16K, 64K, 128K) with the datasheet's typical
 *    times, neighbours untouched, chip erase (MER, and MER|MER1 on 2 MB);
 *  - programming at x8, x16, x32 (program accesses counted per PSIZE);
 *  - OTP data, then lock bytes always byte-wise (one access per non-0xFF
 *    byte, nothing else touched) at every PSIZE; a locked block refuses
 *    programming (WRPERR surfaces with the function name and arguments);
 *  - CRC-32 on the target equals oflash_crc32 for odd starts and lengths,
 *    chaining from a non-zero CRC; blank check;
 *  - errors: erase of OTP, addresses beyond the part, a cell that does not
 *    program (OPERR), a hanging loader stopped at its timeout;
 *  - the whole 512 KB of an F401xE: simulated time of erase + program via
 *    the loader against the datasheet floor (printed; must be <= 1.03x).
 */
#include "harness.h"
#include "oflash/device.h"
#include "oflash/image.h"
#include "oflash/loader.h"
#include "oflash/probe.h"
#include "oflash/sim.h"
#include "targets/stm32f4/stm32f4_regs.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLASH 0x08000000u
#define OTP 0x1FFF7800u
#define LOCK 0x1FFF7A00u

/* Datasheet typical figures (DS10086 "Flash memory programming"), ns. */
#define T_PROG_NS 16000ull
#define T_ERASE16K_X32_NS 250000000ull
#define T_ERASE64K_X32_NS 550000000ull
#define T_ERASE128K_X32_NS 1000000000ull

static char dir[256];

static uint64_t sim_ns(oflash_probe *p)
{
    oflash_probe_stats s;
    oflash_probe_get_stats(&s, p);
    return s.sim_time_ns;
}

static uint64_t prog_ops(oflash_probe *p)
{
    oflash_sim_run_stats s;
    memset(&s, 0, sizeof s);
    CHECK_OK(oflash_sim_probe_stats(&s, p));
    return s.program_ops;
}

static oflash_probe *open_chip(const char *name, const char *part)
{
    char spec[400];
    oflash_probe *p = NULL;
    oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
    o.device = part;
    snprintf(spec, sizeof spec, "sim:%s/%s", dir, name);
    CHECK_OK(oflash_probe_open(&p, spec, &o));
    return p;
}

static oflash_loader *open_loader(oflash_probe *p, const oflash_flm *f, const char *part,
                                  uint32_t init_arg)
{
    const oflash_device *d = oflash_builtin_device_find(part);
    oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
    o.ram_start = d->work_ram_start;
    o.ram_size = d->work_ram_size;
    o.init_arg = init_arg;
    oflash_loader *l = NULL;
    CHECK_OK(oflash_loader_open(&l, p, f, &o));
    return l;
}

static void fill_random(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(rand() >> 5);
}

static bool mem_is(oflash_probe *p, uint32_t addr, const uint8_t *want, size_t n)
{
    uint8_t *b = malloc(n);
    bool ok = oflash_probe_read_mem(b, p, addr, n) == 0 && memcmp(b, want, n) == 0;
    free(b);
    return ok;
}

static bool mem_all(oflash_probe *p, uint32_t addr, uint8_t v, size_t n)
{
    uint8_t *b = malloc(n);
    bool ok = oflash_probe_read_mem(b, p, addr, n) == 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = b[i] == v;
    free(b);
    return ok;
}

/* Within 1% (+ 2 ms of loader and call overhead) of the typical time. */
static bool near_ns(uint64_t got, uint64_t want)
{
    return got >= want && got <= want + want / 100 + 2000000;
}

static void test_erase_program(const oflash_flm *f)
{
    oflash_probe *p = open_chip("f401a", "STM32F401RE");
    if (!p) return;
    oflash_loader *l = open_loader(p, f, "STM32F401RE", 0);
    if (!l) goto out;
    uint8_t d[1024], back[64];
    fill_random(d, sizeof d);
    bool blank;

    /* The clock: Init (of the first program call) switches the core from the
     * 16 MHz HSI to the PLL (84 MHz); close (UnInit) switches back, PLL off. */
    uint32_t cfgr = 0, rcc_cr = 0;
    CHECK_OK(oflash_probe_read_u32(&cfgr, p, 0x40023808u));
    CHECK_EQ_U(cfgr & 0xC, 0);
    CHECK_OK(oflash_loader_program(l, 0x0807FF00u, d, 16));
    CHECK_OK(oflash_probe_read_u32(&cfgr, p, 0x40023808u));
    CHECK_EQ_U(cfgr & 0xC, 0x8); /* SWS = PLL */
    oflash_sim_run_stats rs;
    CHECK_OK(oflash_sim_probe_stats(&rs, p));
    CHECK_EQ_U(rs.core_clock_hz, 84000000u);
    oflash_loader_close(l);
    CHECK_OK(oflash_probe_read_u32(&cfgr, p, 0x40023808u));
    CHECK_OK(oflash_probe_read_u32(&rcc_cr, p, 0x40023800u));
    CHECK_EQ_U(cfgr & 0xC, 0);
    CHECK_EQ_U(rcc_cr & (1u << 24), 0);
    CHECK_OK(oflash_sim_probe_stats(&rs, p));
    CHECK_EQ_U(rs.core_clock_hz, 16000000u);
    /* ... unless told to keep it. */
    l = open_loader(p, f, "STM32F401RE", F4_INIT_PSIZE(2) | F4_INIT_KEEP_CLOCK);
    if (!l) goto out;
    CHECK_OK(oflash_loader_program(l, 0x0807FF10u, d, 16));
    CHECK_OK(oflash_probe_read_u32(&cfgr, p, 0x40023808u));
    CHECK_EQ_U(cfgr & 0xC, 0);
    CHECK(mem_is(p, 0x0807FF00u, d, 16));
    CHECK(mem_is(p, 0x0807FF10u, d, 16));
    oflash_loader_close(l);
    l = open_loader(p, f, "STM32F401RE", 0);
    if (!l) goto out;

    /* Something in sectors 0, 1, 4, 5. */
    static const uint32_t at[] = {0x08000000u, 0x08004000u, 0x08010000u, 0x08020000u};
    for (int i = 0; i < 4; i++)
        CHECK_OK(oflash_loader_program(l, at[i], d, 64));
    for (int i = 0; i < 4; i++)
        CHECK(mem_is(p, at[i], d, 64));
    CHECK_OK(oflash_loader_blank_check(&blank, l, 0x08000000u, 0x4000));
    CHECK(!blank);

    /* Each sector size, x32: typical time, neighbours kept. */
    static const struct {
        uint32_t addr, size;
        uint64_t ns;
    } e[] = {{0x08000000u, 0x4000, T_ERASE16K_X32_NS},
             {0x08010000u, 0x10000, T_ERASE64K_X32_NS},
             {0x08020000u, 0x20000, T_ERASE128K_X32_NS}};
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = sim_ns(p);
        CHECK_OK(oflash_loader_erase_sector(l, e[i].addr));
        uint64_t dt = sim_ns(p) - t0;
        CHECK(near_ns(dt, e[i].ns));
        printf("erase %3u KiB sector at x32: %.1f ms simulated\n", e[i].size / 1024, dt / 1e6);
        CHECK_OK(oflash_loader_blank_check(&blank, l, e[i].addr, e[i].size));
        CHECK(blank);
        CHECK(mem_all(p, e[i].addr, 0xFF, e[i].size));
    }
    CHECK(mem_is(p, 0x08004000u, d, 64)); /* sector 1 untouched */
    /* Several sectors in one call (SEGGER_OPEN_Erase): 1..3 = 3 x 16K. */
    uint64_t t0 = sim_ns(p);
    CHECK_OK(oflash_loader_erase_sectors(l, 0x08004000u, 1, 3));
    CHECK(near_ns(sim_ns(p) - t0, 3 * T_ERASE16K_X32_NS));
    CHECK(mem_all(p, 0x08004000u, 0xFF, 0xC000));

    /* Errors surface with the function and its arguments. */
    CHECK_ERR(oflash_loader_erase_sector(l, OTP), OFLASH_ERANGE,
              "failed erasing the sector at 0x1FFF7800: OTP cannot be erased (code 0x1005)");
    CHECK_ERR(oflash_loader_erase_sector(l, 0x08080000u), OFLASH_ERANGE,
              "EraseSector(0x8080000) returned 0x1001");
    CHECK_ERR(oflash_loader_program(l, 0x0807FFF8u, d, 16), OFLASH_ERANGE,
              "SEGGER_OPEN_Program(0x807FFF8, 0x10,");
    CHECK(mem_all(p, 0x0807FFF8u, 0xFF, 8)); /* nothing half-written */

    /* CRC on the target = zlib's, odd start and length, and chaining. */
    uint8_t big[4099];
    fill_random(big, sizeof big);
    CHECK_OK(oflash_loader_program(l, 0x08008001u, big, sizeof big));
    CHECK(mem_is(p, 0x08008001u, big, sizeof big));
    uint32_t crc = 0;
    static const uint32_t offs[][2] = {{0, 4099}, {1, 4096}, {3, 1}, {2, 6}, {0, 4}, {5, 4000}};
    for (int i = 0; i < 6; i++) {
        CHECK_OK(oflash_loader_crc32(&crc, l, 0x08008001u + offs[i][0], offs[i][1]));
        CHECK_EQ_U(crc, oflash_crc32(0, big + offs[i][0], offs[i][1]));
    }
    uint32_t c1 = oflash_crc32(0, big, 1001), r0 = 0;
    uint32_t a[4] = {c1, 0x08008001u + 1001, 3000, 0xEDB88320u};
    CHECK_OK(oflash_loader_call(&r0, l, "SEGGER_OPEN_CalcCRC", a, 4, 0));
    CHECK_EQ_U(r0, oflash_crc32(0, big, 4001));
    a[0] = 0x12345678u; /* any chaining value */
    CHECK_OK(oflash_loader_call(&r0, l, "SEGGER_OPEN_CalcCRC", a, 4, 0));
    CHECK_EQ_U(r0, oflash_crc32(0x12345678u, big + 1001, 3000));
    /* Blank check of the area around. */
    CHECK_OK(oflash_loader_blank_check(&blank, l, 0x08008001u + sizeof big, 100));
    CHECK(blank);
    CHECK_OK(oflash_loader_blank_check(&blank, l, 0x08008000u, 2));
    CHECK(!blank);
    /* Padding only with 0xFF: the byte before and after are still erased. */
    CHECK(oflash_probe_read_mem(back, p, 0x08008000u, 1) == 0 && back[0] == 0xFF);

    /* A cell that does not program: OPERR, named. */
    oflash_loader_close(l);
    oflash_probe_close(p);
    char path[400];
    snprintf(path, sizeof path, "%s/f401a", dir);
    oflash_sim_faults fl;
    memset(&fl, 0, sizeof fl);
    fl.fail_at = true;
    fl.fail_addr = 0x08030010u;
    CHECK_OK(oflash_sim_set_faults(path, &fl));
    p = open_chip("f401a", "STM32F401RE");
    if (!p) return;
    l = open_loader(p, f, "STM32F401RE", 0);
    CHECK_ERR(oflash_loader_program(l, 0x08030000u, d, 64), OFLASH_ETARGET,
              "SEGGER_OPEN_Program(0x8030000, 0x40,");
    CHECK(strstr(oflash_error_last(), "OPERR: operation error (code 0x2)") != NULL);
out:
    oflash_loader_close(l);
    oflash_probe_close(p);
}

static void test_psize(const oflash_flm *f)
{
    oflash_probe *p = open_chip("f401b", "STM32F401RE");
    if (!p) return;
    uint8_t d[1024];
    for (unsigned ps = 0; ps < 3; ps++) {
        oflash_loader *l = open_loader(p, f, "STM32F401RE", F4_INIT_PSIZE(ps));
        if (!l) break;
        fill_random(d, sizeof d);
        d[0] = d[1] = d[2] = d[3] = d[4] = d[5] = d[6] = d[7] = 0xFF; /* skipped unit */
        uint32_t addr = 0x08000000u + 0x4000u * ps;
        uint64_t ops = prog_ops(p), t0 = sim_ns(p);
        CHECK_OK(oflash_loader_program(l, addr, d, sizeof d));
        uint64_t n = 0; /* accesses of 1 << ps bytes; all-0xFF units are skipped */
        for (size_t i = 0; i < sizeof d; i += 1u << ps) {
            bool ff = true;
            for (size_t k = 0; k < (1u << ps); k++)
                ff &= d[i + k] == 0xFF;
            n += !ff;
        }
        CHECK(n < sizeof d >> ps);
        CHECK_EQ_U(prog_ops(p) - ops, n);
        uint64_t dt = sim_ns(p) - t0;
        CHECK(dt >= n * T_PROG_NS && dt < n * T_PROG_NS * 110 / 100 + 1000000);
        CHECK(mem_is(p, addr, d, sizeof d));
        printf("program 1 KiB at x%u: %" PRIu64 " accesses, %.2f ms simulated\n", 8u << ps, n,
               dt / 1e6);
        /* Erase at this PSIZE: the datasheet's x8/x16/x32 16K figures. */
        static const uint64_t e16[3] = {400000000ull, 300000000ull, 250000000ull};
        t0 = sim_ns(p);
        CHECK_OK(oflash_loader_erase_sector(l, addr));
        CHECK(near_ns(sim_ns(p) - t0, e16[ps]));
        /* Misaligned for x16/x32: refused by the loader, nothing written. */
        if (ps > 0) {
            uint32_t r0 = 0;
            uint32_t a[3] = {addr + 1, 2, oflash_loader_get_layout(l)->buffer};
            CHECK_OK(oflash_loader_call(&r0, l, "ProgramPage", a, 3, 0));
            CHECK_EQ_U(r0, F4_EALIGN);
        }
        oflash_loader_close(l);
    }
    oflash_probe_close(p);
}

static void test_otp(const oflash_flm *f)
{
    oflash_probe *p = open_chip("f401c", "STM32F401RE");
    if (!p) return;
    uint8_t serial[32], lock[16], back[16];
    fill_random(serial, sizeof serial);
    for (unsigned ps = 0; ps < 3; ps++) {
        oflash_loader *l = open_loader(p, f, "STM32F401RE", F4_INIT_PSIZE(ps));
        if (!l) break;
        /* OTP block ps: program the 32 bytes at this PSIZE. */
        uint64_t ops = prog_ops(p);
        CHECK_OK(oflash_loader_program(l, OTP + 32 * ps, serial, 32));
        CHECK_EQ_U(prog_ops(p) - ops, 32u >> ps);
        CHECK(mem_is(p, OTP + 32 * ps, serial, 32));
        /* Lock bytes: lock block ps (and 15 too), others 0xFF: always byte-wise,
         * exactly one access per lock set, whatever PSIZE. */
        memset(lock, 0xFF, sizeof lock);
        lock[ps] = 0x00;
        lock[15] = 0x00;
        ops = prog_ops(p);
        CHECK_OK(oflash_loader_program(l, LOCK, lock, 16));
        CHECK_EQ_U(prog_ops(p) - ops, 2);
        CHECK(oflash_probe_read_mem(back, p, LOCK, 16) == 0);
        for (unsigned i = 0; i < 16; i++)
            CHECK_EQ_U(back[i], (i <= ps || i == 15) ? 0x00 : 0xFF);
        /* A single lock byte at an odd address. */
        if (ps == 2) {
            uint8_t z = 0;
            ops = prog_ops(p);
            CHECK_OK(oflash_loader_program(l, LOCK + 7, &z, 1));
            CHECK_EQ_U(prog_ops(p) - ops, 1);
            CHECK(oflash_probe_read_mem(back, p, LOCK, 16) == 0);
            CHECK_EQ_U(back[7], 0x00);
            CHECK_EQ_U(back[6], 0xFF);
            CHECK_EQ_U(back[8], 0xFF);
        }
        /* The locked block refuses: WRPERR named. */
        CHECK_ERR(oflash_loader_program(l, OTP + 32 * ps, serial, 32), OFLASH_EPROTECTED,
                  "WRPERR: write protection error");
        CHECK(strstr(oflash_error_detail(), "SEGGER_OPEN_Program(0x1FFF78") != NULL);
        oflash_loader_close(l);
    }
    /* A range across OTP data and lock bytes is refused by the loader. */
    oflash_loader *l = open_loader(p, f, "STM32F401RE", 0);
    if (l) {
        CHECK_ERR(oflash_loader_program(l, LOCK - 8, serial, 16), OFLASH_ERANGE, "0x1001");
        oflash_loader_close(l);
    }
    oflash_probe_close(p);
}

static void test_chip_erase(const oflash_flm *f, const char *part, uint32_t size)
{
    oflash_probe *p = open_chip(part, part);
    if (!p) return;
    oflash_loader *l = open_loader(p, f, part, 0);
    uint8_t d[256];
    fill_random(d, sizeof d);
    if (l) {
        CHECK_OK(oflash_loader_program(l, FLASH, d, sizeof d));
        CHECK_OK(oflash_loader_program(l, FLASH + size - sizeof d, d, sizeof d));
        CHECK_OK(oflash_loader_program(l, OTP, d, 32));
        CHECK_OK(oflash_loader_erase_chip(l));
        CHECK(mem_all(p, FLASH, 0xFF, sizeof d));
        CHECK(mem_all(p, FLASH + size - sizeof d, 0xFF, sizeof d)); /* bank 2 on 2 MB too */
        CHECK(mem_is(p, OTP, d, 32));                               /* OTP is never erased */
        if (size > 0x100000u) {
            /* Bank 2 sector erase: sector 12 at 0x08100000 (SNB 16). */
            CHECK_OK(oflash_loader_program(l, 0x08100000u, d, sizeof d));
            CHECK_OK(oflash_loader_program(l, 0x080E0000u, d, sizeof d));
            CHECK_OK(oflash_loader_erase_sector(l, 0x08100000u));
            CHECK(mem_all(p, 0x08100000u, 0xFF, sizeof d));
            CHECK(mem_is(p, 0x080E0000u, d, sizeof d));
            CHECK_OK(oflash_loader_erase_sector(l, 0x081E0000u));
        }
        oflash_loader_close(l);
    }
    oflash_probe_close(p);
}

static void test_hang(void)
{
    char path[1024];
    oflash_flm *t = NULL;
    snprintf(path, sizeof path, "%s/tests/loader/test_plain.flm", getenv("OFLASH_BUILD"));
    CHECK_OK(oflash_flm_load_file(&t, path));
    oflash_probe *p = open_chip("f401d", "STM32F401RE");
    if (!t || !p) goto out;
    oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
    o.ram_start = 0x20000000u;
    o.ram_size = 0x10000;
    oflash_loader *l = NULL;
    CHECK_OK(oflash_loader_open(&l, p, t, &o));
    if (l) {
        struct timespec a, b;
        oflash_probe_stats s0, s1;
        oflash_probe_get_stats(&s0, p);
        clock_gettime(CLOCK_MONOTONIC, &a);
        CHECK_ERR(oflash_loader_erase_sector(l, 0xDEAD0000u), OFLASH_ETIMEOUT,
                  "erasing the sector at 0xDEAD0000 did not finish within 100 ms");
        clock_gettime(CLOCK_MONOTONIC, &b);
        oflash_probe_get_stats(&s1, p);
        double dt = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
        /* The limit is target time (100 ms simulated), not the host's. */
        CHECK(s1.sim_time_ns - s0.sim_time_ns >= 100000000u &&
              s1.sim_time_ns - s0.sim_time_ns < 102000000u);
        CHECK(dt < 3.0);
        CHECK_ERR(oflash_loader_erase_sector(l, 0xBAD00000u), OFLASH_ETARGET,
                  "EraseSector(0xBAD00000) returned 85 (0x55)");
        uint32_t w = 1000, r0;
        CHECK_ERR(oflash_loader_call(&r0, l, "Overflow", &w, 1, 0), OFLASH_ETARGET,
                  "overflowed its 1024-byte stack");
        oflash_loader_close(l);
    }
out:
    oflash_probe_close(p);
    oflash_flm_free(t);
}

/* A test FLM whose ProgramPage faults (tests/loader/testflm, -DFAULTY):
 * an error naming the function and the fault at once, CFSR-level detail
 * from the simulated core, and the loader still works afterwards. */
static void test_faulty(void)
{
    char path[1024];
    oflash_flm *t = NULL;
    uint8_t page[256], back[256];
    bool blank = false;
    memset(page, 0xA5, sizeof page);
    snprintf(path, sizeof path, "%s/tests/loader/test_faulty.flm", getenv("OFLASH_BUILD"));
    CHECK_OK(oflash_flm_load_file(&t, path));
    oflash_probe *p = open_chip("f401f", "STM32F401RE");
    if (!t || !p) goto out;
    oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
    o.ram_start = 0x20000000u;
    o.ram_size = 0x10000;
    oflash_loader *l = NULL;
    CHECK_OK(oflash_loader_open(&l, p, t, &o));
    if (l) {
        struct timespec a, b;
        CHECK_OK(oflash_loader_erase_sectors(l, 0x20010000u, 0, 1));
        CHECK_OK(oflash_loader_program(l, 0x20010000u, page, 256));
        clock_gettime(CLOCK_MONOTONIC, &a);
        CHECK_ERR(oflash_loader_program(l, 0x20010100u, page, 256), OFLASH_ETARGET,
                  "ProgramPage(0x20010100, 0x100");
        CHECK_ERR(oflash_loader_program(l, 0x20010100u, page, 256), OFLASH_ETARGET,
                  "faulted at pc 0x");
        CHECK_ERR(oflash_loader_program(l, 0x20010100u, page, 256), OFLASH_ETARGET,
                  "bus fault: read of unmapped address 0x0F000000");
        CHECK_ERR(oflash_loader_program(l, 0x20010200u, page, 256), OFLASH_ETARGET,
                  "usage fault: undefined instruction");
        clock_gettime(CLOCK_MONOTONIC, &b);
        CHECK((double)(b.tv_sec - a.tv_sec) < 3.0); /* not the call timeout */
        CHECK_OK(oflash_loader_program(l, 0x20010300u, page, 256));
        CHECK_OK(oflash_probe_read_mem(back, p, 0x20010300u, 256));
        CHECK(memcmp(back, page, 256) == 0);
        CHECK_OK(oflash_loader_erase_sectors(l, 0x20010000u, 0, 1));
        CHECK_OK(oflash_loader_blank_check(&blank, l, 0x20010000u, 0x1000));
        CHECK(blank);
        oflash_loader_close(l);
    }
out:
    oflash_probe_close(p);
    oflash_flm_free(t);
}

/* The whole 512 KB of an F401xE: erase the 8 sectors and program random
 * data at x32 through the loader; simulated time against the floor. */
static void test_full_f401(const oflash_flm *f)
{
    oflash_probe *p = open_chip("f401e", "STM32F401RE");
    if (!p) return;
    oflash_loader *l = open_loader(p, f, "STM32F401RE", 0);
    size_t n = 512 * 1024;
    uint8_t *img = malloc(n);
    fill_random(img, n);
    for (size_t i = 0; i + 4 <= n; i += 4)
        if (img[i] == 0xFF && img[i + 1] == 0xFF && img[i + 2] == 0xFF && img[i + 3] == 0xFF)
            img[i] = 0xFE; /* every word costs a program access, as the floor assumes */
    if (l) {
        oflash_loader_stats ls;
        uint64_t t0 = sim_ns(p), ops0 = prog_ops(p);
        CHECK_OK(oflash_loader_erase_sectors(l, FLASH, 0, 8));
        uint64_t t1 = sim_ns(p);
        CHECK_OK(oflash_loader_program(l, FLASH, img, n));
        uint64_t t2 = sim_ns(p);
        uint32_t crc = 0;
        CHECK_OK(oflash_loader_crc32(&crc, l, FLASH, (uint32_t)n));
        uint64_t t3 = sim_ns(p);
        CHECK_EQ_U(crc, oflash_crc32(0, img, n));
        CHECK_EQ_U(prog_ops(p) - ops0, n / 4);
        oflash_loader_get_stats(&ls, l);
        double floor_ms = (4 * T_ERASE16K_X32_NS + T_ERASE64K_X32_NS + 3 * T_ERASE128K_X32_NS +
                           (n / 4) * T_PROG_NS) /
                          1e6;
        double got_ms = (t2 - t0) / 1e6;
        printf("F401xE 512 KiB via stm32f4 loader: erase %.1f ms + program %.1f ms = %.1f ms "
               "simulated; datasheet floor %.1f ms; ratio %.4f; %" PRIu64
               " program calls, buffer %u bytes; CRC-32 of 512 KiB on target %.1f ms\n",
               (t1 - t0) / 1e6, (t2 - t1) / 1e6, got_ms, floor_ms, got_ms / floor_ms,
               ls.program_calls, oflash_loader_get_layout(l)->buffer_size, (t3 - t2) / 1e6);
        CHECK(got_ms >= floor_ms);
        CHECK(got_ms <= floor_ms * 1.03);
        CHECK((t3 - t2) / 1e6 < 100.0); /* CRC unit: well under a byte loop's ~250 ms */
        /* The same CRC run in 1 ms host slices, as a GDB server does to stay
         * responsive: a run stopped by its host timeout and resumed must end
         * exactly as an uninterrupted one (no MMIO store executed twice). */
        const oflash_loader_layout *L = oflash_loader_get_layout(l);
        uint32_t off = 0;
        CHECK_OK(oflash_flm_function_offset(&off, f, "SEGGER_OPEN_CalcCRC"));
        int bad = 0, sliced = 0;
        for (int k = 0; k < 5; k++) {
            static const int regs[] = {0, 1, 2, 3, 9, 13, 14, 15, 16};
            uint32_t vals[] = {0,
                               FLASH,
                               (uint32_t)n,
                               0xEDB88320u,
                               L->static_base,
                               L->stack_top,
                               L->trampoline | 1u,
                               (L->image + off) | 1u,
                               0x01000000u};
            CHECK_OK(oflash_probe_write_regs(p, regs, vals, 9));
            oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
            ro.have_break = true;
            ro.break_addr = L->trampoline;
            ro.timeout_ms = 1;
            oflash_stop_info si;
            int slices = 0;
            do {
                CHECK_OK(oflash_probe_run(&si, p, &ro));
                slices++;
            } while (si.reason == OFLASH_STOP_TIMEOUT && slices < 100000);
            uint32_t r0 = 0;
            CHECK_OK(oflash_probe_read_reg(&r0, p, OFLASH_REG_R0));
            bad += r0 != crc;
            sliced += slices > 1;
        }
        CHECK_EQ_U(bad, 0);
        printf("CRC of 512 KiB in 1 ms host slices: %d of 5 runs were split, %d wrong\n", sliced,
               bad);
        oflash_loader_close(l);
    }
    free(img);
    oflash_probe_close(p);
}

static void cleanup(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void)
{
    oflash_flm *f = NULL;
    srand(12345);
    snprintf(dir, sizeof dir, "%s/oflash-loader-sim-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK_OK(oflash_flm_builtin(&f, "stm32f4"));
    if (f) {
        test_erase_program(f);
        test_psize(f);
        test_otp(f);
        test_chip_erase(f, "STM32F401RE", 512 * 1024);
        test_chip_erase(f, "STM32F429ZI", 2048 * 1024);
        test_hang();
        test_faulty();
        test_full_f401(f);
    }
    oflash_flm_free(f);
    cleanup();
    return test_summary();
}
