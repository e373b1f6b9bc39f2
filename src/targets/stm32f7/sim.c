/*
 * sim.c - the simulated STM32F7 (the family's model behind
 * src/sim/sim_model.h): the embedded flash interface (FLASH at 0x40023C00): unlocking, programming,
 * sector and mass erase in single and dual bank mode, OTP (16 x 64 bytes) and lock bytes, option
 * bytes (OPTCR, OPTCR1 = BOOT_ADD0/1), error flags, and how long each operation keeps BSY set; the
 * OTP / unique-ID page, the option-byte page, RCC clock switching and the memory map (Cortex-M7
 * core, flash also on ITCM at 0x00200000, 16 KiB ITCM RAM at 0, system memory at 0x1FF00000).
 *
 * Follows RM0385 rev 8 §3 (STM32F74x/F75x) and RM0410 rev 4 §3
 * (STM32F76x/F77x); see stm32f7_regs.h.  The flash interface is the F4's
 * (RM0090 §3) with these differences, all modelled:
 *  - SR bit 7 is ERSERR ("erase sequence error"): set, as the F4's PGSERR,
 *    when flash is written while CR is not set up for programming (PG
 *    clear, or SER/MER set with PG); there is no RDERR;
 *  - F74x: SNB is 4 bits (6..3), MER erases everything, bit 15 reserved;
 *    nWRP[7:0] at OPTCR 23..16, one bit per sector;
 *  - F76x: SNB is 5 bits; with OPTCR.nDBANK = 1 (single bank) sectors
 *    0..11 of 32/128/256 KB, MER erases everything; with nDBANK = 0 (dual
 *    bank) two banks of 16/64/128 KB sectors, SNB 0..11 bank 1 and
 *    16..27 bank 2, MER erases bank 1 and MER2 (bit 15) bank 2; nWRP[11:0]
 *    at OPTCR 27..16, in dual bank mode nWRPi protects sectors 2i and 2i+1;
 *  - OPTCR1 holds BOOT_ADD0/BOOT_ADD1 on every F7 (writable with OPTCR);
 *  - OTP blocks are 64 bytes (0x1FF0F000), lock bytes at 0x1FF0F400; the
 *    unique ID (0x1FF0F420) and flash size (0x1FF0F442) are not writable.
 * As on the F4 (same wording in RM0385 §3.3.7): a write whose access size
 * differs from PSIZE is not performed and sets PGPERR; one that would
 * cross a 128-bit row sets PGAERR; a protected sector or locked OTP block
 * sets WRPERR; EOP only with EOPIE; STRT reads 1 until BSY clears; a wrong
 * key sequence faults the bus and locks CR (or OPTCR) until reset; RDP
 * level 1 -> 0 mass-erases main flash.
 * Model choices (docs/sim.md): an access while BSY stalls until the end of
 * the operation; SER together with MER/MER2 sets ERSERR and does nothing;
 * an SNB that names no sector of the current layout sets ERSERR; a change
 * of nDBANK takes effect at once (the sector layout follows OPTCR) and
 * keeps the flash contents; x64 takes an 8-byte access or two word
 * stores, low word first at an 8-aligned address.
 *
 * Durations (typical, STM32F745xx/746xx datasheet DS10916 and
 * STM32F765xx/767xx DS11532, table "Flash memory programming"): tprog
 * 16 us for every PSIZE (max 100 us); sector erase per size class and
 * PSIZE x8/x16/x32: 32 KB 400/300/250 ms, 128 KB 1200/700/550 ms, 256 KB
 * 2000/1300/1000 ms (maxima 800, 2400, 4000 ms at x8), and for the dual
 * bank sizes 16 KB 400/300/250, 64 KB 1200/700/550, 128 KB 2000/1300/1000
 * (the same flash cells, so the F4's figures per size class); mass erase
 * 16/11/8 s per MB at x8/x16/x32 (max 32 s for 2 MB at x8).  x64 uses
 * the x32 figures.  Option byte programming: modelled as 250 ms.  The
 * datasheets were not in the search corpus while this was written; the
 * maxima above were cross-checked against a flash tool's table of F7
 * constants (tERASE32KB 800 ms, tERASE128KB 2400 ms, tERASE256KB 4000 ms,
 * tME 32 s, tPROG 100 us).
 */
