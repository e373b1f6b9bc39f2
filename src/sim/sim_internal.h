/*
 * sim_internal.h - the simulated chip's insides, shared by the files of
 * src/sim/ and by the family models (src/sim/sim_model.h):
 *   sim_state.c   chip file: base snapshot + append-only journal, locking
 *   sim_chip.c    Unicorn glue: memory map, hooks, run, registers, reset,
 *                 the debugger's view of memory, busy time
 *   sim_periph.c  peripherals every modelled part shares (IWDG, CRC, DBGMCU,
 *                 SCB), dispatch to the family model, unknown accesses
 *   sim_probe.c   the "sim" probe backend (oflash_probe_sim_ops)
 *   sim_core.c    the core on a thread of its own, at idle priority (cpu=spare)
 * The family's flash interface, option bytes, OTP / ID page, RCC and
 * timings: src/targets/<family>/sim.c.
 *
 * Manuals: PM0214 rev 10 (Cortex-M4 SCB), RM0368 rev 5 §4 (CRC) and §15
 * (IWDG), the DBGMCU chapter of every STM32 reference manual.
 *
 * Invariants of struct sim_chip:
 *  - nv holds the persistent chip; every change to nv.flash/nv.nv/nv.opt
 *    is mirrored by a journal record appended to jbuf (or written) in the
 *    order it happened;
 *  - now_ps only grows; busy_until_ps > now_ps iff an operation is in
 *    progress (busy true);
 *  - flash buffers are mapped into Unicorn with uc_mem_map_ptr, so Unicorn
 *    reads see every change immediately; translated code over changed
 *    bytes is dropped with uc_ctl_remove_cache before the next run.
 */
#ifndef OFLASH_SIM_INTERNAL_H
#define OFLASH_SIM_INTERNAL_H

#include "oflash/device.h"
#include "oflash/sim.h"
#include "oflash/sys/family.h"
#include "oflash/sys/probe.h"
#include "sim_model.h"

#include <stdbool.h>
#include <stdint.h>
#include <unicorn/unicorn.h>

#define SIM_PERIPH_BASE 0x40000000u
#define SIM_PERIPH_SIZE 0x20000000u
#define SIM_PPB_BASE 0xE0000000u
#define SIM_PPB_SIZE 0x00100000u
#define SIM_MAX_NV 4096u /* largest nv area a model may declare */

/* Persistent part of the chip: exactly what the file stores. */
typedef struct sim_nv {
    char part[32];
    uint8_t uid[OFLASH_SIM_UID_LEN];
    uint32_t flash_size;
    uint32_t ram_size;
    uint32_t opt[SIM_OPT_WORDS]; /* option words (the model says what they mean) */
    oflash_sim_faults faults;
    oflash_sim_run_stats last_run;
    uint8_t *flash;      /* flash_size bytes */
    uint32_t flash_base; /* where flash is (the model's map): journal addresses */
    uint32_t nv_base, nv_size;
    uint8_t *nv;  /* nv_size bytes at nv_base: OTP, lock bytes (the model's map) */
    uint8_t *ram; /* ram_size bytes: SRAM survives between commands like a powered chip */
} sim_nv;

/* The open chip file. */
typedef struct sim_file {
    int fd;
    char *path;
    uint64_t base_size; /* header + flash + otp + ram */
    uint64_t end;       /* file offset where the next record goes */
    uint8_t *jbuf;      /* records not yet written */
    size_t jlen, jcap;
    size_t last_data_off; /* offset in jbuf of the last DATA record (coalescing), or SIZE_MAX */
    uint64_t records;     /* records in the file after the base */
    bool dirty;           /* something to compact at close */
    int err;              /* first failed write/fsync/truncate (sticky), or 0 */
    char errmsg[300];     /* its message */
} sim_file;

typedef enum sim_stop_kind {
    SIM_STOP_NONE = 0,
    SIM_STOP_BKPT,
    SIM_STOP_FAULT, /* bus fault, lockup, watchdog reset: detail says which */
    SIM_STOP_BUDGET,
    SIM_STOP_POWER /* simulated power loss */
} sim_stop_kind;

struct sim_chip;
typedef struct sim_window_ud {
    struct sim_chip *c;
    uint32_t base;
} sim_window_ud;

