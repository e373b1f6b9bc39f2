/*
 * flm_family.h - what the shared loader code (src/targets/common/loader/,
 * see flm.h there) needs from the STM32F2/F4 loader: its register names.  The flash interface is
 * the F2/F4/F7 one (stm32f2x.h).
 */
#ifndef OFLASH_STM32F4_FLM_FAMILY_H
#define OFLASH_STM32F4_FLM_FAMILY_H

#include "../stm32f4_regs.h"

#define FLM_F2X(name) F4_##name
#define FLM_MAIN_BASE F4_FLASH_BASE
#define FLM_OTP_END (F4_OTP_BASE + F4_OTP_SIZE)
#define FLM_OPTCR_WDG_SW F4_OPTCR_WDG_SW
#define FLM_CR_MER_BANK2 F4_CR_MER1
/* 2 MB parts (F42x/F43x, F469/F479) have a second bank from +1 MB, SNB
 * bit 4; the 1.5 MB F413/F423 (DEV_ID 0x463, RM0430) is one bank of 16
 * sectors (SNB 0..15). */
#define FLM_DUAL_BANK()                                                                            \
    (flash_size() > F4_BANK2_OFFSET &&                                                             \
     ((*(volatile const uint32_t *)F4_DBGMCU_IDCODE) & 0xFFFu) != F4_DEV_ID_F413)

#include "../../common/loader/stm32f2x.h"

#endif
