/*
 * cmd_reset.c - `oflash reset [--halt]`: reset the core and let it run the
 * firmware, or stop it at the reset vector (SP and PC loaded from the
 * vector table).
 */
#include "cli.h"
#include "target.h"
#include "oflash/error.h"
#include "oflash/probe.h"

#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash reset [--halt] --probe P [--device D]\n"
               "Reset the core and run the firmware; --halt stops it at the reset vector\n"
               "and prints SP and PC.\n\n" CLI_TARGET_HELP
               "  --halt               stay halted at the reset vector\n"
               "  --json               print the result as JSON\n");
}

enum { O_HALT = CLI_OPT_LOCAL };

static const struct option opts[] = {CLI_OPTS_COMMON, CLI_OPTS_JSON, CLI_OPTS_TARGET,
                                     {"halt", no_argument, NULL, O_HALT}, CLI_OPTS_END};

int cmd_reset(int argc, char **argv)
{
    cli_args a;
    int c;
    cli_target ct = {0};
    bool halt = false;
    oflash_target *t = NULL;
    uint32_t v[2] = {0, 0};
    int ret;
    cli_args_init(&a, "reset", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        int k = c == CLI_ARGS_BAD ? -1 : cli_target_apply(&ct, "reset", c, a.arg);
        if (k < 0) return EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case O_HALT:
            halt = true;
            break;
        }
    }
    if (a.npos) return cli_usage("reset", "unexpected argument '%s'", a.pos[0]);
    if ((ret = cli_target_open("reset", &ct, &t)) != 0) return ret;
    ret = cli_reset_target(t, halt, v);
    if (ret == EXIT_OK && cli_json)
        cli_json_print(json_pack("{s:s, s:{s:s, s:I, s:I}}", "device",
                                 oflash_target_device(t)->name, "reset", "state",
                                 halt ? "halted" : "running", "sp", (json_int_t)v[0], "pc",
                                 (json_int_t)v[1]));
    oflash_target_close(t);
    return ret;
}

int cli_reset_target(oflash_target *t, bool halt, uint32_t sp_pc[2])
{
    oflash_probe *p = oflash_target_probe(t);
    uint32_t v[2];
    static const int regs[2] = {OFLASH_REG_SP, OFLASH_REG_PC};
    if (oflash_probe_reset(p, true) < 0) return cli_fail_ctx("reset");
    if (oflash_probe_read_regs(v, p, regs, 2) < 0) return cli_fail_ctx("reading SP and PC");
    if (sp_pc) memcpy(sp_pc, v, sizeof v);
    if (halt) {
        if (!cli_quiet && !cli_json)
            printf("reset: halted at the reset vector: SP 0x%08X, PC 0x%08X\n", v[0], v[1]);
        return EXIT_OK;
    }
    if (oflash_probe_reset(p, false) < 0) return cli_fail_ctx("reset");
    if (!cli_quiet && !cli_json) printf("reset: running from 0x%08X (SP 0x%08X)\n", v[1], v[0]);
    return EXIT_OK;
}
