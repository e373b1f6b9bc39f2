/*
 * cmd_read.c - oflash read ADDR LEN -o OUT: any readable range (flash,
 * OTP, RAM, ...) to a file; format from --format or OUT's extension (raw
 * binary for .bin).
 */
#include "cli.h"
#include "target.h"
#include "cli_image.h"
#include "oflash/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash read ADDR LEN -o OUT [--format ihex|srec|bin] --probe P\n"
               "Read target memory to a file.\n\n" CLI_TARGET_HELP
               "  -o, --output OUT     output file (.hex, .srec/.s19/.mot, .bin)\n"
               "  --format F           ihex, srec or bin (default: from OUT's extension)\n"
               "  --quiet\n");
}

enum { O_FORMAT = CLI_OPT_LOCAL };

static const struct option opts[] = {CLI_OPTS_COMMON, CLI_OPTS_TARGET,
                                     {"output", required_argument, NULL, 'o'},
                                     {"format", required_argument, NULL, O_FORMAT}, CLI_OPTS_END};

int cmd_read(int argc, char **argv)
{
    cli_args a;
    int c;
    cli_target ct = {0};
    const char *pos[2] = {0}, *out = NULL, *fmt = NULL;
    int npos = 0, ret;
    uint32_t addr, len;
    oflash_target *t = NULL;
    oflash_image *img = NULL;
    oflash_image_write_opts wo = OFLASH_IMAGE_WRITE_OPTS_INIT;
    cli_progress prog;
    uint8_t *buf = NULL;

    cli_args_init(&a, "read", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        int k = c == CLI_ARGS_BAD ? -1 : cli_target_apply(&ct, "read", c, a.arg);
        if (k < 0) return EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case 'o':
            out = a.arg;
            break;
        case O_FORMAT:
            fmt = a.arg;
            break;
        }
    }
    for (int i = 0; i < a.npos; i++) {
        if (npos == 2) return cli_usage("read", "unexpected argument '%s'", a.pos[i]);
        pos[npos++] = a.pos[i];
    }
    if (npos != 2) return cli_usage("read", "expected ADDR and LEN");
    if (!cli_parse_u32(pos[0], &addr))
        return cli_usage("read", "address '%s': expected a number (0x... or decimal)", pos[0]);
    if (!cli_parse_u32(pos[1], &len) || !len)
        return cli_usage("read", "length '%s': expected a number above 0 (K/M suffixes allowed)",
                         pos[1]);
    if ((uint64_t)addr + len > (1ull << 32))
        return cli_usage("read", "0x%08X + %u bytes runs past the end of the address space", addr,
                         len);
    if (!out) return cli_usage("read", "-o OUT is required");
    if (fmt) {
        if (!cli_parse_format(fmt, &wo.format) || wo.format == OFLASH_FORMAT_ELF)
            return cli_usage("read", "--format '%s': expected ihex, srec or bin", fmt);
    }
    buf = malloc(len);
    if (!buf) return cli_usage("read", "cannot allocate %u bytes", len);
    if ((ret = cli_target_open("read", &ct, &t)) != 0) goto out;
    cli_progress_init(&prog, !cli_quiet);
    cli_progress_target(&prog, t);
    if (oflash_flash_read(buf, t, addr, len, cli_progress_cb, &prog) < 0 ||
        oflash_image_new(&img) < 0 || oflash_image_add(img, addr, buf, len, "target") < 0 ||
        oflash_image_write(img, out, &wo) < 0) {
        ret = cli_fail();
        goto out;
    }
    if (!cli_quiet) printf("read 0x%08X-0x%08X (%u bytes) to %s\n", addr, addr + len - 1, len, out);
    ret = EXIT_OK;
out:
    oflash_image_free(img);
    oflash_target_close(t);
    free(buf);
    return ret;
}
