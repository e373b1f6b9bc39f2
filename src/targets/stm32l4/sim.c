/*
 * sim.c - the simulated STM32L47x/L48x: its flash interface (FLASH at
 * 0x40022000), programming by 64-bit double words, fast row programming,
 * page/bank erase, OTP, option bytes, ECC flags, RCC, and the datasheet
 * times each operation keeps BSY set, behind a small host interface
 * (l4_sim_core.h).  NOT YET CONNECTED: it is bound to the simulated chip
 * when the simulator's family model hook lands (family_ops->sim is NULL
 * until then, and `oflash sim create` refuses L4 parts); the CPU, memory,
 * IWDG, CRC unit, DBGMCU, the state file and the faults stay generic.
 *
 * Behaviour from RM0351 rev 9 (sections in stm32l4_regs.h):
 *  - KEYR: KEY1 then KEY2 clears CR.LOCK; a wrong key is a bus error and
 *    CR stays locked until reset; OPTKEYR likewise for CR.OPTLOCK (FLASH_CR
 *    must be unlocked first); while LOCK is set CR writes are ignored;
 *  - standard programming: PG set, a first word at a double-word aligned
 *    address, then the second word; the double word is programmed when the
 *    second word arrives.  Errors, each leaving memory unchanged:
 *      PGSERR  write without PG/FSTPG, PG with an erase bit, or while an
 *              error flag of a previous programming is still set;
 *      SIZERR  byte or half-word write;
 *      PGAERR  first word not 8-aligned or second word not next to it; in
 *              fast programming a double word of another row;
 *      PROGERR the double word is not all ones and the data not all zeros
 *              (OTP: not all ones, whatever the data);
 *      WRPERR  page in a WRP area, or any flash program/erase under RDP
 *              level 1 (the debugger is connected);
 *      OPERR   the --fail-at fault (set whether or not ERRIE);
 *  - fast programming (FSTPG): only after a mass erase of the bank (else
 *    PGSERR), main flash only, 32 double words of one row back to back;
 *    one that arrives more than 20 us after the previous ends the row with
 *    MISERR | FASTERR; a row change PGAERR | FASTERR;
 *  - erase: PER + PNB (+ BKER) + STRT, MER1/MER2 + STRT; a WRP page in
 *    the range: WRPERR, nothing erased; PER with MERx: PGSERR; OTP is never
 *    erased; STRT reads 1 while BSY;
 *  - EOP is set at the end of an operation only when EOPIE is set; SR
 *    flags are write-1-to-clear;
 *  - option bytes: OPTKEYR unlock, write OPTR/PCROPx/WRPx, OPTSTRT stores
 *    them (RDP level 1 -> 0 mass-erases main flash); the registers that
 *    govern protection are loaded at OBL_LAUNCH (a system reset) or
 *    power-on, as on silicon;
 *  - ECC: a double word whose program was cut by the --fail-at fault holds
 *    a value its ECC bits do not match: a debugger read of it sets
 *    ECCR.ECCD with the address (two-bit error, not correctable).
 * Model choices (docs/sim.md): an access while BSY stalls the bus except
 * during a fast row (writes fill the row buffer); the bank swap (BFB2,
 * SYSCFG FB_MODE) is not modelled; PCROP areas are stored, not enforced.
 *
 * Durations (typical, STM32L476xx datasheet DS10198 "Flash memory
 * characteristics"; the search corpus had RM0351 but not this table, the
 * figures are the ones the issue and ST's datasheet give): 64-bit
 * programming 81.69 us, one row of 32 double words in fast programming
 * 1.91 ms, page (2 KB) erase 22.02 ms, mass erase (one or both banks)
 * 22.13 ms.  Option byte programming is not in the table: modelled as a
 * page erase plus five double words (22.43 ms).
 */
#include "stm32l4.h"

#include "oflash/error.h"
#include "l4_sim_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US(x) ((uint64_t)((x)*1000000.0))    /* picoseconds */
#define MS(x) ((uint64_t)((x)*1000000000.0)) /* picoseconds */

#define T_PROG_DW US(81.69)
#define T_PROG_ROW_FAST MS(1.91)
#define T_ERASE_PAGE MS(22.02)
#define T_MASS_ERASE MS(22.13)
#define T_OPTION (T_ERASE_PAGE + 5 * T_PROG_DW)
#define T_FAST_GAP US(20) /* "maximum time between two double words ... around 20 us" */

