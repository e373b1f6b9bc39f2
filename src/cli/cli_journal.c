/*
 * cli_journal.c - the recovery journal in the commands that write flash or
 * OTP (program, otp lock): --journal-dir, opening the chip's journal and
 * restoring what an interrupted run left before anything is planned.  The
 * library reports through oflash_log (printed by main.c).
 */
#include "cli_journal.h"
#include "cli.h"
#include "oflash/error.h"
#include "oflash/sys/family.h"

#include <string.h>

int cli_journal_open(oflash_journal **out, oflash_target *t, const char *dir, bool recover,
                     bool otp_resume)
{
    oflash_journal_opts jo = OFLASH_JOURNAL_OPTS_INIT;
    const oflash_device *d = oflash_target_device(t);
    jo.dir = dir;
    *out = NULL;
    if (oflash_journal_open(out, t, &jo) < 0) return cli_fail();
    if (otp_resume && !oflash_journal_has_uid(*out)) {
        cli_error("--otp-resume refused: the connected %s has no readable unique ID%s, so no "
                  "recovery journal can show that an interrupted run started these OTP writes on "
                  "this chip; nothing was written",
                  d->name,
                  d->family_ops && d->family_ops->id.uid_addr
                      ? ""
                      : " (its description names no unique ID register)");
        oflash_journal_close(*out);
        *out = NULL;
        return EXIT_FAIL;
    }
    if (recover && oflash_journal_recover(NULL, *out, t) < 0) {
        cli_fail();
        oflash_journal_close(*out);
        *out = NULL;
        return EXIT_FAIL;
    }
    if (!recover && oflash_journal_pending_sectors(*out))
        cli_error("note: the recovery journal %s holds %zu sector%s an interrupted run left "
                  "incomplete; the next program run restores %s before anything else (this plan "
                  "reads the chip as it is now)",
                  oflash_journal_path(*out), oflash_journal_pending_sectors(*out),
                  oflash_journal_pending_sectors(*out) == 1 ? "" : "s",
                  oflash_journal_pending_sectors(*out) == 1 ? "it" : "them");
    return 0;
}
