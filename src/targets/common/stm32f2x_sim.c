/*
 * stm32f2x_sim.c - the parts of the simulated STM32F2/F4/F7 that do not
 * differ between the families (see stm32f2x_sim.h): RCC and the core
 * clock (RM0368 rev 5 §6.3, RM0090 rev 19 §6.3, RM0385 rev 8 §5.3: the
 * same CR / PLLCFGR / CFGR layout; the F7 adds PLLSAI), the end of an
 * operation, a wrong key, a debugger write through the flash interface,
 * and the dispatch of the peripheral window.
 */
#include "stm32f2x_sim.h"

#include "oflash/error.h"

#include <stdio.h>
#include <string.h>

#define F(c) oflash__f2x_sim(c)

/* ---- flash interface ---- */

void oflash__f2x_sim_complete(sim_chip *c, const stm32f2x_sim_family *fam)
{
    stm32f2x_sim *f = F(c);
    f->strt_busy = false;
    f->opt_busy = false;
    if (f->eop_pending && (f->cr & fam->cr_eopie)) f->sr |= fam->sr_eop;
    f->eop_pending = false;
}

void oflash__f2x_sim_start_busy(sim_chip *c, uint64_t ps, bool strt, bool ok)
{
    oflash__sim_start_busy(c, ps);
    F(c)->strt_busy = strt;
    F(c)->eop_pending = ok;
}

/* The F2/F4/F7 register offsets (RM0090 §3.9, RM0385 §3.7). */
#define FLASH_ACR 0x00u
#define FLASH_SR 0x0Cu
#define FLASH_CR 0x10u
#define FLASH_OPTCR 0x14u
#define FLASH_OPTCR1 0x18u

uint32_t oflash__f2x_sim_reg_read(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t off)
{
    stm32f2x_sim *f = F(c);
    uint32_t v;
    oflash__sim_flash_update(c);
    switch (off) {
    case FLASH_ACR:
        return f->acr;
    case FLASH_SR:
        v = f->sr | (c->busy ? fam->sr_bsy : 0);
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
        return f->cr | (c->busy && f->strt_busy ? fam->cr_strt : 0);
    case FLASH_OPTCR:
        return f->optcr_reg | (c->busy && f->opt_busy ? fam->optcr_optstrt : 0);
    case FLASH_OPTCR1:
        return f->optcr1_reg; /* the window stops before it where there is none */
    default:
        return 0; /* KEYR, OPTKEYR are write-only */
    }
}

uint32_t oflash__f2x_sim_program(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t addr,
                                 uint64_t val, unsigned size)
{
    stm32f2x_sim *f = F(c);
    bool in_flash = addr >= fam->main_base && addr - fam->main_base < c->nv.flash_size;
    bool in_otp = addr >= fam->otp_base && addr - fam->otp_base < fam->otp_size;
    bool in_lock = addr >= fam->lock_base && addr - fam->lock_base < fam->lock_size;
    unsigned psize = (f->cr >> fam->cr_psize_shift) & 3;
    uint32_t err = 0;
    int r;

    oflash__sim_stall(c);
    if ((f->cr & fam->cr_lock) || !(f->cr & fam->cr_pg) || (f->cr & fam->cr_erase))
        err = fam->sr_seq;
    else if (psize == 3 && size == 4) {
        /* x64: a double word arrives as two word stores, low word first at
         * an 8-aligned address (ST's HAL FLASH_Program_DoubleWord); the
         * program starts when the pair is complete. */
        if (!f->x64_pending && (addr & 7) == 0) {
            f->x64_pending = true;
            f->x64_addr = addr;
            f->x64_low = (uint32_t)val;
            return 0;
        }
        if (f->x64_pending && addr == f->x64_addr + 4) {
            f->x64_pending = false;
            addr = f->x64_addr;
            val = (uint64_t)f->x64_low | (val << 32);
            size = 8;
        } else {
            f->x64_pending = false;
            err = fam->sr_pgperr;
        }
    } else if (size != (1u << psize))
        err = fam->sr_pgperr;
    if (size != 4) f->x64_pending = false;
    if (err) {
        f->sr |= err;
        return err;
    }
    if ((addr & 15) + size > 16)
        err = fam->sr_pgaerr;
    else if (!in_flash && !in_otp && !in_lock)
        err = fam->sr_wrperr; /* UID, flash size, reserved words of the OTP page */
    else if (in_flash && (oflash_sim_rdp_level(c->nv.opt[0]) != 0 || fam->flash_wrp(c, addr)))
        err = fam->sr_wrperr;
    else if (in_flash && addr - fam->main_base + size > c->nv.flash_size)
        err = fam->sr_pgaerr;
    else if (in_otp && *oflash__sim_nv_ptr(
                           c, fam->lock_base + (addr - fam->otp_base) / fam->otp_block, 1) == 0x00)
        err = fam->sr_wrperr; /* RM0090 §3.8: LOCKBi = 0x00 -> block i cannot be programmed */
    else if ((in_otp || in_lock) && (c->guard & OFLASH_SIM_GUARD_OTP))
        err = fam->sr_wrperr; /* session guard: the OTP behaves as if locked */
    else if (in_lock && addr - fam->lock_base + size > fam->lock_size)
        err = fam->sr_pgaerr;
    if (err) {
        f->sr |= err;
        return err;
    }

    r = oflash__sim_flash_and(c, addr, val, size);
    if (r == 2) return 0; /* power lost */
    c->program_ops++;
    c->flash_ops++;
    if (r == 1) {
        /* The cells do not program: nothing changes, OPERR. */
        f->sr |= fam->sr_operr;
        oflash__f2x_sim_start_busy(c, fam->program_ps, false, false);
        return fam->sr_operr;
    }
    oflash__f2x_sim_start_busy(c, fam->program_ps, false, true);
    return 0;
}