/* ---- option words: WRPxA and WRPxB share one persisted word per bank ---- */

static uint32_t wrp_a(uint32_t packed)
{
    return (packed & 0xFFu) | ((packed & 0xFF00u) << 8) | 0xFF00FF00u;
}

static uint32_t wrp_b(uint32_t packed)
{
    return ((packed >> 16) & 0xFFu) | ((packed >> 8) & 0xFF0000u) | 0xFF00FF00u;
}

static uint32_t wrp_pack(uint32_t a, uint32_t b)
{
    return (a & 0xFFu) | ((a >> 8) & 0xFF00u) | ((b & 0xFFu) << 16) | ((b & 0xFF0000u) << 8);
}

void l4_opt_factory(uint32_t opt[L4_OPT_N])
{
    opt[L4_OPT_OPTR] = L4_OPTR_FACTORY;
    opt[L4_OPT_PCROP1SR] = opt[L4_OPT_PCROP2SR] = L4_PCROPSR_FACTORY;
    opt[L4_OPT_PCROP1ER] = opt[L4_OPT_PCROP2ER] = L4_PCROPER_FACTORY;
    opt[L4_OPT_WRP1] = opt[L4_OPT_WRP2] = wrp_pack(L4_WRP_FACTORY, L4_WRP_FACTORY);
}

/* Option bytes as stored (RM0351 §3.4.1): each option word, then its
 * complement, per double word. */
uint8_t l4_opt_byte(const l4_host *h, uint32_t addr)
{
    bool bank2 = addr >= L4_OPT2_BASE;
    uint32_t off = addr - (bank2 ? L4_OPT2_BASE : L4_OPT1_BASE), w;
    const uint32_t *o = h->opt;
    switch (off & ~7u) {
    case L4_OB_OPTR:
        w = bank2 ? 0xFFFFFFFFu : o[L4_OPT_OPTR];
        break;
    case L4_OB_PCROPSR:
        w = o[bank2 ? L4_OPT_PCROP2SR : L4_OPT_PCROP1SR];
        break;
    case L4_OB_PCROPER:
        w = o[bank2 ? L4_OPT_PCROP2ER : L4_OPT_PCROP1ER];
        break;
    case L4_OB_WRPAR:
        w = wrp_a(o[bank2 ? L4_OPT_WRP2 : L4_OPT_WRP1]);
        break;
    case L4_OB_WRPBR:
        w = wrp_b(o[bank2 ? L4_OPT_WRP2 : L4_OPT_WRP1]);
        break;
    default:
        return 0xFF;
    }
    if (off & 4) w = ~w;
    return (uint8_t)(w >> (8 * (off & 3)));
}

int l4_flash_rdp(const l4_flash *f)
{
    return l4_rdp_level(f->live_optr);
}

/* ---- reset: registers from the stored option bytes ---- */

static void load_options(l4_flash *f, const l4_host *h)
{
    const uint32_t *o = h->opt;
    f->optr = f->live_optr = o[L4_OPT_OPTR];
    f->pcrop1sr = o[L4_OPT_PCROP1SR];
    f->pcrop1er = o[L4_OPT_PCROP1ER];
    f->pcrop2sr = o[L4_OPT_PCROP2SR];
    f->pcrop2er = o[L4_OPT_PCROP2ER];
    f->wrp1ar = f->live_wrp[0] = wrp_a(o[L4_OPT_WRP1]);
    f->wrp1br = f->live_wrp[1] = wrp_b(o[L4_OPT_WRP1]);
    f->wrp2ar = f->live_wrp[2] = wrp_a(o[L4_OPT_WRP2]);
    f->wrp2br = f->live_wrp[3] = wrp_b(o[L4_OPT_WRP2]);
}

void l4_flash_reset(l4_flash *f, const l4_host *h)
{
    uint32_t ecc_bad[16];
    unsigned n = f->ecc_bad_n;
    memcpy(ecc_bad, f->ecc_bad, sizeof ecc_bad); /* cells keep their contents */
    memset(f, 0, sizeof *f);
    memcpy(f->ecc_bad, ecc_bad, sizeof ecc_bad);
    f->ecc_bad_n = n;
    f->acr = 0x600u; /* ICEN | DCEN, LATENCY 0 (RM0351 §3.7.1 reset value) */
    f->cr = L4_CR_LOCK | L4_CR_OPTLOCK;
    load_options(f, h);
}

