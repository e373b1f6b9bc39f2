/*
 * cmd_sim.c - `oflash sim`: create and inspect simulated chips, arm faults.
 *
 *   oflash sim create PATH --device PART [--uid HEX24]
 *   oflash sim show PATH [--json]
 *   oflash sim fault PATH (--power-loss-after N | --fail-at ADDR |
 *                          --link-drop-after N)... | --clear
 *
 * The chip file itself is the library's business (include/oflash/sim.h);
 * this file parses, calls and prints.
 */
#include "cli.h"
#include "cli_json.h"
#include "oflash/device.h"
#include "oflash/error.h"
#include "oflash/sim.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash sim create PATH --device PART [--uid HEX24] [--json]\n"
               "       oflash sim show PATH [--json]\n"
               "       oflash sim fault PATH [--power-loss-after N] [--fail-at ADDR]\n"
               "                             [--link-drop-after N] | --clear  [--json]\n"
               "       oflash sim serve PATH --remote-bitbang [HOST:]PORT [--device PART]\n"
               "                        [--adapter-khz N] [--no-realtime] [--once]\n"
               "\n"
               "A simulated STM32F4 lives in file PATH; use it as probe sim:PATH.\n"
               "  create  new chip of a built-in part (STM32F401xB/C/D/E, F411xC/E, F405xG,\n"
               "          F407xG, F427xI, F429xI or an alias such as STM32F401RE); --uid sets\n"
               "          the 96-bit unique ID (24 hex digits, byte at 0x1FFF7A10 first),\n"
               "          random otherwise.  An existing file is never replaced.\n"
               "  show    part, unique ID, blank sectors, OTP blocks and lock state, option\n"
               "          bytes, armed faults, the last session's simulated time.\n"
               "  fault   arm faults that the next command to open the chip hits:\n"
               "          --power-loss-after N  power fails during flash operation N+1\n"
               "                                (an erase leaves the sector partly erased)\n"
               "          --fail-at ADDR        program/erase touching ADDR fails (OPERR)\n"
               "          --link-drop-after N   probe link drops after N transactions\n"
               "          --clear               disarm everything\n"
               "  serve   the chip's JTAG port for OpenOCD's remote_bitbang adapter (loopback\n"
               "          unless HOST is given; one client at a time; Ctrl-C stops).  The core\n"
               "          runs while not halted; simulated time follows TCK at --adapter-khz\n"
               "          (4000) and, unless --no-realtime, never lags the wall clock.\n");
}

enum { O_UID = CLI_OPT_LOCAL, O_CLEAR, O_POWER_LOSS, O_FAIL_AT, O_LINK_DROP };

/* The options of sim create/show/fault: each takes only its own (the rest
 * are refused after parsing, by name). */
static const struct option create_opts[] = {{"help", no_argument, NULL, 'h'},
                                            CLI_OPTS_JSON,
                                            {"device", required_argument, NULL, CLI_OPT_DEVICE},
                                            {"uid", required_argument, NULL, O_UID},
                                            CLI_OPTS_END};

/* One PATH among the positional arguments of a sim subcommand. */
static int one_path(const char **path, const cli_args *a, const char *sub)
{
    for (int i = 0; i < a->npos; i++) {
        if (*path) {
            char pfx[32];
            snprintf(pfx, sizeof pfx, "sim %s: ", sub);
            if (!strcmp(sub, "create"))
                return cli_usage("sim", "%smore than one PATH ('%s', '%s')", pfx, *path,
                                 a->pos[i]);
            return cli_usage("sim", "%smore than one PATH", pfx);
        }
        *path = a->pos[i];
    }
    return 0;
}

