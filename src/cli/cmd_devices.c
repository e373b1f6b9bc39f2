/*
 * cmd_devices.c - `oflash devices`: list known devices, show one device's
 * memory map, and show where devices are searched for.
 *
 *   oflash devices [PATTERN] [--devices FILE]... [--json]
 *   oflash devices show NAME [--devices FILE]... [--json]
 *   oflash devices --paths [--devices FILE]...
 *
 * Also cli_devdb_open(), the device database every command with --device
 * uses: --devices files first (the last one given wins), then
 * $OFLASH_DEVICES, then $XDG_CONFIG_HOME/oflash/devices/, then built-ins.
 */
#include "cli.h"
#include "cli_json.h"
#include "oflash/device.h"
#include "oflash/sys/family.h"
#include "oflash/error.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_devdb_open(const char *const *files, size_t nfiles, oflash_devdb **out)
{
    oflash_devdb_opts o = OFLASH_DEVDB_OPTS_INIT;
    oflash_devdb *db;
    int rc = oflash_devdb_open(&db, &o);
    *out = NULL;
    if (rc < 0) return rc;
    /* Each file loaded outranks the ones before: the last one given wins
     * (as for the --devices of program, verify, erase...). */
    for (size_t i = 0; i < nfiles; i++)
        if ((rc = oflash_devdb_add_file(db, files[i])) < 0) {
            oflash_devdb_free(db);
            return rc;
        }
    *out = db;
    return 0;
}

static const char *kind_name(oflash_bank_kind k)
{
    switch (k) {
    case OFLASH_BANK_OTP:
        return "otp";
    case OFLASH_BANK_OTP_LOCK:
        return "otp-lock";
    default:
        return "flash";
    }
}

static const char *region_kind(oflash_region_kind k)
{
    switch (k) {
    case OFLASH_REGION_RAM:
        return "ram";
    case OFLASH_REGION_SYSMEM:
        return "system memory (read-only)";
    case OFLASH_REGION_OPTION:
        return "option bytes";
    case OFLASH_REGION_ID:
        return "id registers";
    default:
        return "peripherals";
    }
}

static void fmt_size(char *buf, size_t len, uint64_t n)
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(buf, len, "%llu MiB", (unsigned long long)(n >> 20));
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, len, "%llu KiB", (unsigned long long)(n >> 10));
    else
        snprintf(buf, len, "%llu B", (unsigned long long)n);
}

static uint64_t flash_size(const oflash_device *d)
{
    uint64_t n = 0;
    for (size_t i = 0; i < d->bank_count; i++)
        if (d->banks[i].kind == OFLASH_BANK_FLASH) n += d->banks[i].size;
    return n;
}

static bool matches(const oflash_device *d, const char *pat)
{
    bool glob = strpbrk(pat, "*?[") != NULL;
    const char *names[2] = {d->name, NULL};
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass ? d->aliases : names;
        for (const char *const *a = list; a && *a; a++) {
            if (glob ? fnmatch(pat, *a, FNM_CASEFOLD) == 0 : strcasestr(*a, pat) != NULL)
                return true;
        }
    }
    return false;
}

static const char *loader_desc(const oflash_bank *b, char *buf, size_t len)
{
    if (b->loader_path)
        snprintf(buf, len, "%s", b->loader_path);
    else if (b->loader_image && b->loader_name)
        snprintf(buf, len, "%s", b->loader_name);
    else if (b->loader_name)
        snprintf(buf, len, "%s (built-in)", b->loader_name);
    else
        snprintf(buf, len, "none");
    return buf;
}

/* Runs of equal, contiguous sectors: "4 x 16 KiB at 0x08000000 (0-3)". */
static void print_sector_runs(FILE *f, const oflash_bank *b, const char *indent)
{
    size_t i = 0;
    while (i < b->sector_count) {
        size_t j = i + 1;
        char sz[32];
        while (j < b->sector_count && b->sectors[j].size == b->sectors[i].size &&
               b->sectors[j].addr == b->sectors[j - 1].addr + b->sectors[j - 1].size)
            j++;
        fmt_size(sz, sizeof sz, b->sectors[i].size);
        if (j - i == 1)
            fprintf(f, "%s%s at 0x%08X (%s %u)\n", indent, sz, b->sectors[i].addr,
                    b->kind == OFLASH_BANK_FLASH ? "sector" : "block", b->sectors[i].number);
        else
            fprintf(f, "%s%zu x %s at 0x%08X (%s %u-%u)\n", indent, j - i, sz, b->sectors[i].addr,
                    b->kind == OFLASH_BANK_FLASH ? "sectors" : "blocks", b->sectors[i].number,
                    b->sectors[j - 1].number);
        i = j;
    }
}

