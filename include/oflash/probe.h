/*
 * oflash/probe.h - the only way to touch a target.
 *
 * A probe gives block memory read/write, core register access, halt/reset,
 * and run-until-halt with a timeout, and counts round trips and bytes.
 * Backends: "sim:PATH" (the simulated chip, in process) and "gdb:HOST:PORT" /
 * "gdb:/dev/ttyX" (any GDB remote-protocol server).  Writing a backend:
 * see oflash/sys/probe.h.
 *
 * Memory access is the debugger's view: flash and OTP are read-only through
 * write_mem on every backend (as on silicon); they are changed only by code
 * running on the target (a flash loader) or by a server's own flash support.
 */
#ifndef OFLASH_PROBE_H
#define OFLASH_PROBE_H

#include "oflash/common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

OFLASH_BEGIN_DECLS

typedef struct oflash_probe oflash_probe;

/* Core registers, numbered as in the ARMv7-M DCRSR REGSEL field. */
typedef enum oflash_reg {
    OFLASH_REG_R0 = 0, OFLASH_REG_R1, OFLASH_REG_R2, OFLASH_REG_R3, OFLASH_REG_R4,
    OFLASH_REG_R5, OFLASH_REG_R6, OFLASH_REG_R7, OFLASH_REG_R8, OFLASH_REG_R9,
    OFLASH_REG_R10, OFLASH_REG_R11, OFLASH_REG_R12,
    OFLASH_REG_SP = 13, OFLASH_REG_LR = 14, OFLASH_REG_PC = 15,
    OFLASH_REG_XPSR = 16,
    OFLASH_REG_MSP = 17, OFLASH_REG_PSP = 18,
    OFLASH_REG_COUNT = 19
} oflash_reg;

/* "r0".."r12", "sp", "lr", "pc", "xpsr", "msp", "psp"; -1 if unknown. */
int oflash_reg_from_name(const char *name);
const char *oflash_reg_name(int reg);

typedef struct oflash_probe_opts {
    unsigned version;         /* OFLASH_PROBE_OPTS_VERSION */
    const char *device;       /* device name, needed to create a new sim: chip; may be NULL */
    const char *sim_uid;      /* sim: unique ID as 24 hex digits for a new chip; NULL = random */
    unsigned timeout_ms;      /* per-request timeout (gdb:), 0 = default 5000 */
    unsigned baud;            /* serial line speed (gdb:/dev/tty*), 0 = 115200 */
    const char *reset_cmd;    /* gdb: monitor command to reset and halt; NULL = server default */
    const char *halt_cmd;     /* gdb: monitor command to halt; NULL = Ctrl-C */
} oflash_probe_opts;
#define OFLASH_PROBE_OPTS_VERSION 1
#define OFLASH_PROBE_OPTS_INIT                                                                     \
    {                                                                                              \
        .version = OFLASH_PROBE_OPTS_VERSION                                                       \
    }

typedef struct oflash_probe_stats {
    uint64_t round_trips;     /* request/response exchanges with the probe */
    uint64_t bytes_tx;        /* bytes on the wire to the probe (gdb:), or payload (sim:) */
    uint64_t bytes_rx;
    uint64_t mem_read_bytes;  /* payload bytes read from target memory */
    uint64_t mem_write_bytes; /* payload bytes written to target memory */
    bool has_sim_time;        /* true on the simulated chip */
    uint64_t sim_time_ns;     /* simulated target time since open */
} oflash_probe_stats;

typedef enum oflash_stop_reason {
    OFLASH_STOP_BKPT = 0,     /* core executed a BKPT instruction */
    OFLASH_STOP_BREAKPOINT,   /* a breakpoint set with break_addr was hit */
    OFLASH_STOP_TIMEOUT,      /* timeout: the core was halted where it was */
    OFLASH_STOP_FAULT,        /* hard fault / lockup (sim:) or unexpected signal */
    OFLASH_STOP_HALT          /* halted for another reason (Ctrl-C, step) */
} oflash_stop_reason;

