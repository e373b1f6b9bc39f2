/*
 * sim.c - the simulated STM32L47x/L48x: its flash interface (FLASH at
 * 0x40022000), programming by 64-bit double words, fast row programming,
 * page/bank erase, OTP, option bytes, ECC flags, RCC, and the datasheet
 * times each operation keeps BSY set: the family's model behind
 * src/sim/sim_model.h (bound at the end of this file; the flash interface
 * itself talks to the chip through the small host interface of
 * l4_sim_core.h).  The CRC unit (with INIT and POLY) and RCC are the
 * model's too; the CPU, memory, IWDG, DBGMCU, the state file and the
 * faults stay generic.
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
 *  - ECCR: ECCIE is writable, ECCC/ECCD are write-1-to-clear; no ECC error
 *    is ever raised (flash reads do not go through the model);
 *  - --fail-at: the double word keeps two bits at 1 that should be 0, OPERR;
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
#include "sim/sim_internal.h"

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

static void l4_opt_factory(uint32_t opt[L4_OPT_N])
{
    opt[L4_OPT_OPTR] = L4_OPTR_FACTORY;
    opt[L4_OPT_PCROP1SR] = opt[L4_OPT_PCROP2SR] = L4_PCROPSR_FACTORY;
    opt[L4_OPT_PCROP1ER] = opt[L4_OPT_PCROP2ER] = L4_PCROPER_FACTORY;
    opt[L4_OPT_WRP1] = opt[L4_OPT_WRP2] = wrp_pack(L4_WRP_FACTORY, L4_WRP_FACTORY);
}

/* Option bytes as stored (RM0351 §3.4.1): each option word, then its
 * complement, per double word. */
static uint8_t l4_opt_byte(const l4_host *h, uint32_t addr)
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

static int l4_flash_rdp(const l4_flash *f)
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

static void l4_flash_reset(l4_flash *f, const l4_host *h)
{
    memset(f, 0, sizeof *f);
    f->acr = 0x600u; /* ICEN | DCEN, LATENCY 0 (RM0351 §3.7.1 reset value) */
    f->cr = L4_CR_LOCK | L4_CR_OPTLOCK;
    load_options(f, h);
}

static void l4_flash_done(l4_flash *f)
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
    if (h->power_fails_now(h->ctx)) {
        /* Power fails during the pulse: a random subset of the bits that
         * should go to 0 do. */
        for (unsigned i = 0; i < 8; i++)
            p[i] &= (uint8_t)(v >> (8 * i)) | (uint8_t)rand();
        h->changed(h->ctx, addr, 8);
        h->power_lost(h->ctx);
        return;
    }
    f->programs++;
    h->count_op(h->ctx, 0);
    if (h->fail_at(h->ctx, addr, 8, &bad)) {
        /* A cell that does not program: the double word ends with two bits
         * still at 1 where the data has 0 (if any); OPERR. */
        int flipped = 0;
        for (unsigned i = 0; i < 64 && flipped < 2; i++)
            if (!((v >> i) & 1)) {
                v |= 1ull << i;
                flipped++;
            }
        for (unsigned i = 0; i < 8; i++)
            p[i] &= (uint8_t)(v >> (8 * i));
        h->changed(h->ctx, addr, 8);
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
    if (in_otp(addr) && (h->guard(h->ctx) & OFLASH_SIM_GUARD_OTP))
        return fail(f, L4_SR_WRPERR); /* session guard: the OTP behaves as if protected */
    p = cell(h, addr);
    if (!all_ones(p) && (in_otp(addr) || v != 0)) return fail(f, L4_SR_PROGERR);
    write_dword(f, h, addr, v, false);
    return f->sr & L4_SR_OPERR;
}