#include "stm32f7.h"
#include "sim/sim_internal.h"
#include "targets/common/stm32f2x_sim.h"

#include "oflash/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS(x) ((uint64_t)(x)*SIM_PS_PER_MS)
#define F7_PROGRAM_PS (16ull * SIM_PS_PER_US)
#define F7_OPTION_PROGRAM_PS MS(250)
#define F7_OTP_TOTAL (F7_OTP_SIZE + F7_LOCK_SIZE)

/* The model's state (c->model_state): the F2/F4/F7 one. */
typedef stm32f2x_sim f7_sim;
static const stm32f2x_sim_family f7_fam;

static f7_sim *F(const sim_chip *c)
{
    return (f7_sim *)c->model_state;
}

/* nv.opt[0] = FLASH_OPTCR as the option bytes hold it (OPTLOCK/OPTSTRT 0),
 * nv.opt[1] = FLASH_OPTCR1 (BOOT_ADD0, BOOT_ADD1). */
#define OPTCR(c) ((c)->nv.opt[0])
#define OPTCR1(c) ((c)->nv.opt[1])

static bool is_f76x(const sim_chip *c)
{
    return f7_part_of(c->dev)->f76x;
}

/* The bank mode follows the option bytes, not the device entry: a chip
 * switched to dual bank has the dual bank layout (the host refuses a
 * device entry that does not match before writing). */
static bool dual_mode(const sim_chip *c)
{
    return is_f76x(c) && !(OPTCR(c) & F7_OPTCR_NDBANK);
}

static int rdp(const sim_chip *c)
{
    return oflash_sim_rdp_level(OPTCR(c));
}

/* ---- geometry ---- */

typedef struct f7_sector {
    uint32_t off, size;
    unsigned number; /* RM numbering: 0..11, bank 2 of dual bank 12..23 */
    unsigned snb;    /* the value CR.SNB takes for it */
    unsigned cls;    /* size class for the erase time: 0 small, 1 medium, 2 large */
} f7_sector;

/* Sector i (0-based, in address order) of the current layout; false past
 * the end of the flash. */
static bool f7_sector_get(const sim_chip *c, unsigned i, f7_sector *s)
{
    uint32_t size = c->nv.flash_size, off;
    if (!dual_mode(c)) {
        if (i < 4)
            s->off = i * 0x8000u, s->size = 0x8000u;
        else if (i == 4)
            s->off = 0x20000u, s->size = 0x20000u;
        else
            s->off = (i - 4) * 0x40000u, s->size = 0x40000u;
        s->number = s->snb = i;
        s->cls = i < 4 ? 0 : i == 4 ? 1 : 2;
    } else {
        uint32_t half = size / 2;
        unsigned per_bank = half == 0x100000u ? 12 : 8, k = i % per_bank;
        bool b2 = i >= per_bank;
        if (i >= 2 * per_bank) return false;
        if (k < 4)
            off = k * 0x4000u, s->size = 0x4000u;
        else if (k == 4)
            off = 0x10000u, s->size = 0x10000u;
        else
            off = (k - 4) * 0x20000u, s->size = 0x20000u;
        s->off = off + (b2 ? half : 0);
        s->number = b2 ? 12 + k : k;
        s->snb = b2 ? F7_SNB_BANK2 + k : k;
        s->cls = k < 4 ? 0 : k == 4 ? 1 : 2;
    }
    return s->off < size && s->off + s->size <= size;
}

static int f7_sector_at(const sim_chip *c, uint32_t off, f7_sector *s)
{
    for (unsigned i = 0; f7_sector_get(c, i, s); i++)
        if (off >= s->off && off - s->off < s->size) return (int)i;
    return -1;
}

