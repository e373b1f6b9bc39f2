/*
 * uc_lazy.c - the Unicorn functions the simulator calls, loaded with
 * dlopen() on first use (see src/common/lazylib.h).
 *
 * libunicorn is large: linked into the oflash executable it cost every
 * command ~20 ms of relocations at start-up and ~6 MiB of memory, although
 * only the simulated chip needs it.  Prototypes come from
 * <unicorn/unicorn.h>, so a mismatch is a compile error.  If the library
 * cannot be loaded, uc_open() returns UC_ERR_ARCH and uc_strerror() says
 * why; the simulator reports both.
 */
#include <unicorn/unicorn.h>

#include <stdarg.h>

#include "common/lazylib.h"

static oflash_lazylib ucl = OFLASH_LAZYLIB_INIT("libunicorn.so.2", "libunicorn2");

OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_ARCH, uc_open, (uc_arch arch, uc_mode mode, uc_engine **uc),
               (arch, mode, uc))
OFLASH_LAZY_FN(ucl, const char *, oflash__lazylib_error(&ucl), uc_strerror, (uc_err code), (code))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_close, (uc_engine * uc), (uc))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_query,
               (uc_engine * uc, uc_query_type type, size_t *result), (uc, type, result))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_reg_write,
               (uc_engine * uc, int regid, const void *value), (uc, regid, value))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_reg_read, (uc_engine * uc, int regid, void *value),
               (uc, regid, value))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_emu_start,
               (uc_engine * uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count),
               (uc, begin, until, timeout, count))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_emu_stop, (uc_engine * uc), (uc))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_mem_map_ptr,
               (uc_engine * uc, uint64_t address, size_t size, uint32_t perms, void *ptr),
               (uc, address, size, perms, ptr))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_mmio_map,
               (uc_engine * uc, uint64_t address, size_t size, uc_cb_mmio_read_t read_cb,
                void *user_data_read, uc_cb_mmio_write_t write_cb, void *user_data_write),
               (uc, address, size, read_cb, user_data_read, write_cb, user_data_write))
OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_mem_protect,
               (uc_engine * uc, uint64_t address, size_t size, uint32_t perms),
               (uc, address, size, perms))

OFLASH_LAZY_FN(ucl, uc_err, UC_ERR_HANDLE, uc_hook_del, (uc_engine * uc, uc_hook hh), (uc, hh))

/* Variadic: only hook types without extra arguments are used (no
 * UC_HOOK_INSN), so the fixed arguments are forwarded. */
uc_err uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data,
                   uint64_t begin, uint64_t end, ...)
{
    uc_err (*f)(uc_engine *, uc_hook *, int, void *, void *, uint64_t, uint64_t, ...);
    if (type & UC_HOOK_INSN)
        return UC_ERR_ARG;
    *(void **)&f = oflash__lazylib_sym(&ucl, "uc_hook_add");
    return f ? f(uc, hh, type, callback, user_data, begin, end) : UC_ERR_HANDLE;
}

/* Variadic: forward the controls the simulator uses with the argument
 * types Unicorn reads for them (uc_ctl() in Unicorn's uc.c). */
uc_err uc_ctl(uc_engine *uc, uc_control_type control, ...)
{
    uc_err (*f)(uc_engine *, uc_control_type, ...);
    unsigned type = (unsigned)control & ((1u << 26) - 1);
    uc_err e = UC_ERR_ARG;
    va_list ap;
    *(void **)&f = oflash__lazylib_sym(&ucl, "uc_ctl");
    if (!f)
        return UC_ERR_HANDLE;
    va_start(ap, control);
    if (type == UC_CTL_CPU_MODEL) {
        int model = va_arg(ap, int);
        e = f(uc, control, model);
    } else if (type == UC_CTL_TB_REMOVE_CACHE) {
        uint64_t begin = va_arg(ap, uint64_t), end = va_arg(ap, uint64_t);
        e = f(uc, control, begin, end);
    }
    va_end(ap);
    return e;
}
