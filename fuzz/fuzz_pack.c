/*
 * fuzz_pack.c - libFuzzer target for CMSIS-Pack archives (.pack, zip): the
 * input is opened with libzip from memory, its one .pdsc found, bounded,
 * decompressed and parsed, and its FLM entries read, through the same code
 * as `--devices FILE`.  Loader files are not opened (check_loaders off):
 * the FLM parser has its own target (fuzz_flm).
 */
#include "fuzz_devdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || data[0] != 'P' || data[1] != 'K' || data[2] != 3 || data[3] != 4)
        return 0; /* XML is fuzz_devxml's */
    fuzz_devdb_load("fuzz.pack", data, size);
    return 0;
}
