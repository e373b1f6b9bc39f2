/*
 * cmd_read.c - oflash read ADDR LEN -o OUT: any readable range (flash,
 * OTP, RAM, ...) to a file; format from --format or OUT's extension (raw
 * binary for .bin).
 */
#include "cli.h"
#include "target.h"
#include "cli_image.h"
#include "cli_json.h"
#include "oflash/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash read ADDR LEN -o OUT [--format ihex|srec|bin] --probe P\n"
               "Read target memory to a file, or to standard output with -o - (raw binary\n"
               "unless --format says otherwise; messages then go to standard error).\n"
               "The output format and directory are checked before the target is read.\n\n"
               CLI_TARGET_HELP
               "  -o, --output OUT     output file (.hex, .srec/.s19/.mot, .bin), or - for\n"
               "                       standard output\n"
               "  --format F           ihex, srec or bin (default: from OUT's extension)\n"
               "  --json               print what was read as JSON (not with -o -)\n"
               "  --quiet\n");
}

static const char *const format_names[] = {"auto", "ihex", "srec", "elf", "bin"};

/* The image to standard output: written to a private temporary file by the
 * library (checked like any output), then copied out. */
static int write_stdout(const oflash_image *img, const oflash_image_write_opts *wo)
{
    const char *tmpdir = getenv("TMPDIR");
    char dir[4096], path[4200], buf[65536];
    int ret = EXIT_FAIL, fd = -1;
    snprintf(dir, sizeof dir, "%s/oflash-read.XXXXXX", tmpdir && *tmpdir ? tmpdir : P_tmpdir);
    if (!mkdtemp(dir)) {
        cli_error("cannot create a temporary directory in %s: %s",
                  tmpdir && *tmpdir ? tmpdir : P_tmpdir, strerror(errno));
        return EXIT_FAIL;
    }
    snprintf(path, sizeof path, "%s/out", dir);
    if (oflash_image_write(img, path, wo) < 0) {
        cli_fail();
        goto out;
    }
    if ((fd = open(path, O_RDONLY)) < 0) {
        cli_error("%s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            cli_error("reading back the output: %s", strerror(errno));
            goto out;
        }
        if (n == 0) break;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
            cli_error("writing to standard output failed: %s", strerror(errno));
            goto out;
        }
    }
    if (fflush(stdout) != 0) {
        cli_error("writing to standard output failed: %s", strerror(errno));
        goto out;
    }
    ret = EXIT_OK;
out:
    if (fd >= 0) close(fd);
    unlink(path);
    rmdir(dir);
    return ret;
}

/* The directory OUT goes to must exist and be writable (checked before the
 * target is read). */
static bool dir_writable(const char *out, char *dir, size_t len)
{
    const char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == out)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - out), out);
    return access(dir, W_OK | X_OK) == 0;
}

enum { O_FORMAT = CLI_OPT_LOCAL };

static const struct option opts[] = {CLI_OPTS_COMMON, CLI_OPTS_JSON, CLI_OPTS_TARGET,
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
    bool to_stdout;

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
    to_stdout = !strcmp(out, "-");
    if (to_stdout && cli_json)
        return cli_usage("read", "--json and -o - both want standard output: choose one");
    /* The output format, then where it goes: both before the target is
     * touched. */
    if (fmt) {
        if (!cli_parse_format(fmt, &wo.format) || wo.format == OFLASH_FORMAT_ELF ||
            wo.format == OFLASH_FORMAT_AUTO)
            return cli_usage("read", "--format '%s': expected ihex, srec or bin", fmt);
    } else if (to_stdout) {
        wo.format = OFLASH_FORMAT_BIN;
    } else if (oflash_image_format_for_path(&wo.format, out) < 0 ||
               wo.format == OFLASH_FORMAT_AUTO || wo.format == OFLASH_FORMAT_ELF) {
        oflash_error_clear();
        return cli_usage("read",
                         "%s: cannot tell the output format from the name (expected .hex, "
                         ".srec/.s19/.mot or .bin, or --format ihex|srec|bin); nothing was read",
                         out);
    }
    if (!to_stdout) {
        char dir[4096];
        if (!dir_writable(out, dir, sizeof dir)) {
            cli_error("%s: cannot write into directory %s: %s; nothing was read", out, dir,
                      strerror(errno));
            return EXIT_FAIL;
        }
    }
    buf = malloc(len);
    if (!buf) return cli_usage("read", "cannot allocate %u bytes", len);
    if ((ret = cli_target_open("read", &ct, &t)) != 0) goto out;
    cli_progress_init(&prog, !cli_quiet && !cli_json);
    cli_progress_target(&prog, t);
    if (oflash_flash_read(buf, t, addr, len, cli_progress_cb, &prog) < 0 ||
        oflash_image_new(&img) < 0 || oflash_image_add(img, addr, buf, len, "target") < 0) {
        ret = cli_fail();
        goto out;
    }
    if (to_stdout) {
        if ((ret = write_stdout(img, &wo)) != EXIT_OK) goto out;
    } else if (oflash_image_write(img, out, &wo) < 0) {
        ret = cli_fail();
        goto out;
    }
    if (cli_json)
        cli_json_print(json_pack("{s:s, s:I, s:I, s:s, s:s}", "device",
                                 oflash_target_device(t)->name, "address", (json_int_t)addr,
                                 "length", (json_int_t)len, "output", out, "format",
                                 format_names[wo.format]));
    else if (!cli_quiet)
        fprintf(to_stdout ? stderr : stdout, "read 0x%08X-0x%08X (%u bytes) to %s\n", addr,
                addr + len - 1, len, to_stdout ? "standard output" : out);
    ret = EXIT_OK;
out:
    oflash_image_free(img);
    oflash_target_close(t);
    free(buf);
    return ret;
}
