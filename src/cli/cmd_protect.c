/*
 * cmd_protect.c - `oflash protect [--rdp N [--yes] ...]`: show or set the
 * chip's readout protection (include/oflash/protect.h).  Without --yes a
 * change is only shown as a plan; level 2 and lowering 1 -> 0 each need
 * their own further flag.
 */
#include "cli.h"
#include "target.h"
#include "cli_json.h"
#include "oflash/error.h"
#include "oflash/protect.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash protect --probe P [--device D] [--rdp 0|1|2 [--yes]\n"
               "                      [--allow-rdp2] [--allow-mass-erase]]\n"
               "Show the chip's readout protection level, or set it.  A change is shown as\n"
               "a plan and done only with --yes.\n\n" CLI_TARGET_HELP
               "  --rdp N              set readout protection level N:\n"
               "                       1: a debugger can no longer read or write flash\n"
               "                       2: PERMANENT, the debug port is disabled for good\n"
               "                       0: from level 1, erases all of main flash\n"
               "  --yes                do it (without: show the plan only)\n"
               "  --allow-rdp2         the second opt-in level 2 needs\n"
               "  --allow-mass-erase   the opt-in lowering level 1 to 0 needs\n"
               "  --json               print the result as JSON (docs/json.md)\n");
}

enum { O_RDP = CLI_OPT_LOCAL, O_YES, O_RDP2, O_MASS };

static const struct option opts[] = {CLI_OPTS_COMMON,
                                     CLI_OPTS_JSON,
                                     CLI_OPTS_TARGET,
                                     {"rdp", required_argument, NULL, O_RDP},
                                     {"yes", no_argument, NULL, O_YES},
                                     {"allow-rdp2", no_argument, NULL, O_RDP2},
                                     {"allow-mass-erase", no_argument, NULL, O_MASS},
                                     CLI_OPTS_END};

static const char *level_words(int level)
{
    switch (level) {
    case 0:
        return "level 0 (no readout protection)";
    case 1:
        return "level 1 (a debugger cannot read or write flash)";
    default:
        return "level 2 (permanent: no debug port)";
    }
}

int cmd_protect(int argc, char **argv)
{
    cli_args a;
    cli_target ct = {0};
    oflash_target *t = NULL;
    oflash_rdp_opts o = OFLASH_RDP_OPTS_INIT;
    int c, want = -1, cur = -1, ret;
    bool yes = false;

    cli_args_init(&a, "protect", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        int k = c == CLI_ARGS_BAD ? -1 : cli_target_apply(&ct, "protect", c, a.arg);
        if (k < 0) return EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case O_RDP:
            if (strlen(a.arg) != 1 || a.arg[0] < '0' || a.arg[0] > '2')
                return cli_usage("protect", "--rdp '%s': expected 0, 1 or 2", a.arg);
            want = a.arg[0] - '0';
            break;
        case O_YES:
            yes = true;
            break;
        case O_RDP2:
            o.allow_rdp2 = true;
            break;
        case O_MASS:
            o.allow_mass_erase = true;
            break;
        }
    }
    if (a.npos) return cli_usage("protect", "unexpected argument '%s'", a.pos[0]);
    if (want < 0 && (yes || o.allow_rdp2 || o.allow_mass_erase))
        return cli_usage("protect", "--yes, --allow-rdp2 and --allow-mass-erase go with --rdp N");
    /* Refused before connecting: level 2 without its own flag. */
    if (want == 2 && !o.allow_rdp2)
        return cli_usage("protect",
                         "--rdp 2 is permanent: the chip's debug port is disabled for good and "
                         "it can never be reprogrammed by a debugger; add --allow-rdp2 as well "
                         "if that is really wanted");
    if ((ret = cli_target_open("protect", &ct, &t)) != 0) return ret;
    if (oflash_target_rdp_get(&cur, t) < 0) {
        oflash_target_close(t);
        return cli_fail_ctx("protect");
    }
    if (want < 0 || want == cur) {
        if (cli_json)
            cli_json_print(json_pack("{s:s, s:i}", "device", oflash_target_device(t)->name,
                                     "rdp_level", cur));
        else if (!cli_quiet)
            printf("readout protection: %s%s\n", level_words(cur),
                   want == cur ? "; nothing to change" : "");
        oflash_target_close(t);
        return EXIT_OK;
    }
    if (cli_json)
        cli_json_error_add("plan", json_pack("{s:i, s:i, s:b, s:b}", "rdp_level", cur,
                                             "rdp_level_planned", want, "mass_erase",
                                             cur == 1 && want == 0, "permanent", want == 2));
    else if (!cli_quiet || !yes) {
        printf("plan: readout protection %s -> %s\n", level_words(cur), level_words(want));
        if (cur == 1 && want == 0)
            printf("  this ERASES ALL OF MAIN FLASH (OTP is kept)\n");
        if (want == 1)
            printf("  going back to level 0 later erases all of main flash\n");
        if (want == 2)
            printf("  this is PERMANENT: the chip can never be debugged or reprogrammed "
                   "through its debug port again\n");
    }
    if (cur == 2) {
        oflash_target_close(t);
        cli_error_code("protected", "protect: the chip is at level 2, which is permanent");
        return EXIT_FAIL;
    }
    if (cur == 1 && want == 0 && !o.allow_mass_erase) {
        oflash_target_close(t);
        cli_error_code("confirmation_needed",
                       "protect: nothing was changed; lowering to level 0 erases all "
                       "of main flash: add --allow-mass-erase and --yes");
        return EXIT_FAIL;
    }
    if (!yes) {
        oflash_target_close(t);
        cli_error_code("confirmation_needed",
                       "protect: nothing was changed (a plan only); add --yes to set it");
        return EXIT_FAIL;
    }
    if (oflash_target_set_rdp(t, want, &o) < 0) {
        oflash_target_close(t);
        return cli_fail_ctx("protect");
    }
    if (cli_json)
        cli_json_print(json_pack("{s:s, s:i, s:i}", "device", oflash_target_device(t)->name,
                                 "rdp_level", want, "previous_rdp_level", cur));
    oflash_target_close(t);
    if (!cli_quiet && !cli_json) printf("readout protection is now %s\n", level_words(want));
    return EXIT_OK;
}
