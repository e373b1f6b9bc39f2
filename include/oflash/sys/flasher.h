/*
 * oflash/sys/flasher.h - the one interface the executor writes flash
 * through.
 *
 * The planner (oflash_plan_create) decides what to erase and program; the
 * executor (oflash_flash_execute) is the only code that carries a plan out,
 * and it does every erase, program and on-target CRC of main flash through
 * a flasher.  Three implementations exist:
 *  - the FLM loader runtime (oflash_flasher_flm): the bank's flash loader,
 *    downloaded to the target's RAM (the default for every bank);
 *  - a GDB server's own flash commands (oflash_flasher_server: vFlashErase,
 *    vFlashWrite, vFlashDone through oflash_server_flash);
 *  - a family's register-level host flasher, where a family needs one
 *    (oflash_family_ops.host_flasher), for banks without a loader.
 * OTP data and lock bytes always go through the bank's loader, under the
 * executor's OTP order (data, verify, then locks one byte at a time).
 *
 * Conventions: ctx first, then outputs, then inputs; every callback returns
 * 0 or a negative oflash_error_code with a message set; callbacks never
 * print.  A flasher keeps no pointer to the data it is given past the call.
 */
#ifndef OFLASH_SYS_FLASHER_H
#define OFLASH_SYS_FLASHER_H

#include "oflash/common.h"

#include <stddef.h>
#include <stdint.h>

#include "oflash/device.h"
#include "oflash/flash.h"

OFLASH_BEGIN_DECLS

#define OFLASH_FLASHER_OPS_VERSION 1

typedef struct oflash_flasher_ops {
    unsigned version; /* OFLASH_FLASHER_OPS_VERSION */
    const char *name; /* "flm", "server", or the family's name: for messages */

    /* Erase the n consecutive sectors of bank starting at first (an element
     * of bank->sectors).  Required. */
    int (*erase)(void *ctx, const oflash_bank *bank, const oflash_sector *first, size_t n);

    /* Program len bytes at addr, all inside bank and inside sectors that are
     * erased or hold only bits the data keeps (the planner's business).
     * addr and len are whole pages of the bank (bank->page_size) except at
     * the end of a sector.  Required. */
    int (*program)(void *ctx, const oflash_bank *bank, uint32_t addr, const void *data,
                   uint32_t len);

    /* CRC-32 (oflash_crc32 compatible, initial value 0) of [addr, addr+len)
     * of bank, computed where the flash is (on the target).  NULL: the
     * executor reads the range back through the probe and compares. */
    int (*crc32)(void *ctx, uint32_t *crc, const oflash_bank *bank, uint32_t addr, uint32_t len);

    /* After the last erase and program of a run, before verification: the
     * flasher finishes (a GDB server writes what it buffered).  NULL:
     * nothing to finish. */
    int (*done)(void *ctx);
} oflash_flasher_ops;

typedef struct oflash_flasher {
    const oflash_flasher_ops *ops;
    void *ctx; /* passed to every callback; owned by whoever made the flasher */
} oflash_flasher;

/* The FLM loader runtime of each bank of t's device (the loader is
 * downloaded on first use and kept while consecutive calls use it). */
void oflash_flasher_flm(oflash_flasher *out, oflash_target *t);

/* A GDB server's own flash commands (sf and t must outlive the flasher):
 * erase and program through sf; CRC through the bank's FLM loader as for
 * oflash_flasher_flm. */
typedef struct oflash_flasher_server_ctx {
    const oflash_server_flash *sf;
    oflash_target *t;
} oflash_flasher_server_ctx;
void oflash_flasher_server(oflash_flasher *out, oflash_flasher_server_ctx *ctx,
                           const oflash_server_flash *sf, oflash_target *t);

OFLASH_END_DECLS
#endif
