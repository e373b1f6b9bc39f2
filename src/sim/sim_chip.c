/*
 * sim_chip.c - the simulated chip: Unicorn 2.0.1 Cortex-M glue, the memory
 * map the family model gives (sim_model.h), hooks, run/stop, core
 * registers, reset, busy time and faults, and the debugger's view of memory
 * (what a probe's read_mem/write_mem sees).
 *
 * Unicorn facts this relies on (measured, docs/architecture.md):
 *  - UC_MODE_THUMB + uc_ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M4) before any
 *    other call (UC_MODE_MCLASS would give a Cortex-M33);
 *  - uc_emu_start(begin|1, until, 0, count): until without the Thumb bit;
 *    never with a timeout: Unicorn's timeout thread re-reads the
 *    process-wide use_rt_clock on every poll, and every uc engine's first
 *    use (machine_initialize -> init_get_clock) sets it to 0 and back to 1,
 *    so a chip opened on one thread could stop a run on another as "timed
 *    out" (a monotonic start compared with a gettimeofday now); the run
 *    limits are hook_block's (target time, host backstop);
 *  - BKPT raises UC_HOOK_INTR intno 7 with PC on the BKPT: stop there;
 *  - flash is uc_mem_map_ptr'd UC_PROT_ALL then protected READ|EXEC, and a
 *    UC_HOOK_MEM_WRITE_PROT hook applies CPU writes through the flash
 *    interface model (AND semantics) - Unicorn does not store them itself;
 *  - code cannot run from MMIO; PC is imprecise inside memory hooks;
 *  - after bytes under translated code change, uc_ctl_remove_cache.
 * Core reset (PM0214 §2.3.2/§2.1.3): MSP from 0x00000000, PC from
 * 0x00000004, xPSR 0x01000000 (Thumb), LR 0xFFFFFFFF.  CPU time is
 * counted as one core clock cycle per instruction (flash wait states and
 * multi-cycle instructions are not modelled).
 */
#include "sim_internal.h"

#include "common/error_internal.h"
#include "oflash/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_RUN_TIMEOUT_MS 10000u
#define EXACT_BUDGET_MAX 1000000u

void oflash__sim_stop(sim_chip *c, sim_stop_kind kind, const char *fmt, ...)
{
    va_list ap;
    if (c->stop != SIM_STOP_NONE && c->stop != SIM_STOP_BUDGET) return; /* keep the first cause */
    c->stop = kind;
    va_start(ap, fmt);
    vsnprintf(c->stop_detail, sizeof c->stop_detail, fmt, ap);
    va_end(ap);
    if (c->in_run) uc_emu_stop(c->uc);
}

void oflash__sim_mark_dirty(sim_chip *c, uint32_t off, uint32_t len)
{
    if (c->dirty_hi <= c->dirty_lo) {
        c->dirty_lo = off;
        c->dirty_hi = off + len;
        return;
    }
    if (off < c->dirty_lo) c->dirty_lo = off;
    if (off + len > c->dirty_hi) c->dirty_hi = off + len;
}

/* Drop translated code over flash bytes that changed. */
static void flush_code_cache(sim_chip *c)
{
    if (c->dirty_hi > c->dirty_lo) {
        uc_ctl_remove_cache(c->uc, (uint64_t)c->map.flash_base + c->dirty_lo,
                            (uint64_t)c->map.flash_base + c->dirty_hi);
        uc_ctl_remove_cache(c->uc, (uint64_t)c->map.flash_alias + c->dirty_lo,
                            (uint64_t)c->map.flash_alias + c->dirty_hi);
    }
    c->dirty_lo = c->dirty_hi = 0;
}

/* ---- busy time and faults (for models) ---- */

void oflash__sim_flash_update(sim_chip *c)
{
    if (c->busy && c->now_ps >= c->busy_until_ps) {
        c->busy = false;
        c->model->complete(c);
    }
}

void oflash__sim_advance(sim_chip *c, uint64_t ps)
{
    c->now_ps += ps;
    oflash__sim_flash_update(c);
}

void oflash__sim_stall(sim_chip *c)
{
    oflash__sim_flash_update(c);
    if (c->busy) oflash__sim_advance(c, c->busy_until_ps - c->now_ps);
}

void oflash__sim_start_busy(sim_chip *c, uint64_t ps)
{
    c->busy = true;
    c->busy_until_ps = c->now_ps + ps;
    c->busy_ps_total += ps;
}

bool oflash__sim_power_fails_now(const sim_chip *c)
{
    return c->nv.faults.power_loss && c->flash_ops == c->nv.faults.power_loss_after;
}

uint8_t *oflash__sim_nv_ptr(sim_chip *c, uint32_t addr, uint32_t len)
{
    uint32_t fb = c->map.flash_base;
    if (addr >= fb && addr - fb < c->nv.flash_size && len <= c->nv.flash_size - (addr - fb))
        return c->nv.flash + (addr - fb);
    if (addr >= c->nv.nv_base && addr - c->nv.nv_base < c->nv.nv_size &&
        len <= c->nv.nv_size - (addr - c->nv.nv_base))
        return c->nv.nv + (addr - c->nv.nv_base);
    return NULL;
}

