/*
 * sim_internal.h - the simulated STM32F4 chip's insides, shared by the
 * files of src/sim/:
 *   sim_state.c   chip file: base snapshot + append-only journal, locking
 *   sim_chip.c    Unicorn glue: memory map, hooks, run, registers, reset,
 *                 the debugger's view of memory
 *   sim_flash.c   flash interface (FLASH_ACR..OPTCR1), programming, erase,
 *                 option bytes, timing
 *   sim_periph.c  RCC, IWDG, CRC, DBGMCU, the OTP/ID page, unknown accesses
 *   sim_probe.c   the "sim" probe backend (oflash_probe_sim_ops)
 *
 * Manuals: RM0368 rev 5 (STM32F401xB/C/D/E), RM0383 rev 3 (F411),
 * RM0090 rev 19 (F405/407/427/429), PM0214 rev 10 (Cortex-M4), datasheets
 * DS9716 / DS10086 (F401) "Flash memory programming" tables.
 *
 * Invariants of struct sim_chip:
 *  - nv holds the persistent chip; every change to nv.flash/nv.otp/nv.optcr
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
#include "oflash/sys/probe.h"
#include "targets/stm32f4/stm32f4.h" /* until the sim model hook (stage 1b) */

#include <stdbool.h>
#include <stdint.h>
#include <unicorn/unicorn.h>

/* ---- memory map (RM0368 §2.3, RM0090 §2.3) ---- */
#define SIM_FLASH_BASE 0x08000000u
#define SIM_ALIAS_BASE 0x00000000u
#define SIM_SRAM_BASE 0x20000000u
#define SIM_SYSMEM_BASE 0x1FFF0000u
#define SIM_SYSMEM_SIZE 0x7800u
#define SIM_INFO_BASE 0x1FFF7800u /* OTP, lock bytes, UID, flash size: one 1 KiB page */
#define SIM_INFO_SIZE 0x400u
#define SIM_OTP_BASE 0x1FFF7800u
#define SIM_OTP_SIZE 512u
#define SIM_LOCK_BASE 0x1FFF7A00u
#define SIM_LOCK_SIZE 16u
#define SIM_UID_BASE 0x1FFF7A10u
#define SIM_FSIZE_ADDR 0x1FFF7A22u
#define SIM_OPT_BASE 0x1FFFC000u  /* option bytes (bank 1) */
#define SIM_OPT2_BASE 0x1FFEC000u /* F42x/F43x: option bytes of bank 2 */
#define SIM_OPT_SIZE 0x400u
#define SIM_PERIPH_BASE 0x40000000u
#define SIM_PERIPH_SIZE 0x20000000u
#define SIM_PPB_BASE 0xE0000000u
#define SIM_PPB_SIZE 0x00100000u

#define SIM_IWDG_BASE 0x40003000u
#define SIM_CRC_BASE 0x40023000u
#define SIM_RCC_BASE 0x40023800u
#define SIM_FLASHIF_BASE 0x40023C00u
#define SIM_DBGMCU_BASE 0xE0042000u

/* ---- flash interface registers (RM0368 §3.8) ---- */
#define FLASH_ACR 0x00u
#define FLASH_KEYR 0x04u
#define FLASH_OPTKEYR 0x08u
#define FLASH_SR 0x0Cu
#define FLASH_CR 0x10u
#define FLASH_OPTCR 0x14u
#define FLASH_OPTCR1 0x18u

#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_OPTKEY1 0x08192A3Bu
#define FLASH_OPTKEY2 0x4C5D6E7Fu

#define SR_EOP (1u << 0)
#define SR_OPERR (1u << 1)
#define SR_WRPERR (1u << 4)
#define SR_PGAERR (1u << 5)
#define SR_PGPERR (1u << 6)
#define SR_PGSERR (1u << 7)
#define SR_RDERR (1u << 8)
#define SR_BSY (1u << 16)
#define SR_W1C (SR_EOP | SR_OPERR | SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_PGSERR | SR_RDERR)
#define SR_ERRORS (SR_OPERR | SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_PGSERR | SR_RDERR)

#define CR_PG (1u << 0)
#define CR_SER (1u << 1)
#define CR_MER (1u << 2)
#define CR_SNB_SHIFT 3
#define CR_PSIZE_SHIFT 8
#define CR_MER1 (1u << 15)
#define CR_STRT (1u << 16)
#define CR_EOPIE (1u << 24)
#define CR_ERRIE (1u << 25)
#define CR_LOCK (1u << 31)

#define OPTCR_OPTLOCK (1u << 0)
#define OPTCR_OPTSTRT (1u << 1)
#define OPTCR_WDG_SW (1u << 5)
#define OPTCR_RDP_SHIFT 8
#define OPTCR_NWRP_SHIFT 16
#define OPTCR_RESET 0x0FFFAAEDu    /* factory value (RM0368 §3.8.6) */
#define OPTCR1_RESET 0x0FFF0000u   /* RM0090 §3.9.8 */
#define OPTCR_WRITABLE 0x0FFFFFECu /* BOR_LEV, USER, RDP, nWRP */
#define OPTCR1_WRITABLE 0x0FFF0000u

#define SIM_OTP_TOTAL (SIM_OTP_SIZE + SIM_LOCK_SIZE) /* nv.otp: data then lock bytes */

