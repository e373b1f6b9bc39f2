/*
 * custom_probe.c - a probe backend written outside liboflash and made known
 * to it with oflash_probe_register(): "ram:SIZE", a target that is nothing
 * but SIZE bytes of memory at address 0x20000000 and a register file.
 *
 *   custom_probe
 *
 * It registers the backend, opens "ram:4096" through the ordinary
 * oflash_probe_open(), writes and reads memory and registers through the
 * generic layer (which checks ranges before calling the backend), and checks
 * that the registry refuses a second backend of the same name.  Exit 0 when
 * every check holds, 1 otherwise.
 */
#include <oflash/error.h>
#include <oflash/probe.h>
#include <oflash/sys/probe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM_BASE 0x20000000u

typedef struct ram_target {
    uint8_t *mem;
    uint32_t size;
    uint32_t regs[OFLASH_REG_COUNT];
} ram_target;

static int ram_open(oflash_probe *p, const char *arg, const oflash_probe_opts *opts)
{
    ram_target *r;
    char *end;
    unsigned long size = strtoul(arg, &end, 0);
    (void)opts;
    if (*arg == '\0' || *end != '\0' || size == 0 || size > (1u << 24))
        return oflash_error_set(OFLASH_EINVAL, "ram:%s: expected a size from 1 to 16 MiB", arg);
    if (!(r = calloc(1, sizeof *r)) || !(r->mem = calloc(1, size))) {
        free(r);
        return oflash_error_set(OFLASH_ENOMEM, "ram:%s: out of memory", arg);
    }
    r->size = (uint32_t)size;
    p->priv = r;
    return 0;
}

static void ram_close(oflash_probe *p)
{
    ram_target *r = p->priv;
    free(r->mem);
    free(r);
}

static int ram_check(const ram_target *r, uint32_t addr, size_t len)
{
    if (addr < RAM_BASE || addr - RAM_BASE > r->size || len > r->size - (addr - RAM_BASE))
        return oflash_error_set(OFLASH_ERANGE, "ram: 0x%08X + %zu bytes is outside the RAM", addr,
                                len);
    return 0;
}

static int ram_read_mem(oflash_probe *p, void *buf, uint32_t addr, size_t len)
{
    ram_target *r = p->priv;
    int rc = ram_check(r, addr, len);
    if (rc < 0) return rc;
    memcpy(buf, r->mem + (addr - RAM_BASE), len);
    p->stats.round_trips++;
    p->stats.mem_read_bytes += len;
    return 0;
}

static int ram_write_mem(oflash_probe *p, uint32_t addr, const void *buf, size_t len)
{
    ram_target *r = p->priv;
    int rc = ram_check(r, addr, len);
    if (rc < 0) return rc;
    memcpy(r->mem + (addr - RAM_BASE), buf, len);
    p->stats.round_trips++;
    p->stats.mem_write_bytes += len;
    return 0;
}

static int ram_read_regs(oflash_probe *p, uint32_t *vals, const int *regs, size_t n)
{
    ram_target *r = p->priv;
    for (size_t i = 0; i < n; i++)
        vals[i] = r->regs[regs[i]];
    return 0;
}

static int ram_write_regs(oflash_probe *p, const int *regs, const uint32_t *vals, size_t n)
{
    ram_target *r = p->priv;
    for (size_t i = 0; i < n; i++)
        r->regs[regs[i]] = vals[i];
    return 0;
}

static int ram_reset(oflash_probe *p, bool halt)
{
    ram_target *r = p->priv;
    (void)halt;
    memset(r->regs, 0, sizeof r->regs);
    return 0;
}

static int ram_run(oflash_probe *p, oflash_stop_info *stop, const oflash_run_opts *opts)
{
    ram_target *r = p->priv;
    (void)opts;
    stop->reason = OFLASH_STOP_HALT; /* there is no core: it stops at once */
    stop->pc = r->regs[OFLASH_REG_PC];
    return 0;
}

