/*
 * flasher.c - the built-in flashers (oflash/sys/flasher.h): the FLM loader
 * runtime of each bank, and a GDB server's own flash commands.  The
 * executor (execute.c) picks one per bank and writes main flash only
 * through it.
 */
#include "flash_internal.h"
#include "oflash/error.h"
#include "oflash/sys/flasher.h"

/* ---- FLM loader runtime ---- */

static int flm_erase(void *ctx, const oflash_bank *bank, const oflash_sector *first, size_t n)
{
    oflash_loader *l;
    int rc = oflash__target_loader(ctx, bank, OFLASH_FNC_ERASE, &l);
    if (rc < 0) return rc;
    /* One call for the run when the loader can erase several sectors
     * (SEGGER_OPEN_Erase). */
    return oflash_loader_erase_sectors(l, first->addr, (uint32_t)(first - bank->sectors),
                                       (uint32_t)n);
}

static int flm_program(void *ctx, const oflash_bank *bank, uint32_t addr, const void *data,
                       uint32_t len)
{
    oflash_loader *l;
    int rc = oflash__target_loader(ctx, bank, OFLASH_FNC_PROGRAM, &l);
    if (rc < 0) return rc;
    return oflash_loader_program(l, addr, data, len);
}

static int flm_crc32(void *ctx, uint32_t *crc, const oflash_bank *bank, uint32_t addr, uint32_t len)
{
    oflash_loader *l;
    int rc = oflash__target_loader(ctx, bank, OFLASH_FNC_VERIFY, &l);
    if (rc < 0) return rc;
    return oflash_loader_crc32(crc, l, addr, len);
}

static const oflash_flasher_ops flm_ops = {
    .version = OFLASH_FLASHER_OPS_VERSION,
    .name = "flm",
    .erase = flm_erase,
    .program = flm_program,
    .crc32 = flm_crc32,
    .done = NULL,
};

void oflash_flasher_flm(oflash_flasher *out, oflash_target *t)
{
    out->ops = &flm_ops;
    out->ctx = t;
}

/* ---- a GDB server's flash (vFlash) ---- */

static int server_erase(void *ctx, const oflash_bank *bank, const oflash_sector *first, size_t n)
{
    const oflash_flasher_server_ctx *c = ctx;
    uint64_t len = 0;
    (void)bank;
    for (size_t i = 0; i < n; i++)
        len += first[i].size;
    return c->sf->erase(c->sf->ctx, first->addr, (uint32_t)len);
}

static int server_program(void *ctx, const oflash_bank *bank, uint32_t addr, const void *data,
                          uint32_t len)
{
    const oflash_flasher_server_ctx *c = ctx;
    (void)bank;
    return c->sf->write(c->sf->ctx, addr, data, len);
}

static int server_crc32(void *ctx, uint32_t *crc, const oflash_bank *bank, uint32_t addr,
                        uint32_t len)
{
    const oflash_flasher_server_ctx *c = ctx;
    return flm_crc32(c->t, crc, bank, addr, len);
}

static int server_done(void *ctx)
{
    const oflash_flasher_server_ctx *c = ctx;
    if (c->sf->done(c->sf->ctx) < 0)
        return oflash_error_prefix("finishing the server's flash write: ");
    return 0;
}

static const oflash_flasher_ops server_ops = {
    .version = OFLASH_FLASHER_OPS_VERSION,
    .name = "server",
    .erase = server_erase,
    .program = server_program,
    .crc32 = server_crc32,
    .done = server_done,
};

void oflash_flasher_server(oflash_flasher *out, oflash_flasher_server_ctx *ctx,
                           const oflash_server_flash *sf, oflash_target *t)
{
    ctx->sf = sf;
    ctx->t = t;
    out->ops = &server_ops;
    out->ctx = ctx;
}