void l4_flash_done(l4_flash *f)
{
    f->strt_busy = f->opt_busy = false;
}

/* ---- helpers ---- */

static uint32_t bank_size(const l4_host *h)
{
    return h->flash_size >= 0x100000u ? h->flash_size / 2 : h->flash_size;
}

static bool in_main(const l4_host *h, uint32_t addr)
{
    return addr >= L4_FLASH_BASE && addr - L4_FLASH_BASE < h->flash_size;
}

static bool in_otp(uint32_t addr)
{
    return addr >= L4_OTP_BASE && addr - L4_OTP_BASE < L4_OTP_SIZE;
}

static uint8_t *cell(const l4_host *h, uint32_t addr)
{
    return in_main(h, addr) ? h->flash + (addr - L4_FLASH_BASE) : h->otp + (addr - L4_OTP_BASE);
}

/* Is main-flash address addr in a write-protected page (loaded WRP)? */
static bool wrp_protected(const l4_flash *f, const l4_host *h, uint32_t addr)
{
    uint32_t off = addr - L4_FLASH_BASE;
    unsigned bank = off >= bank_size(h) ? 1u : 0u;
    unsigned page = (off - bank * bank_size(h)) / L4_PAGE_SIZE;
    return l4_wrp_covers(f->live_wrp[2 * bank], page) ||
           l4_wrp_covers(f->live_wrp[2 * bank + 1], page);
}

static void ecc_mark(l4_flash *f, uint32_t addr)
{
    if (f->ecc_bad_n < sizeof f->ecc_bad / sizeof f->ecc_bad[0]) f->ecc_bad[f->ecc_bad_n++] = addr;
}

static void ecc_clear(l4_flash *f, uint32_t lo, uint32_t hi)
{
    unsigned k = 0;
    for (unsigned i = 0; i < f->ecc_bad_n; i++)
        if (f->ecc_bad[i] < lo || f->ecc_bad[i] >= hi) f->ecc_bad[k++] = f->ecc_bad[i];
    f->ecc_bad_n = k;
}

void l4_flash_read_check(l4_flash *f, uint32_t addr, uint32_t len)
{
    for (unsigned i = 0; i < f->ecc_bad_n; i++) {
        uint32_t a = f->ecc_bad[i];
        if (a + L4_DWORD > addr && a < addr + len && !(f->eccr & L4_ECCR_ECCD)) {
            uint32_t off = a - L4_FLASH_BASE;
            f->eccr = (f->eccr & L4_ECCR_ECCIE) | L4_ECCR_ECCD |
                      (off >= 0x80000u ? L4_ECCR_BK_ECC : 0) | (off & L4_ECCR_ADDR_MASK);
        }
    }
}

/* ---- programming ---- */

static uint32_t fail(l4_flash *f, uint32_t err)
{
    f->sr |= err;
    f->half = false;
    if (err & (L4_SR_FASTERR)) f->fast_row = false;
    return err;
}

/* Program one double word (all checks passed); fast: part of a row. */
static void write_dword(l4_flash *f, const l4_host *h, uint32_t addr, uint64_t v, bool fast)
{
    uint8_t *p = cell(h, addr);
    uint32_t bad;
    f->programs++;
    h->count_op(h->ctx, 0);
    if (h->power_fails_now(h->ctx)) {
        /* Power fails during the pulse: a random subset of the bits that
         * should go to 0 do. */
        for (unsigned i = 0; i < 8; i++)
            p[i] &= (uint8_t)(v >> (8 * i)) | (uint8_t)rand();
        h->changed(h->ctx, addr, 8);
        h->power_lost(h->ctx);
        return;
    }
    if (h->fail_at(h->ctx, addr, 8, &bad)) {
        /* A cell that does not program: the double word ends with two bits
         * still at 1 where the data has 0 (if any), which its ECC bits do
         * not match; OPERR. */
        int flipped = 0;
        for (unsigned i = 0; i < 64 && flipped < 2; i++)
            if (!((v >> i) & 1)) {
                v |= 1ull << i;
                flipped++;
            }
        for (unsigned i = 0; i < 8; i++)
            p[i] &= (uint8_t)(v >> (8 * i));
        h->changed(h->ctx, addr, 8);
        if (in_main(h, addr)) ecc_mark(f, addr);
        f->sr |= L4_SR_OPERR;
        if (!fast) h->start_busy(h->ctx, T_PROG_DW, false);
        return;
    }
    for (unsigned i = 0; i < 8; i++)
        p[i] &= (uint8_t)(v >> (8 * i));
    h->changed(h->ctx, addr, 8);
    if (!fast) h->start_busy(h->ctx, T_PROG_DW, true);
}

