/*
 * dbg_jtag.c - the JTAG side of the simulated debug port: the IEEE 1149.1
 * TAP controller, a chain of two TAPs (the Cortex-M JTAG-DP nearest TDO,
 * the part's boundary-scan TAP nearest TDI, as RM0090 §38.6 draws it), the
 * ADIv5 JTAG-DP and one MEM-AP.
 *
 * Edges: a rising TCK edge shifts the selected register if the controller
 * is in a Shift state, then moves the controller along TMS.  Capture is done
 * when a Capture state is entered and Update when an Update state is
 * entered (the standard does them on the next rising / on the falling edge;
 * nothing can be observed in between).  TDO shows bit 0 of the TAP nearest
 * TDO while in a Shift state.
 *
 * JTAG-DP (IHI0031 §3.4): IR 4 bits, IR-Capture 0b0001; DPACC/APACC/ABORT
 * select the 35-bit DR: in {DATA[31:0], A[3:2], RnW}, captured out
 * {ReadResult[31:0], ACK[2:0]} where ReadResult belongs to the previous
 * read (reads are posted).  ACK is OK (0b010) or, while an AP access is
 * still in progress, WAIT (0b001): the scan is then ignored (and
 * STICKYORUN set if ORUNDETECT).  CTRL/STAT sticky bits are cleared by
 * writing 1 to them (JTAG-DP).  The power-up handshake acknowledges each
 * request at once.
 *
 * MEM-AP (IHI0031 chapter 7): CSW (size 8/16/32, AddrInc off/single;
 * packed transfers are not implemented, so 0b10 reads back as off as the
 * spec lets an AP do), TAR, DRW with byte lanes by TAR[1:0], BD0-BD3, CFG,
 * BASE, IDR.  Auto-increment stays inside the desc's tar_wrap block.  A
 * failed bus access sets STICKYERR; the TAR does not advance.
 */
#include "dbg.h"

#include <stdlib.h>
#include <string.h>

sim_tap_state oflash__sim_tap_next(sim_tap_state s, int tms)
{
    static const sim_tap_state next[16][2] = {
        [TAP_RESET] = {TAP_IDLE, TAP_RESET},
        [TAP_IDLE] = {TAP_IDLE, TAP_DRSELECT},
        [TAP_DRSELECT] = {TAP_DRCAPTURE, TAP_IRSELECT},
        [TAP_DRCAPTURE] = {TAP_DRSHIFT, TAP_DREXIT1},
        [TAP_DRSHIFT] = {TAP_DRSHIFT, TAP_DREXIT1},
        [TAP_DREXIT1] = {TAP_DRPAUSE, TAP_DRUPDATE},
        [TAP_DRPAUSE] = {TAP_DRPAUSE, TAP_DREXIT2},
        [TAP_DREXIT2] = {TAP_DRSHIFT, TAP_DRUPDATE},
        [TAP_DRUPDATE] = {TAP_IDLE, TAP_DRSELECT},
        [TAP_IRSELECT] = {TAP_IRCAPTURE, TAP_RESET},
        [TAP_IRCAPTURE] = {TAP_IRSHIFT, TAP_IREXIT1},
        [TAP_IRSHIFT] = {TAP_IRSHIFT, TAP_IREXIT1},
        [TAP_IREXIT1] = {TAP_IRPAUSE, TAP_IRUPDATE},
        [TAP_IRPAUSE] = {TAP_IRPAUSE, TAP_IREXIT2},
        [TAP_IREXIT2] = {TAP_IRSHIFT, TAP_IRUPDATE},
        [TAP_IRUPDATE] = {TAP_IDLE, TAP_DRSELECT},
    };
    return next[s & 15][tms ? 1 : 0];
}

const char *oflash__sim_tap_state_name(sim_tap_state s)
{
    static const char *const names[16] = {"RESET",    "IDLE",     "DRSELECT",  "DRCAPTURE",
                                          "DRSHIFT",  "DREXIT1",  "DRPAUSE",   "DREXIT2",
                                          "DRUPDATE", "IRSELECT", "IRCAPTURE", "IRSHIFT",
                                          "IREXIT1",  "IRPAUSE",  "IREXIT2",   "IRUPDATE"};
    return names[s & 15];
}

void oflash__sim_dbg_desc_for(sim_dbg_desc *out, const sim_dbg_desc *family, uint16_t dev_id,
                              uint32_t cpuid)
{
    *out = *family;
    if (family->bs_devid_shift) out->bs_idcode |= (uint32_t)dev_id << family->bs_devid_shift;
    out->cpuid = cpuid;
}

/* ---- DP and AP ---- */

void oflash__sim_dap_reset(sim_dap *d)
{
    d->ctrl = 0;
    d->select = 0;
    d->rdbuff = 0;
    d->busy_until = 0;
    d->csw = 0x03000002u; /* HPROT data + privileged, 32-bit, no increment */
    d->tar = 0;
}

