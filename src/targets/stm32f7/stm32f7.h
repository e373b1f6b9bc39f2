/*
 * stm32f7.h - what the host-side files of the STM32F7 family folder share:
 * the family data of a part, the device table, the ops table, the
 * simulated chip model and the embedded loader.  (stm32f7_regs.h is the
 * register header the loader shares too.)
 */
#ifndef OFLASH_TARGETS_STM32F7_H
#define OFLASH_TARGETS_STM32F7_H

#include "oflash/device.h"
#include "oflash/sys/family.h"
#include "stm32f7_regs.h"

#include <stdbool.h>
#include <stddef.h>

/* oflash_device.family_data of every STM32F7 part. */
typedef struct f7_part {
    bool f76x;      /* F76x/F77x (RM0410): SNB 5 bits, MER2, nWRP[11:0], nDBANK */
    bool dual_bank; /* the entry describes the dual bank layout (OPTCR.nDBANK = 0) */
} f7_part;

static inline const f7_part *f7_part_of(const oflash_device *dev)
{
    static const f7_part f74x = {.f76x = false, .dual_bank = false};
    return dev->family_data ? (const f7_part *)dev->family_data : &f74x;
}

extern const oflash_device oflash__stm32f7_devices[]; /* devices.c */
extern const size_t oflash__stm32f7_device_count;
extern const oflash_family_ops oflash_family_stm32f7;     /* family.c */
extern const struct oflash_sim_model oflash__stm32f7_sim; /* sim.c */
extern const struct sim_dbg_desc oflash__stm32f7_debug_port; /* debug_port.c */

/* The embedded loader (loaders/CMakeLists.txt, from loader/). */
extern const unsigned char oflash__loader_stm32f7[];
extern const size_t oflash__loader_stm32f7_size;

#endif
