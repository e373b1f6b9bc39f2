/*
 * sim.c - the simulated STM32F2/F4 (the family's model behind
 * src/sim/sim_model.h): the embedded flash interface (FLASH at 0x40023C00):
 * unlocking, programming, sector and mass erase, OTP and lock bytes, option
 * bytes, error flags, and how long each operation keeps BSY set; the
 * OTP / unique-ID page and the option-byte page; RCC clock switching.
 *
 * Follows RM0368 rev 5 §3 (STM32F401), RM0383 rev 3 §3 (F411) and RM0090
 * rev 19 §3 (F405/407/427/429; dual bank: SNB bit 4 selects bank 2, MER1,
 * OPTCR1).  Behaviour taken from the manuals:
 *  - KEYR: KEY1 then KEY2 clears CR.LOCK; "any wrong sequence will return a
 *    bus error and lock up the FLASH_CR register until the next reset";
 *    OPTKEYR likewise for OPTCR.OPTLOCK;
 *  - while CR.LOCK is set, writes to CR are ignored;
 *  - a write to flash/OTP needs CR.PG; without it the write is not done and
 *    PGSERR is set;
 *  - "the write access type (byte, half-word, word or double word) must
 *    correspond to the type of parallelism chosen (x8, x16, x32 or x64). If
 *    not, the write operation is not performed and ... PGPERR is set";
 *  - "it is not allowed to program data ... that would cross the 128-bit row
 *    boundary ... the write operation is not performed and ... PGAERR";
 *  - programming a sector whose nWRP bit is 0, or a locked OTP block, is not
 *    performed and sets WRPERR; a mass erase with a protected sector too;
 *  - bits only go 1 -> 0 (a program is an AND); erase sets 0xFF; OTP and
 *    lock bytes are never erased;
 *  - "If MERx and SER bits are both set ... neither sector nor mass erase
 *    can be performed" (modelled: nothing happens, PGSERR set);
 *  - EOP is set when an operation completes only if CR.EOPIE is set;
 *  - STRT reads 1 until BSY clears;
 *  - RDP level 1 -> level 0 through OPTSTRT mass-erases main flash.
 * Model choices where the manual says nothing (documented in docs/sim.md):
 *  - an access while BSY stalls the bus: simulated time jumps to the end of
 *    the operation, then the access happens;
 *  - OPERR is raised by the --fail-at fault (a cell that does not program or
 *    erase) whether or not ERRIE is set;
 *  - x64 parallelism takes an 8-byte access (debugger) or two word stores,
 *    low word first at an 8-aligned address, as the core issues for STRD
 *    and ST's HAL writes them; anything else sets PGPERR;
 *  - an SNB that names no sector of the part sets PGSERR;
 *  - with RDP level 1 the debugger is connected, so flash program/erase
 *    requests set WRPERR and flash reads fault (RM0368 §3.6.3: "no access
 *    (read, erase, program) to Flash memory ... while the debug feature is
 *    connected").
 *
 * Durations (typical values, STM32F401xD/E datasheet DS10086 rev 3 and
 * STM32F401xB/C DS9716 Table "Flash memory programming"; F405/407 DS8626
 * and F427/429 DS9405 give the same per-sector figures; the search corpus
 * available while writing this had RM0368/RM0090 but not the datasheets,
 * so the figures below are the ones quoted in docs/architecture.md and in
 * those tables: tprog 16 us for every PSIZE; tERASE16KB 400/300/250 ms,
 * tERASE64KB 1200/700/550 ms, tERASE128KB 2000/1300/1000 ms for x8/x16/x32;
 * tME 8/5.5/4 s up to 512 KB, 16/11/8 s for 1 MB, 32/22/16 s for 2 MB).
 * x64 uses the x32 figures (no VPP on the simulated board).  Option byte
 * programming is not in the tables: modelled as one 16 KB sector erase.
 */
#include "stm32f4.h"
#include "sim/sim_internal.h"
#include "targets/common/stm32f2x_sim.h"