typedef struct sim_chip {
    const oflash_device *dev;
    const oflash_sim_model *model;
    sim_map map;
    void *model_state; /* model->state_size bytes */
    sim_nv nv;
    sim_file file;
    uc_engine *uc;
    uint8_t *sysmem;    /* map.sysmem_size bytes */
    uint8_t *extra_ram; /* map.extra_ram_size bytes (volatile) */
    sim_window_ud win_ud[SIM_MAX_WINDOWS];

    /* time */
    uint64_t now_ps;   /* simulated time since open, picoseconds */
    uint64_t cycle_ps; /* one core clock cycle */
    uint64_t core_hz;
    uint64_t insns; /* instructions executed since open */

    /* the flash busy with an operation (the model starts it) */
    bool busy;
    uint64_t busy_until_ps;
    uint64_t busy_ps_total;
    uint64_t program_ops, erase_ops, option_ops;
    uint64_t flash_ops;          /* all three, for the power-loss fault */
    uint32_t dirty_lo, dirty_hi; /* flash offsets changed since the last cache flush */

    /* IWDG (RM0368 §15) */
    bool iwdg_running, iwdg_access;
    uint32_t iwdg_pr, iwdg_rlr;
    uint64_t iwdg_deadline_ps;

    /* CRC (RM0368 §4) */
    uint32_t crc_dr, crc_idr;

    /* DBGMCU */
    uint32_t dbgmcu_cr, dbgmcu_apb1, dbgmcu_apb2;
    /* DEMCR as a debugger wrote it: the simulated core stops on every fault
     * (as with all VC_* bits set), so a GDB client sees vector catch. */
    uint32_t demcr;

    /* unknown accesses */
    uint64_t unknown;
    uint32_t unknown_first;

    /* run state */
    sim_stop_kind stop;
    char stop_detail[128];
    /* The CPU fault that stopped the run, as the core would have recorded
     * it (ARMv7-M ARM B3.2.15: CFSR bits; BFAR when BFARVALID); 0 = none. */
    uint32_t fault_cfsr, fault_bfar;
    uint64_t run_budget; /* instruction budget of this run, 0 = none */
    uint64_t run_insns;
    /* A run's time limit is the target's: simulated time, as a debugger's
     * timeout runs on real silicon, so a slow or loaded host never makes a
     * loader call "time out".  The host deadline is only a backstop (10x
     * the limit + 30 s of CPU time of the thread running the core, so a
     * starved or idle-priority core is not stopped) against an emulation
     * that stops advancing time. */
    uint64_t run_sim_deadline_ps; /* simulated-time limit of this run, 0 = none */
    uint64_t run_deadline_ns;     /* backstop: CPU time of the running thread, 0 = none */
    uint32_t run_blocks;          /* blocks since the run started (deadline checked every 1024) */
    unsigned run_timeout_ms;
    bool in_run;
    bool wdg_reset_pending; /* watchdog or SYSRESETREQ: reset when the access completes */
    uint64_t reported_ps;   /* simulated time already added to probe stats */
    bool power_lost;
    bool link_dropped;
    uint64_t transactions;
    bool rdp_blocked;      /* flash mapped without access (read protection level 1) */
    unsigned guard;        /* OFLASH_SIM_GUARD_* of this session (not stored); models honour it:
                            * OTP / lock-byte programs and option programming fail (WRPERR) */
    struct sim_feed *feed; /* sim-feed: the feed that placed this board (sim_feed.c), or NULL */
    struct sim_core *core; /* the thread that runs the core (cpu=spare, sim_core.c), or NULL */
} sim_chip;

/* sim_state.c */
int oflash__sim_file_create(const char *path, const oflash_device *dev, const uint8_t uid[12]);
/* Open and lock the file, fill nv (allocating buffers), replay the journal. */
int oflash__sim_file_open(sim_file *f, sim_nv *nv, const char *path, bool readonly);
/* Append a record to the buffer; flush writes the buffer (one write()). */
int oflash__sim_journal_data(sim_file *f, uint32_t addr, const uint8_t *bytes, uint32_t len);
int oflash__sim_journal_fill(sim_file *f, uint32_t addr, uint32_t len, uint8_t value);
int oflash__sim_journal_options(sim_file *f, const uint32_t *opt, size_t n);
int oflash__sim_journal_flush(sim_file *f);
/* Write the whole state crash-safely (full record, base rewrite, truncate). */
int oflash__sim_file_compact(sim_file *f, const sim_nv *nv);
void oflash__sim_file_close(sim_file *f);
/* 0, or the first write error of the file again (message set): once a write
 * of the chip file failed, the chip in memory is ahead of the file and every
 * later operation fails, so nothing is reported as done that is not stored. */
int oflash__sim_file_error(const sim_file *f);
void oflash__sim_nv_free(sim_nv *nv);
const oflash_device *oflash__sim_part_device(const char *part);
/* The model of a part, or NULL when the simulator does not model it. */
const oflash_sim_model *oflash__sim_model_of(const oflash_device *dev);

