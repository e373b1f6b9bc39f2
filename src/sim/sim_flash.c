/*
 * sim_flash.c - the STM32F4 embedded flash interface (FLASH at 0x40023C00):
 * unlocking, programming, sector and mass erase, OTP and lock bytes, option
 * bytes, error flags, and how long each operation keeps BSY set.
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
#include "sim_internal.h"

#include "oflash/error.h"

#include <stdlib.h>
#include <string.h>

#define MS(x) ((uint64_t)(x)*SIM_PS_PER_MS)

/* Erase time of one sector, indexed [size class][PSIZE]. */
static const uint64_t erase_ps_table[3][4] = {
    {MS(400), MS(300), MS(250), MS(250)},    /* 16 KB  tERASE16KB */
    {MS(1200), MS(700), MS(550), MS(550)},   /* 64 KB  tERASE64KB */
    {MS(2000), MS(1300), MS(1000), MS(1000)} /* 128 KB tERASE128KB */
};

uint64_t oflash__sim_erase_ps(uint32_t sector_size, unsigned psize)
{
    int cls = sector_size <= 16384 ? 0 : sector_size <= 65536 ? 1 : 2;
    return erase_ps_table[cls][psize & 3];
}

uint64_t oflash__sim_mass_erase_ps(uint32_t flash_size, unsigned psize)
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

int oflash__sim_rdp(const sim_chip *c)
{
    return oflash_sim_rdp_level(c->nv.optcr);
}

bool oflash__sim_sector_wrp(const sim_chip *c, int index)
{
    if (index < 12) return !(c->nv.optcr & (1u << (OPTCR_NWRP_SHIFT + index)));
    return !(c->nv.optcr1 & (1u << (OPTCR_NWRP_SHIFT + index - 12)));
}

static const oflash_bank *flash_bank(const sim_chip *c)
{
    return &c->dev->banks[0]; /* "flash" is first in every built-in part */
}

void oflash__sim_flash_update(sim_chip *c)
{
    if (c->busy && c->now_ps >= c->busy_until_ps) {
        c->busy = false;
        c->strt_busy = false;
        c->opt_busy = false;
        if (c->eop_pending && (c->cr & CR_EOPIE)) c->sr |= SR_EOP;
        c->eop_pending = false;
    }
}

void oflash__sim_advance(sim_chip *c, uint64_t ps)
{
    c->now_ps += ps;
    oflash__sim_flash_update(c);
}

/* An access while BSY waits for the operation to end (the bus stalls). */
static void stall(sim_chip *c)
{
    oflash__sim_flash_update(c);
    if (c->busy) oflash__sim_advance(c, c->busy_until_ps - c->now_ps);
}

static void start_busy(sim_chip *c, uint64_t ps, bool strt, bool ok)
{
    c->busy = true;
    c->strt_busy = strt;
    c->busy_until_ps = c->now_ps + ps;
    c->busy_ps_total += ps;
    c->eop_pending = ok;
}

void oflash__sim_flash_reset(sim_chip *c)
{
    c->acr = 0;
    c->cr = CR_LOCK;
    c->sr = 0;
    c->key_state = c->optkey_state = 0;
    c->cr_dead = c->optcr_dead = false;
    c->optcr_reg = c->nv.optcr | OPTCR_OPTLOCK;
    c->optcr1_reg = c->nv.optcr1;
}

static unsigned psize(const sim_chip *c)
{
    return (c->cr >> CR_PSIZE_SHIFT) & 3;
}

/* True when this operation is the one the power-loss fault hits. */
static bool power_fails_now(sim_chip *c)
{
    return c->nv.faults.power_loss && c->flash_ops == c->nv.faults.power_loss_after;
}

static uint8_t *nv_ptr(sim_chip *c, uint32_t addr)
{
    if (addr >= SIM_FLASH_BASE && addr - SIM_FLASH_BASE < c->nv.flash_size)
        return c->nv.flash + (addr - SIM_FLASH_BASE);
    if (addr >= SIM_OTP_BASE && addr - SIM_OTP_BASE < SIM_OTP_TOTAL)
        return c->nv.otp + (addr - SIM_OTP_BASE);
    return NULL;
}