static bool all_ones(const uint8_t *p)
{
    for (unsigned i = 0; i < 8; i++)
        if (p[i] != 0xFF) return false;
    return true;
}

static uint32_t program_fast(l4_flash *f, const l4_host *h, uint32_t addr, uint64_t v)
{
    uint64_t now = h->now(h->ctx);
    uint32_t off = addr - L4_FLASH_BASE;
    unsigned bank = off >= bank_size(h) ? 2u : 1u;
    if (!in_main(h, addr) || !(f->mass_erased & bank)) return fail(f, L4_SR_PGSERR);
    if (!f->fast_row) {
        if (addr & (L4_ROW_SIZE - 1)) return fail(f, L4_SR_PGAERR | L4_SR_FASTERR);
        f->fast_row = true;
        f->fast_next = addr;
        f->fast_count = 0;
        f->fast_start_ps = now;
    } else if (addr != f->fast_next) {
        return fail(f, L4_SR_PGAERR | L4_SR_FASTERR);
    } else if (now - f->fast_last_ps > T_FAST_GAP) {
        return fail(f, L4_SR_MISERR | L4_SR_FASTERR);
    }
    if (l4_flash_rdp(f) != 0 || wrp_protected(f, h, addr))
        return fail(f, L4_SR_WRPERR | L4_SR_FASTERR);
    write_dword(f, h, addr, v, true);
    f->fast_last_ps = now;
    f->fast_next += L4_DWORD;
    if (++f->fast_count == L4_ROW_SIZE / L4_DWORD) {
        uint64_t end = f->fast_start_ps + T_PROG_ROW_FAST;
        f->fast_row = false;
        h->start_busy(h->ctx, end > now ? end - now : 0, !(f->sr & L4_SR_OPERR));
    }
    return f->sr & L4_SR_OPERR;
}

static uint32_t program_dword(l4_flash *f, const l4_host *h, uint32_t addr, uint64_t v)
{
    const uint8_t *p;
    if (f->cr & L4_CR_FSTPG) return program_fast(f, h, addr, v);
    if (in_main(h, addr) && (l4_flash_rdp(f) != 0 || wrp_protected(f, h, addr)))
        return fail(f, L4_SR_WRPERR);
    p = cell(h, addr);
    if (!all_ones(p) && (in_otp(addr) || v != 0)) return fail(f, L4_SR_PROGERR);
    write_dword(f, h, addr, v, false);
    return f->sr & L4_SR_OPERR;
}

uint32_t l4_flash_program(l4_flash *f, const l4_host *h, uint32_t addr, uint64_t val, unsigned size)
{
    bool fast = f->cr & L4_CR_FSTPG;
    if (!fast || !f->fast_row) h->stall(h->ctx);
    if (!in_main(h, addr) && !in_otp(addr)) return fail(f, L4_SR_WRPERR);
    if ((f->cr & L4_CR_LOCK) || !(f->cr & (L4_CR_PG | L4_CR_FSTPG)) ||
        (f->cr & (L4_CR_PG | L4_CR_FSTPG)) == (L4_CR_PG | L4_CR_FSTPG) ||
        (f->cr & (L4_CR_PER | L4_CR_MER1 | L4_CR_MER2)) || (f->sr & L4_SR_PROG_ERRORS))
        return fail(f, L4_SR_PGSERR);
    if (size == 1 || size == 2) return fail(f, L4_SR_SIZERR | (fast ? L4_SR_FASTERR : 0));
    if (size == 8) {
        if (f->half || (addr & 7)) return fail(f, L4_SR_PGAERR | (fast ? L4_SR_FASTERR : 0));
        return program_dword(f, h, addr, val);
    }
    if (!f->half) {
        if (addr & 7) return fail(f, L4_SR_PGAERR | (fast ? L4_SR_FASTERR : 0));
        f->half = true;
        f->half_addr = addr;
        f->half_lo = (uint32_t)val;
        return 0;
    }
    f->half = false;
    if (addr != f->half_addr + 4) return fail(f, L4_SR_PGAERR | (fast ? L4_SR_FASTERR : 0));
    return program_dword(f, h, f->half_addr,
                         (uint64_t)f->half_lo | ((uint64_t)(uint32_t)val << 32));
}

