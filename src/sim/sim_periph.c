/*
 * sim_periph.c - memory-mapped registers of the simulated STM32F4 other
 * than the flash array: dispatch of the peripheral space, RCC (clock
 * switching), IWDG, CRC unit, DBGMCU, the SCB bits a debugger uses, the
 * OTP/unique-ID page and the option-byte page.  Unmodelled peripheral
 * addresses read as zero, ignore writes and are counted.
 *
 * Follows RM0368 rev 5: §6.3 RCC (CR reset 0x00000083, PLLCFGR reset
 * 0x24003010, CFGR SW/SWS/HPRE), §15 IWDG (KR 0xCCCC start, 0xAAAA reload,
 * 0x5555 unlock PR/RLR; LSI 32 kHz, prescaler 4 << PR), §4 CRC (DR, IDR,
 * CR.RESET; polynomial 0x04C11DB7, initial 0xFFFFFFFF, 32-bit words fed
 * MSB first, no reflection, no final xor), §23.6.1 DBGMCU_IDCODE
 * (REV_ID[31:16], DEV_ID[11:0]), §24.2 unique ID, §24.1 flash size;
 * PM0214 rev 10 §4.4 SCB (CPUID 0x410FC241, AIRCR.SYSRESETREQ with key
 * 0x05FA).  The simulated board has an 8 MHz HSE (as a Nucleo-F401RE fed by
 * its ST-LINK MCO).
 */
#include "sim_internal.h"

#include <string.h>

#define HSI_HZ 16000000ull
#define LSI_PS 31250000ull /* one LSI tick at 32 kHz */

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

#define SCB_CPUID 0xE000ED00u
#define SCB_AIRCR 0xE000ED0Cu

static void count_unknown(sim_chip *c, uint32_t addr)
{
    if (c->unknown++ == 0) c->unknown_first = addr;
}

/* ---- RCC ---- */

static uint64_t sysclk_hz(const sim_chip *c)
{
    uint32_t sws = (c->rcc[RCC_CFGR / 4] >> 2) & 3;
    if (sws == 1) return c->hse_hz;
    if (sws == 2) {
        uint32_t pll = c->rcc[RCC_PLLCFGR / 4];
        uint64_t src = (pll & (1u << 22)) ? c->hse_hz : HSI_HZ;
        uint32_t m = pll & 0x3F, n = (pll >> 6) & 0x1FF, p = 2 * (((pll >> 16) & 3) + 1);
        if (m < 2 || n < 2)
            return HSI_HZ; /* invalid configuration: the PLL does not lock (PLLRDY stays 0) */
        return src * n / m / p;
    }
    return HSI_HZ;
}

void oflash__sim_set_clock(sim_chip *c)
{
    static const unsigned hpre_div[8] = {2, 4, 8, 16, 64, 128, 256, 512};
    uint32_t hpre = (c->rcc[RCC_CFGR / 4] >> 4) & 0xF;
    uint64_t hz = sysclk_hz(c) / (hpre & 8 ? hpre_div[hpre & 7] : 1);
    if (hz == 0) hz = HSI_HZ;
    c->core_hz = hz;
    c->cycle_ps = (SIM_PS_PER_S + hz / 2) / hz;
}

static void rcc_write(sim_chip *c, uint32_t off, uint32_t v)
{
    uint32_t *r = c->rcc;
    uint32_t sws = (r[RCC_CFGR / 4] >> 2) & 3;
    switch (off) {
    case RCC_CR: {
        uint32_t cr = v & (RCC_CR_HSION | 0xF8u | RCC_CR_HSEON | (1u << 18) | (1u << 19) |
                           RCC_CR_PLLON | RCC_CR_PLLI2SON);
        /* A clock in use as SYSCLK cannot be switched off (RM0368 §6.3.1). */
        if (sws == 0 || (sws == 2 && !(r[RCC_PLLCFGR / 4] & (1u << 22)))) cr |= RCC_CR_HSION;
        if (sws == 1 || (sws == 2 && (r[RCC_PLLCFGR / 4] & (1u << 22)))) cr |= RCC_CR_HSEON;
        if (sws == 2) cr |= RCC_CR_PLLON;
        /* Oscillators and PLL are ready at once: start-up time is not modelled. */
        if (cr & RCC_CR_HSION) cr |= RCC_CR_HSIRDY;
        if (cr & RCC_CR_HSEON) cr |= RCC_CR_HSERDY;
        if ((cr & RCC_CR_PLLON) &&
            (((r[RCC_PLLCFGR / 4] & (1u << 22)) == 0) || (cr & RCC_CR_HSERDY)))
            cr |= RCC_CR_PLLRDY;
        if (cr & RCC_CR_PLLI2SON) cr |= RCC_CR_PLLI2SRDY;
        r[0] = cr;
        break;
    }
    case RCC_PLLCFGR:
        if (!(r[0] & RCC_CR_PLLON)) /* "written only if PLL is disabled" */
            r[1] = v & 0x0F437FFFu;
        break;
    case RCC_CFGR: {
        uint32_t sw = v & 3, ready;
        ready = sw == 0   ? (r[0] & RCC_CR_HSIRDY)
                : sw == 1 ? (r[0] & RCC_CR_HSERDY)
                : sw == 2 ? (r[0] & RCC_CR_PLLRDY)
                          : 0;
        /* SWS follows SW only when the selected clock is ready. */
        r[2] = (v & ~0xCu) | ((ready ? sw : sws) << 2);
        oflash__sim_set_clock(c);
        break;
    }
    default:
        r[(off / 4) & 0xFF] = v;
        break;
    }
}