static uint32_t l4_flash_program(l4_flash *f, const l4_host *h, uint32_t addr, uint64_t val,
                                 unsigned size)
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
    f->erases++;
    h->count_op(h->ctx, 1);
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
    if (h->guard(h->ctx) & OFLASH_SIM_GUARD_OPTION_BYTES) {
        f->sr |= L4_SR_WRPERR; /* session guard: the option bytes keep their values */
        return;
    }
    if (l4_rdp_level(o[L4_OPT_OPTR]) == 2) {
        /* RM0351 §3.5.1: level 2 is irreversible, the option bytes can no
         * longer be changed.  Modelled: nothing is stored, WRPERR. */
        f->sr |= L4_SR_WRPERR;
        return;
    }
    if (h->power_fails_now(h->ctx)) {
        h->power_lost(h->ctx); /* option bytes keep their old values */
        return;
    }
    f->options++;
    h->count_op(h->ctx, 2);
    if (regress) {
        /* RM0351 §3.5.1: level 1 -> 0 mass-erases main flash (OTP kept). */
        memset(h->flash, 0xFF, h->flash_size);
        h->filled(h->ctx, L4_FLASH_BASE, h->flash_size);
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

static uint32_t l4_flash_reg_read(l4_flash *f, const l4_host *h, uint32_t off)
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

static void l4_flash_reg_write(l4_flash *f, const l4_host *h, uint32_t off, uint32_t val,
                               unsigned size)
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
        /* OPTLOCK is cleared only by the OPTKEYR sequence, never by a write. */
        nv = (((f->cr & ~mask) | v) & CR_WRITABLE) | (f->cr & L4_CR_OPTLOCK);
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

/* ======================================================================
 * The binding to the generic simulated chip (src/sim/sim_model.h).
 * ====================================================================== */

#define MSI_HZ_RANGE                                                                               \
    {                                                                                              \
        100000, 200000, 400000, 800000, 1000000, 2000000, 4000000, 8000000, 16000000, 24000000,    \
            32000000, 48000000                                                                     \
    }
#define HSE_HZ 8000000ull /* a Nucleo-L476RG fed 8 MHz by its ST-LINK MCO */

/* The model's state (c->model_state). */
typedef struct l4_sim {
    l4_flash f;
    l4_host h;
    bool loaded;      /* reset ran: f.live_* hold the loaded option bytes */
    bool eop_pending; /* the operation in progress succeeds: EOP at its end (EOPIE) */
    uint32_t rcc[64]; /* RCC (RM0351 §6.4), 0x40021000.. */
    uint32_t crc_dr, crc_idr, crc_cr, crc_init, crc_poly; /* CRC unit (RM0351 §14) */
} l4_sim;

static l4_sim *S(const sim_chip *c)
{
    return (l4_sim *)c->model_state;
}

/* ---- host callbacks for the flash interface ---- */

static uint64_t h_now(void *ctx)
{
    return ((sim_chip *)ctx)->now_ps;
}

static void h_start_busy(void *ctx, uint64_t ps, bool ok)
{
    sim_chip *c = ctx;
    oflash__sim_start_busy(c, ps);
    S(c)->eop_pending = ok;
}

static bool h_busy(void *ctx)
{
    sim_chip *c = ctx;
    oflash__sim_flash_update(c);
    return c->busy;
}

static void h_stall(void *ctx)
{
    oflash__sim_stall(ctx);
}

static void h_changed(void *ctx, uint32_t addr, uint32_t len)
{
    oflash__sim_journal_bytes(ctx, addr, len);
}

static void h_filled(void *ctx, uint32_t addr, uint32_t len)
{
    sim_chip *c = ctx;
    oflash__sim_journal_fill(&c->file, addr, len, 0xFF);
    oflash__sim_mark_dirty(c, addr - L4_FLASH_BASE, len);
}

static void h_options_changed(void *ctx)
{
    oflash__sim_journal_opt(ctx);
}

static bool h_power_fails_now(void *ctx)
{
    return oflash__sim_power_fails_now(ctx);
}

static void h_power_lost(void *ctx)
{
    oflash__sim_power_loss(ctx);
}

static bool h_fail_at(void *ctx, uint32_t addr, uint32_t len, uint32_t *bad)
{
    const oflash_sim_faults *fl = &((sim_chip *)ctx)->nv.faults;
    if (!fl->fail_at || fl->fail_addr < addr || fl->fail_addr - addr >= len) return false;
    *bad = fl->fail_addr;
    return true;
}

static void h_count_op(void *ctx, int kind)
{
    sim_chip *c = ctx;
    if (kind == 0)
        c->program_ops++;
    else if (kind == 1)
        c->erase_ops++;
    else
        c->option_ops++;
    c->flash_ops++;
}

static void h_bus_fault(void *ctx, const char *what)
{
    oflash__sim_stop(ctx, SIM_STOP_FAULT, "bus fault: %s", what);
}

static void h_system_reset(void *ctx)
{
    sim_chip *c = ctx;
    if (c->in_run)
        oflash__sim_stop(c, SIM_STOP_FAULT,
                         "system reset requested by the program (FLASH_CR.OBL_LAUNCH: option "
                         "bytes reloaded)");
    c->wdg_reset_pending = true; /* performed when the access completes */
}

static void h_protection_changed(void *ctx)
{
    oflash__sim_update_protection(ctx);
}

static unsigned h_guard(void *ctx)
{
    return ((sim_chip *)ctx)->guard;
}

static void bind(sim_chip *c)
{
    l4_host *h = &S(c)->h;
    h->ctx = c;
    h->flash = c->nv.flash;
    h->flash_size = c->nv.flash_size;
    h->otp = c->nv.nv;
    h->opt = c->nv.opt;
    h->now = h_now;
    h->start_busy = h_start_busy;
    h->busy = h_busy;
    h->stall = h_stall;
    h->changed = h_changed;
    h->filled = h_filled;
    h->options_changed = h_options_changed;
    h->power_fails_now = h_power_fails_now;
    h->power_lost = h_power_lost;
    h->fail_at = h_fail_at;
    h->count_op = h_count_op;
    h->bus_fault = h_bus_fault;
    h->system_reset = h_system_reset;
    h->protection_changed = h_protection_changed;
    h->guard = h_guard;
}

/* ---- RCC: MSI (reset, 4 MHz), HSI16, HSE, PLL ---- */

#define RCC_CR (L4_RCC_CR / 4)
#define RCC_CFGR (L4_RCC_CFGR / 4)
#define RCC_PLLCFGR (0x0Cu / 4)
#define RCC_AHB1ENR (L4_RCC_AHB1ENR / 4)

static uint64_t clock_hz(const sim_chip *c, unsigned src)
{
    static const uint32_t msi[12] = MSI_HZ_RANGE;
    const uint32_t *r = S(c)->rcc;
    unsigned range = (r[RCC_CR] >> L4_RCC_CR_MSIRANGE_SHIFT) & 0xF;
    switch (src) {
    case 0:
        return range < 12 ? msi[range] : L4_MSI_RESET_HZ;
    case 1:
        return L4_HSI_HZ;
    case 2:
        return HSE_HZ;
    default: {
        uint32_t pll = r[RCC_PLLCFGR], s = pll & 3;
        uint64_t in = s == 1 ? clock_hz(c, 0) : s == 2 ? L4_HSI_HZ : s == 3 ? HSE_HZ : 0;
        uint32_t m = ((pll >> 4) & 7) + 1, n = (pll >> 8) & 0x7F,
                 rdiv = 2 * (((pll >> 25) & 3) + 1);
        return n < 8 ? L4_MSI_RESET_HZ : in / m * n / rdiv;
    }
    }
}

static void set_clock(sim_chip *c)
{
    static const unsigned hpre_div[8] = {2, 4, 8, 16, 64, 128, 256, 512};
    uint32_t cfgr = S(c)->rcc[RCC_CFGR], hpre = (cfgr >> 4) & 0xF;
    uint64_t hz = clock_hz(c, (cfgr & L4_RCC_CFGR_SWS_MASK) >> L4_RCC_CFGR_SWS_SHIFT);
    hz /= hpre & 8 ? hpre_div[hpre & 7] : 1;
    oflash__sim_set_core_hz(c, hz ? hz : L4_MSI_RESET_HZ);
}

static void rcc_write(sim_chip *c, uint32_t off, uint32_t v)
{
    uint32_t *r = S(c)->rcc;
    unsigned sws = (r[RCC_CFGR] & L4_RCC_CFGR_SWS_MASK) >> L4_RCC_CFGR_SWS_SHIFT;
    switch (off / 4) {
    case RCC_CR: {
        uint32_t cr = v & ~(L4_RCC_CR_MSIRDY | L4_RCC_CR_HSIRDY | L4_RCC_CR_PLLRDY | (1u << 17));
        /* The clock in use as SYSCLK stays on; oscillators and the PLL are
         * ready at once (start-up times are not modelled). */
        if (sws == 0) cr |= L4_RCC_CR_MSION;
        if (sws == 1) cr |= L4_RCC_CR_HSION;
        if (sws == 3) cr |= L4_RCC_CR_PLLON;
        if (cr & L4_RCC_CR_MSION) cr |= L4_RCC_CR_MSIRDY;
        if (cr & L4_RCC_CR_HSION) cr |= L4_RCC_CR_HSIRDY;
        if (cr & (1u << 16)) cr |= 1u << 17; /* HSEON -> HSERDY */
        if (cr & L4_RCC_CR_PLLON) cr |= L4_RCC_CR_PLLRDY;
        r[RCC_CR] = cr;
        set_clock(c);
        break;
    }
    case RCC_PLLCFGR:
        if (!(r[RCC_CR] & L4_RCC_CR_PLLON)) r[RCC_PLLCFGR] = v;
        break;
    case RCC_CFGR: {
        unsigned sw = v & L4_RCC_CFGR_SW_MASK;
        static const uint32_t rdy[4] = {L4_RCC_CR_MSIRDY, L4_RCC_CR_HSIRDY, 1u << 17,
                                        L4_RCC_CR_PLLRDY};
        unsigned now = (r[RCC_CR] & rdy[sw]) ? sw : sws; /* SWS follows a ready clock */
        r[RCC_CFGR] = (v & ~L4_RCC_CFGR_SWS_MASK) | (now << L4_RCC_CFGR_SWS_SHIFT);
        set_clock(c);
        break;
    }
    default:
        r[(off / 4) & 63] = v;
        break;
    }
}

/* ---- CRC unit with INIT and POLY (32-bit polynomials) ---- */

static uint32_t rbit32(uint32_t x)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i++, x >>= 1)
        r = (r << 1) | (x & 1);
    return r;
}

