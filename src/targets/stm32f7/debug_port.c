/*
 * debug_port.c - the STM32F7 family's debug port for `oflash sim serve`:
 * the IDs the generic parts in src/sim/dbg_*.c take from here
 * (oflash__stm32f7_sim.debug_port).
 *
 * RM0385 rev 8 §40.6 / RM0410 rev 4 §45.6: two TAPs, the boundary-scan TAP
 * (IR 5 bits, IDCODE 0x06000041 | DEV_ID << 12: 0x06449041 on F74x/F75x,
 * 0x06451041 on F76x/F77x, as OpenOCD lists them) before the Cortex-M7
 * JTAG-DP (IR 4 bits, IDCODE 0x5BA00477, the value OpenOCD's
 * target/stm32f7x.cfg expects).  Boundary-scan instructions as on the F4
 * (EXTEST 00000, IDCODE 00001, SAMPLE/PRELOAD 00010); no pins modelled.
 *
 * Cortex-M7 (CPUID from the model's map): AHB-AP IDR 0x74770001 with the
 * ST ROM table at 0xE00FD000 (what pyOCD reports on an F7: "AHB-AP#0 IDR =
 * 0x74770001 ... ROM table #0 @ 0xe00fd000 (designer=020:ST part=449)"),
 * TAR auto-increment within 1 KB (the ADIv5 minimum), FPB with 8 code and
 * 0 literal comparators, DWT with 4 comparators, FPv5 (single precision
 * on F74x: MVFR0 0x10110021, MVFR1 0x11000011; the F76x's double-precision
 * unit is described with the same single-precision view: S0-S31 and FPSCR
 * are what a debugger reads either way).
 */
#include "stm32f7.h"
#include "sim/dbg.h"

const sim_dbg_desc oflash__stm32f7_debug_port = {
    .dp_idcode = 0x5BA00477u,
    .dp_irlen = 4,
    .bs_irlen = 5,
    .bs_idcode = 0x06000041u,
    .bs_devid_shift = 12,
    .bs_cells = 0,
    .bs_ir_idcode = 0x01,
    .bs_ir_sample = 0x02,
    .bs_ir_extest = 0x00,
    .ap_idr = 0x74770001u,
    .rom_base = 0xE00FD000u,
    .tar_wrap = 0x400u,
    .fpu = true,
    .mvfr0 = 0x10110021u,
    .mvfr1 = 0x11000011u,
    .fpb_code = 8,
    .fpb_lit = 0,
    .dwt_comp = 4,
};