/* sim_feed.c: open places a board (a chip file in the feed folder arg) and
 * opens it; close takes it off when the unit passed. */
int oflash__sim_feed_open(sim_chip **out, const char *arg, const oflash_probe_opts *opts);
void oflash__sim_feed_close(sim_chip *c);
void oflash__sim_feed_set_result(sim_chip *c, bool passed);
const char *oflash__sim_feed_board(const sim_chip *c);

/* sim_core.c: run the core on a thread of its own at idle CPU priority.
 * start: from now on oflash__sim_core_run hands every run to that thread;
 * stop (idempotent, called by oflash__sim_chip_close): joins it. */
int oflash__sim_core_start(sim_chip *c);
void oflash__sim_core_stop(sim_chip *c);
/* oflash__sim_run, on the core's thread when one was started. */
int oflash__sim_core_run(sim_chip *c, const oflash_run_opts *opts, oflash_stop_info *stop);

/* sim_chip.c */
int oflash__sim_chip_open(sim_chip **out, const char *path, const oflash_probe_opts *opts);
void oflash__sim_chip_close(sim_chip *c);
void oflash__sim_chip_reset(sim_chip *c);
void oflash__sim_stop(sim_chip *c, sim_stop_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int oflash__sim_read(sim_chip *c, uint32_t addr, uint8_t *buf, size_t len);
int oflash__sim_write(sim_chip *c, uint32_t addr, const uint8_t *buf, size_t len);
int oflash__sim_run(sim_chip *c, const oflash_run_opts *opts, oflash_stop_info *stop);
void oflash__sim_fill_stats(const sim_chip *c, oflash_sim_run_stats *st);
/* Apply a flash protection change (RDP) to the Unicorn mapping. */
void oflash__sim_update_protection(sim_chip *c);
void oflash__sim_mark_dirty(sim_chip *c, uint32_t off, uint32_t len);
/* Simulated power loss: persist, disarm the fault, refuse everything after. */
void oflash__sim_power_loss(sim_chip *c);

/* ---- for models (sim_chip.c) ---- */
/* Let simulated time pass; completes the operation in progress when due. */
void oflash__sim_advance(sim_chip *c, uint64_t ps);
/* Complete the operation in progress if its time has come. */
void oflash__sim_flash_update(sim_chip *c);
/* An access while busy waits for the operation to end (the bus stalls). */
void oflash__sim_stall(sim_chip *c);
/* The flash is busy for ps; ok: the operation succeeds (model->complete). */
void oflash__sim_start_busy(sim_chip *c, uint64_t ps);
/* True when the next flash operation is the one the power-loss fault hits. */
bool oflash__sim_power_fails_now(const sim_chip *c);
/* Pointer to main flash or nv bytes at addr (len bytes inside), or NULL. */
uint8_t *oflash__sim_nv_ptr(sim_chip *c, uint32_t addr, uint32_t len);
/* Journal the current bytes of [addr, addr+len) of main flash or nv. */
void oflash__sim_journal_bytes(sim_chip *c, uint32_t addr, uint32_t len);
/* Journal the option words (after the model changed c->nv.opt). */
void oflash__sim_journal_opt(sim_chip *c);
/* Erase [off, off+len) of main flash (offsets from map.flash_base) with the
 * fail-at and power-loss faults applied; returns true when a cell failed
 * (the model raises its error flag). */
bool oflash__sim_flash_erase_range(sim_chip *c, uint32_t off, uint32_t len);
/* Program size bytes of val at addr (main flash or nv) with AND semantics
 * (the bytes journaled), the faults applied.  Returns 0 when programmed, 1
 * when the cells did not program (fail-at, or no memory there: nothing
 * changed; the model raises its error flag), 2 when the power failed (the
 * chip is stopped).  The model counts the operation and starts busy time. */
int oflash__sim_flash_and(sim_chip *c, uint32_t addr, uint64_t val, unsigned size);

/* sim_periph.c */
void oflash__sim_periph_reset(sim_chip *c);
uint64_t oflash__sim_mmio_read(sim_chip *c, uint32_t addr, unsigned size, bool debugger);
void oflash__sim_mmio_write(sim_chip *c, uint32_t addr, unsigned size, uint64_t val, bool debugger);
/* for models: the core clock (cycle time) */
void oflash__sim_set_core_hz(sim_chip *c, uint64_t hz);
/* for models: a hardware watchdog runs from reset */
void oflash__sim_iwdg_start(sim_chip *c);
void oflash__sim_iwdg_check(sim_chip *c);

#define SIM_PS_PER_S 1000000000000ull
#define SIM_PS_PER_MS 1000000000ull
#define SIM_PS_PER_US 1000000ull

#endif
