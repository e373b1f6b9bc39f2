/* fuzz_serial.c - libFuzzer target: the serial list parser and the field
 * decoder.  The first two bytes choose the scheme (format, len, prefix,
 * CRC); the rest is the list file.  Every serial of a pool that opens must
 * encode and decode back to its own seq; any bytes must decode without a
 * crash. */
#include "oflash/prod.h"
#include "prod/prod_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oflash_serial_scheme s = OFLASH_SERIAL_SCHEME_INIT;
    oflash_serial_pool *p = NULL;
    if (size < 2)
        return 0;
    s.format = (oflash_serial_format)(data[0] % 5);
    s.len = 1u + (data[1] & 15);
    s.prefix = (data[0] & 0x08) ? "SN-" : NULL;
    s.crc32 = (data[0] & 0x10) != 0;
    if (oflash__serial_pool_open_mem(&p, &s, data + 2, size - 2, "fuzz.txt") != 0)
        return 0;
    uint64_t n = oflash_serial_pool_size(p);
    for (uint64_t seq = 0; seq < n && seq < 64; seq++) {
        uint8_t f[OFLASH_SERIAL_FIELD_MAX];
        char t[OFLASH_SERIAL_TEXT_MAX];
        size_t len;
        uint64_t back = ~0ull;
        if (oflash_serial_encode(f, &len, p, seq) != 0 ||
            oflash_serial_decode(&back, t, p, f, len) != 0 || back != seq)
            abort();
    }
    size_t fs = oflash_serial_field_size(p);
    if (size - 2 >= fs) {
        uint64_t seq;
        char t[OFLASH_SERIAL_TEXT_MAX];
        (void)oflash_serial_decode(&seq, t, p, data + 2, fs);
        if (strlen(t) >= OFLASH_SERIAL_TEXT_MAX)
            abort();
    }
    oflash_serial_pool_free(p);
    return 0;
}
