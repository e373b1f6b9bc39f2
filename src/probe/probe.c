/*
 * probe.c - the generic probe layer: the backend registry, spec parsing,
 * argument checks and emulation of optional callbacks.
 */
#include "probe/probe_internal.h"
#include "oflash/error.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The registry: built-in backends, one line each, then those added with
 * oflash_probe_register().  The mutex guards `registered` and its count;
 * entries never change once added, so a pointer read under the lock stays
 * good. */
static const oflash_probe_ops *const builtin_backends[] = {
    &oflash_probe_sim_ops,
    &oflash_probe_gdb_ops,
    &oflash_probe_sim_feed_ops,
};
#define BUILTIN_COUNT (sizeof builtin_backends / sizeof builtin_backends[0])

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const oflash_probe_ops *registered[OFLASH_PROBE_MAX_BACKENDS];
static size_t registered_count;

size_t oflash_probe_backend_count(void)
{
    size_t n;
    pthread_mutex_lock(&registry_lock);
    n = BUILTIN_COUNT + registered_count;
    pthread_mutex_unlock(&registry_lock);
    return n;
}

const oflash_probe_ops *oflash_probe_backend_get(size_t i)
{
    const oflash_probe_ops *ops = NULL;
    if (i < BUILTIN_COUNT) return builtin_backends[i];
    pthread_mutex_lock(&registry_lock);
    if (i - BUILTIN_COUNT < registered_count) ops = registered[i - BUILTIN_COUNT];
    pthread_mutex_unlock(&registry_lock);
    return ops;
}

static const oflash_probe_ops *find_backend(const char *name, size_t len)
{
    const oflash_probe_ops *ops;
    for (size_t i = 0; (ops = oflash_probe_backend_get(i)) != NULL; i++)
        if (strlen(ops->name) == len && strncmp(ops->name, name, len) == 0) return ops;
    return NULL;
}

static bool valid_backend_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 31) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_') return false;
    return true;
}

int oflash_probe_register(const oflash_probe_ops *ops)
{
    const char *missing = NULL;
    int rc = 0;

    if (!ops) return oflash_error_set(OFLASH_EINVAL, "probe backend: no ops table");
    if (ops->version != OFLASH_PROBE_OPS_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "probe backend '%s': ops version %u (expected %u)",
                                ops->name ? ops->name : "", ops->version, OFLASH_PROBE_OPS_VERSION);
    if (!valid_backend_name(ops->name))
        return oflash_error_set(OFLASH_EINVAL,
                                "probe backend name '%s': expected 1 to 31 letters, digits, "
                                "'-' or '_'",
                                ops->name ? ops->name : "");
    if (!ops->open)
        missing = "open";
    else if (!ops->close)
        missing = "close";
    else if (!ops->read_mem)
        missing = "read_mem";
    else if (!ops->write_mem)
        missing = "write_mem";
    else if (!ops->read_regs)
        missing = "read_regs";
    else if (!ops->write_regs)
        missing = "write_regs";
    else if (!ops->reset)
        missing = "reset";
    else if (!ops->run)
        missing = "run";
    if (missing)
        return oflash_error_set(OFLASH_EINVAL, "probe backend '%s': required callback %s is NULL",
                                ops->name, missing);

    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < BUILTIN_COUNT + registered_count && rc == 0; i++) {
        const oflash_probe_ops *o =
            i < BUILTIN_COUNT ? builtin_backends[i] : registered[i - BUILTIN_COUNT];
        if (strcmp(o->name, ops->name) == 0)
            rc = oflash_error_set(OFLASH_EINVAL, "probe backend '%s' is already registered%s",
                                  ops->name, i < BUILTIN_COUNT ? " (built in)" : "");
    }
    if (rc == 0 && registered_count == OFLASH_PROBE_MAX_BACKENDS)
        rc = oflash_error_set(OFLASH_ENOMEM,
                              "probe backend '%s': %d backends are registered "
                              "already (the most there can be)",
                              ops->name, OFLASH_PROBE_MAX_BACKENDS);
    if (rc == 0) registered[registered_count++] = ops;
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