static void journal_data(sim_chip *c, uint32_t addr, uint32_t len)
{
    oflash__sim_journal_data(&c->file, addr, nv_ptr(c, addr), len);
    if (addr >= SIM_FLASH_BASE) oflash__sim_mark_dirty(c, addr - SIM_FLASH_BASE, len);
}

uint32_t oflash__sim_flash_program(sim_chip *c, uint32_t addr, uint64_t val, unsigned size)
{
    bool in_flash = addr >= SIM_FLASH_BASE && addr - SIM_FLASH_BASE < c->nv.flash_size;
    bool in_otp = addr >= SIM_OTP_BASE && addr - SIM_OTP_BASE < SIM_OTP_SIZE;
    bool in_lock = addr >= SIM_LOCK_BASE && addr - SIM_LOCK_BASE < SIM_LOCK_SIZE;
    uint32_t err = 0;
    uint8_t *p;

    stall(c);
    if ((c->cr & CR_LOCK) || !(c->cr & CR_PG) || (c->cr & (CR_SER | CR_MER | CR_MER1)))
        err = SR_PGSERR;
    else if (psize(c) == 3 && size == 4) {
        /* x64: a double word arrives as two word stores, low word first at
         * an 8-aligned address (ST's HAL FLASH_Program_DoubleWord); the
         * program starts when the pair is complete. */
        if (!c->x64_pending && (addr & 7) == 0) {
            c->x64_pending = true;
            c->x64_addr = addr;
            c->x64_low = (uint32_t)val;
            return 0;
        }
        if (c->x64_pending && addr == c->x64_addr + 4) {
            c->x64_pending = false;
            addr = c->x64_addr;
            val = (uint64_t)c->x64_low | (val << 32);
            size = 8;
        } else {
            c->x64_pending = false;
            err = SR_PGPERR;
        }
    } else if (size != (1u << psize(c)))
        err = SR_PGPERR;
    if (size != 4)
        c->x64_pending = false;
    if (err) {
        c->sr |= err;
        return err;
    }
    if ((addr & 15) + size > 16)
        err = SR_PGAERR;
    else if (!in_flash && !in_otp && !in_lock)
        err = SR_WRPERR; /* UID, flash size, reserved words of the OTP page */
    else if (in_flash && (oflash__sim_rdp(c) != 0 ||
                          oflash__sim_sector_wrp(c, oflash_bank_sector_at(flash_bank(c), addr))))
        err = SR_WRPERR;
    else if (in_flash && addr - SIM_FLASH_BASE + size > c->nv.flash_size)
        err = SR_PGAERR;
    else if (in_otp && c->nv.otp[SIM_OTP_SIZE + (addr - SIM_OTP_BASE) / 32] == 0x00)
        err = SR_WRPERR; /* RM0090 §3.8: LOCKBi = 0x00 -> block i cannot be programmed */
    else if (in_lock && addr - SIM_LOCK_BASE + size > SIM_LOCK_SIZE)
        err = SR_PGAERR;
    if (err) {
        c->sr |= err;
        return err;
    }

    p = nv_ptr(c, addr);
    if (c->nv.faults.fail_at && c->nv.faults.fail_addr >= addr &&
        c->nv.faults.fail_addr - addr < size) {
        /* The cells do not program: nothing changes, OPERR. */
        c->sr |= SR_OPERR;
        c->program_ops++;
        c->flash_ops++;
        start_busy(c, SIM_PROGRAM_PS, false, false);
        return SR_OPERR;
    }
    if (power_fails_now(c)) {
        /* Power fails during the program pulse: a random subset of the
         * bits that should go to 0 do. */
        for (unsigned i = 0; i < size; i++)
            p[i] &= (uint8_t)(val >> (8 * i)) | (uint8_t)rand();
        journal_data(c, addr, size);
        oflash__sim_power_loss(c);
        return 0;
    }
    for (unsigned i = 0; i < size; i++)
        p[i] &= (uint8_t)(val >> (8 * i));
    journal_data(c, addr, size);
    c->program_ops++;
    c->flash_ops++;
    start_busy(c, SIM_PROGRAM_PS, false, true);
    return 0;
}