/* ---- IWDG ---- */

static void iwdg_reload(sim_chip *c)
{
    unsigned pr = c->iwdg_pr > 6 ? 6 : c->iwdg_pr;
    uint64_t ticks = (uint64_t)(c->iwdg_rlr + 1) * (4u << pr);
    c->iwdg_deadline_ps = c->now_ps + ticks * LSI_PS;
}

void oflash__sim_iwdg_check(sim_chip *c)
{
    if (c->iwdg_running && c->now_ps >= c->iwdg_deadline_ps && c->stop == SIM_STOP_NONE) {
        unsigned pr = c->iwdg_pr > 6 ? 6 : c->iwdg_pr;
        uint64_t ms = (uint64_t)(c->iwdg_rlr + 1) * (4u << pr) * LSI_PS / SIM_PS_PER_MS;
        c->iwdg_running = false;
        oflash__sim_stop(c, SIM_STOP_FAULT,
                         "watchdog reset: IWDG not reloaded within %llu ms (the chip was reset)",
                         (unsigned long long)ms);
        c->wdg_reset_pending = true;
    }
}

static void iwdg_write(sim_chip *c, uint32_t off, uint32_t v)
{
    switch (off) {
    case 0x0: /* KR */
        v &= 0xFFFF;
        if (v == 0xCCCC) {
            if (!c->iwdg_running) c->iwdg_running = true;
            iwdg_reload(c);
        } else if (v == 0xAAAA) {
            if (c->iwdg_running) iwdg_reload(c);
        }
        c->iwdg_access = v == 0x5555;
        break;
    case 0x4:
        if (c->iwdg_access) c->iwdg_pr = v & 7;
        break;
    case 0x8:
        if (c->iwdg_access) c->iwdg_rlr = v & 0xFFF;
        break;
    default:
        break;
    }
}

/* ---- CRC ---- */

static uint32_t crc_word(uint32_t crc, uint32_t w)
{
    crc ^= w;
    for (int i = 0; i < 32; i++)
        crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    return crc;
}

void oflash__sim_periph_reset(sim_chip *c)
{
    memset(c->rcc, 0, sizeof c->rcc);
    c->rcc[0] = 0x00000083u;
    c->rcc[1] = 0x24003010u;
    if (!c->hse_hz) c->hse_hz = 8000000ull;
    oflash__sim_set_clock(c);
    c->iwdg_access = false;
    c->iwdg_pr = 0;
    c->iwdg_rlr = 0xFFF;
    /* WDG_SW = 0: hardware watchdog, running from reset (RM0368 §15.3.2). */
    c->iwdg_running = !(c->nv.optcr & OPTCR_WDG_SW);
    if (c->iwdg_running) iwdg_reload(c);
    c->crc_dr = 0xFFFFFFFFu;
    c->crc_idr = 0;
    c->dbgmcu_cr = c->dbgmcu_apb1 = c->dbgmcu_apb2 = 0;
}

/* ---- OTP / ID page and option bytes ---- */

static uint8_t info_byte(sim_chip *c, uint32_t addr)
{
    uint32_t off = addr - SIM_INFO_BASE;
    if (off < SIM_OTP_TOTAL) return c->nv.otp[off];
    if (addr >= SIM_UID_BASE && addr < SIM_UID_BASE + 12) return c->nv.uid[addr - SIM_UID_BASE];
    if (addr == SIM_FSIZE_ADDR) return (uint8_t)c->dev->flash_size_kb;
    if (addr == SIM_FSIZE_ADDR + 1) return (uint8_t)(c->dev->flash_size_kb >> 8);
    return 0xFF;
}

uint64_t oflash__sim_info_read(sim_chip *c, uint32_t addr, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)info_byte(c, addr + i) << (8 * i);
    return v;
}

/* Option bytes as stored (RM0368 §3.5, Table "Option byte organization"):
 * 0x1FFFC000 [15:0] = RDP:USER, 0x1FFFC008 [15:0] = nWRP; other bytes read
 * 0xFF here.  Bank 2 of dual-bank parts at 0x1FFEC008 [15:0] = nWRP. */
static uint8_t opt_byte(sim_chip *c, uint32_t addr)
{
    bool bank2 = addr < SIM_OPT_BASE;
    uint32_t off = addr - (bank2 ? SIM_OPT2_BASE : SIM_OPT_BASE);
    uint32_t opt = bank2 ? c->nv.optcr1 : c->nv.optcr;
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

uint64_t oflash__sim_opt_read(sim_chip *c, uint32_t addr, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)opt_byte(c, addr + i) << (8 * i);
    return v;
}