#include "oflash/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SR_EOP F4_SR_EOP
#define SR_OPERR F4_SR_OPERR
#define SR_WRPERR F4_SR_WRPERR
#define SR_PGAERR F4_SR_PGAERR
#define SR_PGPERR F4_SR_PGPERR
#define SR_PGSERR F4_SR_PGSERR
#define SR_RDERR F4_SR_RDERR
#define SR_BSY F4_SR_BSY
#define SR_W1C F4_SR_W1C
#define CR_PG F4_CR_PG
#define CR_SER F4_CR_SER
#define CR_MER F4_CR_MER
#define CR_MER1 F4_CR_MER1
#define CR_SNB_SHIFT F4_CR_SNB_SHIFT
#define CR_PSIZE_SHIFT F4_CR_PSIZE_SHIFT
#define CR_STRT F4_CR_STRT
#define CR_EOPIE F4_CR_EOPIE
#define CR_ERRIE F4_CR_ERRIE
#define CR_LOCK F4_CR_LOCK
#define OPTCR_OPTLOCK F4_OPTCR_OPTLOCK
#define OPTCR_OPTSTRT F4_OPTCR_OPTSTRT
#define OPTCR_WDG_SW F4_OPTCR_WDG_SW
#define OPTCR_NWRP_SHIFT F4_OPTCR_NWRP_SHIFT
#define OPTCR_WRITABLE F4_OPTCR_WRITABLE
#define OPTCR1_WRITABLE F4_OPTCR1_WRITABLE
#define FLASH_ACR F4_FLASH_ACR
#define FLASH_KEYR F4_FLASH_KEYR
#define FLASH_OPTKEYR F4_FLASH_OPTKEYR
#define FLASH_SR F4_FLASH_SR
#define FLASH_CR F4_FLASH_CR
#define FLASH_OPTCR F4_FLASH_OPTCR
#define FLASH_OPTCR1 F4_FLASH_OPTCR1
#define FLASH_KEY1 F4_FLASH_KEY1
#define FLASH_KEY2 F4_FLASH_KEY2
#define FLASH_OPTKEY1 F4_FLASH_OPTKEY1
#define FLASH_OPTKEY2 F4_FLASH_OPTKEY2

#define SIM_PROGRAM_PS 16000000ull /* tprog 16 us typ, DS10086 Table "Flash memory programming" */

/* The model's state (c->model_state): the F2/F4/F7 one. */
typedef stm32f2x_sim f4_sim;
static const stm32f2x_sim_family f4_fam;

static f4_sim *F(const sim_chip *c)
{
    return (f4_sim *)c->model_state;
}

/* nv.opt[0] = FLASH_OPTCR as the option bytes hold it, [1] = FLASH_OPTCR1. */
#define OPTCR(c) ((c)->nv.opt[0])
#define OPTCR1(c) ((c)->nv.opt[1])

static bool dual(const sim_chip *c)
{
    return f4_part_of(c->dev)->dual_bank;
}

/* RM0090 §3.4, §3.9.10 (RM0386 alike for the F469/F479): a 1 MiB F42x/F43x
 * /F469/F479 is one bank of sectors 0-11 while OPTCR.DB1M = 0 (factory);
 * with DB1M = 1 its last 512 KiB are restructured like the first: bank 1 =
 * sectors 0-7, bank 2 = sectors 12-19 (SNB 0x10-0x17, MER1; write
 * protection in OPTCR1 nWRP0-7).  An erase of sector 8-11 is then "not
 * performed" (RM0090's note on DB1M). */
static bool db1m_capable(const sim_chip *c)
{
    return !dual(c) && c->dev->flash_size_kb == 1024 &&
           (c->dev->dev_id == 0x419 || c->dev->dev_id == 0x434);
}

static bool db1m(const sim_chip *c)
{
    return db1m_capable(c) && (OPTCR(c) & F4_OPTCR_DB1M);
}

/* F413/F423: one bank of 16 sectors, nWRP12..14 in OPTCR (RM0430). */
static bool f413_layout(const sim_chip *c)
{
    return !dual(c) && c->dev->banks[0].sector_count > 12;
}

static uint32_t optcr_writable(const sim_chip *c)
{
    return OPTCR_WRITABLE | (db1m_capable(c) ? F4_OPTCR_DB1M : 0) |
           (f413_layout(c) ? F4_OPTCR_NWRP12_14 : 0);
}

/* OPTCR1 (nWRP of bank 2) exists on every F42x/F43x/F469/F479 of 1 or 2 MiB. */
static bool has_optcr1(const sim_chip *c)
{
    return dual(c) || db1m_capable(c);
}

/* Sector k of the DB1M layout (0-7, 12-19): offset and size. */
static bool db1m_sector(unsigned k, uint32_t *off, uint32_t *size)
{
    static const uint32_t kib[8] = {16, 16, 16, 16, 64, 128, 128, 128};
    uint32_t o = k >= 12 ? 0x80000u : 0;
    unsigned j = k < 8 ? k : k - 12;
    if (k >= 8 && (k < 12 || k > 19)) return false;
    for (unsigned i = 0; i < j; i++)
        o += kib[i] * 1024u;
    *off = o;
    *size = kib[j] * 1024u;
    return true;
}

