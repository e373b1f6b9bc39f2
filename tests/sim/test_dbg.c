/*
 * test_dbg.c - the simulated debug port: JTAG TAP state machine and chain,
 * JTAG-DP, MEM-AP (against a plain memory bus), then halting debug of the
 * real simulated core (Unicorn) through the Cortex-M debug registers.
 */
#include "harness.h"

#include "oflash/sim.h"
#include "sim/dbg.h"
#include "sim/sim_internal.h"

#include <stdlib.h>
#include <unistd.h>

/* ---- a plain bus: 64 KiB of RAM at 0x20000000 ---- */
static uint8_t ram[65536];

static int ram_read(void *ctx, uint32_t addr, unsigned size, uint32_t *val)
{
    (void)ctx;
    if (addr < 0x20000000u || addr - 0x20000000u + size > sizeof ram) return -1;
    *val = 0;
    for (unsigned i = 0; i < size; i++)
        *val |= (uint32_t)ram[addr - 0x20000000u + i] << (8 * i);
    return 0;
}

static int ram_write(void *ctx, uint32_t addr, unsigned size, uint32_t val)
{
    (void)ctx;
    if (addr < 0x20000000u || addr - 0x20000000u + size > sizeof ram) return -1;
    for (unsigned i = 0; i < size; i++)
        ram[addr - 0x20000000u + i] = (uint8_t)(val >> (8 * i));
    return 0;
}

static const sim_bus_ops ram_bus = {ram_read, ram_write, NULL, NULL};

/* ---- driving the pins ---- */
static sim_cortexm *g_core; /* when set, each TCK cycle is 250 ns of its time */

static void pins(sim_jtag *j, int tck, int tms, int tdi)
{
    uint64_t before = j->tck_cycles;
    oflash__sim_jtag_pins(j, tck, tms, tdi);
    if (g_core && j->tck_cycles != before) g_core->pending_ps += 250000;
}

static void clk(sim_jtag *j, int tms, int tdi)
{
    pins(j, 0, tms, tdi);
    pins(j, 1, tms, tdi);
}

/* From Run-Test/Idle: shift n bits (LSB first) through IR or DR, back to
 * Run-Test/Idle; returns the bits seen on TDO. */
static uint64_t scan(sim_jtag *j, bool ir, uint64_t out, unsigned n, uint64_t *hi_out)
{
    uint64_t in = 0;
    clk(j, 1, 0);         /* DRSELECT */
    if (ir) clk(j, 1, 0); /* IRSELECT */
    clk(j, 0, 0);         /* CAPTURE */
    clk(j, 0, 0);         /* SHIFT */
    for (unsigned i = 0; i < n; i++) {
        int bit = i < 64 ? (int)((out >> i) & 1) : 0;
        pins(j, 0, i == n - 1, bit);
        if (oflash__sim_jtag_tdo(j)) {
            if (i < 64)
                in |= 1ull << i;
            else if (hi_out)
                *hi_out |= 1ull << (i - 64);
        }
        pins(j, 1, i == n - 1, bit);
    }
    clk(j, 1, 0); /* UPDATE */
    clk(j, 0, 0); /* IDLE */
    return in;
}

/* Select DP instruction ir on the DP TAP and BYPASS on the boundary-scan TAP. */
static void dp_ir(sim_jtag *j, unsigned ir)
{
    scan(j, true, ir | 0x1Fu << 4, 9, NULL);
}

/* A DPACC/APACC scan (DP TAP first on TDO, then 1 bypass bit). */
static uint64_t acc(sim_jtag *j, bool rnw, unsigned a, uint32_t data)
{
    uint64_t v = (rnw ? 1u : 0u) | (uint64_t)((a >> 2) & 3) << 1 | (uint64_t)data << 3;
    return scan(j, false, v, 36, NULL) & 0x7FFFFFFFFull;
}

static uint32_t dp_read(sim_jtag *j, unsigned a)
{
    dp_ir(j, DP_IR_DPACC);
    acc(j, true, a, 0);
    return (uint32_t)(acc(j, true, 0xC, 0) >> 3);
}

static void dp_write(sim_jtag *j, unsigned a, uint32_t v)
{
    dp_ir(j, DP_IR_DPACC);
    acc(j, false, a, v);
}

static uint32_t ap_read(sim_jtag *j, unsigned reg)
{
    dp_write(j, 0x8, reg & 0xF0u);
    dp_ir(j, DP_IR_APACC);
    acc(j, true, reg & 0xCu, 0);
    dp_ir(j, DP_IR_DPACC);
    return (uint32_t)(acc(j, true, 0xC, 0) >> 3);
}