static uint32_t crc_in(const l4_sim *s, uint32_t w)
{
    switch ((s->crc_cr & L4_CRC_CR_REV_IN_MASK) >> 5) {
    case 1: { /* bit reversal by byte */
        uint32_t r = rbit32(w);
        return ((r >> 24) & 0xFF) | ((r >> 8) & 0xFF00) | ((r << 8) & 0xFF0000) | (r << 24);
    }
    case 2: { /* by half-word */
        uint32_t r = rbit32(w);
        return (r >> 16) | (r << 16);
    }
    case 3:
        return rbit32(w);
    default:
        return w;
    }
}

static void crc_feed(l4_sim *s, uint32_t w)
{
    uint32_t crc = s->crc_dr ^ crc_in(s, w);
    for (int i = 0; i < 32; i++)
        crc = (crc & 0x80000000u) ? (crc << 1) ^ s->crc_poly : crc << 1;
    s->crc_dr = crc;
}

/* ---- the OTP / ID page and the option bytes ---- */

#define INFO_BASE L4_OTP_BASE
#define INFO_SIZE 0x800u /* OTP, package, unique ID, flash size */
#define OPT_WIN 0x400u

static bool in_info(uint32_t a)
{
    return a >= INFO_BASE && a - INFO_BASE < INFO_SIZE;
}