static bool db1m_wrp(const sim_chip *c, unsigned k)
{
    return k < 12 ? !(OPTCR(c) & (1u << (OPTCR_NWRP_SHIFT + k)))
                  : !(OPTCR1(c) & (1u << (OPTCR_NWRP_SHIFT + k - 12)));
}

/* The DB1M sector holding flash offset off. */
static unsigned db1m_sector_at(uint32_t off)
{
    uint32_t o, sz;
    for (unsigned k = 0; k < 20; k++)
        if (db1m_sector(k, &o, &sz) && off >= o && off - o < sz) return k;
    return 0;
}

#define MS(x) ((uint64_t)(x)*SIM_PS_PER_MS)

/* Erase time of one sector, indexed [size class][PSIZE]. */
static const uint64_t erase_ps_table[3][4] = {
    {MS(400), MS(300), MS(250), MS(250)},    /* 16 KB  tERASE16KB */
    {MS(1200), MS(700), MS(550), MS(550)},   /* 64 KB  tERASE64KB */
    {MS(2000), MS(1300), MS(1000), MS(1000)} /* 128 KB tERASE128KB */
};

static uint64_t erase_ps(uint32_t sector_size, unsigned psize)
{
    int cls = sector_size <= 16384 ? 0 : sector_size <= 65536 ? 1 : 2;
    return erase_ps_table[cls][psize & 3];
}

static uint64_t mass_erase_ps(uint32_t flash_size, unsigned psize)
{
    /* tME per bank size: x8, x16, x32 (x64 as x32). */
    static const uint64_t upto512k[4] = {MS(8000), MS(5500), MS(4000), MS(4000)};
    static const uint64_t mb1[4] = {MS(16000), MS(11000), MS(8000), MS(8000)};
    static const uint64_t mb2[4] = {MS(32000), MS(22000), MS(16000), MS(16000)};
    const uint64_t *t = flash_size <= 512u * 1024u    ? upto512k
                        : flash_size <= 1024u * 1024u ? mb1
                                                      : mb2;
    return t[psize & 3];
}

#define OPTION_PROGRAM_PS MS(250)

static int rdp(const sim_chip *c)
{
    return oflash_sim_rdp_level(OPTCR(c));
}

static bool sector_wrp(const sim_chip *c, int index)
{
    if (!dual(c)) /* F413/F423: nWRP12..14 in OPTCR, nWRP14 for sectors 14 and 15 */
        return !(OPTCR(c) & (1u << (OPTCR_NWRP_SHIFT + (index < 15 ? index : 14))));
    if (index < 12) return !(OPTCR(c) & (1u << (OPTCR_NWRP_SHIFT + index)));
    return !(OPTCR1(c) & (1u << (OPTCR_NWRP_SHIFT + index - 12)));
}

static const oflash_bank *flash_bank(const sim_chip *c)
{
    return &c->dev->banks[0]; /* "flash" is first in every built-in part */
}

static void f4_complete(sim_chip *c)
{
    oflash__f2x_sim_complete(c, &f4_fam);
}

static void stall(sim_chip *c)
{
    oflash__sim_stall(c);
}

#define start_busy oflash__f2x_sim_start_busy

static unsigned psize(const sim_chip *c)
{
    return (F(c)->cr >> CR_PSIZE_SHIFT) & 3;
}

/* Erase [off, off+len) of main flash, honouring the fail-at and power-loss
 * faults.  Returns the SR error bits raised. */
static uint32_t erase_range(sim_chip *c, uint32_t off, uint32_t len)
{
    return oflash__sim_flash_erase_range(c, off, len) ? SR_OPERR : 0;
}

