/*
 * cmd_loader.c - `oflash loader check FILE.FLM [--device D] [--bank B]`:
 * what a CMSIS flash loader says about itself and whether oflash would run
 * it, before it ever touches a target.
 *
 * Prints the FlashDevice description (name, address, size, page size,
 * sector runs, timeouts), the functions present (CMSIS ones and SEGGER's
 * open flash loader extensions), and the RAM it needs (code, data, BSS,
 * trampoline, stack, page buffers).  Then refuses (exit 1) a loader whose
 * sectors do not cover its declared size (or the bank it serves), that
 * does not fit the device's work RAM with its stack and a page buffer, or
 * whose work RAM overlaps the flash it programs (it would overwrite its own
 * code and buffers).  The same checks run on every loader a device file
 * names (oflash_device_check_loader), so a refused loader never runs.
 */
#include "cli.h"
#include "cli_json.h"
#include "oflash/device.h"
#include "oflash/error.h"
#include "oflash/loader.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    unsigned bit;
    const char *name;
    bool segger;
} funcs[] = {
    {OFLASH_FLM_INIT, "Init", false},
    {OFLASH_FLM_UNINIT, "UnInit", false},
    {OFLASH_FLM_ERASE_SECTOR, "EraseSector", false},
    {OFLASH_FLM_PROGRAM_PAGE, "ProgramPage", false},
    {OFLASH_FLM_ERASE_CHIP, "EraseChip", false},
    {OFLASH_FLM_BLANK_CHECK, "BlankCheck", false},
    {OFLASH_FLM_VERIFY, "Verify", false},
    {OFLASH_FLM_SEGGER_PROGRAM, "SEGGER_OPEN_Program", true},
    {OFLASH_FLM_SEGGER_ERASE, "SEGGER_OPEN_Erase", true},
    {OFLASH_FLM_SEGGER_READ, "SEGGER_OPEN_Read", true},
    {OFLASH_FLM_SEGGER_CRC, "SEGGER_OPEN_CalcCRC", true},
};

static void fmt_size(char *buf, size_t len, uint64_t n)
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(buf, len, "%llu MiB", (unsigned long long)(n >> 20));
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, len, "%llu KiB", (unsigned long long)(n >> 10));
    else
        snprintf(buf, len, "%llu B", (unsigned long long)n);
}

static const char *dev_type(uint16_t t)
{
    /* FlashOS.h DevType values */
    switch (t) {
    case 1:
        return "on-chip";
    case 2:
        return "external 8-bit";
    case 3:
        return "external 16-bit";
    case 4:
        return "external 32-bit";
    case 5:
        return "external SPI";
    default:
        return "unknown";
    }
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: oflash loader check FILE.FLM [--device NAME [--bank BANK]] [--devices FILE]...\n"
        "                           [--json]\n\n"
        "Prints what a CMSIS FLM flash loader declares (FlashDevice, functions,\n"
        "RAM needed) and refuses it (exit 1) when its sectors do not cover its\n"
        "size or the bank, it does not fit the device's work RAM with a stack and\n"
        "a page buffer, or that RAM overlaps the flash it programs.  Without\n"
        "--device only the FLM itself is checked.  The bank is BANK, else the\n"
        "device's bank that names this file as its loader, else the one at the\n"
        "loader's DevAdr.\n");
}

/* The bank of d this loader serves: by name, by loader path, by DevAdr. */
static const oflash_bank *pick_bank(const oflash_device *d, const char *bank, const char *file,
                                    uint32_t dev_adr)
{
    char real[PATH_MAX];
    if (bank) return oflash_device_bank(d, bank);
    if (realpath(file, real))
        for (size_t i = 0; i < d->bank_count; i++)
            if (d->banks[i].loader_path && !strcmp(d->banks[i].loader_path, real))
                return &d->banks[i];
    return oflash_device_bank_at(d, dev_adr);
}

enum { O_BANK = CLI_OPT_LOCAL };

static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                     CLI_OPTS_JSON,
                                     {"device", required_argument, NULL, CLI_OPT_DEVICE},
                                     {"devices", required_argument, NULL, CLI_OPT_DEVICES},
                                     {"bank", required_argument, NULL, O_BANK},
                                     CLI_OPTS_END};

