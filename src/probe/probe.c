/*
 * probe.c - the generic probe layer: spec parsing, backend dispatch,
 * emulation of optional callbacks.
 */
#include "oflash/sys/probe.h"
#include "oflash/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Backends are weak references so that a library built without one still
 * links; a missing backend is reported as unsupported. */
extern const oflash_probe_ops oflash_probe_sim_ops __attribute__((weak));
extern const oflash_probe_ops oflash_probe_gdb_ops __attribute__((weak));

static const char *const reg_names[OFLASH_REG_COUNT] = {
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",
    "r11", "r12", "sp", "lr", "pc", "xpsr", "msp", "psp"};

int oflash_reg_from_name(const char *name)
{
    for (int i = 0; i < OFLASH_REG_COUNT; i++)
        if (strcasecmp(name, reg_names[i]) == 0)
            return i;
    if (strcasecmp(name, "r13") == 0)
        return OFLASH_REG_SP;
    if (strcasecmp(name, "r14") == 0)
        return OFLASH_REG_LR;
    if (strcasecmp(name, "r15") == 0)
        return OFLASH_REG_PC;
    return -1;
}

const char *oflash_reg_name(int reg)
{
    if (reg < 0 || reg >= OFLASH_REG_COUNT)
        return "?";
    return reg_names[reg];
}

int oflash_probe_open(oflash_probe **out, const char *spec, const oflash_probe_opts *opts)
{
    const oflash_probe_ops *backends[2];
    oflash_probe_opts defaults = {OFLASH_PROBE_OPTS_VERSION, NULL, NULL, 0, 0, NULL, NULL};
    const char *colon;
    size_t n = 0;
    int rc;

    *out = NULL;
    if (!spec || !(colon = strchr(spec, ':')))
        return oflash_error_set(OFLASH_EINVAL,
                                "probe '%s': expected sim:PATH, gdb:HOST:PORT or gdb:/dev/ttyX",
                                spec ? spec : "");
    if (!opts)
        opts = &defaults;
    if (&oflash_probe_sim_ops)
        backends[n++] = &oflash_probe_sim_ops;
    if (&oflash_probe_gdb_ops)
        backends[n++] = &oflash_probe_gdb_ops;
    for (size_t i = 0; i < n; i++) {
        const oflash_probe_ops *ops = backends[i];
        size_t len = strlen(ops->name);
        if ((size_t)(colon - spec) != len || strncmp(spec, ops->name, len) != 0)
            continue;
        oflash_probe *p = calloc(1, sizeof *p);
        if (!p)
            return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        p->ops = ops;
        strncpy(p->spec, spec, sizeof p->spec - 1);
        rc = ops->open(p, colon + 1, opts);
        if (rc < 0) {
            free(p);
            return rc;
        }
        *out = p;
        return 0;
    }
    return oflash_error_set(OFLASH_EUNSUPPORTED,
                            "probe '%s': unknown probe type '%.*s' (expected sim: or gdb:)", spec,
                            (int)(colon - spec), spec);
}

void oflash_probe_close(oflash_probe *p)
{
    if (!p)
        return;
    if (p->ops->close)
        p->ops->close(p);
    free(p);
}

const char *oflash_probe_backend(const oflash_probe *p)
{
    return p->ops->name;
}

const char *oflash_probe_part(const oflash_probe *p)
{
    return p->ops->part ? p->ops->part(p) : NULL;
}

int oflash_probe_read_mem(oflash_probe *p, uint32_t addr, void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if ((uint64_t)addr + len > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE, "read of %zu bytes at 0x%08X wraps past 4 GiB",
                                len, addr);
    return p->ops->read_mem(p, addr, buf, len);
}

int oflash_probe_write_mem(oflash_probe *p, uint32_t addr, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if ((uint64_t)addr + len > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE, "write of %zu bytes at 0x%08X wraps past 4 GiB",
                                len, addr);
    return p->ops->write_mem(p, addr, buf, len);
}

int oflash_probe_read_u32(oflash_probe *p, uint32_t addr, uint32_t *val)
{
    uint8_t b[4];
    int rc = oflash_probe_read_mem(p, addr, b, 4);
    if (rc < 0)
        return rc;
    *val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

int oflash_probe_write_u32(oflash_probe *p, uint32_t addr, uint32_t val)
{
    uint8_t b[4] = {(uint8_t)val, (uint8_t)(val >> 8), (uint8_t)(val >> 16),
                    (uint8_t)(val >> 24)};
    return oflash_probe_write_mem(p, addr, b, 4);
}

static int check_regs(const int *regs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (regs[i] < 0 || regs[i] >= OFLASH_REG_COUNT)
            return oflash_error_set(OFLASH_EINVAL, "register number %d out of range", regs[i]);
    return 0;
}

int oflash_probe_read_regs(oflash_probe *p, const int *regs, uint32_t *vals, size_t n)
{
    int rc = check_regs(regs, n);
    return rc < 0 ? rc : p->ops->read_regs(p, regs, vals, n);
}

int oflash_probe_write_regs(oflash_probe *p, const int *regs, const uint32_t *vals, size_t n)
{
    int rc = check_regs(regs, n);
    return rc < 0 ? rc : p->ops->write_regs(p, regs, vals, n);
}

int oflash_probe_read_reg(oflash_probe *p, int reg, uint32_t *val)
{
    return oflash_probe_read_regs(p, &reg, val, 1);
}

int oflash_probe_write_reg(oflash_probe *p, int reg, uint32_t val)
{
    return oflash_probe_write_regs(p, &reg, &val, 1);
}

int oflash_probe_halt(oflash_probe *p)
{
    return p->ops->halt(p);
}

int oflash_probe_reset(oflash_probe *p, bool halt)
{
    return p->ops->reset(p, halt);
}

int oflash_probe_run(oflash_probe *p, const oflash_run_opts *opts, oflash_stop_info *stop)
{
    oflash_run_opts defaults = {OFLASH_RUN_OPTS_VERSION, false, 0, 0, 0};
    oflash_stop_info dummy;
    memset(stop ? stop : &dummy, 0, sizeof dummy);
    return p->ops->run(p, opts ? opts : &defaults, stop ? stop : &dummy);
}

int oflash_probe_command(oflash_probe *p, const char *cmd, char *output, size_t output_len)
{
    if (output && output_len)
        output[0] = '\0';
    if (!p->ops->command)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "probe %s does not take commands",
                                p->ops->name);
    return p->ops->command(p, cmd, output, output_len);
}

void oflash_probe_get_stats(const oflash_probe *p, oflash_probe_stats *stats)
{
    *stats = p->stats;
}

void oflash_probe_reset_stats(oflash_probe *p)
{
    bool has = p->stats.has_sim_time;
    memset(&p->stats, 0, sizeof p->stats);
    p->stats.has_sim_time = has;
}
