/*
 * uc_lazy.c - load the Unicorn engine on first use.
 *
 * libunicorn is large: linking it into the oflash executable costs every
 * command ~20 ms of relocation at start-up and ~6 MiB of memory, although
 * only the simulated chip needs it.  liboflash therefore does not link it;
 * this file defines the Unicorn functions the simulator calls, with their
 * exact prototypes from <unicorn/unicorn.h>, and forwards each to the real
 * one, which dlopen() loads the first time any of them is called.
 *
 * Invariant: after uc_lazy_load() returned true, every pointer in `fn` is
 * non-NULL.  If the library cannot be loaded, uc_open() returns UC_ERR_ARCH
 * and uc_strerror() explains why (the simulator reports both).
 */
#include <unicorn/unicorn.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#define UC_LIB "libunicorn.so.2"

static struct {
    uc_err (*open)(uc_arch, uc_mode, uc_engine **);
    uc_err (*close)(uc_engine *);
    uc_err (*query)(uc_engine *, uc_query_type, size_t *);
    uc_err (*ctl)(uc_engine *, uc_control_type, ...);
    const char *(*strerror)(uc_err);
    uc_err (*reg_write)(uc_engine *, int, const void *);
    uc_err (*reg_read)(uc_engine *, int, void *);
    uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
    uc_err (*emu_stop)(uc_engine *);
    uc_err (*hook_add)(uc_engine *, uc_hook *, int, void *, void *, uint64_t, uint64_t, ...);
    uc_err (*mem_map_ptr)(uc_engine *, uint64_t, size_t, uint32_t, void *);
    uc_err (*mmio_map)(uc_engine *, uint64_t, size_t, uc_cb_mmio_read_t, void *,
                       uc_cb_mmio_write_t, void *);
    uc_err (*mem_protect)(uc_engine *, uint64_t, size_t, uint32_t);
} fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[256];

#define SYM(field, name)                                                                   \
    do {                                                                                   \
        *(void **)&fn.field = dlsym(h, name);                                              \
        if (!fn.field) {                                                                   \
            snprintf(load_error, sizeof load_error, "%s: no symbol %s", UC_LIB, name);     \
            return;                                                                        \
        }                                                                                  \
    } while (0)

static void load(void)
{
    void *h = dlopen(UC_LIB, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof load_error,
                 "cannot load the Unicorn engine (%s; install libunicorn2)", dlerror());
        return;
    }
    SYM(open, "uc_open");
    SYM(close, "uc_close");
    SYM(query, "uc_query");
    SYM(ctl, "uc_ctl");
    SYM(strerror, "uc_strerror");
    SYM(reg_write, "uc_reg_write");
    SYM(reg_read, "uc_reg_read");
    SYM(emu_start, "uc_emu_start");
    SYM(emu_stop, "uc_emu_stop");
    SYM(hook_add, "uc_hook_add");
    SYM(mem_map_ptr, "uc_mem_map_ptr");
    SYM(mmio_map, "uc_mmio_map");
    SYM(mem_protect, "uc_mem_protect");
    loaded = 1;
}

static int uc_lazy_load(void)
{
    pthread_once(&once, load);
    return loaded;
}

uc_err uc_open(uc_arch arch, uc_mode mode, uc_engine **uc)
{
    if (!uc_lazy_load())
        return UC_ERR_ARCH;
    return fn.open(arch, mode, uc);
}

const char *uc_strerror(uc_err code)
{
    if (!uc_lazy_load())
        return load_error;
    return fn.strerror(code);
}

/* The functions below take an engine, which only uc_open() makes, so the
 * library is loaded when they are called. */
uc_err uc_close(uc_engine *uc)
{
    return fn.close(uc);
}

uc_err uc_query(uc_engine *uc, uc_query_type type, size_t *result)
{
    return fn.query(uc, type, result);
}

/* uc_ctl is variadic: forward the controls the simulator uses with the
 * argument types Unicorn reads for them (uc.c, uc_ctl()). */
uc_err uc_ctl(uc_engine *uc, uc_control_type control, ...)
{
    unsigned type = (unsigned)control & ((1u << 26) - 1);
    uc_err e;
    va_list ap;
    va_start(ap, control);
    switch (type) {
    case UC_CTL_CPU_MODEL: {
        int model = va_arg(ap, int);
        e = fn.ctl(uc, control, model);
        break;
    }
    case UC_CTL_TB_REMOVE_CACHE: {
        uint64_t begin = va_arg(ap, uint64_t), end = va_arg(ap, uint64_t);
        e = fn.ctl(uc, control, begin, end);
        break;
    }
    default:
        e = UC_ERR_ARG; /* not used by oflash */
        break;
    }
    va_end(ap);
    return e;
}

uc_err uc_reg_write(uc_engine *uc, int regid, const void *value)
{
    return fn.reg_write(uc, regid, value);
}

uc_err uc_reg_read(uc_engine *uc, int regid, void *value)
{
    return fn.reg_read(uc, regid, value);
}

uc_err uc_emu_start(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)
{
    return fn.emu_start(uc, begin, until, timeout, count);
}

uc_err uc_emu_stop(uc_engine *uc)
{
    return fn.emu_stop(uc);
}

/* Only hook types without extra arguments are used (no UC_HOOK_INSN). */
uc_err uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data,
                   uint64_t begin, uint64_t end, ...)
{
    if (type & UC_HOOK_INSN)
        return UC_ERR_ARG;
    return fn.hook_add(uc, hh, type, callback, user_data, begin, end);
}

uc_err uc_mem_map_ptr(uc_engine *uc, uint64_t address, size_t size, uint32_t perms, void *ptr)
{
    return fn.mem_map_ptr(uc, address, size, perms, ptr);
}

uc_err uc_mmio_map(uc_engine *uc, uint64_t address, size_t size, uc_cb_mmio_read_t read_cb,
                   void *user_data_read, uc_cb_mmio_write_t write_cb, void *user_data_write)
{
    return fn.mmio_map(uc, address, size, read_cb, user_data_read, write_cb, user_data_write);
}

uc_err uc_mem_protect(uc_engine *uc, uint64_t address, size_t size, uint32_t perms)
{
    return fn.mem_protect(uc, address, size, perms);
}