static bool f7_wrp(const sim_chip *c, const f7_sector *s)
{
    unsigned bit = dual_mode(c) ? s->number / 2 : s->number;
    unsigned nbits = is_f76x(c) ? 12 : 8;
    if (bit >= nbits) return false;
    return !(OPTCR(c) & (1u << (F7_OPTCR_NWRP_SHIFT + bit)));
}

/* ---- timing ---- */

/* Erase time of a sector by size class (single bank 32/128/256 KB, dual
 * bank 16/64/128 KB) and PSIZE. */
static uint64_t erase_ps(unsigned cls, unsigned psize)
{
    static const uint64_t t[3][4] = {
        {MS(400), MS(300), MS(250), MS(250)},
        {MS(1200), MS(700), MS(550), MS(550)},
        {MS(2000), MS(1300), MS(1000), MS(1000)},
    };
    return t[cls > 2 ? 2 : cls][psize & 3];
}

static uint64_t mass_erase_ps(uint32_t bytes, unsigned psize)
{
    static const uint64_t per_mb[4] = {MS(16000), MS(11000), MS(8000), MS(8000)};
    uint64_t mb = (bytes + 0xFFFFFu) >> 20;
    return per_mb[psize & 3] * (mb ? mb : 1);
}

/* ---- busy time ---- */

static void f7_complete(sim_chip *c)
{
    oflash__f2x_sim_complete(c, &f7_fam);
}

#define start_busy oflash__f2x_sim_start_busy

static unsigned psize(const sim_chip *c)
{
    return (F(c)->cr >> F7_CR_PSIZE_SHIFT) & 3;
}

/* ---- programming ---- */

/* ---- erase ---- */

static void start_erase(sim_chip *c)
{
    f7_sim *f = F(c);
    bool f76x = is_f76x(c), dual = dual_mode(c);
    bool ser = f->cr & F7_CR_SER, mer = f->cr & F7_CR_MER, mer2 = f76x && (f->cr & F7_CR_MER2);
    unsigned ps = psize(c);
    uint32_t lo, hi;
    bool failed;
    f7_sector s;

    if (!ser && !mer && !mer2) return; /* STRT without an erase selected */
    oflash__sim_stall(c);
    if (ser && (mer || mer2)) {
        f->sr |= F7_SR_ERSERR;
        return;
    }
    if (rdp(c) != 0) {
        f->sr |= F7_SR_WRPERR;
        return;
    }
    if (ser) {
        unsigned snb = (f->cr >> F7_CR_SNB_SHIFT) & (f76x ? 0x1Fu : 0x0Fu);
        bool found = false;
        for (unsigned i = 0; !found && f7_sector_get(c, i, &s); i++)
            found = s.snb == snb;
        if (!found) {
            f->sr |= F7_SR_ERSERR;
            return;
        }
        if (f7_wrp(c, &s)) {
            f->sr |= F7_SR_WRPERR;
            return;
        }
        failed = oflash__sim_flash_erase_range(c, s.off, s.size);
        if (c->power_lost) return;
        c->erase_ops++;
        c->flash_ops++;
        if (failed) f->sr |= F7_SR_OPERR;
        start_busy(c, erase_ps(s.cls, ps), true, !failed);
        oflash_log(OFLASH_LOG_DEBUG, "sim: erase sector %u (%u KiB, x%u): %.0f ms%s", s.number,
                   s.size / 1024, 8u << ps, (double)erase_ps(s.cls, ps) / 1e9,
                   failed ? " (OPERR)" : "");
        return;
    }
    /* Mass erase: MER = everything (single bank) or bank 1 (dual bank),
     * MER2 = bank 2 (dual bank; in single bank mode the same as MER). */
    lo = 0;
    hi = c->nv.flash_size;
    if (dual) {
        uint32_t half = c->nv.flash_size / 2;
        lo = mer ? 0 : half;
        hi = mer2 ? c->nv.flash_size : half;
    }
    for (unsigned i = 0; f7_sector_get(c, i, &s); i++)
        if (s.off >= lo && s.off < hi && f7_wrp(c, &s)) {
            f->sr |= F7_SR_WRPERR;
            return;
        }
    failed = oflash__sim_flash_erase_range(c, lo, hi - lo);
    if (c->power_lost) return;
    c->erase_ops++;
    c->flash_ops++;
    if (failed) f->sr |= F7_SR_OPERR;
    start_busy(c, mass_erase_ps(hi - lo, ps), true, !failed);
    oflash_log(OFLASH_LOG_DEBUG, "sim: mass erase 0x%08X-0x%08X (x%u): %.0f ms%s",
               F7_MAIN_BASE + lo, F7_MAIN_BASE + hi - 1, 8u << ps,
               (double)mass_erase_ps(hi - lo, ps) / 1e9, failed ? " (OPERR)" : "");
}

