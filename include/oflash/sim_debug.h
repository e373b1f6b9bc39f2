/*
 * oflash/sim_debug.h - the simulated chip's debug port served to a real
 * debugger: OpenOCD's remote_bitbang protocol (JTAG) over TCP.
 *
 * The chip file is held open (and locked) for the whole time; each client
 * drives the chip's JTAG chain (for the STM32F4: the Cortex-M4 JTAG-DP and
 * the boundary-scan TAP), one client at a time.  The core runs while it is
 * not halted.  Simulated time advances by one adapter clock period per TCK
 * cycle (and with the chip's own events, such as a flash erase a read of
 * FLASH_SR waits for); with realtime set it also never falls behind the
 * wall clock while the server waits for the debugger.  Without realtime the
 * simulated time is a function of the bytes received alone: reproducible.
 *
 * Model details: docs/openocd.md.
 */
#ifndef OFLASH_SIM_DEBUG_H
#define OFLASH_SIM_DEBUG_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "oflash/common.h"

OFLASH_BEGIN_DECLS

/* What one client session (or the whole serve call) cost. */
typedef struct oflash_sim_serve_stats {
    uint64_t bytes_in;     /* remote_bitbang bytes received */
    uint64_t bytes_out;    /* TDO answers sent */
    uint64_t tck_cycles;   /* rising TCK edges */
    uint64_t sim_time_ns;  /* simulated time that passed */
    uint64_t wait_time_ns; /* of which added to keep up with the wall clock */
    uint64_t wall_time_ns; /* host time the session lasted */
    uint64_t cpu_insns;    /* instructions the core executed */
    uint64_t halts, steps, resumes;
    uint64_t ap_reads, ap_writes, dp_waits, bus_errors;
    uint64_t program_ops, erase_ops; /* flash operations done */
} oflash_sim_serve_stats;

typedef struct oflash_sim_serve_opts {
    unsigned version;   /* OFLASH_SIM_SERVE_OPTS_VERSION */
    const char *listen; /* "[HOST:]PORT"; HOST defaults to 127.0.0.1; PORT 0 picks one */
    const char *device; /* create the chip file with this part if it does not exist */
    uint64_t tck_hz;    /* adapter clock the simulated time follows; 0 = 4 MHz */
    bool realtime;      /* keep simulated time >= wall time while waiting */
    bool once;          /* return after the first client leaves */
    /* Set (e.g. by a SIGINT handler) to make the server return cleanly. */
    volatile sig_atomic_t *stop;
    /* Set (e.g. by a SIGUSR1 handler) to get the current session's figures
     * so far through on_session (done false); the server clears it. */
    volatile sig_atomic_t *report;
    /* Called once the socket listens (port is the bound port), and with a
     * session's figures: when asked (done false) and when the client
     * leaves (done true); may be NULL. */
    void (*on_listen)(void *ctx, const char *host, unsigned port);
    void (*on_session)(void *ctx, const char *peer, const oflash_sim_serve_stats *st, bool done);
    void *ctx;
} oflash_sim_serve_opts;
#define OFLASH_SIM_SERVE_OPTS_VERSION 1
#define OFLASH_SIM_SERVE_OPTS_INIT                                                                 \
    {                                                                                              \
        .version = OFLASH_SIM_SERVE_OPTS_VERSION, .realtime = true                                 \
    }

/* Serve the chip at path until *opts->stop is set (or, with once, until
 * the first client leaves).  total (may be NULL) receives the figures of
 * all sessions.  Returns 0 or a negative oflash_error_code: the chip
 * cannot be opened, its family has no debug port model, the address cannot
 * be bound. */
int oflash_sim_serve(oflash_sim_serve_stats *total, const char *path,
                     const oflash_sim_serve_opts *opts);

OFLASH_END_DECLS

#endif
