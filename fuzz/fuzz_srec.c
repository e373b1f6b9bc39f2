/* fuzz_srec.c - libFuzzer target: the S-record reader, and srec write/read round trips. */
#include "fuzz_roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, OFLASH_FORMAT_SREC, oflash__srec_write, 0);
}
