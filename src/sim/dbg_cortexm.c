/*
 * dbg_cortexm.c - halting debug of the simulated Cortex-M core and the
 * debug components on the bus behind the MEM-AP (ARMv7-M ARM DDI0403E
 * chapter C1):
 *
 *   0xE0000000 ITM (registers kept, stimulus writes dropped)
 *   0xE0001000 DWT: CTRL (NUMCOMP), CYCCNT (core cycles while CYCCNTENA and
 *              TRCENA), PCSR, COMP/MASK/FUNCTION: data watchpoints
 *              (read/write/access) halt the core (DFSR.DWTTRAP) and set
 *              MATCHED
 *   0xE0002000 FPB: FP_CTRL (KEY/ENABLE, NUM_CODE, NUM_LIT), FP_REMAP,
 *              FP_COMPn; an enabled code comparator halts the core before
 *              the instruction at its address executes (REPLACE selects
 *              the halfword)
 *   0xE000E000 SCS: CPUID, AIRCR (SYSRESETREQ, VECTRESET), DFSR, DHCSR,
 *              DCRSR, DCRDR, DEMCR, MVFR0/1, component IDs
 *   0xE00FF000 ROM table: SCS, DWT, FPB, ITM, end marker
 *
 * Everything else goes to the chip as a debugger access (sim_chip.c).
 *
 * The core: halted or running.  While running it executes in slices of
 * simulated time given by oflash__sim_cortexm_advance() (the debugger's
 * clock); it halts on BKPT (C_DEBUGEN set; DFSR.BKPT), an FPB comparator
 * (DFSR.BKPT), a C_HALT write (DFSR.HALTED), after one instruction with
 * C_STEP (DFSR.HALTED), and on a vector catch (DFSR.VCATCH): VC_CORERESET
 * at the reset vector, VC_HARDERR (and VC_BUSERR, VC_STATERR, VC_NOCPERR,
 * VC_CHKERR, VC_MMERR for their causes) when a fault is taken.  A fault
 * without a catch enters the HardFault handler (the eight-word frame is
 * pushed, LR = EXC_RETURN, IPSR = 3, PC from the vector table); a fault in
 * the HardFault handler, or one whose vector cannot be fetched, locks the
 * core up (S_LOCKUP) until a reset or a halt.  A handler's branch to
 * EXC_RETURN pops the frame (exception return).  BKPT without C_DEBUGEN is a
 * fault (HardFault).  Interrupts are not modelled, so C_MASKINTS is kept
 * only.  Register transfers complete at once: S_REGRDY reads 1.
 */
#include "dbg.h"
#include "sim_internal.h"

#include "oflash/error.h"

#include <stdio.h>
#include <string.h>

#define ITM_BASE 0xE0000000u
#define DWT_BASE 0xE0001000u
#define FPB_BASE 0xE0002000u
#define SCS_BASE 0xE000E000u
#define MVFR0_ADDR 0xE000EF40u
#define MVFR1_ADDR 0xE000EF44u
#define ID_BLOCK 0xFD0u

#define DWT_MATCHED (1u << 24)

#define AIRCR_VECTKEY 0x05FAu
#define AIRCR_VECTRESET (1u << 0)
#define AIRCR_VECTCLRACTIVE (1u << 1)
#define AIRCR_SYSRESETREQ (1u << 2)

/* CoreSight component and peripheral IDs of the Cortex-M4 r0p1 components
 * (Cortex-M4 TRM tables 3-3 ... 3-6, ROM table 3-2): PID4, PID0-3, CID0-3. */
typedef struct component_id {
    uint32_t base;
    uint8_t pid[5]; /* PID0..PID4 */
    uint8_t cid1;   /* class: 0x10 ROM table, 0xE0 generic IP */
} component_id;

static const component_id components[] = {
    {0xE00FF000u, {0xC4, 0xB4, 0x0B, 0x00, 0x04}, 0x10}, /* ROM table */
    {SCS_BASE, {0x0C, 0xB0, 0x0B, 0x00, 0x04}, 0xE0},
    {DWT_BASE, {0x02, 0xB0, 0x3B, 0x00, 0x04}, 0xE0},
    {FPB_BASE, {0x03, 0xB0, 0x2B, 0x00, 0x04}, 0xE0},
    {ITM_BASE, {0x01, 0xB0, 0x3B, 0x00, 0x04}, 0xE0},
};

static sim_chip *chip(const sim_cortexm *m)
{
    return m->chip;
}

/* ---- core registers ---- */

static uint32_t reg_get(sim_cortexm *m, int uc_reg)
{
    uint32_t v = 0;
    uc_reg_read(chip(m)->uc, uc_reg, &v);
    return v;
}

static void reg_set(sim_cortexm *m, int uc_reg, uint32_t v)
{
    uc_reg_write(chip(m)->uc, uc_reg, &v);
}

