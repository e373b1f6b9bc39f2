/*
 * runtime.c - run a CMSIS FLM on the target through the generic probe API.
 *
 * Follows the CMSIS-Pack "Flash Programming Algorithms" calling convention
 * (as Keil, pyOCD and probe-rs implement it) and SEGGER's open flash loader
 * extensions (SEGGER_OPEN_Program / _Erase / _Read / _CalcCRC):
 *   R0..R3 arguments, R9 = static base (PrgData), SP = top of a stack in
 *   work RAM, LR = BKPT trampoline | 1, PC = function | 1, xPSR = Thumb;
 *   run until the core halts on the trampoline's BKPT; the result is R0.
 *
 * Work RAM layout (see oflash_loader_layout in oflash/loader.h and
 * docs/loaders.md): trampoline, image (PrgCode | PrgData | BSS), stack with
 * a canary at its bottom, then as many page buffers as fit.
 *
 * Invariants of struct oflash_loader: lay is the layout written at open and
 * never changes; active is the fnc of the last successful Init not yet
 * matched by an UnInit (0 = none); every call leaves the core halted.
 */
#include "loader_internal.h"
#include "oflash/error.h"
#include "common/error_internal.h"
#include "oflash/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRAMP_SIZE 16u  /* BKPT #0 x 8; LR points at the first */
#define CANARY_SIZE 16u /* bottom of the stack, checked after each call */
#define DEFAULT_STACK 1024u
#define MIN_STACK 512u
#define DEFAULT_CLOCK 16000000u /* HSI after reset */
#define DEFAULT_SCALE 2u
/* Floors for timeouts: a loader call is one or two probe round trips even
 * when the FLM's own figure is tiny; FLMs with 0 get the defaults. */
#define MIN_TIMEOUT_MS 100u
#define DEFAULT_PROG_MS 1000u
#define DEFAULT_ERASE_MS 5000u
#define CALL_TIMEOUT_MS 2000u /* Init/UnInit-like calls without flash work */
/* CRC / blank check / read: 1 ms per KiB is ~60x slower than our loader at
 * 16 MHz, plus a fixed allowance. */
#define SCAN_TIMEOUT_MS(len) (1000u + (uint32_t)((len) >> 10))
#define CRC_POLY_ZLIB 0xEDB88320u
#define XPSR_THUMB 0x01000000u

static const uint8_t canary[CANARY_SIZE] = {0x5A, 0xA5, 0xC3, 0x3C, 0x0F, 0xF0, 0x96, 0x69,
                                            0xDE, 0xAD, 0xBE, 0xEF, 0xFE, 0xED, 0xFA, 0xCE};

