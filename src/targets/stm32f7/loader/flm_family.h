/*
 * flm_family.h - what the shared loader code (src/targets/common/loader/,
 * see flm.h there) needs from the STM32F7 loader: its extra state and its
 * register names.  The flash interface is the F2/F4/F7 one (stm32f2x.h);
 * the F7 adds the F76x dual bank mode, found at Init.
 */
#ifndef OFLASH_STM32F7_FLM_FAMILY_H
#define OFLASH_STM32F7_FLM_FAMILY_H

#include "../stm32f7_regs.h"

/* State beyond the F2/F4/F7 one (struct flm_state in stm32f2x.h). */
#define FLM_F2X_STATE                                                                              \
    uint32_t dual; /* 1: F76x in dual bank mode (nDBANK = 0) */                                    \
    uint32_t f76x; /* 1: DEV_ID 0x451 (SNB 5 bits, MER2) */

#define FLM_F2X(name) F7_##name
#define FLM_MAIN_BASE F7_MAIN_BASE
#define FLM_OTP_END F7_OTP_END
#define FLM_OPTCR_WDG_SW F7_OPTCR_IWDG_SW
#define FLM_CR_MER_BANK2 F7_CR_MER2
#define FLM_DUAL_BANK() (st()->dual)
/* DBGMCU_IDCODE DEV_ID 0x451 is an F76x/F77x, whose OPTCR.nDBANK = 0
 * selects the dual bank layout. */
#define FLM_INIT_LAYOUT(s, optcr)                                                                  \
    do {                                                                                           \
        (s)->f76x = (REG32(F7_DBGMCU_IDCODE) & 0xFFFu) == F7_DEV_ID_F76X;                          \
        (s)->dual = (s)->f76x && !((optcr)&F7_OPTCR_NDBANK);                                       \
    } while (0)

#include "../../common/loader/stm32f2x.h"

#endif
