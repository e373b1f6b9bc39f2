/*
 * prod_internal.h - what src/prod/ shares beyond include/oflash/prod.h
 * (tests and fuzz targets use these too).
 */
#ifndef OFLASH_PROD_INTERNAL_H
#define OFLASH_PROD_INTERNAL_H

#include "oflash/prod.h"

#include <stddef.h>

/* oflash_serial_pool_open() with the list file's text given in memory
 * (name is used in messages as the file name; name NULL = a counter). */
int oflash__serial_pool_open_mem(oflash_serial_pool **out, const oflash_serial_scheme *scheme,
                                 const void *list, size_t len, const char *name);
/* The list file as the scheme named it, or NULL for a counter. */
const char *oflash__serial_list_name(const oflash_serial_pool *pool);
/* The list file's bytes as read (NUL-terminated), or NULL for a counter. */
const char *oflash__serial_list_text(const oflash_serial_pool *pool, size_t *len);
/* The scheme the pool was opened with (strings point into the pool). */
void oflash__serial_scheme_get(oflash_serial_scheme *out, const oflash_serial_pool *pool);
/* The scheme in words: "ascii-dec, 6 digits, prefix "SN-", CRC-32, counter
 * from 1 step 1 (first SN-000001), at 0x1FFF7800". */
void oflash__serial_scheme_words(char *out, size_t size, const oflash_serial_pool *pool);

#endif