static void ap_write(sim_jtag *j, unsigned reg, uint32_t v)
{
    dp_write(j, 0x8, reg & 0xF0u);
    dp_ir(j, DP_IR_APACC);
    acc(j, false, reg & 0xCu, v);
}

extern const sim_dbg_desc oflash__stm32f4_debug_port;

static sim_dbg_desc f401(void)
{
    sim_dbg_desc d;
    oflash__sim_dbg_desc_for(&d, &oflash__stm32f4_debug_port, 0x433, 0x410FC241u);
    return d;
}

static void test_tap_states(void)
{
    /* Five TMS=1 clocks reach Test-Logic-Reset from every state. */
    for (int s = 0; s < 16; s++) {
        sim_tap_state t = (sim_tap_state)s;
        for (int i = 0; i < 5; i++)
            t = oflash__sim_tap_next(t, 1);
        CHECK_EQ_U(t, TAP_RESET);
    }
    CHECK_EQ_U(oflash__sim_tap_next(TAP_DREXIT2, 0), TAP_DRSHIFT);
    CHECK_EQ_U(oflash__sim_tap_next(TAP_IRUPDATE, 1), TAP_DRSELECT);
    CHECK_EQ_U(oflash__sim_tap_next(TAP_IRSELECT, 1), TAP_RESET);
    CHECK(!strcmp(oflash__sim_tap_state_name(TAP_DRPAUSE), "DRPAUSE"));
}

static void test_chain(void)
{
    sim_dbg_desc d = f401();
    sim_jtag j;
    uint64_t v;
    CHECK_OK(oflash__sim_jtag_init(&j, &d, &ram_bus, NULL));
    /* Boundary-scan ID of an F401xD/E from the family description. */
    CHECK_EQ_U(d.bs_idcode, 0x06433041u);
    clk(&j, 0, 0); /* RESET -> IDLE */
    /* After reset both TAPs have IDCODE selected: 64 bits, DP first. */
    v = scan(&j, false, 0, 64, NULL);
    CHECK_EQ_U(v & 0xFFFFFFFFu, 0x4BA00477u);
    CHECK_EQ_U(v >> 32, 0x06433041u);
    /* IR capture: 0b0001 (DP) then 0b00001 (boundary scan). */
    v = scan(&j, true, 0x1FFu, 9, NULL); /* BYPASS both */
    CHECK_EQ_U(v, 0x011u);
    /* BYPASS: a two-bit path (one per TAP), each bypass register captures 0. */
    v = scan(&j, false, 0x2Du, 8, NULL);
    CHECK_EQ_U(v, (0x2Du << 2) & 0xFFu);
    /* TRST puts IDCODE back. */
    oflash__sim_jtag_trst(&j);
    clk(&j, 0, 0);
    CHECK_EQ_U(scan(&j, false, 0, 32, NULL), 0x4BA00477u);
    /* DP IR IDCODE explicitly, boundary scan BYPASS: 33 bits. */
    dp_ir(&j, DP_IR_IDCODE);
    v = scan(&j, false, 0, 33, NULL);
    CHECK_EQ_U(v & 0xFFFFFFFFu, 0x4BA00477u);
    CHECK_EQ_U(j.tck_cycles > 100, 1);
    oflash__sim_jtag_free(&j);
}