/* ---- option bytes ---- */

static uint32_t optcr_writable(const sim_chip *c)
{
    return is_f76x(c) ? F7_OPTCR_WRITABLE_F76X : F7_OPTCR_WRITABLE_F74X;
}

static void start_option_program(sim_chip *c)
{
    f7_sim *f = F(c);
    uint32_t newopt = f->optcr_reg & optcr_writable(c);
    uint32_t newopt1 = f->optcr1_reg;
    uint64_t ps = F7_OPTION_PROGRAM_PS;
    bool regress = oflash_sim_rdp_level(OPTCR(c)) == 1 && oflash_sim_rdp_level(newopt) == 0;

    oflash__sim_stall(c);
    if (c->guard & OFLASH_SIM_GUARD_OPTION_BYTES) {
        /* Session guard: the option bytes keep their value, as if
         * write-protected; the error shows in FLASH_SR. */
        f->sr |= F7_SR_WRPERR;
        f->optcr_reg = OPTCR(c) | (f->optcr_reg & F7_OPTCR_OPTLOCK);
        f->optcr1_reg = OPTCR1(c);
        oflash_log(OFLASH_LOG_DEBUG, "sim: option byte programming refused (session guard)");
        return;
    }
    if (oflash_sim_rdp_level(OPTCR(c)) == 2) {
        /* RM0385 §3.7.3: level 2 is irreversible, the option bytes can no
         * longer be changed.  Modelled as on the F4: nothing is programmed
         * and WRPERR is set. */
        f->sr |= F7_SR_WRPERR;
        f->optcr_reg = OPTCR(c) | (f->optcr_reg & F7_OPTCR_OPTLOCK);
        f->optcr1_reg = OPTCR1(c);
        oflash_log(OFLASH_LOG_DEBUG, "sim: option byte programming refused (RDP level 2)");
        return;
    }
    if (oflash__sim_power_fails_now(c)) {
        oflash__sim_power_loss(c); /* option bytes keep their old value */
        return;
    }
    if (regress) {
        /* RM0385 §3.5.1: level 1 -> 0 mass-erases main flash. */
        memset(c->nv.flash, 0xFF, c->nv.flash_size);
        oflash__sim_journal_fill(&c->file, F7_MAIN_BASE, c->nv.flash_size, 0xFF);
        oflash__sim_mark_dirty(c, 0, c->nv.flash_size);
        ps += mass_erase_ps(c->nv.flash_size, 2);
    }
    OPTCR(c) = newopt;
    OPTCR1(c) = newopt1;
    oflash__sim_journal_opt(c);
    c->option_ops++;
    c->flash_ops++;
    start_busy(c, ps, false, true);
    f->opt_busy = true;
    oflash_log(OFLASH_LOG_DEBUG,
               "sim: option bytes programmed: OPTCR 0x%08X OPTCR1 0x%08X%s: %.0f ms", newopt,
               newopt1, regress ? " (RDP 1 -> 0: mass erase)" : "", (double)ps / 1e9);
    f->optcr_reg = newopt; /* unlocked; OPTSTRT reads 1 while busy */
    oflash__sim_update_protection(c);
}

