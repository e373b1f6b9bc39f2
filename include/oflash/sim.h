/*
 * oflash/sim.h - the simulated STM32F4 chip: state files, faults, statistics.
 *
 * A simulated chip is a file.  It holds the part (fixed when the chip is
 * created), the 96-bit unique ID, main flash, OTP data and lock bytes, the
 * option bytes, SRAM, the faults armed for later commands and the statistics
 * of the last run.  The chip is driven through the probe interface with the
 * spec "sim:PATH" (oflash/probe.h); this header is for creating and
 * inspecting chips and arming faults without running them.
 *
 * Crash safety: every completed flash operation is appended to a journal
 * inside the file (one checksummed record per operation or run of adjacent
 * programming accesses); opening replays the journal and drops a torn tail;
 * closing compacts.  A kill -9 at any moment therefore leaves each
 * operation either fully done or not done.  One process at a time may hold
 * a chip open (flock); a second open fails with OFLASH_EIO and says so.
 *
 * Model details and the manuals followed: docs/sim.md.
 */
#ifndef OFLASH_SIM_H
#define OFLASH_SIM_H

#include "oflash/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oflash/probe.h"

OFLASH_BEGIN_DECLS

#define OFLASH_SIM_UID_LEN 12      /* bytes at 0x1FFF7A10 */
#define OFLASH_SIM_OTP_BLOCKS 16   /* STM32F2/F4: 16 blocks of 32 bytes */
#define OFLASH_SIM_MAX_SECTORS 512 /* main-flash sectors (pages) oflash_sim_info holds */
#define OFLASH_SIM_OTP_MAX 1024    /* OTP data bytes oflash_sim_info holds */
#define OFLASH_SIM_LOCK_MAX 64     /* OTP lock bytes oflash_sim_info holds */

/* Create a new chip file at path for the built-in part named device (any
 * name or alias oflash_builtin_device_find() knows).  uid_hex: 24 hex digits
 * giving the unique ID bytes in address order (byte at 0x1FFF7A10 first), or
 * NULL for a random one.  Flash, OTP and lock bytes start erased (0xFF), the
 * option bytes at their factory value (OPTCR 0x0FFFAAED: RDP level 0, no
 * write protection, software watchdog).  Fails with OFLASH_EINVAL if path
 * already exists (a chip is never silently replaced), OFLASH_ENOTFOUND for an
 * unknown part. */
int oflash_sim_create(const char *path, const char *device, const char *uid_hex);

/* Faults stored in the chip file; the next command that opens the chip hits
 * them.  One-shot faults (power loss, link drop) disarm themselves when they
 * fire; fail_at stays until cleared (a bad cell stays bad). */
typedef struct oflash_sim_faults {
    bool power_loss;           /* armed: power fails during flash operation power_loss_after+1 */
    uint64_t power_loss_after; /* flash operations (program accesses, erases, option
                                  programming) that still complete before the loss */
    bool fail_at;              /* armed: any program/erase touching fail_addr fails (OPERR) */
    uint32_t fail_addr;
    bool link_drop; /* armed: the probe link drops after link_drop_after transactions */
    uint64_t link_drop_after;
} oflash_sim_faults;

/* Statistics of the last session that had the chip open (kept in the file). */
typedef struct oflash_sim_run_stats {
    uint64_t sim_time_ns;      /* simulated target time of the session */
    uint64_t cpu_insns;        /* Thumb instructions executed */
    uint64_t program_ops;      /* program accesses started */
    uint64_t erase_ops;        /* sector/mass erases started */
    uint64_t option_ops;       /* option byte programming started */
    uint64_t flash_busy_ns;    /* sum of BSY durations */
    uint64_t unknown_accesses; /* reads/writes of unmodelled peripheral addresses */
    uint32_t unknown_first;    /* address of the first such access (valid if count > 0) */
    uint64_t core_clock_hz;    /* core clock at the end of the session */
} oflash_sim_run_stats;

