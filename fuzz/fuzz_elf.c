/* fuzz_elf.c - libFuzzer target: the ELF32 ARM reader; loaded images must survive an
 * Intel HEX write/read round trip. */
#include "fuzz_roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, OFLASH_FORMAT_ELF, oflash__ihex_write, 16);
}
