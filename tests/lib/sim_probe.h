/*
 * sim_probe.h - small helpers for tests that drive a simulated chip
 * through the probe API (the debugger's view): open a chip file as a
 * part with a fixed unique ID, read a word, the simulated time, check
 * that a range is erased.  Every family's simulator tests use them.
 *
 * Header only (include harness.h first: the CHECKs count in the test's
 * own tally).
 */
#ifndef OFLASH_TEST_SIM_PROBE_H
#define OFLASH_TEST_SIM_PROBE_H

#include "harness.h"
#include "oflash/probe.h"
#include "oflash/sim.h"

#include <stdbool.h>
#include <stdlib.h>

/* Open (creating it if missing) the chip file path as device, with the
 * unique ID uid (24 hex digits) for a new chip. */
static inline oflash_probe *sim_open_chip(const char *path, const char *device, const char *uid)
{
    oflash_probe *p = NULL;
    oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
    char spec[300];
    o.device = device;
    o.sim_uid = uid;
    snprintf(spec, sizeof spec, "sim:%s", path);
    CHECK_OK(oflash_probe_open(&p, spec, &o));
    return p;
}

/* The word at a through the debugger (0xBAD0BAD0 and a failed CHECK if
 * the read fails). */
static inline uint32_t rd32(oflash_probe *p, uint32_t a)
{
    uint32_t v = 0xBAD0BAD0u;
    CHECK_OK(oflash_probe_read_u32(&v, p, a));
    return v;
}

/* Simulated time since the probe opened the chip, in ns. */
static inline uint64_t sim_ns(oflash_probe *p)
{
    oflash_sim_run_stats st;
    oflash_sim_probe_stats(&st, p);
    return st.sim_time_ns;
}

/* true when every byte of addr..addr+len reads 0xFF. */
static inline bool all_ff(oflash_probe *p, uint32_t addr, uint32_t len)
{
    uint8_t *b = malloc(len);
    bool ok = b && oflash_probe_read_mem(b, p, addr, len) == 0;
    for (uint32_t i = 0; ok && i < len; i++)
        ok = b[i] == 0xFF;
    free(b);
    return ok;
}

#endif