struct oflash_loader {
    oflash_probe *probe;
    const oflash_flm *flm;
    oflash_loader_layout lay;
    uint32_t clock_hz;
    uint32_t init_arg;
    unsigned scale;
    uint32_t active;
    int crc_state; /* third-party SEGGER_OPEN_CalcCRC: 0 untested, 1 zlib-compatible, -1 not */
    oflash_loader_progress_fn progress;
    void *progress_ctx;
    oflash_loader_stats stats;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

uint32_t oflash_flm_ram_needed(const oflash_flm *flm)
{
    uint32_t a = flm->align > 8 ? flm->align : 8;
    return (uint32_t)(align_up(TRAMP_SIZE, a) + align_up(flm->image_size, 8) + DEFAULT_STACK);
}

int oflash_flm_layout(oflash_loader_layout *lay, const oflash_flm *flm,
                      const oflash_loader_opts *opts)
{
    uint64_t ram_end, p, stack;
    uint32_t a = flm->align > 8 ? flm->align : 8;
    uint32_t page = flm->dev.page_size;

    memset(lay, 0, sizeof *lay);
    if (!opts || opts->version != OFLASH_LOADER_OPTS_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "%s: loader options version %u, expected %u",
                                flm->name, opts ? opts->version : 0, OFLASH_LOADER_OPTS_VERSION);
    ram_end = (uint64_t)opts->ram_start + opts->ram_size;
    if (opts->ram_size == 0 || ram_end > 0x100000000ull)
        return oflash_error_set(OFLASH_EINVAL, "%s: work RAM 0x%08X + 0x%X is empty or wraps",
                                flm->name, opts->ram_start, opts->ram_size);
    stack = opts->stack_size ? align_up(opts->stack_size, 8) : DEFAULT_STACK;
    if (stack < MIN_STACK)
        return oflash_error_set(OFLASH_EINVAL, "%s: stack of %u bytes (expected at least %u)",
                                flm->name, opts->stack_size, MIN_STACK);
    p = align_up(opts->ram_start, 4);
    lay->trampoline = (uint32_t)p;
    p = align_up(p + TRAMP_SIZE, a);
    lay->image = (uint32_t)p;
    lay->image_size = flm->image_size;
    lay->static_base = (uint32_t)(p + flm->data_off);
    p = align_up(p + flm->image_size, 8);
    lay->stack_bottom = (uint32_t)p;
    p += stack;
    lay->stack_top = (uint32_t)p;
    lay->buffer = (uint32_t)p;
    lay->page_size = page;
    if (p + page > ram_end)
        return oflash_error_set(OFLASH_ERANGE,
                                "%s: needs %llu bytes of work RAM (trampoline %u, code+data %u, "
                                "stack %llu, one %u-byte page buffer), work RAM 0x%08X has %u",
                                flm->name, (unsigned long long)(p + page - opts->ram_start),
                                TRAMP_SIZE, flm->image_size, (unsigned long long)stack, page,
                                opts->ram_start, opts->ram_size);
    {
        /* The fault guard at the end, when one page buffer still fits. */
        uint64_t g = ram_end >= OFLASH_RUN_GUARD_SIZE
                         ? (ram_end - OFLASH_RUN_GUARD_SIZE) & ~(uint64_t)0x1FF
                         : 0;
        if (g && g >= p + page) {
            lay->guard = (uint32_t)g;
            ram_end = g;
        }
    }
    lay->page_buffers = (uint32_t)((ram_end - p) / page);
    lay->buffer_size = lay->page_buffers * page;
    return 0;
}

const oflash_loader_layout *oflash_loader_get_layout(const oflash_loader *l)
{
    return &l->lay;
}

void oflash_loader_set_progress(oflash_loader *l, oflash_loader_progress_fn fn, void *ctx)
{
    l->progress = fn;
    l->progress_ctx = ctx;
}

void oflash_loader_get_stats(oflash_loader_stats *stats, const oflash_loader *l)
{
    *stats = l->stats;
}

int oflash_loader_open(oflash_loader **out, oflash_probe *probe, const oflash_flm *flm,
                       const oflash_loader_opts *opts)
{
    oflash_loader *l;
    uint8_t *blob = NULL, *back = NULL;
    int rc;

    *out = NULL;
    l = calloc(1, sizeof *l);
    if (!l) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    rc = oflash_flm_layout(&l->lay, flm, opts);
    if (rc < 0) goto fail;
    l->probe = probe;
    l->flm = flm;
    l->clock_hz = opts->clock_hz ? opts->clock_hz : DEFAULT_CLOCK;
    l->init_arg = opts->init_arg;
    l->scale = opts->timeout_scale ? opts->timeout_scale : DEFAULT_SCALE;

    /* One write: trampoline, image, canary (all adjacent, gaps zeroed).
     * Read back only its two ends (trampoline; image tail and canary): that
     * catches a RAM address that is wrong or not RAM without moving the
     * whole image twice over a slow link. */
    uint32_t blob_len = l->lay.stack_bottom + CANARY_SIZE - l->lay.trampoline;
    blob = calloc(1, blob_len);
    back = malloc(blob_len);
    if (!blob || !back) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < TRAMP_SIZE; i += 2) {
        blob[i] = 0x00; /* BKPT #0 = 0xBE00 */
        blob[i + 1] = 0xBE;
    }
    memcpy(blob + (l->lay.image - l->lay.trampoline), flm->image, flm->image_size);
    memcpy(blob + (l->lay.stack_bottom - l->lay.trampoline), canary, CANARY_SIZE);
    uint32_t tail = blob_len - 2 * CANARY_SIZE; /* start of the second part read back */
    if (tail < TRAMP_SIZE) tail = TRAMP_SIZE;   /* a tiny image: the two parts meet */
    rc = oflash_probe_write_mem(probe, l->lay.trampoline, blob, blob_len);
    if (rc == 0) rc = oflash_probe_read_mem(back, probe, l->lay.trampoline, TRAMP_SIZE);
    if (rc == 0)
        rc = oflash_probe_read_mem(back + tail, probe, l->lay.trampoline + tail, blob_len - tail);
    if (rc < 0) {
        oflash_error_prefix("%s: loading into work RAM at 0x%08X: ", flm->name, l->lay.trampoline);
        goto fail;
    }
    for (uint32_t i = 0; i < blob_len; i++) {
        if (i == TRAMP_SIZE) i = tail; /* tail >= TRAMP_SIZE: moves forward only */
        if (blob[i] != back[i]) {
            rc = oflash_error_set(OFLASH_ETARGET,
                                  "%s: work RAM at 0x%08X reads back 0x%02X after writing 0x%02X "
                                  "(is 0x%08X..0x%08X really RAM?)",
                                  flm->name, l->lay.trampoline + i, back[i], blob[i],
                                  opts->ram_start, opts->ram_start + opts->ram_size - 1);
            goto fail;
        }
    }
    free(blob);
    free(back);
    *out = l;
    return 0;
fail:
    free(blob);
    free(back);
    free(l);
    return rc;
}

