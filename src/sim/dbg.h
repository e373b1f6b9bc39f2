/*
 * dbg.h - the simulated chip's debug port: generic Cortex-M debug parts,
 * shared by the files of src/sim/ whose names start with dbg_:
 *   dbg_jtag.c     IEEE 1149.1 TAP state machine, a chain of TAPs, the
 *                  ADIv5 JTAG-DP (ABORT, DPACC, APACC, IDCODE, BYPASS) and
 *                  one MEM-AP (AHB-AP) in front of a bus
 *   dbg_cortexm.c  what sits on that bus besides the chip: the ROM table,
 *                  SCS debug registers (DHCSR, DCRSR, DCRDR, DEMCR, DFSR,
 *                  AIRCR), FPB, DWT, ITM; halting debug of the simulated core
 *   dbg_serve.c    OpenOCD's remote_bitbang protocol over TCP, simulated
 *                  time driven by TCK
 *
 * Nothing here knows a part: every ID (JTAG-DP IDCODE, boundary-scan
 * IDCODE and IR length, AP IDR, FPU, comparator counts) comes from the
 * sim_dbg_desc a family's simulator model points to (debug_port in
 * src/sim/sim_model.h; the STM32F4's: src/targets/stm32f4/debug_port.c),
 * the CPUID from the model's memory map.
 *
 * Manuals: IEEE 1149.1-2001 (TAP controller), ARM IHI0031 (ADIv5) chapters
 * 3 (JTAG-DP), 7 (MEM-AP), 10-14 (ROM table, component IDs), ARM DDI0403E
 * (ARMv7-M) C1 (debug: DHCSR, DCRSR, DEMCR, DFSR, FPB, DWT), RM0368/RM0090
 * "Debug support" (the STM32F4's two TAPs).
 */
#ifndef OFLASH_SIM_DBG_H
#define OFLASH_SIM_DBG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- description of a family's debug port ---- */
typedef struct sim_dbg_desc {
    uint32_t dp_idcode;      /* JTAG-DP IDCODE (Cortex-M4: 0x4BA00477) */
    unsigned dp_irlen;       /* 4 */
    unsigned bs_irlen;       /* boundary-scan TAP IR length (STM32: 5) */
    uint32_t bs_idcode;      /* boundary-scan IDCODE, OR-ed with DEV_ID << bs_devid_shift */
    unsigned bs_devid_shift; /* 0: bs_idcode as is */
    unsigned bs_cells;       /* boundary-scan register length */
    uint32_t bs_ir_idcode, bs_ir_sample, bs_ir_extest; /* its instruction codes */
    uint32_t ap_idr;                                   /* AHB-AP IDR (0x24770011) */
    uint32_t rom_base;                                 /* ROM table (0xE00FF000) */
    uint32_t tar_wrap; /* TAR auto-increment range: 0x400 (ADIv5 minimum); the
                        * Cortex-M3/M4 AHB-AP increments within 4 KB */
    uint32_t cpuid;    /* SCB CPUID (filled from the model's map) */
    bool fpu;          /* FPv4-SP: S0-S31, FPSCR, MVFR0/1 */
    uint32_t mvfr0, mvfr1;
    unsigned fpb_code, fpb_lit; /* FPB comparators (6 + 2) */
    unsigned dwt_comp;          /* DWT comparators (4) */
} sim_dbg_desc;

/* The description for one part: the family's template with the part's
 * boundary-scan IDCODE (DEV_ID) and CPUID filled in. */
void oflash__sim_dbg_desc_for(sim_dbg_desc *out, const sim_dbg_desc *family, uint16_t dev_id,
                              uint32_t cpuid);

/* ---- the bus behind the MEM-AP ---- */
/* size is 1, 2 or 4; a read returns the value in the low bits.  0 = ok,
 * negative = bus error (the AP sets STICKYERR). */
typedef struct sim_bus_ops {
    int (*read)(void *ctx, uint32_t addr, unsigned size, uint32_t *val);
    int (*write)(void *ctx, uint32_t addr, unsigned size, uint32_t val);
    /* Called before every AP bus access: let the rest of the system catch
     * up with the debugger's clock (may be NULL). */
    void (*sync)(void *ctx);
    /* How long an access at addr would stall the bus now, picoseconds
     * (0: none; may be NULL).  Short stalls make the DP answer WAIT. */
    uint64_t (*stall)(void *ctx, uint32_t addr);
} sim_bus_ops;

/* ---- TAP controller states (IEEE 1149.1 Figure 6-1) ---- */
typedef enum sim_tap_state {
    TAP_RESET = 0,
    TAP_IDLE,
    TAP_DRSELECT,
    TAP_DRCAPTURE,
    TAP_DRSHIFT,
    TAP_DREXIT1,
    TAP_DRPAUSE,
    TAP_DREXIT2,
    TAP_DRUPDATE,
    TAP_IRSELECT,
    TAP_IRCAPTURE,
    TAP_IRSHIFT,
    TAP_IREXIT1,
    TAP_IRPAUSE,
    TAP_IREXIT2,
    TAP_IRUPDATE
} sim_tap_state;

