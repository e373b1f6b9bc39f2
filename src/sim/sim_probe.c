/*
 * sim_probe.c - the "sim" probe backend: oflash_probe_sim_ops drives a
 * simulated chip file (spec "sim:PATH") in process.
 *
 * Every call is one transaction (round trip) for the statistics and for the
 * --link-drop-after fault.  Simulated time advanced by a call is added to
 * p->stats.sim_time_ns.  The core is halted between calls: run() is the
 * only time the simulated CPU executes, so halt() has nothing to do and a
 * reset without halt leaves the core at the reset vector for the next run().
 */
#include "sim_internal.h"
#include "probe/probe_internal.h"

#include "oflash/error.h"

#include <string.h>

static sim_chip *chip(const oflash_probe *p)
{
    return p->priv;
}

/* Count a transaction; fail once the link has dropped or the power is gone. */
static int begin(oflash_probe *p)
{
    sim_chip *c = chip(p);
    if (oflash__sim_file_error(&c->file) < 0) return oflash_error_last_code();
    if (c->power_lost)
        return oflash_error_set(OFLASH_ELINK,
                                "%s: target power lost (simulated fault); reconnect to power up",
                                c->file.path);
    if (c->link_dropped)
        return oflash_error_set(OFLASH_ELINK, "%s: link to the probe dropped (simulated fault)",
                                c->file.path);
    if (c->nv.faults.link_drop && c->transactions >= c->nv.faults.link_drop_after) {
        c->link_dropped = true;
        c->nv.faults.link_drop = false; /* one-shot, disarmed in the file at once */
        oflash__sim_fill_stats(c, &c->nv.last_run);
        oflash__sim_file_compact(&c->file, &c->nv);
        return oflash_error_set(OFLASH_ELINK,
                                "%s: link to the probe dropped after %llu transactions "
                                "(simulated fault)",
                                c->file.path, (unsigned long long)c->transactions);
    }
    c->transactions++;
    p->stats.round_trips++;
    return 0;
}

static void end(oflash_probe *p)
{
    sim_chip *c = chip(p);
    uint64_t delta = c->now_ps - c->reported_ps;
    p->stats.sim_time_ns += delta / 1000;
    c->reported_ps += delta / 1000 * 1000;
}

/* Contract: create the chip file if it does not exist and opts->device is
 * set; fails if another process has it open. */
static int sim_open(oflash_probe *p, const char *arg, const oflash_probe_opts *opts)
{
    sim_chip *c;
    int rc = oflash__sim_chip_open(&c, arg, opts);
    if (rc < 0) return rc;
    p->priv = c;
    p->stats.has_sim_time = true;
    return 0;
}

/* Contract: persist the chip (compacting its journal) and release the lock. */
static void sim_close(oflash_probe *p)
{
    oflash__sim_chip_close(chip(p));
    p->priv = NULL;
}

/* sim-feed: a fresh board (or the same one again) for each open. */
static int feed_open(oflash_probe *p, const char *arg, const oflash_probe_opts *opts)
{
    sim_chip *c;
    int rc = oflash__sim_feed_open(&c, arg, opts);
    if (rc < 0) return rc;
    p->priv = c;
    p->stats.has_sim_time = true;
    return 0;
}

static void feed_close(oflash_probe *p)
{
    oflash__sim_feed_close(chip(p));
    p->priv = NULL;
}

static int sim_read_mem(oflash_probe *p, void *buf, uint32_t addr, size_t len)
{
    int rc = begin(p);
    if (rc < 0) return rc;
    rc = oflash__sim_read(chip(p), addr, buf, len);
    if (rc == 0) {
        p->stats.mem_read_bytes += len;
        p->stats.bytes_rx += len;
    }
    end(p);
    return rc;
}

static int sim_write_mem(oflash_probe *p, uint32_t addr, const void *buf, size_t len)
{
    int rc = begin(p);
    if (rc < 0) return rc;
    rc = oflash__sim_write(chip(p), addr, buf, len);
    if (rc == 0) {
        p->stats.mem_write_bytes += len;
        p->stats.bytes_tx += len;
    }
    end(p);
    return rc;
}

static int uc_reg_of(int reg)
{
    static const int map[OFLASH_REG_COUNT] = {
        UC_ARM_REG_R0,  UC_ARM_REG_R1,   UC_ARM_REG_R2,  UC_ARM_REG_R3, UC_ARM_REG_R4,
        UC_ARM_REG_R5,  UC_ARM_REG_R6,   UC_ARM_REG_R7,  UC_ARM_REG_R8, UC_ARM_REG_R9,
        UC_ARM_REG_R10, UC_ARM_REG_R11,  UC_ARM_REG_R12, UC_ARM_REG_SP, UC_ARM_REG_LR,
        UC_ARM_REG_PC,  UC_ARM_REG_XPSR, UC_ARM_REG_MSP, UC_ARM_REG_PSP};
    return map[reg];
}

static int sim_read_regs(oflash_probe *p, uint32_t *vals, const int *regs, size_t n)
{
    int rc = begin(p);
    if (rc < 0) return rc;
    for (size_t i = 0; i < n; i++) {
        vals[i] = 0;
        uc_reg_read(chip(p)->uc, uc_reg_of(regs[i]), &vals[i]);
        if (regs[i] == OFLASH_REG_XPSR)
            vals[i] |= 0x01000000u; /* EPSR.T: a Cortex-M always runs Thumb code */
    }
    p->stats.bytes_rx += 4 * n;
    end(p);
    return 0;
}