void oflash__f2x_sim_key_fault(sim_chip *c, const stm32f2x_sim_family *fam, const char *reg,
                               uint32_t val, bool opt)
{
    if (opt) {
        F(c)->optcr_dead = true;
        F(c)->optcr_reg |= fam->optcr_optlock;
    } else {
        F(c)->cr_dead = true;
        F(c)->cr |= fam->cr_lock;
    }
    oflash__sim_stop(c, SIM_STOP_FAULT,
                     "bus fault: wrong key 0x%08X written to %s; %s stays locked until reset", val,
                     reg, opt ? "FLASH_OPTCR" : "FLASH_CR");
}

/* ---- RCC: CR reset 0x00000083, PLLCFGR reset 0x24003010, CFGR SW/SWS/HPRE.
 * The simulated board has an 8 MHz HSE (as a Nucleo-F401RE fed by its
 * ST-LINK MCO). ---- */
#define HSI_HZ 16000000ull
#define RCC_CR 0x00u
#define RCC_PLLCFGR 0x04u
#define RCC_CFGR 0x08u
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CR_PLLI2SON (1u << 26)
#define RCC_CR_PLLI2SRDY (1u << 27)
#define RCC_CR_PLLSAION (1u << 28) /* F7 (and F42x/F43x) */
#define RCC_CR_PLLSAIRDY (1u << 29)
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22)

static uint64_t sysclk_hz(const sim_chip *c)
{
    const uint32_t *r = F(c)->rcc;
    uint32_t sws = (r[RCC_CFGR / 4] >> 2) & 3;
    if (sws == 1) return F(c)->hse_hz;
    if (sws == 2) {
        uint32_t pll = r[RCC_PLLCFGR / 4];
        uint64_t src = (pll & RCC_PLLCFGR_PLLSRC_HSE) ? F(c)->hse_hz : HSI_HZ;
        uint32_t m = pll & 0x3F, n = (pll >> 6) & 0x1FF, p = 2 * (((pll >> 16) & 3) + 1);
        if (m < 2 || n < 2)
            return HSI_HZ; /* invalid configuration: the PLL does not lock (PLLRDY stays 0) */
        return src * n / m / p;
    }
    return HSI_HZ;
}

static void set_clock(sim_chip *c)
{
    static const unsigned hpre_div[8] = {2, 4, 8, 16, 64, 128, 256, 512};
    uint32_t hpre = (F(c)->rcc[RCC_CFGR / 4] >> 4) & 0xF;
    uint64_t hz = sysclk_hz(c) / (hpre & 8 ? hpre_div[hpre & 7] : 1);
    oflash__sim_set_core_hz(c, hz ? hz : HSI_HZ);
}