void oflash__sim_journal_bytes(sim_chip *c, uint32_t addr, uint32_t len)
{
    oflash__sim_journal_data(&c->file, addr, oflash__sim_nv_ptr(c, addr, len), len);
    if (addr >= c->map.flash_base && addr - c->map.flash_base < c->nv.flash_size)
        oflash__sim_mark_dirty(c, addr - c->map.flash_base, len);
}

void oflash__sim_journal_opt(sim_chip *c)
{
    oflash__sim_journal_options(&c->file, c->nv.opt, c->model->opt_words);
}

bool oflash__sim_flash_erase_range(sim_chip *c, uint32_t off, uint32_t len)
{
    uint8_t *p = c->nv.flash + off;
    uint32_t addr = c->map.flash_base + off;
    if (oflash__sim_power_fails_now(c)) {
        /* Interrupted erase: the first third reads erased, a band of cells
         * in between is partly erased, the rest keeps its old contents. */
        uint32_t done = len / 3, band = len / 16;
        memset(p, 0xFF, done);
        for (uint32_t i = done; i < done + band && i < len; i++)
            p[i] |= (uint8_t)rand();
        oflash__sim_journal_bytes(c, addr, len);
        oflash__sim_power_loss(c);
        return false;
    }
    if (c->nv.faults.fail_at && c->nv.faults.fail_addr >= addr &&
        c->nv.faults.fail_addr - addr < len) {
        /* One word does not erase. */
        uint32_t bad = (c->nv.faults.fail_addr - c->map.flash_base) & ~3u;
        uint8_t keep[4];
        memcpy(keep, c->nv.flash + bad, 4);
        memset(p, 0xFF, len);
        memcpy(c->nv.flash + bad, keep, 4);
        oflash__sim_journal_bytes(c, addr, len);
        return true;
    }
    memset(p, 0xFF, len);
    oflash__sim_journal_fill(&c->file, addr, len, 0xFF);
    oflash__sim_mark_dirty(c, off, len);
    return false;
}

int oflash__sim_flash_and(sim_chip *c, uint32_t addr, uint64_t val, unsigned size)
{
    uint8_t *p = oflash__sim_nv_ptr(c, addr, size);
    if (!p) return 1;
    if (c->nv.faults.fail_at && c->nv.faults.fail_addr >= addr &&
        c->nv.faults.fail_addr - addr < size)
        return 1; /* the cells do not program: nothing changes */
    if (oflash__sim_power_fails_now(c)) {
        /* Power fails during the program pulse: a random subset of the
         * bits that should go to 0 do. */
        for (unsigned i = 0; i < size; i++)
            p[i] &= (uint8_t)(val >> (8 * i)) | (uint8_t)rand();
        oflash__sim_journal_bytes(c, addr, size);
        oflash__sim_power_loss(c);
        return 2;
    }
    for (unsigned i = 0; i < size; i++)
        p[i] &= (uint8_t)(val >> (8 * i));
    oflash__sim_journal_bytes(c, addr, size);
    return 0;
}

void oflash__sim_fill_stats(const sim_chip *c, oflash_sim_run_stats *st)
{
    memset(st, 0, sizeof *st);
    st->sim_time_ns = c->now_ps / 1000;
    st->cpu_insns = c->insns;
    st->program_ops = c->program_ops;
    st->erase_ops = c->erase_ops;
    st->option_ops = c->option_ops;
    st->flash_busy_ns = c->busy_ps_total / 1000;
    st->unknown_accesses = c->unknown;
    st->unknown_first = c->unknown_first;
    st->core_clock_hz = c->core_hz;
}

void oflash__sim_power_loss(sim_chip *c)
{
    c->power_lost = true;
    c->nv.faults.power_loss = false;      /* one-shot: the next command powers up normally */
    memset(c->nv.ram, 0, c->nv.ram_size); /* SRAM does not survive a power cycle */
    oflash__sim_fill_stats(c, &c->nv.last_run);
    oflash__sim_file_compact(&c->file, &c->nv);
    oflash__sim_stop(c, SIM_STOP_POWER,
                     "target power lost (simulated fault after %llu flash operations)",
                     (unsigned long long)c->flash_ops);
}

static int read_protection(const sim_chip *c, char *why, size_t len)
{
    if (len) why[0] = '\0';
    return c->model->read_protection ? c->model->read_protection(c, why, len) : 0;
}

void oflash__sim_update_protection(sim_chip *c)
{
    char why[32];
    bool blocked = read_protection(c, why, sizeof why) != 0;
    uint32_t prot = blocked ? UC_PROT_NONE : (UC_PROT_READ | UC_PROT_EXEC);
    if (blocked == c->rdp_blocked) return;
    uc_mem_protect(c->uc, c->map.flash_base, c->nv.flash_size, prot);
    uc_mem_protect(c->uc, c->map.flash_alias, c->nv.flash_size, prot);
    c->rdp_blocked = blocked;
}

/* ---- hooks ---- */

/* Host pointer to code at addr, or NULL (for instruction counting). */
static bool inside(uint32_t base, uint64_t size, uint32_t addr, uint32_t len)
{
    return addr >= base && (uint64_t)(addr - base) + len <= size;
}