static int sim_create(int argc, char **argv)
{
    const char *path = NULL, *device = NULL, *uid = NULL;
    cli_args a;
    int c;
    cli_args_init(&a, "sim", "sim create: ", argc - 1, argv + 1, create_opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        if (c == CLI_ARGS_BAD) return EXIT_USAGE;
        if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        if (c == CLI_OPT_DEVICE) device = a.arg;
        if (c == O_UID) uid = a.arg;
    }
    if ((c = one_path(&path, &a, "create")) != 0) return c;
    if (!path) return cli_usage("sim", "sim create: expected PATH");
    if (!device) return cli_usage("sim", "sim create: expected --device PART (e.g. STM32F401RE)");
    if (oflash_sim_create(path, device, uid) < 0) return cli_fail();
    if (cli_json) {
        oflash_sim_info info;
        if (oflash_sim_info_read(&info, path) < 0) return cli_fail();
        cli_json_print(json_pack("{s:s, s:s, s:o}", "chip", path, "part", info.part, "uid",
                                 cli_json_hex(info.uid, OFLASH_SIM_UID_LEN)));
    } else if (!cli_quiet) {
        oflash_sim_info info;
        if (oflash_sim_info_read(&info, path) == 0) {
            printf("created %s: %s, unique ID ", path, info.part);
            for (int i = 0; i < OFLASH_SIM_UID_LEN; i++)
                printf("%02x", info.uid[i]);
            printf("\n");
        }
    }
    return EXIT_OK;
}

static const char *lock_state(uint8_t v)
{
    return v == 0xFF ? "open" : v == 0x00 ? "locked" : "INVALID";
}

static bool block_blank(const oflash_sim_info *info, uint32_t b)
{
    for (uint32_t i = 0; i < info->otp_block && b * info->otp_block + i < info->otp_size; i++)
        if (info->otp[b * info->otp_block + i] != 0xFF) return false;
    return true;
}

static uint32_t otp_blocks(const oflash_sim_info *info)
{
    return info->otp_block ? info->otp_size / info->otp_block : 0;
}

static void print_time(double ns)
{
    if (ns >= 1e9)
        printf("%.6f s", ns / 1e9);
    else if (ns >= 1e6)
        printf("%.3f ms", ns / 1e6);
    else
        printf("%.3f us", ns / 1e3);
}

static void show_text(const char *path, const oflash_sim_info *in)
{
    const oflash_device *dev = oflash_builtin_device_find(in->part);
    const oflash_bank *bank = dev ? oflash_device_bank(dev, "flash") : NULL;

    printf("chip:         %s\n", path);
    printf("part:         %s (DEV_ID 0x%03X, flash %u KiB, SRAM %u KiB)\n", in->part,
           dev ? dev->dev_id : 0, in->flash_size / 1024, in->ram_size / 1024);
    printf("unique ID:    ");
    for (int i = 0; i < OFLASH_SIM_UID_LEN; i++)
        printf("%02x", in->uid[i]);
    printf("\n");
    printf("sectors:\n");
    for (size_t i = 0; bank && i < in->sector_count; i++)
        printf("  %2u  0x%08X  %4u KiB  %s\n", bank->sectors[i].number, bank->sectors[i].addr,
               bank->sectors[i].size / 1024, in->sector_blank[i] ? "blank" : "programmed");
    if (in->otp_size && in->otp_lock_count) {
        printf("OTP blocks:\n");
        for (uint32_t b = 0; b < otp_blocks(in); b++) {
            uint8_t lock = b < in->otp_lock_count ? in->otp_lock[b] : 0xFF;
            printf("  %2u  0x%08X  %-8s %s", b, in->otp_base + in->otp_block * b,
                   block_blank(in, b) ? "blank" : "data", lock_state(lock));
            if (lock != 0xFF && lock != 0x00) printf(" (lock byte 0x%02X)", lock);
            printf("\n");
        }
    } else if (in->otp_size) {
        /* The write-once kind: list the units that hold data. */
        uint32_t n = 0;
        printf("OTP:          %u bytes at 0x%08X, written once per %u bytes; written:",
               in->otp_size, in->otp_base, in->otp_block);
        for (uint32_t b = 0; b < otp_blocks(in); b++)
            if (!block_blank(in, b))
                printf("%s %u (0x%08X)", n++ ? "," : "", b, in->otp_base + in->otp_block * b);
        printf("%s\n", n ? "" : " none");
    }
    printf("option bytes: ");
    if (in->options[0])
        printf("%s\n", in->options);
    else {
        for (size_t i = 0; i < in->opt_count; i++)
            printf("%s0x%08X", i ? " " : "", in->opt[i]);
        printf("\n");
    }
    printf("write-protected sectors: ");
    {
        int n = 0;
        for (size_t i = 0; bank && i < in->sector_count; i++)
            if (in->sector_wrp[i]) printf("%s%u", n++ ? " " : "", bank->sectors[i].number);
        printf("%s\n", n ? "" : "none");
    }
    printf("faults:       ");
    if (!in->faults.power_loss && !in->faults.fail_at && !in->faults.link_drop) printf("none");
    if (in->faults.power_loss)
        printf("power loss after %llu flash operations; ",
               (unsigned long long)in->faults.power_loss_after);
    if (in->faults.fail_at) printf("program/erase fails at 0x%08X; ", in->faults.fail_addr);
    if (in->faults.link_drop)
        printf("link drop after %llu transactions", (unsigned long long)in->faults.link_drop_after);
    printf("\n");
    printf("last session: simulated time ");
    print_time((double)in->last_run.sim_time_ns);
    printf(", %llu instructions, %llu program / %llu erase / %llu option operations, "
           "flash busy ",
           (unsigned long long)in->last_run.cpu_insns, (unsigned long long)in->last_run.program_ops,
           (unsigned long long)in->last_run.erase_ops, (unsigned long long)in->last_run.option_ops);
    print_time((double)in->last_run.flash_busy_ns);
    printf(", core clock %.1f MHz, %llu unknown peripheral accesses",
           (double)in->last_run.core_clock_hz / 1e6,
           (unsigned long long)in->last_run.unknown_accesses);
    if (in->last_run.unknown_accesses) printf(" (first at 0x%08X)", in->last_run.unknown_first);
    printf("\n");
}

