/*
 * cmd_erase.c - oflash erase --sector N... | --all: erase main-flash
 * sectors (OTP is never erased).
 */
#include "cli.h"
#include "target.h"
#include "cli_journal.h"
#include "oflash/error.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SECTORS 256

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash erase (--sector N[,M...]... | --all) --probe P [--device D]\n"
               "Erase main-flash sectors by their reference-manual numbers.\n\n" CLI_TARGET_HELP
               "  --sector N           sector number (repeatable, or a comma list)\n"
               "  --all                every sector of every flash bank\n"
               "  --quiet\n" CLI_JOURNAL_HELP);
}

/* Sectors erased on request lose what a recovery journal saved for them
 * (an interrupted run's contents must not come back over the erase). */
static int forget_erased(oflash_target *t, const char *dir, const unsigned *nums, size_t n,
                         bool all)
{
    const oflash_device *d = oflash_target_device(t);
    oflash_journal_opts jo = OFLASH_JOURNAL_OPTS_INIT;
    oflash_journal *j = NULL;
    int rc = 0;
    jo.dir = dir;
    if (oflash_journal_open(&j, t, &jo) < 0) {
        /* A journal that does not check out is not applied anyway. */
        cli_error("warning: %s", oflash_error_last());
        return EXIT_OK;
    }
    for (size_t bi = 0; bi < d->bank_count && rc == 0; bi++) {
        const oflash_bank *b = &d->banks[bi];
        if (b->kind != OFLASH_BANK_FLASH) continue;
        for (size_t si = 0; si < b->sector_count && rc == 0; si++) {
            bool pick = all;
            for (size_t k = 0; k < n && !pick; k++)
                pick = b->sectors[si].number == nums[k];
            if (pick) rc = oflash_journal_forget(j, b->sectors[si].addr, b->sectors[si].size);
        }
    }
    oflash_journal_close(j);
    return rc < 0 ? cli_fail() : EXIT_OK;
}

int cmd_erase(int argc, char **argv)
{
    cli_target ct = {0};
    unsigned nums[MAX_SECTORS];
    size_t n = 0, erased = 0;
    bool all = false;
    oflash_target *t = NULL;
    const char *journal_dir = NULL;
    cli_progress prog;
    int ret = EXIT_FAIL;

    for (int i = 1; i < argc; i++) {
        const char *v;
        bool bad = false;
        int k = cli_target_opt(&ct, "erase", argc, argv, &i);
        if (k < 0) return EXIT_USAGE;
        if (k) continue;
        if ((k = cli_journal_opt(&journal_dir, argc, argv, &i)) != 0) {
            if (k < 0) return EXIT_USAGE;
            continue;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--all")) {
            all = true;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            cli_quiet = true;
        } else if (cli_opt_value(argc, argv, &i, "--sector", &v, &bad)) {
            char buf[256], *save = NULL;
            if (bad) return EXIT_USAGE;
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                uint32_t x;
                if (!cli_parse_u32(tok, &x) || x > 0xFFFF)
                    return cli_usage("erase", "--sector '%s': expected a sector number", tok);
                if (n == MAX_SECTORS) return cli_usage("erase", "too many sectors");
                nums[n++] = x;
            }
        } else {
            return cli_usage("erase", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!all && !n) return cli_usage("erase", "say which sectors: --sector N or --all");
    if (all && n) return cli_usage("erase", "--all and --sector contradict each other: choose one");
    if ((ret = cli_target_open("erase", &ct, &t)) != 0) return ret;
    cli_progress_init(&prog, !cli_quiet);
    if (oflash_flash_erase(&erased, t, nums, n, all, cli_progress_cb, &prog) < 0) {
        ret = cli_fail();
    } else {
        if (!cli_quiet) printf("erased %zu sector%s\n", erased, erased == 1 ? "" : "s");
        ret = forget_erased(t, journal_dir, nums, n, all);
    }
    oflash_target_close(t);
    return ret;
}
