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
               "  --json               print the result as JSON\n"
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

static uint64_t sector_size(const oflash_device *d, unsigned number)
{
    for (size_t b = 0; b < d->bank_count; b++)
        if (d->banks[b].kind == OFLASH_BANK_FLASH)
            for (size_t k = 0; k < d->banks[b].sector_count; k++)
                if (d->banks[b].sectors[k].number == number) return d->banks[b].sectors[k].size;
    return 0;
}

enum { O_ALL = CLI_OPT_LOCAL, O_SECTOR };

static const struct option opts[] = {CLI_OPTS_COMMON,
                                     CLI_OPTS_JSON,
                                     CLI_OPTS_TARGET,
                                     CLI_OPTS_JOURNAL,
                                     {"all", no_argument, NULL, O_ALL},
                                     {"sector", required_argument, NULL, O_SECTOR},
                                     CLI_OPTS_END};

int cmd_erase(int argc, char **argv)
{
    cli_args a;
    int c;
    uint64_t total = 0, done = 0;
    cli_target ct = {0};
    unsigned nums[MAX_SECTORS];
    size_t n = 0, erased = 0;
    bool all = false;
    oflash_target *t = NULL;
    const char *journal_dir = NULL;
    cli_progress prog;
    int ret = EXIT_FAIL;

    cli_args_init(&a, "erase", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        int k = c == CLI_ARGS_BAD ? -1 : cli_target_apply(&ct, "erase", c, a.arg);
        if (k < 0) return EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case CLI_OPT_JOURNAL_DIR:
            journal_dir = a.arg;
            break;
        case O_ALL:
            all = true;
            break;
        case O_SECTOR: {
            char buf[256], *save = NULL;
            snprintf(buf, sizeof buf, "%s", a.arg);
            for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                uint32_t x;
                if (!cli_parse_u32(tok, &x) || x > 0xFFFF)
                    return cli_usage("erase", "--sector '%s': expected a sector number", tok);
                if (n == MAX_SECTORS) return cli_usage("erase", "too many sectors");
                nums[n++] = x;
            }
            break;
        }
        }
    }
    if (a.npos) return cli_usage("erase", "unexpected argument '%s'", a.pos[0]);
    if (!all && !n) return cli_usage("erase", "say which sectors: --sector N or --all");
    if (all && n) return cli_usage("erase", "--all and --sector contradict each other: choose one");
    if ((ret = cli_target_open("erase", &ct, &t)) != 0) return ret;
    if (all) {
        /* One sector per call, so that Ctrl-C stops between two sectors. */
        const oflash_device *d = oflash_target_device(t);
        for (size_t b = 0; b < d->bank_count; b++)
            if (d->banks[b].kind == OFLASH_BANK_FLASH)
                for (size_t k = 0; k < d->banks[b].sector_count && n < MAX_SECTORS; k++)
                    nums[n++] = d->banks[b].sectors[k].number;
    }
    cli_progress_init(&prog, !cli_quiet && !cli_json);
    cli_progress_target(&prog, t);
    cli_interrupt_install();
    {
        const oflash_device *d = oflash_target_device(t);
        total = 0;
        for (size_t k = 0; k < n; k++)
            total += sector_size(d, nums[k]);
        uint32_t sizes[MAX_SECTORS];
        for (size_t k = 0; k < n; k++)
            sizes[k] = sector_size(d, nums[k]);
        cli_progress_erase_sectors(&prog, sizes, n);
    }
    ret = EXIT_OK;
    size_t k = 0;
    for (; k < n; k++) {
        size_t one = 0;
        if (cli_interrupted) {
            if (prog.tty) fputc('\n', stderr);
            cli_interrupt_halt(oflash_target_probe(t));
            cli_error("interrupted: %zu of %zu sector%s erased; not erased:", erased, n,
                      n == 1 ? "" : "s");
            for (size_t j = k; j < n; j++)
                fprintf(stderr, " %u", nums[j]);
            fputc('\n', stderr);
            cli_error("stopped between two sectors, core halted; run the same command again to "
                      "complete the erase");
            ret = EXIT_INTERRUPTED;
            break;
        }
        cli_progress_cb(&prog, OFLASH_PHASE_ERASE, done, total);
        if (oflash_flash_erase(&one, t, &nums[k], 1, false, NULL, NULL) < 0) {
            ret = cli_fail();
            break;
        }
        erased += one;
        done += sector_size(oflash_target_device(t), nums[k]);
    }
    if (ret == EXIT_OK) cli_progress_cb(&prog, OFLASH_PHASE_ERASE, total, total);
    cli_progress_finish(&prog);
    if (ret == EXIT_OK) {
        if (cli_json) {
            json_t *o = json_pack("{s:s, s:I, s:[]}", "device", oflash_target_device(t)->name,
                                  "sectors_erased", (json_int_t)erased, "sectors");
            for (size_t j = 0; j < n; j++)
                json_array_append_new(json_object_get(o, "sectors"), json_integer(nums[j]));
            cli_json_print(o);
        } else if (!cli_quiet) {
            printf("erased %zu sector%s\n", erased, erased == 1 ? "" : "s");
        }
    } else if (cli_json) {
        /* What was erased before the failure or the interruption. */
        json_t *d = json_array();
        for (size_t j = 0; j < k; j++)
            json_array_append_new(d, json_integer(nums[j]));
        cli_json_error_add("sectors_erased", json_integer((json_int_t)erased));
        cli_json_error_add("sectors", d);
    }
    /* The sectors erased (all of them, or those before an interruption or
     * a failure) lose what a recovery journal saved for them. */
    if (k) {
        int fr = forget_erased(t, journal_dir, nums, k, false);
        if (ret == EXIT_OK) ret = fr;
    }
    oflash_target_close(t);
    return ret;
}
