/*
 * debug_port.c - the STM32F2/F4 family's debug port for `oflash sim serve`:
 * the IDs and quirks that the generic parts in src/sim/dbg_*.c take from
 * here (oflash__stm32f4_sim.debug_port).
 *
 * RM0090 rev 19 §38.6.2-38.6.3 / RM0368 rev 5 §23.6: two TAPs, the
 * boundary-scan TAP (IR 5 bits) between TDI and the Cortex-M4 JTAG-DP
 * (IR 4 bits, IDCODE 0x4BA00477, r0p1).  The boundary-scan IDCODE is
 * 0x06000041 | DEV_ID << 12 (0x06413041 on F405/407, 0x06419041 on
 * F42x, 0x06423041 / 0x06433041 on F401, 0x06431041 on F411; the same
 * values OpenOCD lists for the parts).  Boundary-scan instructions of ST's
 * BSDL files: EXTEST 00000, IDCODE 00001, SAMPLE/PRELOAD 00010, BYPASS
 * 11111.  No pins are modelled, so the boundary-scan register is left out
 * (bs_cells 0: SAMPLE and EXTEST select a 1-bit path like BYPASS).
 *
 * Cortex-M4 r0p1 TRM (the CPUID comes from the model's map): AHB-AP IDR 0x24770011, ROM table at
 * 0xE00FF000, FPB with 6 code and 2 literal comparators, DWT with 4
 * comparators, FPv4-SP (MVFR0 0x10110021, MVFR1 0x11000011).  The AHB-AP
 * auto-increments TAR[11:0] (4 KB), which OpenOCD relies on for the M3/M4.
 */
#include "stm32f4.h"
#include "sim/dbg.h"

const sim_dbg_desc oflash__stm32f4_debug_port = {
    .dp_idcode = 0x4BA00477u,
    .dp_irlen = 4,
    .bs_irlen = 5,
    .bs_idcode = 0x06000041u,
    .bs_devid_shift = 12,
    .bs_cells = 0,
    .bs_ir_idcode = 0x01,
    .bs_ir_sample = 0x02,
    .bs_ir_extest = 0x00,
    .ap_idr = 0x24770011u,
    .rom_base = 0xE00FF000u,
    .tar_wrap = 0x1000u,
    .fpu = true,
    .mvfr0 = 0x10110021u,
    .mvfr1 = 0x11000011u,
    .fpb_code = 6,
    .fpb_lit = 2,
    .dwt_comp = 4,
};