static json_t *faults_json(const oflash_sim_faults *f)
{
    return json_pack("{s:o, s:o, s:o}", "power_loss_after",
                     f->power_loss ? json_integer((json_int_t)f->power_loss_after) : json_null(),
                     "fail_at", f->fail_at ? json_integer(f->fail_addr) : json_null(),
                     "link_drop_after",
                     f->link_drop ? json_integer((json_int_t)f->link_drop_after) : json_null());
}

static void show_json(const char *path, const oflash_sim_info *in)
{
    json_t *o = json_object(), *a;
    json_object_set_new(o, "chip", json_string(path));
    json_object_set_new(o, "part", json_string(in->part));
    json_object_set_new(o, "uid", cli_json_hex(in->uid, OFLASH_SIM_UID_LEN));
    json_object_set_new(o, "flash_size", json_integer(in->flash_size));
    json_object_set_new(o, "ram_size", json_integer(in->ram_size));
    a = json_array();
    for (size_t i = 0; i < in->sector_count; i++)
        if (in->sector_blank[i]) json_array_append_new(a, json_integer((json_int_t)i));
    json_object_set_new(o, "blank_sectors", a);
    a = json_array();
    for (uint32_t b = 0; b < otp_blocks(in); b++) {
        json_t *e = json_pack("{s:I, s:I}", "block", (json_int_t)b, "address",
                              (json_int_t)(in->otp_base + in->otp_block * b));
        bool has_lock = b < in->otp_lock_count;
        uint8_t lock = has_lock ? in->otp_lock[b] : 0xFF;
        cli_json_lock(e, has_lock, lock != 0xFF, lock);
        json_object_set_new(e, "blank", json_boolean(block_blank(in, b)));
        json_array_append_new(a, e);
    }
    json_object_set_new(o, "otp", a);
    a = json_array();
    for (size_t i = 0; i < in->opt_count; i++)
        json_array_append_new(a, json_integer(in->opt[i]));
    json_object_set_new(o, "opt", a);
    json_object_set_new(o, "optcr", json_integer(in->optcr));
    json_object_set_new(o, "optcr1", json_integer(in->optcr1));
    json_object_set_new(o, "rdp_level", json_integer(in->rdp_level));
    json_object_set_new(o, "options", json_string(in->options));
    a = json_array();
    for (size_t i = 0; i < in->sector_count; i++)
        if (in->sector_wrp[i]) json_array_append_new(a, json_integer((json_int_t)i));
    json_object_set_new(o, "write_protected", a);
    json_object_set_new(o, "faults", faults_json(&in->faults));
    json_object_set_new(
        o, "last_run",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sim_time_ns",
                  (json_int_t)in->last_run.sim_time_ns, "cpu_insns",
                  (json_int_t)in->last_run.cpu_insns, "program_ops",
                  (json_int_t)in->last_run.program_ops, "erase_ops",
                  (json_int_t)in->last_run.erase_ops, "option_ops",
                  (json_int_t)in->last_run.option_ops, "flash_busy_ns",
                  (json_int_t)in->last_run.flash_busy_ns, "unknown_accesses",
                  (json_int_t)in->last_run.unknown_accesses, "core_clock_hz",
                  (json_int_t)in->last_run.core_clock_hz));
    cli_json_print(o);
}