/* ---- erase ---- */

/* Erase [off, off+len) of main flash, with the power-loss and fail-at
 * faults.  Returns the SR error bits raised. */
static uint32_t erase_range(l4_flash *f, const l4_host *h, uint32_t off, uint32_t len)
{
    uint8_t *p = h->flash + off;
    uint32_t addr = L4_FLASH_BASE + off, bad;
    f->erases++;
    h->count_op(h->ctx, 1);
    ecc_clear(f, addr, addr + len);
    if (h->power_fails_now(h->ctx)) {
        /* Interrupted erase: the first third reads erased, a band of cells
         * partly erased, the rest keeps its old contents. */
        uint32_t done = len / 3, band = len / 16;
        memset(p, 0xFF, done);
        for (uint32_t i = done; i < done + band && i < len; i++)
            p[i] |= (uint8_t)rand();
        h->changed(h->ctx, addr, len);
        h->power_lost(h->ctx);
        return 0;
    }
    if (h->fail_at(h->ctx, addr, len, &bad)) {
        uint32_t w = (bad - L4_FLASH_BASE) & ~7u;
        uint8_t keep[8];
        memcpy(keep, h->flash + w, 8);
        memset(p, 0xFF, len);
        memcpy(h->flash + w, keep, 8);
        h->changed(h->ctx, addr, len);
        return L4_SR_OPERR;
    }
    memset(p, 0xFF, len);
    h->filled(h->ctx, addr, len);
    return 0;
}

static void start_erase(l4_flash *f, const l4_host *h)
{
    bool per = f->cr & L4_CR_PER, mer1 = f->cr & L4_CR_MER1;
    bool mer2 = (f->cr & L4_CR_MER2) && h->flash_size >= 0x100000u;
    uint32_t err, bs = bank_size(h);

    if (!per && !mer1 && !mer2) return; /* STRT with nothing selected */
    h->stall(h->ctx);
    if ((per && (mer1 || mer2)) || (f->cr & (L4_CR_PG | L4_CR_FSTPG)) ||
        (f->sr & L4_SR_PROG_ERRORS)) {
        f->sr |= L4_SR_PGSERR;
        return;
    }
    if (l4_flash_rdp(f) != 0) {
        f->sr |= L4_SR_WRPERR;
        return;
    }
    if (per) {
        unsigned pnb = (f->cr & L4_CR_PNB_MASK) >> L4_CR_PNB_SHIFT;
        uint32_t off = ((f->cr & L4_CR_BKER) ? bs : 0) + pnb * L4_PAGE_SIZE;
        if (off >= h->flash_size || pnb >= bs / L4_PAGE_SIZE) {
            f->sr |= L4_SR_PGSERR; /* a page the part does not have */
            return;
        }
        if (wrp_protected(f, h, L4_FLASH_BASE + off)) {
            f->sr |= L4_SR_WRPERR;
            return;
        }
        err = erase_range(f, h, off, L4_PAGE_SIZE);
        f->mass_erased &= ~((f->cr & L4_CR_BKER) ? 2u : 1u);
        f->sr |= err;
        f->strt_busy = true;
        h->start_busy(h->ctx, T_ERASE_PAGE, err == 0);
        return;
    }
    {
        uint32_t lo = mer1 ? 0 : bs, hi = mer2 ? h->flash_size : bs;
        for (uint32_t off = lo; off < hi; off += L4_PAGE_SIZE)
            if (wrp_protected(f, h, L4_FLASH_BASE + off)) {
                f->sr |= L4_SR_WRPERR;
                return;
            }
        err = erase_range(f, h, lo, hi - lo);
        f->mass_erased |= (mer1 ? 1u : 0u) | (mer2 ? 2u : 0u);
        f->sr |= err;
        f->strt_busy = true;
        h->start_busy(h->ctx, T_MASS_ERASE, err == 0);
    }
}

/* ---- option bytes ---- */