/* ---- flash interface registers ---- */

/* Wrong key: bus error, register locked until reset. */
static void key_fault(sim_chip *c, const char *reg, uint32_t val, bool opt)
{
    oflash__f2x_sim_key_fault(c, &f7_fam, reg, val, opt);
}

static void flash_reg_write(sim_chip *c, uint32_t off, uint32_t val, unsigned size)
{
    f7_sim *f = F(c);
    unsigned shift = (off & 3) * 8;
    uint32_t mask = size >= 4 ? 0xFFFFFFFFu : ((1u << (8 * size)) - 1) << shift;
    uint32_t reg = off & ~3u;
    uint32_t v = (val << shift) & mask;

    oflash__sim_flash_update(c);
    switch (reg) {
    case F7_FLASH_ACR: /* LATENCY 3..0, PRFTEN 8, ARTEN 9, ARTRST 11 */
        f->acr = ((f->acr & ~mask) | v) & 0x00000B0Fu;
        break;
    case F7_FLASH_KEYR:
        if (f->cr_dead)
            key_fault(c, "FLASH_KEYR", v, false);
        else if (f->key_state == 0 && v == F7_FLASH_KEY1)
            f->key_state = 1;
        else if (f->key_state == 1 && v == F7_FLASH_KEY2) {
            f->key_state = 0;
            f->cr &= ~F7_CR_LOCK;
        } else
            key_fault(c, "FLASH_KEYR", v, false);
        break;
    case F7_FLASH_OPTKEYR:
        if (f->optcr_dead)
            key_fault(c, "FLASH_OPTKEYR", v, true);
        else if (f->optkey_state == 0 && v == F7_FLASH_OPTKEY1)
            f->optkey_state = 1;
        else if (f->optkey_state == 1 && v == F7_FLASH_OPTKEY2) {
            f->optkey_state = 0;
            f->optcr_reg &= ~F7_OPTCR_OPTLOCK;
        } else
            key_fault(c, "FLASH_OPTKEYR", v, true);
        break;
    case F7_FLASH_SR:
        f->sr &= ~(v & F7_SR_W1C);
        break;
    case F7_FLASH_CR: {
        uint32_t writable = F7_CR_PG | F7_CR_SER | F7_CR_MER | F7_CR_SNB_MASK_F74X |
                            F7_CR_PSIZE_MASK | F7_CR_STRT | F7_CR_EOPIE | F7_CR_ERRIE | F7_CR_LOCK;
        uint32_t nv;
        if (is_f76x(c)) writable |= F7_CR_MER2 | F7_CR_SNB_MASK_F76X;
        if (f->cr & F7_CR_LOCK) break; /* locked: writes ignored */
        nv = ((f->cr & ~mask) | v) & writable;
        f->cr = nv & ~F7_CR_STRT;
        if (nv & F7_CR_LOCK) {
            f->key_state = 0;
            break;
        }
        if (nv & F7_CR_STRT) start_erase(c);
        break;
    }
    case F7_FLASH_OPTCR: {
        uint32_t nv, w = optcr_writable(c);
        if (f->optcr_reg & F7_OPTCR_OPTLOCK) break;
        nv = (f->optcr_reg & ~mask) | v;
        f->optcr_reg = (f->optcr_reg & ~w) | (nv & w);
        if (nv & F7_OPTCR_OPTSTRT) start_option_program(c);
        if (nv & F7_OPTCR_OPTLOCK) {
            f->optcr_reg |= F7_OPTCR_OPTLOCK;
            f->optkey_state = 0;
        }
        break;
    }
    case F7_FLASH_OPTCR1: /* BOOT_ADD0/1, written with OPTCR's OPTSTRT */
        if (!(f->optcr_reg & F7_OPTCR_OPTLOCK)) f->optcr1_reg = (f->optcr1_reg & ~mask) | v;
        break;
    default:
        break;
    }
}