static void test_dp_ap(void)
{
    sim_dbg_desc d = f401();
    sim_jtag j;
    uint64_t cap;
    uint32_t v;
    CHECK_OK(oflash__sim_jtag_init(&j, &d, &ram_bus, NULL));
    clk(&j, 0, 0);
    memset(ram, 0, sizeof ram);

    /* Power-up handshake. */
    CHECK_EQ_U(dp_read(&j, 0x4) & (DP_CTRL_CDBGPWRUPACK | DP_CTRL_CSYSPWRUPACK), 0);
    dp_write(&j, 0x4, DP_CTRL_CDBGPWRUPREQ | DP_CTRL_CSYSPWRUPREQ);
    v = dp_read(&j, 0x4);
    CHECK_EQ_U(v & 0xF0000000u, 0xF0000000u);
    /* ACK of a DPACC scan is OK (0b010). */
    dp_ir(&j, DP_IR_DPACC);
    cap = acc(&j, true, 0x4, 0);
    CHECK_EQ_U(cap & 7, DP_ACK_OK);

    /* AP IDR, BASE, CFG. */
    CHECK_EQ_U(ap_read(&j, AP_IDR), 0x24770011u);
    CHECK_EQ_U(ap_read(&j, AP_BASE), 0xE00FF003u);
    CHECK_EQ_U(ap_read(&j, AP_CFG), 0);
    /* A second AP does not exist: IDR 0. */
    dp_write(&j, 0x8, 0x01000000u | 0xF0u);
    dp_ir(&j, DP_IR_APACC);
    acc(&j, true, 0xC, 0);
    CHECK_EQ_U(dp_read(&j, 0xC), 0);

    /* CSW: 32-bit, auto-increment single; packed reads back as off. */
    ap_write(&j, AP_CSW, 0x23000012u);
    CHECK_EQ_U(ap_read(&j, AP_CSW), 0x23000052u); /* DeviceEn */
    ap_write(&j, AP_CSW, 0x23000022u);
    CHECK_EQ_U((ap_read(&j, AP_CSW) >> 4) & 3, 0);

    /* Word writes with auto-increment wrap inside 4 KB on a Cortex-M4
     * AHB-AP (ADIv5 guarantees 1 KB): 0x20000FFC, then 0x20000000. */
    ap_write(&j, AP_CSW, 0x23000012u);
    ap_write(&j, AP_TAR, 0x20000FFCu);
    dp_ir(&j, DP_IR_APACC);
    acc(&j, false, AP_DRW, 0x11111111u);
    acc(&j, false, AP_DRW, 0x22222222u);
    CHECK_EQ_U(ram[0xFFC], 0x11);
    CHECK_EQ_U(ram[0x000], 0x22);
    CHECK_EQ_U(ram[0x1000], 0x00);
    CHECK_EQ_U(ap_read(&j, AP_TAR), 0x20000004u);
    /* 1 KB is not a boundary for this AP. */
    ap_write(&j, AP_TAR, 0x200003FCu);
    dp_ir(&j, DP_IR_APACC);
    acc(&j, false, AP_DRW, 0x33333333u);
    acc(&j, false, AP_DRW, 0x44444444u);
    CHECK_EQ_U(ram[0x400], 0x44);

    /* Byte and halfword accesses use the byte lanes of TAR[1:0]. */
    ap_write(&j, AP_CSW, 0x23000010u); /* 8-bit, increment */
    ap_write(&j, AP_TAR, 0x20000101u);
    dp_ir(&j, DP_IR_APACC);
    acc(&j, false, AP_DRW, 0x0000AB00u); /* lane 1 */
    acc(&j, false, AP_DRW, 0x00CD0000u); /* lane 2 */
    CHECK_EQ_U(ram[0x101], 0xAB);
    CHECK_EQ_U(ram[0x102], 0xCD);
    CHECK_EQ_U(ram[0x100], 0x00);
    ap_write(&j, AP_CSW, 0x23000001u); /* 16-bit, no increment */
    ap_write(&j, AP_TAR, 0x20000102u);
    CHECK_EQ_U(ap_read(&j, AP_DRW), 0x00CD0000u);
    CHECK_EQ_U(ap_read(&j, AP_TAR), 0x20000102u);

    /* Banked data: BD1 is TAR[31:4] + 4, no increment. */
    ap_write(&j, AP_CSW, 0x23000002u);
    ap_write(&j, AP_TAR, 0x20000200u);
    ap_write(&j, AP_BD0 + 4, 0xCAFEF00Du);
    CHECK_EQ_U(ram[0x204], 0x0D);
    CHECK_EQ_U(ap_read(&j, AP_BD0 + 4), 0xCAFEF00Du);

    /* Bus error: STICKYERR, cleared by writing 1 (JTAG-DP). */
    ap_write(&j, AP_TAR, 0x30000000u);
    ap_read(&j, AP_DRW);
    CHECK(dp_read(&j, 0x4) & DP_CTRL_STICKYERR);
    CHECK_EQ_U(j.dap.bus_errors, 1);
    dp_write(&j, 0x4, DP_CTRL_CDBGPWRUPREQ | DP_CTRL_CSYSPWRUPREQ | DP_CTRL_STICKYERR);
    CHECK(!(dp_read(&j, 0x4) & DP_CTRL_STICKYERR));

    /* WAIT: while an access is in progress the scan is ignored. */
    dp_ir(&j, DP_IR_DPACC);
    j.dap.busy_until = j.dap.tick + 60;
    cap = acc(&j, false, 0x8, 0x000000F0u);
    CHECK_EQ_U(cap & 7, DP_ACK_WAIT);
    CHECK_EQ_U(j.dap.select, 0); /* SELECT not written */
    j.dap.busy_until = 0;
    cap = acc(&j, false, 0x8, 0x000000F0u);
    CHECK_EQ_U(cap & 7, DP_ACK_OK);
    CHECK_EQ_U(j.dap.select, 0xF0u);
    oflash__sim_jtag_free(&j);
}