void oflash_loader_close(oflash_loader *l)
{
    if (!l) return;
    if (l->active) {
        /* Best effort (e.g. lock the flash again); the error is not reported
         * because close cannot fail, but it must not clobber an earlier one. */
        char saved[512], detail[512];
        int code = oflash_error_last_code();
        snprintf(saved, sizeof saved, "%s", oflash_error_last());
        snprintf(detail, sizeof detail, "%s", oflash_error_detail());
        oflash_loader_uninit(l, l->active);
        if (code) {
            oflash_error_set(code, "%s", saved);
            if (detail[0]) oflash__error_detail("%s", detail);
        } else {
            oflash_error_clear();
        }
    }
    free(l);
}

/* "Func(0x1, 0x2)" for messages. */
/* What a call does, in words, for the message (the call itself goes to
 * the error detail, shown with -v). */
static void human_call(char *buf, size_t len, const char *func, const uint32_t *args, size_t nargs)
{
    uint32_t a0 = nargs > 0 ? args[0] : 0, a1 = nargs > 1 ? args[1] : 0,
             a2 = nargs > 2 ? args[2] : 0;
    if (!strcmp(func, "EraseSector"))
        snprintf(buf, len, "erasing the sector at 0x%08X", a0);
    else if (!strcmp(func, "EraseChip"))
        snprintf(buf, len, "erasing the whole flash");
    else if (!strcmp(func, "ProgramPage") || !strcmp(func, "SEGGER_OPEN_Program"))
        snprintf(buf, len, "programming %u byte%s at 0x%08X", a1, a1 == 1 ? "" : "s", a0);
    else if (!strcmp(func, "SEGGER_OPEN_Erase"))
        snprintf(buf, len, "erasing %u sector%s from 0x%08X", a2, a2 == 1 ? "" : "s", a0);
    else if (!strcmp(func, "SEGGER_OPEN_Read"))
        snprintf(buf, len, "reading %u bytes at 0x%08X", a1, a0);
    else if (!strcmp(func, "SEGGER_OPEN_CalcCRC"))
        snprintf(buf, len, "computing the CRC of %u bytes at 0x%08X", a2, a1);
    else if (!strcmp(func, "BlankCheck"))
        snprintf(buf, len, "checking %u bytes at 0x%08X for blank", a1, a0);
    else if (!strcmp(func, "Verify"))
        snprintf(buf, len, "verifying %u bytes at 0x%08X", a1, a0);
    else if (!strcmp(func, "Init"))
        snprintf(buf, len, "preparing the flash interface");
    else if (!strcmp(func, "UnInit"))
        snprintf(buf, len, "releasing the flash interface");
    else
        snprintf(buf, len, "running its function %s", func);
}

