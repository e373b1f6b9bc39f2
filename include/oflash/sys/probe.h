/*
 * oflash/sys/probe.h - for people writing probe backends.
 *
 * A probe backend connects oflash to a target by some means (a simulated
 * chip, a GDB server, a debug adapter).  It is one const ops table, written
 * with designated initializers at the end of the backend's file, as in
 * OpenOCD's flash drivers:
 *
 *     const oflash_probe_ops my_ops = {
 *         .version = OFLASH_PROBE_OPS_VERSION,
 *         .name = "my",          // spec "my:ARG"
 *         .open = my_open,
 *         ...
 *     };
 *     oflash_probe_register(&my_ops);   // once, before oflash_probe_open("my:...")
 *
 * The generic layer (oflash/probe.h) checks arguments before it calls a
 * backend: register numbers are in range, memory ranges do not wrap past
 * 4 GiB, and lengths and register counts are not 0 (such calls return 0
 * without reaching the backend).  A backend therefore only does the
 * transfer.
 *
 * Return codes: every int callback returns 0 on success or a negative
 * oflash_error_code, and sets the message with oflash_error_set() first
 * (what failed, the address, what the target answered).  Use
 * OFLASH_ELINK when the connection is gone, OFLASH_ETIMEOUT when the target
 * did not answer in time, OFLASH_ETARGET for an error the target reported,
 * OFLASH_EUNSUPPORTED for a request the backend cannot serve.
 *
 * Ownership: the oflash_probe passed to every callback is allocated and
 * freed by the generic layer; the backend keeps its own state in p->priv
 * (set in open, freed in close).  Buffers passed to callbacks belong to the
 * caller and are valid only during the call.
 *
 * Threads: one probe is used by one thread at a time; different probes may
 * be used from different threads at once, so a backend keeps no state
 * outside p->priv (or guards it).
 */
#ifndef OFLASH_SYS_PROBE_H
#define OFLASH_SYS_PROBE_H

#include "oflash/common.h"

#include "oflash/probe.h"

OFLASH_BEGIN_DECLS

#define OFLASH_PROBE_OPS_VERSION 1