/* A long boundary-scan register (ring path) delays data by its length. */
static void test_bsr(void)
{
    sim_dbg_desc d = f401();
    sim_jtag j;
    uint64_t hi = 0, v;
    d.bs_cells = 100;
    CHECK_OK(oflash__sim_jtag_init(&j, &d, &ram_bus, NULL));
    clk(&j, 0, 0);
    scan(&j, true, 0xFu | d.bs_ir_sample << 4, 9, NULL); /* DP BYPASS, BS SAMPLE */
    v = scan(&j, false, 0x5ull, 128, &hi);
    /* 1 bypass bit + 100 cells captured as 0, then our 0b101 appears at bit 101. */
    CHECK_EQ_U(v, 0);
    CHECK_EQ_U(hi, 0x5ull << (101 - 64));
    oflash__sim_jtag_free(&j);
}

/* ---- the real core ---- */

static sim_chip *chip_new(const char *path)
{
    sim_chip *c = NULL;
    oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
    o.device = "STM32F401RE";
    unlink(path);
    if (oflash__sim_chip_open(&c, path, &o) < 0) return NULL;
    return c;
}

static uint32_t rd(sim_cortexm *m, uint32_t a)
{
    uint32_t v = 0xDEADBEEFu;
    oflash__sim_cortexm_bus.read(m, a, 4, &v);
    return v;
}

static void wr(sim_cortexm *m, uint32_t a, uint32_t v)
{
    oflash__sim_cortexm_bus.write(m, a, 4, v);
}

static void reg_w(sim_cortexm *m, unsigned sel, uint32_t v)
{
    wr(m, DCRDR_ADDR, v);
    wr(m, DCRSR_ADDR, sel | 1u << 16);
}

static uint32_t reg_r(sim_cortexm *m, unsigned sel)
{
    wr(m, DCRSR_ADDR, sel);
    CHECK(rd(m, DHCSR_ADDR) & DHCSR_S_REGRDY);
    return rd(m, DCRDR_ADDR);
}

/* Program words into flash through the flash interface, as a debugger
 * without a work area does. */
static void flash_words(sim_cortexm *m, uint32_t addr, const uint32_t *w, size_t n)
{
    wr(m, 0x40023C04u, 0x45670123u);
    wr(m, 0x40023C04u, 0xCDEF89ABu);
    wr(m, 0x40023C10u, 2u << 8 | 1u); /* PSIZE x32, PG */
    for (size_t i = 0; i < n; i++)
        wr(m, addr + 4u * (uint32_t)i, w[i]);
    wr(m, 0x40023C10u, 1u << 31); /* LOCK */
}

