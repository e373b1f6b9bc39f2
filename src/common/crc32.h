/*
 * crc32.h - the constant tables behind oflash_crc32 (include/oflash/image.h),
 * for the CRC code and its test.
 */
#ifndef OFLASH_COMMON_CRC32_H
#define OFLASH_COMMON_CRC32_H

#include <stdint.h>

/* [0]: CRC-32 of one byte (reflected polynomial 0xEDB88320); [t]: of that
 * byte followed by t zero bytes (slicing-by-8). */
extern const uint32_t oflash__crc32_table[8][256];

#endif