/* ---- RCC: the F4's registers and bits at the same address (RM0385 §5.3),
 * targets/common/stm32f2x_sim.c; the F7 adds PLLSAI. ---- */

/* ---- the OTP / ID page (0x1FF0F000) and the option bytes (0x1FFF0000) ---- */

static uint8_t info_byte(sim_chip *c, uint32_t addr)
{
    if (addr >= F7_OTP_BASE && addr < F7_LOCK_END) return *oflash__sim_nv_ptr(c, addr, 1);
    if (addr >= F7_UID_ADDR && addr < F7_UID_ADDR + 12) return c->nv.uid[addr - F7_UID_ADDR];
    if (addr == F7_FSIZE_ADDR) return (uint8_t)c->dev->flash_size_kb;
    if (addr == F7_FSIZE_ADDR + 1) return (uint8_t)(c->dev->flash_size_kb >> 8);
    return 0xFF;
}

/* Option bytes as stored (RM0385 §3.4.1): 16-bit values, each with its
 * complement in the upper half-word, at 0x1FFF0000 USER:RDP (OPTCR 15..0
 * without OPTLOCK/OPTSTRT), 0x1FFF0008 OPTCR 31..16 (nWRP, nDBOOT, nDBANK,
 * IWDG_STDBY/STOP), 0x1FFF0010 BOOT_ADD0, 0x1FFF0018 BOOT_ADD1; the words
 * between read 0xFF. */
static uint8_t opt_byte(sim_chip *c, uint32_t addr)
{
    uint32_t off = addr - F7_OPT_BASE;
    uint16_t half[4] = {(uint16_t)(OPTCR(c) & 0xFFFCu), (uint16_t)(OPTCR(c) >> 16),
                        (uint16_t)OPTCR1(c), (uint16_t)(OPTCR1(c) >> 16)};
    uint32_t word;
    if (off >= F7_OPT_SIZE || (off & 4)) return 0xFF;
    word = half[off / 8] | ((uint32_t)(uint16_t)~half[off / 8] << 16);
    return (uint8_t)(word >> (8 * (off & 3)));
}

static bool in_info(const sim_chip *c, uint32_t a)
{
    (void)c;
    return a >= F7_INFO_BASE && a - F7_INFO_BASE < F7_INFO_SIZE;
}

static bool in_opt(const sim_chip *c, uint32_t a)
{
    (void)c;
    return a >= F7_OPT_BASE && a - F7_OPT_BASE < 0x400u;
}

/* ---- the model's hooks ---- */

static bool f7_mmio_read(sim_chip *c, uint32_t addr, unsigned size, bool debugger, uint32_t *val)
{
    return oflash__f2x_sim_mmio_read(c, &f7_fam, addr, size, debugger, val);
}

static bool f7_mmio_write(sim_chip *c, uint32_t addr, unsigned size, uint32_t val, bool debugger)
{
    (void)debugger;
    return oflash__f2x_sim_mmio_write(c, &f7_fam, addr, size, val);
}

static void f7_cpu_program(sim_chip *c, uint32_t addr, uint64_t val, unsigned size)
{
    oflash__f2x_sim_program(c, &f7_fam, addr, val, size);
}

static int f7_debugger_write(sim_chip *c, uint32_t addr, const uint8_t *buf, size_t n)
{
    if (in_opt(c, addr))
        return oflash_error_set(OFLASH_EPROTECTED,
                                "%s: write at 0x%08X refused: option bytes change only through "
                                "FLASH_OPTKEYR, FLASH_OPTCR and OPTSTRT",
                                c->file.path, addr);
    if (in_info(c, addr) && addr - F7_INFO_BASE + n > F7_OTP_TOTAL)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "%s: write at 0x%08X refused: only OTP (0x1FF0F000-0x1FF0F3FF) and "
                                "its lock bytes (0x1FF0F400-0x1FF0F40F) are programmable in this "
                                "page; the unique ID and flash size registers are read-only",
                                c->file.path, addr < F7_LOCK_END ? F7_LOCK_END : addr);
    return oflash__f2x_sim_debugger_program(c, &f7_fam, addr, buf, n);
}

