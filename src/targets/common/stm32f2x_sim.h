/*
 * stm32f2x_sim.h - what the simulated STM32F2/F4 and STM32F7 share (the
 * F2/F4/F7 flash interface at 0x40023C00 and the RCC with its main PLL;
 * RM0090 rev 19 §3 and §6, RM0368 rev 5 §3 and §6, RM0385 rev 8 §3 and
 * §5): the model state, the end of a busy operation, a wrong key, the RCC
 * and the core clock, a debugger write through the flash interface, and
 * the dispatch of peripheral accesses.  Each family's sim.c keeps what
 * differs: its sector layout, erase times, write protection, OTP block
 * size, option bytes and the registers' reaction to writes; it describes
 * itself to these helpers with one const stm32f2x_sim_family.
 *
 * For the family models only (src/targets/stm32f4/sim.c, stm32f7/sim.c).
 */
#ifndef OFLASH_TARGETS_STM32F2X_SIM_H
#define OFLASH_TARGETS_STM32F2X_SIM_H

#include "sim/sim_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The model's state (c->model_state, state_size = sizeof): flash
 * interface registers as software sees them, the key sequences, the
 * operation in progress, the RCC. */
typedef struct stm32f2x_sim {
    uint32_t acr, cr, sr, optcr_reg, optcr1_reg;
    int key_state; /* 0: expect KEY1, 1: expect KEY2 */
    int optkey_state;
    bool cr_dead; /* wrong key: CR locked until reset */
    bool optcr_dead;
    /* x64 parallelism: the first word of a double word written as two
     * 32-bit stores (as the core does for STRD), waiting for its pair. */
    bool x64_pending;
    uint32_t x64_addr, x64_low;
    bool strt_busy, opt_busy, eop_pending;
    uint32_t rcc[256]; /* RCC registers, by word offset */
    uint64_t hse_hz;
} stm32f2x_sim;

/* A FLASH_SR error bit and its name in messages. */
typedef struct stm32f2x_sr_name {
    uint32_t bit;
    const char *name;
} stm32f2x_sr_name;

/* How a family's model differs, for the helpers below (the family's
 * register names, from its <fam>_regs.h). */
typedef struct stm32f2x_sim_family {
    uint32_t flashif_base, rcc_base, main_base;
    uint32_t otp_base, otp_size, otp_block; /* OTP data: blocks of otp_block bytes */
    uint32_t lock_base, lock_size;          /* one lock byte per block, 0x00 = locked */
    uint32_t cr_lock, cr_pg, cr_erase /* SER | MER | bank 2 MER */, cr_eopie, cr_strt;
    uint32_t cr_psize_shift;
    uint32_t optcr_optlock, optcr_optstrt, optcr_wdg_sw;
    uint32_t sr_eop, sr_operr, sr_wrperr, sr_pgaerr, sr_pgperr, sr_bsy;
    uint64_t program_ps;              /* tprog, typical */
    uint32_t sr_seq;                  /* bit 7: PGSERR (F2/F4) or ERSERR (F7) */
    const char *sr_seq_name;          /* its name */
    const stm32f2x_sr_name *sr_names; /* the error bits in message order */
    size_t sr_name_count;
    uint32_t rcc_cr_writable;      /* RCC_CR bits software sets (oscillators, PLLs) */
    uint32_t rcc_pllcfgr_writable; /* RCC_PLLCFGR bits */

    /* The family's flash interface. */
    /* true: the main-flash byte at addr is in a write-protected sector. */
    bool (*flash_wrp)(const sim_chip *c, uint32_t addr);
    void (*reg_write)(sim_chip *c, uint32_t off, uint32_t val, unsigned size);
    /* The offset of the chip's last flash interface register (OPTCR or OPTCR1). */
    uint32_t (*reg_last)(const sim_chip *c);
    /* The OTP / ID page and the option bytes as read. */
    bool (*in_info)(const sim_chip *c, uint32_t addr);
    uint8_t (*info_byte)(sim_chip *c, uint32_t addr);
    bool (*in_opt)(const sim_chip *c, uint32_t addr);
    uint8_t (*opt_byte)(sim_chip *c, uint32_t addr);
} stm32f2x_sim_family;