static const uint8_t *code_ptr(sim_chip *c, uint32_t addr, uint32_t size)
{
    const sim_map *m = &c->map;
    if (inside(m->flash_base, c->nv.flash_size, addr, size))
        return c->nv.flash + (addr - m->flash_base);
    if (inside(m->flash_alias, c->nv.flash_size, addr, size))
        return c->nv.flash + (addr - m->flash_alias);
    if (inside(m->sram_base, c->nv.ram_size, addr, size)) return c->nv.ram + (addr - m->sram_base);
    if (m->extra_ram_size && inside(m->extra_ram_base, m->extra_ram_size, addr, size))
        return c->extra_ram + (addr - m->extra_ram_base);
    if (inside(m->sysmem_base, m->sysmem_size, addr, size))
        return c->sysmem + (addr - m->sysmem_base);
    return NULL;
}

/* Thumb-2: a halfword whose top five bits are 0b11101, 0b11110 or 0b11111
 * starts a 32-bit instruction. */
static uint32_t count_insns(const uint8_t *p, uint32_t size)
{
    uint32_t n = 0, i = 0;
    while (i + 1 < size) {
        unsigned top = p[i + 1] >> 3;
        i += top >= 0x1D ? 4 : 2;
        n++;
    }
    return n ? n : 1;
}

/* CPU time of the calling thread: the thread that runs the core (a run
 * executes on one thread from start to end). */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Host CPU time after which a run is stopped whatever its simulated time:
 * only against emulation that no longer advances time (see sim_internal.h).
 * CPU time, not wall time: a loaded host or an idle-priority core thread
 * (sim_core.c) may wait long for a CPU without being stuck. */
static uint64_t host_backstop_ms(unsigned timeout_ms)
{
    return (uint64_t)timeout_ms * 10u + 30000u;
}

static void hook_block(uc_engine *uc, uint64_t address, uint32_t size, void *ud)
{
    sim_chip *c = ud;
    const uint8_t *p = code_ptr(c, (uint32_t)address, size);
    uint32_t n = p ? count_insns(p, size) : (size + 1) / 2;
    (void)uc;
    c->insns += n;
    c->run_insns += n;
    oflash__sim_advance(c, (uint64_t)n * c->cycle_ps);
    if (c->iwdg_running) oflash__sim_iwdg_check(c);
    if (c->run_budget && c->run_insns >= c->run_budget && c->stop == SIM_STOP_NONE)
        oflash__sim_stop(c, SIM_STOP_BUDGET, "instruction budget of %llu exhausted",
                         (unsigned long long)c->run_budget);
    /* The time limits are checked here, at a block boundary, and not left to
     * Unicorn's timer thread: that one can stop the core inside a block
     * right after an MMIO store, and resuming re-executes the store (a
     * CRC_DR word fed twice). */
    if (c->run_sim_deadline_ps && c->now_ps >= c->run_sim_deadline_ps && c->stop == SIM_STOP_NONE)
        oflash__sim_stop(c, SIM_STOP_BUDGET, "time limit of %u ms (target time)",
                         c->run_timeout_ms);
    if (c->run_deadline_ns && (++c->run_blocks & 1023u) == 0 && c->stop == SIM_STOP_NONE &&
        thread_cpu_ns() >= c->run_deadline_ns)
        oflash__sim_stop(c, SIM_STOP_BUDGET, "host backstop of %llu ms",
                         (unsigned long long)host_backstop_ms(c->run_timeout_ms));
}

/* CFSR bits (ARMv7-M ARM B3.2.15) */
#define CFSR_IBUSERR 0x00000100u
#define CFSR_PRECISERR 0x00000200u
#define CFSR_BFARVALID 0x00008000u
#define CFSR_UNDEFINSTR 0x00010000u
#define CFSR_INVSTATE 0x00020000u

static void fault_status(sim_chip *c, uint32_t cfsr, uint32_t bfar)
{
    if (c->fault_cfsr) return; /* the first fault of the run */
    c->fault_cfsr = cfsr;
    c->fault_bfar = bfar;
}

static bool hook_write_prot(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
                            int64_t value, void *ud)
{
    sim_chip *c = ud;
    uint32_t a = (uint32_t)address;
    (void)uc;
    (void)type;
    if (a >= c->map.flash_alias && a - c->map.flash_alias < c->nv.flash_size)
        a = a - c->map.flash_alias + c->map.flash_base; /* boot alias */
    if (a >= c->map.flash_base && a - c->map.flash_base < c->nv.flash_size) {
        if (c->rdp_blocked) {
            fault_status(c, CFSR_PRECISERR | CFSR_BFARVALID, a);
            oflash__sim_stop(c, SIM_STOP_FAULT,
                             "bus fault: write to flash at 0x%08X while read protection level 1 "
                             "is active and the debugger is connected",
                             a);
            return false;
        }
        c->model->cpu_program(c, a, (uint64_t)value, (unsigned)size);
        return true;
    }
    fault_status(c, CFSR_PRECISERR | CFSR_BFARVALID, a);
    oflash__sim_stop(c, SIM_STOP_FAULT, "bus fault: write to read-only system memory at 0x%08X", a);
    return false;
}