static int f7_read_protection(const sim_chip *c, char *why, size_t len)
{
    snprintf(why, len, "RDP=0x%02X", (OPTCR(c) >> 8) & 0xFF);
    return rdp(c);
}

static void f7_reset(sim_chip *c)
{
    oflash__f2x_sim_reset(c, &f7_fam);
}

/* Factory option bytes; a "-DB" entry is a chip already switched to dual
 * bank mode (nDBANK = 0). */
static void f7_factory(const oflash_device *dev, uint32_t opt[SIM_OPT_WORDS])
{
    const f7_part *p = f7_part_of(dev);
    opt[0] = (p->f76x ? F7_OPTCR_RESET_F76X : F7_OPTCR_RESET_F74X) &
             ~(F7_OPTCR_OPTLOCK | F7_OPTCR_OPTSTRT);
    if (p->dual_bank) opt[0] &= ~F7_OPTCR_NDBANK;
    opt[1] = F7_OPTCR1_RESET;
}

static void f7_map(const oflash_device *dev, const uint32_t opt[SIM_OPT_WORDS], sim_map *m)
{
    (void)opt;
    memset(m, 0, sizeof *m);
    m->cpu_model = UC_CPU_ARM_CORTEX_M7;
    m->cpuid = f7_part_of(dev)->f76x ? F7_CPUID_F76X : F7_CPUID_F74X;
    m->flash_base = F7_MAIN_BASE;
    /* The flash on ITCM, where BOOT_ADD0's factory value (0x0080) boots
     * from; the simulator reads the reset vector from the flash's first
     * words whatever BOOT_ADD0 says. */
    m->flash_alias = F7_ITCM_FLASH_BASE;
    m->sram_base = F7_SRAM_BASE;
    m->extra_ram_base = F7_ITCM_RAM_BASE;
    m->extra_ram_size = F7_ITCM_RAM_SIZE;
    m->sysmem_base = F7_SYSMEM_BASE;
    m->sysmem_size = 0xF000u; /* 0xEDC0 rounded up to the 1 KiB mapping unit */
    m->nv_base = F7_OTP_BASE;
    m->nv_size = F7_OTP_TOTAL;
    m->windows[0].base = F7_INFO_BASE;
    m->windows[0].size = F7_INFO_SIZE;
    m->windows[1].base = F7_OPT_BASE;
    m->windows[1].size = 0x400u;
    m->window_count = 2;
    m->iwdg_base = F7_IWDG_BASE;
    m->crc_base = F7_CRC_BASE;
    m->dbgmcu_base = F7_DBGMCU_IDCODE;
    m->dbgmcu_idcode_rev = 0x1000;
}

/* For `oflash sim show`: OPTCR (RDP, nWRP, IWDG_SW, BOR_LEV; F76x nDBANK,
 * nDBOOT) and OPTCR1 (BOOT_ADD0/1); nWRPi = 0 protects sector i, or
 * sectors 2i and 2i+1 in dual bank mode (indexes of dev's sector list,
 * which is the layout of dev's entry). */
