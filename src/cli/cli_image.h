/*
 * cli_image.h - loading the image files named on a command line, shared by
 * the subcommands that take images (info, convert, and later program,
 * verify).
 */
#ifndef OFLASH_CLI_IMAGE_H
#define OFLASH_CLI_IMAGE_H

#include "oflash/image.h"

#include <stdbool.h>
#include <stddef.h>

/* "ihex", "srec", "elf", "bin" (also "hex", "s19", "binary") -> format. */
bool cli_parse_format(const char *s, oflash_image_format *out);

/* The options every command that reads images takes, for its help text. */
#define CLI_IMAGE_HELP                                                                        \
    "  --input-format F           read inputs as F (ihex, srec, elf, bin)\n"                 \
    "  --allow-identical-overlap  accept overlapping inputs whose bytes agree\n"             \
    "  --allow-missing-eof        accept an Intel HEX file without its end-of-file record\n" \
    "                             (default: refused, the file may have been cut short)\n"    \
    "  --ignore-after-eof         read Intel HEX up to its end-of-file record and ignore\n"  \
    "                             the rest (default: data after it is refused)\n"

/* If opt (from cli_args_next, CLI_OPTS_IMAGE) is one of the CLI_IMAGE_HELP
 * options, apply it (value v) to lo and return 1; return 0 when it is not;
 * print a usage error for cmd and return -1 on a bad value. */
int cli_image_apply(const char *cmd, int opt, const char *v, oflash_image_load_opts *lo);

struct cli_target;
/* Limit raw binaries to the flash and OTP banks of the device a target
 * command will use (its --device, else the part of a sim: chip file), so
 * a binary that cannot fit is refused before a byte of it is read.  The
 * regions are copied into buf[0..cap).  Does nothing when the device is not
 * known before connecting (other inputs are checked by the planner). */
void cli_image_limit_to_device(oflash_image_load_opts *lo, const struct cli_target *ct,
                               oflash_image_region *buf, size_t cap);

/* Load files[0..n) (each a path or PATH@ADDR) into a new image *out.
 * Prints the error and returns EXIT_FAIL on failure (then *out is NULL),
 * EXIT_OK on success. */
int cli_load_images(oflash_image **out, char **files, size_t n, const oflash_image_load_opts *o);

/* Parse "START:END" (END exclusive) or "START+SIZE". */
bool cli_parse_range(const char *s, uint32_t *start, uint32_t *end);

#endif
