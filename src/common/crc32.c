/*
 * crc32.c - CRC-32 (IEEE 802.3, polynomial 0xEDB88320 reflected, init and
 * final xor 0xFFFFFFFF), slicing-by-8.  oflash_crc32(0, p, n) equals zlib's
 * crc32(0, p, n); calls chain: crc = oflash_crc32(crc, next, len).  The
 * tables are constants (crc32_table.c): nothing to initialise, so any
 * number of threads may make their first call at the same time.
 */
#include "oflash/image.h"

#include "common/crc32.h"

#define crc_tab oflash__crc32_table

uint32_t oflash_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                            (uint32_t)p[3] << 24);
        uint32_t b =
            (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = crc_tab[7][a & 0xFF] ^ crc_tab[6][(a >> 8) & 0xFF] ^ crc_tab[5][(a >> 16) & 0xFF] ^
              crc_tab[4][a >> 24] ^ crc_tab[3][b & 0xFF] ^ crc_tab[2][(b >> 8) & 0xFF] ^
              crc_tab[1][(b >> 16) & 0xFF] ^ crc_tab[0][b >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_tab[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}
