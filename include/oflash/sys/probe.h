/*
 * oflash/sys/probe.h - for people writing probe backends.
 *
 * A backend is one const ops table with designated initializers at the end
 * of its file.  Every callback returns 0 or a negative oflash_error_code and
 * sets the message with oflash_error_set() on failure.  A NULL callback means
 * "not supported": the generic layer returns OFLASH_EUNSUPPORTED or emulates
 * it (read_regs via read_reg, read_u32 via read_mem).
 */
#ifndef OFLASH_SYS_PROBE_H
#define OFLASH_SYS_PROBE_H

#include "oflash/probe.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OFLASH_PROBE_OPS_VERSION 1

typedef struct oflash_probe_ops {
    unsigned version;  /* OFLASH_PROBE_OPS_VERSION */
    const char *name;  /* "sim", "gdb": the spec prefix before ':' */
    /* Open the target named by arg (the spec after "name:"); set p->priv. */
    int (*open)(oflash_probe *p, const char *arg, const oflash_probe_opts *opts);
    /* Release everything; must work after a failed operation. */
    void (*close)(oflash_probe *p);
    /* Any length, any alignment; split as the backend needs. */
    int (*read_mem)(oflash_probe *p, uint32_t addr, void *buf, size_t len);
    int (*write_mem)(oflash_probe *p, uint32_t addr, const void *buf, size_t len);
    /* regs: oflash_reg numbers. */
    int (*read_regs)(oflash_probe *p, const int *regs, uint32_t *vals, size_t n);
    int (*write_regs)(oflash_probe *p, const int *regs, const uint32_t *vals, size_t n);
    int (*halt)(oflash_probe *p);
    int (*reset)(oflash_probe *p, bool halt);
    int (*run)(oflash_probe *p, const oflash_run_opts *opts, oflash_stop_info *stop);
    /* Optional: backend command (monitor), NULL if none. */
    int (*command)(oflash_probe *p, const char *cmd, char *out, size_t out_len);
    /* Optional: the part name the backend knows the target is. */
    const char *(*part)(const oflash_probe *p);
} oflash_probe_ops;

struct oflash_probe {
    const oflash_probe_ops *ops;
    void *priv;                /* backend state */
    oflash_probe_stats stats;  /* backends update the counters */
    char spec[256];            /* the spec it was opened with */
};

/* Backends known to oflash_probe_open(). */
extern const oflash_probe_ops oflash_probe_sim_ops;
extern const oflash_probe_ops oflash_probe_gdb_ops;

#ifdef __cplusplus
}
#endif
#endif