static int gpr_of(unsigned sel)
{
    static const int map[] = {UC_ARM_REG_R0,   UC_ARM_REG_R1,  UC_ARM_REG_R2,  UC_ARM_REG_R3,
                              UC_ARM_REG_R4,   UC_ARM_REG_R5,  UC_ARM_REG_R6,  UC_ARM_REG_R7,
                              UC_ARM_REG_R8,   UC_ARM_REG_R9,  UC_ARM_REG_R10, UC_ARM_REG_R11,
                              UC_ARM_REG_R12,  UC_ARM_REG_SP,  UC_ARM_REG_LR,  UC_ARM_REG_PC,
                              UC_ARM_REG_XPSR, UC_ARM_REG_MSP, UC_ARM_REG_PSP};
    return sel < sizeof map / sizeof map[0] ? map[sel] : -1;
}

/* DCRSR REGSEL (DDI0403E C1.6.3): 0-12 R0-R12, 13 SP, 14 LR, 15
 * DebugReturnAddress, 16 xPSR, 17 MSP, 18 PSP, 20 CONTROL/FAULTMASK/
 * BASEPRI/PRIMASK, 33 FPSCR, 64-95 S0-S31. */
static uint32_t core_reg_read(sim_cortexm *m, unsigned sel)
{
    int r = gpr_of(sel);
    if (r >= 0) {
        uint32_t v = reg_get(m, r);
        if (sel == 16) v |= 0x01000000u; /* EPSR.T: a Cortex-M runs Thumb code */
        if (sel == 15) v &= ~1u;
        return v;
    }
    if (sel == 20)
        return (reg_get(m, UC_ARM_REG_CONTROL) & 0xFFu) << 24 |
               (reg_get(m, UC_ARM_REG_FAULTMASK) & 1u) << 16 |
               (reg_get(m, UC_ARM_REG_BASEPRI) & 0xFFu) << 8 |
               (reg_get(m, UC_ARM_REG_PRIMASK) & 1u);
    if (m->desc->fpu && sel == 33) return reg_get(m, UC_ARM_REG_FPSCR);
    if (m->desc->fpu && sel >= 64 && sel < 96) return reg_get(m, UC_ARM_REG_S0 + (int)(sel - 64));
    return 0;
}

static void core_reg_write(sim_cortexm *m, unsigned sel, uint32_t v)
{
    int r = gpr_of(sel);
    if (r >= 0) {
        if (sel == 15) v &= ~1u;
        reg_set(m, r, v);
        return;
    }
    if (sel == 20) {
        reg_set(m, UC_ARM_REG_PRIMASK, v & 1u);
        reg_set(m, UC_ARM_REG_BASEPRI, (v >> 8) & 0xFFu);
        reg_set(m, UC_ARM_REG_FAULTMASK, (v >> 16) & 1u);
        reg_set(m, UC_ARM_REG_CONTROL, (v >> 24) & 0x7u);
        return;
    }
    if (m->desc->fpu && sel == 33) reg_set(m, UC_ARM_REG_FPSCR, v);
    if (m->desc->fpu && sel >= 64 && sel < 96) reg_set(m, UC_ARM_REG_S0 + (int)(sel - 64), v);
}

/* ---- halting ---- */

static void halt(sim_cortexm *m, uint32_t reason)
{
    if (!m->halted) m->halts++;
    m->halted = true;
    m->locked_up = false;
    m->dfsr |= reason;
    m->dhcsr |= DHCSR_C_HALT; /* the core sets C_HALT when it enters Debug state */
}

static uint64_t core_cycles(const sim_cortexm *m)
{
    return chip(m)->insns;
}

/* Core-only reset (VECTRESET) or the core part of a system reset: MSP and
 * PC from the vector table at the boot alias of flash, xPSR Thumb, LR
 * 0xFFFFFFFF. */
static void core_reset(sim_cortexm *m)
{
    uint8_t v[8];
    uint32_t sp = 0, pc = 0;
    if (oflash__sim_read(chip(m), chip(m)->map.flash_alias, v, 8) == 0) {
        sp = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
        pc = (uint32_t)v[4] | (uint32_t)v[5] << 8 | (uint32_t)v[6] << 16 | (uint32_t)v[7] << 24;
    }
    for (unsigned i = 0; i <= 12; i++)
        reg_set(m, gpr_of(i), 0);
    reg_set(m, UC_ARM_REG_CONTROL, 0);
    reg_set(m, UC_ARM_REG_PRIMASK, 0);
    reg_set(m, UC_ARM_REG_BASEPRI, 0);
    reg_set(m, UC_ARM_REG_FAULTMASK, 0);
    reg_set(m, UC_ARM_REG_PSP, 0);
    reg_set(m, UC_ARM_REG_MSP, sp & ~3u);
    reg_set(m, UC_ARM_REG_SP, sp & ~3u);
    reg_set(m, UC_ARM_REG_LR, 0xFFFFFFFFu);
    reg_set(m, UC_ARM_REG_XPSR, 0x01000000u);
    reg_set(m, UC_ARM_REG_PC, pc & ~1u);
}