static bool in_opt(uint32_t a)
{
    return (a >= L4_OPT1_BASE && a - L4_OPT1_BASE < OPT_WIN) ||
           (a >= L4_OPT2_BASE && a - L4_OPT2_BASE < OPT_WIN);
}

static uint8_t info_byte(sim_chip *c, uint32_t a)
{
    if (a >= L4_OTP_BASE && a - L4_OTP_BASE < L4_OTP_SIZE) return *oflash__sim_nv_ptr(c, a, 1);
    if (a >= L4_UID_ADDR && a < L4_UID_ADDR + 12) return c->nv.uid[a - L4_UID_ADDR];
    if (a == L4_FSIZE_ADDR) return (uint8_t)c->dev->flash_size_kb;
    if (a == L4_FSIZE_ADDR + 1) return (uint8_t)(c->dev->flash_size_kb >> 8);
    return 0xFF;
}

/* ---- the model's hooks ---- */

static void l4_complete(sim_chip *c)
{
    l4_sim *s = S(c);
    l4_flash_done(&s->f);
    if (s->eop_pending && (s->f.cr & L4_CR_EOPIE)) s->f.sr |= L4_SR_EOP;
    s->eop_pending = false;
}

static bool l4_mmio_read(sim_chip *c, uint32_t addr, unsigned size, bool debugger, uint32_t *val)
{
    l4_sim *s = S(c);
    uint32_t word, off;
    unsigned shift = (addr & 3) * 8;
    (void)debugger;
    if (in_info(addr) || in_opt(addr)) {
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint32_t)(in_info(addr + i) ? info_byte(c, addr + i)
                                              : l4_opt_byte(&s->h, addr + i))
                 << (8 * i);
        *val = v;
        return true;
    }
    if (addr >= L4_FLASH_REGS && addr < L4_FLASH_REGS + 0x400) {
        off = (addr - L4_FLASH_REGS) & ~3u;
        if (off > L4_FLASH_WRP2BR || (off > L4_FLASH_WRP1BR && off < L4_FLASH_PCROP2SR) ||
            off == 0x1C)
            return false; /* reserved: counted as unknown */
        oflash__sim_flash_update(c);
        word = l4_flash_reg_read(&s->f, &s->h, off);
        if (off == L4_FLASH_SR && (word & L4_SR_BSY) && c->busy) {
            /* Polling BSY: fast-forward, in 100 us steps with a running
             * watchdog so that a loop that feeds it while it waits works. */
            uint64_t left = c->busy_until_ps - c->now_ps;
            uint64_t step =
                c->iwdg_running && left > 100 * SIM_PS_PER_US ? 100 * SIM_PS_PER_US : left;
            oflash__sim_advance(c, step);
        }
    } else if (addr >= L4_RCC_BASE && addr < L4_RCC_BASE + 0x100) {
        word = s->rcc[((addr - L4_RCC_BASE) / 4) & 63];
    } else if (addr >= L4_CRC_BASE && addr < L4_CRC_BASE + 0x18) {
        off = (addr - L4_CRC_BASE) & ~3u;
        word = off == L4_CRC_DR ? ((s->crc_cr & L4_CRC_CR_REV_OUT) ? rbit32(s->crc_dr) : s->crc_dr)
               : off == L4_CRC_IDR  ? s->crc_idr
               : off == L4_CRC_CR   ? s->crc_cr
               : off == L4_CRC_INIT ? s->crc_init
               : off == L4_CRC_POLY ? s->crc_poly
                                    : 0;
    } else {
        return false;
    }
    word >>= shift;
    *val = size >= 4 ? word : word & ((1u << (8 * size)) - 1);
    return true;
}

