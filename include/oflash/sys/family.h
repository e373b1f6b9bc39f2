/*
 * oflash/sys/family.h - for people adding a chip family.
 *
 * A family is one folder, src/targets/<family>/, and one const ops table
 * (oflash_family_ops, designated initializers, at the end of its family.c).
 * The generic layers (device database, planner, executor, loader runtime,
 * simulator) never name a family: whatever is family knowledge they ask
 * through this table.  docs/adding-a-family.md walks through adding one.
 *
 * Built-in families are listed, one line each, in src/targets/targets.c
 * (a strong const table: nothing is found through weak symbols).
 *
 * Conventions for every callback: the device passed in is one of the
 * family's (dev->family_ops == this table); callbacks that can fail return 0
 * or a negative oflash_error_code and set the message with
 * oflash_error_set(); a NULL callback means "nothing to do" as stated at the
 * field.  No callback prints or keeps a pointer to its arguments.
 */
#ifndef OFLASH_SYS_FAMILY_H
#define OFLASH_SYS_FAMILY_H

#include "oflash/common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "oflash/device.h"
#include "oflash/probe.h"

OFLASH_BEGIN_DECLS

#define OFLASH_FAMILY_OPS_VERSION 1

/* OTP rules (oflash_otp_rules) are declared in oflash/device.h. */

/* ---------------------------------------------------------------------- */
/* Identity registers: read on connect to check the part.                  */

typedef struct oflash_family_id {
    uint32_t idcode_addr;     /* DBGMCU_IDCODE (0xE0042000 on STM32) */
    uint32_t dev_id_mask;     /* DEV_ID bits of IDCODE (0xFFF) */
    uint32_t flash_size_addr; /* u16 flash size in KiB */
    uint32_t uid_addr;        /* unique ID (0: none) */
    uint32_t uid_len;         /* bytes (12 on STM32) */
} oflash_family_id;

/* The family's own flash loader, built from src/targets/<family>/loader/
 * by loaders/CMakeLists.txt and embedded as oflash__loader_<family>. */
typedef struct oflash_family_loader {
    const char *name;           /* the built-in name banks use ("stm32f4") */
    const unsigned char *image; /* FLM ELF bytes */
    const size_t *size;
} oflash_family_loader;

/* Options of a programming session the family may turn into loader
 * arguments. */
typedef struct oflash_family_session {
    bool have_psize; /* the user chose a program parallelism / voltage range */
    unsigned psize;  /* 0 x8, 1 x16, 2 x32, 3 x64 */
} oflash_family_session;

/* ---------------------------------------------------------------------- */
/* Guarded registers: flash-interface registers whose writes by a debugger */
/* unlock or change something irreversible.  A GDB server refuses memory   */
/* writes to them from its clients unless the matching opt-in was given    */
/* (the OTP area, its lock bytes and the option-byte regions themselves   */
/* are guarded through the OTP rules and the device's regions).            */

typedef enum oflash_guard_kind {
    OFLASH_GUARD_OTP = 0,     /* enables OTP programming (F2/F4: FLASH_KEYR, which unlocks
                               * main flash and OTP alike) */
    OFLASH_GUARD_OPTION_BYTES /* unlocks or changes option bytes (read and write protection) */
} oflash_guard_kind;

typedef struct oflash_guard_reg {
    const char *name; /* "FLASH_OPTKEYR", for messages */
    oflash_guard_kind kind;
    uint32_t addr;
    uint32_t size; /* bytes */
} oflash_guard_reg;

typedef struct oflash_family_crc_unit {
    uint32_t dr;         /* data register: write a word, read the CRC */
    uint32_t cr;         /* control register: 1 resets the CRC to 0xFFFFFFFF */
    uint32_t enable_reg; /* clock enable register (RCC_AHB1ENR on STM32) */
    uint32_t enable_bit; /* its bit for the unit */
} oflash_family_crc_unit;

struct oflash_sim_model; /* src/sim/sim_model.h: the family's simulated chip */
struct oflash_flm;

