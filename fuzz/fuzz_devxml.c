/*
 * fuzz_devxml.c - libFuzzer target for the XML device-file readers: the
 * input is read as a J-Link device file (<DataBase>) or a CMSIS-Pack
 * description (<package>), whichever its root says, through the same code
 * as `--devices FILE`.  Loader files are not opened (check_loaders off):
 * the FLM parser has its own target (fuzz_flm).
 */
#include "fuzz_devdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4 && data[0] == 'P' && data[1] == 'K') return 0; /* zips are fuzz_pack's */
    fuzz_devdb_load("fuzz.xml", data, size);
    return 0;
}
