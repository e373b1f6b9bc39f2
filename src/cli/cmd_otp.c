/*
 * cmd_otp.c - oflash otp: the table of OTP blocks (contents, locked or
 * not); oflash otp lock N... --yes: lock blocks (irreversible: the plan is
 * shown first and nothing is written without --yes).
 */
#include "cli.h"
#include "target.h"
#include "cli_journal.h"
#include "cli_json.h"
#include "oflash/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 64

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash otp [--json] --probe P [--device D]\n"
               "       oflash otp lock N... [--yes] --probe P [--device D]\n"
               "Show the OTP blocks, or lock blocks (irreversible: shown as a plan; --yes does "
               "it).\n\n" CLI_TARGET_HELP "  --json               print the blocks, or the locks, as JSON\n"
               "  --yes                really lock (without it only the plan is shown)\n"
               "  --otp-resume         finish a lock byte an interrupted run left partly\n"
               "                       programmed (only what the recovery journal "
               "shows)\n" CLI_JOURNAL_HELP);
}

void cli_otp_print_table(const oflash_otp_block *b, size_t n)
{
    printf("%5s  %-10s  %-6s  %-4s  %s\n", "block", "address", "state", "lock", "data");
    for (size_t i = 0; i < n; i++) {
        if (b[i].has_lock)
            printf("%5u  0x%08X  %-6s  0x%02X  ", b[i].number, b[i].addr,
                   b[i].locked ? "locked" : "open", b[i].lock);
        else
            printf("%5u  0x%08X  %-6s  %-4s  ", b[i].number, b[i].addr, "-", "-");
        if (b[i].blank) {
            printf("(blank)\n");
            continue;
        }
        for (uint32_t k = 0; k < b[i].size; k++)
            printf("%02X", b[i].data[k]);
        printf("  |");
        for (uint32_t k = 0; k < b[i].size; k++)
            putchar(isprint(b[i].data[k]) ? b[i].data[k] : '.');
        printf("|\n");
    }
}

static void print_json(const oflash_target *t, const oflash_otp_block *b, size_t n)
{
    json_t *o = json_pack("{s:s, s:[]}", "device", oflash_target_device(t)->name, "blocks");
    json_t *arr = json_object_get(o, "blocks");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_pack("{s:I, s:I}", "block", (json_int_t)b[i].number, "address",
                              (json_int_t)b[i].addr);
        cli_json_lock(e, b[i].has_lock, b[i].locked, b[i].lock);
        json_object_set_new(e, "blank", json_boolean(b[i].blank));
        json_object_set_new(e, "data", cli_json_hex(b[i].data, b[i].size));
        json_array_append_new(arr, e);
    }
    cli_json_print(o);
}

/* otp lock --json: {"device", "otp_blocks_locked", "locks": [...],
 * "already_locked"} (the lock list as in program's plan and result). */
static void print_lock_json(const oflash_target *t, const oflash_plan *plan, size_t locked)
{
    json_t *p = cli_json_plan(plan);
    json_t *o = json_pack("{s:s, s:I, s:O, s:I}", "device", oflash_target_device(t)->name,
                          "otp_blocks_locked", (json_int_t)locked, "locks",
                          json_object_get(p, "locks"), "already_locked",
                          (json_int_t)plan->locks_equal);
    json_decref(p);
    cli_json_print(o);
}

enum { O_OTP_RESUME = CLI_OPT_LOCAL, O_YES };

static const struct option opts[] = {CLI_OPTS_COMMON,
                                     CLI_OPTS_JSON,
                                     CLI_OPTS_TARGET,
                                     CLI_OPTS_JOURNAL,
                                     {"otp-resume", no_argument, NULL, O_OTP_RESUME},
                                     {"yes", no_argument, NULL, O_YES},
                                     CLI_OPTS_END};

