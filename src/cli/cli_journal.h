/* cli_journal.h - --journal-dir and the recovery journal of program / otp lock. */
#ifndef OFLASH_CLI_JOURNAL_H
#define OFLASH_CLI_JOURNAL_H

#include "oflash/journal.h"

#include <stdbool.h>

#define CLI_JOURNAL_HELP                                                                           \
    "  --journal-dir DIR    recovery journal directory (default $XDG_STATE_HOME/oflash,\n"         \
    "                       else ~/.local/state/oflash)\n"

/* --journal-dir is CLI_OPTS_JOURNAL (CLI_OPT_JOURNAL_DIR) in cli.h. */

/* Open the chip's journal (dir NULL: the default); refuse otp_resume on a
 * chip without unique ID; restore an interrupted run when recover is set,
 * else only say what would be restored.  0, or EXIT_FAIL with the error
 * printed (*out NULL). */
int cli_journal_open(oflash_journal **out, oflash_target *t, const char *dir, bool recover,
                     bool otp_resume);

#endif