/* Erase [off, off+len) of main flash, honouring the fail-at and power-loss
 * faults.  Returns the SR error bits raised. */
static uint32_t erase_range(sim_chip *c, uint32_t off, uint32_t len)
{
    uint8_t *p = c->nv.flash + off;
    uint32_t addr = SIM_FLASH_BASE + off;
    if (power_fails_now(c)) {
        /* Interrupted erase: the first third reads erased, a band of cells
         * in between is partly erased, the rest keeps its old contents. */
        uint32_t done = len / 3, band = len / 16;
        memset(p, 0xFF, done);
        for (uint32_t i = done; i < done + band && i < len; i++)
            p[i] |= (uint8_t)rand();
        journal_data(c, addr, len);
        oflash__sim_power_loss(c);
        return 0;
    }
    if (c->nv.faults.fail_at && c->nv.faults.fail_addr >= addr &&
        c->nv.faults.fail_addr - addr < len) {
        /* One word does not erase. */
        uint32_t bad = (c->nv.faults.fail_addr - SIM_FLASH_BASE) & ~3u;
        uint8_t keep[4];
        memcpy(keep, c->nv.flash + bad, 4);
        memset(p, 0xFF, len);
        memcpy(c->nv.flash + bad, keep, 4);
        journal_data(c, addr, len);
        return SR_OPERR;
    }
    memset(p, 0xFF, len);
    oflash__sim_journal_fill(&c->file, addr, len, 0xFF);
    oflash__sim_mark_dirty(c, off, len);
    return 0;
}

static void start_erase(sim_chip *c)
{
    const oflash_bank *bank = flash_bank(c);
    bool dual = f4_part_of(c->dev)->dual_bank;
    bool ser = c->cr & CR_SER, mer = c->cr & CR_MER, mer1 = dual && (c->cr & CR_MER1);
    unsigned ps = psize(c);
    uint32_t err = 0;

    if (!ser && !mer && !mer1) return; /* STRT without an erase selected: nothing to start */
    stall(c);
    if (ser && (mer || mer1)) {
        c->sr |= SR_PGSERR;
        return;
    }
    if (oflash__sim_rdp(c) != 0) {
        c->sr |= SR_WRPERR;
        return;
    }
    if (ser) {
        unsigned snb = (c->cr >> CR_SNB_SHIFT) & (dual ? 0x1Fu : 0x0Fu);
        int idx = snb < 12 ? (int)snb : (dual && snb >= 16 && snb < 28) ? (int)snb - 4 : -1;
        const oflash_sector *s;
        if (idx < 0 || (size_t)idx >= bank->sector_count) {
            c->sr |= SR_PGSERR;
            return;
        }
        s = &bank->sectors[idx];
        if (oflash__sim_sector_wrp(c, idx)) {
            c->sr |= SR_WRPERR;
            return;
        }
        err = erase_range(c, s->addr - SIM_FLASH_BASE, s->size);
        if (c->power_lost) return;
        c->erase_ops++;
        c->flash_ops++;
        c->sr |= err;
        start_busy(c, oflash__sim_erase_ps(s->size, ps), true, err == 0);
        oflash_log(OFLASH_LOG_DEBUG, "sim: erase sector %u (%u KiB, x%u): %.0f ms%s", s->number,
                   s->size / 1024, 8u << ps, (double)oflash__sim_erase_ps(s->size, ps) / 1e9,
                   err ? " (OPERR)" : "");
        return;
    }
    /* Mass erase: MER = all (bank 1 on dual-bank parts), MER1 = bank 2. */
    {
        uint32_t half = dual ? c->nv.flash_size / 2 : c->nv.flash_size;
        uint32_t lo = mer ? 0 : half, hi = (dual && !mer1) ? half : c->nv.flash_size;
        for (size_t i = 0; i < bank->sector_count; i++) {
            uint32_t off = bank->sectors[i].addr - SIM_FLASH_BASE;
            if (off >= lo && off < hi && oflash__sim_sector_wrp(c, (int)i)) {
                c->sr |= SR_WRPERR;
                return;
            }
        }
        err = erase_range(c, lo, hi - lo);
        if (c->power_lost) return;
        c->erase_ops++;
        c->flash_ops++;
        c->sr |= err;
        start_busy(c, oflash__sim_mass_erase_ps(hi - lo, ps), true, err == 0);
        oflash_log(OFLASH_LOG_DEBUG, "sim: mass erase 0x%08X-0x%08X (x%u): %.0f ms%s",
                   SIM_FLASH_BASE + lo, SIM_FLASH_BASE + hi - 1, 8u << ps,
                   (double)oflash__sim_mass_erase_ps(hi - lo, ps) / 1e9, err ? " (OPERR)" : "");
    }
}