static void describe_call(char *buf, size_t len, const char *func, const uint32_t *args,
                          size_t nargs)
{
    int n = snprintf(buf, len, "%s(", func);
    for (size_t i = 0; i < nargs && n > 0 && (size_t)n < len; i++)
        n += snprintf(buf + n, len - (size_t)n, "%s0x%X", i ? ", " : "", args[i]);
    if (n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, ")");
}

static uint32_t clamp_timeout(uint64_t ms)
{
    if (ms < MIN_TIMEOUT_MS) return MIN_TIMEOUT_MS;
    return ms > 0x7FFFFFFFu ? 0x7FFFFFFFu : (uint32_t)ms;
}

int oflash_loader_call(uint32_t *r0, oflash_loader *l, const char *func, const uint32_t *args,
                       size_t nargs, unsigned timeout_ms)
{
    static const int regs[] = {OFLASH_REG_R0, OFLASH_REG_R1, OFLASH_REG_R2,
                               OFLASH_REG_R3, OFLASH_REG_R9, OFLASH_REG_SP,
                               OFLASH_REG_LR, OFLASH_REG_PC, OFLASH_REG_XPSR};
    uint32_t vals[9] = {0}, off, pc;
    oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
    oflash_stop_info stop;
    char what[160], human[160];
    uint8_t back[CANARY_SIZE];
    int rc;

    if (nargs > 4)
        return oflash_error_set(OFLASH_EINVAL, "%s: %s called with %zu arguments (at most 4)",
                                l->flm->name, func, nargs);
    describe_call(what, sizeof what, func, args, nargs);
    human_call(human, sizeof human, func, args, nargs);
    rc = oflash_flm_function_offset(&off, l->flm, func);
    if (rc < 0) return rc;
    for (size_t i = 0; i < nargs; i++)
        vals[i] = args[i];
    vals[4] = l->lay.static_base;
    vals[5] = l->lay.stack_top;
    vals[6] = l->lay.trampoline | 1u;
    vals[7] = (l->lay.image + off) | 1u;
    vals[8] = XPSR_THUMB;
    ro.timeout_ms = timeout_ms ? timeout_ms : CALL_TIMEOUT_MS;
    /* Also a breakpoint on the trampoline: where BKPT does not halt the core
     * (QEMU without halting debug turns it into a HardFault), the probe
     * still stops there before executing it. */
    ro.have_break = true;
    ro.break_addr = l->lay.trampoline;
    ro.guard_ram = l->lay.guard;
    l->stats.calls++;
    rc = oflash_probe_write_regs(l->probe, regs, vals, 9);
    if (rc == 0) rc = oflash_probe_run(&stop, l->probe, &ro);
    if (rc < 0) {
        oflash_error_prefix("flash loader %s, %s: ", l->flm->name, human);
        return oflash__error_detail("%s", what);
    }
    if (stop.reason == OFLASH_STOP_TIMEOUT) {
        oflash_error_set(OFLASH_ETIMEOUT,
                         "flash loader %s: %s did not finish within %u ms (the core was halted "
                         "at pc 0x%08X)",
                         l->flm->name, human, ro.timeout_ms, stop.pc);
        return oflash__error_detail("%s did not return", what);
    }
    if (stop.reason == OFLASH_STOP_FAULT) {
        oflash_error_set(OFLASH_ETARGET, "flash loader %s faulted at pc 0x%08X while %s: %s",
                         l->flm->name, stop.pc, human, stop.detail[0] ? stop.detail : "fault");
        return oflash__error_detail("%s faulted", what);
    }
    pc = stop.pc & ~1u;
    if ((stop.reason != OFLASH_STOP_BKPT && stop.reason != OFLASH_STOP_BREAKPOINT) ||
        pc < l->lay.trampoline || pc >= l->lay.trampoline + TRAMP_SIZE) {
        static const char *const why[] = {"a BKPT", "a breakpoint", "a timeout", "a fault",
                                          "a halt"};
        oflash_error_set(OFLASH_ETARGET, "flash loader %s, %s: stopped by %s at pc 0x%08X%s%s",
                         l->flm->name, human, (unsigned)stop.reason < 5 ? why[stop.reason] : "?",
                         stop.pc, stop.detail[0] ? ": " : "", stop.detail);
        return oflash__error_detail("%s", what);
    }
    rc = oflash_probe_read_reg(r0, l->probe, OFLASH_REG_R0);
    if (rc == 0) rc = oflash_probe_read_mem(back, l->probe, l->lay.stack_bottom, CANARY_SIZE);
    if (rc < 0) {
        oflash_error_prefix("flash loader %s, after %s: ", l->flm->name, human);
        return oflash__error_detail("%s", what);
    }
    if (memcmp(back, canary, CANARY_SIZE) != 0) {
        oflash_error_set(OFLASH_ETARGET,
                         "flash loader %s overflowed its %u-byte stack while %s (canary at "
                         "0x%08X overwritten); give it a larger stack",
                         l->flm->name, l->lay.stack_top - l->lay.stack_bottom, human,
                         l->lay.stack_bottom);
        return oflash__error_detail("%s", what);
    }
    return 0;
}

