/*
 * stm32_optcr_rdp.h - readout protection over the probe for the STM32
 * flash interfaces whose RDP byte is FLASH_OPTCR bits 15:8, unlocked with
 * OPTKEYR and started with OPTCR.OPTSTRT (F2/F4: RM0033, RM0090, RM0368;
 * F7: RM0385, RM0410).  The families' rdp_get/rdp_set ops call these with
 * their register description.
 */
#ifndef OFLASH_TARGETS_STM32_OPTCR_RDP_H
#define OFLASH_TARGETS_STM32_OPTCR_RDP_H

#include "oflash/probe.h"

#include <stdint.h>

typedef struct stm32_optcr_regs {
    uint32_t sr, optkeyr, optcr;  /* absolute addresses */
    uint32_t optkey1, optkey2;
    uint32_t sr_bsy, sr_errors, sr_w1c, sr_wrperr;
    uint32_t optlock, optstrt;    /* OPTCR bits */
} stm32_optcr_regs;

/* 0xAA level 0, 0xCC level 2, anything else level 1. */
int oflash__stm32_rdp_of(uint32_t optcr);
int oflash__stm32_optcr_rdp_get(int *level, const stm32_optcr_regs *r, oflash_probe *probe);
/* Unlock, write the RDP byte (0xAA / 0x55 / 0xCC), OPTSTRT, wait for BSY
 * (up to 60 s: 1 -> 0 mass-erases), check SR, read the level back, lock. */
int oflash__stm32_optcr_rdp_set(const stm32_optcr_regs *r, oflash_probe *probe, int level);

#endif