static bool l4_mmio_write(sim_chip *c, uint32_t addr, unsigned size, uint32_t val, bool debugger)
{
    l4_sim *s = S(c);
    uint32_t off;
    (void)debugger;
    if (in_info(addr)) {
        /* OTP is programmed like flash; the ID words are read-only. */
        if (addr - L4_OTP_BASE < L4_OTP_SIZE)
            l4_flash_program(&s->f, &s->h, addr, val, size);
        else
            oflash__sim_stop(c, SIM_STOP_FAULT, "bus fault: write to read-only 0x%08X", addr);
        return true;
    }
    if (in_opt(addr)) {
        /* Option bytes change only through the option registers + OPTSTRT. */
        s->f.sr |= L4_SR_PGSERR;
        return true;
    }
    if (addr >= L4_FLASH_REGS && addr < L4_FLASH_REGS + 0x400) {
        off = (addr - L4_FLASH_REGS) & ~3u;
        if (off > L4_FLASH_WRP2BR || (off > L4_FLASH_WRP1BR && off < L4_FLASH_PCROP2SR) ||
            off == 0x1C)
            return false;
        oflash__sim_flash_update(c);
        l4_flash_reg_write(&s->f, &s->h, addr - L4_FLASH_REGS, val, size);
        return true;
    }
    if (addr >= L4_RCC_BASE && addr < L4_RCC_BASE + 0x100) {
        off = addr - L4_RCC_BASE;
        if (size != 4 || (off & 3)) return false; /* RCC is word-accessed by every driver */
        rcc_write(c, off, val);
        return true;
    }
    if (addr >= L4_CRC_BASE && addr < L4_CRC_BASE + 0x18) {
        off = addr - L4_CRC_BASE;
        if (off == L4_CRC_DR && size == 4)
            crc_feed(s, val);
        else if (off == L4_CRC_IDR)
            s->crc_idr = val & 0xFF;
        else if (off == L4_CRC_CR && size == 4) {
            s->crc_cr = val & (L4_CRC_CR_POLYSIZE_MASK | L4_CRC_CR_REV_IN_MASK | L4_CRC_CR_REV_OUT);
            if (val & L4_CRC_CR_RESET) s->crc_dr = s->crc_init;
        } else if (off == L4_CRC_INIT && size == 4) {
            s->crc_init = s->crc_dr = val; /* writing INIT also loads DR (RM0351 §14.4.4) */
        } else if (off == L4_CRC_POLY && size == 4)
            s->crc_poly = val;
        else
            return false; /* narrower DR writes and 7/8/16-bit polynomials: not modelled */
        return true;
    }
    return false;
}