int cmd_loader(int argc, char **argv)
{
    const char *file = NULL, *device = NULL, *bank = NULL;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t nfiles = 0;
    cli_args a;
    int c;
    oflash_flm *flm = NULL;
    oflash_devdb *db = NULL;
    const oflash_device *d = NULL;
    const oflash_bank *b = NULL;
    const oflash_flash_device *fd;
    oflash_flm_sizes sz;
    unsigned fn;
    char s1[32], s2[32];
    uint32_t base, size, ram_start = 0, ram_size = 0;
    FILE *tf = stdout;
    char *junk = NULL;
    size_t junk_len = 0;
    json_t *jo = NULL;
    int rc = EXIT_OK;

    if (!files) return cli_error("out of memory"), EXIT_FAIL;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        free(files);
        return EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "check")) {
        free(files);
        return cli_usage("loader", "expected 'oflash loader check FILE.FLM'");
    }
    cli_args_init(&a, "loader", "", argc - 1, argv + 1, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        switch (c) {
        case CLI_ARGS_BAD:
            free(files);
            return EXIT_USAGE;
        case 'h':
            usage(stdout);
            free(files);
            return EXIT_OK;
        case CLI_OPT_DEVICE:
            device = a.arg;
            break;
        case O_BANK:
            bank = a.arg;
            break;
        case CLI_OPT_DEVICES:
            files[nfiles++] = a.arg;
            break;
        }
    }
    if (a.npos > 1) {
        free(files);
        return cli_usage("loader", "unexpected argument '%s'", a.pos[1]);
    }
    if (!a.npos) {
        free(files);
        return cli_usage("loader", "'loader check' needs an FLM file");
    }
    file = a.pos[0];
    if (bank && !device) {
        free(files);
        return cli_usage("loader", "--bank needs --device");
    }
    if (oflash_flm_load_file(&flm, file) < 0) {
        free(files);
        return cli_fail();
    }
    if (device) {
        if (cli_devdb_open(files, nfiles, &db) < 0 || oflash_devdb_find(&d, db, device) < 0) {
            rc = cli_fail();
            goto out;
        }
    }

    fd = oflash_flm_device(flm);
    fn = oflash_flm_functions(flm);
    oflash_flm_get_sizes(&sz, flm);
    /* With --json the text goes nowhere and the same facts into jo. */
    if (cli_json && !(tf = open_memstream(&junk, &junk_len))) {
        rc = cli_fail_ctx("out of memory");
        goto out;
    }
    if (cli_json) {
        json_t *runs = json_array(), *fns = json_array(), *seg = json_array();
        for (size_t i = 0; i < fd->run_count; i++)
            json_array_append_new(runs, json_pack("{s:I, s:I}", "offset",
                                                  (json_int_t)fd->runs[i].offset, "size",
                                                  (json_int_t)fd->runs[i].size));
        for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
            if (fn & funcs[i].bit)
                json_array_append_new(funcs[i].segger ? seg : fns, json_string(funcs[i].name));
        jo = json_pack("{s:s, s:{s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}, s:o, "
                       "s:o, s:{s:I, s:I, s:I, s:I, s:I}}",
                       "loader", file, "flash_device", "name", fd->name, "version",
                       (json_int_t)fd->vers, "type", (json_int_t)fd->type, "type_name",
                       dev_type(fd->type), "address", (json_int_t)fd->addr, "size",
                       (json_int_t)fd->size, "page_size", (json_int_t)fd->page_size,
                       "erased_value", (json_int_t)fd->erased_value, "program_timeout_ms",
                       (json_int_t)fd->prog_timeout_ms, "erase_timeout_ms",
                       (json_int_t)fd->erase_timeout_ms, "sector_runs", runs, "functions", fns,
                       "segger_functions", seg, "ram", "code_size", (json_int_t)sz.code_size,
                       "data_size", (json_int_t)sz.data_size, "bss_size",
                       (json_int_t)sz.bss_size, "needed", (json_int_t)oflash_flm_ram_needed(flm),
                       "page_buffer", (json_int_t)fd->page_size);
    }
    fprintf(tf, "loader:    %s\n", file);
    fprintf(tf, "device:    \"%s\" (FlashDevice version 0x%04X, type %u %s)\n", fd->name, fd->vers,
           fd->type, dev_type(fd->type));
    fmt_size(s1, sizeof s1, fd->size);
    fprintf(tf, "address:   0x%08X-0x%08X (%s)\n", fd->addr, (uint32_t)(fd->addr + fd->size - 1), s1);
    fmt_size(s1, sizeof s1, fd->page_size);
    fprintf(tf, "page:      %s, erased value 0x%02X\n", s1, fd->erased_value);
    fprintf(tf, "timeouts:  program %u ms, erase %u ms\n", fd->prog_timeout_ms, fd->erase_timeout_ms);
    fprintf(tf, "sectors:  ");
    for (size_t i = 0; i < fd->run_count; i++) {
        uint32_t next = i + 1 < fd->run_count ? fd->runs[i + 1].offset : fd->size;
        fmt_size(s1, sizeof s1, fd->runs[i].size);
        if (fd->runs[i].size && next > fd->runs[i].offset)
            fprintf(tf, "%s %u x %s at +0x%X", i ? "," : "",
                   (next - fd->runs[i].offset) / fd->runs[i].size, s1, fd->runs[i].offset);
        else
            fprintf(tf, "%s %s at +0x%X", i ? "," : "", s1, fd->runs[i].offset);
    }
    fprintf(tf, "\nfunctions:");
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (!funcs[i].segger && (fn & funcs[i].bit)) fprintf(tf, " %s", funcs[i].name);
    fprintf(tf, "\nSEGGER:   ");
    {
        bool any = false;
        for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
            if (funcs[i].segger && (fn & funcs[i].bit)) {
                fprintf(tf, " %s", funcs[i].name);
                any = true;
            }
        if (!any) fprintf(tf, " none (one page and one sector per call)");
    }
    fprintf(tf, "\nRAM:       code %u B, data %u B, BSS %u B; %u B with the trampoline and stack, "
           "plus one %u B page buffer or more\n",
           sz.code_size, sz.data_size, sz.bss_size, oflash_flm_ram_needed(flm), fd->page_size);

    base = fd->addr;
    size = fd->size;
    if (d) {
        b = pick_bank(d, bank, file, fd->addr);
        if (bank && !b) {
            cli_error("device %s has no bank '%s'", d->name, bank);
            rc = EXIT_FAIL;
            goto out;
        }
        if (b) {
            base = b->base;
            size = b->size;
        }
        ram_start = d->work_ram_start;
        ram_size = d->work_ram_size;
        fmt_size(s1, sizeof s1, ram_size);
        fmt_size(s2, sizeof s2, size);
        if (jo)
            json_object_set_new(jo, "target",
                                json_pack("{s:s, s:o, s:I, s:I, s:I, s:I}", "device", d->name,
                                          "bank", cli_json_str(b ? b->name : NULL), "base",
                                          (json_int_t)base, "size", (json_int_t)size,
                                          "work_ram_start", (json_int_t)ram_start,
                                          "work_ram_size", (json_int_t)ram_size));
        fprintf(tf, "target:    %s %s 0x%08X-0x%08X (%s), work RAM 0x%08X (%s)\n", d->name,
               b ? b->name : "(no bank: the loader's own range)", base, (uint32_t)(base + size - 1),
               s2, ram_start, s1);
        if (ram_size) {
            oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
            o.ram_start = ram_start;
            o.ram_size = ram_size;
            oflash_loader_layout lay;
            if (oflash_flm_layout(&lay, flm, &o) == 0 && jo)
                json_object_set_new(
                    jo, "layout",
                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "trampoline",
                              (json_int_t)lay.trampoline, "image", (json_int_t)lay.image,
                              "static_base", (json_int_t)lay.static_base, "stack_bottom",
                              (json_int_t)lay.stack_bottom, "stack_top", (json_int_t)lay.stack_top,
                              "page_buffers", (json_int_t)lay.page_buffers, "buffer",
                              (json_int_t)lay.buffer));
            if (oflash_flm_layout(&lay, flm, &o) == 0)
                fprintf(tf, "layout:    trampoline 0x%08X, image 0x%08X (R9 0x%08X), stack "
                       "0x%08X-0x%08X, %u page buffer%s at 0x%08X\n",
                       lay.trampoline, lay.image, lay.static_base, lay.stack_bottom, lay.stack_top,
                       lay.page_buffers, lay.page_buffers == 1 ? "" : "s", lay.buffer);
        }
    }
    if (oflash_device_check_loader(flm, file, base, size, ram_start, ram_size) < 0) {
        fprintf(tf, "check:     REFUSED\n");
        rc = cli_fail();
    } else if (d && !ram_size) {
        fprintf(tf, "check:     REFUSED\n");
        cli_error("loader %s: device %s declares no work RAM", file, d->name);
        rc = EXIT_FAIL;
    } else {
        fprintf(tf, "check:     ok%s\n", d ? "" : " (FLM only; --device also checks RAM and bank)");
    }
    if (jo) {
        /* A refused loader is an error object with the same fields. */
        if (rc == EXIT_OK) {
            json_object_set_new(jo, "check", json_string("ok"));
            cli_json_print(jo);
        } else {
            json_object_set_new(jo, "check", json_string("refused"));
            cli_json_error_merge(jo);
        }
        jo = NULL;
    }
out:
    json_decref(jo);
    if (tf && tf != stdout) fclose(tf);
    free(junk);
    oflash_devdb_free(db);
    oflash_flm_free(flm);
    free(files);
    return rc;
}