static void f7_describe_options(char *text, size_t len, int *rdp, bool *wrp, size_t nsect,
                                const oflash_device *dev, const uint32_t opt[SIM_OPT_WORDS])
{
    const f7_part *p = f7_part_of(dev);
    uint32_t optcr = opt[0], optcr1 = opt[1];
    bool dual = p->f76x && !(optcr & F7_OPTCR_NDBANK);
    unsigned nbits = p->f76x ? 12 : 8;
    *rdp = oflash_sim_rdp_level(optcr);
    snprintf(text, len,
             "OPTCR 0x%08X: RDP level %d (0x%02X), nWRP 0x%0*X, %s watchdog, BOR_LEV %u%s; "
             "OPTCR1 0x%08X: BOOT_ADD0 0x%08X, BOOT_ADD1 0x%08X",
             optcr, *rdp, (optcr >> 8) & 0xFF, p->f76x ? 3 : 2,
             (optcr >> F7_OPTCR_NWRP_SHIFT) & ((1u << nbits) - 1),
             (optcr & F7_OPTCR_IWDG_SW) ? "software" : "hardware", (optcr >> 2) & 3,
             !p->f76x ? ""
             : dual   ? ", dual bank (nDBANK 0)"
                      : ", single bank (nDBANK 1)",
             optcr1, (optcr1 & 0xFFFFu) << 14, (optcr1 >> 16) << 14);
    for (size_t i = 0; i < nsect && dev->bank_count; i++) {
        unsigned num = dev->banks[0].sectors[i].number;
        unsigned bit = dual ? num / 2 : num;
        wrp[i] = bit < nbits && !(optcr & (1u << (F7_OPTCR_NWRP_SHIFT + bit)));
    }
}

static bool flash_wrp(const sim_chip *c, uint32_t addr)
{
    f7_sector s;
    return f7_sector_at(c, addr - F7_MAIN_BASE, &s) >= 0 && f7_wrp(c, &s);
}

static uint32_t reg_last(const sim_chip *c)
{
    (void)c;
    return F7_FLASH_OPTCR1; /* BOOT_ADD0/1 on every F7 */
}

static const stm32f2x_sr_name f7_sr_names[] = {{F7_SR_ERSERR, "ERSERR"},
                                               {F7_SR_PGPERR, "PGPERR"},
                                               {F7_SR_PGAERR, "PGAERR"},
                                               {F7_SR_WRPERR, "WRPERR"},
                                               {F7_SR_OPERR, "OPERR"}};

/* What the shared F2/F4/F7 code needs (targets/common/stm32f2x_sim.h). */
static const stm32f2x_sim_family f7_fam = {
    STM32F2X_SIM_REGS(F7),
    .otp_block = F7_OTP_BLOCK_SIZE,
    .program_ps = F7_PROGRAM_PS,
    .main_base = F7_MAIN_BASE,
    .cr_erase = F7_CR_SER | F7_CR_MER | F7_CR_MER2,
    .optcr_wdg_sw = F7_OPTCR_IWDG_SW,
    .sr_seq = F7_SR_ERSERR,
    .sr_seq_name = "ERSERR",
    .sr_names = f7_sr_names,
    .sr_name_count = sizeof f7_sr_names / sizeof f7_sr_names[0],
    /* HSION, HSITRIM, HSEON, HSEBYP, CSSON, PLLON, PLLI2SON, PLLSAION */
    .rcc_cr_writable = (1u << 0) | 0xF8u | (1u << 16) | (1u << 18) | (1u << 19) | F7_RCC_CR_PLLON |
                       (1u << 26) | (1u << 28),
    .rcc_pllcfgr_writable = 0x7F437FFFu, /* PLLM, PLLN, PLLP, PLLSRC, PLLQ, PLLR (F76x) */
    .flash_wrp = flash_wrp,
    .reg_write = flash_reg_write,
    .reg_last = reg_last,
    .in_info = in_info,
    .info_byte = info_byte,
    .in_opt = in_opt,
    .opt_byte = opt_byte,
};

const oflash_sim_model oflash__stm32f7_sim = {
    .version = OFLASH_SIM_MODEL_VERSION,
    .opt_words = 2,
    .state_size = sizeof(f7_sim),
    .factory = f7_factory,
    .map = f7_map,
    .reset = f7_reset,
    .complete = f7_complete,
    .mmio_read = f7_mmio_read,
    .mmio_write = f7_mmio_write,
    .cpu_program = f7_cpu_program,
    .debugger_write = f7_debugger_write,
    .read_protection = f7_read_protection,
    .describe_options = f7_describe_options,
    .debug_port = &oflash__stm32f7_debug_port,
};