static const char *ram_part(const oflash_probe *p)
{
    (void)p;
    return "RAM-ONLY";
}

static const oflash_probe_ops ram_ops = {
    .version = OFLASH_PROBE_OPS_VERSION,
    .name = "ram",
    .open = ram_open,
    .close = ram_close,
    .read_mem = ram_read_mem,
    .write_mem = ram_write_mem,
    .read_regs = ram_read_regs,
    .write_regs = ram_write_regs,
    .halt = NULL, /* the core is always halted */
    .reset = ram_reset,
    .run = ram_run,
    .command = NULL,
    .part = ram_part,
};

static int failures;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "custom_probe: check failed: %s (last error: %s)\n", #cond,            \
                    oflash_error_last());                                                          \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

int main(void)
{
    oflash_probe *p = NULL, *q = NULL;
    oflash_probe_stats st;
    oflash_stop_info stop;
    uint8_t out[64], in[64];
    uint32_t v = 0;

    /* Unknown before registration; the message lists the known types. */
    CHECK(oflash_probe_open(&p, "ram:4096", NULL) == OFLASH_EUNSUPPORTED);
    CHECK(strstr(oflash_error_last(), "expected sim:, gdb:") != NULL);

    CHECK(oflash_probe_register(&ram_ops) == 0);
    CHECK(oflash_probe_register(&ram_ops) == OFLASH_EINVAL); /* the name is taken */
    CHECK(strstr(oflash_error_last(), "already registered") != NULL);

    CHECK(oflash_probe_open(&p, "ram:4096", NULL) == 0);
    if (!p) return 1;
    CHECK(strcmp(oflash_probe_backend(p), "ram") == 0);
    CHECK(strcmp(oflash_probe_part(p), "RAM-ONLY") == 0);
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(0xA5 ^ i);
    CHECK(oflash_probe_write_mem(p, RAM_BASE + 100, out, sizeof out) == 0);
    CHECK(oflash_probe_read_mem(in, p, RAM_BASE + 100, sizeof in) == 0);
    CHECK(memcmp(in, out, sizeof in) == 0);
    CHECK(oflash_probe_read_u32(&v, p, RAM_BASE + 100) == 0 && v == 0xA6A7A4A5u);
    /* Outside the backend's memory: its own error comes back. */
    CHECK(oflash_probe_read_mem(in, p, RAM_BASE + 4090, 16) == OFLASH_ERANGE);
    CHECK(oflash_probe_write_reg(p, OFLASH_REG_PC, 0x20000101u) == 0);
    CHECK(oflash_probe_read_reg(&v, p, OFLASH_REG_PC) == 0 && v == 0x20000101u);
    CHECK(oflash_probe_read_reg(&v, p, 99) == OFLASH_EINVAL); /* checked before the backend */
    CHECK(oflash_probe_halt(p) == 0);                         /* NULL halt: always halted */
    CHECK(oflash_probe_run(&stop, p, NULL) == 0 && stop.pc == 0x20000101u);
    CHECK(oflash_probe_command(NULL, 0, p, "reset") == OFLASH_EUNSUPPORTED);
    oflash_probe_get_stats(&st, p);
    CHECK(st.mem_write_bytes == sizeof out && st.mem_read_bytes == sizeof in + 4);

    /* Two probes of the backend at once, each with its own state. */
    CHECK(oflash_probe_open(&q, "ram:16", NULL) == 0);
    CHECK(q && oflash_probe_read_mem(in, q, RAM_BASE + 100, 4) == OFLASH_ERANGE);
    CHECK(oflash_probe_read_mem(in, p, RAM_BASE + 100, 4) == 0);
    oflash_probe_close(q);
    CHECK(oflash_probe_open(&q, "ram:lots", NULL) == OFLASH_EINVAL && q == NULL);
    oflash_probe_close(p);

    if (failures) return 1;
    printf("custom probe backend 'ram': all checks passed\n");
    return 0;
}