static void test_core(void)
{
    sim_dbg_desc d = f401();
    sim_cortexm m;
    sim_chip *c = chip_new("t_dbg.sim");
    CHECK(c != NULL);
    if (!c) return;
    oflash__sim_cortexm_init(&m, c, &d);

    /* Identification as OpenOCD reads it. */
    CHECK_EQ_U(rd(&m, CPUID_ADDR), 0x410FC241u);
    CHECK_EQ_U(rd(&m, 0xE000EF40u), 0x10110021u);
    CHECK_EQ_U(rd(&m, 0xE0002000u), 0x260u); /* 6 code, 2 literal comparators */
    CHECK_EQ_U(rd(&m, 0xE0001000u) >> 28, 4);
    CHECK_EQ_U(rd(&m, 0xE0042000u) & 0xFFFu, 0x433);
    /* ROM table: SCS, DWT, FPB, ITM, end; component classes. */
    CHECK_EQ_U(rd(&m, 0xE00FF000u), 0xFFF0F003u);
    CHECK_EQ_U(rd(&m, 0xE00FF004u), 0xFFF02003u);
    CHECK_EQ_U(rd(&m, 0xE00FF008u), 0xFFF03003u);
    CHECK_EQ_U(rd(&m, 0xE00FF00Cu), 0xFFF01003u);
    CHECK_EQ_U(rd(&m, 0xE00FF010u), 0);
    CHECK_EQ_U(rd(&m, 0xE00FFFF4u), 0x10);
    CHECK_EQ_U(rd(&m, 0xE000EFF4u), 0xE0);
    CHECK_EQ_U(rd(&m, 0xE00FFFFCu), 0xB1);
    /* Unmapped address: bus error. */
    {
        uint32_t v;
        CHECK(oflash__sim_cortexm_bus.read(&m, 0x30000000u, 4, &v) < 0);
    }

    /* Power-on: S_RESET_ST once; the core runs (erased flash: the reset
     * vector 0xFFFFFFFF cannot be fetched, the core locks up). */
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_RESET_ST);
    CHECK(!(rd(&m, DHCSR_ADDR) & DHCSR_S_RESET_ST));
    oflash__sim_cortexm_advance(&m, 10000000); /* 10 us */
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_LOCKUP);
    /* A write without DBGKEY is ignored; with it, C_HALT halts and clears
     * the lockup. */
    wr(&m, DHCSR_ADDR, DHCSR_C_DEBUGEN | DHCSR_C_HALT);
    CHECK(!(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT));
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
    CHECK_EQ_U(rd(&m, DHCSR_ADDR) & (DHCSR_S_HALT | DHCSR_S_LOCKUP | 0xF), DHCSR_S_HALT | 3);
    CHECK(rd(&m, DFSR_ADDR) & DFSR_HALTED);
    wr(&m, DFSR_ADDR, 0x1F);
    CHECK_EQ_U(rd(&m, DFSR_ADDR), 0);

    /* Firmware in flash: vectors (SP, reset, NMI, HardFault), code. */
    {
        /* 0x08000020: movs r0,#1; movs r1,#2; adds r0,r0,r1; bkpt #0x11
         * 0x08000028: loop: adds r2,#1; b loop
         * 0x0800002C: HardFault: b .
         * 0x08000030: ldr r3,=0x30000000 (pc-rel at 0x38); ldr r0,[r3]; bkpt
         */
        static const uint32_t fw[] = {
            0x20010000u, 0x08000021u, 0x08000021u, 0x0800002Du, 0,
            0,           0,           0,           0x21022001u, 0xBE111840u,
            0xE7FD3201u, 0xE7FEE7FEu, 0x68184B01u, 0xBF00BE22u, 0x30000000u,
        };
        flash_words(&m, 0x08000000u, fw, sizeof fw / sizeof fw[0]);
        CHECK_EQ_U(rd(&m, 0x08000020u), 0x21022001u);
    }

    /* Vector catch on reset: SYSRESETREQ halts at the reset handler. */
    wr(&m, DEMCR_ADDR, DEMCR_TRCENA | DEMCR_VC_CORERESET);
    wr(&m, AIRCR_ADDR, 0x05FA0004u);
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT);
    CHECK(rd(&m, DFSR_ADDR) & DFSR_VCATCH);
    CHECK_EQ_U(reg_r(&m, 15), 0x08000020u);
    CHECK_EQ_U(reg_r(&m, 13), 0x20010000u);
    CHECK_EQ_U(reg_r(&m, 16), 0x01000000u);
    /* A key mismatch does nothing. */
    wr(&m, AIRCR_ADDR, 0x12340004u);
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT);

    /* Single steps are one instruction each. */
    reg_w(&m, 1, 0x77);
    wr(&m, DFSR_ADDR, 0x1F);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_STEP | DHCSR_C_MASKINTS);
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT);
    CHECK_EQ_U(reg_r(&m, 15), 0x08000022u);
    CHECK_EQ_U(reg_r(&m, 0), 1);
    CHECK_EQ_U(reg_r(&m, 1), 0x77);
    CHECK(rd(&m, DFSR_ADDR) & DFSR_HALTED);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_STEP | DHCSR_C_MASKINTS);
    CHECK_EQ_U(reg_r(&m, 15), 0x08000024u);
    CHECK_EQ_U(reg_r(&m, 1), 2);
    CHECK_EQ_U(reg_r(&m, 0), 1);

    /* Resume: the core runs to the BKPT and halts there (DFSR.BKPT). */
    wr(&m, DFSR_ADDR, 0x1F);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN);
    CHECK(!(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT));
    oflash__sim_cortexm_advance(&m, 1000000); /* 1 us: 16 cycles */
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT);
    CHECK_EQ_U(rd(&m, DFSR_ADDR), DFSR_BKPT);
    CHECK_EQ_U(reg_r(&m, 15), 0x08000026u);
    CHECK_EQ_U(reg_r(&m, 0), 3);

    /* Core registers through DCRSR/DCRDR: R5, MSP/PSP, special, FPU. */
    reg_w(&m, 5, 0x12345678u);
    CHECK_EQ_U(reg_r(&m, 5), 0x12345678u);
    reg_w(&m, 18, 0x20004000u);
    CHECK_EQ_U(reg_r(&m, 18), 0x20004000u);
    reg_w(&m, 20, 0x00000101u); /* BASEPRI 1? no: PRIMASK 1, BASEPRI 0x01 */
    CHECK_EQ_U(reg_r(&m, 20) & 0xFFFFu, 0x0101u);
    reg_w(&m, 20, 0);
    reg_w(&m, 64 + 3, 0x3F800000u); /* S3 = 1.0f */
    CHECK_EQ_U(reg_r(&m, 64 + 3), 0x3F800000u);
    reg_w(&m, 33, 0x03000000u);
    CHECK_EQ_U(reg_r(&m, 33) & 0x03000000u, 0x03000000u);

    /* FPB: a code comparator on the loop halts before it executes. */
    wr(&m, 0xE0002000u, 3); /* KEY | ENABLE */
    wr(&m, 0xE0002008u, 0x08000028u | 1u << 30 | 1u);
    CHECK_EQ_U(rd(&m, 0xE0002008u), 0x48000029u);
    reg_w(&m, 15, 0x08000028u);
    reg_w(&m, 2, 0);
    wr(&m, DFSR_ADDR, 0x1F);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN); /* resume at the comparator */
    oflash__sim_cortexm_advance(&m, 1000000);
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT);
    CHECK_EQ_U(rd(&m, DFSR_ADDR), DFSR_BKPT);
    CHECK_EQ_U(reg_r(&m, 15), 0x08000028u);
    CHECK_EQ_U(reg_r(&m, 2), 0); /* not executed */
    /* With the comparator off, a step executes it; a resume runs the loop. */
    wr(&m, 0xE0002008u, 0);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_STEP);
    CHECK_EQ_U(reg_r(&m, 2), 1);
    CHECK_EQ_U(reg_r(&m, 15), 0x0800002Au);
    /* CYCCNT counts while the core runs. */
    wr(&m, 0xE0001004u, 0);
    wr(&m, 0xE0001000u, 1);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN);
    oflash__sim_cortexm_advance(&m, 62500 * 1000); /* 62.5 us at 16 MHz: 1000 cycles */
    {
        uint32_t dh = rd(&m, DHCSR_ADDR);
        CHECK(!(dh & DHCSR_S_HALT));
        CHECK(dh & DHCSR_S_RETIRE_ST);
    }
    {
        uint32_t cc = rd(&m, 0xE0001004u);
        CHECK(cc >= 900 && cc <= 1100);
    }
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
    {
        uint32_t r2 = reg_r(&m, 2);
        CHECK(r2 >= 400 && r2 <= 600); /* two instructions per iteration */
    }

    /* A bus fault without a catch runs the HardFault handler (b .). */
    wr(&m, DEMCR_ADDR, DEMCR_TRCENA);
    reg_w(&m, 15, 0x08000030u);
    reg_w(&m, 13, 0x20008000u);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN);
    oflash__sim_cortexm_advance(&m, 1000000);
    CHECK(!(rd(&m, DHCSR_ADDR) & (DHCSR_S_HALT | DHCSR_S_LOCKUP)));
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
    CHECK_EQ_U(reg_r(&m, 15), 0x0800002Cu);
    CHECK_EQ_U(reg_r(&m, 16) & 0x1FFu, 3); /* IPSR HardFault */
    CHECK_EQ_U(reg_r(&m, 14), 0xFFFFFFF9u);
    CHECK_EQ_U(reg_r(&m, 13), 0x20008000u - 32);
    CHECK_EQ_U(rd(&m, 0x20008000u - 32 + 24), 0x08000032u); /* stacked PC: the faulting LDR */
    /* The same fault in the handler: lockup. */
    reg_w(&m, 15, 0x08000032u);
    reg_w(&m, 3, 0x30000000u);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN);
    oflash__sim_cortexm_advance(&m, 1000000);
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_LOCKUP);
    /* With VC_HARDERR the fault halts at the handler (DFSR.VCATCH). */
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
    CHECK(!(rd(&m, DHCSR_ADDR) & DHCSR_S_LOCKUP));
    wr(&m, DEMCR_ADDR, DEMCR_TRCENA | DEMCR_VC_HARDERR);
    reg_w(&m, 16, 0x01000000u);
    reg_w(&m, 15, 0x08000030u);
    reg_w(&m, 13, 0x20008000u);
    wr(&m, DFSR_ADDR, 0x1F);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN);
    oflash__sim_cortexm_advance(&m, 1000000);
    CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT);
    CHECK_EQ_U(rd(&m, DFSR_ADDR), DFSR_VCATCH);
    CHECK_EQ_U(reg_r(&m, 15), 0x0800002Cu);

    /* BKPT with debug disabled is a fault: HardFault handler. */
    wr(&m, DEMCR_ADDR, DEMCR_TRCENA);
    reg_w(&m, 16, 0x01000000u);
    reg_w(&m, 15, 0x08000026u);
    reg_w(&m, 13, 0x20008000u);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY); /* C_DEBUGEN off: runs */
    oflash__sim_cortexm_advance(&m, 1000000);
    wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
    CHECK_EQ_U(reg_r(&m, 15), 0x0800002Cu);

    /* VECTRESET: the core restarts at the reset vector, peripherals keep
     * their state (FLASH_CR stays as it was). */
    wr(&m, 0x40023C04u, 0x45670123u);
    wr(&m, 0x40023C04u, 0xCDEF89ABu);
    wr(&m, DEMCR_ADDR, DEMCR_TRCENA | DEMCR_VC_CORERESET);
    wr(&m, AIRCR_ADDR, 0x05FA0001u);
    CHECK_EQ_U(reg_r(&m, 15), 0x08000020u);
    CHECK(!(rd(&m, 0x40023C10u) & (1u << 31)));
    wr(&m, AIRCR_ADDR, 0x05FA0004u); /* SYSRESETREQ relocks it */
    CHECK(rd(&m, 0x40023C10u) & (1u << 31));

    /* DWT data watchpoint: a write to 0x20000100 halts the core after the
     * store (DFSR.DWTTRAP, FUNCTION.MATCHED, cleared by reading it). */
    {
        wr(&m, 0x20001000u, 0x32016008u); /* str r0,[r1]; adds r2,#1 */
        wr(&m, 0x20001004u, 0xE7FEE7FEu); /* b . */
        wr(&m, 0xE0001020u, 0x20000100u); /* COMP0 */
        wr(&m, 0xE0001024u, 2);           /* MASK0: 4 bytes */
        wr(&m, 0xE0001028u, 5);           /* FUNCTION0: read watchpoint first */
        reg_w(&m, 0, 0xA5A5A5A5u);
        reg_w(&m, 1, 0x20000100u);
        reg_w(&m, 2, 0);
        reg_w(&m, 15, 0x20001000u);
        reg_w(&m, 16, 0x01000000u);
        wr(&m, DFSR_ADDR, 0x1F);
        wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN);
        oflash__sim_cortexm_advance(&m, 1000000);
        CHECK(!(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT)); /* a write: the read watchpoint stays quiet */
        wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
        wr(&m, 0xE0001028u, 6); /* FUNCTION0: write watchpoint */
        reg_w(&m, 15, 0x20001000u);
        wr(&m, DFSR_ADDR, 0x1F);
        wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN);
        oflash__sim_cortexm_advance(&m, 1000000);
        CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT);
        CHECK_EQ_U(rd(&m, DFSR_ADDR), DFSR_DWTTRAP);
        CHECK(reg_r(&m, 15) <= 0x20001002u);
        CHECK(rd(&m, 0xE0001028u) & (1u << 24));
        CHECK(!(rd(&m, 0xE0001028u) & (1u << 24)));
        wr(&m, 0xE0001028u, 0);
    }

    /* Exception return: a HardFault handler that skips the faulting 16-bit
     * instruction (stacked PC += 2) and returns through EXC_RETURN. */
    {
        /* 0x0800003C: ldr r1,[sp,#24]; adds r1,#2; str r1,[sp,#24]; bx lr */
        static const uint32_t fw2[] = {
            0x20010000u, 0x08000021u, 0x08000021u, 0x0800003Du, 0,           0,
            0,           0,           0x21022001u, 0xBE111840u, 0xE7FD3201u, 0xE7FEE7FEu,
            0x68184B01u, 0xBF00BE22u, 0x30000000u, 0x31029906u, 0x47709106u,
        };
        wr(&m, 0x40023C04u, 0x45670123u);
        wr(&m, 0x40023C04u, 0xCDEF89ABu);
        wr(&m, 0x40023C10u, 2u << 8 | 2u | 1u << 16); /* SER sector 0, STRT */
        rd(&m, 0x40023C0Cu);                          /* SR: waits for the erase */
        CHECK_EQ_U(rd(&m, 0x08000000u), 0xFFFFFFFFu);
        flash_words(&m, 0x08000000u, fw2, sizeof fw2 / sizeof fw2[0]);
        rd(&m, 0x40023C0Cu); /* SR: the last program operation ends */
        wr(&m, DEMCR_ADDR, DEMCR_TRCENA);
        reg_w(&m, 16, 0x01000000u);
        reg_w(&m, 15, 0x08000030u);
        reg_w(&m, 13, 0x20008004u); /* not 8-aligned: the entry realigns */
        reg_w(&m, 12, 0xC12C12C1u);
        wr(&m, DFSR_ADDR, 0x1F);
        wr(&m, DHCSR_ADDR, DHCSR_DBGKEY | DHCSR_C_DEBUGEN);
        oflash__sim_cortexm_advance(&m, 1000000);
        CHECK(rd(&m, DHCSR_ADDR) & DHCSR_S_HALT);
        CHECK_EQ_U(rd(&m, DFSR_ADDR), DFSR_BKPT);
        CHECK_EQ_U(reg_r(&m, 15), 0x08000034u); /* the BKPT after the skipped LDR */
        CHECK_EQ_U(reg_r(&m, 16) & 0x1FFu, 0);  /* back in thread mode */
        CHECK_EQ_U(reg_r(&m, 13), 0x20008004u); /* stack restored, realignment undone */
        CHECK_EQ_U(reg_r(&m, 12), 0xC12C12C1u); /* R12 from the frame */
        CHECK_EQ_U(reg_r(&m, 3), 0x30000000u);
    }

    /* Through the JTAG-DP: a flash read while a program operation (16 us)
     * is in progress stalls the bus; the DP answers WAIT until it ends. */
    {
        sim_jtag j;
        uint64_t cap;
        unsigned waits = 0;
        CHECK_OK(oflash__sim_jtag_init(&j, &d, &oflash__sim_cortexm_bus, &m));
        j.dap.tck_ps = 250000; /* 4 MHz */
        g_core = &m;
        clk(&j, 0, 0);
        dp_write(&j, 0x4, DP_CTRL_CDBGPWRUPREQ | DP_CTRL_CSYSPWRUPREQ);
        ap_write(&j, AP_CSW, 0x23000002u); /* 32-bit, no increment */
        ap_write(&j, AP_TAR, 0x40023C04u);
        ap_write(&j, AP_DRW, 0x45670123u);
        ap_write(&j, AP_DRW, 0xCDEF89ABu);
        ap_write(&j, AP_TAR, 0x40023C10u);
        ap_write(&j, AP_DRW, 2u << 8 | 1u); /* PSIZE x32, PG */
        ap_write(&j, AP_TAR, 0x08000100u);
        dp_ir(&j, DP_IR_APACC);
        acc(&j, false, AP_DRW, 0x12345678u); /* starts a 16 us program */
        acc(&j, true, AP_DRW, 0);            /* issued ~11 us later: stalls */
        do {
            dp_ir(&j, DP_IR_DPACC);
            cap = acc(&j, true, 0xC, 0); /* RDBUFF */
            if ((cap & 7) == DP_ACK_WAIT) waits++;
        } while ((cap & 7) == DP_ACK_WAIT && waits < 100);
        CHECK(waits >= 1);
        CHECK_EQ_U(cap & 7, DP_ACK_OK);
        CHECK_EQ_U((uint32_t)(cap >> 3), 0x12345678u);
        CHECK_EQ_U(j.dap.waits, waits);
        CHECK(!(dp_read(&j, 0x4) & DP_CTRL_STICKYERR));
        g_core = NULL;
        oflash__sim_jtag_free(&j);
    }

    oflash__sim_cortexm_free(&m);
    oflash__sim_chip_close(c);
    unlink("t_dbg.sim");
}

int main(void)
{
    test_tap_states();
    test_chain();
    test_dp_ap();
    test_bsr();
    test_core();
    return test_summary();
}