static void start_erase(sim_chip *c)
{
    const oflash_bank *bank = flash_bank(c);
    bool two = db1m(c), dbl = dual(c) || two;
    bool ser = F(c)->cr & CR_SER, mer = F(c)->cr & CR_MER, mer1 = dbl && (F(c)->cr & CR_MER1);
    unsigned ps = psize(c);
    uint32_t err = 0;

    if (!ser && !mer && !mer1) return; /* STRT without an erase selected: nothing to start */
    stall(c);
    if (ser && (mer || mer1)) {
        F(c)->sr |= SR_PGSERR;
        return;
    }
    if (rdp(c) != 0) {
        F(c)->sr |= SR_WRPERR;
        return;
    }
    if (ser && two) {
        /* DB1M: sectors 0-7 and 12-19 (SNB 0x10-0x17). */
        unsigned snb = (F(c)->cr >> CR_SNB_SHIFT) & 0x1Fu, k = snb < 16 ? snb : snb - 4;
        uint32_t off, size;
        if (snb >= 8 && snb < 12) {
            /* RM0090: "the erase operation on Bank 2 sector is not performed" */
            start_busy(c, MS(1), true, true);
            oflash_log(OFLASH_LOG_DEBUG, "sim: erase sector %u with DB1M = 1: not performed", snb);
            return;
        }
        if (!db1m_sector(k, &off, &size)) {
            F(c)->sr |= SR_PGSERR;
            return;
        }
        if (db1m_wrp(c, k)) {
            F(c)->sr |= SR_WRPERR;
            return;
        }
        err = erase_range(c, off, size);
        if (c->power_lost) return;
        c->erase_ops++;
        c->flash_ops++;
        F(c)->sr |= err;
        start_busy(c, erase_ps(size, ps), true, err == 0);
        oflash_log(OFLASH_LOG_DEBUG, "sim: erase sector %u of the DB1M layout (%u KiB, x%u)%s", k,
                   size / 1024, 8u << ps, err ? " (OPERR)" : "");
        return;
    }
    if (ser) {
        unsigned snb = (F(c)->cr >> CR_SNB_SHIFT) & (dbl ? 0x1Fu : 0x0Fu);
        /* One bank: SNB is the sector (F413/F423 have 16); dual bank: SNB
         * bit 4 selects bank 2. */
        int idx = !dbl                      ? (int)snb
                  : snb < 12                ? (int)snb
                  : (snb >= 16 && snb < 28) ? (int)snb - 4
                                            : -1;
        const oflash_sector *s;
        if (idx < 0 || (size_t)idx >= bank->sector_count) {
            F(c)->sr |= SR_PGSERR;
            return;
        }
        s = &bank->sectors[idx];
        if (sector_wrp(c, idx)) {
            F(c)->sr |= SR_WRPERR;
            return;
        }
        err = erase_range(c, s->addr - F4_FLASH_BASE, s->size);
        if (c->power_lost) return;
        c->erase_ops++;
        c->flash_ops++;
        F(c)->sr |= err;
        start_busy(c, erase_ps(s->size, ps), true, err == 0);
        oflash_log(OFLASH_LOG_DEBUG, "sim: erase sector %u (%u KiB, x%u): %.0f ms%s", s->number,
                   s->size / 1024, 8u << ps, (double)erase_ps(s->size, ps) / 1e9,
                   err ? " (OPERR)" : "");
        return;
    }
    /* Mass erase: MER = all (bank 1 on dual-bank parts), MER1 = bank 2. */
    {
        uint32_t half = dbl ? c->nv.flash_size / 2 : c->nv.flash_size;
        uint32_t lo = mer ? 0 : half, hi = (dbl && !mer1) ? half : c->nv.flash_size;
        for (size_t i = 0; i < bank->sector_count; i++) {
            uint32_t off = bank->sectors[i].addr - F4_FLASH_BASE;
            if (off >= lo && off < hi && !two && sector_wrp(c, (int)i)) {
                F(c)->sr |= SR_WRPERR;
                return;
            }
        }
        for (unsigned k = 0; two && k < 20; k++) {
            uint32_t off, size;
            if (db1m_sector(k, &off, &size) && off >= lo && off < hi && db1m_wrp(c, k)) {
                F(c)->sr |= SR_WRPERR;
                return;
            }
        }
        err = erase_range(c, lo, hi - lo);
        if (c->power_lost) return;
        c->erase_ops++;
        c->flash_ops++;
        F(c)->sr |= err;
        start_busy(c, mass_erase_ps(hi - lo, ps), true, err == 0);
        oflash_log(OFLASH_LOG_DEBUG, "sim: mass erase 0x%08X-0x%08X (x%u): %.0f ms%s",
                   F4_FLASH_BASE + lo, F4_FLASH_BASE + hi - 1, 8u << ps,
                   (double)mass_erase_ps(hi - lo, ps) / 1e9, err ? " (OPERR)" : "");
    }
}

