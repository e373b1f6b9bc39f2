/*
 * oflash/protect.h - readout protection (RDP) of the connected chip.
 *
 * Levels as on STM32 (RM0090 §3.7.3, RM0368 §3.6.3):
 *   0  no protection;
 *   1  a debugger can no longer read, erase or program flash; lowering the
 *      level back to 0 mass-erases the main flash (OTP is kept);
 *   2  permanent: the debug port is disabled for good and the option bytes
 *      can never be changed again.
 * Raising the level is irreversible in practice, so each step needs its
 * own opt-in in oflash_rdp_opts, checked before anything is written.
 */
#ifndef OFLASH_PROTECT_H
#define OFLASH_PROTECT_H

#include "oflash/common.h"
#include "oflash/flash.h"

#include <stdbool.h>

OFLASH_BEGIN_DECLS

typedef struct oflash_rdp_opts {
    unsigned version;      /* OFLASH_RDP_OPTS_VERSION */
    bool allow_rdp2;       /* second, explicit opt-in: level 2 is permanent */
    bool allow_mass_erase; /* lowering level 1 to 0 erases all of main flash */
} oflash_rdp_opts;
#define OFLASH_RDP_OPTS_VERSION 1
#define OFLASH_RDP_OPTS_INIT                                                                       \
    {                                                                                              \
        .version = OFLASH_RDP_OPTS_VERSION                                                         \
    }

/* The chip's readout protection level (0, 1 or 2) from its option
 * registers.  OFLASH_EUNSUPPORTED when the part's family has no RDP. */
int oflash_target_rdp_get(int *level, oflash_target *t);

/* Set readout protection to level (0, 1 or 2) through the option-byte
 * registers and wait until the chip has programmed them.  Refused before
 * anything is written: level 2 without opts->allow_rdp2, 1 -> 0 without
 * opts->allow_mass_erase, any change of a chip at level 2, a part whose
 * family has no readout protection.  The same level again writes nothing.
 * opts may be NULL (no opt-ins: levels 0 -> 1 and same-level only). */
int oflash_target_set_rdp(oflash_target *t, int level, const oflash_rdp_opts *opts);

OFLASH_END_DECLS
#endif