static void start_option_program(sim_chip *c)
{
    uint32_t newopt = c->optcr_reg & OPTCR_WRITABLE;
    uint32_t newopt1 = f4_part_of(c->dev)->dual_bank ? (c->optcr1_reg & OPTCR1_WRITABLE) : c->nv.optcr1;
    uint64_t ps = OPTION_PROGRAM_PS;
    bool regress = oflash_sim_rdp_level(c->nv.optcr) == 1 && oflash_sim_rdp_level(newopt) == 0;

    stall(c);
    if (power_fails_now(c)) {
        oflash__sim_power_loss(c); /* option bytes keep their old value */
        return;
    }
    if (regress) {
        /* RM0368 §3.6.3: level 1 -> 0 mass-erases main flash. */
        memset(c->nv.flash, 0xFF, c->nv.flash_size);
        oflash__sim_journal_fill(&c->file, SIM_FLASH_BASE, c->nv.flash_size, 0xFF);
        oflash__sim_mark_dirty(c, 0, c->nv.flash_size);
        ps += oflash__sim_mass_erase_ps(c->nv.flash_size, 2);
    }
    c->nv.optcr = newopt;
    c->nv.optcr1 = newopt1;
    oflash__sim_journal_options(&c->file, newopt, newopt1);
    c->option_ops++;
    c->flash_ops++;
    start_busy(c, ps, false, true);
    c->opt_busy = true;
    oflash_log(OFLASH_LOG_DEBUG, "sim: option bytes programmed: OPTCR 0x%08X%s: %.0f ms", newopt,
               regress ? " (RDP 1 -> 0: mass erase)" : "", (double)ps / 1e9);
    c->optcr_reg = newopt; /* unlocked, OPTSTRT reads 1 while busy (below) */
    oflash__sim_update_protection(c);
}

uint32_t oflash__sim_flash_reg_read(sim_chip *c, uint32_t off, bool debugger)
{
    uint32_t v = 0;
    (void)debugger;
    oflash__sim_flash_update(c);
    switch (off) {
    case FLASH_ACR:
        return c->acr;
    case FLASH_SR:
        v = c->sr | (c->busy ? SR_BSY : 0);
        if (c->busy) {
            /* Polling BSY: fast-forward.  With a running watchdog, in steps
             * of 100 us so that a loop that feeds it while it waits works. */
            uint64_t left = c->busy_until_ps - c->now_ps;
            uint64_t step =
                c->iwdg_running && left > 100 * SIM_PS_PER_US ? 100 * SIM_PS_PER_US : left;
            oflash__sim_advance(c, step);
        }
        return v;
    case FLASH_CR:
        return c->cr | (c->busy && c->strt_busy ? CR_STRT : 0);
    case FLASH_OPTCR:
        return c->optcr_reg | (c->busy && c->opt_busy ? OPTCR_OPTSTRT : 0);
    case FLASH_OPTCR1:
        return f4_part_of(c->dev)->dual_bank ? c->optcr1_reg : 0;
    default:
        return 0; /* KEYR, OPTKEYR are write-only */
    }
}