/* Call function bit k; a non-zero result is an error naming the call. */
static int call_ok(oflash_loader *l, int k, const uint32_t *args, size_t nargs, uint64_t tmo)
{
    const char *func = oflash__flm_func_names[k];
    uint32_t r0 = 0;
    int rc = oflash_loader_call(&r0, l, func, args, nargs, clamp_timeout(tmo));
    if (rc < 0 || r0 == 0) return rc;
    char what[160], human[160];
    describe_call(what, sizeof what, func, args, nargs);
    human_call(human, sizeof human, func, args, nargs);
    int code = OFLASH_ETARGET;
    /* A family's own loader: the family says what its result means. */
    if (l->flm->family && l->flm->family->loader_result) {
        const char *why = l->flm->family->loader_result(&code, r0);
        oflash_error_set(code, "flash loader %s failed %s: %s (code 0x%X)", l->flm->name, human,
                         why, r0);
        return oflash__error_detail("%s returned 0x%X", what, r0);
    }
    oflash_error_set(code, "flash loader %s failed %s: it returned %d (0x%X), expected 0",
                     l->flm->name, human, (int32_t)r0, r0);
    return oflash__error_detail("%s returned %d (0x%X)", what, (int32_t)r0, r0);
}

static uint64_t prog_ms(const oflash_loader *l)
{
    uint32_t t = l->flm->dev.prog_timeout_ms;
    return (uint64_t)(t ? t : DEFAULT_PROG_MS) * l->scale;
}

static uint64_t erase_ms(const oflash_loader *l)
{
    uint32_t t = l->flm->dev.erase_timeout_ms;
    return (uint64_t)(t ? t : DEFAULT_ERASE_MS) * l->scale;
}

int oflash_loader_init(oflash_loader *l, uint32_t fnc)
{
    uint32_t a[4] = {l->flm->dev.addr, l->clock_hz, fnc, l->init_arg};
    /* Init may wait for an operation left running: allow an erase. */
    int rc = call_ok(l, 0, a, l->init_arg ? 4 : 3, erase_ms(l));
    if (rc == 0) l->active = fnc;
    return rc;
}

int oflash_loader_uninit(oflash_loader *l, uint32_t fnc)
{
    uint32_t a[1] = {fnc};
    l->active = 0;
    return call_ok(l, 1, a, 1, CALL_TIMEOUT_MS);
}

/* Make fnc the active operation (UnInit of another one first). */
static int ensure_op(oflash_loader *l, uint32_t fnc)
{
    int rc;
    if (l->active == fnc) return 0;
    if (l->active && (rc = oflash_loader_uninit(l, l->active)) < 0) return rc;
    return oflash_loader_init(l, fnc);
}

static void progress(oflash_loader *l, const char *op, uint32_t addr, uint64_t done, uint64_t total)
{
    if (l->progress) l->progress(l->progress_ctx, op, addr, done, total);
}

int oflash_loader_erase_sector(oflash_loader *l, uint32_t addr)
{
    uint32_t a[1] = {addr};
    int rc = ensure_op(l, OFLASH_FNC_ERASE);
    if (rc < 0) return rc;
    l->stats.erase_calls++;
    return call_ok(l, 2, a, 1, erase_ms(l));
}

/* Size of the FlashDevice sector holding addr, or 0 outside the device. */
static uint32_t sector_size_at(const oflash_flash_device *d, uint32_t addr)
{
    if (addr < d->addr || addr - d->addr >= d->size) return 0;
    uint32_t off = addr - d->addr, size = 0;
    for (size_t i = 0; i < d->run_count && d->runs[i].offset <= off; i++)
        size = d->runs[i].size;
    return size;
}