static void show_text(const oflash_device *d)
{
    char sz[32], ld[512];
    printf("%s", d->name);
    if (d->vendor || d->core)
        printf(" (%s%s%s)", d->vendor ? d->vendor : "", d->vendor && d->core ? ", " : "",
               d->core ? d->core : "");
    printf("\nsource:   %s", d->source ? d->source : "?");
    if (d->extends) printf(" (extends %s)", d->extends);
    printf("\n");
    if (d->family_ops)
        printf("family:   %s (its OTP rules, write protection and ID registers apply)\n",
               d->family_ops->name);
    if (d->aliases && d->aliases[0]) {
        printf("aliases: ");
        for (const char *const *a = d->aliases; *a; a++)
            printf(" %s", *a);
        printf("\n");
    }
    if (d->has_id && d->family_ops && d->family_ops->id.idcode_addr)
        printf("id check: DBGMCU_IDCODE at 0x%08X DEV_ID 0x%03X, flash size %u KiB at 0x%08X, "
               "unique id at 0x%08X\n",
               d->family_ops->id.idcode_addr, d->dev_id, d->flash_size_kb,
               d->family_ops->id.flash_size_addr, d->family_ops->id.uid_addr);
    else
        printf("id check: none declared (skipped on connect)\n");
    fmt_size(sz, sizeof sz, d->work_ram_size);
    if (d->work_ram_size)
        printf("work RAM: 0x%08X-0x%08X (%s)\n", d->work_ram_start,
               (uint32_t)(d->work_ram_start + d->work_ram_size - 1), sz);
    else
        printf("work RAM: none\n");
    printf("banks:\n");
    for (size_t i = 0; i < d->bank_count; i++) {
        const oflash_bank *b = &d->banks[i];
        fmt_size(sz, sizeof sz, b->size);
        printf("  %-10s 0x%08X-0x%08X %8s  %-8s page %u, erased 0x%02X, loader %s\n", b->name,
               b->base, (uint32_t)(b->base + b->size - 1), sz, kind_name(b->kind), b->page_size,
               b->erased_value, loader_desc(b, ld, sizeof ld));
        print_sector_runs(stdout, b, "      ");
    }
    if (d->region_count) printf("regions:\n");
    for (size_t i = 0; i < d->region_count; i++) {
        const oflash_region *r = &d->regions[i];
        fmt_size(sz, sizeof sz, r->size);
        printf("  %-22s 0x%08X-0x%08X %8s  %s\n", r->name, r->base,
               (uint32_t)(r->base + r->size - 1), sz, region_kind(r->kind));
    }
}

static json_t *device_json(const oflash_device *d, bool full)
{
    json_t *o = json_object(), *al = json_array();
    json_object_set_new(o, "name", json_string(d->name));
    for (const char *const *a = d->aliases; a && *a; a++)
        json_array_append_new(al, json_string(*a));
    json_object_set_new(o, "aliases", al);
    json_object_set_new(o, "vendor", cli_json_str(d->vendor));
    json_object_set_new(o, "core", cli_json_str(d->core));
    json_object_set_new(o, "source", cli_json_str(d->source));
    json_object_set_new(o, "extends", cli_json_str(d->extends));
    json_object_set_new(o, "flash_size", json_integer((json_int_t)flash_size(d)));
    json_object_set_new(o, "work_ram_start", json_integer(d->work_ram_start));
    json_object_set_new(o, "work_ram_size", json_integer(d->work_ram_size));
    json_object_set_new(o, "has_id", json_boolean(d->has_id));
    if (full) {
        json_t *banks = json_array(), *regions = json_array();
        for (size_t i = 0; i < d->bank_count; i++) {
            const oflash_bank *b = &d->banks[i];
            char ld[512];
            json_t *secs = json_array();
            for (size_t k = 0; k < b->sector_count; k++)
                json_array_append_new(secs, json_pack("[I, I]", (json_int_t)b->sectors[k].addr,
                                                      (json_int_t)b->sectors[k].size));
            json_array_append_new(
                banks, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:o}", "name", b->name,
                                 "kind", kind_name(b->kind), "base", (json_int_t)b->base, "size",
                                 (json_int_t)b->size, "page_size", (json_int_t)b->page_size,
                                 "erased_value", (json_int_t)b->erased_value, "loader",
                                 loader_desc(b, ld, sizeof ld), "sectors", secs));
        }
        for (size_t i = 0; i < d->region_count; i++)
            json_array_append_new(
                regions, json_pack("{s:s, s:s, s:I, s:I}", "name", d->regions[i].name, "kind",
                                   region_kind(d->regions[i].kind), "base",
                                   (json_int_t)d->regions[i].base, "size",
                                   (json_int_t)d->regions[i].size));
        json_object_set_new(o, "banks", banks);
        json_object_set_new(o, "regions", regions);
    }
    return o;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash devices [PATTERN] [--devices FILE]... [--json]\n"
               "       oflash devices show NAME [--devices FILE]... [--json]\n"
               "       oflash devices --paths [--devices FILE]...\n\n"
               "Lists the known devices (PATTERN: a substring, or a glob with * ? [...],\n"
               "matched case-insensitively against names and aliases), prints one device's\n"
               "memory map, or the device-file search path.  Search order: --devices files\n"
               "(JLinkDevices.xml, .pdsc or .pack; the last one given wins), $OFLASH_DEVICES\n"
               "(colon-separated files or directories), $XDG_CONFIG_HOME/oflash/devices/\n"
               "(default ~/.config; see 'oflash pack add'), then the built-in table.\n");
}

