/* sha256.c - SHA-256 through libnettle, loaded on first use; see sha256.h. */
#include "common/sha256.h"

#include "common/lazylib.h"
#include "oflash/error.h"

static oflash_lazylib nettle = OFLASH_LAZYLIB_INIT("libnettle.so.8", "libnettle8");

OFLASH_LAZY_VOID(nettle, nettle_sha256_init, (struct sha256_ctx * ctx), (ctx))
OFLASH_LAZY_VOID(nettle, nettle_sha256_update,
                 (struct sha256_ctx * ctx, size_t length, const uint8_t *data),
                 (ctx, length, data))
OFLASH_LAZY_VOID(nettle, nettle_sha256_digest,
                 (struct sha256_ctx * ctx, size_t length, uint8_t *digest), (ctx, length, digest))

int oflash__sha256_init(oflash__sha256 *s)
{
    /* The three functions come from one library: when one resolves, all do. */
    if (!oflash__lazylib_sym(&nettle, "nettle_sha256_init") ||
        !oflash__lazylib_sym(&nettle, "nettle_sha256_update") ||
        !oflash__lazylib_sym(&nettle, "nettle_sha256_digest"))
        return oflash_error_set(OFLASH_EUNSUPPORTED, "SHA-256 is not available: %s",
                                oflash__lazylib_error(&nettle));
    nettle_sha256_init(&s->c);
    return 0;
}

void oflash__sha256_update(oflash__sha256 *s, const void *data, size_t len)
{
    if (len)
        nettle_sha256_update(&s->c, len, data);
}

void oflash__sha256_final(uint8_t out[32], oflash__sha256 *s)
{
    nettle_sha256_digest(&s->c, SHA256_DIGEST_SIZE, out);
}

void oflash__sha256_hex(char out[65], const uint8_t digest[32])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
}

int oflash__sha256_hex_of(char out[65], const void *data, size_t len)
{
    oflash__sha256 s;
    uint8_t d[32];
    int rc = oflash__sha256_init(&s);
    if (rc)
        return rc;
    oflash__sha256_update(&s, data, len);
    oflash__sha256_final(d, &s);
    oflash__sha256_hex(out, d);
    return 0;
}
