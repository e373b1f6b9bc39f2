/*
 * cmd_pack.c - `oflash pack add FILE.pack...`: import CMSIS-Packs into the
 * user's device store ($XDG_CONFIG_HOME/oflash/devices/, default
 * ~/.config/oflash/devices/), where every later command finds their
 * devices.  Each pack is read completely (every device, every FLM checked)
 * before the store is touched, then copied in atomically (temporary file,
 * fsync, rename); a pack of the same file name is replaced.
 */
#include "cli.h"
#include "oflash/device.h"
#include "oflash/error.h"

#include <limits.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: oflash pack add FILE.pack...\n\n"
            "Imports CMSIS-Packs (.pack) into the device store (%s).\n"
            "'oflash devices --paths' shows where devices are searched for.\n",
            "$XDG_CONFIG_HOME/oflash/devices, default ~/.config/oflash/devices");
}

static int pack_add(const char *path)
{
    oflash_devdb_opts o = OFLASH_DEVDB_OPTS_INIT;
    o.no_user_paths = true;
    oflash_devdb *db;
    char dest[PATH_MAX];
    size_t before, n;
    if (oflash_devdb_open(&db, &o) < 0) return cli_fail();
    before = oflash_devdb_count(db);
    if (oflash_devdb_add_file(db, path) < 0) {
        oflash_devdb_free(db);
        return cli_fail();
    }
    n = oflash_devdb_count(db) - before;
    oflash_devdb_free(db);
    if (oflash_devstore_import(dest, sizeof dest, path) < 0) return cli_fail();
    if (!cli_quiet)
        printf("imported %zu device%s from %s into %s\n", n, n == 1 ? "" : "s", path, dest);
    return EXIT_OK;
}

int cmd_pack(int argc, char **argv)
{
    int first = 2, rc = EXIT_OK;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "add"))
        return cli_usage("pack", "expected 'oflash pack add FILE.pack...'");
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            cli_quiet = true;
            if (i == first) first++;
        } else if (argv[i][0] == '-') {
            return cli_usage("pack", "unknown option '%s'", argv[i]);
        }
    }
    if (first >= argc) return cli_usage("pack", "'pack add' needs at least one .pack file");
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) continue;
        if (pack_add(argv[i]) != EXIT_OK) rc = EXIT_FAIL;
    }
    return rc;
}