int oflash_loader_erase_sectors(oflash_loader *l, uint32_t addr, uint32_t sector_index, uint32_t n)
{
    int rc = ensure_op(l, OFLASH_FNC_ERASE);
    if (rc < 0 || n == 0) return rc;
    if (l->flm->funcs & OFLASH_FLM_SEGGER_ERASE) {
        uint32_t a[3] = {addr, sector_index, n};
        l->stats.erase_calls++;
        rc = call_ok(l, 8, a, 3, erase_ms(l) * n);
        if (rc == 0) progress(l, "erase", addr, n, n);
        return rc;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size = sector_size_at(&l->flm->dev, addr);
        if (size == 0)
            return oflash_error_set(OFLASH_ERANGE,
                                    "%s: sector %u of %u at 0x%08X is outside the loader's "
                                    "device 0x%08X..0x%08X",
                                    l->flm->name, i, n, addr, l->flm->dev.addr,
                                    l->flm->dev.addr + l->flm->dev.size - 1);
        rc = oflash_loader_erase_sector(l, addr);
        if (rc < 0) return rc;
        progress(l, "erase", addr, i + 1, n);
        addr += size;
    }
    return 0;
}

int oflash_loader_erase_chip(oflash_loader *l)
{
    const oflash_flash_device *d = &l->flm->dev;
    uint64_t sectors = 0;
    if (!(l->flm->funcs & OFLASH_FLM_ERASE_CHIP))
        return oflash_error_set(OFLASH_EUNSUPPORTED, "%s: the loader has no EraseChip",
                                l->flm->name);
    int rc = ensure_op(l, OFLASH_FNC_ERASE);
    if (rc < 0) return rc;
    /* A mass erase takes about as long as erasing every sector. */
    for (size_t i = 0; i < d->run_count; i++) {
        uint64_t end = i + 1 < d->run_count ? d->runs[i + 1].offset : d->size;
        sectors += (end - d->runs[i].offset + d->runs[i].size - 1) / d->runs[i].size;
    }
    l->stats.erase_calls++;
    return call_ok(l, 4, NULL, 0, erase_ms(l) * (sectors ? sectors : 1));
}

/* Bytes are padded to this unit with the erased value (x64 is the widest
 * program unit of any loader we drive; flash bank boundaries are aligned to
 * it, so padding never crosses into another bank). */
#define PAD_UNIT 8u