static bool hook_read_prot(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
                           int64_t value, void *ud)
{
    sim_chip *c = ud;
    (void)uc;
    (void)size;
    (void)value;
    fault_status(c, type == UC_MEM_FETCH_PROT ? CFSR_IBUSERR : CFSR_PRECISERR | CFSR_BFARVALID,
                 (uint32_t)address);
    oflash__sim_stop(c, SIM_STOP_FAULT,
                     "bus fault: %s flash at 0x%08X while read protection level 1 is active "
                     "and the debugger is connected",
                     type == UC_MEM_FETCH_PROT ? "instruction fetch from" : "read of",
                     (uint32_t)address);
    return false;
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
                          int64_t value, void *ud)
{
    sim_chip *c = ud;
    (void)uc;
    (void)size;
    (void)value;
    fault_status(c, type == UC_MEM_FETCH_UNMAPPED ? CFSR_IBUSERR : CFSR_PRECISERR | CFSR_BFARVALID,
                 (uint32_t)address);
    oflash__sim_stop(c, SIM_STOP_FAULT, "bus fault: %s unmapped address 0x%08X",
                     type == UC_MEM_FETCH_UNMAPPED   ? "instruction fetch from"
                     : type == UC_MEM_WRITE_UNMAPPED ? "write to"
                                                     : "read of",
                     (uint32_t)address);
    return false;
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *ud)
{
    sim_chip *c = ud;
    uint32_t pc = 0;
    uc_reg_read(uc, UC_ARM_REG_PC, &pc);
    if (intno == 7) {
        if (c->stop == SIM_STOP_NONE || c->stop == SIM_STOP_BUDGET) {
            c->stop = SIM_STOP_BKPT;
            snprintf(c->stop_detail, sizeof c->stop_detail, "BKPT at 0x%08X", pc);
        }
        uc_emu_stop(uc);
        return;
    }
    fault_status(c,
                 intno == 1    ? CFSR_UNDEFINSTR
                 : intno == 3  ? CFSR_IBUSERR
                 : intno == 4  ? CFSR_PRECISERR
                 : intno == 18 ? CFSR_INVSTATE
                               : 0,
                 0);
    oflash__sim_stop(c, SIM_STOP_FAULT, "%s at 0x%08X (exception %u)",
                     intno == 1    ? "usage fault: undefined instruction"
                     : intno == 2  ? "SVC instruction (no handler)"
                     : intno == 3  ? "bus fault on instruction fetch"
                     : intno == 4  ? "bus fault on data access"
                     : intno == 18 ? "usage fault: invalid state (Thumb bit clear)"
                                   : "fault",
                     pc, intno);
}

/* MMIO callbacks: user data is the chip; the region base is added back. */
static uint64_t mmio_periph_read(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    (void)uc;
    return oflash__sim_mmio_read(ud, SIM_PERIPH_BASE + (uint32_t)off, size, false);
}

static void mmio_periph_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *ud)
{
    (void)uc;
    oflash__sim_mmio_write(ud, SIM_PERIPH_BASE + (uint32_t)off, size, v, false);
}

static uint64_t mmio_ppb_read(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    (void)uc;
    return oflash__sim_mmio_read(ud, SIM_PPB_BASE + (uint32_t)off, size, false);
}

static void mmio_ppb_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *ud)
{
    (void)uc;
    oflash__sim_mmio_write(ud, SIM_PPB_BASE + (uint32_t)off, size, v, false);
}

/* A model's window (OTP / ID page, option bytes): served by the model. */
static uint64_t mmio_window_read(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    sim_window_ud *w = ud;
    (void)uc;
    return oflash__sim_mmio_read(w->c, w->base + (uint32_t)off, size, false);
}

static void mmio_window_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *ud)
{
    sim_window_ud *w = ud;
    (void)uc;
    oflash__sim_mmio_write(w->c, w->base + (uint32_t)off, size, v, false);
}

/* ---- reset ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void oflash__sim_chip_reset(sim_chip *c)
{
    static const int gpr[] = {UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2,  UC_ARM_REG_R3,
                              UC_ARM_REG_R4, UC_ARM_REG_R5, UC_ARM_REG_R6,  UC_ARM_REG_R7,
                              UC_ARM_REG_R8, UC_ARM_REG_R9, UC_ARM_REG_R10, UC_ARM_REG_R11,
                              UC_ARM_REG_R12};
    uint32_t zero = 0, lr = 0xFFFFFFFFu, xpsr = 0x01000000u;
    uint32_t sp = le32(c->nv.flash), pc = le32(c->nv.flash + 4) & ~1u;
    oflash__sim_flash_update(c);
    oflash__sim_periph_reset(c); /* and the model's registers */
    for (size_t i = 0; i < sizeof gpr / sizeof gpr[0]; i++)
        uc_reg_write(c->uc, gpr[i], &zero);
    uc_reg_write(c->uc, UC_ARM_REG_PSP, &zero);
    uc_reg_write(c->uc, UC_ARM_REG_MSP, &sp);
    uc_reg_write(c->uc, UC_ARM_REG_SP, &sp);
    uc_reg_write(c->uc, UC_ARM_REG_LR, &lr);
    uc_reg_write(c->uc, UC_ARM_REG_XPSR, &xpsr);
    uc_reg_write(c->uc, UC_ARM_REG_PC, &pc);
    c->wdg_reset_pending = false;
}

