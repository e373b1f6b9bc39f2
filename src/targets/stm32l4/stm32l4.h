/*
 * stm32l4.h - what the host-side files of the STM32L4 family folder share:
 * the device table, the ops table and the simulated chip model
 * (stm32l4_regs.h is the register header the loader shares too).
 */
#ifndef OFLASH_TARGETS_STM32L4_H
#define OFLASH_TARGETS_STM32L4_H

#include "oflash/device.h"
#include "oflash/sys/family.h"
#include "stm32l4_regs.h"

#include <stddef.h>

extern const oflash_device oflash__stm32l4_devices[]; /* devices.c */
extern const size_t oflash__stm32l4_device_count;
extern const oflash_family_ops oflash_family_stm32l4;     /* family.c */
extern const struct oflash_sim_model oflash__stm32l4_sim; /* sim.c */

/* The embedded loader (loaders/CMakeLists.txt, from loader/). */
extern const unsigned char oflash__loader_stm32l4[];
extern const size_t oflash__loader_stm32l4_size;

/* Write protection (RM0351 §3.5.3): is page p (0..255) of a bank protected
 * by the area register value wrp (STRT 7..0, END 23..16)? */
static inline int l4_wrp_covers(uint32_t wrp, unsigned p)
{
    unsigned strt = wrp & L4_WRP_STRT_MASK, end = (wrp & L4_WRP_END_MASK) >> L4_WRP_END_SHIFT;
    return strt <= end && p >= strt && p <= end;
}

/* RDP level of an OPTR value: 0xAA level 0, 0xCC level 2, else level 1. */
static inline int l4_rdp_level(uint32_t optr)
{
    uint32_t rdp = optr & L4_OPTR_RDP_MASK;
    return rdp == L4_RDP_LEVEL0 ? 0 : rdp == L4_RDP_LEVEL2 ? 2 : 1;
}

#endif
