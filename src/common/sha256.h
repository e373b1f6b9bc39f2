/*
 * sha256.h - SHA-256 for the production line (image and serial-list
 * identities, the ledger's image_sha256), computed by libnettle, which is
 * loaded with dlopen() on first use (see lazylib.h) like Unicorn and
 * libxml2: commands that never hash do not pay for it.
 */
#ifndef OFLASH_COMMON_SHA256_H
#define OFLASH_COMMON_SHA256_H

#include <nettle/sha2.h>

#include <stddef.h>
#include <stdint.h>

typedef struct oflash__sha256 {
    struct sha256_ctx c;
} oflash__sha256;

/* 0, or OFLASH_EUNSUPPORTED with the message set when libnettle is missing. */
int oflash__sha256_init(oflash__sha256 *s);
void oflash__sha256_update(oflash__sha256 *s, const void *data, size_t len);
void oflash__sha256_final(uint8_t out[32], oflash__sha256 *s);
/* 64 lower-case hex digits and a NUL. */
void oflash__sha256_hex(char out[65], const uint8_t digest[32]);
/* One call: the hex digest of data. */
int oflash__sha256_hex_of(char out[65], const void *data, size_t len);

#endif