sim_tap_state oflash__sim_tap_next(sim_tap_state s, int tms);
const char *oflash__sim_tap_state_name(sim_tap_state s);

/* One TAP: IR, and a DR path chosen by the instruction.  Paths up to 64
 * bits shift in sr; longer ones (a boundary-scan register) in ring. */
typedef struct sim_tap {
    unsigned irlen;
    uint32_t ir_capture; /* value IR-Capture loads (low bits 01) */
    uint32_t idcode;
    uint32_t ir; /* current instruction */
    uint64_t sr; /* shift register of the selected path */
    unsigned len;
    uint8_t *ring; /* long DR: bit ring, ring_head is the TDO end */
    unsigned ring_len, ring_head;
    bool wait; /* JTAG-DP: this DR scan captured WAIT, its update is ignored */
} sim_tap;

/* ---- JTAG-DP + MEM-AP (ADIv5) ---- */
#define DP_IR_ABORT 0x8u
#define DP_IR_DPACC 0xAu
#define DP_IR_APACC 0xBu
#define DP_IR_IDCODE 0xEu
#define DP_IR_BYPASS 0xFu
#define DP_ACK_OK 0x2u   /* OK/FAULT */
#define DP_ACK_WAIT 0x1u /* WAIT */
/* Longer bus stalls (a sector erase) complete at once, moving simulated
 * time to their end, rather than make the debugger retry for seconds. */
#define SIM_DAP_WAIT_MAX_PS 1000000000ull /* 1 ms */

#define DP_CTRL_ORUNDETECT (1u << 0)
#define DP_CTRL_STICKYORUN (1u << 1)
#define DP_CTRL_STICKYCMP (1u << 4)
#define DP_CTRL_STICKYERR (1u << 5)
#define DP_CTRL_READOK (1u << 6)
#define DP_CTRL_CDBGRSTREQ (1u << 26)
#define DP_CTRL_CDBGRSTACK (1u << 27)
#define DP_CTRL_CDBGPWRUPREQ (1u << 28)
#define DP_CTRL_CDBGPWRUPACK (1u << 29)
#define DP_CTRL_CSYSPWRUPREQ (1u << 30)
#define DP_CTRL_CSYSPWRUPACK (1u << 31)

#define AP_CSW 0x00u
#define AP_TAR 0x04u
#define AP_DRW 0x0Cu
#define AP_BD0 0x10u
#define AP_CFG 0xF4u
#define AP_BASE 0xF8u
#define AP_IDR 0xFCu
#define CSW_SIZE_MASK 0x7u
#define CSW_ADDRINC_SHIFT 4
#define CSW_DEVICEEN (1u << 6)

typedef struct sim_dap {
    const sim_dbg_desc *desc;
    const sim_bus_ops *bus;
    void *bus_ctx;
    /* DP */
    uint32_t ctrl;       /* CTRL/STAT */
    uint32_t select;     /* SELECT */
    uint32_t rdbuff;     /* result of the last read, returned by the next capture */
    uint64_t busy_until; /* an AP access in progress until this tick: WAIT */
    uint64_t tick;       /* TCK cycles so far (the DP's sense of time) */
    uint64_t tck_ps;     /* one TCK period (0: stalls are not turned into WAIT) */
    bool pend;           /* a stalled DRW/BD access, performed when it ends */
    bool pend_rnw;
    int pend_bd;
    uint32_t pend_data, pend_addr;
    unsigned pend_size;
    /* MEM-AP 0 */
    uint32_t csw, tar;
    /* statistics */
    uint64_t dp_reads, dp_writes, ap_reads, ap_writes, waits, bus_errors;
} sim_dap;

/* The chain of an STM32-like part: tap[0] is the JTAG-DP (nearest TDO),
 * tap[1] the boundary-scan TAP (nearest TDI). */
#define SIM_JTAG_TAPS 2
typedef struct sim_jtag {
    sim_tap_state state;
    sim_tap tap[SIM_JTAG_TAPS];
    sim_dap dap;
    int tck, tms, tdi; /* pin levels as last driven */
    uint64_t tck_cycles;
} sim_jtag;

int oflash__sim_jtag_init(sim_jtag *j, const sim_dbg_desc *desc, const sim_bus_ops *bus,
                          void *bus_ctx);
void oflash__sim_jtag_free(sim_jtag *j);
/* TRST, or power-up: every TAP to Test-Logic-Reset, IDCODE selected. */
void oflash__sim_jtag_trst(sim_jtag *j);
/* Drive the pins; a rising TCK edge clocks the chain. */
void oflash__sim_jtag_pins(sim_jtag *j, int tck, int tms, int tdi);
/* The level on TDO now. */
int oflash__sim_jtag_tdo(const sim_jtag *j);
/* DP power-on reset (CTRL/STAT, SELECT, AP registers). */
void oflash__sim_dap_reset(sim_dap *d);
/* One DPACC/APACC transaction as the JTAG-DP performs it at Update-DR
 * (exposed for tests): rnw, a = A[3:2] << 2. */