static void after_reset(sim_cortexm *m)
{
    m->s_reset = true;
    m->locked_up = false;
    m->halted = false;
    m->dhcsr &= ~(DHCSR_C_HALT | DHCSR_C_STEP);
    if ((m->dhcsr & DHCSR_C_DEBUGEN) && (m->demcr & DEMCR_VC_CORERESET)) halt(m, DFSR_VCATCH);
}

void oflash__sim_cortexm_system_reset(sim_cortexm *m)
{
    oflash__sim_chip_reset(chip(m)); /* core, flash interface, peripherals */
    core_reset(m);
    after_reset(m);
}

void oflash__sim_cortexm_srst(sim_cortexm *m, bool asserted)
{
    if (asserted == m->in_srst) return;
    m->in_srst = asserted;
    if (!asserted) oflash__sim_cortexm_system_reset(m);
}

/* A fault the core takes at pc (ARMv7-M B1.5.6 exception entry, without
 * FP context: the model never sets CONTROL.FPCA). */
static void take_fault(sim_cortexm *m, uint32_t catch_bit, const char *what)
{
    sim_chip *c = chip(m);
    uint32_t ipsr = reg_get(m, UC_ARM_REG_IPSR) & 0x1FFu;
    uint32_t xpsr = reg_get(m, UC_ARM_REG_XPSR) | 0x01000000u;
    uint32_t pc = reg_get(m, UC_ARM_REG_PC) & ~1u;
    uint32_t control = reg_get(m, UC_ARM_REG_CONTROL);
    bool psp = ipsr == 0 && (control & 2u);
    uint32_t sp = reg_get(m, psp ? UC_ARM_REG_PSP : UC_ARM_REG_MSP);
    uint32_t frame[8], vector = 0;
    uint8_t b[4];

    snprintf(m->last_fault, sizeof m->last_fault, "%s", what);
    if (ipsr == 3 || ipsr == 2) { /* fault in HardFault or NMI: lockup */
        m->locked_up = true;
        reg_set(m, UC_ARM_REG_PC, 0xFFFFFFFEu);
        return;
    }
    frame[0] = reg_get(m, UC_ARM_REG_R0);
    frame[1] = reg_get(m, UC_ARM_REG_R1);
    frame[2] = reg_get(m, UC_ARM_REG_R2);
    frame[3] = reg_get(m, UC_ARM_REG_R3);
    frame[4] = reg_get(m, UC_ARM_REG_R12);
    frame[5] = reg_get(m, UC_ARM_REG_LR);
    frame[6] = pc;
    frame[7] = xpsr;
    if (sp & 4u) {
        frame[7] |= 1u << 9; /* stack realigned to 8 bytes */
        sp -= 4;
    }
    sp -= 32;
    for (int i = 0; i < 8; i++) {
        uint8_t w[4] = {(uint8_t)frame[i], (uint8_t)(frame[i] >> 8), (uint8_t)(frame[i] >> 16),
                        (uint8_t)(frame[i] >> 24)};
        if (oflash__sim_write(c, sp + 4u * (unsigned)i, w, 4) < 0) {
            m->locked_up = true; /* stacking failed: treated as unrecoverable */
            reg_set(m, UC_ARM_REG_PC, 0xFFFFFFFEu);
            return;
        }
    }
    if (oflash__sim_read(c, c->map.flash_alias + 3 * 4, b, 4) == 0) /* VTOR is not modelled */
        vector = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    if (!(vector & 1u) || vector == 0xFFFFFFFFu) { /* no valid handler: lockup */
        m->locked_up = true;
        reg_set(m, UC_ARM_REG_PC, 0xFFFFFFFEu);
        return;
    }
    reg_set(m, psp ? UC_ARM_REG_PSP : UC_ARM_REG_MSP, sp);
    reg_set(m, UC_ARM_REG_CONTROL, control & ~2u); /* handler mode runs on MSP */
    reg_set(m, UC_ARM_REG_SP, psp ? reg_get(m, UC_ARM_REG_MSP) : sp);
    reg_set(m, UC_ARM_REG_LR, ipsr ? 0xFFFFFFF1u : psp ? 0xFFFFFFFDu : 0xFFFFFFF9u);
    reg_set(m, UC_ARM_REG_XPSR, (xpsr & 0xF8000000u) | 0x01000000u | 3u);
    reg_set(m, UC_ARM_REG_PC, vector & ~1u);
    if ((m->dhcsr & DHCSR_C_DEBUGEN) && (m->demcr & (DEMCR_VC_HARDERR | catch_bit)))
        halt(m, DFSR_VCATCH);
}

/* Exception return (ARMv7-M B1.5.8): a handler branched to an EXC_RETURN
 * value.  Unicorn reports it as an instruction fetch fault at
 * 0xFFFFFFFx with IPSR still set; pop the frame the entry pushed.  Returns
 * false if that is not what happened. */
