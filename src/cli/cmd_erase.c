/*
 * cmd_erase.c - oflash erase --sector N... | --all: erase main-flash
 * sectors (OTP is never erased).
 */
#include "cli.h"
#include "target.h"
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
               "  --quiet\n");
}

int cmd_erase(int argc, char **argv)
{
    cli_target ct = {0};
    unsigned nums[MAX_SECTORS];
    size_t n = 0, erased = 0;
    bool all = false;
    oflash_target *t = NULL;
    cli_progress prog;
    int ret = EXIT_FAIL;

    for (int i = 1; i < argc; i++) {
        const char *v;
        bool bad = false;
        int k = cli_target_opt(&ct, "erase", argc, argv, &i);
        if (k < 0) return EXIT_USAGE;
        if (k) continue;
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
        ret = EXIT_OK;
    }
    oflash_target_close(t);
    return ret;
}
