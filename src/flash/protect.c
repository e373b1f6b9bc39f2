/*
 * protect.c - readout protection of the connected chip (oflash/protect.h):
 * the opt-in checks here, the register work in the family's ops
 * (oflash_family_ops.rdp_get / rdp_set).
 */
#include "oflash/protect.h"

#include "oflash/error.h"
#include "oflash/sys/family.h"

static const oflash_family_ops *rdp_family(oflash_target *t)
{
    const oflash_device *dev = oflash_target_device(t);
    const oflash_family_ops *f = dev ? dev->family_ops : NULL;
    return f && f->rdp_get && f->rdp_set ? f : NULL;
}

static int no_rdp(oflash_target *t)
{
    const oflash_device *dev = oflash_target_device(t);
    return oflash_error_set(OFLASH_EUNSUPPORTED,
                            "%s: oflash cannot set readout protection on this part (its family "
                            "has no readout-protection support)",
                            dev && dev->name ? dev->name : "this device");
}

int oflash_target_rdp_get(int *level, oflash_target *t)
{
    const oflash_family_ops *f = rdp_family(t);
    if (!f)
        return no_rdp(t);
    return f->rdp_get(level, oflash_target_device(t), oflash_target_probe(t));
}

int oflash_target_set_rdp(oflash_target *t, int level, const oflash_rdp_opts *opts)
{
    oflash_rdp_opts o = OFLASH_RDP_OPTS_INIT;
    const oflash_family_ops *f;
    int cur = -1, rc;

    if (opts) {
        if (opts->version != OFLASH_RDP_OPTS_VERSION)
            return oflash_error_set(OFLASH_EINVAL, "oflash_rdp_opts: unsupported version %u",
                                    opts->version);
        o = *opts;
    }
    if (level < 0 || level > 2)
        return oflash_error_set(OFLASH_EINVAL,
                                "readout protection level %d does not exist (levels are 0, 1 "
                                "and 2)",
                                level);
    /* The opt-in for level 2 is checked before the chip is even asked. */
    if (level == 2 && !o.allow_rdp2)
        return oflash_error_set(OFLASH_EINVAL,
                                "readout protection level 2 is permanent: the chip's debug port "
                                "is disabled for good and it can never be reprogrammed by a "
                                "debugger; it needs its own, second opt-in (--allow-rdp2); "
                                "nothing was written");
    f = rdp_family(t);
    if (!f)
        return no_rdp(t);
    rc = f->rdp_get(&cur, oflash_target_device(t), oflash_target_probe(t));
    if (rc)
        return rc;
    if (cur == level)
        return 0;
    if (cur == 2)
        return oflash_error_set(OFLASH_EPROTECTED,
                                "the chip is at readout protection level 2, which is permanent: "
                                "its protection cannot be changed");
    if (level == 0 && !o.allow_mass_erase)
        return oflash_error_set(OFLASH_EINVAL,
                                "lowering readout protection from level 1 to 0 erases all of main "
                                "flash (OTP is kept); it needs its own opt-in; nothing was "
                                "written");
    rc = f->rdp_set(oflash_target_device(t), oflash_target_probe(t), level);
    if (rc)
        return oflash_error_prefix("setting readout protection level %d: ", level);
    oflash_log(OFLASH_LOG_INFO, "readout protection: level %d -> %d%s", cur, level,
               cur == 1 && level == 0 ? " (main flash mass-erased)" : "");
    return 0;
}