typedef struct oflash_probe_ops {
    /* OFLASH_PROBE_OPS_VERSION: the layout of this struct the backend was
     * written for.  oflash_probe_register() refuses other versions. */
    unsigned version;

    /* The spec prefix before ':' that selects this backend ("sim", "gdb"):
     * letters, digits, '-' and '_', at most 31 characters.  Required. */
    const char *name;

    /* Required.  Connect to the target named by arg (the spec after
     * "name:", never NULL, may be empty) with opts (never NULL; fields the
     * backend does not use are ignored).  On success set p->priv and
     * return 0.  On failure free what was allocated and return a negative
     * code: close is NOT called after a failed open. */
    int (*open)(oflash_probe *p, const char *arg, const oflash_probe_opts *opts);

    /* Required.  Disconnect and free p->priv.  Called once, after a
     * successful open, also when the last operation failed or the link is
     * gone; must not fail.  Leave the target halted or running as it is. */
    void (*close)(oflash_probe *p);

    /* Required.  Read len (> 0) bytes of target memory at addr into buf, as
     * the debugger sees memory (flash and OTP read directly).  Any length and
     * alignment: split into what the link takes.  Add the payload to
     * p->stats.mem_read_bytes and the exchanges to round_trips / bytes_tx /
     * bytes_rx. */
    int (*read_mem)(oflash_probe *p, void *buf, uint32_t addr, size_t len);

    /* Required.  Write len (> 0) bytes from buf to target memory at addr.
     * Flash and OTP are not writable this way (as on silicon): a write
     * there fails or is ignored by the target, never programs it.  Counts
     * as read_mem does (mem_write_bytes). */
    int (*write_mem)(oflash_probe *p, uint32_t addr, const void *buf, size_t len);

    /* Required.  Read the n (>= 1) core registers regs[] (oflash_reg
     * numbers, in range) into vals[], in as few exchanges as the link
     * allows. */
    int (*read_regs)(oflash_probe *p, uint32_t *vals, const int *regs, size_t n);

    /* Required.  Write vals[i] to core register regs[i], n >= 1, in order
     * (writing PC last when it is in the list is the caller's job). */
    int (*write_regs)(oflash_probe *p, const int *regs, const uint32_t *vals, size_t n);

    /* Optional (NULL: oflash_probe_halt() returns 0 when the backend
     * keeps the core halted between calls, which a NULL halt declares).
     * Stop the core now and return when it is halted. */
    int (*halt)(oflash_probe *p);

    /* Required.  Reset the core and the system.  halt true: stop at the
     * reset vector with SP and PC loaded from the vector table; false: let
     * it run. */
    int (*reset)(oflash_probe *p, bool halt);

    /* Required.  Resume at the current PC and wait until the core halts:
     * BKPT, the breakpoint opts->break_addr if opts->have_break (removed
     * again before returning), a fault, or opts->timeout_ms (then halt it
     * and report OFLASH_STOP_TIMEOUT with return 0).  opts is never NULL
     * (defaults filled in); stop is never NULL and zeroed by the caller:
     * set reason, pc and, for faults, detail.  Return a negative code only
     * when the target could not be run or halted. */
    int (*run)(oflash_probe *p, oflash_stop_info *stop, const oflash_run_opts *opts);

    /* Optional (NULL: oflash_probe_command() returns OFLASH_EUNSUPPORTED).
     * Send a backend-specific command cmd (gdb: "monitor CMD"); write what
     * the target printed to out as a NUL-terminated string of at most
     * out_len bytes, truncated if longer.  out may be NULL (out_len 0):
     * discard the output. */
    int (*command)(oflash_probe *p, char *out, size_t out_len, const char *cmd);

    /* Optional (NULL: the part is unknown).  The part name the backend
     * knows the target is (a simulated chip's part), owned by the backend
     * and valid until close; NULL when it does not know. */
    const char *(*part)(const oflash_probe *p);
} oflash_probe_ops;

/* An open probe as backends see it (callers of oflash/probe.h do not). */
struct oflash_probe {
    const oflash_probe_ops *ops;
    void *priv;               /* backend state, set by open, freed by close */
    oflash_probe_stats stats; /* backends add to the counters */
    char spec[256];           /* the spec it was opened with */
};

/*
 * Make a backend known to oflash_probe_open() under ops->name, for the
 * whole process (in the manner of libgit2's git_odb_add_backend).  ops must
 * stay valid until the process ends (a static const table); it is not
 * copied.  The built-in backends ("sim", "gdb") come first and cannot be
 * replaced.
 *
 * Returns 0; OFLASH_EINVAL if ops is NULL, its version is not
 * OFLASH_PROBE_OPS_VERSION, its name is not valid or a required callback is
 * NULL; OFLASH_EINVAL if the name is taken (also by the same table: a second
 * registration is an error, not a no-op); OFLASH_ENOMEM when
 * OFLASH_PROBE_MAX_BACKENDS are registered already.
 *
 * Thread-safety: may be called from any thread, also while other threads
 * open probes (a mutex guards the registry); a probe opened before the
 * call does not see the new backend, and a backend cannot be removed.
 */
#define OFLASH_PROBE_MAX_BACKENDS 16
int oflash_probe_register(const oflash_probe_ops *ops);

/* The backends oflash_probe_open() knows, built-in first, for listing
 * them: oflash_probe_backend_get(i) for i < oflash_probe_backend_count(),
 * NULL past the end.  Thread-safe as above. */
size_t oflash_probe_backend_count(void);
const oflash_probe_ops *oflash_probe_backend_get(size_t i);

OFLASH_END_DECLS
#endif