/* The fields every family names alike in its <fam>_regs.h, from its
 * prefix: STM32F2X_SIM_REGS(F4) in a designated initializer. */
#define STM32F2X_SIM_REGS(P)                                                                       \
    .flashif_base = P##_FLASHIF_BASE, .rcc_base = P##_RCC_BASE, .cr_lock = P##_CR_LOCK,            \
    .cr_pg = P##_CR_PG, .cr_eopie = P##_CR_EOPIE, .cr_strt = P##_CR_STRT,                          \
    .cr_psize_shift = P##_CR_PSIZE_SHIFT, .optcr_optlock = P##_OPTCR_OPTLOCK,                      \
    .optcr_optstrt = P##_OPTCR_OPTSTRT, .sr_eop = P##_SR_EOP, .sr_operr = P##_SR_OPERR,            \
    .sr_wrperr = P##_SR_WRPERR, .sr_pgaerr = P##_SR_PGAERR, .sr_pgperr = P##_SR_PGPERR,            \
    .sr_bsy = P##_SR_BSY, .otp_base = P##_OTP_BASE, .otp_size = P##_OTP_SIZE,                      \
    .lock_base = P##_LOCK_BASE, .lock_size = P##_LOCK_SIZE

static inline stm32f2x_sim *oflash__f2x_sim(const sim_chip *c)
{
    return (stm32f2x_sim *)c->model_state;
}

/* The busy operation ended: BSY and STRT clear, EOP if it succeeded and
 * EOPIE is set. */
void oflash__f2x_sim_complete(sim_chip *c, const stm32f2x_sim_family *fam);
/* An operation of ps picoseconds starts (strt: STRT reads 1 until it
 * ends; ok: EOP at its end). */
void oflash__f2x_sim_start_busy(sim_chip *c, uint64_t ps, bool strt, bool ok);
/* A wrong key written to reg (FLASH_KEYR, or FLASH_OPTKEYR when opt): bus
 * fault, CR (OPTCR) locked until reset. */
void oflash__f2x_sim_key_fault(sim_chip *c, const stm32f2x_sim_family *fam, const char *reg,
                               uint32_t val, bool opt);
/* Reset: the flash interface registers from the option words
 * (opt[0] OPTCR, opt[1] OPTCR1), RCC at its reset values (HSI 16 MHz),
 * the hardware watchdog started when OPTCR says so. */
void oflash__f2x_sim_reset(sim_chip *c, const stm32f2x_sim_family *fam);
/* A bus write of size bytes (1, 2, 4; 8 from the debugger) to flash, OTP
 * or lock bytes: the SR error bits it raised (0 = programmed). */
uint32_t oflash__f2x_sim_program(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t addr,
                                 uint64_t val, unsigned size);
/* The FLASH register at off (ACR, SR, CR, OPTCR, OPTCR1; KEYR and OPTKEYR
 * read 0); reading SR while busy fast-forwards simulated time. */
uint32_t oflash__f2x_sim_reg_read(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t off);
/* "PGSERR|WRPERR" for the error bits of sr, in buf. */
const char *oflash__f2x_sim_sr_names(const stm32f2x_sim_family *fam, uint32_t sr, char *buf,
                                     size_t len);
/* A debugger write into flash, OTP or lock bytes: a bus write through the
 * flash interface, as OpenOCD does without a work area. */
int oflash__f2x_sim_debugger_program(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t addr,
                                     const uint8_t *buf, size_t n);
/* Model mmio_read / mmio_write: the OTP / ID page, the option bytes, the
 * flash interface and RCC (false: not ours, counted as unknown). */
bool oflash__f2x_sim_mmio_read(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t addr,
                               unsigned size, bool debugger, uint32_t *val);
bool oflash__f2x_sim_mmio_write(sim_chip *c, const stm32f2x_sim_family *fam, uint32_t addr,
                                unsigned size, uint32_t val);

#endif
