/*
 * sim_fw.h - host side of the test firmware: load sim_fw.bin into the
 * simulated SRAM and call its functions with the AAPCS (r0-r3 arguments,
 * LR = the BKPT trampoline, SP = top of SRAM), as a flash loader is called.
 */
#ifndef SIM_FW_H
#define SIM_FW_H

#include "fw/fw_api.h"
#include "lib/sim_probe.h"
#include "oflash/probe.h"
#include "oflash/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fw {
    oflash_probe *p;
    uint32_t table[FW_COUNT];
    uint32_t sp;
    oflash_stop_info stop;
    int rc; /* of the last run */
} fw;

static int fw_load(fw *f, oflash_probe *p, uint32_t ram_size)
{
    FILE *fp = fopen(SIM_FW_BIN, "rb");
    uint8_t buf[16384];
    size_t n;
    int rc;
    memset(f, 0, sizeof *f);
    f->p = p;
    f->sp = FW_LOAD_ADDR + ram_size;
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", SIM_FW_BIN);
        return -1;
    }
    n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    rc = oflash_probe_write_mem(p, FW_LOAD_ADDR, buf, n);
    if (rc < 0) return rc;
    for (int i = 0; i < FW_COUNT; i++)
        f->table[i] = (uint32_t)buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8 |
                      (uint32_t)buf[4 * i + 2] << 16 | (uint32_t)buf[4 * i + 3] << 24;
    return 0;
}

/* Call a firmware function; returns r0 (0xDEADDEAD if the run failed). */
static uint32_t fw_call4(fw *f, int idx, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3)
{
    static const int regs[] = {OFLASH_REG_R0, OFLASH_REG_R1, OFLASH_REG_R2, OFLASH_REG_R3,
                               OFLASH_REG_SP, OFLASH_REG_LR, OFLASH_REG_PC, OFLASH_REG_XPSR};
    uint32_t vals[] = {a0,         a1, a2, a3, f->sp, f->table[FW_BKPT] | 1u, f->table[idx] & ~1u,
                       0x01000000u};
    oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
    ro.timeout_ms = 20000;
    uint32_t r0 = 0xDEADDEADu;
    f->rc = oflash_probe_write_regs(f->p, regs, vals, 8);
    if (f->rc < 0) return r0;
    f->rc = oflash_probe_run(&f->stop, f->p, &ro);
    if (f->rc < 0 || f->stop.reason != OFLASH_STOP_BKPT) return r0;
    oflash_probe_read_reg(&r0, f->p, OFLASH_REG_R0);
    return r0;
}

#define fw_call(f, idx, ...) fw_call_(f, idx, __VA_ARGS__, 0, 0, 0, 0)
#define fw_call_(f, idx, a, b, c, d, ...)                                                          \
    fw_call4(f, idx, (uint32_t)(a), (uint32_t)(b), (uint32_t)(c), (uint32_t)(d))

/* A new chip: the file path removed and opened again as device (unique ID
 * uid), the firmware loaded into its SRAM (ram bytes).  NULL on failure. */
static inline oflash_probe *fw_fresh(fw *f, const char *path, const char *device, const char *uid,
                                     uint32_t ram)
{
    oflash_probe *p;
    unlink(path);
    p = sim_open_chip(path, device, uid);
    if (p) CHECK_OK(fw_load(f, p, ram));
    return p;
}

#endif