/* "sim:, gdb:" for messages. */
static void backend_list(char *buf, size_t len)
{
    const oflash_probe_ops *ops;
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; (ops = oflash_probe_backend_get(i)) != NULL && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s:", i ? ", " : "", ops->name);
        if (n < 0) break;
        used += (size_t)n;
    }
}

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
    oflash_probe_opts defaults = OFLASH_PROBE_OPTS_INIT;
    const oflash_probe_ops *ops;
    const char *colon;
    oflash_probe *p;
    int rc;

    *out = NULL;
    if (!spec || !(colon = strchr(spec, ':')))
        return oflash_error_set(OFLASH_EINVAL,
                                "probe '%s': expected sim:PATH, sim-feed:DIR, gdb:HOST:PORT or gdb:/dev/ttyX",
                                spec ? spec : "");
    if (!opts)
        opts = &defaults;
    ops = find_backend(spec, (size_t)(colon - spec));
    if (!ops) {
        char known[256];
        backend_list(known, sizeof known);
        return oflash_error_set(OFLASH_EUNSUPPORTED,
                                "probe '%s': unknown probe type '%.*s' (expected %s)", spec,
                                (int)(colon - spec), spec, known);
    }
    p = calloc(1, sizeof *p);
    if (!p) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
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

int oflash_probe_read_mem(void *buf, oflash_probe *p, uint32_t addr, size_t len)
{
    if (len == 0)
        return 0;
    if ((uint64_t)addr + len > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE, "read of %zu bytes at 0x%08X wraps past 4 GiB",
                                len, addr);
    return p->ops->read_mem(p, buf, addr, len);
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

int oflash_probe_read_u32(uint32_t *val, oflash_probe *p, uint32_t addr)
{
    uint8_t b[4];
    int rc = oflash_probe_read_mem(b, p, addr, 4);
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

int oflash_probe_read_regs(uint32_t *vals, oflash_probe *p, const int *regs, size_t n)
{
    int rc = check_regs(regs, n);
    if (rc < 0 || n == 0) return rc;
    return p->ops->read_regs(p, vals, regs, n);
}

int oflash_probe_write_regs(oflash_probe *p, const int *regs, const uint32_t *vals, size_t n)
{
    int rc = check_regs(regs, n);
    if (rc < 0 || n == 0) return rc;
    return p->ops->write_regs(p, regs, vals, n);
}

int oflash_probe_read_reg(uint32_t *val, oflash_probe *p, int reg)
{
    return oflash_probe_read_regs(val, p, &reg, 1);
}

int oflash_probe_write_reg(oflash_probe *p, int reg, uint32_t val)
{
    return oflash_probe_write_regs(p, &reg, &val, 1);
}

int oflash_probe_halt(oflash_probe *p)
{
    return p->ops->halt ? p->ops->halt(p) : 0;
}

int oflash_probe_reset(oflash_probe *p, bool halt)
{
    return p->ops->reset(p, halt);
}

int oflash_probe_run(oflash_stop_info *stop, oflash_probe *p, const oflash_run_opts *opts)
{
    oflash_run_opts defaults = OFLASH_RUN_OPTS_INIT;
    oflash_stop_info dummy;
    memset(stop ? stop : &dummy, 0, sizeof dummy);
    if (opts && opts->version < 2) { /* a caller built before guard_ram */
        defaults.have_break = opts->have_break;
        defaults.break_addr = opts->break_addr;
        defaults.timeout_ms = opts->timeout_ms;
        defaults.max_insns = opts->max_insns;
        opts = &defaults;
    }
    return p->ops->run(p, stop ? stop : &dummy, opts ? opts : &defaults);
}

int oflash_probe_command(char *output, size_t output_len, oflash_probe *p, const char *cmd)
{
    if (output && output_len)
        output[0] = '\0';
    if (!p->ops->command)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "probe %s does not take commands",
                                p->ops->name);
    return p->ops->command(p, output, output_len, cmd);
}

void oflash_probe_get_stats(oflash_probe_stats *stats, const oflash_probe *p)
{
    *stats = p->stats;
}

void oflash_probe_reset_stats(oflash_probe *p)
{
    bool has = p->stats.has_sim_time;
    memset(&p->stats, 0, sizeof p->stats);
    p->stats.has_sim_time = has;
}