/* Wrong key: bus error, register locked until reset. */
static void key_fault(sim_chip *c, const char *reg, uint32_t val, bool opt)
{
    if (opt) {
        c->optcr_dead = true;
        c->optcr_reg |= OPTCR_OPTLOCK;
    } else {
        c->cr_dead = true;
        c->cr |= CR_LOCK;
    }
    oflash__sim_stop(c, SIM_STOP_FAULT,
                     "bus fault: wrong key 0x%08X written to %s; %s stays locked until reset", val,
                     reg, opt ? "FLASH_OPTCR" : "FLASH_CR");
}

void oflash__sim_flash_reg_write(sim_chip *c, uint32_t off, uint32_t val, unsigned size)
{
    unsigned shift = (off & 3) * 8;
    uint32_t mask = size >= 4 ? 0xFFFFFFFFu : ((1u << (8 * size)) - 1) << shift;
    uint32_t reg = off & ~3u;
    uint32_t v = (val << shift) & mask;

    oflash__sim_flash_update(c);
    switch (reg) {
    case FLASH_ACR:
        c->acr = ((c->acr & ~mask) | v) & 0x0000070Fu;
        break;
    case FLASH_KEYR:
        if (c->cr_dead)
            key_fault(c, "FLASH_KEYR", v, false);
        else if (c->key_state == 0 && v == FLASH_KEY1)
            c->key_state = 1;
        else if (c->key_state == 1 && v == FLASH_KEY2) {
            c->key_state = 0;
            c->cr &= ~CR_LOCK;
        } else
            key_fault(c, "FLASH_KEYR", v, false);
        break;
    case FLASH_OPTKEYR:
        if (c->optcr_dead)
            key_fault(c, "FLASH_OPTKEYR", v, true);
        else if (c->optkey_state == 0 && v == FLASH_OPTKEY1)
            c->optkey_state = 1;
        else if (c->optkey_state == 1 && v == FLASH_OPTKEY2) {
            c->optkey_state = 0;
            c->optcr_reg &= ~OPTCR_OPTLOCK;
        } else
            key_fault(c, "FLASH_OPTKEYR", v, true);
        break;
    case FLASH_SR:
        c->sr &= ~(v & SR_W1C);
        break;
    case FLASH_CR: {
        uint32_t writable = CR_PG | CR_SER | CR_MER | (0x0Fu << CR_SNB_SHIFT) |
                            (3u << CR_PSIZE_SHIFT) | CR_STRT | CR_EOPIE | CR_ERRIE | CR_LOCK;
        uint32_t nv;
        if (f4_part_of(c->dev)->dual_bank) writable |= CR_MER1 | (0x10u << CR_SNB_SHIFT);
        if (c->cr & CR_LOCK) break; /* locked: writes ignored */
        nv = ((c->cr & ~mask) | v) & writable;
        c->cr = nv & ~CR_STRT;
        if (nv & CR_LOCK) {
            c->cr = CR_LOCK | (c->cr & ~CR_LOCK);
            c->key_state = 0;
            break;
        }
        if (nv & CR_STRT) start_erase(c);
        break;
    }
    case FLASH_OPTCR: {
        uint32_t nv;
        if (c->optcr_reg & OPTCR_OPTLOCK) break;
        nv = (c->optcr_reg & ~mask) | v;
        c->optcr_reg = (c->optcr_reg & ~OPTCR_WRITABLE) | (nv & OPTCR_WRITABLE);
        if (nv & OPTCR_OPTSTRT) start_option_program(c);
        if (nv & OPTCR_OPTLOCK) {
            c->optcr_reg |= OPTCR_OPTLOCK;
            c->optkey_state = 0;
        }
        break;
    }
    case FLASH_OPTCR1:
        if (f4_part_of(c->dev)->dual_bank && !(c->optcr_reg & OPTCR_OPTLOCK))
            c->optcr1_reg = ((c->optcr1_reg & ~mask) | v) & OPTCR1_WRITABLE;
        break;
    default:
        break; /* reserved offsets: counted by the caller */
    }
}