static void start_option_program(l4_flash *f, const l4_host *h)
{
    uint32_t *o = h->opt;
    bool regress = l4_rdp_level(o[L4_OPT_OPTR]) == 1 && l4_rdp_level(f->optr) == 0;
    uint64_t ps = T_OPTION;
    h->stall(h->ctx);
    if (f->sr & L4_SR_PROG_ERRORS) {
        f->sr |= L4_SR_PGSERR;
        return;
    }
    f->options++;
    h->count_op(h->ctx, 2);
    if (h->power_fails_now(h->ctx)) {
        h->power_lost(h->ctx); /* option bytes keep their old values */
        return;
    }
    if (regress) {
        /* RM0351 §3.5.1: level 1 -> 0 mass-erases main flash (OTP kept). */
        memset(h->flash, 0xFF, h->flash_size);
        h->filled(h->ctx, L4_FLASH_BASE, h->flash_size);
        ecc_clear(f, L4_FLASH_BASE, L4_FLASH_BASE + h->flash_size);
        ps += T_MASS_ERASE;
    }
    o[L4_OPT_OPTR] = f->optr;
    o[L4_OPT_PCROP1SR] = f->pcrop1sr;
    o[L4_OPT_PCROP1ER] = f->pcrop1er;
    o[L4_OPT_PCROP2SR] = f->pcrop2sr;
    o[L4_OPT_PCROP2ER] = f->pcrop2er;
    o[L4_OPT_WRP1] = wrp_pack(f->wrp1ar, f->wrp1br);
    o[L4_OPT_WRP2] = wrp_pack(f->wrp2ar, f->wrp2br);
    h->options_changed(h->ctx);
    f->opt_busy = true;
    h->start_busy(h->ctx, ps, true);
}

/* ---- registers ---- */

uint32_t l4_flash_reg_read(l4_flash *f, const l4_host *h, uint32_t off)
{
    bool busy = h->busy(h->ctx) || f->fast_row;
    switch (off) {
    case L4_FLASH_ACR:
        return f->acr;
    case L4_FLASH_SR:
        return f->sr | (busy ? L4_SR_BSY : 0);
    case L4_FLASH_CR:
        return f->cr | (busy && f->strt_busy ? L4_CR_STRT : 0) |
               (busy && f->opt_busy ? L4_CR_OPTSTRT : 0);
    case L4_FLASH_ECCR:
        return f->eccr;
    case L4_FLASH_OPTR:
        return f->optr;
    case L4_FLASH_PCROP1SR:
        return f->pcrop1sr;
    case L4_FLASH_PCROP1ER:
        return f->pcrop1er;
    case L4_FLASH_WRP1AR:
        return f->wrp1ar;
    case L4_FLASH_WRP1BR:
        return f->wrp1br;
    case L4_FLASH_PCROP2SR:
        return f->pcrop2sr;
    case L4_FLASH_PCROP2ER:
        return f->pcrop2er;
    case L4_FLASH_WRP2AR:
        return f->wrp2ar;
    case L4_FLASH_WRP2BR:
        return f->wrp2br;
    default:
        return 0; /* KEYR, OPTKEYR, PDKEYR are write-only */
    }
}

static void key_fault(l4_flash *f, const l4_host *h, const char *reg, bool opt)
{
    char msg[128];
    if (opt) {
        f->opt_dead = true;
        f->cr |= L4_CR_OPTLOCK;
    } else {
        f->cr_dead = true;
        f->cr |= L4_CR_LOCK | L4_CR_OPTLOCK;
    }
    snprintf(msg, sizeof msg, "wrong key written to %s; %s stays locked until reset", reg,
             opt ? "FLASH_CR.OPTLOCK" : "FLASH_CR");
    h->bus_fault(h->ctx, msg);
}

#define CR_WRITABLE                                                                                \
    (L4_CR_PG | L4_CR_PER | L4_CR_MER1 | L4_CR_PNB_MASK | L4_CR_BKER | L4_CR_MER2 | L4_CR_STRT |   \
     L4_CR_OPTSTRT | L4_CR_FSTPG | L4_CR_EOPIE | L4_CR_ERRIE | L4_CR_RDERRIE | L4_CR_OBL_LAUNCH |  \
     L4_CR_OPTLOCK | L4_CR_LOCK)