static void start_option_program(sim_chip *c)
{
    uint32_t newopt = F(c)->optcr_reg & optcr_writable(c);
    uint32_t newopt1 = has_optcr1(c) ? (F(c)->optcr1_reg & OPTCR1_WRITABLE) : OPTCR1(c);
    uint64_t ps = OPTION_PROGRAM_PS;
    bool regress = oflash_sim_rdp_level(OPTCR(c)) == 1 && oflash_sim_rdp_level(newopt) == 0;

    stall(c);
    if (c->guard & OFLASH_SIM_GUARD_OPTION_BYTES) {
        /* Session guard: the option bytes keep their value, as if
         * write-protected; the error shows in FLASH_SR. */
        F(c)->sr |= SR_WRPERR;
        F(c)->optcr_reg = OPTCR(c) | (F(c)->optcr_reg & OPTCR_OPTLOCK);
        oflash_log(OFLASH_LOG_DEBUG, "sim: option byte programming refused (session guard)");
        return;
    }
    if (oflash_sim_rdp_level(OPTCR(c)) == 2) {
        /* RM0090 §3.7.3, RM0368 §3.6.3: level 2 is irreversible, the option
         * bytes can no longer be changed.  Modelled: nothing is programmed
         * and WRPERR is set (the manuals name no flag for it). */
        F(c)->sr |= SR_WRPERR;
        F(c)->optcr_reg = OPTCR(c) | (F(c)->optcr_reg & OPTCR_OPTLOCK);
        oflash_log(OFLASH_LOG_DEBUG, "sim: option byte programming refused (RDP level 2)");
        return;
    }
    if (oflash__sim_power_fails_now(c)) {
        oflash__sim_power_loss(c); /* option bytes keep their old value */
        return;
    }
    if (regress) {
        /* RM0368 §3.6.3: level 1 -> 0 mass-erases main flash. */
        memset(c->nv.flash, 0xFF, c->nv.flash_size);
        oflash__sim_journal_fill(&c->file, F4_FLASH_BASE, c->nv.flash_size, 0xFF);
        oflash__sim_mark_dirty(c, 0, c->nv.flash_size);
        ps += mass_erase_ps(c->nv.flash_size, 2);
    }
    OPTCR(c) = newopt;
    OPTCR1(c) = newopt1;
    oflash__sim_journal_opt(c);
    c->option_ops++;
    c->flash_ops++;
    start_busy(c, ps, false, true);
    F(c)->opt_busy = true;
    oflash_log(OFLASH_LOG_DEBUG, "sim: option bytes programmed: OPTCR 0x%08X%s: %.0f ms", newopt,
               regress ? " (RDP 1 -> 0: mass erase)" : "", (double)ps / 1e9);
    F(c)->optcr_reg = newopt; /* unlocked, OPTSTRT reads 1 while busy (below) */
    oflash__sim_update_protection(c);
}

/* Wrong key: bus error, register locked until reset. */
static void key_fault(sim_chip *c, const char *reg, uint32_t val, bool opt)
{
    oflash__f2x_sim_key_fault(c, &f4_fam, reg, val, opt);
}

