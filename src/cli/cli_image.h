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

/* Load files[0..n) (each a path or PATH@ADDR) into a new image *out.
 * Prints the error and returns EXIT_FAIL on failure (then *out is NULL),
 * EXIT_OK on success. */
int cli_load_images(oflash_image **out, char **files, size_t n, const oflash_image_load_opts *o);

/* Parse "START:END" (END exclusive) or "START+SIZE". */
bool cli_parse_range(const char *s, uint32_t *start, uint32_t *end);

#endif