void l4_flash_reg_write(l4_flash *f, const l4_host *h, uint32_t off, uint32_t val, unsigned size)
{
    unsigned shift = (off & 3) * 8;
    uint32_t mask = size >= 4 ? 0xFFFFFFFFu : ((1u << (8 * size)) - 1) << shift;
    uint32_t v = (val << shift) & mask, reg = off & ~3u;
    bool opt_open = !(f->cr & (L4_CR_LOCK | L4_CR_OPTLOCK));

    switch (reg) {
    case L4_FLASH_ACR:
        f->acr = ((f->acr & ~mask) | v) & 0x7F07u;
        break;
    case L4_FLASH_KEYR:
        if (f->cr_dead)
            key_fault(f, h, "FLASH_KEYR", false);
        else if (f->key_state == 0 && v == L4_FLASH_KEY1)
            f->key_state = 1;
        else if (f->key_state == 1 && v == L4_FLASH_KEY2) {
            f->key_state = 0;
            f->cr &= ~L4_CR_LOCK;
        } else
            key_fault(f, h, "FLASH_KEYR", false);
        break;
    case L4_FLASH_OPTKEYR:
        if (f->opt_dead || (f->cr & L4_CR_LOCK))
            key_fault(f, h, "FLASH_OPTKEYR", true);
        else if (f->optkey_state == 0 && v == L4_FLASH_OPTKEY1)
            f->optkey_state = 1;
        else if (f->optkey_state == 1 && v == L4_FLASH_OPTKEY2) {
            f->optkey_state = 0;
            f->cr &= ~L4_CR_OPTLOCK;
        } else
            key_fault(f, h, "FLASH_OPTKEYR", true);
        break;
    case L4_FLASH_SR:
        f->sr &= ~(v & L4_SR_W1C);
        break;
    case L4_FLASH_CR: {
        uint32_t nv;
        if (f->cr & L4_CR_LOCK) break; /* locked: writes ignored */
        nv = ((f->cr & ~mask) | v) & CR_WRITABLE;
        if (!opt_open) nv &= ~(L4_CR_OPTSTRT | L4_CR_OBL_LAUNCH);
        f->cr = nv & ~(L4_CR_STRT | L4_CR_OPTSTRT | L4_CR_OBL_LAUNCH);
        if (!(f->cr & L4_CR_FSTPG)) f->fast_row = false;
        if (!(f->cr & L4_CR_PG)) f->half = false;
        if (nv & L4_CR_LOCK) {
            f->cr |= L4_CR_LOCK | L4_CR_OPTLOCK;
            f->key_state = f->optkey_state = 0;
            break;
        }
        if (nv & L4_CR_OPTLOCK) f->optkey_state = 0;
        if (nv & L4_CR_STRT) start_erase(f, h);
        if (nv & L4_CR_OPTSTRT) start_option_program(f, h);
        if (nv & L4_CR_OBL_LAUNCH) {
            h->stall(h->ctx);
            h->system_reset(h->ctx); /* reloads the option registers (l4_flash_reset) */
        }
        break;
    }
    case L4_FLASH_ECCR:
        f->eccr = (f->eccr & ~(v & (L4_ECCR_ECCC | L4_ECCR_ECCD)) & ~L4_ECCR_ECCIE) |
                  (((f->eccr & ~mask) | v) & L4_ECCR_ECCIE);
        break;
    default:
        if (!opt_open) break;
        if (reg == L4_FLASH_OPTR)
            f->optr = (f->optr & ~mask) | v;
        else if (reg == L4_FLASH_PCROP1SR)
            f->pcrop1sr = ((f->pcrop1sr & ~mask) | v) | 0xFFFF0000u;
        else if (reg == L4_FLASH_PCROP1ER)
            f->pcrop1er = ((f->pcrop1er & ~mask) | v) & 0x8000FFFFu;
        else if (reg == L4_FLASH_PCROP2SR)
            f->pcrop2sr = ((f->pcrop2sr & ~mask) | v) | 0xFFFF0000u;
        else if (reg == L4_FLASH_PCROP2ER)
            f->pcrop2er = ((f->pcrop2er & ~mask) | v) & 0x0000FFFFu;
        else if (reg == L4_FLASH_WRP1AR)
            f->wrp1ar = ((f->wrp1ar & ~mask) | v) | 0xFF00FF00u;
        else if (reg == L4_FLASH_WRP1BR)
            f->wrp1br = ((f->wrp1br & ~mask) | v) | 0xFF00FF00u;
        else if (reg == L4_FLASH_WRP2AR)
            f->wrp2ar = ((f->wrp2ar & ~mask) | v) | 0xFF00FF00u;
        else if (reg == L4_FLASH_WRP2BR)
            f->wrp2br = ((f->wrp2br & ~mask) | v) | 0xFF00FF00u;
        break;
    }
}