static void flash_reg_write(sim_chip *c, uint32_t off, uint32_t val, unsigned size)
{
    unsigned shift = (off & 3) * 8;
    uint32_t mask = size >= 4 ? 0xFFFFFFFFu : ((1u << (8 * size)) - 1) << shift;
    uint32_t reg = off & ~3u;
    uint32_t v = (val << shift) & mask;

    oflash__sim_flash_update(c);
    switch (reg) {
    case FLASH_ACR:
        F(c)->acr = ((F(c)->acr & ~mask) | v) & 0x0000070Fu;
        break;
    case FLASH_KEYR:
        if (F(c)->cr_dead)
            key_fault(c, "FLASH_KEYR", v, false);
        else if (F(c)->key_state == 0 && v == FLASH_KEY1)
            F(c)->key_state = 1;
        else if (F(c)->key_state == 1 && v == FLASH_KEY2) {
            F(c)->key_state = 0;
            F(c)->cr &= ~CR_LOCK;
        } else
            key_fault(c, "FLASH_KEYR", v, false);
        break;
    case FLASH_OPTKEYR:
        if (F(c)->optcr_dead)
            key_fault(c, "FLASH_OPTKEYR", v, true);
        else if (F(c)->optkey_state == 0 && v == FLASH_OPTKEY1)
            F(c)->optkey_state = 1;
        else if (F(c)->optkey_state == 1 && v == FLASH_OPTKEY2) {
            F(c)->optkey_state = 0;
            F(c)->optcr_reg &= ~OPTCR_OPTLOCK;
        } else
            key_fault(c, "FLASH_OPTKEYR", v, true);
        break;
    case FLASH_SR:
        F(c)->sr &= ~(v & SR_W1C);
        break;
    case FLASH_CR: {
        uint32_t writable = CR_PG | CR_SER | CR_MER | (0x0Fu << CR_SNB_SHIFT) |
                            (3u << CR_PSIZE_SHIFT) | CR_STRT | CR_EOPIE | CR_ERRIE | CR_LOCK;
        uint32_t nv;
        if (dual(c) || db1m_capable(c)) writable |= CR_MER1 | (0x10u << CR_SNB_SHIFT);
        if (F(c)->cr & CR_LOCK) break; /* locked: writes ignored */
        nv = ((F(c)->cr & ~mask) | v) & writable;
        F(c)->cr = nv & ~CR_STRT;
        if (nv & CR_LOCK) {
            F(c)->cr = CR_LOCK | (F(c)->cr & ~CR_LOCK);
            F(c)->key_state = 0;
            break;
        }
        if (nv & CR_STRT) start_erase(c);
        break;
    }
    case FLASH_OPTCR: {
        uint32_t nv;
        if (F(c)->optcr_reg & OPTCR_OPTLOCK) break;
        nv = (F(c)->optcr_reg & ~mask) | v;
        F(c)->optcr_reg = (F(c)->optcr_reg & ~optcr_writable(c)) | (nv & optcr_writable(c));
        if (nv & OPTCR_OPTSTRT) start_option_program(c);
        if (nv & OPTCR_OPTLOCK) {
            F(c)->optcr_reg |= OPTCR_OPTLOCK;
            F(c)->optkey_state = 0;
        }
        break;
    }
    case FLASH_OPTCR1:
        if (has_optcr1(c) && !(F(c)->optcr_reg & OPTCR_OPTLOCK))
            F(c)->optcr1_reg = ((F(c)->optcr1_reg & ~mask) | v) & OPTCR1_WRITABLE;
        break;
    default:
        break; /* reserved offsets: counted by the caller */
    }
}

/* ---- RCC: targets/common/stm32f2x_sim.c ---- */

/* ---- the OTP / ID page and the option bytes ---- */

static uint8_t info_byte(sim_chip *c, uint32_t addr)
{
    if (addr >= F4_OTP_BASE && addr < F4_LOCK_BASE + F4_LOCK_SIZE)
        return *oflash__sim_nv_ptr(c, addr, 1);
    if (addr >= F4_UID_BASE && addr < F4_UID_BASE + F4_UID_LEN)
        return c->nv.uid[addr - F4_UID_BASE];
    if (addr == F4_FSIZE_ADDR) return (uint8_t)c->dev->flash_size_kb;
    if (addr == F4_FSIZE_ADDR + 1) return (uint8_t)(c->dev->flash_size_kb >> 8);
    return 0xFF;
}

/* Option bytes as stored (RM0368 §3.5, Table "Option byte organization"):
 * 0x1FFFC000 [15:0] = RDP:USER, 0x1FFFC008 [15:0] = nWRP; other bytes read
 * 0xFF here.  Bank 2 of dual-bank parts at 0x1FFEC008 [15:0] = nWRP. */
static uint8_t opt_byte(sim_chip *c, uint32_t addr)
{
    bool bank2 = addr < F4_OPT_BASE;
    uint32_t off = addr - (bank2 ? F4_OPT2_BASE : F4_OPT_BASE);
    uint32_t opt = bank2 ? OPTCR1(c) : OPTCR(c);
    switch (off) {
    case 0:
        return bank2 ? 0xFF : (uint8_t)(opt & 0xECu);
    case 1:
        return bank2 ? 0xFF : (uint8_t)(opt >> 8);
    case 8:
        return (uint8_t)(opt >> 16);
    case 9:
        return (uint8_t)((opt >> 24) & 0x0F);
    default:
        return 0xFF;
    }
}

static bool in_info(const sim_chip *c, uint32_t a)
{
    (void)c;
    return a >= F4_INFO_BASE && a - F4_INFO_BASE < F4_INFO_SIZE;
}

static bool in_opt(const sim_chip *c, uint32_t a)
{
    return (a >= F4_OPT_BASE && a - F4_OPT_BASE < F4_OPT_SIZE) ||
           (has_optcr1(c) && a >= F4_OPT2_BASE && a - F4_OPT2_BASE < F4_OPT_SIZE);
}

/* ---- the model's hooks ---- */

static bool f4_mmio_read(sim_chip *c, uint32_t addr, unsigned size, bool debugger, uint32_t *val)
{
    return oflash__f2x_sim_mmio_read(c, &f4_fam, addr, size, debugger, val);
}