static const struct option show_opts[] = {{"help", no_argument, NULL, 'h'}, CLI_OPTS_JSON,
                                          CLI_OPTS_END};

static int sim_show(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    oflash_sim_info info;
    cli_args a;
    int c;
    cli_args_init(&a, "sim", "sim show: ", argc - 1, argv + 1, show_opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        if (c == CLI_ARGS_BAD) return EXIT_USAGE;
        if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        if (c == CLI_OPT_JSON) json = true;
    }
    if ((c = one_path(&path, &a, "show")) != 0) return c;
    if (!path) return cli_usage("sim", "sim show: expected PATH");
    if (oflash_sim_info_read(&info, path) < 0) return cli_fail();
    if (json)
        show_json(path, &info);
    else
        show_text(path, &info);
    return EXIT_OK;
}

static const struct option fault_opts[] = {
    {"help", no_argument, NULL, 'h'},
    CLI_OPTS_JSON,
    {"clear", no_argument, NULL, O_CLEAR},
    {"power-loss-after", required_argument, NULL, O_POWER_LOSS},
    {"fail-at", required_argument, NULL, O_FAIL_AT},
    {"link-drop-after", required_argument, NULL, O_LINK_DROP},
    CLI_OPTS_END};

static int sim_fault(int argc, char **argv)
{
    const char *path = NULL;
    bool clear = false, any = false;
    bool set_power = false, set_fail = false, set_link = false;
    uint64_t power = 0, link = 0;
    uint32_t fail = 0;
    oflash_sim_info info;
    oflash_sim_faults f;
    cli_args a;
    int c;

    cli_args_init(&a, "sim", "sim fault: ", argc - 1, argv + 1, fault_opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        bool ok = true;
        switch (c) {
        case CLI_ARGS_BAD:
            return EXIT_USAGE;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case O_CLEAR:
            clear = true;
            continue;
        case O_POWER_LOSS:
            ok = cli_parse_u64(a.arg, &power);
            set_power = true;
            break;
        case O_FAIL_AT:
            ok = cli_parse_u32(a.arg, &fail);
            set_fail = true;
            break;
        case O_LINK_DROP:
            ok = cli_parse_u64(a.arg, &link);
            set_link = true;
            break;
        }
        any = true;
        if (!ok)
            return cli_usage("sim", "sim fault: '%s': expected %s", a.arg,
                             c == O_FAIL_AT ? "an address" : "a count");
    }
    if ((c = one_path(&path, &a, "fault")) != 0) return c;
    if (!path) return cli_usage("sim", "sim fault: expected PATH");
    if (clear && any)
        return cli_usage("sim", "sim fault: --clear cannot be combined with other faults");
    if (!clear && !any)
        return cli_usage("sim", "sim fault: expected --power-loss-after, --fail-at, "
                                "--link-drop-after or --clear");
    /* Start from what is armed, then apply the options (the last of each
     * kind wins). */
    if (oflash_sim_info_read(&info, path) < 0) return cli_fail();
    f = info.faults;
    if (clear) {
        memset(&f, 0, sizeof f);
    } else {
        if (set_power) {
            f.power_loss = true;
            f.power_loss_after = power;
        }
        if (set_fail) {
            f.fail_at = true;
            f.fail_addr = fail;
        }
        if (set_link) {
            f.link_drop = true;
            f.link_drop_after = link;
        }
    }
    if (oflash_sim_set_faults(path, &f) < 0) return cli_fail();
    if (cli_json)
        cli_json_print(json_pack("{s:s, s:o}", "chip", path, "faults", faults_json(&f)));
    else if (!cli_quiet)
        printf("%s: faults %s\n", path, clear ? "cleared" : "armed");
    return EXIT_OK;
}

int cmd_sim(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "create")) return sim_create(argc, argv);
    if (!strcmp(argv[1], "show")) return sim_show(argc, argv);
    if (!strcmp(argv[1], "fault")) return sim_fault(argc, argv);
    if (!strcmp(argv[1], "serve")) return cmd_sim_serve(argc, argv);
    return cli_usage("sim", "sim: unknown subcommand '%s' (expected create, show, fault or serve)",
                     argv[1]);
}
