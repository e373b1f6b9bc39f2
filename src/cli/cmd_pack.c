/*
 * cmd_pack.c - `oflash pack add FILE.pack...`: import CMSIS-Packs into the
 * user's device store ($XDG_CONFIG_HOME/oflash/devices/, default
 * ~/.config/oflash/devices/), where every later command finds their
 * devices.  Each pack is read completely (every device, every FLM checked)
 * before the store is touched, then copied in atomically (temporary file,
 * fsync, rename); a pack of the same file name is replaced.
 */
#include "cli.h"
#include "cli_json.h"
#include "oflash/device.h"
#include "oflash/error.h"

#include <limits.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: oflash pack add [--json] [--quiet] FILE.pack...\n\n"
            "Imports CMSIS-Packs (.pack) into the device store (%s).\n"
            "Packs are imported as shipped: a bank whose loader covers less than the pack\n"
            "says is clipped, a bank or device that cannot be used is left out, each with\n"
            "a warning; a summary ends the import.  A part that is also built in keeps its\n"
            "name; the pack's description of it is PACK::PART (e.g.\n"
            "Keil.STM32F4xx_DFP::STM32F401RE).\n"
            "'oflash devices --paths' shows where devices are searched for.\n",
            "$XDG_CONFIG_HOME/oflash/devices, default ~/.config/oflash/devices");
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static int pack_add(const char *path, json_t *list)
{
    oflash_devfile_report r = OFLASH_DEVFILE_REPORT_INIT;
    char dest[PATH_MAX];
    /* The whole pack is read first (a warning for each bank or device that is
     * clipped or left out), then copied into the store. */
    if (oflash_devstore_import_report(&r, dest, sizeof dest, path) < 0) return cli_fail();
    if (list) {
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "pack", path, "store_path",
                            dest, "devices", (json_int_t)r.devices, "devices_skipped",
                            (json_int_t)r.devices_skipped, "banks_clipped",
                            (json_int_t)r.banks_clipped, "banks_skipped",
                            (json_int_t)r.banks_skipped, "warnings", (json_int_t)r.warnings,
                            "builtin_parts", (json_int_t)r.builtin_parts));
    } else if (!cli_quiet) {
        printf("imported %zu %s from %s into %s\n", r.devices,
               plural(r.devices, "device", "devices"), path, dest);
        printf("summary: %zu %s imported, %zu %s left out, %zu %s clipped, %zu %s left out, "
               "%zu %s\n",
               r.devices, plural(r.devices, "device", "devices"), r.devices_skipped,
               plural(r.devices_skipped, "device", "devices"), r.banks_clipped,
               plural(r.banks_clipped, "bank", "banks"), r.banks_skipped,
               plural(r.banks_skipped, "bank", "banks"), r.warnings,
               plural(r.warnings, "warning", "warnings"));
        if (r.builtin_parts)
            printf("%zu %s also built in: the built-in %s the name; the pack's algorithms with "
                   "--device PACK::PART (listed by 'oflash devices ::')\n",
                   r.builtin_parts, plural(r.builtin_parts, "part is", "parts are"),
                   plural(r.builtin_parts, "one keeps", "ones keep"));
    }
    return EXIT_OK;
}

static const struct option opts[] = {CLI_OPTS_COMMON, CLI_OPTS_JSON, CLI_OPTS_END};

int cmd_pack(int argc, char **argv)
{
    int rc = EXIT_OK, c;
    cli_args a;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "add"))
        return cli_usage("pack", "expected 'oflash pack add FILE.pack...'");
    cli_args_init(&a, "pack", "", argc - 1, argv + 1, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        if (c == CLI_ARGS_BAD) return EXIT_USAGE;
        if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        if (c == 'q') cli_quiet = true;
    }
    if (!a.npos) return cli_usage("pack", "'pack add' needs at least one .pack file");
    json_t *list = cli_json ? json_array() : NULL;
    for (int i = 0; i < a.npos; i++)
        if (pack_add(a.pos[i], list) != EXIT_OK) rc = EXIT_FAIL;
    if (list && rc == EXIT_OK)
        cli_json_print(json_pack("{s:o}", "packs", list));
    else if (list)
        cli_json_error_add("packs", list); /* the ones imported before the failure */
    return rc;
}
