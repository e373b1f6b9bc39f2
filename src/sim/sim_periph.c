/*
 * sim_periph.c - memory-mapped registers every modelled part shares, and
 * the dispatch of the peripheral space: the family model (sim_model.h)
 * first, then the IWDG, the CRC unit, DBGMCU and the SCB bits a debugger
 * uses.  Unmodelled peripheral addresses read as zero, ignore writes and
 * are counted.
 *
 * Follows RM0368 rev 5: §15 IWDG (KR 0xCCCC start, 0xAAAA reload, 0x5555
 * unlock PR/RLR; LSI 32 kHz, prescaler 4 << PR), §4 CRC (DR, IDR,
 * CR.RESET; polynomial 0x04C11DB7, initial 0xFFFFFFFF, 32-bit words fed
 * MSB first, no reflection, no final xor), §23.6.1 DBGMCU_IDCODE
 * (REV_ID[31:16], DEV_ID[11:0]); PM0214 rev 10 §4.4 SCB (CPUID, AIRCR.
 * SYSRESETREQ with key 0x05FA).  The IWDG, CRC and DBGMCU addresses come
 * from the model's map.
 */
#include "sim_internal.h"

#include <string.h>

#define HSI_HZ 16000000ull /* core clock until the model sets one */
#define LSI_PS 31250000ull /* one LSI tick at 32 kHz */

#define SCB_CPUID 0xE000ED00u
#define SCB_AIRCR 0xE000ED0Cu
#define SCB_DEMCR 0xE000EDFCu
#define DEMCR_MASK 0x010F07F1u /* TRCENA, MON_*, VC_* (ARMv7-M ARM C1.6.5) */

static void count_unknown(sim_chip *c, uint32_t addr)
{
    if (c->unknown++ == 0) c->unknown_first = addr;
}

void oflash__sim_set_core_hz(sim_chip *c, uint64_t hz)
{
    if (hz == 0) hz = HSI_HZ;
    c->core_hz = hz;
    c->cycle_ps = (SIM_PS_PER_S + hz / 2) / hz;
}

/* ---- IWDG ---- */

static void iwdg_reload(sim_chip *c)
{
    unsigned pr = c->iwdg_pr > 6 ? 6 : c->iwdg_pr;
    uint64_t ticks = (uint64_t)(c->iwdg_rlr + 1) * (4u << pr);
    c->iwdg_deadline_ps = c->now_ps + ticks * LSI_PS;
}

void oflash__sim_iwdg_start(sim_chip *c)
{
    c->iwdg_running = true;
    iwdg_reload(c);
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
    oflash__sim_set_core_hz(c, HSI_HZ);
    c->iwdg_access = false;
    c->iwdg_pr = 0;
    c->iwdg_rlr = 0xFFF;
    c->iwdg_running = false; /* the model starts a hardware watchdog */
    c->crc_dr = 0xFFFFFFFFu;
    c->crc_idr = 0;
    c->dbgmcu_cr = c->dbgmcu_apb1 = c->dbgmcu_apb2 = 0;
    c->model->reset(c);
}

/* ---- dispatch ---- */

static bool in_block(uint32_t base, uint32_t size, uint32_t addr)
{
    return base && addr >= base && addr - base < size;
}

uint64_t oflash__sim_mmio_read(sim_chip *c, uint32_t addr, unsigned size, bool debugger)
{
    const sim_map *m = &c->map;
    uint32_t off;
    unsigned shift = (addr & 3) * 8;
    uint32_t word;
    if ((c->guard & OFLASH_SIM_GUARD_NO_CRC_UNIT) && in_block(m->crc_base, 0x400, addr))
        return 0; /* session guard: no CRC unit there (as on QEMU) */
    if (c->model->mmio_read && c->model->mmio_read(c, addr, size, debugger, &word)) return word;
    if (in_block(m->crc_base, 0x400, addr)) {
        off = (addr - m->crc_base) & ~3u;
        word = off == 0 ? c->crc_dr : off == 4 ? c->crc_idr : 0;
        if (off > 8) count_unknown(c, addr);
    } else if (in_block(m->iwdg_base, 0x400, addr)) {
        off = (addr - m->iwdg_base) & ~3u;
        word = off == 4 ? c->iwdg_pr : off == 8 ? c->iwdg_rlr : 0;
    } else if (in_block(m->dbgmcu_base, 0x10, addr)) {
        off = (addr - m->dbgmcu_base) & ~3u;
        word = off == 0   ? ((uint32_t)m->dbgmcu_idcode_rev << 16) | c->dev->dev_id
               : off == 4 ? c->dbgmcu_cr
               : off == 8 ? c->dbgmcu_apb1
                          : c->dbgmcu_apb2;
    } else if ((addr & ~3u) == SCB_CPUID) {
        word = m->cpuid;
    } else if ((addr & ~3u) == SCB_DEMCR) {
        word = c->demcr;
    } else {
        count_unknown(c, addr);
        return 0;
    }
    word >>= shift;
    return size >= 4 ? word : word & ((1u << (8 * size)) - 1);
}

void oflash__sim_mmio_write(sim_chip *c, uint32_t addr, unsigned size, uint64_t val, bool debugger)
{
    const sim_map *m = &c->map;
    uint32_t off;
    if ((c->guard & OFLASH_SIM_GUARD_NO_CRC_UNIT) && in_block(m->crc_base, 0x400, addr))
        return; /* session guard: writes to the missing CRC unit go nowhere */
    if (c->model->mmio_write && c->model->mmio_write(c, addr, size, (uint32_t)val, debugger))
        return;
    if (in_block(m->crc_base, 0x400, addr)) {
        off = addr - m->crc_base;
        if (off == 0 && size == 4)
            c->crc_dr = crc_word(c->crc_dr, (uint32_t)val);
        else if (off == 4)
            c->crc_idr = (uint32_t)val & 0xFF;
        else if (off == 8 && (val & 1))
            c->crc_dr = 0xFFFFFFFFu;
        else if (off != 8)
            count_unknown(c, addr); /* DR takes 32-bit writes only */
    } else if (in_block(m->iwdg_base, 0x400, addr)) {
        iwdg_write(c, (addr - m->iwdg_base) & ~3u, (uint32_t)val);
    } else if (in_block(m->dbgmcu_base, 0x10, addr)) {
        off = (addr - m->dbgmcu_base) & ~3u;
        if (off == 4)
            c->dbgmcu_cr = (uint32_t)val;
        else if (off == 8)
            c->dbgmcu_apb1 = (uint32_t)val;
        else if (off == 12)
            c->dbgmcu_apb2 = (uint32_t)val;
    } else if (addr == SCB_DEMCR && size == 4) {
        c->demcr = (uint32_t)val & DEMCR_MASK;
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