/* ---- open / close ---- */

static int uc_fail(sim_chip *c, uc_err e, const char *what)
{
    oflash_error_set(OFLASH_ERROR, "%s: the simulated chip could not be set up (%s)", c->file.path,
                     what);
    return oflash__error_detail("unicorn: %s (code %d)", uc_strerror(e), (int)e);
}

/* An emulator stop in the words of the core's fault it stands for. */
static const char *uc_words(uc_err e)
{
    switch (e) {
    case UC_ERR_READ_UNMAPPED:
    case UC_ERR_WRITE_UNMAPPED:
    case UC_ERR_FETCH_UNMAPPED:
        return "bus fault: access to an address with no memory";
    case UC_ERR_READ_PROT:
    case UC_ERR_WRITE_PROT:
    case UC_ERR_FETCH_PROT:
        return "bus fault: access the memory does not allow";
    case UC_ERR_READ_UNALIGNED:
    case UC_ERR_WRITE_UNALIGNED:
    case UC_ERR_FETCH_UNALIGNED:
        return "usage fault: unaligned access";
    case UC_ERR_EXCEPTION:
        return "the core took an exception it cannot handle";
    default:
        return "the simulated core stopped on an internal error";
    }
}

static int setup_unicorn(sim_chip *c)
{
    const sim_map *m = &c->map;
    uc_err e;
    uc_hook h;
    uint32_t fs = c->nv.flash_size;

    if ((e = uc_open(UC_ARCH_ARM, UC_MODE_THUMB, &c->uc)) != UC_ERR_OK)
        return uc_fail(c, e, "uc_open");
    if ((e = uc_ctl_set_cpu_model(c->uc, m->cpu_model)) != UC_ERR_OK)
        return uc_fail(c, e, "set_cpu_model");
    /* Flash and its boot alias share one host buffer. */
    if ((e = uc_mem_map_ptr(c->uc, m->flash_base, fs, UC_PROT_ALL, c->nv.flash)) ||
        (e = uc_mem_protect(c->uc, m->flash_base, fs, UC_PROT_READ | UC_PROT_EXEC)) ||
        (e = uc_mem_map_ptr(c->uc, m->flash_alias, fs, UC_PROT_ALL, c->nv.flash)) ||
        (e = uc_mem_protect(c->uc, m->flash_alias, fs, UC_PROT_READ | UC_PROT_EXEC)))
        return uc_fail(c, e, "flash map");
    if ((e = uc_mem_map_ptr(c->uc, m->sram_base, c->nv.ram_size, UC_PROT_ALL, c->nv.ram)))
        return uc_fail(c, e, "SRAM map");
    if (m->extra_ram_size && (e = uc_mem_map_ptr(c->uc, m->extra_ram_base, m->extra_ram_size,
                                                 UC_PROT_ALL, c->extra_ram)))
        return uc_fail(c, e, "extra RAM map");
    if (m->sysmem_size &&
        ((e = uc_mem_map_ptr(c->uc, m->sysmem_base, m->sysmem_size, UC_PROT_ALL, c->sysmem)) ||
         (e = uc_mem_protect(c->uc, m->sysmem_base, m->sysmem_size, UC_PROT_READ | UC_PROT_EXEC))))
        return uc_fail(c, e, "system memory map");
    for (size_t i = 0; i < m->window_count; i++) {
        c->win_ud[i].c = c;
        c->win_ud[i].base = m->windows[i].base;
        if ((e = uc_mmio_map(c->uc, m->windows[i].base, m->windows[i].size, mmio_window_read,
                             &c->win_ud[i], mmio_window_write, &c->win_ud[i])))
            return uc_fail(c, e, "OTP/option map");
    }
    if ((e = uc_mmio_map(c->uc, SIM_PERIPH_BASE, SIM_PERIPH_SIZE, mmio_periph_read, c,
                         mmio_periph_write, c)) ||
        (e = uc_mmio_map(c->uc, SIM_PPB_BASE, SIM_PPB_SIZE, mmio_ppb_read, c, mmio_ppb_write, c)))
        return uc_fail(c, e, "peripheral map");
    if ((e = uc_hook_add(c->uc, &h, UC_HOOK_BLOCK, (void *)hook_block, c, 1, 0)) ||
        (e = uc_hook_add(c->uc, &h, UC_HOOK_MEM_WRITE_PROT, (void *)hook_write_prot, c, 1, 0)) ||
        (e = uc_hook_add(c->uc, &h, UC_HOOK_MEM_READ_PROT | UC_HOOK_MEM_FETCH_PROT,
                         (void *)hook_read_prot, c, 1, 0)) ||
        (e = uc_hook_add(c->uc, &h, UC_HOOK_MEM_UNMAPPED, (void *)hook_unmapped, c, 1, 0)) ||
        (e = uc_hook_add(c->uc, &h, UC_HOOK_INTR, (void *)hook_intr, c, 1, 0)))
        return uc_fail(c, e, "hook");
    return 0;
}