enum { O_PATHS = CLI_OPT_LOCAL };

static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                     CLI_OPTS_JSON,
                                     {"devices", required_argument, NULL, CLI_OPT_DEVICES},
                                     {"paths", no_argument, NULL, O_PATHS},
                                     CLI_OPTS_END};

int cmd_devices(int argc, char **argv)
{
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    const char *pattern = NULL, *show = NULL;
    size_t nfiles = 0;
    bool json = false, paths = false, is_show = false;
    cli_args a;
    int c;
    oflash_devdb *db = NULL;
    int rc = EXIT_OK;
    if (!files) return cli_error("out of memory"), EXIT_FAIL;
    cli_args_init(&a, "devices", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        switch (c) {
        case CLI_ARGS_BAD:
            free(files);
            return EXIT_USAGE;
        case 'h':
            usage(stdout);
            free(files);
            return EXIT_OK;
        case CLI_OPT_JSON:
            json = true;
            break;
        case O_PATHS:
            paths = true;
            break;
        case CLI_OPT_DEVICES:
            files[nfiles++] = a.arg;
            break;
        }
    }
    for (int i = 0; i < a.npos; i++) {
        const char *arg = a.pos[i];
        if (!is_show && !pattern && !strcmp(arg, "show")) {
            is_show = true;
        } else if (is_show && !show) {
            show = arg;
        } else if (!is_show && !pattern) {
            pattern = arg;
        } else {
            free(files);
            return cli_usage("devices", "unexpected argument '%s'", arg);
        }
    }
    if (is_show && !show) {
        free(files);
        return cli_usage("devices", "'devices show' needs a device name");
    }
    if (paths && (is_show || pattern)) {
        free(files);
        return cli_usage("devices", "--paths takes no other arguments");
    }
    if (cli_devdb_open(files, nfiles, &db) < 0) {
        free(files);
        return cli_fail();
    }
    if (paths) {
        size_t n = oflash_devdb_path_count(db);
        json_t *list = json ? json_array() : NULL;
        for (size_t i = 0; i < n; i++) {
            const oflash_devdb_path *p = oflash_devdb_path_get(db, i);
            const char *origin = !strcmp(p->origin, "file") ? "--devices" : p->origin;
            if (json) {
                json_array_append_new(list, json_pack("{s:s, s:o, s:b, s:I}", "origin", origin,
                                                      "path", cli_json_str(p->path), "exists",
                                                      p->exists, "devices",
                                                      (json_int_t)p->devices));
            } else {
                printf("%zu. %-16s %s%s (%zu device%s)\n", i + 1, origin,
                       p->path ? p->path : "(compiled in)", p->exists ? "" : " [missing]",
                       p->devices, p->devices == 1 ? "" : "s");
            }
        }
        if (json) cli_json_print(json_pack("{s:o}", "paths", list));
    } else if (is_show) {
        const oflash_device *d;
        if (oflash_devdb_find(&d, db, show) < 0) {
            rc = cli_fail();
        } else if (json) {
            cli_json_print(device_json(d, true));
        } else {
            show_text(d);
        }
    } else {
        size_t n = oflash_devdb_count(db), shown = 0;
        json_t *list = json ? json_array() : NULL;
        if (!json)
            printf("%-16s %-10s %-9s %-40s %s\n", "NAME", "FLASH", "RAM", "ALIASES", "SOURCE");
        for (size_t i = 0; i < n; i++) {
            const oflash_device *d = oflash_devdb_get(db, i);
            bool hidden = false;
            /* A device shadowed by a higher-priority one with the same name
             * is listed once, as the one that wins. */
            for (size_t j = 0; j < i && !hidden; j++)
                hidden = !strcasecmp(oflash_devdb_get(db, j)->name, d->name);
            if (hidden || (pattern && !matches(d, pattern))) continue;
            if (json) {
                json_array_append_new(list, device_json(d, false));
            } else {
                char fs[32], rs[32], al[256] = "";
                size_t off = 0;
                fmt_size(fs, sizeof fs, flash_size(d));
                fmt_size(rs, sizeof rs, d->work_ram_size);
                for (const char *const *a = d->aliases; a && *a && off < sizeof al; a++) {
                    int k = snprintf(al + off, sizeof al - off, "%s%s", off ? "," : "", *a);
                    if (k < 0) break;
                    off += (size_t)k;
                }
                printf("%-16s %-10s %-9s %-40s %s%s%s\n", d->name, fs, rs, al,
                       d->source ? d->source : "?", d->extends ? " extends " : "",
                       d->extends ? d->extends : "");
            }
            shown++;
        }
        if (!shown && pattern) {
            cli_error_code("not_found", "no device matches '%s'", pattern);
            rc = EXIT_FAIL;
        } else if (json) {
            cli_json_print(json_pack("{s:o}", "devices", list));
            list = NULL;
        }
        json_decref(list);
    }
    oflash_devdb_free(db);
    free(files);
    return rc;
}