static uint32_t ctrl_read(const sim_dap *d)
{
    uint32_t v = d->ctrl;
    /* Power and reset requests are acknowledged at once. */
    if (v & DP_CTRL_CDBGPWRUPREQ) v |= DP_CTRL_CDBGPWRUPACK;
    if (v & DP_CTRL_CSYSPWRUPREQ) v |= DP_CTRL_CSYSPWRUPACK;
    if (v & DP_CTRL_CDBGRSTREQ) v |= DP_CTRL_CDBGRSTACK;
    return v;
}

static void ctrl_write(sim_dap *d, uint32_t v)
{
    const uint32_t sticky = DP_CTRL_STICKYORUN | DP_CTRL_STICKYCMP | DP_CTRL_STICKYERR;
    uint32_t keep = d->ctrl & sticky & ~v; /* JTAG-DP: write 1 to clear */
    d->ctrl = (v & ~(sticky | DP_CTRL_READOK | DP_CTRL_CDBGPWRUPACK | DP_CTRL_CSYSPWRUPACK |
                     DP_CTRL_CDBGRSTACK)) |
              keep;
}

static unsigned csw_size(const sim_dap *d)
{
    unsigned s = d->csw & CSW_SIZE_MASK;
    return s == 0 ? 1 : s == 1 ? 2 : s == 2 ? 4 : 0;
}

static void tar_increment(sim_dap *d, unsigned size)
{
    uint32_t wrap = d->desc->tar_wrap ? d->desc->tar_wrap : 0x400u;
    if (((d->csw >> CSW_ADDRINC_SHIFT) & 3) != 1) return;
    d->tar = (d->tar & ~(wrap - 1)) | ((d->tar + size) & (wrap - 1));
}

static void bus_error(sim_dap *d)
{
    d->ctrl |= DP_CTRL_STICKYERR;
    d->bus_errors++;
}

/* A data access through DRW (bd < 0) or BDn at the TAR. */
/* The bus part of a DRW/BDn access (now, or when a stall ends). */
static void mem_perform(sim_dap *d, int bd, bool rnw, uint32_t data, uint32_t addr, unsigned size)
{
    unsigned lane = addr & 3u;
    uint32_t v = 0;
    int rc;
    if (rnw) {
        rc = d->bus->read(d->bus_ctx, addr, size, &v);
        if (rc < 0) {
            bus_error(d);
            d->rdbuff = 0;
            return;
        }
        d->rdbuff = size == 4 ? v : v << (8 * lane);
    } else {
        uint32_t mask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1u;
        rc = d->bus->write(d->bus_ctx, addr, size, size == 4 ? data : (data >> (8 * lane)) & mask);
        if (rc < 0) {
            bus_error(d);
            return;
        }
    }
    if (bd < 0) tar_increment(d, size);
}

/* A data access through DRW (bd < 0) or BDn at the TAR.  When the bus is
 * stalled for a short while (a flash program operation in progress), the
 * access waits: it is performed when the stall is over, and until then
 * every DPACC/APACC scan is answered WAIT. */
static void mem_access(sim_dap *d, int bd, bool rnw, uint32_t data)
{
    unsigned size = csw_size(d);
    uint32_t addr = bd < 0 ? d->tar : (d->tar & ~0xFu) + 4u * (unsigned)bd;
    uint64_t stall = 0;

    if (size == 0 || (size > 1 && ((addr & 3u) & (size - 1)))) {
        /* Reserved size, or an unaligned halfword/word: the AHB-AP of a
         * Cortex-M cannot issue it. */
        bus_error(d);
        if (rnw) d->rdbuff = 0;
        return;
    }
    if (d->bus->sync) d->bus->sync(d->bus_ctx);
    if (d->bus->stall && d->tck_ps) stall = d->bus->stall(d->bus_ctx, addr);
    if (stall && stall <= SIM_DAP_WAIT_MAX_PS) {
        d->pend = true;
        d->pend_bd = bd;
        d->pend_rnw = rnw;
        d->pend_data = data;
        d->pend_addr = addr;
        d->pend_size = size;
        d->busy_until = d->tick + (stall + d->tck_ps - 1) / d->tck_ps;
        return;
    }
    mem_perform(d, bd, rnw, data, addr, size);
}

