/* fuzz_ihex.c - libFuzzer target: the Intel HEX reader, and ihex write/read round trips. */
#include "fuzz_roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, OFLASH_FORMAT_IHEX, oflash__ihex_write, size % 2 ? 32 : 16);
}