int cmd_otp(int argc, char **argv)
{
    cli_args a;
    int c;
    cli_target ct = {0};
    bool json = false, yes = false, lock = false, resume = false;
    const char *journal_dir = NULL;
    oflash_journal *journal = NULL;
    unsigned blocks[MAX_BLOCKS];
    size_t nblocks = 0;
    oflash_target *t = NULL;
    oflash_image *img = NULL;
    oflash_plan *plan = NULL;
    int ret = EXIT_FAIL, rc;

    cli_args_init(&a, "otp", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        int k = c == CLI_ARGS_BAD ? -1 : cli_target_apply(&ct, "otp", c, a.arg);
        if (k < 0) return EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case CLI_OPT_JSON:
            json = true;
            break;
        case CLI_OPT_JOURNAL_DIR:
            journal_dir = a.arg;
            break;
        case O_OTP_RESUME:
            resume = true;
            break;
        case O_YES:
            yes = true;
            break;
        }
    }
    for (int i = 0; i < a.npos; i++) {
        const char *arg = a.pos[i];
        if (i == 0 && !strcmp(arg, "lock")) {
            lock = true;
        } else if (lock) {
            uint32_t x;
            if (!cli_parse_u32(arg, &x) || x >= MAX_BLOCKS)
                return cli_usage("otp", "block '%s': expected an OTP block number", arg);
            if (nblocks == MAX_BLOCKS) return cli_usage("otp", "too many blocks");
            blocks[nblocks++] = x;
        } else {
            return cli_usage("otp", "unexpected argument '%s'", arg);
        }
    }
    if (lock && !nblocks) return cli_usage("otp", "otp lock: which blocks? (oflash otp lock N...)");
    if (!lock && yes) return cli_usage("otp", "--yes only goes with 'otp lock'");
    if (!lock && resume) return cli_usage("otp", "--otp-resume only goes with 'otp lock'");

    if (!lock) {
        oflash_otp_state *os;
        if ((ret = cli_target_open("otp", &ct, &t)) != 0) return ret;
        if (oflash_otp_read(&os, t) < 0) {
            ret = cli_fail();
        } else {
            if (json)
                print_json(t, os->blocks, os->count);
            else
                cli_otp_print_table(os->blocks, os->count);
            oflash_otp_state_free(os);
            ret = EXIT_OK;
        }
        oflash_target_close(t);
        return ret;
    }

    /* Lock: an image of 0x00 lock bytes through the same planner and
     * executor as program --otp (so a block is only locked once, and
     * already-locked blocks are reported as such). */
    if ((ret = cli_target_open("otp", &ct, &t)) != 0) return ret;
    {
        oflash_otp_rules rules;
        char nm[64];
        snprintf(nm, sizeof nm, "%s", oflash_target_device(t)->name);
        if (oflash_device_otp_rules(&rules, oflash_target_device(t)) < 0 ||
            rules.kind != OFLASH_OTP_BLOCK_LOCK || !rules.lock_count) {
            oflash_target_close(t);
            return cli_usage("otp", "otp lock: %s has no OTP blocks with lock bytes", nm);
        }
        for (size_t k = 0; k < nblocks; k++)
            if (blocks[k] >= rules.lock_count) {
                oflash_target_close(t);
                return cli_usage("otp", "otp lock %u: %s has OTP blocks 0..%u", blocks[k], nm,
                                 rules.lock_count - 1);
            }
    }
    /* The recovery journal: restore an interrupted run first (only when
     * something may be written), and the intent of the lock bytes. */
    if ((ret = cli_journal_open(&journal, t, journal_dir, yes, resume)) != 0) goto out;
    ret = EXIT_FAIL;
    if (oflash_otp_lock_image(&img, oflash_target_device(t), blocks, nblocks) < 0) {
        ret = cli_fail();
        goto out;
    }
    {
        oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
        oflash_target_view view;
        po.allow_otp = true;
        po.otp_resume = resume;
        oflash_journal_otp_started(&po.otp_started, &po.otp_started_count, journal);
        oflash_target_view_init(&view, t);
        rc = oflash_plan_create(&plan, img, oflash_target_device(t), &view, &po);
        if (rc == OFLASH_ECONFLICT && plan) {
            cli_fail();
            if (json)
                cli_json_error_add("plan", cli_json_plan(plan));
            else
                cli_print_conflicts(stderr, plan);
            goto out;
        }
        if (rc < 0) {
            ret = cli_fail();
            goto out;
        }
    }
    if (!plan->lock_count) {
        if (json)
            print_lock_json(t, plan, 0);
        else if (!cli_quiet)
            printf("nothing to do: block%s already locked\n", nblocks > 1 ? "s" : "");
        ret = EXIT_OK;
        goto out;
    }
    if (!json) {
        printf("plan (irreversible): lock OTP block%s", plan->lock_count > 1 ? "s" : "");
        for (size_t i = 0; i < plan->lock_count; i++)
            printf(" %u (0x%08X <- 0x00)", plan->locks[i].block, plan->locks[i].addr);
        printf("\n");
        if (plan->locks_equal) printf("already locked: %zu\n", plan->locks_equal);
    }
    if (!yes) {
        cli_error_code("confirmation_needed",
                       "nothing written: locking an OTP block cannot be undone; add --yes to lock");
        if (json) cli_json_error_add("plan", cli_json_plan(plan));
        ret = EXIT_FAIL;
        goto out;
    }
    {
        oflash_flash_stats st;
        oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
        fo.journal = journal;
        if (oflash_flash_execute(&st, t, plan, &fo) < 0) {
            ret = cli_fail();
            goto out;
        }
        if (json)
            print_lock_json(t, plan, st.otp_blocks_locked);
        else if (!cli_quiet)
            printf("locked %zu block%s\n", st.otp_blocks_locked,
                   st.otp_blocks_locked == 1 ? "" : "s");
    }
    ret = EXIT_OK;
out:
    oflash_plan_free(plan);
    oflash_image_free(img);
    oflash_journal_close(journal);
    oflash_target_close(t);
    return ret;
}