static void ap_access(sim_dap *d, bool rnw, unsigned a, uint32_t data)
{
    unsigned apsel = d->select >> 24;
    unsigned reg = (d->select & 0xF0u) | a;
    if (rnw)
        d->ap_reads++;
    else
        d->ap_writes++;
    if (apsel != 0) { /* no such AP: reads as zero (IDR 0 ends a scan) */
        if (rnw) d->rdbuff = 0;
        return;
    }
    switch (reg) {
    case AP_CSW:
        if (rnw) {
            d->rdbuff = d->csw | CSW_DEVICEEN;
        } else {
            uint32_t v = data & ~(CSW_DEVICEEN | (1u << 7)); /* DeviceEn, TrInProg: RO */
            if (((v >> CSW_ADDRINC_SHIFT) & 3) >= 2) v &= ~(3u << CSW_ADDRINC_SHIFT);
            d->csw = v;
        }
        return;
    case AP_TAR:
        if (rnw)
            d->rdbuff = d->tar;
        else
            d->tar = data;
        return;
    case AP_DRW:
        mem_access(d, -1, rnw, data);
        return;
    case AP_BD0:
    case AP_BD0 + 4:
    case AP_BD0 + 8:
    case AP_BD0 + 12:
        mem_access(d, (int)(reg - AP_BD0) / 4, rnw, data);
        return;
    case AP_CFG:
        if (rnw) d->rdbuff = 0; /* little-endian, 32-bit addresses and data */
        return;
    case AP_BASE:
        if (rnw) d->rdbuff = d->desc->rom_base | 3u; /* ADIv5 format, entry present */
        return;
    case AP_IDR:
        if (rnw) d->rdbuff = d->desc->ap_idr;
        return;
    default:
        if (rnw) d->rdbuff = 0;
        return;
    }
}

void oflash__sim_dap_access(sim_dap *d, bool ap, bool rnw, unsigned a, uint32_t data)
{
    if (ap) {
        ap_access(d, rnw, a & 0xCu, data);
        return;
    }
    if (rnw)
        d->dp_reads++;
    else
        d->dp_writes++;
    switch (a & 0xCu) {
    case 0x0: /* reserved on a JTAG-DP v0; reads give the DPIDR of later DPs */
        if (rnw) d->rdbuff = d->desc->dp_idcode;
        break;
    case 0x4:
        if (rnw)
            d->rdbuff = ctrl_read(d);
        else
            ctrl_write(d, data);
        break;
    case 0x8:
        if (rnw)
            d->rdbuff = d->select;
        else
            d->select = data;
        break;
    case 0xC:
        /* RDBUFF: no side effect; the posted result is read again. */
        break;
    }
}

/* ---- the TAPs ---- */

static void tap_reset(sim_tap *t, uint32_t idcode_ir)
{
    t->ir = idcode_ir;
    t->wait = false;
}

static bool is_dp(const sim_jtag *j, int i)
{
    (void)j;
    return i == 0;
}

/* Length of the DR path the TAP's instruction selects. */
static unsigned dr_length(const sim_jtag *j, int i)
{
    const sim_tap *t = &j->tap[i];
    const sim_dbg_desc *d = j->dap.desc;
    if (is_dp(j, i)) {
        switch (t->ir) {
        case DP_IR_ABORT:
        case DP_IR_DPACC:
        case DP_IR_APACC:
            return 35;
        case DP_IR_IDCODE:
            return 32;
        default:
            return 1;
        }
    }
    if (t->ir == d->bs_ir_idcode) return 32;
    if ((t->ir == d->bs_ir_sample || t->ir == d->bs_ir_extest) && d->bs_cells) return d->bs_cells;
    return 1;
}

static void capture_dr(sim_jtag *j, int i)
{
    sim_tap *t = &j->tap[i];
    sim_dap *d = &j->dap;
    t->len = dr_length(j, i);
    t->sr = 0;
    t->wait = false;
    if (t->len > 64) {
        /* Boundary-scan register: no pins are modelled, every cell
         * captures 0. */
        memset(t->ring, 0, t->ring_len);
        t->ring_head = 0;
        return;
    }
    if (t->len == 32) {
        t->sr = t->idcode;
    } else if (t->len == 35) {
        if (d->tick < d->busy_until) {
            t->wait = true;
            t->sr = DP_ACK_WAIT;
            d->waits++;
            if (d->ctrl & DP_CTRL_ORUNDETECT) d->ctrl |= DP_CTRL_STICKYORUN;
        } else {
            if (d->pend) { /* the stalled access completes now */
                d->pend = false;
                if (d->bus->sync) d->bus->sync(d->bus_ctx);
                mem_perform(d, d->pend_bd, d->pend_rnw, d->pend_data, d->pend_addr, d->pend_size);
            }
            t->sr = DP_ACK_OK | (uint64_t)d->rdbuff << 3;
        }
    }
}