static void rcc_write(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t off, uint32_t v)
{
    uint32_t *r = F(c)->rcc;
    uint32_t sws = (r[RCC_CFGR / 4] >> 2) & 3;
    bool from_hse = (r[RCC_PLLCFGR / 4] & RCC_PLLCFGR_PLLSRC_HSE) != 0;
    switch (off) {
    case RCC_CR: {
        uint32_t cr = v & fam->rcc_cr_writable;
        /* A clock in use as SYSCLK cannot be switched off (RM0368 §6.3.1). */
        if (sws == 0 || (sws == 2 && !from_hse)) cr |= RCC_CR_HSION;
        if (sws == 1 || (sws == 2 && from_hse)) cr |= RCC_CR_HSEON;
        if (sws == 2) cr |= RCC_CR_PLLON;
        /* Oscillators and PLLs are ready at once: start-up time is not modelled. */
        if (cr & RCC_CR_HSION) cr |= RCC_CR_HSIRDY;
        if (cr & RCC_CR_HSEON) cr |= RCC_CR_HSERDY;
        if ((cr & RCC_CR_PLLON) && (!from_hse || (cr & RCC_CR_HSERDY))) cr |= RCC_CR_PLLRDY;
        if (cr & RCC_CR_PLLI2SON) cr |= RCC_CR_PLLI2SRDY;
        if (cr & RCC_CR_PLLSAION) cr |= RCC_CR_PLLSAIRDY;
        r[0] = cr;
        break;
    }
    case RCC_PLLCFGR:
        if (!(r[0] & RCC_CR_PLLON)) /* "written only if PLL is disabled" */
            r[1] = v & fam->rcc_pllcfgr_writable;
        break;
    case RCC_CFGR: {
        uint32_t sw = v & 3, ready;
        ready = sw == 0   ? (r[0] & RCC_CR_HSIRDY)
                : sw == 1 ? (r[0] & RCC_CR_HSERDY)
                : sw == 2 ? (r[0] & RCC_CR_PLLRDY)
                          : 0;
        /* SWS follows SW only when the selected clock is ready. */
        r[2] = (v & ~0xCu) | ((ready ? sw : sws) << 2);
        set_clock(c);
        break;
    }
    default:
        r[(off / 4) & 0xFF] = v;
        break;
    }
}

void oflash__f2x_sim_reset(sim_chip *c, const stm32f2x_sim_family *fam)
{
    stm32f2x_sim *f = F(c);
    f->acr = 0;
    f->cr = fam->cr_lock;
    f->sr = 0;
    f->key_state = f->optkey_state = 0;
    f->cr_dead = f->optcr_dead = false;
    f->x64_pending = false;
    f->optcr_reg = c->nv.opt[0] | fam->optcr_optlock;
    f->optcr1_reg = c->nv.opt[1];
    memset(f->rcc, 0, sizeof f->rcc);
    f->rcc[0] = 0x00000083u; /* HSION, HSIRDY, HSITRIM 16 */
    f->rcc[1] = 0x24003010u; /* PLLCFGR reset value */
    if (!f->hse_hz) f->hse_hz = 8000000ull;
    set_clock(c);
    /* (I)WDG_SW = 0: hardware watchdog, running from reset (RM0368 §15.3.2). */
    if (!(c->nv.opt[0] & fam->optcr_wdg_sw)) oflash__sim_iwdg_start(c);
}

/* ---- debugger writes ---- */

const char *oflash__f2x_sim_sr_names(const stm32f2x_sim_family *fam, uint32_t sr, char *buf,
                                     size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < fam->sr_name_count; i++)
        if (sr & fam->sr_names[i].bit)
            used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
                                     used ? "|" : "", fam->sr_names[i].name);
    return buf;
}

/* Static conditions are checked first so that a refused write changes
 * nothing. */