/* Persistent part of the chip: exactly what the file stores. */
typedef struct sim_nv {
    char part[32];
    uint8_t uid[OFLASH_SIM_UID_LEN];
    uint32_t flash_size;
    uint32_t ram_size;
    uint32_t optcr; /* option bytes as OPTCR shows them (OPTLOCK/OPTSTRT bits 0) */
    uint32_t optcr1;
    oflash_sim_faults faults;
    oflash_sim_run_stats last_run;
    uint8_t *flash; /* flash_size bytes */
    uint8_t otp[SIM_OTP_TOTAL];
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

typedef struct sim_chip {
    const oflash_device *dev;
    sim_nv nv;
    sim_file file;
    uc_engine *uc;
    uint8_t sysmem[SIM_SYSMEM_SIZE];

    /* time */
    uint64_t now_ps;   /* simulated time since open, picoseconds */
    uint64_t cycle_ps; /* one core clock cycle */
    uint64_t core_hz;
    uint64_t insns; /* instructions executed since open */
    uint64_t busy_until_ps;
    uint64_t busy_ps_total;

    /* flash interface */
    uint32_t acr, cr, sr, optcr_reg, optcr1_reg;
    int key_state; /* 0: expect KEY1, 1: expect KEY2 */
    int optkey_state;
    bool cr_dead; /* wrong key: CR locked until reset */
    bool optcr_dead;
    /* x64 parallelism: the first word of a double word written as two
     * 32-bit stores (as the core does for STRD), waiting for its pair. */
    bool x64_pending;
    uint32_t x64_addr, x64_low;
    bool busy, strt_busy, opt_busy, eop_pending;
    uint64_t program_ops, erase_ops, option_ops;
    uint64_t flash_ops;          /* all three, for the power-loss fault */
    uint32_t dirty_lo, dirty_hi; /* flash offsets changed since the last cache flush */

    /* RCC (RM0368 §6.3) */
    uint32_t rcc[256];
    uint64_t hse_hz;

    /* IWDG (RM0368 §15) */
    bool iwdg_running, iwdg_access;
    uint32_t iwdg_pr, iwdg_rlr;
    uint64_t iwdg_deadline_ps;

    /* CRC (RM0368 §4) */
    uint32_t crc_dr, crc_idr;

    /* DBGMCU */
    uint32_t dbgmcu_cr, dbgmcu_apb1, dbgmcu_apb2;

    /* unknown accesses */
    uint64_t unknown;
    uint32_t unknown_first;

    /* run state */
    sim_stop_kind stop;
    char stop_detail[128];
    uint64_t run_budget; /* instruction budget of this run, 0 = none */
    uint64_t run_insns;
    uint64_t run_deadline_ns; /* host CLOCK_MONOTONIC deadline of this run, 0 = none */
    uint32_t run_blocks;      /* blocks since the run started (deadline checked every 1024) */
    unsigned run_timeout_ms;
    bool in_run;
    bool wdg_reset_pending; /* watchdog or SYSRESETREQ: reset when the access completes */
    uint64_t reported_ps;   /* simulated time already added to probe stats */
    bool power_lost;
    bool link_dropped;
    uint64_t transactions;
    bool rdp_blocked; /* flash mapped without access (RDP level 1) */
} sim_chip;

/* sim_state.c */
int oflash__sim_file_create(const char *path, const oflash_device *dev, const uint8_t uid[12]);
/* Open and lock the file, fill nv (allocating buffers), replay the journal. */
int oflash__sim_file_open(sim_file *f, sim_nv *nv, const char *path, bool readonly);
/* Append a record to the buffer; flush writes the buffer (one write()). */
int oflash__sim_journal_data(sim_file *f, uint32_t addr, const uint8_t *bytes, uint32_t len);
int oflash__sim_journal_fill(sim_file *f, uint32_t addr, uint32_t len, uint8_t value);
int oflash__sim_journal_options(sim_file *f, uint32_t optcr, uint32_t optcr1);
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

/* sim_flash.c */
void oflash__sim_flash_reset(sim_chip *c);
uint32_t oflash__sim_flash_reg_read(sim_chip *c, uint32_t off, bool debugger);
void oflash__sim_flash_reg_write(sim_chip *c, uint32_t off, uint32_t val, unsigned size);
/* A bus write of size bytes (1, 2, 4; 8 from the debugger) to flash, OTP or
 * lock bytes.  Returns the SR error bits it raised (0 = programmed). */
uint32_t oflash__sim_flash_program(sim_chip *c, uint32_t addr, uint64_t val, unsigned size);
/* Let simulated time pass; completes the operation in progress when due. */
void oflash__sim_advance(sim_chip *c, uint64_t ps);
void oflash__sim_flash_update(sim_chip *c);
int oflash__sim_rdp(const sim_chip *c);
bool oflash__sim_sector_wrp(const sim_chip *c, int index);
/* Datasheet durations (see sim_flash.c), picoseconds. */
uint64_t oflash__sim_erase_ps(uint32_t sector_size, unsigned psize);
uint64_t oflash__sim_mass_erase_ps(uint32_t flash_size, unsigned psize);
#define SIM_PROGRAM_PS 16000000ull /* tprog 16 us typ, DS10086 Table "Flash memory programming" */

/* sim_periph.c */
void oflash__sim_periph_reset(sim_chip *c);
uint64_t oflash__sim_mmio_read(sim_chip *c, uint32_t addr, unsigned size, bool debugger);
void oflash__sim_mmio_write(sim_chip *c, uint32_t addr, unsigned size, uint64_t val, bool debugger);
void oflash__sim_set_clock(sim_chip *c);
void oflash__sim_iwdg_check(sim_chip *c);
uint64_t oflash__sim_info_read(sim_chip *c, uint32_t addr, unsigned size);
uint64_t oflash__sim_opt_read(sim_chip *c, uint32_t addr, unsigned size);

#define SIM_PS_PER_S 1000000000000ull
#define SIM_PS_PER_MS 1000000000ull
#define SIM_PS_PER_US 1000000ull

#endif
