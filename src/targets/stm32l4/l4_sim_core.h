/*
 * l4_sim_core.h - the STM32L4 flash interface model (sim.c) seen from the
 * glue that binds it to the generic simulated chip: the model keeps its
 * registers in struct l4_flash and asks the chip for everything else
 * (non-volatile bytes, time, journal, faults) through struct l4_host.
 */
#ifndef OFLASH_TARGETS_STM32L4_SIM_CORE_H
#define OFLASH_TARGETS_STM32L4_SIM_CORE_H

#include <stdbool.h>
#include <stdint.h>

enum {
    L4_OPT_OPTR,
    L4_OPT_PCROP1SR,
    L4_OPT_PCROP1ER,
    L4_OPT_WRP1,
    L4_OPT_PCROP2SR,
    L4_OPT_PCROP2ER,
    L4_OPT_WRP2,
    L4_OPT_N
};

typedef struct l4_host {
    void *ctx;
    uint8_t *flash; /* main flash, flash_size bytes */
    uint32_t flash_size;
    uint8_t *otp;               /* L4_OTP_SIZE bytes */
    uint32_t *opt;              /* L4_OPT_N persisted option words (WRPxA/B packed, see sim.c) */
    uint64_t (*now)(void *ctx); /* simulated time, ps */
    void (*start_busy)(void *ctx, uint64_t ps, bool ok);     /* BSY for ps; ok: EOP at the end */
    bool (*busy)(void *ctx);                                 /* an operation is in progress */
    void (*stall)(void *ctx);                                /* let time pass to the end of it */
    void (*changed)(void *ctx, uint32_t addr, uint32_t len); /* bytes changed: journal, caches */
    void (*filled)(void *ctx, uint32_t addr, uint32_t len);  /* erased to 0xFF */
    void (*options_changed)(void *ctx);                      /* opt[] changed: journal */
    bool (*power_fails_now)(void *ctx); /* the power-loss fault hits this operation */
    void (*power_lost)(void *ctx);      /* after the partial effect was applied */
    bool (*fail_at)(void *ctx, uint32_t addr, uint32_t len, uint32_t *bad); /* a bad cell */
    void (*count_op)(void *ctx, int kind);          /* 0 program, 1 erase, 2 option */
    void (*bus_fault)(void *ctx, const char *what); /* stop the run: bus error */
    void (*system_reset)(void *ctx);                /* OBL_LAUNCH */
    void (*protection_changed)(void *ctx);          /* RDP level may differ now */
    unsigned (*guard)(void *ctx); /* OFLASH_SIM_GUARD_* of the session: OTP programs and
                                   * option programming fail with WRPERR */
} l4_host;

typedef struct l4_flash {
    uint32_t acr, cr, sr, eccr;
    uint32_t optr, pcrop1sr, pcrop1er, wrp1ar, wrp1br, pcrop2sr, pcrop2er, wrp2ar, wrp2br;
    uint32_t live_optr, live_wrp[4]; /* loaded at reset / OBL_LAUNCH: what protection obeys */
    int key_state, optkey_state;
    bool cr_dead, opt_dead;
    bool half; /* the first word of a double word arrived */
    uint32_t half_addr, half_lo;
    bool fast_row;      /* a fast row is being filled */
    uint32_t fast_next; /* address of the next double word of the row */
    unsigned fast_count;
    uint64_t fast_last_ps, fast_start_ps;
    unsigned mass_erased; /* bit b: bank b+1 mass-erased since (fast programming allowed) */
    bool strt_busy, opt_busy;
    uint64_t programs, erases, options;
} l4_flash;

/* The model's functions (all static in sim.c, in this order): l4_flash_reset,
 * l4_flash_reg_read, l4_flash_reg_write, l4_flash_program (a write of 1, 2,
 * 4 or 8 bytes to flash or OTP; returns the SR error bits it raised),
 * l4_flash_done (BSY cleared), l4_flash_rdp, l4_opt_byte (a byte of the
 * option-byte pages), l4_opt_factory. */

#endif
