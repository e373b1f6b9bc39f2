/*
 * oflash/gdb.h - GDB remote serial protocol: extras of the client probe
 * backend ("gdb:HOST:PORT", "gdb:/dev/ttyX") and the GDB server.
 *
 * The client itself is used through oflash/probe.h.  The functions here
 * take a probe opened with a "gdb:" spec; on any other probe they return
 * OFLASH_EUNSUPPORTED.  Everything returned by pointer is owned by the
 * probe and valid until it is closed.
 */
#ifndef OFLASH_GDB_H
#define OFLASH_GDB_H

#include "oflash/common.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oflash/device.h"
#include "oflash/probe.h"

OFLASH_BEGIN_DECLS

/* ---- client extras ---- */

typedef enum oflash_gdb_mem_kind {
    OFLASH_GDB_MEM_RAM = 0,
    OFLASH_GDB_MEM_ROM,
    OFLASH_GDB_MEM_FLASH
} oflash_gdb_mem_kind;

/* One <memory> element of the server's qXfer:memory-map:read document. */
typedef struct oflash_gdb_mem_region {
    oflash_gdb_mem_kind kind;
    uint32_t start;
    uint32_t length;    /* may be 0 for a region reaching 4 GiB */
    uint32_t blocksize; /* flash erase unit, 0 when not flash */
} oflash_gdb_mem_region;

/* The memory map the server offered at connect time.  *count is 0 (and 0
 * is returned) when the server has none. */
int oflash_gdb_memory_map(const oflash_gdb_mem_region **regions, size_t *count, oflash_probe *p);

/* What the server advertised in its qSupported reply (NUL-terminated). */
const char *oflash_gdb_features(oflash_probe *p);

/* Drive the server's own flash support (OpenOCD, J-Link GDB Server, oflash
 * gdbserver): vFlashErase (addr and len on the server's block boundaries),
 * vFlashWrite (any size: split to fit the packet size), vFlashDone (the
 * server finishes programming; call once after the writes).  Each returns
 * OFLASH_ETARGET with the server's E NN on failure. */
int oflash_gdb_flash_erase(oflash_probe *p, uint32_t addr, uint32_t len);
int oflash_gdb_flash_write(oflash_probe *p, uint32_t addr, const void *buf, size_t len);
int oflash_gdb_flash_done(oflash_probe *p);

/* ---- server ---- */

typedef struct oflash_gdbserver_stats {
    uint64_t clients;  /* connections served */
    uint64_t packets;  /* packets received */
    uint64_t bytes_rx; /* bytes on the wire from clients */
    uint64_t bytes_tx; /* bytes on the wire to clients */
    uint64_t busy_refused; /* connections refused because a client was being served */
} oflash_gdbserver_stats;

/* Log lines of the server (optional: NULL drops them): ctx
 * (opts->event_ctx) first, then the level (OFLASH_LOG_*, oflash/error.h)
 * and the line, valid only during the call; called in the thread running
 * oflash_gdbserver_run(). */
typedef void (*oflash_gdbserver_event_fn)(void *ctx, int level, const char *msg);

typedef struct oflash_gdbserver_opts {
    unsigned version;   /* OFLASH_GDBSERVER_OPTS_VERSION */
    const char *listen; /* "HOST:PORT"; NULL = "127.0.0.1:3333"; port 0 = any free */
    bool allow_otp;     /* clients may program OTP data and lock bytes (vFlash through the
                         * plan, and memory writes to the OTP area and its unlock register) */
    bool once;          /* stop after the first client disconnects */
    const volatile sig_atomic_t *stop; /* non-zero: stop serving (signal handler sets it) */
    oflash_gdbserver_event_fn event;
    void *event_ctx;
    void (*listening)(void *ctx, unsigned port); /* optional: called once, with event_ctx
                                                  * and the port, when the socket listens */
    oflash_gdbserver_stats *stats;               /* filled in while serving; may be NULL */
    /* version 2 */
    bool allow_option_bytes; /* clients may unlock and program option bytes (RDP, WRP) */
    unsigned idle_timeout_ms; /* disconnect a client silent this long while the core is
                               * halted; 0 = never (OFLASH_GDBSERVER_OPTS_INIT: 30 s) */
    /* version 3 */
    const char *journal_dir; /* recovery journal directory (oflash/journal.h) for the
                              * bytes a load keeps and the OTP it writes; NULL: the
                              * default directory */
} oflash_gdbserver_opts;
#define OFLASH_GDBSERVER_OPTS_VERSION 3
#define OFLASH_GDBSERVER_IDLE_TIMEOUT_MS 30000u
#define OFLASH_GDBSERVER_OPTS_INIT                                                                 \
    {                                                                                              \
        .version = OFLASH_GDBSERVER_OPTS_VERSION,                                                  \
        .idle_timeout_ms = OFLASH_GDBSERVER_IDLE_TIMEOUT_MS                                        \
    }

/* Serve probe p (a device dev, which gives the memory map and the flash
 * banks) to GDB clients, one at a time, until *opts->stop becomes non-zero
 * (or after one client with opts->once).  A client that connects while
 * another is served gets the error reply "E.oflash gdbserver is busy: ..."
 * and is closed.  Flash programming (vFlashErase/vFlashWrite/vFlashDone)
 * goes through oflash_plan_create() and oflash_flash_execute() at
 * vFlashDone; without allow_otp / allow_option_bytes, memory writes to the
 * OTP, lock-byte and option-byte areas and to the device's guard registers
 * are refused, and a sim: probe's chip refuses that programming for the
 * session.  opts with version 1 get the version 2 fields' defaults.
 * Returns 0 on a requested stop, a negative code if the socket cannot be
 * opened. */
int oflash_gdbserver_run(oflash_probe *p, const oflash_device *dev,
                         const oflash_gdbserver_opts *opts);

OFLASH_END_DECLS
#endif