int oflash__sim_chip_open(sim_chip **out, const char *path, const oflash_probe_opts *opts)
{
    sim_chip *c;
    struct stat st;
    int rc;

    *out = NULL;
    if (!path || !*path)
        return oflash_error_set(OFLASH_EINVAL, "sim: expected sim:PATH (a chip file)");
    if (stat(path, &st) != 0) {
        if (!opts || !opts->device)
            return oflash_error_set(OFLASH_ENOTFOUND,
                                    "%s: no such simulated chip (create it with 'oflash sim "
                                    "create %s --device PART' or pass --device)",
                                    path, path);
        rc = oflash_sim_create(path, opts->device, opts->sim_uid);
        if (rc < 0) return rc;
    }
    c = calloc(1, sizeof *c);
    if (!c) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    c->file.fd = -1;
    rc = oflash__sim_file_open(&c->file, &c->nv, path, false);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->dev = oflash__sim_part_device(c->nv.part);
    c->model = oflash__sim_model_of(c->dev); /* sim_state.c checked that it has one */
    c->model->map(c->dev, c->nv.opt, &c->map);
    c->model_state = calloc(1, c->model->state_size ? c->model->state_size : 1);
    c->sysmem = malloc(c->map.sysmem_size ? c->map.sysmem_size : 2);
    c->extra_ram = calloc(1, c->map.extra_ram_size ? c->map.extra_ram_size : 1);
    if (!c->model_state || !c->sysmem || !c->extra_ram) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto fail;
    }
    {
        char why[32];
        if (read_protection(c, why, sizeof why) == 2) {
            rc = oflash_error_set(OFLASH_EPROTECTED,
                                  "%s: read protection level 2 (%s): the debug port of this chip "
                                  "is permanently disabled (as on silicon)",
                                  path, why);
            goto fail;
        }
    }
    /* System memory holds the vendor's boot loader on silicon; here BKPT
     * instructions, so a jump into it halts at once. */
    for (size_t i = 0; i + 1 < c->map.sysmem_size; i += 2) {
        c->sysmem[i] = 0x00;
        c->sysmem[i + 1] = 0xBE;
    }
    rc = setup_unicorn(c);
    if (rc < 0) goto fail;
    c->rdp_blocked = false;
    oflash__sim_update_protection(c);
    oflash__sim_chip_reset(c);
    *out = c;
    return 0;
fail:
    oflash__sim_chip_close(c);
    return rc;
}

void oflash__sim_chip_close(sim_chip *c)
{
    if (!c) return;
    oflash__sim_core_stop(c);
    if (c->file.fd >= 0) {
        if (!c->power_lost) oflash__sim_fill_stats(c, &c->nv.last_run);
        int had_error = c->file.err; /* already reported by the operation that hit it */
        if (oflash__sim_file_compact(&c->file, &c->nv) < 0 && !had_error)
            oflash_log(OFLASH_LOG_WARN, "%s", oflash_error_last());
    }
    if (c->uc) uc_close(c->uc);
    oflash__sim_file_close(&c->file);
    oflash__sim_nv_free(&c->nv);
    free(c->model_state);
    free(c->sysmem);
    free(c->extra_ram);
    free(c);
}

/* ---- run ---- */