void oflash__sim_dap_access(sim_dap *d, bool ap, bool rnw, unsigned a, uint32_t data);

/* ---- Cortex-M debug (dbg_cortexm.c) ---- */
struct sim_chip;

#define DHCSR_ADDR 0xE000EDF0u
#define DCRSR_ADDR 0xE000EDF4u
#define DCRDR_ADDR 0xE000EDF8u
#define DEMCR_ADDR 0xE000EDFCu
#define DFSR_ADDR 0xE000ED30u
#define AIRCR_ADDR 0xE000ED0Cu
#define CPUID_ADDR 0xE000ED00u

#define DHCSR_C_DEBUGEN (1u << 0)
#define DHCSR_C_HALT (1u << 1)
#define DHCSR_C_STEP (1u << 2)
#define DHCSR_C_MASKINTS (1u << 3)
#define DHCSR_C_SNAPSTALL (1u << 5)
#define DHCSR_S_REGRDY (1u << 16)
#define DHCSR_S_HALT (1u << 17)
#define DHCSR_S_SLEEP (1u << 18)
#define DHCSR_S_LOCKUP (1u << 19)
#define DHCSR_S_RETIRE_ST (1u << 24)
#define DHCSR_S_RESET_ST (1u << 25)
#define DHCSR_DBGKEY 0xA05F0000u

#define DEMCR_VC_CORERESET (1u << 0)
#define DEMCR_VC_MMERR (1u << 4)
#define DEMCR_VC_NOCPERR (1u << 5)
#define DEMCR_VC_CHKERR (1u << 6)
#define DEMCR_VC_STATERR (1u << 7)
#define DEMCR_VC_BUSERR (1u << 8)
#define DEMCR_VC_INTERR (1u << 9)
#define DEMCR_VC_HARDERR (1u << 10)
#define DEMCR_TRCENA (1u << 24)

#define DFSR_HALTED (1u << 0)
#define DFSR_BKPT (1u << 1)
#define DFSR_DWTTRAP (1u << 2)
#define DFSR_VCATCH (1u << 3)
#define DFSR_EXTERNAL (1u << 4)

#define SIM_FPB_MAX 16
#define SIM_DWT_MAX 4

typedef struct sim_cortexm {
    struct sim_chip *chip;
    const sim_dbg_desc *desc;
    bool halted;
    bool locked_up;
    bool in_srst;           /* SRST asserted: the core is held in reset */
    uint32_t dhcsr;         /* C_* control bits as written */
    bool s_retire, s_reset; /* sticky: cleared by a DHCSR read */
    uint32_t dcrdr, demcr, dfsr;
    /* FPB */
    uint32_t fp_ctrl_enable;
    uint32_t fp_remap;
    uint32_t fp_comp[SIM_FPB_MAX];
    size_t fp_hooks[SIM_FPB_MAX]; /* Unicorn hook handles of armed code comparators */
    bool fp_hooked[SIM_FPB_MAX];
    uint32_t fp_addr[SIM_FPB_MAX]; /* the halfword each hook watches */
    bool fp_hit;
    /* DWT */
    uint32_t dwt_ctrl;
    uint64_t cyccnt_base; /* core cycles at which CYCCNT read 0 */
    uint32_t cyccnt_written;
    uint32_t dwt_comp[SIM_DWT_MAX], dwt_mask[SIM_DWT_MAX], dwt_func[SIM_DWT_MAX];
    size_t dwt_hooks[SIM_DWT_MAX]; /* Unicorn memory hooks of armed watchpoints */
    bool dwt_hooked[SIM_DWT_MAX];
    bool dwt_hit;
    /* ITM */
    uint32_t itm_tcr, itm_ter, itm_tpr, itm_lar;
    uint64_t pending_ps; /* debugger time the core has not caught up with yet */
    uint64_t steps, halts, resumes;
    char last_fault[128];
} sim_cortexm;

int oflash__sim_cortexm_init(sim_cortexm *m, struct sim_chip *chip, const sim_dbg_desc *desc);
void oflash__sim_cortexm_free(sim_cortexm *m);
/* The bus the MEM-AP sees (ctx = sim_cortexm). */
extern const sim_bus_ops oflash__sim_cortexm_bus;
/* Let the core run for up to ps picoseconds of simulated time if it is not
 * halted (halts on BKPT, FPB, vector catch, lockup); time passes anyway. */
void oflash__sim_cortexm_advance(sim_cortexm *m, uint64_t ps);
/* System reset (SYSRESETREQ, SRST): the chip resets, the debug logic keeps
 * its state, S_RESET_ST is set, VC_CORERESET halts at the reset vector. */
void oflash__sim_cortexm_system_reset(sim_cortexm *m);
/* Hold the core in reset while SRST is asserted. */
void oflash__sim_cortexm_srst(sim_cortexm *m, bool asserted);

#endif