typedef struct oflash_run_opts {
    unsigned version;         /* OFLASH_RUN_OPTS_VERSION */
    bool have_break;          /* set a breakpoint at break_addr for this run */
    uint32_t break_addr;
    unsigned timeout_ms;      /* host time limit; 0 = 10000 */
    uint64_t max_insns;       /* sim: instruction budget, 0 = none */
    /* Version 2.  Work RAM (512-byte aligned, OFLASH_RUN_GUARD_SIZE bytes)
     * for the fault guard on GDB servers: for the duration of the run,
     * VTOR points at a vector table there whose fault handlers stop the
     * run, so that a BKPT or a fault on a server without halting debug
     * (QEMU) ends the run cleanly; VTOR is restored afterwards.  0 = none
     * (then only DEMCR vector catch, where the server has it). */
    uint32_t guard_ram;
} oflash_run_opts;
#define OFLASH_RUN_OPTS_VERSION 2
#define OFLASH_RUN_GUARD_SIZE 0x224u
#define OFLASH_RUN_OPTS_INIT                                                                       \
    {                                                                                              \
        .version = OFLASH_RUN_OPTS_VERSION                                                         \
    }

/* A fault taken by the core during a run (ARMv7-M ARM B3.2.15-B3.2.18). */
typedef struct oflash_fault_info {
    bool valid;               /* the fields below were read from the core */
    unsigned exception;       /* 3 HardFault, 4 MemManage, 5 BusFault, 6 UsageFault */
    uint32_t cfsr, hfsr, mmfar, bfar;
    /* r0-r12, sp, lr, pc, xpsr when the fault was taken (from the
     * exception frame; pc = the faulting instruction, sp before stacking) */
    uint32_t regs[17];
} oflash_fault_info;

typedef struct oflash_stop_info {
    oflash_stop_reason reason;
    uint32_t pc;
    char detail[128];         /* e.g. the fault description */
    oflash_fault_info fault;  /* reason FAULT (and BKPT caught by the guard) */
} oflash_stop_info;

/* Open a probe from a spec string ("sim:PATH", "gdb:HOST:PORT", "gdb:/dev/ttyACM0"). */
int oflash_probe_open(oflash_probe **out, const char *spec, const oflash_probe_opts *opts);
void oflash_probe_close(oflash_probe *p);

/* Backend name ("sim", "gdb") and a description of the target for messages. */
const char *oflash_probe_backend(const oflash_probe *p);
/* The part the probe knows the target is (sim: from its state file), or NULL. */
const char *oflash_probe_part(const oflash_probe *p);

int oflash_probe_read_mem(void *buf, oflash_probe *p, uint32_t addr, size_t len);
int oflash_probe_write_mem(oflash_probe *p, uint32_t addr, const void *buf, size_t len);
int oflash_probe_read_u32(uint32_t *val, oflash_probe *p, uint32_t addr);
int oflash_probe_write_u32(oflash_probe *p, uint32_t addr, uint32_t val);

int oflash_probe_read_reg(uint32_t *val, oflash_probe *p, int reg);
int oflash_probe_write_reg(oflash_probe *p, int reg, uint32_t val);
/* Several registers in as few round trips as the backend allows. */
int oflash_probe_read_regs(uint32_t *vals, oflash_probe *p, const int *regs, size_t n);
int oflash_probe_write_regs(oflash_probe *p, const int *regs, const uint32_t *vals, size_t n);

int oflash_probe_halt(oflash_probe *p);
/* Reset the core; halt: stop at the reset vector (SP and PC loaded from the
 * vector table) instead of running. */
int oflash_probe_reset(oflash_probe *p, bool halt);
/* Resume from the current PC and wait until the core halts (BKPT,
 * breakpoint, fault) or the timeout passes (then halt it). */
int oflash_probe_run(oflash_stop_info *stop, oflash_probe *p, const oflash_run_opts *opts);

/* Send a backend-specific command (gdb: "monitor ..." via qRcmd); output
 * (may be NULL) receives what the server printed. */
int oflash_probe_command(char *output, size_t output_len, oflash_probe *p, const char *cmd);

void oflash_probe_get_stats(oflash_probe_stats *stats, const oflash_probe *p);
void oflash_probe_reset_stats(oflash_probe *p);

OFLASH_END_DECLS
#endif