static bool f4_mmio_write(sim_chip *c, uint32_t addr, unsigned size, uint32_t val, bool debugger)
{
    (void)debugger;
    return oflash__f2x_sim_mmio_write(c, &f4_fam, addr, size, val);
}

static void f4_cpu_program(sim_chip *c, uint32_t addr, uint64_t val, unsigned size)
{
    oflash__f2x_sim_program(c, &f4_fam, addr, val, size);
}

static int f4_debugger_write(sim_chip *c, uint32_t addr, const uint8_t *buf, size_t n)
{
    if (in_opt(c, addr))
        return oflash_error_set(OFLASH_EPROTECTED,
                                "%s: write at 0x%08X refused: option bytes change only through "
                                "FLASH_OPTKEYR, FLASH_OPTCR and OPTSTRT",
                                c->file.path, addr);
    if (in_info(c, addr) && addr - F4_INFO_BASE + n > F4_OTP_SIZE + F4_LOCK_SIZE)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "%s: write at 0x%08X refused: the unique ID and flash size "
                                "registers (0x1FFF7A10-0x1FFF7A23) are read-only",
                                c->file.path, addr < F4_UID_BASE ? F4_UID_BASE : addr);
    return oflash__f2x_sim_debugger_program(c, &f4_fam, addr, buf, n);
}

static int f4_read_protection(const sim_chip *c, char *why, size_t len)
{
    snprintf(why, len, "RDP=0x%02X", (OPTCR(c) >> 8) & 0xFF);
    return rdp(c);
}

static void f4_reset(sim_chip *c)
{
    oflash__f2x_sim_reset(c, &f4_fam);
}

static void f4_factory(const oflash_device *dev, uint32_t opt[SIM_OPT_WORDS])
{
    opt[0] = F4_OPTCR_RESET & ~(OPTCR_OPTLOCK | OPTCR_OPTSTRT);
    /* F413/F423 (16 sectors, one bank): nWRP12..14 in OPTCR bits 28..30. */
    if (!f4_part_of(dev)->dual_bank && oflash_device_bank_at(dev, F4_FLASH_BASE) &&
        oflash_device_bank_at(dev, F4_FLASH_BASE)->sector_count > 12)
        opt[0] |= 0x70000000u;
    opt[1] = F4_OPTCR1_RESET;
}

static void f4_map(const oflash_device *dev, const uint32_t opt[SIM_OPT_WORDS], sim_map *m)
{
    (void)opt;
    memset(m, 0, sizeof *m);
    if (dev->core && !strcmp(dev->core, "Cortex-M3")) { /* STM32F2 */
        m->cpu_model = UC_CPU_ARM_CORTEX_M3;
        m->cpuid = 0x412FC230u; /* PM0056 §4.4.1: Cortex-M3 r2p0 */
    } else {
        m->cpu_model = UC_CPU_ARM_CORTEX_M4;
        m->cpuid = 0x410FC241u; /* PM0214 rev 10 §4.4: Cortex-M4 r0p1 */
    }
    m->flash_base = F4_FLASH_BASE;
    m->flash_alias = 0;
    m->sram_base = F4_SRAM_BASE;
    m->sysmem_base = F4_SYSMEM_BASE;
    m->sysmem_size = F4_SYSMEM_SIZE;
    m->nv_base = F4_OTP_BASE;
    m->nv_size = F4_OTP_SIZE + F4_LOCK_SIZE;
    m->windows[0].base = F4_INFO_BASE;
    m->windows[0].size = F4_INFO_SIZE;
    m->windows[1].base = F4_OPT_BASE;
    m->windows[1].size = F4_OPT_SIZE;
    m->window_count = 2;
    if (f4_part_of(dev)->dual_bank) {
        m->windows[2].base = F4_OPT2_BASE;
        m->windows[2].size = F4_OPT_SIZE;
        m->window_count = 3;
    }
    m->iwdg_base = F4_IWDG_BASE;
    m->crc_base = F4_CRC_BASE;
    m->dbgmcu_base = F4_DBGMCU_IDCODE;
    m->dbgmcu_idcode_rev = 0x1000;
}

/* For `oflash sim show`: OPTCR (RDP, nWRP, WDG_SW, BOR_LEV) and, on 2 MiB
 * parts, OPTCR1 (nWRP of bank 2); nWRPi = 0 protects sector i. */