typedef struct oflash_family_ops {
    unsigned version;        /* OFLASH_FAMILY_OPS_VERSION */
    const char *name;        /* "stm32f4": folder and loader name, lower case */
    const char *description; /* "STM32F2/F4 (RM0033, RM0090, RM0368, RM0383)" */

    /* Built-in parts: a const table (src/targets/<family>/devices.c).  Each
     * device has family_ops = this table and may point family_data at
     * family-private data (dual bank, option byte addresses, ...). */
    const oflash_device *devices;
    const size_t *device_count; /* a const size_t beside the table */

    /* The family's own loader; name NULL: none. */
    oflash_family_loader loader;

    /* Identity registers (dev->dev_id and dev->flash_size_kb hold the
     * expected values).  idcode_addr 0: no identity check. */
    oflash_family_id id;

    /*
     * Write protection: refuse, before anything is written, to erase or
     * program the main-flash sector s of dev.  Reads the option registers
     * through probe.  sectors: the n main-flash sectors (of dev's banks)
     * the caller is about to erase or program.  Returns 0 when all may be
     * written, OFLASH_EPROTECTED with a message naming the first protected
     * sector, its range and the protecting register bits, or the probe's
     * error.  NULL: the family has no write protection oflash checks.
     */
    int (*check_protection)(const oflash_device *dev, oflash_probe *probe,
                            const oflash_sector *const *sectors, size_t n);

    /*
     * The value Init of the family's OWN loader gets in R3 (the fourth
     * argument), from the session options; 0: three arguments only.  Called
     * only when the loader being opened is the family's built-in one (never
     * for a user FLM).  NULL: 0.
     */
    uint32_t (*loader_init_arg)(const oflash_device *dev, const oflash_family_session *session);

    /*
     * Decode a non-zero result r0 of the family's OWN loader (identified by
     * the loader object, oflash_flm_family()): *code receives the error code
     * to return (OFLASH_EPROTECTED, OFLASH_ERANGE, OFLASH_ETIMEOUT or
     * OFLASH_ETARGET) and the text what went wrong, for a message.  Returns
     * a static string, never NULL.  NULL callback: results are reported as a
     * number.
     */
    const char *(*loader_result)(int *code, uint32_t r0);

    /*
     * OTP rules of dev: fill *rules and return 0; OFLASH_ENOTFOUND when dev
     * has no OTP.  NULL: no OTP rules (banks of kind OTP / OTP_LOCK still
     * get the block + lock-byte rules they declare).
     */
    int (*otp_rules)(const oflash_device *dev, oflash_otp_rules *rules);

    /*
     * Pack import: does a CMSIS-Pack device (Dvendor, Dfamily, Dname; any
     * may be NULL) belong to this family?  true when it does; *part then
     * receives the built-in part of the same name (its ID check and family
     * data apply) or NULL when only the family is known (OTP rules apply,
     * no ID check).  NULL callback: never.
     */
    bool (*pack_match)(const oflash_device **part, const char *vendor, const char *family,
                       const char *device);

    /*
     * A register-level flasher run from the host (oflash/sys/flasher.h),
     * for banks of the family's parts that have no flash loader; its ctx is
     * the oflash_target (oflash_target_probe(), oflash_target_device()).
     * NULL: every bank needs a loader.
     */
    const struct oflash_flasher_ops *host_flasher;

    /* The simulated chip (NULL: `sim:` cannot model the family's parts). */
    const struct oflash_sim_model *sim;
    /* Guarded registers (a const table; guard_count 0: none), e.g. the key
     * registers that unlock OTP and option-byte programming and the option
     * control registers.  Also option-byte areas the device's regions do not
     * list (a second bank's option bytes). */
    const oflash_guard_reg *guards;
    size_t guard_count;

    /*
     * Readout protection (include/oflash/protect.h).  rdp_get: *level
     * receives 0, 1 or 2 from the option registers read through probe.
     * rdp_set: program the level through the option-byte registers (unlock,
     * write the RDP byte, start, wait until the chip is no longer busy,
     * check the error flags and read the level back, lock again).  The
     * caller has already checked the opt-ins and that the level changes;
     * rdp_set still refuses (OFLASH_EPROTECTED) to change a chip at level 2.
     * NULL: the family has no readout protection oflash can set.
     */
    int (*rdp_get)(int *level, const oflash_device *dev, oflash_probe *probe);
    int (*rdp_set)(const oflash_device *dev, oflash_probe *probe, int level);
    /* Optional (NULL: unknown): the datasheet's typical time to erase one
     * main-flash sector of sector_size bytes, in microseconds, at the
     * default parallelism; for progress display only (oflash devices,
     * the CLI's erase bar moving within a long sector). */
    uint32_t (*erase_time_us)(const oflash_device *dev, uint32_t sector_size);

    /*
     * The part's CRC calculation unit, for the planner's one-call scan of
     * the chip (src/flash/scan.c): a unit that computes CRC-32 with poly
     * 0x04C11DB7, initial value 0xFFFFFFFF, not reflected, one 32-bit word
     * per write of its data register (dr; write 1 to cr resets it), clocked
     * by setting enable_bit in enable_reg.  dr 0: none (the planner then
     * asks the flash loader for each CRC).
     */
    oflash_family_crc_unit crc_unit;
} oflash_family_ops;

/* ---- the registry (src/targets/targets.c) ---- */

/* Built-in families, in registry order. */
size_t oflash_family_count(void);
const oflash_family_ops *oflash_family_get(size_t i);
/* By name ("stm32f4"), or NULL. */
const oflash_family_ops *oflash_family_find(const char *name);
/* The family of a CMSIS-Pack device, or NULL: *part receives the built-in
 * part it matches (may be NULL when only the family is known). */
const oflash_family_ops *oflash_family_for_pack(const oflash_device **part, const char *vendor,
                                                const char *family, const char *device);


/* The family that built flm (oflash_flm_builtin() of its loader), or NULL
 * for any other FLM. */
const oflash_family_ops *oflash_flm_family(const struct oflash_flm *flm);

OFLASH_END_DECLS
#endif