/* ---- dispatch ---- */

uint64_t oflash__sim_mmio_read(sim_chip *c, uint32_t addr, unsigned size, bool debugger)
{
    uint32_t off;
    unsigned shift = (addr & 3) * 8;
    uint32_t word;
    if (addr >= SIM_FLASHIF_BASE && addr < SIM_FLASHIF_BASE + 0x400) {
        off = addr - SIM_FLASHIF_BASE;
        if ((off & ~3u) > FLASH_OPTCR1 || (!f4_part_of(c->dev)->dual_bank && (off & ~3u) == FLASH_OPTCR1)) {
            count_unknown(c, addr);
            return 0;
        }
        word = oflash__sim_flash_reg_read(c, off & ~3u, debugger);
    } else if (addr >= SIM_RCC_BASE && addr < SIM_RCC_BASE + 0x400) {
        word = c->rcc[((addr - SIM_RCC_BASE) / 4) & 0xFF];
    } else if (addr >= SIM_CRC_BASE && addr < SIM_CRC_BASE + 0x400) {
        off = (addr - SIM_CRC_BASE) & ~3u;
        word = off == 0 ? c->crc_dr : off == 4 ? c->crc_idr : 0;
        if (off > 8) count_unknown(c, addr);
    } else if (addr >= SIM_IWDG_BASE && addr < SIM_IWDG_BASE + 0x400) {
        off = (addr - SIM_IWDG_BASE) & ~3u;
        word = off == 4 ? c->iwdg_pr : off == 8 ? c->iwdg_rlr : 0;
    } else if (addr >= SIM_DBGMCU_BASE && addr < SIM_DBGMCU_BASE + 0x10) {
        off = (addr - SIM_DBGMCU_BASE) & ~3u;
        word = off == 0   ? (0x1000u << 16) | c->dev->dev_id
               : off == 4 ? c->dbgmcu_cr
               : off == 8 ? c->dbgmcu_apb1
                          : c->dbgmcu_apb2;
    } else if ((addr & ~3u) == SCB_CPUID) {
        word = 0x410FC241u;
    } else {
        count_unknown(c, addr);
        return 0;
    }
    word >>= shift;
    return size >= 4 ? word : word & ((1u << (8 * size)) - 1);
}

void oflash__sim_mmio_write(sim_chip *c, uint32_t addr, unsigned size, uint64_t val, bool debugger)
{
    uint32_t off;
    (void)debugger;
    if (addr >= SIM_FLASHIF_BASE && addr < SIM_FLASHIF_BASE + 0x400) {
        off = addr - SIM_FLASHIF_BASE;
        if ((off & ~3u) > FLASH_OPTCR1 || (!f4_part_of(c->dev)->dual_bank && (off & ~3u) == FLASH_OPTCR1)) {
            count_unknown(c, addr);
            return;
        }
        oflash__sim_flash_reg_write(c, off, (uint32_t)val, size);
    } else if (addr >= SIM_RCC_BASE && addr < SIM_RCC_BASE + 0x400) {
        off = addr - SIM_RCC_BASE;
        if (size != 4 || (off & 3))
            count_unknown(c, addr); /* RCC is word-accessed by every driver */
        else
            rcc_write(c, off, (uint32_t)val);
    } else if (addr >= SIM_CRC_BASE && addr < SIM_CRC_BASE + 0x400) {
        off = addr - SIM_CRC_BASE;
        if (off == 0 && size == 4)
            c->crc_dr = crc_word(c->crc_dr, (uint32_t)val);
        else if (off == 4)
            c->crc_idr = (uint32_t)val & 0xFF;
        else if (off == 8 && (val & 1))
            c->crc_dr = 0xFFFFFFFFu;
        else if (off != 8)
            count_unknown(c, addr); /* DR takes 32-bit writes only */
    } else if (addr >= SIM_IWDG_BASE && addr < SIM_IWDG_BASE + 0x400) {
        iwdg_write(c, (addr - SIM_IWDG_BASE) & ~3u, (uint32_t)val);
    } else if (addr >= SIM_DBGMCU_BASE && addr < SIM_DBGMCU_BASE + 0x10) {
        off = (addr - SIM_DBGMCU_BASE) & ~3u;
        if (off == 4)
            c->dbgmcu_cr = (uint32_t)val;
        else if (off == 8)
            c->dbgmcu_apb1 = (uint32_t)val;
        else if (off == 12)
            c->dbgmcu_apb2 = (uint32_t)val;
    } else if (addr == SCB_AIRCR && size == 4) {
        if (((val >> 16) & 0xFFFF) == 0x05FA && (val & 4)) {
            if (c->in_run)
                oflash__sim_stop(c, SIM_STOP_FAULT,
                                 "system reset requested by the program (AIRCR.SYSRESETREQ)");
            c->wdg_reset_pending = true; /* performed when the access completes */
        }
    } else {
        count_unknown(c, addr);
    }
}