static void l4_cpu_program(sim_chip *c, uint32_t addr, uint64_t val, unsigned size)
{
    l4_flash_program(&S(c)->f, &S(c)->h, addr, val, size);
}

static const char *sr_names(uint32_t sr, char *buf, size_t len)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{L4_SR_PGSERR, "PGSERR"},   {L4_SR_PROGERR, "PROGERR"}, {L4_SR_PGAERR, "PGAERR"},
                 {L4_SR_SIZERR, "SIZERR"},   {L4_SR_WRPERR, "WRPERR"},   {L4_SR_OPERR, "OPERR"},
                 {L4_SR_FASTERR, "FASTERR"}, {L4_SR_MISERR, "MISERR"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (sr & names[i].bit)
            used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
                                     used ? "|" : "", names[i].name);
    return buf;
}

/* A debugger write into flash or OTP: bus writes through the flash
 * interface, one double word (8-byte access) at a time.  Static conditions
 * first, so that a refused write changes nothing. */
static int l4_debugger_write(sim_chip *c, uint32_t addr, const uint8_t *buf, size_t n)
{
    l4_sim *s = S(c);
    const char *path = c->file.path;
    bool in_flash = addr >= L4_FLASH_BASE && addr - L4_FLASH_BASE < c->nv.flash_size;
    char names[96];
    if (in_opt(addr))
        return oflash_error_set(OFLASH_EPROTECTED,
                                "%s: write at 0x%08X refused: option bytes change only through "
                                "FLASH_OPTKEYR, the option registers and OPTSTRT",
                                path, addr);
    if (!in_flash && (addr < L4_OTP_BASE || addr - L4_OTP_BASE + n > L4_OTP_SIZE))
        return oflash_error_set(OFLASH_EPROTECTED,
                                "%s: write at 0x%08X refused: the package, unique ID and flash "
                                "size words (0x1FFF7500-0x1FFF75FF) are read-only",
                                path, addr);
    if (in_flash && l4_flash_rdp(&s->f) != 0)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "%s: flash write at 0x%08X refused: read protection level 1 is "
                                "active",
                                path, addr);
    if ((s->f.cr & L4_CR_LOCK) || !(s->f.cr & (L4_CR_PG | L4_CR_FSTPG))) {
        s->f.sr |= L4_SR_PGSERR; /* what the bus write does on silicon */
        return oflash_error_set(
            OFLASH_EPROTECTED,
            "%s: debugger write to %s at 0x%08X refused: %s (flash is read-only to the debugger "
            "unless FLASH_CR is unlocked through FLASH_KEYR and PG is set; FLASH_SR.PGSERR set)",
            path, in_flash ? "flash" : "OTP", addr,
            (s->f.cr & L4_CR_LOCK) ? "FLASH_CR is locked" : "FLASH_CR.PG is not set");
    }
    if ((addr | n) & 7)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: debugger write of %zu bytes at 0x%08X is not whole 64-bit "
                                "double words (the STM32L4 flash is programmed 8 bytes at a time)",
                                path, n, addr);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = 0;
        uint32_t err;
        for (unsigned k = 0; k < 8; k++)
            v |= (uint64_t)buf[i + k] << (8 * k);
        err = l4_flash_program(&s->f, &s->h, addr + (uint32_t)i, v, 8);
        if (c->power_lost) return oflash_error_set(OFLASH_ELINK, "%s: %s", path, c->stop_detail);
        if (err)
            return oflash_error_set(
                OFLASH_ETARGET, "%s: programming the double word at 0x%08X failed: FLASH_SR %s%s",
                path, addr + (uint32_t)i, sr_names(err, names, sizeof names),
                err & L4_SR_WRPERR    ? " (write-protected page)"
                : err & L4_SR_PROGERR ? " (double word not erased: OTP is written once)"
                                      : "");
    }
    return 0;
}