int oflash__f2x_sim_debugger_program(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t addr,
                                     const uint8_t *buf, size_t n)
{
    stm32f2x_sim *f = F(c);
    unsigned w = 1u << ((f->cr >> fam->cr_psize_shift) & 3);
    const char *path = c->file.path;
    char names[64];
    bool in_flash = addr >= fam->main_base && addr - fam->main_base < c->nv.flash_size;

    if (in_flash && oflash_sim_rdp_level(c->nv.opt[0]) != 0)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "%s: flash write at 0x%08X refused: read protection level 1 is "
                                "active",
                                path, addr);
    if ((f->cr & fam->cr_lock) || !(f->cr & fam->cr_pg) || (f->cr & fam->cr_erase)) {
        f->sr |= fam->sr_seq; /* what the bus write does on silicon */
        return oflash_error_set(
            OFLASH_EPROTECTED,
            "%s: debugger write to %s at 0x%08X refused: %s (flash is read-only to the debugger "
            "unless FLASH_CR is unlocked through FLASH_KEYR and PG is set; FLASH_SR.%s set)",
            path, in_flash ? "flash" : "OTP", addr,
            (f->cr & fam->cr_lock)  ? "FLASH_CR is locked"
            : !(f->cr & fam->cr_pg) ? "FLASH_CR.PG is not set"
                                    : "an erase is selected in FLASH_CR",
            fam->sr_seq_name);
    }
    if ((addr % w) || (n % w))
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: debugger write of %zu bytes at 0x%08X does not split into "
                                "%u-byte accesses (FLASH_CR.PSIZE is x%u)",
                                path, n, addr, w, 8 * w);
    for (size_t i = 0; i < n; i += w) {
        uint64_t v = 0;
        uint32_t err;
        for (unsigned k = 0; k < w; k++)
            v |= (uint64_t)buf[i + k] << (8 * k);
        err = oflash__f2x_sim_program(c, fam, addr + (uint32_t)i, v, w);
        if (c->power_lost) return oflash_error_set(OFLASH_ELINK, "%s: %s", path, c->stop_detail);
        if (err)
            return oflash_error_set(
                OFLASH_ETARGET, "%s: programming %u bytes at 0x%08X failed: FLASH_SR %s%s", path, w,
                addr + (uint32_t)i, oflash__f2x_sim_sr_names(fam, err, names, sizeof names),
                err & fam->sr_wrperr ? " (write-protected sector or locked OTP block)" : "");
    }
    return 0;
}

/* ---- the peripheral window ---- */

bool oflash__f2x_sim_mmio_read(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t addr,
                               unsigned size, bool debugger, uint32_t *val)
{
    (void)debugger;
    uint32_t word, off;
    unsigned shift = (addr & 3) * 8;
    bool info = fam->in_info(c, addr);
    if (info || fam->in_opt(c, addr)) {
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint32_t)(info ? fam->info_byte(c, addr + i) : fam->opt_byte(c, addr + i))
                 << (8 * i);
        *val = v;
        return true;
    }
    if (addr >= fam->flashif_base && addr < fam->flashif_base + 0x400) {
        off = addr - fam->flashif_base;
        if ((off & ~3u) > fam->reg_last(c)) return false; /* counted as unknown */
        word = oflash__f2x_sim_reg_read(c, fam, off & ~3u);
    } else if (addr >= fam->rcc_base && addr < fam->rcc_base + 0x400) {
        word = F(c)->rcc[((addr - fam->rcc_base) / 4) & 0xFF];
    } else {
        return false;
    }
    word >>= shift;
    *val = size >= 4 ? word : word & ((1u << (8 * size)) - 1);
    return true;
}

bool oflash__f2x_sim_mmio_write(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t addr,
                                unsigned size, uint32_t val)
{
    uint32_t off;
    if (fam->in_info(c, addr)) {
        /* OTP and lock bytes are programmed like flash (RM0368 §3.7). */
        oflash__f2x_sim_program(c, fam, addr, val, size);
        return true;
    }
    if (fam->in_opt(c, addr)) {
        /* Option bytes change only through FLASH_OPTCR + OPTSTRT: a direct
         * write is a programming sequence error. */
        F(c)->sr |= fam->sr_seq;
        return true;
    }
    if (addr >= fam->flashif_base && addr < fam->flashif_base + 0x400) {
        off = addr - fam->flashif_base;
        if ((off & ~3u) > fam->reg_last(c)) return false;
        fam->reg_write(c, off, val, size);
        return true;
    }
    if (addr >= fam->rcc_base && addr < fam->rcc_base + 0x400) {
        off = addr - fam->rcc_base;
        if (size != 4 || (off & 3)) return false; /* RCC is word-accessed by every driver */
        rcc_write(c, fam, off, val);
        return true;
    }
    return false;
}