static bool exception_return(sim_cortexm *m)
{
    sim_chip *c = chip(m);
    uint32_t pc = reg_get(m, UC_ARM_REG_PC), exc = pc | 1u;
    uint32_t ipsr = reg_get(m, UC_ARM_REG_IPSR) & 0x1FFu;
    uint32_t frame[8], sp;
    bool psp = exc == 0xFFFFFFFDu, thread = exc != 0xFFFFFFF1u;
    uint8_t b[32];

    if (!ipsr || (exc != 0xFFFFFFF1u && exc != 0xFFFFFFF9u && exc != 0xFFFFFFFDu)) return false;
    sp = reg_get(m, psp ? UC_ARM_REG_PSP : UC_ARM_REG_MSP);
    if (oflash__sim_read(c, sp, b, sizeof b) < 0) return false; /* unstacking fault: lockup */
    for (int i = 0; i < 8; i++)
        frame[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                   (uint32_t)b[4 * i + 3] << 24;
    sp += 32 + ((frame[7] >> 9) & 1u) * 4; /* the stack was realigned at entry */
    reg_set(m, UC_ARM_REG_R0, frame[0]);
    reg_set(m, UC_ARM_REG_R1, frame[1]);
    reg_set(m, UC_ARM_REG_R2, frame[2]);
    reg_set(m, UC_ARM_REG_R3, frame[3]);
    reg_set(m, UC_ARM_REG_R12, frame[4]);
    reg_set(m, UC_ARM_REG_LR, frame[5]);
    reg_set(m, psp ? UC_ARM_REG_PSP : UC_ARM_REG_MSP, sp);
    reg_set(m, UC_ARM_REG_CONTROL, (reg_get(m, UC_ARM_REG_CONTROL) & ~2u) | (psp ? 2u : 0u));
    reg_set(m, UC_ARM_REG_SP, sp);
    reg_set(m, UC_ARM_REG_XPSR, (frame[7] & ~(1u << 9)) | 0x01000000u);
    if (!thread && (frame[7] & 0x1FFu) == 0) /* return to handler mode needs an IPSR */
        return false;
    reg_set(m, UC_ARM_REG_PC, frame[6] & ~1u);
    return true;
}

/* ---- FPB ---- */

static void fpb_hook(uc_engine *uc, uint64_t address, uint32_t size, void *ud)
{
    sim_cortexm *m = ud;
    (void)size;
    (void)address;
    if (!(m->dhcsr & DHCSR_C_DEBUGEN)) return;
    m->fp_hit = true;
    uc_emu_stop(uc);
}

/* Re-arm one Unicorn code hook per halfword an enabled code comparator
 * watches (FPB version 1: COMP[28:2], REPLACE[31:30]). */
static void fpb_rearm(sim_cortexm *m)
{
    sim_chip *c = chip(m);
    for (unsigned i = 0; i < SIM_FPB_MAX; i++) {
        if (m->fp_hooked[i]) {
            uc_hook_del(c->uc, (uc_hook)m->fp_hooks[i]);
            m->fp_hooked[i] = false;
            /* code translated with the hook keeps calling it: drop it */
            uc_ctl_remove_cache(c->uc, m->fp_addr[i], m->fp_addr[i] + 2);
        }
    }
    for (unsigned i = 0; i < m->desc->fpb_code && i < SIM_FPB_MAX / 2; i++) {
        uint32_t comp = m->fp_comp[i], base = comp & 0x1FFFFFFCu;
        unsigned replace = comp >> 30;
        if (!m->fp_ctrl_enable || !(comp & 1u) || replace == 0) continue;
        for (unsigned half = 0; half < 2; half++) {
            unsigned slot = i * 2 + half;
            uc_hook h;
            uint32_t a = base + 2 * half;
            if (!(replace & (1u << half))) continue;
            if (uc_hook_add(c->uc, &h, UC_HOOK_CODE, (void *)fpb_hook, m, a, a) == UC_ERR_OK) {
                m->fp_hooks[slot] = (size_t)h;
                m->fp_hooked[slot] = true;
                m->fp_addr[slot] = a;
                /* code translated before the hook existed does not call it */
                uc_ctl_remove_cache(c->uc, a, a + 2);
            }
        }
    }
}

/* ---- DWT data watchpoints ---- */

static void dwt_hook(uc_engine *uc, uc_mem_type type, uint64_t address, int size, int64_t value,
                     void *ud)
{
    sim_cortexm *m = ud;
    (void)type;
    (void)size;
    (void)value;
    for (unsigned n = 0; n < m->desc->dwt_comp && n < SIM_DWT_MAX; n++) {
        uint32_t span = 1u << (m->dwt_mask[n] & 0x1Fu);
        if (m->dwt_hooked[n] && (uint32_t)address - (m->dwt_comp[n] & ~(span - 1)) < span)
            m->dwt_func[n] |= DWT_MATCHED;
    }
    if (!(m->dhcsr & DHCSR_C_DEBUGEN)) return;
    m->dwt_hit = true;
    uc_emu_stop(uc);
}

/* One Unicorn memory hook per comparator whose FUNCTION is a data
 * watchpoint: 5 read, 6 write, 7 read or write (ARMv7-M C1.8.7), over the
 * 2^MASK bytes it matches.  The core halts after the accessing
 * instruction (DFSR.DWTTRAP), as data watchpoints on the Cortex-M4 do. */
static void dwt_rearm(sim_cortexm *m)
{
    sim_chip *c = chip(m);
    for (unsigned n = 0; n < SIM_DWT_MAX; n++) {
        if (m->dwt_hooked[n]) uc_hook_del(c->uc, (uc_hook)m->dwt_hooks[n]);
        m->dwt_hooked[n] = false;
    }
    for (unsigned n = 0; n < m->desc->dwt_comp && n < SIM_DWT_MAX; n++) {
        unsigned f = m->dwt_func[n] & 0xFu;
        uint32_t span = 1u << (m->dwt_mask[n] & 0x1Fu), base = m->dwt_comp[n] & ~(span - 1);
        int type = f == 5   ? UC_HOOK_MEM_READ
                   : f == 6 ? UC_HOOK_MEM_WRITE
                            : UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE;
        uc_hook h;
        if (f < 5 || f > 7) continue;
        if (uc_hook_add(c->uc, &h, type, (void *)dwt_hook, m, base, (uint64_t)base + span - 1) ==
            UC_ERR_OK) {
            m->dwt_hooks[n] = (size_t)h;
            m->dwt_hooked[n] = true;
        }
    }
}

/* ---- running ---- */

static const char *fault_name(const sim_chip *c)
{
    return c->stop_detail[0] ? c->stop_detail : "fault";
}

/* Run the core until it halts, locks up, or n instructions retired.
 * Unicorn counts them exactly (its count hook): it is passed on every call
 * so that the hook is in place before any code is translated; code
 * translated without it would not be counted.  Simulated time is still
 * taken per translated block by the chip's block hook. */
static void run_core(sim_cortexm *m, uint64_t n, bool step)
{
    sim_chip *c = chip(m);
    uint32_t pc = reg_get(m, UC_ARM_REG_PC);
    uint64_t before = c->insns;
    uc_err e;

    c->stop = SIM_STOP_NONE;
    c->stop_detail[0] = '\0';
    c->run_budget = 0;
    c->run_insns = 0;
    c->run_deadline_ns = 0;
    m->fp_hit = false;
    m->dwt_hit = false;
    c->in_run = true;
    e = uc_emu_start(c->uc, pc | 1u, 0xFFFFFFFFu, 0, (size_t)(n ? n : 1));
    c->in_run = false;
    oflash__sim_journal_flush(&c->file);
    if (c->dirty_hi > c->dirty_lo) {
        uc_ctl_remove_cache(c->uc, (uint64_t)c->map.flash_base + c->dirty_lo,
                            (uint64_t)c->map.flash_base + c->dirty_hi);
        uc_ctl_remove_cache(c->uc, (uint64_t)c->map.flash_alias + c->dirty_lo,
                            (uint64_t)c->map.flash_alias + c->dirty_hi);
        c->dirty_lo = c->dirty_hi = 0;
    }
    if (reg_get(m, UC_ARM_REG_PC) != (pc & ~1u) || c->insns != before) m->s_retire = true;
    if (c->insns == before && e == UC_ERR_OK && c->stop == SIM_STOP_NONE && !m->fp_hit) {
        /* Instructions inside a block already counted by the block hook
         * (a resume after a single step): count one cycle at least. */
        c->insns++;
        oflash__sim_advance(c, c->cycle_ps);
    }

    if (c->power_lost) {
        m->halted = true;
        return;
    }
    if (c->wdg_reset_pending) { /* SYSRESETREQ from the program, or the watchdog */
        c->wdg_reset_pending = false;
        oflash__sim_cortexm_system_reset(m);
        return;
    }
    if (m->fp_hit) {
        halt(m, DFSR_BKPT);
        return;
    }
    if (m->dwt_hit) {
        halt(m, DFSR_DWTTRAP);
        return;
    }
    if (c->stop == SIM_STOP_BKPT) {
        if (m->dhcsr & DHCSR_C_DEBUGEN)
            halt(m, DFSR_BKPT);
        else
            take_fault(m, 0, "BKPT with debug disabled");
        return;
    }
    if ((c->stop == SIM_STOP_FAULT || e != UC_ERR_OK) && exception_return(m)) {
        if (step) halt(m, DFSR_HALTED);
        return;
    }
    if (c->stop == SIM_STOP_FAULT) {
        take_fault(m, strstr(c->stop_detail, "bus fault") ? DEMCR_VC_BUSERR : DEMCR_VC_STATERR,
                   fault_name(c));
        return;
    }
    if (e != UC_ERR_OK) {
        char what[96];
        snprintf(what, sizeof what, "%s at 0x%08X", uc_strerror(e), reg_get(m, UC_ARM_REG_PC));
        take_fault(m, e == UC_ERR_INSN_INVALID ? DEMCR_VC_STATERR : DEMCR_VC_BUSERR, what);
        return;
    }
    if (step) halt(m, DFSR_HALTED);
}

void oflash__sim_cortexm_advance(sim_cortexm *m, uint64_t ps)
{
    sim_chip *c = chip(m);
    uint64_t target = c->now_ps + ps;
    if (c->power_lost) return;
    /* The core runs in slices up to the target time; it may overshoot by
     * one translated block, which the next call absorbs. */
    while (!m->halted && !m->locked_up && !m->in_srst && c->now_ps < target) {
        uint64_t n = (target - c->now_ps) / (c->cycle_ps ? c->cycle_ps : 1);
        if (n == 0) break;
        run_core(m, n, false);
    }
    if (c->now_ps < target) oflash__sim_advance(c, target - c->now_ps);
}

/* ---- the debug registers ---- */

static uint32_t dhcsr_read(sim_cortexm *m)
{
    uint32_t v = (m->dhcsr & 0x2Fu) | DHCSR_S_REGRDY;
    if (m->halted) v |= DHCSR_S_HALT;
    if (m->locked_up) v |= DHCSR_S_LOCKUP;
    if (m->s_retire) v |= DHCSR_S_RETIRE_ST;
    if (m->s_reset) v |= DHCSR_S_RESET_ST;
    m->s_retire = false;
    m->s_reset = false;
    return v;
}

static void dhcsr_write(sim_cortexm *m, uint32_t v)
{
    if ((v & 0xFFFF0000u) != DHCSR_DBGKEY) return; /* writes without DBGKEY are ignored */
    v &= 0x2Fu;
    if (!(v & DHCSR_C_DEBUGEN)) v = 0; /* C_HALT, C_STEP, C_MASKINTS need C_DEBUGEN */
    m->dhcsr = v;
    if (v & DHCSR_C_HALT) {
        if (!m->halted) halt(m, DFSR_HALTED);
        return;
    }
    if (!m->halted && !m->locked_up) return;
    if (m->locked_up && m->halted) m->locked_up = false;
    if (!m->halted) return; /* locked up and not halted: stays locked up */
    m->halted = false;
    m->resumes++;
    if (v & DHCSR_C_STEP) {
        m->steps++;
        run_core(m, 1, true);
        if (!m->halted) halt(m, DFSR_HALTED);
    }
}

static uint32_t cyccnt(const sim_cortexm *m)
{
    if (!(m->dwt_ctrl & 1u) || !(m->demcr & DEMCR_TRCENA)) return m->cyccnt_written;
    return m->cyccnt_written + (uint32_t)(core_cycles(m) - m->cyccnt_base);
}

static bool id_read(uint32_t addr, uint32_t *val)
{
    for (size_t i = 0; i < sizeof components / sizeof components[0]; i++) {
        uint32_t off = addr - components[i].base;
        if (addr < components[i].base || off < ID_BLOCK || off > 0xFFC) continue;
        switch (off) {
        case 0xFD0:
            *val = components[i].pid[4];
            return true;
        case 0xFE0:
            *val = components[i].pid[0];
            return true;
        case 0xFE4:
            *val = components[i].pid[1];
            return true;
        case 0xFE8:
            *val = components[i].pid[2];
            return true;
        case 0xFEC:
            *val = components[i].pid[3];
            return true;
        case 0xFF0:
            *val = 0x0D;
            return true;
        case 0xFF4:
            *val = components[i].cid1;
            return true;
        case 0xFF8:
            *val = 0x05;
            return true;
        case 0xFFC:
            *val = 0xB1;
            return true;
        default:
            *val = 0;
            return true;
        }
    }
    return false;
}

/* Debug register read at a word address; false if addr is not one. */
static bool dbg_reg_read(sim_cortexm *m, uint32_t addr, uint32_t *val)
{
    const sim_dbg_desc *d = m->desc;
    if (addr >= d->rom_base && addr < d->rom_base + 0x1000u) {
        uint32_t off = addr - d->rom_base;
        static const uint32_t targets[] = {SCS_BASE, DWT_BASE, FPB_BASE, ITM_BASE};
        if (id_read(addr, val)) return true;
        if (off < sizeof targets) {
            *val = (targets[off / 4] - d->rom_base) | 3u; /* offset, 32-bit format, present */
            return true;
        }
        *val = off == 0xFCC ? 1u : 0u; /* MEMTYPE.SYSMEM */
        return true;
    }
    if (addr >= ITM_BASE && addr < ITM_BASE + 0x1000u) {
        uint32_t off = addr - ITM_BASE;
        if (id_read(addr, val)) return true;
        *val = off < 0x80     ? 1u /* stimulus port ready */
               : off == 0xE00 ? m->itm_ter
               : off == 0xE40 ? m->itm_tpr
               : off == 0xE80 ? m->itm_tcr
               : off == 0xFB4 ? (m->itm_lar == 0xC5ACCE55u ? 1u : 3u) /* LSR */
                              : 0u;
        return true;
    }
    if (addr >= DWT_BASE && addr < DWT_BASE + 0x1000u) {
        uint32_t off = addr - DWT_BASE;
        if (id_read(addr, val)) return true;
        if (off == 0) {
            *val = (uint32_t)d->dwt_comp << 28 | (m->dwt_ctrl & 0x0FFFFFFFu);
        } else if (off == 4) {
            *val = cyccnt(m);
        } else if (off == 0x1C) {
            *val = m->halted ? 0xFFFFFFFFu : reg_get(m, UC_ARM_REG_PC);
        } else if (off >= 0x20 && off < 0x20 + 16u * d->dwt_comp &&
                   off < 0x20 + 16u * SIM_DWT_MAX) {
            unsigned n = (off - 0x20) / 16;
            *val = (off & 0xF) == 0   ? m->dwt_comp[n]
                   : (off & 0xF) == 4 ? m->dwt_mask[n]
                   : (off & 0xF) == 8 ? m->dwt_func[n]
                                      : 0;
            if ((off & 0xF) == 8) m->dwt_func[n] &= ~DWT_MATCHED; /* cleared by the read */
        } else {
            *val = 0;
        }
        return true;
    }
    if (addr >= FPB_BASE && addr < FPB_BASE + 0x1000u) {
        uint32_t off = addr - FPB_BASE;
        unsigned ncomp = d->fpb_code + d->fpb_lit;
        if (id_read(addr, val)) return true;
        if (off == 0)
            *val = (d->fpb_code & 0x70u) << 8 | (d->fpb_lit & 0xFu) << 8 |
                   (d->fpb_code & 0xFu) << 4 | m->fp_ctrl_enable;
        else if (off == 4)
            *val = m->fp_remap;
        else if (off >= 8 && off < 8 + 4 * ncomp && off < 8 + 4 * SIM_FPB_MAX)
            *val = m->fp_comp[(off - 8) / 4];
        else
            *val = 0;
        return true;
    }
    if (addr >= SCS_BASE && addr < SCS_BASE + 0x1000u) {
        if (id_read(addr, val)) return true;
        switch (addr) {
        case CPUID_ADDR:
            *val = d->cpuid;
            return true;
        case AIRCR_ADDR:
            *val = 0xFA050000u;
            return true; /* VECTKEYSTAT, little-endian */
        case DFSR_ADDR:
            *val = m->dfsr;
            return true;
        case DHCSR_ADDR:
            *val = dhcsr_read(m);
            return true;
        case DCRSR_ADDR:
            *val = 0;
            return true; /* write-only */
        case DCRDR_ADDR:
            *val = m->dcrdr;
            return true;
        case DEMCR_ADDR:
            *val = m->demcr;
            return true;
        case MVFR0_ADDR:
            *val = d->fpu ? d->mvfr0 : 0;
            return true;
        case MVFR1_ADDR:
            *val = d->fpu ? d->mvfr1 : 0;
            return true;
        default:
            return false; /* the rest of the SCS is the chip's */
        }
    }
    return false;
}

static bool dbg_reg_write(sim_cortexm *m, uint32_t addr, uint32_t v)
{
    const sim_dbg_desc *d = m->desc;
    if (addr >= d->rom_base && addr < d->rom_base + 0x1000u) return true; /* read-only */
    if (addr >= ITM_BASE && addr < ITM_BASE + 0x1000u) {
        uint32_t off = addr - ITM_BASE;
        if (off == 0xE00) m->itm_ter = v;
        if (off == 0xE40) m->itm_tpr = v;
        if (off == 0xE80) m->itm_tcr = v;
        if (off == 0xFB0) m->itm_lar = v;
        return true;
    }
    if (addr >= DWT_BASE && addr < DWT_BASE + 0x1000u) {
        uint32_t off = addr - DWT_BASE;
        if (off == 0) {
            uint32_t before = cyccnt(m);
            m->dwt_ctrl = v & 0x0FFFFFFFu;
            m->cyccnt_written = before;
            m->cyccnt_base = core_cycles(m);
        } else if (off == 4) {
            m->cyccnt_written = v;
            m->cyccnt_base = core_cycles(m);
        } else if (off >= 0x20 && off < 0x20 + 16u * d->dwt_comp &&
                   off < 0x20 + 16u * SIM_DWT_MAX) {
            unsigned n = (off - 0x20) / 16;
            if ((off & 0xF) == 0) m->dwt_comp[n] = v;
            if ((off & 0xF) == 4) m->dwt_mask[n] = v & 0x1Fu;
            if ((off & 0xF) == 8) m->dwt_func[n] = v & ~DWT_MATCHED; /* MATCHED is RO */
            dwt_rearm(m);
        }
        return true;
    }
    if (addr >= FPB_BASE && addr < FPB_BASE + 0x1000u) {
        uint32_t off = addr - FPB_BASE;
        unsigned ncomp = d->fpb_code + d->fpb_lit;
        if (off == 0 && (v & 2u)) /* KEY must be written as 1 */
            m->fp_ctrl_enable = v & 1u;
        else if (off == 4)
            m->fp_remap = v & 0x1FFFFFE0u;
        else if (off >= 8 && off < 8 + 4 * ncomp && off < 8 + 4 * SIM_FPB_MAX)
            m->fp_comp[(off - 8) / 4] = v & 0xDFFFFFFDu;
        else
            return true;
        fpb_rearm(m);
        return true;
    }
    if (addr >= SCS_BASE && addr < SCS_BASE + 0x1000u) {
        switch (addr) {
        case CPUID_ADDR:
            return true;
        case AIRCR_ADDR:
            if ((v >> 16) != AIRCR_VECTKEY) return true;
            if (v & AIRCR_SYSRESETREQ) {
                oflash__sim_cortexm_system_reset(m);
            } else if (v & AIRCR_VECTRESET) {
                core_reset(m);
                after_reset(m);
            }
            return true;
        case DFSR_ADDR:
            m->dfsr &= ~v;
            return true;
        case DHCSR_ADDR:
            dhcsr_write(m, v);
            return true;
        case DCRSR_ADDR: {
            unsigned sel = v & 0x7Fu;
            if (v & (1u << 16))
                core_reg_write(m, sel, m->dcrdr);
            else
                m->dcrdr = core_reg_read(m, sel);
            return true;
        }
        case DCRDR_ADDR:
            m->dcrdr = v;
            return true;
        case DEMCR_ADDR:
            m->demcr = v & 0x010F07F1u;
            return true;
        default:
            return false;
        }
    }
    return false;
}

/* ---- the bus the MEM-AP sees ---- */

/* Whether addr belongs to a debug register this file models (no side
 * effects). */
static bool dbg_claims(const sim_cortexm *m, uint32_t addr)
{
    uint32_t w = addr & ~3u;
    if (w >= m->desc->rom_base && w < m->desc->rom_base + 0x1000u) return true;
    if (w >= ITM_BASE && w < FPB_BASE + 0x1000u) return true;
    return w == CPUID_ADDR || w == AIRCR_ADDR || w == DFSR_ADDR ||
           (w >= DHCSR_ADDR && w <= DEMCR_ADDR) || w == MVFR0_ADDR || w == MVFR1_ADDR ||
           (w >= SCS_BASE + ID_BLOCK && w < SCS_BASE + 0x1000u);
}

static int bus_read(void *ctx, uint32_t addr, unsigned size, uint32_t *val)
{
    sim_cortexm *m = ctx;
    uint8_t b[4] = {0};
    uint32_t word;
    if (chip(m)->power_lost) return -1;
    if (dbg_reg_read(m, addr & ~3u, &word)) {
        unsigned sh = 8 * (addr & 3u);
        *val = size == 4 ? word : (word >> sh) & ((1u << (8 * size)) - 1u);
        return 0;
    }
    if (oflash__sim_read(chip(m), addr, b, size) < 0) return -1;
    *val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static int bus_write(void *ctx, uint32_t addr, unsigned size, uint32_t val)
{
    sim_cortexm *m = ctx;
    uint8_t b[4] = {(uint8_t)val, (uint8_t)(val >> 8), (uint8_t)(val >> 16), (uint8_t)(val >> 24)};
    if (chip(m)->power_lost) return -1;
    if (size == 4 && dbg_reg_write(m, addr, val)) return 0;
    if (size != 4 && dbg_claims(m, addr)) return 0; /* narrow writes to debug registers: dropped */
    if (oflash__sim_write(chip(m), addr, b, size) < 0) return -1;
    if (chip(m)->wdg_reset_pending) { /* the chip's own AIRCR path */
        chip(m)->wdg_reset_pending = false;
        oflash__sim_cortexm_system_reset(m);
    }
    return 0;
}

static void bus_sync(void *ctx)
{
    sim_cortexm *m = ctx;
    uint64_t ps = m->pending_ps;
    m->pending_ps = 0;
    if (ps) oflash__sim_cortexm_advance(m, ps);
}

/* Flash (and its alias) stalls the bus while an operation is in progress
 * (RM0090 §3.5.4: "a read/write access to the flash while it is busy
 * stalls the bus"). */
static uint64_t bus_stall(void *ctx, uint32_t addr)
{
    sim_cortexm *m = ctx;
    sim_chip *c = chip(m);
    uint32_t fs = c->nv.flash_size;
    bool flash = (addr >= c->map.flash_base && addr - c->map.flash_base < fs) ||
                 (addr >= c->map.flash_alias && addr - c->map.flash_alias < fs);
    oflash__sim_flash_update(c);
    if (!flash || !c->busy || c->busy_until_ps <= c->now_ps) return 0;
    return c->busy_until_ps - c->now_ps;
}

const sim_bus_ops oflash__sim_cortexm_bus = {bus_read, bus_write, bus_sync, bus_stall};

int oflash__sim_cortexm_init(sim_cortexm *m, struct sim_chip *c, const sim_dbg_desc *desc)
{
    memset(m, 0, sizeof *m);
    m->chip = c;
    m->desc = desc;
    /* Power-on: the debug logic is reset, the core runs from the reset
     * vector (sim_chip_open put it there). */
    m->s_reset = true;
    return 0;
}

void oflash__sim_cortexm_free(sim_cortexm *m)
{
    if (!m->chip) return;
    m->fp_ctrl_enable = 0;
    fpb_rearm(m);
    memset(m->dwt_func, 0, sizeof m->dwt_func);
    dwt_rearm(m);
    m->chip = NULL;
}
