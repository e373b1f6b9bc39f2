/*
 * cmd_verify.c - oflash verify: compare the chip with one or more images,
 * sector by sector: by the chip's CRC unit in one run on the core
 * (default; the flash loader's CRC on a part without one), by the loader's
 * CRC only, or by read-back (oflash_flash_verify()).
 */
#include "cli.h"
#include "target.h"
#include "cli_image.h"
#include "oflash/error.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: oflash verify IMAGE... --probe P [--device D] [--verify crc|loader|readback]\n"
            "Compare every byte of the images with the chip (bytes outside the images are\n"
            "not compared); a difference names its sector and address range.\n\n" CLI_TARGET_HELP
                CLI_IMAGE_HELP
            "  --verify MODE        crc (default: the chip's CRC unit, every sector in one run\n"
            "                       on the core; the flash loader's CRC on a part without one),\n"
            "                       loader (the flash loader's CRC only) or readback\n"
            "  --quiet, --json\n");
}

enum { O_VERIFY = CLI_OPT_LOCAL };

static const struct option opts[] = {CLI_OPTS_COMMON, CLI_OPTS_JSON, CLI_OPTS_TARGET,
                                     CLI_OPTS_IMAGE,  {"verify", required_argument, NULL, O_VERIFY},
                                     CLI_OPTS_END};

/* JSON names of oflash_verify_method. */
static const char *method_key(oflash_verify_method m)
{
    switch (m) {
    case OFLASH_VERIFY_BY_CRC_UNIT:
        return "crc_unit";
    case OFLASH_VERIFY_BY_LOADER:
        return "loader";
    case OFLASH_VERIFY_BY_READBACK:
        return "readback";
    case OFLASH_VERIFY_BY_NOTHING:
        break;
    }
    return "none";
}

int cmd_verify(int argc, char **argv)
{
    cli_args a;
    int c;
    cli_target ct = {0};
    char **specs = calloc((size_t)argc, sizeof *specs);
    size_t nspecs = 0;
    bool json = false;
    oflash_verify_mode mode = OFLASH_VERIFY_CRC;
    oflash_image *img = NULL;
    oflash_target *t = NULL;
    oflash_flash_stats st;
    oflash_verify_result res;
    cli_progress prog;
    double t0 = cli_now();
    int ret = EXIT_FAIL, rc;
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;

    if (!specs) return EXIT_FAIL;
    cli_args_init(&a, "verify", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        int k = c == CLI_ARGS_BAD ? -1 : cli_target_apply(&ct, "verify", c, a.arg);
        if (!k) k = cli_image_apply("verify", c, a.arg, &lo);
        if (k < 0) {
            ret = EXIT_USAGE;
            goto out;
        }
        if (k) continue;
        switch (c) {
        case 'h':
            usage(stdout);
            ret = EXIT_OK;
            goto out;
        case 'q':
            cli_quiet = true;
            break;
        case CLI_OPT_JSON:
            json = true;
            break;
        case O_VERIFY:
            if (!strcmp(a.arg, "loader")) {
                mode = OFLASH_VERIFY_LOADER_CRC;
            } else if (!cli_parse_verify(a.arg, &mode) || mode == OFLASH_VERIFY_NONE) {
                ret = cli_usage("verify", "--verify '%s': expected crc, loader or readback", a.arg);
                goto out;
            }
            break;
        }
    }
    for (int i = 0; i < a.npos; i++)
        specs[nspecs++] = a.pos[i];
    if (!ct.probe) {
        ret = cli_usage("verify", "--probe is required (sim:PATH or gdb:HOST:PORT)");
        goto out;
    }
    if (!nspecs) {
        ret = cli_usage("verify", "no image given");
        goto out;
    }
    {
        oflash_image_region map[64];
        cli_image_limit_to_device(&lo, &ct, map, sizeof map / sizeof map[0]);
        if ((ret = cli_load_images(&img, specs, nspecs, &lo)) != 0) goto out;
    }
    if ((ret = cli_target_open("verify", &ct, &t)) != 0) goto out;
    cli_progress_init(&prog, !cli_quiet && !json);
    cli_progress_target(&prog, t);
    rc = oflash_flash_verify(&res, t, img, mode, cli_progress_cb, &prog);
    memset(&st, 0, sizeof st);
    oflash_target_stats(&st, t);
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:I}", "device", oflash_target_device(t)->name,
                              "verify",
                              rc == 0                ? "ok"
                              : rc == OFLASH_EVERIFY ? "failed"
                                                     : "error",
                              "bytes", (json_int_t)oflash_image_size(img), "method",
                              method_key(res.method), "ranges", (json_int_t)res.ranges);
        if (rc == OFLASH_EVERIFY && res.diff_count) {
            json_t *d = json_array();
            json_object_set_new(o, "first_difference", json_integer(res.first_diff));
            json_object_set_new(o, "chip_value", json_integer(res.chip_value));
            json_object_set_new(o, "image_value", json_integer(res.image_value));
            json_object_set_new(o, "ranges_differing", json_integer((json_int_t)res.diff_count));
            for (size_t i = 0; i < res.diff_count && i < OFLASH_VERIFY_MAX_DIFFS; i++) {
                const oflash_verify_diff *x = &res.diffs[i];
                json_array_append_new(d, json_pack("{s:s, s:o, s:I, s:I, s:b}", "bank", x->bank,
                                                   "sector",
                                                   x->sector >= 0 ? json_integer(x->sector)
                                                                  : json_null(),
                                                   "start", (json_int_t)x->start, "end",
                                                   (json_int_t)x->end, "erased", x->erased));
            }
            json_object_set_new(o, "differences", d);
        }
        cli_json_stats(o, &st, cli_now() - t0);
        if (rc == 0) {
            cli_json_print(o);
        } else {
            cli_json_error_merge(o);
        }
    }
    if (rc < 0) {
        ret = cli_fail();
        goto out;
    }
    if (!cli_quiet && !json)
        printf("verify ok: %llu bytes match in %zu range%s (%s; %llu round trips, %llu bytes on the "
               "wire)\n",
               (unsigned long long)oflash_image_size(img), res.ranges, res.ranges == 1 ? "" : "s",
               oflash_verify_method_name(res.method), (unsigned long long)st.round_trips,
               (unsigned long long)st.wire_bytes);
    ret = EXIT_OK;
out:
    oflash_target_close(t);
    oflash_image_free(img);
    free(specs);
    return ret;
}
