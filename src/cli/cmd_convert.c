/*
 * cmd_convert.c - "oflash convert IMAGE... -o OUT": read and merge images
 * and write them as Intel HEX, S-record or raw binary.  The output is
 * written to a temporary file and renamed, so OUT is untouched on error.
 */
#include "cli.h"
#include "cli_image.h"
#include "cli_json.h"
#include "oflash/error.h"
#include "oflash/image.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void convert_help(FILE *f)
{
    fprintf(f,
            "usage: oflash convert [options] IMAGE... -o OUT\n"
            "\n"
            "Read and merge Intel HEX, S-record, ELF or binary (FILE@ADDRESS) images and\n"
            "write them as one Intel HEX, S-record or binary file.\n"
            "\n"
            "options:\n"
            "  -o, --output OUT           output file (written atomically)\n"
            "  --format ihex|srec|bin     output format (default: from OUT's extension)\n"
            "  --record-size N            data bytes per record (ihex 1-255, default 16;\n"
            "                             srec default 32)\n"
            "  --srec-type 1|2|3          force S1/S2/S3 records (default: by highest address)\n"
            "  --fill BYTE                bin: fill gaps with BYTE (needs --range)\n"
            "  --range START:END          bin: write [START, END) (END exclusive), or START+SIZE\n"
            CLI_IMAGE_HELP
            "  --json                     print what was written as JSON\n"
            "  -q, --quiet                no warnings\n");
}

enum { O_FORMAT = CLI_OPT_LOCAL, O_RECORD_SIZE, O_SREC_TYPE, O_FILL, O_RANGE };

static const struct option opts[] = {CLI_OPTS_COMMON,
                                     CLI_OPTS_JSON,
                                     CLI_OPTS_IMAGE,
                                     {"output", required_argument, NULL, 'o'},
                                     {"format", required_argument, NULL, O_FORMAT},
                                     {"record-size", required_argument, NULL, O_RECORD_SIZE},
                                     {"srec-type", required_argument, NULL, O_SREC_TYPE},
                                     {"fill", required_argument, NULL, O_FILL},
                                     {"range", required_argument, NULL, O_RANGE},
                                     CLI_OPTS_END};

int cmd_convert(int argc, char **argv)
{
    cli_args a;
    int c;
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;
    oflash_image_write_opts wo = OFLASH_IMAGE_WRITE_OPTS_INIT;
    const char *out = NULL;
    bool have_fill = false, have_rs = false, have_type = false;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t nf = 0;
    oflash_image *img = NULL;
    int rc = EXIT_OK;
    if (!files) return EXIT_FAIL;
    cli_args_init(&a, "convert", "", argc, argv, opts);
    while (rc == EXIT_OK && (c = cli_args_next(&a)) != CLI_ARGS_END) {
        const char *v = a.arg;
        uint32_t u;
        int k = c == CLI_ARGS_BAD ? -1 : cli_image_apply("convert", c, v, &lo);
        if (k < 0) rc = EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case 'h':
            convert_help(stdout);
            free(files);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case 'o':
            out = v;
            break;
        case O_FORMAT:
            if (!cli_parse_format(v, &wo.format) || wo.format == OFLASH_FORMAT_ELF)
                rc = cli_usage("convert",
                               "unknown output format '%s' (expected ihex, srec or "
                               "bin)",
                               v);
            break;
        case O_RECORD_SIZE:
            if (!cli_parse_u32(v, &u) || u < 1 || u > 255)
                rc =
                    cli_usage("convert", "bad record size '%s' (expected 1-255, e.g. 16 or 32)", v);
            else {
                wo.record_size = u;
                have_rs = true;
            }
            break;
        case O_SREC_TYPE:
            if (!cli_parse_u32(v, &u) || u < 1 || u > 3)
                rc = cli_usage("convert", "bad S-record type '%s' (expected 1, 2 or 3)", v);
            else {
                wo.srec_type = (int)u;
                have_type = true;
            }
            break;
        case O_FILL:
            if (!cli_parse_u32(v, &u) || u > 0xFF)
                rc = cli_usage("convert", "bad fill byte '%s' (expected 0-255, e.g. 0xFF)", v);
            else {
                wo.fill = true;
                wo.fill_byte = (uint8_t)u;
                have_fill = true;
            }
            break;
        case O_RANGE:
            if (!cli_parse_range(v, &wo.range_start, &wo.range_end))
                rc = cli_usage("convert",
                               "bad range '%s' (expected START:END with END above "
                               "START, or START+SIZE)",
                               v);
            else
                wo.have_range = true;
            break;
        }
    }
    if (rc == EXIT_OK)
        for (int i = 0; i < a.npos; i++)
            files[nf++] = a.pos[i];
    if (rc == EXIT_OK && nf == 0)
        rc = cli_usage("convert", "no input image given (expected oflash convert IMAGE... -o "
                                  "OUT)");
    if (rc == EXIT_OK && !out) rc = cli_usage("convert", "no output file given (expected -o OUT)");
    if (rc != EXIT_OK) {
        free(files);
        return rc;
    }
    /* Options that do not fit the output format are usage errors. */
    oflash_image_format of = wo.format;
    if (of == OFLASH_FORMAT_AUTO) {
        oflash_image_format g = OFLASH_FORMAT_AUTO;
        if (oflash_image_format_for_path(&g, out) < 0) g = OFLASH_FORMAT_AUTO;
        if (g == OFLASH_FORMAT_AUTO) {
            free(files);
            return cli_usage("convert",
                             "cannot tell the output format from '%s' (expected "
                             "--format ihex|srec|bin)",
                             out);
        }
        of = g;
    }
    if ((have_fill || wo.have_range) && of != OFLASH_FORMAT_BIN)
        rc = cli_usage("convert", "--fill and --range are for binary output only");
    else if (have_fill && !wo.have_range)
        rc = cli_usage("convert", "--fill needs an explicit --range START:END");
    else if (have_rs && of == OFLASH_FORMAT_BIN)
        rc = cli_usage("convert", "--record-size is for ihex and srec output only");
    else if (have_type && of != OFLASH_FORMAT_SREC)
        rc = cli_usage("convert", "--srec-type is for srec output only");
    if (rc != EXIT_OK) {
        free(files);
        return rc;
    }
    wo.format = of;

    rc = cli_load_images(&img, files, nf, &lo);
    free(files);
    if (rc) return rc;
    if (oflash_image_write(img, out, &wo)) {
        rc = cli_fail();
    } else if (cli_json) {
        static const char *const names[] = {"auto", "ihex", "srec", "elf", "bin"};
        cli_json_print(json_pack("{s:s, s:s, s:I, s:I}", "output", out, "format",
                                 (unsigned)of < 5 ? names[of] : "?", "segment_count",
                                 (json_int_t)oflash_image_segment_count(img), "total_size",
                                 (json_int_t)oflash_image_size(img)));
    }
    oflash_image_free(img);
    return rc;
}
