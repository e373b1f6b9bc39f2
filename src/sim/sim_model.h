/*
 * sim_model.h - the hook a chip family's simulated chip plugs into.
 *
 * src/sim/ is the Unicorn glue, the chip file (base snapshot + journal), the
 * debugger's view of memory, simulated time and the peripherals every
 * modelled part shares (IWDG, CRC unit, DBGMCU, SCB).  Everything else (the
 * flash interface, option bytes, the OTP / ID page, RCC, datasheet timings)
 * is the family's model: src/targets/<family>/sim.c defines one const
 * oflash_sim_model and puts it in oflash_family_ops.sim.  src/sim/ never
 * names a family.
 *
 * A model reaches the chip through struct sim_chip (sim_internal.h): its
 * own state is c->model_state (state_size bytes, zeroed at open), the
 * persistent part is c->nv (main flash, the nv area, option words), and it
 * uses the helpers of sim_internal.h marked "for models" (journal, busy
 * time, faults, stop).  Every callback runs on the simulator's thread, with
 * the chip open; none may keep pointers into the chip past the call.
 */
#ifndef OFLASH_SIM_MODEL_H
#define OFLASH_SIM_MODEL_H

#include "oflash/device.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFLASH_SIM_MODEL_VERSION 1
#define SIM_OPT_WORDS 8   /* option words a chip file keeps */
#define SIM_MAX_WINDOWS 4 /* MMIO windows a model serves besides the peripherals */

struct sim_chip;

/* The memory map of one part (filled by oflash_sim_model.map). */
typedef struct sim_map {
    int cpu_model;        /* Unicorn UC_CPU_ARM_CORTEX_M4, _M7, ... */
    uint32_t cpuid;       /* SCB CPUID value */
    uint32_t flash_base;  /* main flash (its size is the device's flash_size_kb) */
    uint32_t flash_alias; /* where main flash also appears (boot alias; the vector
                           * table is read there at reset); 0: at 0 */
    uint32_t sram_base;   /* SRAM (its size is the device's RAM region, persisted) */
    uint32_t extra_ram_base, extra_ram_size; /* optional volatile RAM (ITCM); size 0: none */
    uint32_t sysmem_base, sysmem_size;       /* read-only system memory (reads as BKPT) */
    uint32_t nv_base, nv_size;               /* the family's non-volatile bytes besides main flash
                                              * (OTP, lock bytes): persisted, 0xFF in a new chip */
    struct {
        uint32_t base, size;    /* 1 KiB multiples: Unicorn MMIO granularity */
    } windows[SIM_MAX_WINDOWS]; /* OTP / ID page, option bytes: served by mmio_read /
                                 * mmio_write and debugger_write */
    size_t window_count;
    uint32_t iwdg_base;   /* generic peripherals, 0: absent */
    uint32_t crc_base;    /* (a model serving the address itself overrides them) */
    uint32_t dbgmcu_base; /* DBGMCU_IDCODE = dbgmcu_idcode_rev << 16 | dev_id */
    uint16_t dbgmcu_idcode_rev;
} sim_map;

typedef struct oflash_sim_model {
    unsigned version;  /* OFLASH_SIM_MODEL_VERSION */
    size_t opt_words;  /* option words persisted (<= SIM_OPT_WORDS) */
    size_t state_size; /* bytes of c->model_state */

    /* Option words of a new chip (factory values). */
    void (*factory)(const oflash_device *dev, uint32_t opt[SIM_OPT_WORDS]);
    /* The memory map of dev with these option words (boot address, ...). */
    void (*map)(const oflash_device *dev, const uint32_t opt[SIM_OPT_WORDS], sim_map *map);
    /* Power-on or system reset: the model's registers, the core clock
     * (oflash__sim_set_core_hz), a hardware watchdog (oflash__sim_iwdg_start). */
    void (*reset)(struct sim_chip *c);
    /* The operation that kept the flash busy ended now (c->busy just went
     * false): set the completion flags (EOP, ...). */
    void (*complete)(struct sim_chip *c);

    /* MMIO: an access in the peripheral space (0x40000000-0x5FFFFFFF), the
     * private peripheral bus (0xE0000000-0xE00FFFFF) or one of the map's
     * windows.  Return true when the model serves addr (*val set for a
     * read); false hands the access to the generic peripherals (or counts it
     * as unknown).  debugger: the access comes from the probe, not the
     * core (no bus faults, no side effects a debugger would not cause).
     * size 1, 2 or 4; addr is not necessarily aligned. */
    bool (*mmio_read)(struct sim_chip *c, uint32_t addr, unsigned size, bool debugger,
                      uint32_t *val);
    bool (*mmio_write)(struct sim_chip *c, uint32_t addr, unsigned size, uint32_t val,
                       bool debugger);

    /* A core store of size bytes (1, 2, 4) into main flash or the nv area:
     * program through the flash interface (AND semantics, errors in the
     * model's status register). */
    void (*cpu_program)(struct sim_chip *c, uint32_t addr, uint64_t val, unsigned size);
    /* A debugger write into main flash, the nv area or a window: 0, or an
     * error with a message (OFLASH_EPROTECTED when the interface refuses it,
     * nothing changed). */
    int (*debugger_write)(struct sim_chip *c, uint32_t addr, const uint8_t *buf, size_t n);
    /* Read protection: 0 (flash readable), 1 (the debugger cannot read
     * flash), 2 (debug port disabled: the chip cannot be opened).  why
     * receives the register value for messages ("RDP=0xBB"). */
    int (*read_protection)(const struct sim_chip *c, char *why, size_t len);

    /* For `oflash sim show` (works on a closed chip file): the option words
     * in words into text (one line: RDP, watchdog, protection registers),
     * *rdp the read protection level they give, and wrp[i] true for every
     * main-flash sector i (index in dev's first flash bank, i < nsect) they
     * write-protect.  NULL: only the raw words are shown. */
    void (*describe_options)(char *text, size_t len, int *rdp, bool *wrp, size_t nsect,
                             const oflash_device *dev, const uint32_t opt[SIM_OPT_WORDS]);

    /* The part's debug port for `oflash sim serve` (src/sim/dbg.h: TAP IDs,
     * IR lengths, AP, comparators); NULL: the family has none modelled. */
    const struct sim_dbg_desc *debug_port;
} oflash_sim_model;

#endif
