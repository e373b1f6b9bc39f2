/*
 * stm32f4.h - what the host-side files of the STM32F2/F4 family folder
 * share: the family data of a part, the device table, the ops table and
 * the simulated chip model.  (stm32f4_regs.h is the register header the
 * loader shares too.)
 */
#ifndef OFLASH_TARGETS_STM32F4_H
#define OFLASH_TARGETS_STM32F4_H

#include "oflash/device.h"
#include "oflash/sys/family.h"
#include "stm32f4_regs.h"

#include <stdbool.h>
#include <stddef.h>

/* oflash_device.family_data of every STM32F4 part. */
typedef struct f4_part {
    bool dual_bank; /* 2 MiB F42x/F43x: SNB bit 4 selects bank 2, MER1, OPTCR1 */
} f4_part;

static inline const f4_part *f4_part_of(const oflash_device *dev)
{
    static const f4_part single = {.dual_bank = false};
    return dev->family_data ? (const f4_part *)dev->family_data : &single;
}

extern const oflash_device oflash__stm32f4_devices[]; /* devices.c */
extern const size_t oflash__stm32f4_device_count;
extern const oflash_family_ops oflash_family_stm32f4;     /* family.c */
extern const struct oflash_sim_model oflash__stm32f4_sim; /* sim.c */
extern const struct sim_dbg_desc oflash__stm32f4_debug_port; /* debug_port.c */

/* The embedded loader (loaders/CMakeLists.txt, from loader/). */
extern const unsigned char oflash__loader_stm32f4[];
extern const size_t oflash__loader_stm32f4_size;

#endif