int oflash__sim_run(sim_chip *c, const oflash_run_opts *opts, oflash_stop_info *stop)
{
    uint32_t pc = 0;
    uint64_t until = 0xFFFFFFFFu; /* odd: never matches a Thumb PC */
    unsigned timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_RUN_TIMEOUT_MS;
    uc_err e = UC_ERR_OK;

    /* Budgets up to EXACT_BUDGET_MAX are counted exactly by Unicorn (a
     * per-instruction hook: single steps are exact); larger ones per
     * translated block by hook_block (may overshoot by one block). */
    uint64_t exact = opts->max_insns && opts->max_insns <= EXACT_BUDGET_MAX ? opts->max_insns : 0;
    bool budget_done = false;

    c->stop = SIM_STOP_NONE;
    c->stop_detail[0] = '\0';
    c->fault_cfsr = c->fault_bfar = 0;
    c->run_budget = exact ? 0 : opts->max_insns;
    c->run_insns = 0;
    c->run_blocks = 0;
    c->run_timeout_ms = timeout_ms;
    c->run_sim_deadline_ps = c->now_ps + (uint64_t)timeout_ms * 1000000000u;
    c->run_deadline_ns = thread_cpu_ns() + host_backstop_ms(timeout_ms) * 1000000u;
    flush_code_cache(c);
    uc_reg_read(c->uc, UC_ARM_REG_PC, &pc);
    if (opts->have_break) until = opts->break_addr & ~1u;
    c->in_run = true;
    if (opts->have_break && (pc & ~1u) == until) {
        /* Resuming from the breakpoint address: step over it first. */
        e = uc_emu_start(c->uc, pc | 1u, 0xFFFFFFFFu, 0, 1);
        uc_reg_read(c->uc, UC_ARM_REG_PC, &pc);
        if (exact && --exact == 0) budget_done = true;
    }
    if (e == UC_ERR_OK && c->stop == SIM_STOP_NONE && !budget_done) {
        /* The time limits are enforced by hook_block, at every translated
         * block: every branch ends one, and a core that halts (WFI) ends
         * uc_emu_start.  No Unicorn timeout (see the top of this file). */
        e = uc_emu_start(c->uc, pc | 1u, until, 0, (size_t)exact);
        budget_done = exact != 0;
    }
    c->in_run = false;
    c->run_deadline_ns = 0;
    c->run_sim_deadline_ps = 0;
    oflash__sim_journal_flush(&c->file); /* a failure is sticky: reported below */
    flush_code_cache(c);
    uc_reg_read(c->uc, UC_ARM_REG_PC, &pc);

    stop->pc = pc;
    stop->detail[0] = '\0';
    if (c->stop == SIM_STOP_POWER) {
        return oflash_error_set(OFLASH_ELINK, "%s: %s", c->file.path, c->stop_detail);
    } else if (c->stop == SIM_STOP_BKPT) {
        stop->reason = OFLASH_STOP_BKPT;
    } else if (c->stop == SIM_STOP_FAULT) {
        stop->reason = OFLASH_STOP_FAULT;
        snprintf(stop->detail, sizeof stop->detail, "%s", c->stop_detail);
    } else if (e == UC_ERR_INSN_INVALID) {
        stop->reason = OFLASH_STOP_FAULT;
        fault_status(c, CFSR_UNDEFINSTR, 0);
        snprintf(stop->detail, sizeof stop->detail, "usage fault: undefined instruction at 0x%08X",
                 pc);
    } else if (e != UC_ERR_OK) {
        stop->reason = OFLASH_STOP_FAULT;
        snprintf(stop->detail, sizeof stop->detail, "%s near 0x%08X", uc_words(e), pc);
    } else if (c->stop == SIM_STOP_BUDGET) {
        stop->reason = OFLASH_STOP_TIMEOUT;
        snprintf(stop->detail, sizeof stop->detail, "%s", c->stop_detail);
    } else if (opts->have_break && (pc & ~1u) == until) {
        stop->reason = OFLASH_STOP_BREAKPOINT;
    } else if (budget_done) {
        stop->reason = OFLASH_STOP_TIMEOUT;
        snprintf(stop->detail, sizeof stop->detail, "instruction budget of %llu exhausted",
                 (unsigned long long)opts->max_insns);
    } else {
        stop->reason = OFLASH_STOP_HALT;
    }
    if (c->wdg_reset_pending) {
        oflash__sim_chip_reset(c);
        uc_reg_read(c->uc, UC_ARM_REG_PC, &pc);
        stop->pc = pc;
    }
    c->stop = SIM_STOP_NONE;
    return oflash__sim_file_error(&c->file);
}

/* ---- the debugger's view of memory ---- */

typedef enum { R_NONE, R_FLASH, R_RAM, R_EXTRA, R_SYSMEM, R_WINDOW, R_MMIO } region_kind;

/* Region of addr and the bytes left in it from addr. */
static region_kind region_at(const sim_chip *c, uint32_t addr, uint32_t *left)
{
    const sim_map *m = &c->map;
    uint32_t fs = c->nv.flash_size;
#define IN(base, size, kind)                                                                       \
    do {                                                                                           \
        if (addr >= (base) && addr - (base) < (size)) {                                            \
            *left = (uint32_t)((size) - (addr - (base)));                                          \
            return kind;                                                                           \
        }                                                                                          \
    } while (0)
    IN(m->flash_alias, fs, R_FLASH);
    IN(m->flash_base, fs, R_FLASH);
    IN(m->sram_base, c->nv.ram_size, R_RAM);
    if (m->extra_ram_size) IN(m->extra_ram_base, m->extra_ram_size, R_EXTRA);
    if (m->sysmem_size) IN(m->sysmem_base, m->sysmem_size, R_SYSMEM);
    for (size_t i = 0; i < m->window_count; i++)
        IN(m->windows[i].base, m->windows[i].size, R_WINDOW);
    IN(SIM_PERIPH_BASE, SIM_PERIPH_SIZE, R_MMIO);
    IN(SIM_PPB_BASE, SIM_PPB_SIZE, R_MMIO);
#undef IN
    return R_NONE;
}

static int no_memory(const sim_chip *c, const char *what, uint32_t addr)
{
    char map[512];
    oflash_device_describe_map(map, sizeof map, c->dev);
    return oflash_error_set(OFLASH_ERANGE, "%s: %s at 0x%08X: no memory there on %s (%s)",
                            c->file.path, what, addr, c->nv.part, map);
}

/* The address in main flash of addr (main flash or its alias). */
static uint32_t flash_abs(const sim_chip *c, uint32_t addr)
{
    if (addr >= c->map.flash_alias && addr - c->map.flash_alias < c->nv.flash_size)
        return addr - c->map.flash_alias + c->map.flash_base;
    return addr;
}

