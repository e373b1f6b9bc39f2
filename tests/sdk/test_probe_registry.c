/*
 * test_probe_registry.c - oflash_probe_register() from many threads at once
 * (public API only, linked with liboflash.a): every registration lands
 * exactly once, each thread opens its own backend while others register,
 * the registry holds OFLASH_PROBE_MAX_BACKENDS and refuses one more, and
 * invalid tables are refused with a message saying why.
 */
#include <oflash/error.h>
#include <oflash/probe.h>
#include <oflash/sys/probe.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8

static int failures;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            pthread_mutex_lock(&fail_lock);                                                        \
            fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond,           \
                    oflash_error_last());                                                          \
            failures++;                                                                            \
            pthread_mutex_unlock(&fail_lock);                                                      \
        }                                                                                          \
    } while (0)

static int t_open(oflash_probe *p, const char *arg, const oflash_probe_opts *o)
{
    (void)o;
    p->priv = strdup(arg);
    return p->priv ? 0 : OFLASH_ENOMEM;
}
static void t_close(oflash_probe *p)
{
    free(p->priv);
}
static int t_read_mem(oflash_probe *p, void *buf, uint32_t addr, size_t len)
{
    (void)p;
    memset(buf, (int)(addr & 0xFF), len);
    return 0;
}
static int t_write_mem(oflash_probe *p, uint32_t addr, const void *buf, size_t len)
{
    (void)p, (void)addr, (void)buf, (void)len;
    return 0;
}
static int t_read_regs(oflash_probe *p, uint32_t *vals, const int *regs, size_t n)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        vals[i] = (uint32_t)regs[i];
    return 0;
}
static int t_write_regs(oflash_probe *p, const int *regs, const uint32_t *vals, size_t n)
{
    (void)p, (void)regs, (void)vals, (void)n;
    return 0;
}
static int t_reset(oflash_probe *p, bool halt)
{
    (void)p, (void)halt;
    return 0;
}
static int t_run(oflash_probe *p, oflash_stop_info *stop, const oflash_run_opts *o)
{
    (void)p, (void)o;
    stop->reason = OFLASH_STOP_HALT;
    return 0;
}

#define OPS(nm)                                                                                    \
    {                                                                                              \
        .version = OFLASH_PROBE_OPS_VERSION, .name = nm, .open = t_open, .close = t_close,         \
        .read_mem = t_read_mem, .write_mem = t_write_mem, .read_regs = t_read_regs,                \
        .write_regs = t_write_regs, .reset = t_reset, .run = t_run,                                \
    }
static const oflash_probe_ops thread_ops[THREADS] = {OPS("t0"), OPS("t1"), OPS("t2"), OPS("t3"),
                                                     OPS("t4"), OPS("t5"), OPS("t6"), OPS("t7")};
static const oflash_probe_ops more_ops[] = {OPS("m0"), OPS("m1"), OPS("m2"), OPS("m3"), OPS("m4"),
                                            OPS("m5"), OPS("m6"), OPS("m7"), OPS("m8")};

static void *worker(void *arg)
{
    const oflash_probe_ops *ops = arg;
    char spec[32];
    uint8_t b[4];
    oflash_probe *p = NULL;
    CHECK(oflash_probe_register(ops) == 0);
    snprintf(spec, sizeof spec, "%s:arg", ops->name);
    for (int i = 0; i < 200; i++) {
        CHECK(oflash_probe_open(&p, spec, NULL) == 0);
        if (!p) break;
        CHECK(strcmp(oflash_probe_backend(p), ops->name) == 0);
        CHECK(oflash_probe_read_mem(b, p, 0x20000042u, sizeof b) == 0 && b[3] == 0x42);
        oflash_probe_close(p);
    }
    return NULL;
}

int main(void)
{
    pthread_t th[THREADS];
    size_t builtin = oflash_probe_backend_count(), n;
    oflash_probe_ops bad = OPS("bad");

    /* Invalid tables: refused, registry unchanged. */
    bad.version = OFLASH_PROBE_OPS_VERSION + 1;
    CHECK(oflash_probe_register(&bad) == OFLASH_EINVAL && strstr(oflash_error_last(), "version"));
    bad.version = OFLASH_PROBE_OPS_VERSION;
    bad.run = NULL;
    CHECK(oflash_probe_register(&bad) == OFLASH_EINVAL &&
          strstr(oflash_error_last(), "required callback run"));
    bad.run = t_run;
    bad.name = "has:colon";
    CHECK(oflash_probe_register(&bad) == OFLASH_EINVAL);
    bad.name = "sim";
    CHECK(oflash_probe_register(&bad) == OFLASH_EINVAL && strstr(oflash_error_last(), "built in"));
    CHECK(oflash_probe_register(NULL) == OFLASH_EINVAL);
    CHECK(oflash_probe_backend_count() == builtin);

    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)&thread_ops[i]) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK(oflash_probe_backend_count() == builtin + THREADS);
    for (int i = 0; i < THREADS; i++) {
        int seen = 0;
        for (size_t k = 0; k < oflash_probe_backend_count(); k++)
            seen += oflash_probe_backend_get(k) == &thread_ops[i];
        CHECK(seen == 1);
    }
    CHECK(oflash_probe_backend_get(oflash_probe_backend_count()) == NULL);

    /* Fill the registry; one more is refused. */
    n = 0;
    while (oflash_probe_backend_count() < builtin + OFLASH_PROBE_MAX_BACKENDS)
        CHECK(oflash_probe_register(&more_ops[n++]) == 0);
    CHECK(oflash_probe_register(&more_ops[n]) == OFLASH_ENOMEM);
    CHECK(oflash_probe_backend_count() == builtin + OFLASH_PROBE_MAX_BACKENDS);

    if (failures) return 1;
    printf("probe registry: %d threads registered and opened their backends; %d entries, "
           "one more refused\n",
           THREADS, OFLASH_PROBE_MAX_BACKENDS);
    return 0;
}