static void update_dr(sim_jtag *j, int i)
{
    sim_tap *t = &j->tap[i];
    sim_dap *d = &j->dap;
    if (!is_dp(j, i) || t->len != 35 || t->wait) return;
    bool rnw = t->sr & 1;
    unsigned a = (unsigned)((t->sr >> 1) & 3) << 2;
    uint32_t data = (uint32_t)(t->sr >> 3);
    switch (t->ir) {
    case DP_IR_ABORT:
        if (data & 1) { /* DAPABORT: the access in progress is dropped */
            d->busy_until = 0;
            d->pend = false;
        }
        break;
    case DP_IR_DPACC:
        oflash__sim_dap_access(d, false, rnw, a, data);
        break;
    case DP_IR_APACC:
        oflash__sim_dap_access(d, true, rnw, a, data);
        break;
    }
}

/* Shift the chain one bit: TDI into the last TAP, each TAP's bit 0 into
 * the TAP before it. */
static void shift(sim_jtag *j, bool ir)
{
    int carry = j->tdi;
    for (int i = SIM_JTAG_TAPS - 1; i >= 0; i--) {
        sim_tap *t = &j->tap[i];
        unsigned len = ir ? t->irlen : t->len;
        int out;
        if (!ir && len > 64) {
            out = t->ring[t->ring_head];
            t->ring[t->ring_head] = (uint8_t)carry; /* old head becomes the new tail */
            t->ring_head = (t->ring_head + 1) % len;
        } else {
            out = (int)(t->sr & 1);
            t->sr = (t->sr >> 1) | ((uint64_t)(carry & 1) << (len - 1));
        }
        carry = out;
    }
}

void oflash__sim_jtag_trst(sim_jtag *j)
{
    j->state = TAP_RESET;
    tap_reset(&j->tap[0], DP_IR_IDCODE);
    tap_reset(&j->tap[1], j->dap.desc->bs_ir_idcode);
}

int oflash__sim_jtag_init(sim_jtag *j, const sim_dbg_desc *desc, const sim_bus_ops *bus,
                          void *bus_ctx)
{
    memset(j, 0, sizeof *j);
    j->dap.desc = desc;
    j->dap.bus = bus;
    j->dap.bus_ctx = bus_ctx;
    j->tap[0].irlen = desc->dp_irlen;
    j->tap[0].ir_capture = 0x1;
    j->tap[0].idcode = desc->dp_idcode;
    j->tap[1].irlen = desc->bs_irlen;
    j->tap[1].ir_capture = 0x1;
    j->tap[1].idcode = desc->bs_idcode;
    if (desc->bs_cells > 64) {
        j->tap[1].ring = calloc(desc->bs_cells, 1);
        if (!j->tap[1].ring) return -1;
        j->tap[1].ring_len = desc->bs_cells;
    }
    oflash__sim_dap_reset(&j->dap);
    oflash__sim_jtag_trst(j);
    return 0;
}

void oflash__sim_jtag_free(sim_jtag *j)
{
    free(j->tap[1].ring);
    j->tap[1].ring = NULL;
}

static void enter(sim_jtag *j, sim_tap_state s)
{
    int i;
    switch (s) {
    case TAP_RESET:
        oflash__sim_jtag_trst(j);
        break;
    case TAP_DRCAPTURE:
        for (i = 0; i < SIM_JTAG_TAPS; i++)
            capture_dr(j, i);
        break;
    case TAP_DRUPDATE:
        for (i = 0; i < SIM_JTAG_TAPS; i++)
            update_dr(j, i);
        break;
    case TAP_IRCAPTURE:
        for (i = 0; i < SIM_JTAG_TAPS; i++)
            j->tap[i].sr = j->tap[i].ir_capture;
        break;
    case TAP_IRUPDATE:
        for (i = 0; i < SIM_JTAG_TAPS; i++)
            j->tap[i].ir = (uint32_t)j->tap[i].sr & ((1u << j->tap[i].irlen) - 1);
        break;
    default:
        break;
    }
}

void oflash__sim_jtag_pins(sim_jtag *j, int tck, int tms, int tdi)
{
    bool rising = tck && !j->tck;
    j->tck = tck;
    j->tms = tms;
    j->tdi = tdi;
    if (!rising) return;
    j->tck_cycles++;
    j->dap.tick++;
    if (j->state == TAP_DRSHIFT) shift(j, false);
    if (j->state == TAP_IRSHIFT) shift(j, true);
    sim_tap_state n = oflash__sim_tap_next(j->state, tms);
    /* Only Test-Logic-Reset, Run-Test/Idle, the Shift and the Pause states
     * loop; of those only Test-Logic-Reset acts again (it keeps resetting). */
    if (n != j->state || n == TAP_RESET) enter(j, n);
    j->state = n;
}

int oflash__sim_jtag_tdo(const sim_jtag *j)
{
    const sim_tap *t = &j->tap[0];
    if (j->state == TAP_IRSHIFT) return (int)(t->sr & 1);
    if (j->state == TAP_DRSHIFT) return t->len > 64 ? t->ring[t->ring_head] : (int)(t->sr & 1);
    return 0;
}