int oflash__sim_read(sim_chip *c, uint32_t addr, uint8_t *buf, size_t len)
{
    while (len) {
        uint32_t left;
        region_kind k = region_at(c, addr, &left);
        size_t n = len < left ? len : left;
        switch (k) {
        case R_FLASH: {
            char why[32];
            int level = read_protection(c, why, sizeof why);
            if (level != 0)
                return oflash_error_set(
                    OFLASH_EPROTECTED,
                    "%s: flash read at 0x%08X refused: read protection level %d is active "
                    "(%s); the debugger cannot read flash, as on silicon; %s",
                    c->file.path, flash_abs(c, addr), level, why,
                    level == 1 ? "lowering the read protection to level 0 mass-erases the flash"
                               : "level 2 is permanent");
            /* A flash read while BSY stalls the bus until the operation ends. */
            oflash__sim_stall(c);
            memcpy(buf, c->nv.flash + (flash_abs(c, addr) - c->map.flash_base), n);
            break;
        }
        case R_RAM:
            memcpy(buf, c->nv.ram + (addr - c->map.sram_base), n);
            break;
        case R_EXTRA:
            memcpy(buf, c->extra_ram + (addr - c->map.extra_ram_base), n);
            break;
        case R_SYSMEM:
            memcpy(buf, c->sysmem + (addr - c->map.sysmem_base), n);
            break;
        case R_WINDOW:
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)oflash__sim_mmio_read(c, addr + (uint32_t)i, 1, true);
            break;
        case R_MMIO: {
            /* Aligned words as word accesses (register side effects such as
             * the SR fast-forward happen once per word), the rest bytewise. */
            size_t i = 0;
            while (i < n) {
                uint32_t a = addr + (uint32_t)i;
                if (!(a & 3) && n - i >= 4) {
                    uint32_t v = (uint32_t)oflash__sim_mmio_read(c, a, 4, true);
                    buf[i] = (uint8_t)v;
                    buf[i + 1] = (uint8_t)(v >> 8);
                    buf[i + 2] = (uint8_t)(v >> 16);
                    buf[i + 3] = (uint8_t)(v >> 24);
                    i += 4;
                } else {
                    buf[i] = (uint8_t)oflash__sim_mmio_read(c, a, 1, true);
                    i++;
                }
            }
            break;
        }
        default:
            return no_memory(c, "read", addr);
        }
        buf += n;
        addr += (uint32_t)n;
        len -= n;
    }
    return 0;
}

int oflash__sim_write(sim_chip *c, uint32_t addr, const uint8_t *buf, size_t len)
{
    int rc = 0;
    c->stop = SIM_STOP_NONE;
    while (len && rc == 0) {
        uint32_t left;
        region_kind k = region_at(c, addr, &left);
        size_t n = len < left ? len : left;
        switch (k) {
        case R_FLASH:
            /* Flash, OTP and the model's pages: through its flash interface. */
            rc = c->model->debugger_write(c, flash_abs(c, addr), buf, n);
            break;
        case R_WINDOW:
            rc = c->model->debugger_write(c, addr, buf, n);
            break;
        case R_RAM:
            memcpy(c->nv.ram + (addr - c->map.sram_base), buf, n);
            uc_ctl_remove_cache(c->uc, addr, addr + n);
            break;
        case R_EXTRA:
            memcpy(c->extra_ram + (addr - c->map.extra_ram_base), buf, n);
            uc_ctl_remove_cache(c->uc, addr, addr + n);
            break;
        case R_SYSMEM:
            rc = oflash_error_set(OFLASH_EPROTECTED,
                                  "%s: write at 0x%08X refused: system memory "
                                  "(0x%08X-0x%08X) is read-only",
                                  c->file.path, addr, c->map.sysmem_base,
                                  c->map.sysmem_base + c->map.sysmem_size - 1);
            break;
        case R_MMIO: {
            size_t i = 0;
            while (i < n) {
                uint32_t a = addr + (uint32_t)i;
                if (!(a & 3) && n - i >= 4) {
                    uint32_t v = (uint32_t)buf[i] | (uint32_t)buf[i + 1] << 8 |
                                 (uint32_t)buf[i + 2] << 16 | (uint32_t)buf[i + 3] << 24;
                    oflash__sim_mmio_write(c, a, 4, v, true);
                    i += 4;
                } else {
                    oflash__sim_mmio_write(c, a, 1, buf[i], true);
                    i++;
                }
                if (c->power_lost) {
                    rc = oflash_error_set(OFLASH_ELINK, "%s: debugger write at 0x%08X: %s",
                                          c->file.path, a, c->stop_detail);
                    break;
                }
                if (c->stop == SIM_STOP_FAULT) {
                    rc = oflash_error_set(OFLASH_ETARGET, "%s: debugger write at 0x%08X: %s",
                                          c->file.path, a, c->stop_detail);
                    c->stop = SIM_STOP_NONE;
                    break;
                }
                if (c->wdg_reset_pending) oflash__sim_chip_reset(c);
            }
            break;
        }
        default:
            rc = no_memory(c, "write", addr);
            break;
        }
        buf += n;
        addr += (uint32_t)n;
        len -= n;
    }
    if (oflash__sim_journal_flush(&c->file) < 0 && rc == 0) rc = oflash_error_last_code();
    return rc;
}
