/*
 * journal_internal.h - the executor's hooks into the recovery journal
 * (src/flash/journal.c).  Each takes the journal of oflash_flash_opts (NULL:
 * no journal, the hook does nothing) and returns 0 or a negative code with
 * the message set; a failure means the step after it must not start.
 */
#ifndef OFLASH_JOURNAL_INTERNAL_H
#define OFLASH_JOURNAL_INTERNAL_H

#include "oflash/journal.h"

/* Before the first erase: the complete new contents of every sector the
 * plan erases and whose old bytes it keeps, written and synced.  Refuses
 * when the journal still holds sectors of an interrupted run (they must be
 * restored first: oflash_journal_recover). */
int oflash__journal_before_erase(oflash_journal *j, const oflash_plan *plan);

/* After main flash verified (journaled sectors are CRC-checked here when
 * verify is none): drop the sector entries; record the plan's OTP and
 * lock-byte writes as started.  One commit for both. */
int oflash__journal_after_flash(oflash_journal *j, oflash_target *t, const oflash_plan *plan,
                                oflash_verify_mode verify);

/* After the OTP data and the lock bytes verified: drop the plan's intent;
 * the file goes when nothing is left. */
int oflash__journal_after_otp(oflash_journal *j, const oflash_plan *plan);

#endif
