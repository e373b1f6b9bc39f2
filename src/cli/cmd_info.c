/*
 * cmd_info.c - "oflash info IMAGE...": read and merge images, then list
 * the segments (start, end, size, CRC-32, source), the totals and the
 * entry point, as a table or as JSON (--json).  "end" is the last address
 * of a segment (inclusive).
 */
#include "cli.h"
#include "cli_image.h"
#include "cli_json.h"
#include "oflash/error.h"
#include "oflash/image.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void info_help(FILE *f)
{
    fprintf(f, "usage: oflash info [options] IMAGE...\n"
               "\n"
               "Read Intel HEX, S-record, ELF or binary (FILE@ADDRESS) images, merge them,\n"
               "and list the segments with start, end (inclusive), size and CRC-32.\n"
               "\n"
               "options:\n"
               "  --json                     machine-readable output\n"
               "  --format F                 read inputs as F (ihex, srec, elf, bin) instead of\n"
               "                             recognising the format from the content\n"
               CLI_IMAGE_HELP
               "  -q, --quiet                no warnings\n");
}

enum { O_FORMAT = CLI_OPT_LOCAL };

static const struct option opts[] = {CLI_OPTS_COMMON, CLI_OPTS_JSON, CLI_OPTS_IMAGE,
                                     {"format", required_argument, NULL, O_FORMAT}, CLI_OPTS_END};

int cmd_info(int argc, char **argv)
{
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;
    bool json = false;
    cli_args a;
    int c;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t nf = 0;
    oflash_image *img = NULL;
    int rc;
    if (!files) return EXIT_FAIL;
    cli_args_init(&a, "info", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        int k = c == CLI_ARGS_BAD ? -1 : cli_image_apply("info", c, a.arg, &lo);
        if (k < 0) {
            free(files);
            return EXIT_USAGE;
        }
        if (k) continue;
        switch (c) {
        case 'h':
            info_help(stdout);
            free(files);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case CLI_OPT_JSON:
            json = true;
            break;
        case O_FORMAT:
            if (!cli_parse_format(a.arg, &lo.format)) {
                free(files);
                return cli_usage("info", "unknown format '%s' (expected ihex, srec, elf or bin)",
                                 a.arg);
            }
            break;
        }
    }
    for (int i = 0; i < a.npos; i++)
        files[nf++] = a.pos[i];
    if (nf == 0) {
        free(files);
        return cli_usage("info", "no image given (expected oflash info IMAGE...)");
    }
    rc = cli_load_images(&img, files, nf, &lo);
    free(files);
    if (rc) return rc;

    size_t n = oflash_image_segment_count(img);
    uint32_t entry;
    bool have_entry = oflash_image_entry(&entry, img);
    if (json) {
        json_t *o = json_object(), *segs = json_array();
        for (size_t i = 0; i < n; i++) {
            const oflash_segment *s = oflash_image_segment(img, i);
            json_array_append_new(segs, json_pack("{s:I, s:I, s:I, s:I, s:o}", "start",
                                                  (json_int_t)s->addr, "end",
                                                  (json_int_t)(s->addr + s->size - 1), "size",
                                                  (json_int_t)s->size, "crc32",
                                                  (json_int_t)oflash_crc32(0, s->data, s->size),
                                                  "source", cli_json_str(s->source)));
        }
        json_object_set_new(o, "segments", segs);
        json_object_set_new(o, "segment_count", json_integer((json_int_t)n));
        json_object_set_new(o, "total_size", json_integer((json_int_t)oflash_image_size(img)));
        json_object_set_new(o, "entry", have_entry ? json_integer(entry) : json_null());
        cli_json_print(o);
    } else {
        printf("%4s  %-10s  %-10s  %10s  %-10s  %s\n", "#", "start", "end", "size", "crc32",
               "source");
        for (size_t i = 0; i < n; i++) {
            const oflash_segment *s = oflash_image_segment(img, i);
            printf("%4zu  0x%08" PRIX32 "  0x%08" PRIX32 "  %10" PRIu32 "  0x%08" PRIX32 "  %s\n",
                   i, s->addr, (uint32_t)(s->addr + s->size - 1), s->size,
                   oflash_crc32(0, s->data, s->size), s->source);
        }
        printf("total: %zu segment%s, %" PRIu64 " bytes\n", n, n == 1 ? "" : "s",
               oflash_image_size(img));
        if (have_entry)
            printf("entry: 0x%08" PRIX32 "\n", entry);
        else
            printf("entry: none\n");
    }
    oflash_image_free(img);
    return EXIT_OK;
}