static void f4_describe_options(char *text, size_t len, int *rdp, bool *wrp, size_t nsect,
                                const oflash_device *dev, const uint32_t opt[SIM_OPT_WORDS])
{
    uint32_t optcr = opt[0], optcr1 = opt[1];
    int n;
    *rdp = oflash_sim_rdp_level(optcr);
    n = snprintf(text, len,
                 "OPTCR 0x%08X: RDP level %d (0x%02X), nWRP 0x%03X, %s watchdog, BOR_LEV %u", optcr,
                 *rdp, (optcr >> 8) & 0xFF, (optcr >> 16) & 0xFFF,
                 (optcr & OPTCR_WDG_SW) ? "software" : "hardware", (optcr >> 2) & 3);
    if ((optcr & F4_OPTCR_DB1M) && !f4_part_of(dev)->dual_bank && dev->flash_size_kb == 1024 &&
        n > 0 && (size_t)n < len)
        n += snprintf(text + n, len - (size_t)n,
                      ", DB1M = 1 (two banks of 512 KiB: sectors 0-7 and 12-19)");
    if (f4_part_of(dev)->dual_bank && n > 0 && (size_t)n < len)
        snprintf(text + n, len - (size_t)n, "; OPTCR1 0x%08X: nWRP bank 2 0x%03X", optcr1,
                 (optcr1 >> 16) & 0xFFF);
    for (size_t i = 0; i < nsect && i < 24; i++)
        wrp[i] = f4_part_of(dev)->dual_bank ? !((i < 12 ? optcr : optcr1) & (1u << (16 + i % 12)))
                                            : !(optcr & (1u << (16 + (i < 15 ? i : 14))));
}

static bool flash_wrp(const sim_chip *c, uint32_t addr)
{
    if (db1m(c)) return db1m_wrp(c, db1m_sector_at(addr - F4_FLASH_BASE));
    return sector_wrp(c, oflash_bank_sector_at(flash_bank(c), addr));
}

static uint32_t reg_last(const sim_chip *c)
{
    return has_optcr1(c) ? FLASH_OPTCR1 : FLASH_OPTCR; /* OPTCR1: F42x/F43x/F469/F479 only */
}

static const stm32f2x_sr_name f4_sr_names[] = {{SR_PGSERR, "PGSERR"}, {SR_PGPERR, "PGPERR"},
                                               {SR_PGAERR, "PGAERR"}, {SR_WRPERR, "WRPERR"},
                                               {SR_OPERR, "OPERR"},   {SR_RDERR, "RDERR"}};

/* What the shared F2/F4/F7 code needs (targets/common/stm32f2x_sim.h). */
static const stm32f2x_sim_family f4_fam = {
    STM32F2X_SIM_REGS(F4),
    .otp_block = F4_OTP_BLOCK,
    .program_ps = SIM_PROGRAM_PS,
    .main_base = F4_FLASH_BASE,
    .cr_erase = CR_SER | CR_MER | CR_MER1,
    .optcr_wdg_sw = OPTCR_WDG_SW,
    .sr_seq = SR_PGSERR,
    .sr_seq_name = "PGSERR",
    .sr_names = f4_sr_names,
    .sr_name_count = sizeof f4_sr_names / sizeof f4_sr_names[0],
    /* HSION, HSITRIM, HSEON, HSEBYP, CSSON, PLLON, PLLI2SON (RM0368 §6.3.1) */
    .rcc_cr_writable =
        (1u << 0) | 0xF8u | (1u << 16) | (1u << 18) | (1u << 19) | F4_RCC_CR_PLLON | (1u << 26),
    .rcc_pllcfgr_writable = 0x0F437FFFu, /* PLLM, PLLN, PLLP, PLLSRC, PLLQ */
    .flash_wrp = flash_wrp,
    .reg_write = flash_reg_write,
    .reg_last = reg_last,
    .in_info = in_info,
    .info_byte = info_byte,
    .in_opt = in_opt,
    .opt_byte = opt_byte,
};

const oflash_sim_model oflash__stm32f4_sim = {
    .version = OFLASH_SIM_MODEL_VERSION,
    .opt_words = 2,
    .state_size = sizeof(f4_sim),
    .factory = f4_factory,
    .map = f4_map,
    .reset = f4_reset,
    .complete = f4_complete,
    .mmio_read = f4_mmio_read,
    .mmio_write = f4_mmio_write,
    .cpu_program = f4_cpu_program,
    .debugger_write = f4_debugger_write,
    .read_protection = f4_read_protection,
    .describe_options = f4_describe_options,
    .debug_port = &oflash__stm32f4_debug_port,
};
