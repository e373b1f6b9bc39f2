/*
 * cmd_verify.c - oflash verify: compare the chip with one or more images,
 * by CRC-32 computed on the target (default) or by read-back.
 */
#include "cli.h"
#include "target.h"
#include "cli_image.h"
#include "oflash/error.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash verify IMAGE... --probe P [--device D] [--verify crc|readback]\n"
               "Compare every byte of the images with the chip.\n\n" CLI_TARGET_HELP CLI_IMAGE_HELP
               "  --verify MODE        crc (default, computed on the target) or readback\n"
               "  --quiet, --json\n");
}

int cmd_verify(int argc, char **argv)
{
    cli_target ct = {0};
    char **specs = calloc((size_t)argc, sizeof *specs);
    size_t nspecs = 0;
    bool json = false;
    oflash_verify_mode mode = OFLASH_VERIFY_CRC;
    oflash_image *img = NULL;
    oflash_target *t = NULL;
    oflash_flash_stats st;
    cli_progress prog;
    uint32_t diff = 0;
    double t0 = cli_now();
    int ret = EXIT_FAIL, rc;
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;

    if (!specs) return EXIT_FAIL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        bool bad = false;
        int k = cli_target_opt(&ct, "verify", argc, argv, &i);
        if (!k) k = cli_image_opt("verify", argc, argv, &i, &lo);
        if (k < 0) {
            ret = EXIT_USAGE;
            goto out;
        }
        if (k) continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            ret = EXIT_OK;
            goto out;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            cli_quiet = true;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (cli_opt_value(argc, argv, &i, "--verify", &v, &bad)) {
            if (bad || !cli_parse_verify(v, &mode) || mode == OFLASH_VERIFY_NONE) {
                ret = bad ? EXIT_USAGE
                          : cli_usage("verify", "--verify '%s': expected crc or readback", v);
                goto out;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            ret = cli_usage("verify", "unknown option '%s'", argv[i]);
            goto out;
        } else {
            specs[nspecs++] = argv[i];
        }
    }
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
    rc = oflash_flash_verify_image(&diff, t, img, mode, cli_progress_cb, &prog);
    memset(&st, 0, sizeof st);
    oflash_target_stats(&st, t);
    if (json) {
        printf("{\"verify\": \"%s\", \"bytes\": %llu, ",
               rc == 0                ? "ok"
               : rc == OFLASH_EVERIFY ? "failed"
                                      : "error",
               (unsigned long long)oflash_image_size(img));
        if (rc == OFLASH_EVERIFY) printf("\"first_difference\": %u, ", diff);
        cli_json_stats(stdout, &st, cli_now() - t0);
        printf("}\n");
    }
    if (rc < 0) {
        ret = cli_fail();
        goto out;
    }
    if (!cli_quiet && !json)
        printf("verify ok: %llu bytes match (%llu round trips, %llu bytes on the wire)\n",
               (unsigned long long)oflash_image_size(img), (unsigned long long)st.round_trips,
               (unsigned long long)st.wire_bytes);
    ret = EXIT_OK;
out:
    oflash_target_close(t);
    oflash_image_free(img);
    free(specs);
    return ret;
}
