/*
 * oflash/journal.h - the recovery journal on the host: what a power cut or
 * a kill during `program` can destroy is written to disk first.
 *
 * Two things cannot be recomputed after a cut:
 *  - the old bytes of a flash sector that the image covers only in part
 *    ("kept" bytes): they live in the planner's memory and on the chip, and
 *    the erase destroys the chip's copy;
 *  - which OTP and lock bytes a run had started to program, with which
 *    values: a byte a cut left half programmed looks like any other value
 *    reachable by clearing bits.
 *
 * The journal holds both, in one file per chip, named after the chip's
 * 96-bit unique ID, in a directory that follows the XDG base-directory rules
 * ($XDG_STATE_HOME/oflash/, else $HOME/.local/state/oflash/) unless the
 * caller names another one.  Protocol (the executor follows it when
 * oflash_flash_opts.journal is set):
 *  1. before the first erase of a sector whose bytes must be kept, the
 *     sector's complete new contents (kept bytes + image bytes) and their
 *     CRC-32 are written to a temporary file, fsynced, renamed over the
 *     chip's journal and the directory fsynced;
 *  2. after main flash verifies (each journaled sector by CRC even with
 *     verify none), the sector entries are dropped; before the first OTP or
 *     lock-byte write, the OTP intent (chip, addresses, values) is recorded
 *     the same way;
 *  3. after the lock bytes verify, the intent is dropped and the file
 *     removed (and the directory fsynced).
 * A run that finds its chip's journal restores it before planning
 * (oflash_journal_recover): every sector entry whose sector does not hold
 * its contents is erased and programmed again, verified, then dropped; the
 * OTP intent stays until the bytes it covers are complete, and only bytes
 * it lists (same chip, address and value) may be finished by otp_resume.
 *
 * A journal that does not check out (truncated, bad CRC, another chip or
 * device, a sector the device does not have) is never applied: opening it
 * fails with OFLASH_EFORMAT naming the file and what is wrong, and the
 * file is left as it is.  Journals of other chips in the directory are
 * left alone and reported (oflash_log, OFLASH_LOG_INFO).  Messages about
 * restoring go through oflash_log at OFLASH_LOG_WARN.
 *
 * A chip with no readable unique ID gets no journal: kept bytes are then
 * not protected (a warning says so when a plan keeps bytes) and no OTP
 * write can be resumed.
 *
 * Ownership: a journal belongs to the caller and is freed with
 * oflash_journal_close(); it does not keep the target it was opened with.
 */
#ifndef OFLASH_JOURNAL_H
#define OFLASH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oflash/flash.h"

OFLASH_BEGIN_DECLS

typedef struct oflash_journal oflash_journal;

#define OFLASH_JOURNAL_UID_MAX 16 /* bytes; STM32 unique IDs are 12 */

typedef struct oflash_journal_opts {
    unsigned version; /* OFLASH_JOURNAL_OPTS_VERSION */
    const char *dir;  /* NULL: oflash_journal_default_dir() */
} oflash_journal_opts;
#define OFLASH_JOURNAL_OPTS_VERSION 1
#define OFLASH_JOURNAL_OPTS_INIT                                                                   \
    {                                                                                              \
        .version = OFLASH_JOURNAL_OPTS_VERSION                                                     \
    }

/* The default directory: $XDG_STATE_HOME/oflash when XDG_STATE_HOME is an
 * absolute path, else $HOME/.local/state/oflash.  OFLASH_EINVAL when
 * neither variable is usable, OFLASH_ERANGE when buf is too small. */
int oflash_journal_default_dir(char *buf, size_t len);

/*
 * Open the journal of the chip t is connected to: read the chip's unique
 * ID (device uid_addr; an ID of all 0x00 or all 0xFF counts as none), load
 * and check the chip's journal if there is one, remove a temporary file an
 * interrupted journal write left (no erase had started), and report the
 * journals of other chips.  Nothing is created until something must be
 * written.  Returns 0 and *out (also for a chip without ID), or
 * OFLASH_EFORMAT when the chip's journal does not check out (*out NULL).
 */
int oflash_journal_open(oflash_journal **out, oflash_target *t, const oflash_journal_opts *opts);
void oflash_journal_close(oflash_journal *j);

/* What the journal knows about the chip. */
bool oflash_journal_has_uid(const oflash_journal *j);
/* The unique ID as hex digits in address order ("" without an ID). */
const char *oflash_journal_uid_hex(const oflash_journal *j);
/* The journal file of this chip (it may not exist); "" without an ID. */
const char *oflash_journal_path(const oflash_journal *j);
/* Sector entries waiting to be restored. */
size_t oflash_journal_pending_sectors(const oflash_journal *j);

/* What oflash_journal_recover() did. */
typedef struct oflash_journal_recovery {
    size_t sectors_restored; /* erased and programmed again from the journal */
    size_t sectors_intact;   /* already held the journal's contents */
    uint64_t kept_bytes;     /* old bytes of restored sectors brought back */
    size_t otp_pending;      /* OTP/lock bytes of an interrupted write still to finish */
} oflash_journal_recovery;

/*
 * Bring the chip back to what an interrupted run was writing, before a new
 * plan is made: restore every sector entry (erase + program + verify
 * through the target's loader; a sector that already holds the contents is
 * only checked), then drop the entries; drop OTP intent entries whose byte
 * is complete or untouched; rewrite or remove the file.  Each restored
 * sector is reported through oflash_log.  A failure leaves the journal as
 * it was.  out may be NULL.
 */
int oflash_journal_recover(oflash_journal_recovery *out, oflash_journal *j, oflash_target *t);

/* Drop the sector entries inside [addr, addr+len) and rewrite (or remove)
 * the file: for sectors erased on request (oflash erase), whose saved
 * contents must not come back.  Each dropped entry is reported. */
int oflash_journal_forget(oflash_journal *j, uint32_t addr, uint32_t len);

/* The OTP and lock bytes the journal shows as started (for
 * oflash_plan_opts.otp_started); valid until the next call on j. */
void oflash_journal_otp_started(const oflash_otp_intent **list, size_t *count,
                                const oflash_journal *j);

OFLASH_END_DECLS
#endif