static int l4_read_protection(const sim_chip *c, char *why, size_t len)
{
    const l4_sim *s = S(c);
    uint32_t optr = s->loaded ? s->f.live_optr : c->nv.opt[L4_OPT_OPTR];
    snprintf(why, len, "RDP=0x%02X", optr & L4_OPTR_RDP_MASK);
    return l4_rdp_level(optr);
}

static void l4_reset(sim_chip *c)
{
    l4_sim *s = S(c);
    bind(c);
    l4_flash_reset(&s->f, &s->h);
    s->loaded = true;
    s->eop_pending = false;
    memset(s->rcc, 0, sizeof s->rcc);
    s->rcc[RCC_CR] = L4_RCC_CR_RESET;
    s->rcc[RCC_PLLCFGR] = 0x00001000u;
    s->rcc[RCC_AHB1ENR] = L4_RCC_AHB1ENR_FLASHEN;
    set_clock(c);
    s->crc_dr = s->crc_init = 0xFFFFFFFFu;
    s->crc_poly = L4_CRC_POLY_DEFAULT;
    s->crc_cr = s->crc_idr = 0;
    /* IWDG_SW = 0: hardware watchdog, running from reset (RM0351 §3.4.1). */
    if (!(s->f.live_optr & L4_OPTR_IWDG_SW)) oflash__sim_iwdg_start(c);
    oflash__sim_update_protection(c);
}

static void l4_factory(const oflash_device *dev, uint32_t opt[SIM_OPT_WORDS])
{
    (void)dev;
    l4_opt_factory(opt);
}