/* Everything `oflash sim show` prints.  Filled by oflash_sim_info(). */
typedef struct oflash_sim_info {
    char part[32]; /* canonical built-in name, "STM32F401xE" */
    uint8_t uid[OFLASH_SIM_UID_LEN];
    uint32_t flash_size; /* bytes */
    uint32_t ram_size;
    size_t sector_count;                       /* at most OFLASH_SIM_MAX_SECTORS */
    bool sector_blank[OFLASH_SIM_MAX_SECTORS]; /* per sector, all 0xFF */
    bool sector_wrp[OFLASH_SIM_MAX_SECTORS];   /* per sector, write-protected by the option bytes */
    /* OTP where the part's OTP rules put it (oflash/sys/family.h): otp_size
     * bytes at otp_base in blocks of otp_block bytes (the F4's 32-byte
     * blocks, the L4's 8-byte double words), and otp_lock_count lock bytes
     * (0: the write-once kind, no lock bytes).  otp_size 0: no OTP. */
    uint32_t otp_base, otp_size, otp_block, otp_lock_count;
    uint8_t otp[OFLASH_SIM_OTP_MAX];
    uint8_t otp_lock[OFLASH_SIM_LOCK_MAX]; /* 0xFF open, 0x00 locked, else invalid */
    uint32_t opt[8]; /* the option words the chip file keeps (the family says what they mean) */
    size_t opt_count;
    uint32_t optcr;    /* opt[0] (STM32F2/F4/F7: option bytes as FLASH_OPTCR shows them) */
    uint32_t optcr1;   /* opt[1] (F42x/F43x: nWRP of bank 2, FLASH_OPTCR1) */
    int rdp_level;     /* read protection level the option bytes give: 0, 1 or 2 */
    char options[256]; /* the option bytes in words, from the family's model ("" if none) */
    oflash_sim_faults faults;
    oflash_sim_run_stats last_run;
    uint64_t journal_records; /* records not yet compacted (0 after a clean close) */
} oflash_sim_info;

/* Read a chip file (takes the lock briefly; replays the journal in memory,
 * does not modify the file). */
int oflash_sim_info_read(oflash_sim_info *info, const char *path);

/* Store faults in the chip file (replaces what was armed).  The chip must
 * not be open elsewhere. */
int oflash_sim_set_faults(const char *path, const oflash_sim_faults *faults);

/* RDP level from an OPTCR value: 0, 1 or 2. */
int oflash_sim_rdp_level(uint32_t optcr);

/* Parse 24 hex digits into a unique ID. */
int oflash_sim_parse_uid(uint8_t uid[OFLASH_SIM_UID_LEN], const char *hex);

/* Statistics of the session of an open "sim:" probe so far (the same figures
 * that are stored as last_run when it closes).  OFLASH_EINVAL if p is not a
 * sim: probe. */
int oflash_sim_probe_stats(oflash_sim_run_stats *out, oflash_probe *p);

/* Session guards of an open "sim:" probe (not stored in the chip file; they
 * end when the probe closes).  OFLASH_SIM_GUARD_OTP: programming OTP data
 * or lock bytes fails with WRPERR, as if every block were locked, whoever
 * drives the flash interface (the debugger or code running on the core).
 * OFLASH_SIM_GUARD_OPTION_BYTES: option byte programming (OPTSTRT) fails
 * with WRPERR and the option bytes keep their value.  flags replaces the
 * guards set before.  OFLASH_EINVAL if p is not a sim: probe. */
#define OFLASH_SIM_GUARD_OTP 1u
#define OFLASH_SIM_GUARD_OPTION_BYTES 2u
/* OFLASH_SIM_GUARD_NO_CRC_UNIT: the chip has no CRC unit for the session
 * (its registers read 0 and ignore writes, as on QEMU), to exercise what
 * oflash does on a part without one. */
#define OFLASH_SIM_GUARD_NO_CRC_UNIT 4u
int oflash_sim_probe_guard(oflash_probe *p, unsigned flags);

/* sim-feed:DIR probes (a rehearsal line, docs/sim.md "Feeding boards"):
 * every open places the next board, a fresh chip file in DIR; the board
 * comes back on the next open unless its unit was reported as passed.
 * Report the unit's result before oflash_probe_close(): passed true takes
 * the board off the fixture.  OFLASH_EINVAL if p is not a sim-feed: probe. */
int oflash_sim_feed_result(oflash_probe *p, bool passed);
/* The chip file name of the board on the fixture ("chip-000007.sim",
 * inside DIR), or NULL if p is not a sim-feed: probe. */
const char *oflash_sim_feed_board(const oflash_probe *p);

OFLASH_END_DECLS
#endif