int oflash_loader_program(oflash_loader *l, uint32_t addr, const void *data, size_t len)
{
    const oflash_flash_device *d = &l->flm->dev;
    const uint32_t page = d->page_size;
    uint8_t *buf;
    int rc;

    if (len == 0) return 0;
    if ((uint64_t)addr + len > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE, "%s: program of %zu bytes at 0x%08X wraps",
                                l->flm->name, len, addr);
    rc = ensure_op(l, OFLASH_FNC_PROGRAM);
    if (rc < 0) return rc;

    /* Pad head and tail to PAD_UNIT with the erased value. */
    uint32_t start = addr & ~(PAD_UNIT - 1u);
    uint64_t end = align_up((uint64_t)addr + len, PAD_UNIT);
    int plain = !(l->flm->funcs & OFLASH_FLM_SEGGER_PROGRAM);
    /* Plain ProgramPage inside the device: pad the last page fully. */
    uint64_t dev_end = (uint64_t)d->addr + d->size;
    if (plain && end > d->addr && end <= dev_end) {
        uint64_t pe = d->addr + align_up(end - d->addr, page);
        end = pe < dev_end ? pe : dev_end;
    }
    if (end > 0x100000000ull) end = 0x100000000ull;
    uint64_t total = end - start;
    buf = malloc(l->lay.buffer_size);
    if (!buf) return oflash_error_set(OFLASH_ENOMEM, "out of memory");

    uint64_t done = 0;
    while (done < total) {
        uint32_t pos = (uint32_t)(start + done);
        uint32_t n =
            total - done < l->lay.buffer_size ? (uint32_t)(total - done) : l->lay.buffer_size;
        /* Fill: the caller's bytes where they are, the erased value elsewhere. */
        memset(buf, d->erased_value, n);
        uint64_t lo = pos > addr ? pos : addr, hi = (uint64_t)pos + n;
        if (hi > (uint64_t)addr + len) hi = (uint64_t)addr + len;
        if (lo < hi)
            memcpy(buf + (lo - pos), (const uint8_t *)data + (lo - addr), (size_t)(hi - lo));
        rc = oflash_probe_write_mem(l->probe, l->lay.buffer, buf, n);
        if (rc < 0) {
            oflash_error_prefix("%s: writing the page buffer at 0x%08X: ", l->flm->name,
                                l->lay.buffer);
            goto out;
        }
        if (!plain) {
            uint32_t a[3] = {pos, n, l->lay.buffer};
            l->stats.program_calls++;
            rc = call_ok(l, 7, a, 3, prog_ms(l) * ((n + page - 1) / page));
            if (rc < 0) goto out;
        } else {
            /* One ProgramPage per page (split at page boundaries). */
            uint32_t o = 0;
            while (o < n) {
                uint32_t p = pos + o;
                uint32_t rel = p - (p >= d->addr ? d->addr : 0);
                uint32_t sz = page - rel % page;
                if (sz > n - o) sz = n - o;
                uint32_t a[3] = {p, sz, l->lay.buffer + o};
                l->stats.program_calls++;
                rc = call_ok(l, 3, a, 3, prog_ms(l));
                if (rc < 0) goto out;
                o += sz;
            }
        }
        done += n;
        l->stats.bytes_programmed += n;
        progress(l, "program", pos, done, total);
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Third-party SEGGER_OPEN_CalcCRC: check once on the page buffer that it
 * computes zlib's CRC-32 the way we call it. */
static int crc_selftest(oflash_loader *l)
{
    uint8_t t[64];
    uint32_t r0;
    for (unsigned i = 0; i < sizeof t; i++)
        t[i] = (uint8_t)(i * 37 + 11);
    int rc = oflash_probe_write_mem(l->probe, l->lay.buffer, t, sizeof t);
    if (rc == 0) {
        uint32_t a[4] = {0, l->lay.buffer + 1, sizeof t - 3, CRC_POLY_ZLIB};
        rc = oflash_loader_call(&r0, l, "SEGGER_OPEN_CalcCRC", a, 4, CALL_TIMEOUT_MS);
    }
    if (rc < 0) return rc;
    l->crc_state = r0 == oflash_crc32(0, t + 1, sizeof t - 3) ? 1 : -1;
    if (l->crc_state < 0)
        oflash_log(OFLASH_LOG_WARN,
                   "flash loader %s: its CRC function does not compute zlib's CRC-32; "
                   "verifying by read-back instead",
                   l->flm->name);
    return 0;
}

#define READ_CHUNK 65536u

static int crc_readback(oflash_loader *l, uint32_t addr, uint32_t len, uint32_t *crc)
{
    uint8_t *b = malloc(READ_CHUNK);
    uint32_t c = 0, done = 0;
    int rc = 0;
    if (!b) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    while (done < len) {
        uint32_t n = len - done < READ_CHUNK ? len - done : READ_CHUNK;
        rc = oflash_probe_read_mem(b, l->probe, addr + done, n);
        if (rc < 0) break;
        c = oflash_crc32(c, b, n);
        done += n;
        progress(l, "crc", addr, done, len);
    }
    free(b);
    if (rc == 0) *crc = c;
    return rc;
}

int oflash__loader_crc_check(oflash_loader *l)
{
    int rc;
    if (!(l->flm->funcs & OFLASH_FLM_SEGGER_CRC) || l->crc_state != 0) return 0;
    if (!l->flm->family && (rc = ensure_op(l, OFLASH_FNC_VERIFY)) < 0) return rc;
    return crc_selftest(l);
}

int oflash_loader_crc32(uint32_t *crc, oflash_loader *l, uint32_t addr, uint32_t len)
{
    uint32_t r0;
    int rc;
    if ((uint64_t)addr + len > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE, "%s: CRC of %u bytes at 0x%08X wraps", l->flm->name,
                                len, addr);
    if (len == 0) {
        *crc = 0;
        return 0;
    }
    if (!(l->flm->funcs & OFLASH_FLM_SEGGER_CRC)) return crc_readback(l, addr, len, crc);
    if (!l->flm->family) { /* a family's own loader needs no Init for a CRC and is trusted */
        if ((rc = ensure_op(l, OFLASH_FNC_VERIFY)) < 0) return rc;
        if (l->crc_state == 0 && (rc = crc_selftest(l)) < 0) return rc;
    }
    /* A family loader is tested too when oflash__loader_crc_check() asked. */
    if (l->crc_state < 0) return crc_readback(l, addr, len, crc);
    uint32_t a[4] = {0, addr, len, CRC_POLY_ZLIB};
    rc = oflash_loader_call(&r0, l, "SEGGER_OPEN_CalcCRC", a, 4,
                            clamp_timeout((uint64_t)SCAN_TIMEOUT_MS(len) * l->scale));
    if (rc < 0) return rc;
    *crc = r0;
    progress(l, "crc", addr, len, len);
    return 0;
}

static bool all_equal(const uint8_t *b, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != v) return false;
    return true;
}

int oflash_loader_blank_check(bool *blank, oflash_loader *l, uint32_t addr, uint32_t len)
{
    const uint8_t ev = l->flm->dev.erased_value;
    uint32_t r0;
    int rc;
    if ((uint64_t)addr + len > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE, "%s: blank check of %u bytes at 0x%08X wraps",
                                l->flm->name, len, addr);
    *blank = true;
    if (len == 0) return 0;
    if (l->flm->funcs & OFLASH_FLM_BLANK_CHECK) {
        if (!l->flm->family && (rc = ensure_op(l, OFLASH_FNC_VERIFY)) < 0) return rc;
        uint32_t a[3] = {addr, len, ev};
        rc = oflash_loader_call(&r0, l, "BlankCheck", a, 3,
                                clamp_timeout((uint64_t)SCAN_TIMEOUT_MS(len) * l->scale));
        if (rc < 0) return rc;
        *blank = r0 == 0;
        progress(l, "blank", addr, len, len);
        return 0;
    }
    uint8_t *b = malloc(READ_CHUNK);
    if (!b) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (uint32_t done = 0; done < len && *blank;) {
        uint32_t n = len - done < READ_CHUNK ? len - done : READ_CHUNK;
        rc = oflash_probe_read_mem(b, l->probe, addr + done, n);
        if (rc < 0) {
            free(b);
            return rc;
        }
        *blank = all_equal(b, n, ev);
        done += n;
        progress(l, "blank", addr, done, len);
    }
    free(b);
    return 0;
}

int oflash_loader_read(void *buf, oflash_loader *l, uint32_t addr, size_t len)
{
    if (!(l->flm->funcs & OFLASH_FLM_SEGGER_READ))
        return oflash_probe_read_mem(buf, l->probe, addr, len);
    if ((uint64_t)addr + len > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE, "%s: read of %zu bytes at 0x%08X wraps",
                                l->flm->name, len, addr);
    size_t done = 0;
    while (done < len) {
        uint32_t n = len - done < l->lay.buffer_size ? (uint32_t)(len - done) : l->lay.buffer_size;
        uint32_t a[3] = {addr + (uint32_t)done, n, l->lay.buffer}, r0;
        int rc = oflash_loader_call(&r0, l, "SEGGER_OPEN_Read", a, 3,
                                    clamp_timeout((uint64_t)SCAN_TIMEOUT_MS(n) * l->scale));
        if (rc < 0) return rc;
        if (r0 != n) {
            oflash_error_set(OFLASH_ETARGET,
                             "flash loader %s failed reading %u bytes at 0x%08X: it read %d",
                             l->flm->name, n, a[0], (int32_t)r0);
            return oflash__error_detail("SEGGER_OPEN_Read(0x%X, 0x%X, 0x%X) returned %d", a[0],
                                        a[1], a[2], (int32_t)r0);
        }
        rc = oflash_probe_read_mem((uint8_t *)buf + done, l->probe, l->lay.buffer, n);
        if (rc < 0) return rc;
        done += n;
    }
    return 0;
}