static int sim_write_regs(oflash_probe *p, const int *regs, const uint32_t *vals, size_t n)
{
    int rc = begin(p);
    if (rc < 0) return rc;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = vals[i];
        if (regs[i] == OFLASH_REG_PC) v &= ~1u; /* the Thumb bit lives in xPSR, not in PC */
        uc_reg_write(chip(p)->uc, uc_reg_of(regs[i]), &v);
    }
    p->stats.bytes_tx += 4 * n;
    end(p);
    return 0;
}

static int sim_halt(oflash_probe *p)
{
    int rc = begin(p);
    end(p);
    return rc; /* the core is always halted between calls */
}

static int sim_reset(oflash_probe *p, bool halt)
{
    int rc = begin(p);
    (void)halt; /* without halt the core starts at the reset vector on the next run() */
    if (rc < 0) return rc;
    oflash__sim_chip_reset(chip(p));
    end(p);
    return 0;
}

static int sim_run(oflash_probe *p, oflash_stop_info *stop, const oflash_run_opts *opts)
{
    int rc = begin(p);
    if (rc < 0) return rc;
    rc = oflash__sim_core_run(chip(p), opts, stop);
    if (rc == 0 && stop->reason == OFLASH_STOP_FAULT && chip(p)->fault_cfsr) {
        /* The simulated core stops on the faulting instruction itself,
         * before exception entry (as with vector catch): the registers are
         * those of the fault; a configurable fault is disabled after reset
         * (SHCSR), so it escalates to HardFault (HFSR.FORCED). */
        static const int all[17] = {
            OFLASH_REG_R0, OFLASH_REG_R1, OFLASH_REG_R2,  OFLASH_REG_R3,  OFLASH_REG_R4,
            OFLASH_REG_R5, OFLASH_REG_R6, OFLASH_REG_R7,  OFLASH_REG_R8,  OFLASH_REG_R9,
            OFLASH_REG_R10, OFLASH_REG_R11, OFLASH_REG_R12, OFLASH_REG_SP, OFLASH_REG_LR,
            OFLASH_REG_PC, OFLASH_REG_XPSR};
        oflash_fault_info *f = &stop->fault;
        f->valid = true;
        f->exception = 3;
        f->cfsr = chip(p)->fault_cfsr;
        f->hfsr = 0x40000000u; /* FORCED */
        f->bfar = (f->cfsr & 0x8000u) ? chip(p)->fault_bfar : 0;
        f->mmfar = 0;
        sim_read_regs(p, f->regs, all, 17);
        f->regs[15] = stop->pc;
    }
    end(p);
    return rc;
}

static const char *sim_part(const oflash_probe *p)
{
    return chip(p)->nv.part;
}

static bool is_sim(const oflash_probe *p)
{
    return p && (p->ops == &oflash_probe_sim_ops || p->ops == &oflash_probe_sim_feed_ops);
}

int oflash_sim_probe_stats(oflash_sim_run_stats *out, oflash_probe *p)
{
    if (!is_sim(p))
        return oflash_error_set(OFLASH_EINVAL, "not a sim: probe");
    oflash__sim_fill_stats(chip(p), out);
    return 0;
}

int oflash_sim_probe_guard(oflash_probe *p, unsigned flags)
{
    if (!is_sim(p))
        return oflash_error_set(OFLASH_EINVAL, "not a sim: probe");
    chip(p)->guard = flags;
    return 0;
}

int oflash_sim_feed_result(oflash_probe *p, bool passed)
{
    if (!p || p->ops != &oflash_probe_sim_feed_ops)
        return oflash_error_set(OFLASH_EINVAL, "not a sim-feed: probe");
    oflash__sim_feed_set_result(chip(p), passed);
    return 0;
}

const char *oflash_sim_feed_board(const oflash_probe *p)
{
    if (!p || p->ops != &oflash_probe_sim_feed_ops)
        return NULL;
    return oflash__sim_feed_board(chip(p));
}

const oflash_probe_ops oflash_probe_sim_ops = {
    .version = OFLASH_PROBE_OPS_VERSION,
    .name = "sim",
    .open = sim_open,           /* arg: chip file path; creates it with opts->device */
    .close = sim_close,         /* persists and unlocks */
    .read_mem = sim_read_mem,   /* debugger view; flash read fails under RDP level 1 */
    .write_mem = sim_write_mem, /* RAM, registers; flash/OTP only through the flash interface */
    .read_regs = sim_read_regs,
    .write_regs = sim_write_regs,
    .halt = sim_halt,   /* no-op: halted between calls */
    .reset = sim_reset, /* core + peripherals; SP/PC from the vector table */
    .run = sim_run,     /* until BKPT, breakpoint, fault, budget or timeout */
    .command = NULL,
    .part = sim_part, /* the part fixed in the chip file */
};

/* The same chip as sim:, placed by a feed (sim_feed.c). */
const oflash_probe_ops oflash_probe_sim_feed_ops = {
    .version = OFLASH_PROBE_OPS_VERSION,
    .name = "sim-feed",
    .open = feed_open,   /* arg: DIR[?options]; places the next board (or the same again) */
    .close = feed_close, /* persists; takes the board off when the unit passed */
    .read_mem = sim_read_mem,
    .write_mem = sim_write_mem,
    .read_regs = sim_read_regs,
    .write_regs = sim_write_regs,
    .halt = sim_halt,
    .reset = sim_reset,
    .run = sim_run,
    .command = NULL,
    .part = sim_part,
};