static void l4_map(const oflash_device *dev, const uint32_t opt[SIM_OPT_WORDS], sim_map *m)
{
    (void)dev;
    (void)opt;
    memset(m, 0, sizeof *m);
    m->cpu_model = UC_CPU_ARM_CORTEX_M4;
    m->cpuid = 0x410FC241u; /* Cortex-M4 r0p1 (PM0214) */
    m->flash_base = L4_FLASH_BASE;
    m->flash_alias = 0;
    m->sram_base = L4_SRAM1_BASE;
    m->extra_ram_base = L4_SRAM2_BASE;
    m->extra_ram_size = 32 * 1024;
    m->sysmem_base = L4_SYSMEM_BASE;
    m->sysmem_size = L4_SYSMEM_SIZE;
    m->nv_base = L4_OTP_BASE;
    m->nv_size = L4_OTP_SIZE;
    m->windows[0].base = INFO_BASE;
    m->windows[0].size = INFO_SIZE;
    m->windows[1].base = L4_OPT1_BASE;
    m->windows[1].size = OPT_WIN;
    m->windows[2].base = L4_OPT2_BASE;
    m->windows[2].size = OPT_WIN;
    m->window_count = 3;
    m->iwdg_base = L4_IWDG_BASE;
    m->crc_base = L4_CRC_BASE;
    m->dbgmcu_base = L4_DBGMCU_IDCODE;
    m->dbgmcu_idcode_rev = 0x1007; /* revision 4 (RM0351 §48.6.1) */
}

/* For `oflash sim show`: OPTR (RDP, IWDG_SW, DUALBANK, BFB2) and the WRP
 * areas of both banks as the option bytes hold them. */
static void l4_describe_options(char *text, size_t len, int *rdp, bool *wrp, size_t nsect,
                                const oflash_device *dev, const uint32_t opt[SIM_OPT_WORDS])
{
    uint32_t optr = opt[L4_OPT_OPTR];
    uint32_t a[4] = {wrp_a(opt[L4_OPT_WRP1]), wrp_b(opt[L4_OPT_WRP1]), wrp_a(opt[L4_OPT_WRP2]),
                     wrp_b(opt[L4_OPT_WRP2])};
    uint32_t bank_pages = dev->flash_size_kb >= 1024 ? L4_PAGES_PER_BANK : 0xFFFFu;
    *rdp = l4_rdp_level(optr);
    snprintf(text, len,
             "OPTR 0x%08X: RDP level %d (0x%02X), %s watchdog, %s, boot from bank %d; WRP1AR "
             "0x%08X WRP1BR 0x%08X WRP2AR 0x%08X WRP2BR 0x%08X",
             optr, *rdp, optr & L4_OPTR_RDP_MASK,
             (optr & L4_OPTR_IWDG_SW) ? "software" : "hardware",
             (optr & L4_OPTR_DUALBANK) ? "dual bank" : "single bank", (optr & L4_OPTR_BFB2) ? 2 : 1,
             a[0], a[1], a[2], a[3]);
    for (size_t i = 0; i < nsect; i++) {
        unsigned bank = (unsigned)(i / bank_pages), page = (unsigned)(i % bank_pages);
        wrp[i] =
            bank < 2 && (l4_wrp_covers(a[2 * bank], page) || l4_wrp_covers(a[2 * bank + 1], page));
    }
}

const oflash_sim_model oflash__stm32l4_sim = {
    .version = OFLASH_SIM_MODEL_VERSION,
    .opt_words = L4_OPT_N,
    .state_size = sizeof(l4_sim),
    .factory = l4_factory,
    .map = l4_map,
    .reset = l4_reset,
    .complete = l4_complete,
    .mmio_read = l4_mmio_read,
    .mmio_write = l4_mmio_write,
    .cpu_program = l4_cpu_program,
    .debugger_write = l4_debugger_write,
    .read_protection = l4_read_protection,
    .describe_options = l4_describe_options,
};
